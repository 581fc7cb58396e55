package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
)

// TestSingleKernels checks every single-precision kernel this CPU runs
// against a float64 product of the same float32 inputs.
func TestSingleKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, kern := range singleKernels() {
		for _, k := range []int{1, 2, 7, 61, 333, 1029} {
			lda := k + 3
			a := make([]float32, (kern.rows-1)*lda+k)
			x := make([]float32, k*singleCols)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			y := make([]float32, kern.rows*singleCols)
			for i := range y {
				y[i] = float32(math.NaN()) // overwritten, not accumulated into
			}
			kern.fn(k, a, lda, x, y)
			for r := 0; r < kern.rows; r++ {
				for c := 0; c < singleCols; c++ {
					want, mag := 0.0, 0.0
					for p := 0; p < k; p++ {
						v := float64(a[r*lda+p]) * float64(x[p*singleCols+c])
						want += v
						mag += math.Abs(v)
					}
					got := float64(y[r*singleCols+c])
					// float32 accumulation: a few units of 2^-24 per
					// term at most, relative to the sum of magnitudes.
					if err := math.Abs(got - want); err > 4*float64(k)*0x1p-24*mag || math.IsNaN(got) {
						t.Fatalf("%s, k = %d: y[%d, %d] = %v, want %v (error %.3g, scale %.3g)", kern.name, k, r, c, got, want, err, mag)
					}
				}
			}
		}
		t.Logf("kernel %s (%d rows) checked", kern.name, kern.rows)
	}
}

