package anndata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/sparse"
)

// rCollect streams X with opt and stacks the chunks, checking their order,
// sizes and structure on the way.
func rCollect(t *testing.T, f *File, opt StreamOptions) *sparse.CSR {
	t.Helper()
	rows := opt.Rows
	if rows == 0 {
		rows = 20000
	}
	return rStack(t, f, opt, func(_ *ChunkReader, c Chunk) {
		if want := min(rows, f.NObs-c.Start); c.Rows != want || c.Cols != f.NVar {
			t.Fatalf("chunk at %d is %d x %d, want %d x %d", c.Start, c.Rows, c.Cols, want, f.NVar)
		}
	})
}

// rStack streams X with opt and stacks copies of the chunks, checking
// their order and structure on the way; each sees every chunk once it is
// copied.
func rStack(t *testing.T, f *File, opt StreamOptions, each func(*ChunkReader, Chunk)) *sparse.CSR {
	t.Helper()
	r := f.RowChunks(context.Background(), opt)
	defer r.Close()
	out := &sparse.CSR{Rows: f.NObs, Cols: f.NVar, Indptr: []int64{0}}
	for r.Next() {
		c := r.Chunk()
		if c.Start != len(out.Indptr)-1 {
			t.Fatalf("chunk starts at row %d, want %d", c.Start, len(out.Indptr)-1)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("chunk at %d: %v", c.Start, err)
		}
		base := int64(len(out.Data))
		for _, p := range c.Indptr[1:] {
			out.Indptr = append(out.Indptr, base+p)
		}
		out.Indices = append(out.Indices, c.Indices...)
		out.Data = append(out.Data, c.Data...)
		each(r, c)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("stream (%+v): %v", opt, err)
	}
	if len(out.Indptr) != f.NObs+1 {
		t.Fatalf("streamed %d rows, want %d", len(out.Indptr)-1, f.NObs)
	}
	return out
}

func rSameCSR(t *testing.T, what string, got, want *sparse.CSR) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols || len(got.Data) != len(want.Data) || len(got.Indices) != len(want.Indices) {
		t.Fatalf("%s: %dx%d with %d values, want %dx%d with %d", what, got.Rows, got.Cols, len(got.Data), want.Rows, want.Cols, len(want.Data))
	}
	for i := range want.Indptr {
		if got.Indptr[i] != want.Indptr[i] {
			t.Fatalf("%s: indptr[%d] = %d, want %d", what, i, got.Indptr[i], want.Indptr[i])
		}
	}
	for i := range want.Data {
		if got.Indices[i] != want.Indices[i] || got.Data[i] != want.Data[i] {
			t.Fatalf("%s: value %d = (%d, %v), want (%d, %v)", what, i, got.Indices[i], got.Data[i], want.Indices[i], want.Data[i])
		}
	}
}

func TestStreamRandomCSR(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		rows, cols, chunk int
		data, idx, ptr    string
		gz                bool
	}{
		{1013, 211, 37, "<f4", "<i4", "<i8", true},
		{257, 1009, 1001, "<f8", "<i8", "<i4", false},
		{500, 50, 5000, "<i4", "<i4", "<i8", true}, // one zarr chunk bigger than X
		{1, 3, 2, "<f4", "<i4", "<i8", false},
	} {
		m := rRandomCSR(rng, tc.rows, tc.cols, 0.08)
		root := filepath.Join(t.TempDir(), "s.zarr")
		rWriteStore(t, root, rCSRStore{m: m, chunk: tc.chunk, dataType: tc.data, idType: tc.idx, ptrType: tc.ptr, gz: tc.gz})
		f, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if f.NObs != tc.rows || f.NVar != tc.cols || f.NNZ != m.NNZ() || f.XEncoding != "csr_matrix" || f.ZarrFormat != 2 {
			t.Fatalf("file %+v", f)
		}
		for _, opt := range []StreamOptions{
			{}, {Rows: 1}, {Rows: 7, Workers: 1, Prefetch: 1}, {Rows: 997, Workers: 3},
			{Rows: tc.rows + 5, Workers: 2, Prefetch: 5}, {Rows: 13, Workers: 4, Prefetch: 1},
		} {
			rSameCSR(t, "stream", rCollect(t, f, opt), m)
		}
	}
}

func TestStreamDenseX(t *testing.T) {
	rows, cols := 203, 17
	m, f := rDenseStore(t, rand.New(rand.NewPCG(3, 4)), rows, cols)
	if f.XEncoding != "array" || f.NNZ != -1 || f.NObs != rows || f.NVar != cols {
		t.Fatalf("file %+v", f)
	}
	for _, opt := range []StreamOptions{{}, {Rows: 1}, {Rows: 7}, {Rows: 50, Workers: 3}} {
		rSameCSR(t, "dense stream", rCollect(t, f, opt), m)
	}
}

