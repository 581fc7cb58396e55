package backendtest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// Run runs the conformance suite: one subtest per group of operations, each
// on a fresh backend from newBackend, which Run closes when the subtest ends.
// newBackend may call t.Skip (no device) or t.Fatal.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(*env)
	}{
		{"Device", testDevice},
		{"Alloc", testAlloc},
		{"WriteRead", testWriteRead},
		{"Free", testFree},
		{"UploadDownload", testUploadDownload},
		{"RowStats", testRowStats},
		{"ColStats", testColStats},
		{"ScaleRows", testScaleRows},
		{"ScaleCols", testScaleCols},
		{"Log1p", testLog1p},
		{"SelectRows", testSelectRows},
		{"SelectCols", testSelectCols},
		{"GramAccumulate", testGram},
		{"GramAccumulateOrdered", testGramOrdered},
		{"SpMM", testSpMM},
		{"SpMMT", testSpMMT},
		{"SpMMLongRows", testSpMMLong},
		{"Transpose", testTranspose},
		{"Gemm", testGemm},
		{"EigSymTop", testEigSymTop},
		{"Shapes", testShapes},
		{"Deterministic", testDeterministic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t)
			t.Cleanup(func() {
				if err := be.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(&env{t: t, be: be, rng: newRand(tc.name)})
		})
	}
}

// env is what a test works with: its testing.T, the backend, and a random
// source seeded from the test's name, so every run sees the same inputs.
type env struct {
	t   *testing.T
	be  backend.Backend
	rng *rand.Rand
}

func newRand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
}

// run runs fn as a subtest with its own env.
func (e *env) run(name string, fn func(e *env)) {
	e.t.Helper()
	e.t.Run(name, func(t *testing.T) {
		fn(&env{t: t, be: e.be, rng: newRand(t.Name())})
	})
}