// TestSingleOpApply checks singleOp's product with every kernel on
// awkward shapes: d not a multiple of any kernel's rows, d smaller than
// them, block widths below, at and past one and two panels, and a source
// block that is a view with a wider stride.
func TestSingleOpApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	for _, kern := range singleKernels() {
		for _, d := range []int{1, 5, 13, 100, 203} {
			a := blas64.General{Rows: d, Cols: d, Stride: d + 2, Data: make([]float64, d*(d+2))}
			for i := range a.Data {
				a.Data[i] = rng.NormFloat64()
			}
			for _, threads := range []int{1, 3} {
				op, _ := newSingleOp(a, threads)
				op.kern = kern
				for _, b := range []int{1, 8, 16, 17, 33} {
					t.Run(fmt.Sprintf("%s/d=%d/threads=%d/b=%d", kern.name, d, threads, b), func(t *testing.T) {
						src := blas64.General{Rows: d, Cols: b, Stride: b + 5, Data: make([]float64, d*(b+5))}
						for i := range src.Data {
							src.Data[i] = rng.NormFloat64()
						}
						dst := blas64.General{Rows: d, Cols: b, Stride: b, Data: make([]float64, d*b)}
						if err := op.apply(dst, src); err != nil {
							t.Fatal(err)
						}
						for i := 0; i < d; i++ {
							for j := 0; j < b; j++ {
								want, mag := 0.0, 0.0
								for p := 0; p < d; p++ {
									v := a.Data[i*a.Stride+p] * src.Data[p*src.Stride+j]
									want += v
									mag += math.Abs(v)
								}
								// Rounding A and the block to float32 and
								// summing in float32.
								if err := math.Abs(dst.Data[i*b+j] - want); err > (2+4*float64(d))*0x1p-24*mag {
									t.Fatalf("(%d, %d) = %v, want %v (error %.3g, scale %.3g)", i, j, dst.Data[i*b+j], want, err, mag)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestEigSymTopFloat32 runs EigOptions.Float32 on PCA-like spectra with
// PCA's tolerance (1e-3 of each eigenvalue): the pairs must come from the
// float32 path, meet the tolerance against A itself, and their values
// must match the reference far better than the tolerance (the float64
// Rayleigh-Ritz step removes the first-order effect of rounding A).
func TestEigSymTopFloat32(t *testing.T) {
	const d = 1000
	q := orthogonal(rand.New(rand.NewPCG(21, 22)), d)
	for _, sp := range spectra {
		for _, k := range []int{7, 100} {
			lambda := sp.f(d, k)
			a := rotate(q, lambda)
			var info EigInfo
			vals, vecs, err := EigSymTop(a, k, &EigOptions{Tol: 1e-3, Relative: true, Float32: true, Info: &info})
			if err != nil {
				t.Fatalf("%s, k = %d: %v", sp.name, k, err)
			}
			if info.Float32 != singleFast() || info.Full {
				t.Fatalf("%s, k = %d: info %+v, want the float32 Lanczos path where the CPU has its SIMD kernels (%v)", sp.name, k, info, singleFast())
			}
			if info.Residual > 1e-3 {
				t.Errorf("%s, k = %d: residual %.3g > 1e-3", sp.name, k, info.Residual)
			}
			checkResiduals(t, a, vals, vecs, 1e-3)
			worst := 0.0
			for j, v := range vals {
				worst = math.Max(worst, math.Abs(v-lambda[j])/lambda[j])
			}
			// A residual r bounds the error by r²/gap; the cluster's
			// relative gaps are 1e-3.
			if worst > 1e-4 {
				t.Errorf("%s, k = %d: eigenvalue error %.3g", sp.name, k, worst)
			}
			t.Logf("%s, k = %d: %d products, residual %.3g, worst relative eigenvalue error %.3g", sp.name, k, info.MatVecs, info.Residual, worst)
		}
	}
}

// TestEigSymTopFloat32Fallback: a tolerance finer than float32 products
// reach falls back to float64 and still meets it; a small problem takes
// the dense solver; a NaN is still reported by its position.
func TestEigSymTopFloat32Fallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	a := shuffledMatrix(rng, spectra[0].f(600, 0))
	var info EigInfo
	vals, vecs, err := EigSymTop(a, 10, &EigOptions{Tol: 1e-10, Float32: true, Info: &info})
	if err != nil {
		t.Fatal(err)
	}
	if info.Float32 {
		t.Errorf("tolerance 1e-10 met with float32 products? info %+v", info)
	}
	checkResiduals(t, a, vals, vecs, 1e-9)
	small := shuffledMatrix(rng, spectra[0].f(40, 0))
	if _, _, err := EigSymTop(small, 30, &EigOptions{Tol: 1e-3, Float32: true, Info: &info}); err != nil || !info.Full {
		t.Errorf("k = 30 of 40: err %v, info %+v; want the dense solver", err, info)
	}
	bad := cloneGeneral(a)
	bad.Data[5*bad.Stride+7] = math.Inf(-1)
	if _, _, err := EigSymTop(bad, 3, &EigOptions{Tol: 1e-3, Float32: true}); err == nil || !strings.Contains(err.Error(), "(5, 7)") {
		t.Errorf("infinite element: err = %v, want one naming (5, 7)", err)
	}
	huge := cloneGeneral(a)
	huge.Data[0] = 1e39 // finite, but not in float32
	if _, _, err := EigSymTop(huge, 3, &EigOptions{Tol: 1e-3, Float32: true, Info: &info}); err != nil || info.Float32 {
		t.Errorf("element beyond float32: err %v, info %+v; want a float64 solve", err, info)
	}
}

// checkResiduals checks ||A v - lambda v|| <= tol * |lambda| for every pair.
func checkResiduals(t *testing.T, a blas64.General, vals []float64, vecs blas64.General, tol float64) {
	t.Helper()
	d := a.Rows
	for j, lam := range vals {
		ss := 0.0
		for i := 0; i < d; i++ {
			av := 0.0
			for p := 0; p < d; p++ {
				av += a.Data[i*a.Stride+p] * vecs.Data[p*vecs.Stride+j]
			}
			r := av - lam*vecs.Data[i*vecs.Stride+j]
			ss += r * r
		}
		if res := math.Sqrt(ss); res > tol*math.Abs(lam) {
			t.Fatalf("pair %d: residual %.3g > %.3g * |%.6g|", j, res, tol, lam)
		}
	}
}

// BenchmarkSingleApply times EigOptions.Float32's block product at PCA's
// size, d = 5,000 and 16 vectors, with each kernel the CPU runs, on all
// cores and on one; it reports GFLOP/s and the rate at which the float32
// copy of A (100 MB, read once a product) streams. Against it: Dgemm on the
// same shapes in float64 (BenchmarkDgemmSkinny).
func BenchmarkSingleApply(b *testing.B) {
	const d, w = 5000, 16
	rng := rand.New(rand.NewPCG(31, 32))
	a := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, d*d)}
	for i := range a.Data {
		a.Data[i] = rng.NormFloat64()
	}
	src := blas64.General{Rows: d, Cols: w, Stride: w, Data: make([]float64, d*w)}
	for i := range src.Data {
		src.Data[i] = rng.NormFloat64()
	}
	dst := blas64.General{Rows: d, Cols: w, Stride: w, Data: make([]float64, d*w)}
	for _, kern := range singleKernels() {
		for _, threads := range []int{0, 1} {
			op, _ := newSingleOp(a, threads)
			op.kern = kern
			b.Run(fmt.Sprintf("%s/threads=%d", kern.name, threads), func(b *testing.B) {
				for b.Loop() {
					if err := op.apply(dst, src); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*d*d*w/sec/1e9, "GFLOP/s")
				b.ReportMetric(4*d*d/sec/1e9, "GB/s_of_A")
			})
		}
	}
}