// rDenseStore writes a random rows x cols CSR as a store with a dense X
// (float64, chunks of 23 rows, gzip) and opens it.
func rDenseStore(t *testing.T, rng *rand.Rand, rows, cols int) (*sparse.CSR, *File) {
	t.Helper()
	m := rRandomCSR(rng, rows, cols, 0.3)
	dense := make([]float64, rows*cols)
	for i := range rows {
		idx, val := m.Row(i)
		for k, j := range idx {
			dense[i*cols+int(j)] = float64(val[k])
		}
	}
	root := filepath.Join(t.TempDir(), "d.zarr")
	rGroup(t, root, map[string]any{"encoding-type": "anndata", "encoding-version": "0.1.0"})
	rArray2D(t, filepath.Join(root, "X"), "<f8", dense, rows, cols, 23, true, map[string]any{"encoding-type": "array", "encoding-version": "0.2.0"})
	rFrame(t, filepath.Join(root, "obs"), rCellNames(rows, "c"))
	rFrame(t, filepath.Join(root, "var"), rCellNames(cols, "g"))
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return m, f
}

// rExpectOpen expects Open to fail with an error containing each of texts.
func rExpectOpen(t *testing.T, root string, texts ...string) {
	t.Helper()
	_, err := Open(root)
	if err == nil {
		t.Fatalf("Open(%s) succeeded, want an error containing %q", root, texts)
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("Open error %q does not contain %q", err, s)
		}
	}
}

// rExpectStream expects streaming to fail with an error containing texts.
func rExpectStream(t *testing.T, root string, texts ...string) {
	t.Helper()
	f, err := Open(root)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, opt := range []StreamOptions{{Rows: 3}, {Rows: 1000, Workers: 1}} {
		r := f.RowChunks(context.Background(), opt)
		for r.Next() {
		}
		err = r.Err()
		r.Close()
		if err == nil {
			t.Fatalf("streaming %s succeeded, want an error containing %q", root, texts)
		}
		for _, s := range texts {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("stream error %q does not contain %q", err, s)
			}
		}
	}
}

func TestOpenAndStreamErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := rRandomCSR(rng, 40, 9, 0.3)
	fresh := func() string {
		root := filepath.Join(t.TempDir(), "s.zarr")
		rWriteStore(t, root, rCSRStore{m: m, chunk: 16, gz: true})
		return root
	}
	x := func(root, name string) string { return filepath.Join(root, "X", name) }

	rExpectOpen(t, filepath.Join(t.TempDir(), "missing.zarr"), "missing.zarr", "no such file")
	rExpectOpen(t, t.TempDir(), "is not an AnnData store", "no .zgroup/.zarray/zarr.json")
	plain := t.TempDir()
	rGroup(t, plain, map[string]any{"foo": "bar"})
	rExpectOpen(t, plain, "is not an AnnData store")
	other := t.TempDir()
	rGroup(t, other, map[string]any{"encoding-type": "mudata"})
	rExpectOpen(t, other, `encoding-type is "mudata"`)

	root := fresh()
	os.RemoveAll(filepath.Join(root, "X"))
	rExpectOpen(t, root, "no X matrix")

	root = fresh()
	rGroup(t, filepath.Join(root, "X"), map[string]any{"encoding-type": "csc_matrix", "shape": []int{40, 9}})
	rExpectOpen(t, root, "csc_matrix (column-major)", "adata.X = adata.X.tocsr()")

	root = fresh()
	rEditJSON(t, x(root, "data/.zarray"), func(m map[string]any) { m["compressor"] = map[string]any{"id": "bz2"} })
	rExpectOpen(t, root, `compressor "bz2"`, "X/data/.zarray", "supported: blosc")

	root = fresh()
	rEditJSON(t, x(root, "data/.zarray"), func(m map[string]any) { m["dtype"] = "<c8" })
	rExpectOpen(t, root, `dtype "<c8"`, "X/data")

	root = fresh()
	rEditJSON(t, x(root, "indices/.zarray"), func(m map[string]any) { m["dtype"] = "<f4" })
	rExpectOpen(t, root, "X/indices has dtype <f4; want integers")

	// Shapes that disagree.
	root = fresh()
	rGroup(t, filepath.Join(root, "X"), map[string]any{"encoding-type": "csr_matrix", "shape": []int{41, 9}})
	rExpectOpen(t, root, "X/indptr has 41 entries but X has 41 rows")
	root = fresh()
	rArray(t, x(root, "indices"), "<i4", rFloats(m.Indices[1:]), 16, false, nil)
	rExpectOpen(t, root, "X/data has", "but X/indices has")
	root = fresh()
	rFrame(t, filepath.Join(root, "obs"), rCellNames(39, "c"))
	rExpectOpen(t, root, "obs index", "n_obs (rows of X) is 40")
	root = fresh()
	rFrame(t, filepath.Join(root, "var"), rCellNames(10, "g"))
	rExpectOpen(t, root, "var index", "n_vars (columns of X) is 9")

	// Found while streaming.
	root = fresh()
	ptr := rFloats(m.Indptr)
	ptr[40]++
	rArray(t, x(root, "indptr"), "<i8", ptr, 1000, false, nil)
	rExpectStream(t, root, "X/indptr ends at", "hold")
	root = fresh()
	ptr = rFloats(m.Indptr)
	ptr[17], ptr[18] = ptr[18], ptr[17]-1
	rArray(t, x(root, "indptr"), "<i8", ptr, 1000, false, nil)
	rExpectStream(t, root, "not monotone", "row 17")
	root = fresh()
	idx := rFloats(m.Indices)
	bad := int(m.Indptr[23]) // first value of row 23 (non-empty rows are likely)
	if m.Indptr[24] == m.Indptr[23] {
		t.Fatal("row 23 is empty; pick another seed")
	}
	idx[bad] = 9
	rArray(t, x(root, "indices"), "<i4", idx, 16, true, nil)
	rExpectStream(t, root, "row 23 has column index 9, outside [0, 9)")
	root = fresh()
	idx = rFloats(m.Indices)
	idx[bad] = -1
	rArray(t, x(root, "indices"), "<i4", idx, 16, true, nil)
	rExpectStream(t, root, "row 23 has column index -1")
	root = fresh()
	b, _ := os.ReadFile(x(root, "data/1"))
	rWriteFile(t, x(root, "data/1"), b[:len(b)/2])
	rExpectStream(t, root, "X/data/1", "corrupt chunk")
	root = fresh()
	rWriteFile(t, x(root, "data/2"), rGzip(make([]byte, 20)))
	rExpectStream(t, root, "X/data/2", "decoded 20 bytes, want 64: truncated or corrupt chunk")
	root = fresh()
	rWriteFile(t, x(root, "indices/0"), []byte("garbage"))
	rExpectStream(t, root, "X/indices/0", "corrupt chunk", "rows 0..")
}

func TestStreamCancelAndClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := rRandomCSR(rng, 3000, 50, 0.1)
	root := filepath.Join(t.TempDir(), "s.zarr")
	rWriteStore(t, root, rCSRStore{m: m, chunk: 100, gz: true})
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	// Close after one chunk.
	r := f.RowChunks(context.Background(), StreamOptions{Rows: 10, Workers: 4})
	if !r.Next() {
		t.Fatal(r.Err())
	}
	r.Close()
	if r.Next() || r.Err() != nil {
		t.Fatalf("after Close: Next true or Err %v", r.Err())
	}
	// Cancel through the context.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r = f.RowChunks(ctx, StreamOptions{Rows: 10, Workers: 4})
	n := 0
	for r.Next() {
		if n++; n == 3 {
			cancel()
		}
	}
	if !errors.Is(r.Err(), context.Canceled) {
		t.Fatalf("canceled stream: Err = %v", r.Err())
	}
	r.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left behind", g-before)
	}
}

func TestFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m := rRandomCSR(rng, 6, 4, 0.5)
	root := filepath.Join(t.TempDir(), "f.zarr")
	rWriteStore(t, root, rCSRStore{m: m, chunk: 5})
	obs := filepath.Join(root, "obs")
	rGroup(t, obs, map[string]any{"_index": "cell_id", "column-order": []string{"n", "f", "ok", "label", "ct", "nint", "nbool", "old", "i8"}, "encoding-type": "dataframe", "encoding-version": "0.2.0"})
	os.RemoveAll(filepath.Join(obs, "_index"))
	rStrings(t, filepath.Join(obs, "cell_id"), []string{"a", "b", "c", "d", "e", "f"}, nil)
	rArray(t, filepath.Join(obs, "n"), "<i4", []float64{1, -2, 3, 4, 5, 6}, 4, true, map[string]any{"encoding-type": "array"})
	rArray(t, filepath.Join(obs, "f"), "<f8", []float64{0.5, 1, 2, 3, 4, 5.25}, 6, false, nil)
	rArray(t, filepath.Join(obs, "ok"), "|b1", []float64{1, 0, 0, 1, 1, 0}, 6, false, nil)
	rStrings(t, filepath.Join(obs, "label"), []string{"x", "y", "", "é", "z", "w"}, nil)
	rGroup(t, filepath.Join(obs, "ct"), map[string]any{"encoding-type": "categorical", "encoding-version": "0.2.0", "ordered": true})
	rArray(t, filepath.Join(obs, "ct", "codes"), "|i1", []float64{0, 1, -1, 2, 0, 1}, 6, false, nil)
	rStrings(t, filepath.Join(obs, "ct", "categories"), []string{"T", "B", "NK"}, nil)
	rGroup(t, filepath.Join(obs, "nint"), map[string]any{"encoding-type": "nullable-integer", "encoding-version": "0.1.0"})
	rArray(t, filepath.Join(obs, "nint", "values"), "<i8", []float64{1, 2, 3, 4, 5, 6}, 6, false, nil)
	rArray(t, filepath.Join(obs, "nint", "mask"), "|b1", []float64{0, 0, 1, 0, 0, 1}, 6, false, nil)
	rGroup(t, filepath.Join(obs, "nbool"), map[string]any{"encoding-type": "nullable-boolean", "encoding-version": "0.1.0"})
	rArray(t, filepath.Join(obs, "nbool", "values"), "|b1", []float64{1, 0, 1, 0, 0, 1}, 6, false, nil)
	rArray(t, filepath.Join(obs, "nbool", "mask"), "|b1", []float64{1, 0, 0, 0, 0, 0}, 6, false, nil)
	// anndata 0.7 categorical: codes plus a categories attribute.
	rArray(t, filepath.Join(obs, "old"), "|i1", []float64{1, 1, 0, 0, 1, 0}, 6, false, map[string]any{"categories": "__categories/old"})
	rStrings(t, filepath.Join(obs, "__categories", "old"), []string{"lo", "hi"}, map[string]any{"ordered": false})
	rGroup(t, filepath.Join(obs, "__categories"), nil)
	rArray(t, filepath.Join(obs, "i8"), "|i1", []float64{1, 2, 3, 4, 5, -6}, 6, false, nil)

	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := f.Obs()
	if err != nil {
		t.Fatal(err)
	}
	if fr.IndexName != "cell_id" || strings.Join(fr.Index, ",") != "a,b,c,d,e,f" {
		t.Fatalf("index %q %v", fr.IndexName, fr.Index)
	}
	want := map[string]string{
		"n":     "[]int32 [1 -2 3 4 5 6]",
		"f":     "[]float64 [0.5 1 2 3 4 5.25]",
		"ok":    "[]bool [true false false true true false]",
		"label": "[]string [x y  é z w]",
		"ct":    "*anndata.Categorical &{[0 1 -1 2 0 1] [T B NK] true}",
		"nint":  "[]float64 [1 2 NaN 4 5 NaN]",
		"nbool": "[]float64 [NaN 0 1 0 0 1]",
		"old":   "*anndata.Categorical &{[1 1 0 0 1 0] [lo hi] false}",
		"i8":    "[]int32 [1 2 3 4 5 -6]",
	}
	if len(fr.Columns) != len(want) {
		t.Fatalf("%d columns, want %d", len(fr.Columns), len(want))
	}
	for _, c := range fr.Columns {
		if got := rDescribe(c.Values); got != want[c.Name] {
			t.Errorf("column %s = %s, want %s", c.Name, got, want[c.Name])
		}
	}
	in, err := f.Info()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, c := range in.Obs {
		kinds = append(kinds, c.Name+":"+c.Kind)
	}
	if got := strings.Join(kinds, " "); got != "n:numeric f:numeric ok:bool label:string ct:categorical nint:nullable-integer nbool:nullable-boolean old:categorical i8:numeric" {
		t.Errorf("info kinds: %s", got)
	}
	if in.Obs[4].Categories != 3 || !in.Obs[4].Ordered || in.ObsIndex != "obs/cell_id" {
		t.Errorf("info: %+v", in.Obs[4])
	}
	// A code outside the categories, and a column that is too short.
	rArray(t, filepath.Join(obs, "ct", "codes"), "|i1", []float64{0, 1, 3, 2, 0, 1}, 6, false, nil)
	if _, err := f.Obs(); err == nil || !strings.Contains(err.Error(), "code 3 at row 2") {
		t.Errorf("bad code: %v", err)
	}
	rArray(t, filepath.Join(obs, "ct", "codes"), "|i1", []float64{0, 1, 1, 2, 0}, 6, false, nil)
	if _, err := f.Obs(); err == nil || !strings.Contains(err.Error(), "obs/ct has 5 rows, want 6") {
		t.Errorf("short column: %v", err)
	}
	rGroup(t, filepath.Join(obs, "ct"), map[string]any{"encoding-type": "awkward-array"})
	if _, err := f.Obs(); err == nil || !strings.Contains(err.Error(), `encoding-type "awkward-array"`) {
		t.Errorf("unknown column encoding: %v", err)
	}
}

func rDescribe(v any) string { return fmt.Sprintf("%T %v", v, v) }
