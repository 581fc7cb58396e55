package gpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/sparse"
)

// These tests run the products through OpenCL (PoCL on a machine without
// a GPU) on shapes the conformance suite does not reach: rows longer than
// SpMMT's window of staged values, thousands of mostly empty rows, more
// output columns than a SpMMT work-group takes, several Gram blocks, and
// SpMMT on other work-group sizes. The helpers randMatrix, upload, buf
// and read are opencl_stats_test.go's; openCL, openCLGroups and benchRows
// are device_test.go's.

// productCase is a matrix shape for the product tests.
type productCase struct {
	name          string
	rows, cols    int
	density       float64
	long          []int // rows stored in full
	ks            []int
	wantWindowCut bool // some row is longer than SPMMT_STAGE
}

var productCases = []productCase{
	{name: "long-rows", rows: 300, cols: 2500, density: 0.5, long: []int{3, 17, 299}, ks: []int{1, 3, 8, 17}, wantWindowCut: true},
	{name: "empty-rows", rows: 5003, cols: 50, density: 0.01, long: []int{4999}, ks: []int{3, 8}},
	{name: "wide-k", rows: 31, cols: 21, density: 0.5, long: []int{0}, ks: []int{600}},
	{name: "tall", rows: 3001, cols: 301, density: 0.05, long: []int{1500}, ks: []int{5, 13}},
}

// refProduct returns m*b (transpose: mᵀ*b) in float64, and for each
// element the sum of the absolute values of its terms.
func refProduct(m *sparse.CSR, b []float64, k int, transpose bool) (want, scale []float64) {
	n := m.Rows
	if transpose {
		n = m.Cols
	}
	want, scale = make([]float64, n*k), make([]float64, n*k)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for q, j := range idx {
			v := float64(val[q])
			src, dst := int(j), i
			if transpose {
				src, dst = i, int(j)
			}
			for c := 0; c < k; c++ {
				x := v * b[src*k+c]
				want[dst*k+c] += x
				scale[dst*k+c] += math.Abs(x)
			}
		}
	}
	return want, scale
}

// checkClose checks got against want within rel of each element's scale
// (float64 accumulation in any order), plus a float32 rounding of want
// when the output is float32.
func checkClose(t *testing.T, what string, got, want, scale []float64, f32 bool) {
	t.Helper()
	bad := 0
	for i := range want {
		tol := 1e-12 * scale[i]
		if f32 {
			tol += 0x1p-24 * math.Abs(want[i])
		}
		if !(math.Abs(got[i]-want[i]) <= tol) {
			if bad < 5 {
				t.Errorf("%s: element %d = %.17g, want %.17g (scale %.3g)", what, i, got[i], want[i], scale[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(want))
	}
}

func randDense(rng *rand.Rand, n int, f32 bool) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-2))
		if f32 {
			x[i] = float64(float32(x[i]))
		}
	}
	return x
}

// denseBuf uploads x as a rows x cols dense matrix of kind.
func denseBuf(t *testing.T, be *gpu.Backend, rows, cols int, x []float64, kind backend.Kind) backend.Dense {
	t.Helper()
	if kind == backend.Float32 {
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		return backend.Dense{Rows: rows, Cols: cols, Data: buf(t, be, kind, x32)}
	}
	return backend.Dense{Rows: rows, Cols: cols, Data: buf(t, be, kind, x)}
}

func readDense(t *testing.T, be *gpu.Backend, d backend.Dense) []float64 {
	t.Helper()
	if d.Data.Kind() == backend.Float32 {
		x := read[float32](t, be, d.Data)
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = float64(v)
		}
		return out
	}
	return read[float64](t, be, d.Data)
}

// staleDense returns a rows x cols matrix of NaNs: products overwrite it.
func staleDense(t *testing.T, be *gpu.Backend, rows, cols int, kind backend.Kind) backend.Dense {
	t.Helper()
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = math.NaN()
	}
	return denseBuf(t, be, rows, cols, x, kind)
}

func TestSpMMProducts(t *testing.T) {
	be := openCL(t)
	for _, pc := range productCases {
		rng := rand.New(rand.NewPCG(uint64(pc.rows), uint64(pc.cols)))
		for _, order := range []string{"shuffled", "sorted", "mixed"} {
			h := randMatrix(rng, pc.rows, pc.cols, pc.density, pc.long)
			if pc.wantWindowCut && maxRow(h) <= 1024 {
				t.Fatalf("%s: longest row %d does not exceed SpMMT's window", pc.name, maxRow(h))
			}
			if order != "shuffled" {
				sortRows(h, order == "mixed")
			}
			productsCase(t, be, rng, pc, order, h)
		}
	}
}