func (e *env) check(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// wantShape checks that err is an ErrShape error.
func (e *env) wantShape(err error, what string) {
	e.t.Helper()
	if !errors.Is(err, backend.ErrShape) {
		e.t.Errorf("%s: got error %v, want one wrapping backend.ErrShape", what, err)
	}
}

func (e *env) alloc(k backend.Kind, n int) backend.Buffer {
	e.t.Helper()
	b, err := e.be.Alloc(k, n)
	e.check(err, fmt.Sprintf("Alloc(%v, %d)", k, n))
	if b.Kind() != k || b.Len() != n {
		e.t.Fatalf("Alloc(%v, %d) returned a buffer of %d x %v", k, n, b.Len(), b.Kind())
	}
	return b
}

// buf returns a new buffer holding a copy of the host slice src.
func (e *env) buf(src any) backend.Buffer {
	e.t.Helper()
	var b backend.Buffer
	switch s := src.(type) {
	case []float32:
		b = e.alloc(backend.Float32, len(s))
	case []float64:
		b = e.alloc(backend.Float64, len(s))
	case []int32:
		b = e.alloc(backend.Int32, len(s))
	case []int64:
		b = e.alloc(backend.Int64, len(s))
	case []uint8:
		b = e.alloc(backend.Uint8, len(s))
	default:
		e.t.Fatalf("buf of %T", src)
	}
	e.check(e.be.Write(b, src), "Write")
	return b
}

func (e *env) f64(b backend.Buffer) []float64 {
	e.t.Helper()
	h := make([]float64, b.Len())
	e.check(e.be.Read(h, b), "Read float64")
	return h
}

func (e *env) f32(b backend.Buffer) []float32 {
	e.t.Helper()
	h := make([]float32, b.Len())
	e.check(e.be.Read(h, b), "Read float32")
	return h
}

func (e *env) i32(b backend.Buffer) []int32 {
	e.t.Helper()
	h := make([]int32, b.Len())
	e.check(e.be.Read(h, b), "Read int32")
	return h
}

func (e *env) i64(b backend.Buffer) []int64 {
	e.t.Helper()
	h := make([]int64, b.Len())
	e.check(e.be.Read(h, b), "Read int64")
	return h
}

// upload uploads a copy of m (a backend may share the host memory, and
// the tests keep m as the reference).
func (e *env) upload(m *sparse.CSR) backend.CSR {
	e.t.Helper()
	d, err := e.be.Upload(m.Clone())
	e.check(err, "Upload")
	if d.Rows != m.Rows || d.Cols != m.Cols || d.NNZ != m.NNZ() {
		e.t.Fatalf("Upload of %d x %d with %d values gave %d x %d with %d", m.Rows, m.Cols, m.NNZ(), d.Rows, d.Cols, d.NNZ)
	}
	return d
}

// download returns a host copy of m, owning its memory.
func (e *env) download(m backend.CSR) *sparse.CSR {
	e.t.Helper()
	h, err := e.be.Download(m)
	e.check(err, "Download")
	if err := h.Validate(); err != nil {
		e.t.Fatalf("Download returned an invalid matrix: %v", err)
	}
	return h.Clone()
}

// dense returns a rows x cols Float64 or Float32 matrix holding x.
func (e *env) dense(rows, cols int, x []float64, k backend.Kind) backend.Dense {
	e.t.Helper()
	if k == backend.Float32 {
		return backend.Dense{Rows: rows, Cols: cols, Data: e.buf(to32(x))}
	}
	return backend.Dense{Rows: rows, Cols: cols, Data: e.buf(append([]float64(nil), x...))}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// maxReports bounds the mismatches reported per comparison.
const maxReports = 5

// near reports whether got is within rel*scale of want (scale is the sum
// of the absolute values of the terms behind want). Equal infinities and
// two NaNs match.
func near(got, want, scale, rel float64) bool {
	if got == want || math.IsNaN(got) && math.IsNaN(want) {
		return true
	}
	return math.Abs(got-want) <= rel*scale
}

// sums checks accumulated float64 results against a reference.
func (e *env) sums(what string, got, want, scale []float64, rel float64) {
	e.t.Helper()
	if len(got) != len(want) {
		e.t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		if !near(got[i], want[i], scale[i], rel) {
			if bad++; bad <= maxReports {
				e.t.Errorf("%s[%d] = %.17g, want %.17g (error %.3g, allowed %.3g)", what, i, got[i], want[i], math.Abs(got[i]-want[i]), rel*scale[i])
			}
		}
	}
	if bad > maxReports {
		e.t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// elementwise checks float32 results against float64 references to a
// relative 1e-6 (a few float32 roundings).
func (e *env) elementwise(what string, got []float32, want []float64) {
	e.t.Helper()
	if len(got) != len(want) {
		e.t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i, w := range want {
		g := float64(got[i])
		// Below float32's normal range only absolute accuracy is possible.
		if !near(g, w, math.Max(math.Abs(w), 0x1p-126), 1e-6) {
			if bad++; bad <= maxReports {
				e.t.Errorf("%s[%d] = %.9g, want %.9g", what, i, g, w)
			}
		}
	}
	if bad > maxReports {
		e.t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// sameCSR checks that got and want store the same entries in the same order.
func (e *env) sameCSR(what string, got, want *sparse.CSR) {
	e.t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols || got.NNZ() != want.NNZ() {
		e.t.Fatalf("%s: %d x %d with %d values, want %d x %d with %d", what, got.Rows, got.Cols, got.NNZ(), want.Rows, want.Cols, want.NNZ())
	}
	for i := 0; i <= want.Rows; i++ {
		if got.Indptr[i] != want.Indptr[i] {
			e.t.Fatalf("%s: Indptr[%d] = %d, want %d", what, i, got.Indptr[i], want.Indptr[i])
		}
	}
	for k := range want.Indices {
		if got.Indices[k] != want.Indices[k] || math.Float32bits(got.Data[k]) != math.Float32bits(want.Data[k]) {
			e.t.Fatalf("%s: entry %d is (%d, %g), want (%d, %g)", what, k, got.Indices[k], got.Data[k], want.Indices[k], want.Data[k])
		}
	}
}

// shapes are the random matrices most tests run on: no rows, one row, one
// column, empty and full rows, unsorted rows, sizes that are not round.
var shapes = []shape{
	{rows: 0, cols: 13, density: 0.3, vals: counts},
	{rows: 1, cols: 1, density: 0.9, vals: counts},
	{rows: 1, cols: 301, density: 0.2, vals: reals},
	{rows: 7, cols: 1, density: 0.5, vals: reals},
	{rows: 7, cols: 13, density: 0.4, vals: counts, unsorted: true},
	{rows: 97, cols: 301, density: 0.1, vals: counts},
	{rows: 97, cols: 13, density: 0.3, vals: reals, unsorted: true},
	{rows: 1031, cols: 1, density: 0.3, vals: counts},
	{rows: 1031, cols: 13, density: 0.3, vals: counts},
	{rows: 1031, cols: 301, density: 0.05, vals: reals},
	{rows: 1031, cols: 613, density: 0.1, vals: counts, unsorted: true},
}

func (s shape) String() string {
	name := fmt.Sprintf("%dx%d/%v", s.rows, s.cols, s.vals)
	if s.unsorted {
		name += "/unsorted"
	}
	return name
}

// chunks returns matrices of cols columns and awkward row counts (one
// chunk with no rows, one much larger than the rest), for the operations
// that accumulate over chunks.
func (e *env) chunks(cols int, vals values, unsorted bool) []*sparse.CSR {
	var out []*sparse.CSR
	for _, rows := range []int{97, 0, 1, 1031, 7} {
		out = append(out, randCSR(e.rng, shape{rows: rows, cols: cols, density: 0.1, vals: vals, unsorted: unsorted}))
	}
	return out
}
