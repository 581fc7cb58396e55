package shareddata

import (
	"compress/gzip"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeCSV writes text to name in a temporary folder, through gzip where
// name ends in ".gz".
func writeCSV(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if filepath.Ext(name) == ".gz" {
		zw := gzip.NewWriter(f)
		if _, err := zw.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadCSV(t *testing.T) {
	const text = "a,b\n1,x\n,2.5\n"
	for _, name := range []string{"t.csv", "t.csv.gz"} {
		head, recs := ReadCSV(t, writeCSV(t, name, text))
		if !slices.Equal(head, []string{"a", "b"}) || len(recs) != 2 ||
			!slices.Equal(recs[0], []string{"1", "x"}) || !slices.Equal(recs[1], []string{"", "2.5"}) {
			t.Errorf("%s: header %q, records %q", name, head, recs)
		}
	}
}

func TestReadFloats(t *testing.T) {
	rows := ReadFloats(t, writeCSV(t, "f.csv.gz", "x,y,z\n1.5,-2,3e-3\nnan,0.25,7\n"))
	if len(rows) != 2 || !slices.Equal(rows[0], []float64{1.5, -2, 3e-3}) ||
		!math.IsNaN(rows[1][0]) || !slices.Equal(rows[1][1:], []float64{0.25, 7}) {
		t.Errorf("rows %v", rows)
	}
}

// TestReadTriplets reads an unordered graph whose last cell has no entry
// of its own and lists it from the other cells: the size counts it, rows
// come in column order.
func TestReadTriplets(t *testing.T) {
	m := ReadTriplets(t, writeCSV(t, "g.csv.gz", "row,col,value\n2,0,0.5\n0,3,1.5\n0,1,2.5\n2,1,3.5\n1,0,4.5\n"))
	if m.Rows != 4 || m.Cols != 4 ||
		!slices.Equal(m.Indptr, []int64{0, 2, 3, 5, 5}) ||
		!slices.Equal(m.Indices, []int32{1, 3, 0, 0, 1}) ||
		!slices.Equal(m.Data, []float32{2.5, 1.5, 4.5, 0.5, 3.5}) {
		t.Errorf("CSR %+v", m)
	}

	// Lists: itself first, then by distance, a tie in column order.
	d := ReadTriplets(t, writeCSV(t, "d.csv", "row,col,value\n0,2,1\n0,1,1\n1,2,0.5\n1,0,2\n2,1,3\n2,0,1.25\n"))
	idx, dst, k := ListsFromDistances(t, d)
	if k != 3 || !slices.Equal(idx, []int32{0, 1, 2, 1, 2, 0, 2, 0, 1}) ||
		!slices.Equal(dst, []float32{0, 1, 1, 0, 0.5, 2, 0, 1.25, 3}) {
		t.Errorf("k %d, idx %v, dst %v", k, idx, dst)
	}
}