// sortRows sorts the rows of m by column (every other one when half).
func sortRows(m *sparse.CSR, half bool) {
	for i := 0; i < m.Rows; i++ {
		if half && i%2 == 1 {
			continue
		}
		idx, val := m.Row(i)
		p := make([]int, len(idx))
		for q := range p {
			p[q] = q
		}
		slices.SortFunc(p, func(a, b int) int { return int(idx[a]) - int(idx[b]) })
		si, sv := slices.Clone(idx), slices.Clone(val)
		for q, from := range p {
			idx[q], val[q] = si[from], sv[from]
		}
	}
}

// productsCase runs SpMM and SpMMT on h for each of the case's k and both
// float kinds.
func productsCase(t *testing.T, be *gpu.Backend, rng *rand.Rand, pc productCase, order string, h *sparse.CSR) {
	m := upload(t, be, h)
	for _, k := range pc.ks {
		for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
			f32 := kind == backend.Float32
			t.Run(fmt.Sprintf("%s/%s/k=%d/%v", pc.name, order, k, kind), func(t *testing.T) {
				bh := randDense(rng, h.Cols*k, f32)
				out := staleDense(t, be, h.Rows, k, kind)
				if err := be.SpMM(m, denseBuf(t, be, h.Cols, k, bh, kind), out); err != nil {
					t.Fatalf("SpMM: %v", err)
				}
				want, scale := refProduct(h, bh, k, false)
				checkClose(t, "SpMM", readDense(t, be, out), want, scale, f32)

				bt := randDense(rng, h.Rows*k, f32)
				outT := staleDense(t, be, h.Cols, k, kind)
				if err := be.SpMMT(m, denseBuf(t, be, h.Rows, k, bt, kind), outT); err != nil {
					t.Fatalf("SpMMT: %v", err)
				}
				want, scale = refProduct(h, bt, k, true)
				checkClose(t, "SpMMT", readDense(t, be, outT), want, scale, f32)
			})
		}
	}
}

func maxRow(m *sparse.CSR) int {
	n := 0
	for i := 0; i < m.Rows; i++ {
		n = max(n, int(m.Indptr[i+1]-m.Indptr[i]))
	}
	return n
}

// TestSpMMTGroupSize checks that SpMMT's bits do not depend on the
// work-group size: each accumulator adds its terms in row order whatever
// the number of work-items striding over a row.
func TestSpMMTGroupSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	h := randMatrix(rng, 3001, 613, 0.05, []int{10, 2000})
	const k = 13
	bt := randDense(rng, h.Rows*k, false)
	var first []float64
	for _, local := range []int{256, 61, 1} {
		be := openCLGroups(t, local)
		out := staleDense(t, be, h.Cols, k, backend.Float64)
		if err := be.SpMMT(upload(t, be, h), denseBuf(t, be, h.Rows, k, bt, backend.Float64), out); err != nil {
			t.Fatalf("SpMMT with work-groups of %d: %v", local, err)
		}
		got := readDense(t, be, out)
		if first == nil {
			first = got
			want, scale := refProduct(h, bt, k, true)
			checkClose(t, "SpMMT", got, want, scale, false)
			continue
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(first[i]) {
				t.Fatalf("work-groups of %d: element %d = %v, with 256 %v", local, i, got[i], first[i])
			}
		}
	}
}

// TestGramBlocks accumulates mᵀm over several blocks of densified rows,
// into a C that starts with random values.
func TestGramBlocks(t *testing.T) {
	be := openCL(t)
	rng := rand.New(rand.NewPCG(3, 5))
	for _, rows := range []int{0, 1, 7, 100} {
		for _, d := range []int{1, 17, 301} {
			t.Run(fmt.Sprintf("%d-rows-a-block/d=%d", rows, d), func(t *testing.T) {
				h := randMatrix(rng, 203, d, 0.2, []int{5, 150})
				init := randDense(rng, d*d, false)
				want, scale := slices.Clone(init), make([]float64, d*d)
				for i := 0; i < h.Rows; i++ {
					idx, val := h.Row(i)
					for p, a := range idx {
						for q, b := range idx {
							if b >= a {
								x := float64(val[p]) * float64(val[q])
								want[int(a)*d+int(b)] += x
								scale[int(a)*d+int(b)] += math.Abs(x)
							}
						}
					}
				}
				for i := range scale {
					scale[i] += math.Abs(init[i])
				}
				c := denseBuf(t, be, d, d, init, backend.Float64)
				if err := be.GramAccumulateRows(upload(t, be, h), c, rows); err != nil {
					t.Fatalf("GramAccumulate: %v", err)
				}
				got := readDense(t, be, c)
				var g, w, s []float64
				for j := 0; j < d; j++ {
					g = append(g, got[j*d+j:j*d+d]...)
					w = append(w, want[j*d+j:j*d+d]...)
					s = append(s, scale[j*d+j:j*d+d]...)
				}
				checkClose(t, "upper triangle of C", g, w, s, false)
			})
		}
	}
}

