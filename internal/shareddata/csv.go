package shareddata

import (
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scbench/scbench/sparse"
)

// openCSV opens path as a CSV reader, through gzip where the name ends in
// ".gz"; the caller calls the returned close.
func openCSV(tb testing.TB, path string) (*csv.Reader, func()) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			tb.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	return csv.NewReader(r), func() { f.Close() }
}

// ReadCSV reads a CSV with a header line (gzip-compressed where path ends
// in ".gz"), such as the references' tables, and returns the header and
// the records after it. It fails the test where the file cannot be read.
func ReadCSV(tb testing.TB, path string) (header []string, records [][]string) {
	tb.Helper()
	r, done := openCSV(tb, path)
	defer done()
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		tb.Fatalf("%s: empty", path)
	}
	return recs[0], recs[1:]
}

// ReadFloats reads a CSV with a header line, as ReadCSV, whose every field
// is a number, into rows of float64 without the header. A field that is
// not a number fails the test.
func ReadFloats(tb testing.TB, path string) [][]float64 {
	tb.Helper()
	r, done := openCSV(tb, path)
	defer done()
	r.ReuseRecord = true // the reference matrices run to millions of fields
	if _, err := r.Read(); err != nil {
		tb.Fatalf("%s: header: %v", path, err)
	}
	var rows [][]float64
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		row := make([]float64, len(rec))
		for i, s := range rec {
			if row[i], err = strconv.ParseFloat(s, 64); err != nil {
				tb.Fatalf("%s: row %d column %d: %v", path, len(rows), i, err)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// ReadTriplets reads a (row, col, value) CSV, as scanpy's distances and
// connectivities graphs are stored, into an n x n CSR, n one more than the
// largest index, each row's entries in increasing column order.
func ReadTriplets(tb testing.TB, path string) *sparse.CSR {
	tb.Helper()
	rows := ReadFloats(tb, path)
	n := 0
	for _, r := range rows {
		if len(r) != 3 {
			tb.Fatalf("%s: %d fields a row, want row, col, value", path, len(r))
		}
		n = max(n, int(r[0])+1, int(r[1])+1)
	}
	slices.SortStableFunc(rows, func(a, b []float64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	m := sparse.NewCSR(n, n, int64(len(rows)))
	for p, r := range rows {
		m.Indptr[int(r[0])+1]++
		m.Indices[p] = int32(r[1])
		m.Data[p] = float32(r[2])
	}
	for i := range n {
		m.Indptr[i+1] += m.Indptr[i]
	}
	return m
}

// ListsFromDistances rebuilds each cell's kNN list from a distances graph
// such as scanpy's (rows in column order, as ReadTriplets gives them): the
// cell itself first at distance 0, then its neighbours by increasing
// distance, ties in column order. k is one more than the longest row; a
// shorter row fails the test.
func ListsFromDistances(tb testing.TB, d *sparse.CSR) (idx []int32, dst []float32, k int) {
	tb.Helper()
	for i := range d.Rows {
		k = max(k, int(d.Indptr[i+1]-d.Indptr[i])+1)
	}
	idx = make([]int32, d.Rows*k)
	dst = make([]float32, d.Rows*k)
	for i := range d.Rows {
		cols, vals := d.Row(i)
		if len(cols)+1 != k {
			tb.Fatalf("row %d has %d neighbours, want %d", i, len(cols), k-1)
		}
		ord := make([]int, len(cols))
		for p := range ord {
			ord[p] = p
		}
		slices.SortStableFunc(ord, func(a, b int) int { return cmp.Compare(vals[a], vals[b]) })
		idx[i*k] = int32(i)
		for p, o := range ord {
			idx[i*k+1+p] = cols[o]
			dst[i*k+1+p] = vals[o]
		}
	}
	return idx, dst, k
}

// LeidenReference reads a reference dataset's scanpy Leiden result:
// reference/DS/connectivities.csv.gz as an n x n CSR (ReadTriplets) and
// reference/DS/leiden.csv.gz, one label per kept cell; n is the number
// of labels (cells without edges leave empty rows).
func LeidenReference(tb testing.TB, ds string) (*sparse.CSR, []int32) {
	tb.Helper()
	lpath := Path(tb, "reference/"+ds+"/leiden.csv.gz")
	header, recs := ReadCSV(tb, lpath)
	if len(header) != 1 || header[0] != "leiden" {
		tb.Fatalf("%s: header %q, want \"leiden\"", lpath, header)
	}
	labels := make([]int32, len(recs))
	for i, r := range recs {
		v, err := strconv.Atoi(r[0])
		if err != nil {
			tb.Fatalf("%s: line %d: %v", lpath, i+2, err)
		}
		labels[i] = int32(v)
	}
	cpath := Path(tb, "reference/"+ds+"/connectivities.csv.gz")
	adj := ReadTriplets(tb, cpath)
	n := len(labels)
	if adj.Rows > n {
		tb.Fatalf("%s: connectivities of %d cells, %d labels", cpath, adj.Rows, n)
	}
	for len(adj.Indptr) < n+1 {
		adj.Indptr = append(adj.Indptr, adj.Indptr[len(adj.Indptr)-1])
	}
	adj.Rows, adj.Cols = n, n
	if err := adj.Validate(); err != nil {
		tb.Fatalf("%s: %v", cpath, err)
	}
	return adj, labels
}
