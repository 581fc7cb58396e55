package anndata

// Minimal hand-rolled writers of small format 2 stores for the reader's
// tests, independent of the package's Writer (names start with "r").

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scbench/scbench/sparse"
)

func rWriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rWriteJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	rWriteFile(t, path, b)
}

func rGroup(t testing.TB, dir string, attrs map[string]any) {
	t.Helper()
	rWriteJSON(t, filepath.Join(dir, ".zgroup"), map[string]any{"zarr_format": 2})
	if attrs != nil {
		rWriteJSON(t, filepath.Join(dir, ".zattrs"), attrs)
	}
}

// rGzipPool reuses writers: a new flate writer allocates about 1 MB.
var rGzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

func rGzip(b []byte) []byte {
	var buf bytes.Buffer
	w := rGzipPool.Get().(*gzip.Writer)
	defer rGzipPool.Put(w)
	w.Reset(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// rArray writes a 1-D (or, with cols > 0, a 2-D rows x cols) numeric array
// in chunks of chunk elements (rows), gzip-compressed when gz is set.
func rArray(t testing.TB, dir, dtype string, vals []float64, chunk int, gz bool, attrs map[string]any) {
	t.Helper()
	rArray2D(t, dir, dtype, vals, len(vals), 0, chunk, gz, attrs)
}

func rArray2D(t testing.TB, dir, dtype string, vals []float64, rows, cols, chunk int, gz bool, attrs map[string]any) {
	t.Helper()
	size := int(dtype[2] - '0')
	shape, chunks := []int{rows}, []int{chunk}
	rowLen := 1
	if cols > 0 {
		shape, chunks, rowLen = []int{rows, cols}, []int{chunk, cols}, cols
	}
	var comp any
	if gz {
		comp = map[string]any{"id": "gzip", "level": 1}
	}
	rWriteJSON(t, filepath.Join(dir, ".zarray"), map[string]any{"zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": dtype,
		"compressor": comp, "fill_value": 0, "order": "C", "filters": nil})
	if attrs != nil {
		rWriteJSON(t, filepath.Join(dir, ".zattrs"), attrs)
	}
	for c := 0; c*chunk < rows; c++ {
		b := make([]byte, chunk*rowLen*size) // edge chunks padded with zeros
		for i := c * chunk * rowLen; i < min(rows, (c+1)*chunk)*rowLen; i++ {
			o := (i - c*chunk*rowLen) * size
			v := vals[i]
			switch dtype[1:] {
			case "f4":
				binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(v)))
			case "f8":
				binary.LittleEndian.PutUint64(b[o:], math.Float64bits(v))
			case "i4":
				binary.LittleEndian.PutUint32(b[o:], uint32(int32(v)))
			case "i8":
				binary.LittleEndian.PutUint64(b[o:], uint64(int64(v)))
			case "i1", "b1", "u1":
				b[o] = byte(int8(v))
			case "i2":
				binary.LittleEndian.PutUint16(b[o:], uint16(int16(v)))
			default:
				t.Fatalf("rArray: dtype %s", dtype)
			}
		}
		if gz {
			b = rGzip(b)
		}
		key := fmt.Sprint(c)
		if cols > 0 {
			key += ".0"
		}
		rWriteFile(t, filepath.Join(dir, key), b)
	}
}

// rStrings writes a vlen-utf8 string array in one chunk.
func rStrings(t testing.TB, dir string, strs []string, attrs map[string]any) {
	t.Helper()
	rWriteJSON(t, filepath.Join(dir, ".zarray"), map[string]any{"zarr_format": 2, "shape": []int{len(strs)}, "chunks": []int{max(1, len(strs))}, "dtype": "|O",
		"compressor": nil, "fill_value": 0, "order": "C", "filters": []any{map[string]any{"id": "vlen-utf8"}}})
	if attrs == nil {
		attrs = map[string]any{"encoding-type": "string-array", "encoding-version": "0.2.0"}
	}
	rWriteJSON(t, filepath.Join(dir, ".zattrs"), attrs)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(strs)))
	for _, s := range strs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	rWriteFile(t, filepath.Join(dir, "0"), b)
}

func rFloats[T int32 | int64 | float32](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// rCSRStore describes a small AnnData store to write.
type rCSRStore struct {
	m                *sparse.CSR
	chunk            int    // elements per zarr chunk of data and indices
	dataType, idType string // e.g. "<f4", "<i4"
	ptrType          string
	gz               bool
}

// rRandomCSR returns a rows x cols matrix of small counts with about
// density non-zeros, a few empty rows, and sorted column indices.
func rRandomCSR(rng *rand.Rand, rows, cols int, density float64) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := range rows {
		if rng.IntN(10) != 0 {
			for j := range cols {
				if rng.Float64() < density {
					m.Indices = append(m.Indices, int32(j))
					m.Data = append(m.Data, float32(1+rng.IntN(30)))
				}
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

func rCellNames(n int, prefix string) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return s
}

// rWriteStore writes an AnnData store with X, and obs and var holding only
// their indexes.
func rWriteStore(t testing.TB, root string, s rCSRStore) {
	t.Helper()
	if s.dataType == "" {
		s.dataType = "<f4"
	}
	if s.idType == "" {
		s.idType = "<i4"
	}
	if s.ptrType == "" {
		s.ptrType = "<i8"
	}
	rGroup(t, root, map[string]any{"encoding-type": "anndata", "encoding-version": "0.1.0"})
	rGroup(t, filepath.Join(root, "X"), map[string]any{"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": []int{s.m.Rows, s.m.Cols}})
	rArray(t, filepath.Join(root, "X", "data"), s.dataType, rFloats(s.m.Data), s.chunk, s.gz, nil)
	rArray(t, filepath.Join(root, "X", "indices"), s.idType, rFloats(s.m.Indices), s.chunk, s.gz, nil)
	rArray(t, filepath.Join(root, "X", "indptr"), s.ptrType, rFloats(s.m.Indptr), 1000, s.gz, nil)
	rFrame(t, filepath.Join(root, "obs"), rCellNames(s.m.Rows, "cell"))
	rFrame(t, filepath.Join(root, "var"), rCellNames(s.m.Cols, "gene"))
}

func rFrame(t testing.TB, dir string, index []string, cols ...string) {
	t.Helper()
	if cols == nil {
		cols = []string{}
	}
	rGroup(t, dir, map[string]any{"_index": "_index", "column-order": cols, "encoding-type": "dataframe", "encoding-version": "0.2.0"})
	rStrings(t, filepath.Join(dir, "_index"), index, nil)
}

// rEditJSON rewrites a JSON file through edit.
func rEditJSON(t testing.TB, path string, edit func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	rWriteJSON(t, path, m)
}