// TestEigSymTopTol checks EigSymTopTol's residuals relative to each
// eigenvalue on a spectrum that spans decades, its sign convention, and
// that it refuses a tolerance that is not positive.
func TestEigSymTopTol(t *testing.T) {
	be := openCL(t)
	const n, k, tol = 211, 6, 1e-3
	rng := rand.New(rand.NewPCG(13, 17))
	spec := make([]float64, n)
	for i := range spec {
		spec[i] = rng.Float64() * 1e-3
		if i < k+2 {
			spec[i] = 1000 / math.Pow(3, float64(i))
		}
	}
	var qr mat.QR
	qr.Factorize(mat.NewDense(n, n, randDense(rng, n*n, false)))
	var q, a mat.Dense
	qr.QTo(&q)
	a.Mul(&q, mat.NewDiagDense(n, spec))
	a.Mul(&a, q.T())
	host := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			host[i*n+j] = math.NaN() // only the upper triangle is read
			if j >= i {
				host[i*n+j] = (a.At(i, j) + a.At(j, i)) / 2
			}
		}
	}
	ad := denseBuf(t, be, n, n, host, backend.Float64)
	vals, vecs, err := be.EigSymTopTol(ad, k, tol)
	if err != nil {
		t.Fatalf("EigSymTopTol: %v", err)
	}
	t.Cleanup(vecs.Data.Free)
	v := readDense(t, be, vecs)
	for j := 0; j < k; j++ {
		if math.Abs(vals[j]-spec[j]) > tol*spec[j] {
			t.Errorf("eigenvalue %d = %.10g, want %.10g", j, vals[j], spec[j])
		}
		col := make([]float64, n)
		at := 0
		for i := range col {
			col[i] = v[i*k+j]
			if math.Abs(col[i]) > math.Abs(col[at]) {
				at = i
			}
		}
		if col[at] <= 0 {
			t.Errorf("eigenvector %d: its largest-magnitude component is %g", j, col[at])
		}
		var res float64
		for i := 0; i < n; i++ {
			s := -vals[j] * col[i]
			for l := 0; l < n; l++ {
				s += host[min(i, l)*n+max(i, l)] * col[l]
			}
			res += s * s
		}
		if r := math.Sqrt(res); r > 1.01*tol*vals[j] {
			t.Errorf("eigenpair %d: |A v - lambda v| = %.3g > %g lambda", j, r, tol)
		}
	}
	for _, bad := range []float64{0, -1, math.NaN()} {
		if _, _, err := be.EigSymTopTol(ad, k, bad); err == nil {
			t.Errorf("EigSymTopTol accepted tolerance %v", bad)
		}
	}
	if _, _, err := be.EigSymTopTol(ad, n+1, tol); !errors.Is(err, backend.ErrShape) {
		t.Errorf("EigSymTopTol(k = n+1): %v, want an ErrShape error", err)
	}
}

// BenchmarkProducts times SpMM and SpMMT on the matrix-free PCA's shape:
// 5,000 genes at 7.6% density (382 values a cell), k = 8 float64 vectors,
// $SCBENCH_BENCH_ROWS cells (default 20,000: one chunk). It reports the
// matrix's bytes per second (indices and values, 8 bytes a value), to set
// against the floors in kernels/products.cl.
func BenchmarkProducts(b *testing.B) {
	rows := benchRows(b, 20000)
	const cols, k = 5000, 8
	be := openCL(b)
	rng := rand.New(rand.NewPCG(1, 2))
	h := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := range rows {
		for j := range cols {
			if rng.IntN(1000) < 76 {
				h.Indices = append(h.Indices, int32(j))
				h.Data = append(h.Data, float32(1+rng.IntN(20)))
			}
		}
		h.Indptr[i+1] = int64(len(h.Indices))
	}
	m, err := be.Upload(h)
	if err != nil {
		b.Fatalf("Upload: %v", err)
	}
	defer m.Free()
	v, zv, out := benchDense(b, be, cols, k), benchDense(b, be, rows, k), benchDense(b, be, cols, k)
	if err := be.Write(v.Data, randDense(rng, cols*k, false)); err != nil {
		b.Fatalf("Write: %v", err)
	}
	host := make([]float64, cols*k)
	for _, op := range []string{"SpMM", "SpMMT"} {
		b.Run(op, func(b *testing.B) {
			b.SetBytes(8 * m.NNZ)
			for range b.N {
				var err error
				if op == "SpMM" {
					err = be.SpMM(m, v, zv)
				} else {
					err = be.SpMMT(m, zv, out)
				}
				if err != nil {
					b.Fatalf("%s: %v", op, err)
				}
				if err := be.Read(host[:1], out.Data); err != nil { // waits for the product
					b.Fatalf("Read: %v", err)
				}
			}
		})
	}
}
