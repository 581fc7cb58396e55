package linalg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
)

// sparseCov is a covariance given as (ZᵀZ - n mu muᵀ)/(n-1) of a random
// sparse Z, applied without forming it, as the pipeline's matrix-free PCA
// does; dense returns it formed, for the reference.
type sparseCov struct {
	n, d int
	rows [][]int // column indices of each row of Z
	vals [][]float64
	mu   []float64
}

func newSparseCov(rng *rand.Rand, n, d int, density float64) *sparseCov {
	s := &sparseCov{n: n, d: d, mu: make([]float64, d)}
	// A few "cell types" so that the spectrum has leading components.
	for i := 0; i < n; i++ {
		var idx []int
		var val []float64
		group := i % 5
		for j := 0; j < d; j++ {
			p := density
			if j%7 == group {
				p = math.Min(1, 4*density)
			}
			if rng.Float64() < p {
				idx = append(idx, j)
				val = append(val, 1+rng.ExpFloat64())
			}
		}
		s.rows = append(s.rows, idx)
		s.vals = append(s.vals, val)
		for q, j := range idx {
			s.mu[j] += val[q] / float64(n)
		}
	}
	return s
}

// apply sets dst = C src.
func (s *sparseCov) apply(dst, src blas64.General) error {
	w := src.Cols
	clear(dst.Data[:s.d*w])
	zv := make([]float64, w)
	for i := range s.rows {
		clear(zv)
		for q, j := range s.rows[i] {
			for c := 0; c < w; c++ {
				zv[c] += s.vals[i][q] * src.Data[j*src.Stride+c]
			}
		}
		for q, j := range s.rows[i] {
			for c := 0; c < w; c++ {
				dst.Data[j*dst.Stride+c] += s.vals[i][q] * zv[c]
			}
		}
	}
	muV := make([]float64, w)
	for j := 0; j < s.d; j++ {
		for c := 0; c < w; c++ {
			muV[c] += s.mu[j] * src.Data[j*src.Stride+c]
		}
	}
	fn := float64(s.n)
	for j := 0; j < s.d; j++ {
		for c := 0; c < w; c++ {
			dst.Data[j*dst.Stride+c] = (dst.Data[j*dst.Stride+c] - fn*s.mu[j]*muV[c]) / (fn - 1)
		}
	}
	return nil
}

func (s *sparseCov) dense() blas64.General {
	d := s.d
	a := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, d*d)}
	for i := range s.rows {
		for p, j := range s.rows[i] {
			for q, k := range s.rows[i] {
				a.Data[j*d+k] += s.vals[i][p] * s.vals[i][q]
			}
		}
	}
	fn := float64(s.n)
	for j := 0; j < d; j++ {
		for k := 0; k < d; k++ {
			a.Data[j*d+k] = (a.Data[j*d+k] - fn*s.mu[j]*s.mu[k]) / (fn - 1)
		}
	}
	return a
}

// TestEigSymTopOp checks the operator form against the dense reference on
// a sparse covariance, on the Lanczos path (several block sizes) and on
// the dense path (k close to d: the matrix is formed from products), and
// that it agrees with EigSymTop on the same matrix.
func TestEigSymTopOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range []struct{ n, d, k, b int }{
		{400, 301, 10, 0}, {400, 301, 13, 3}, {250, 97, 60, 0}, {120, 7, 3, 0},
	} {
		s := newSparseCov(rng, tc.n, tc.d, 0.08)
		a := s.dense()
		wantVals, wantVecs := refEigen(t, a)
		var info EigInfo
		vals, vecs, err := EigSymTopOp(tc.d, s.apply, tc.k, &EigOptions{BlockSize: tc.b, Info: &info})
		if err != nil {
			t.Fatalf("n=%d d=%d k=%d: %v", tc.n, tc.d, tc.k, err)
		}
		name := fmt.Sprintf("op/d=%d,k=%d,b=%d", tc.d, tc.k, info.BlockSize)
		checkEig(t, name, vals, vecs, wantVals, wantVecs)
		if full := 2*(tc.k+max(tc.k, 4*max(tc.b, 8))) > tc.d; full != info.Full {
			t.Errorf("%s: Full = %v, want %v", name, info.Full, full)
		}
		dv, _, err := EigSymTop(a, tc.k, &EigOptions{BlockSize: tc.b})
		if err != nil {
			t.Fatal(err)
		}
		for j := range vals {
			if math.Abs(vals[j]-dv[j]) > 1e-8*math.Abs(dv[0]) {
				t.Errorf("%s: value %d: op %.15g, matrix %.15g", name, j, vals[j], dv[j])
			}
		}
	}
}

// TestEigSymTopOpErrors: errors and NaNs from the product end the solve
// with an error naming them.
func TestEigSymTopOpErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	s := newSparseCov(rng, 300, 211, 0.1)
	boom := errors.New("device lost")
	calls := 0
	failing := func(dst, src blas64.General) error {
		if calls++; calls == 5 {
			return boom
		}
		return s.apply(dst, src)
	}
	if _, _, err := EigSymTopOp(211, failing, 5, nil); !errors.Is(err, boom) {
		t.Errorf("failing product: err = %v, want it wrapped", err)
	}
	nan := func(dst, src blas64.General) error {
		if err := s.apply(dst, src); err != nil {
			return err
		}
		dst.Data[3*dst.Stride+1] = math.NaN()
		return nil
	}
	if _, _, err := EigSymTopOp(211, nan, 5, nil); err == nil || !strings.Contains(err.Error(), "NaN at (3, 1)") {
		t.Errorf("NaN product: err = %v, want one naming NaN at (3, 1)", err)
	}
	if _, _, err := EigSymTopOp(211, nil, 5, nil); err == nil {
		t.Error("nil apply accepted")
	}
	if _, _, err := EigSymTopOp(211, s.apply, 212, nil); err == nil {
		t.Error("k > d accepted")
	}
	if _, _, err := EigSymTopOp(-1, s.apply, 0, nil); err == nil {
		t.Error("negative d accepted")
	}
}

// TestEigSymTopRelative: with Relative, each pair's residual is bounded by
// Tol times its own eigenvalue, so the small eigenvalues of a spectrum
// that spans decades come out to the same relative accuracy as the large
// ones.
func TestEigSymTopRelative(t *testing.T) {
	const d, k = 400, 30
	lambda := make([]float64, d)
	for i := range lambda {
		lambda[i] = 1000 * math.Pow(0.8, float64(i)) // 1000 down to 1.2 at i = 29, then below
	}
	a := shuffledMatrix(rand.New(rand.NewPCG(35, 36)), lambda)
	const tol = 1e-4
	var rel, abs EigInfo
	vr, xr, err := EigSymTop(a, k, &EigOptions{Tol: tol, Relative: true, Info: &rel})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := EigSymTop(a, k, &EigOptions{Tol: tol, Info: &abs}); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < k; j++ {
		// The residual of each returned pair, recomputed.
		var r2 float64
		for i := 0; i < d; i++ {
			var s float64
			for l := 0; l < d; l++ {
				s += a.Data[i*d+l] * xr.Data[l*k+j]
			}
			r := s - vr[j]*xr.Data[i*k+j]
			r2 += r * r
		}
		if r := math.Sqrt(r2); r > 1.01*tol*vr[j] {
			t.Errorf("relative: pair %d (lambda %.4g) has residual %.3g > tol*lambda %.3g", j, vr[j], r, tol*vr[j])
		}
		if e := math.Abs(vr[j]-lambda[j]) / lambda[j]; e > tol {
			t.Errorf("relative: value %d = %.12g, want %.12g (relative error %.2g)", j, vr[j], lambda[j], e)
		}
	}
	if rel.Residual > tol {
		t.Errorf("relative: Info.Residual %.3g > tol", rel.Residual)
	}
	if abs.Residual > tol {
		t.Errorf("absolute: Info.Residual %.3g > tol", abs.Residual)
	}
}

// TestSyevQL compares syevQL with gonum's Dsyev (through mat.EigenSym in
// refEigen) on random, clustered, diagonal and zero matrices of sizes
// around qlMin.
func TestSyevQL(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	mats := map[string]blas64.General{}
	for _, n := range []int{1, 2, 31, 33, 97, 204} {
		mats[fmt.Sprintf("random/%d", n)] = randSym(rng, n)
	}
	cl := make([]float64, 120)
	for i := range cl {
		cl[i] = 3 + 1e-9*float64(i%4) // four clusters of 30 nearly equal values
		if i < 5 {
			cl[i] = 10 - float64(i)
		}
	}
	mats["clustered/120"] = shuffledMatrix(rng, cl)
	diag := blas64.General{Rows: 50, Cols: 50, Stride: 50, Data: make([]float64, 2500)}
	for i := 0; i < 50; i++ {
		diag.Data[i*51] = float64((i * 37) % 50) // a permutation of 0..49
	}
	mats["diagonal/50"] = diag
	mats["zero/40"] = blas64.General{Rows: 40, Cols: 40, Stride: 40, Data: make([]float64, 1600)}
	names := make([]string, 0, len(mats))
	for name := range mats {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := mats[name]
		n := a.Rows
		wantVals, _ := refEigen(t, a) // descending
		z := slices.Clone(a.Data)
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				z[i*n+j] = math.NaN() // only the upper triangle is read
			}
		}
		w := make([]float64, n)
		if !syevQL(z, n, w) {
			t.Fatalf("%s: no convergence", name)
		}
		scale := math.Max(1, math.Abs(wantVals[0]))
		for j := 0; j < n; j++ {
			if j > 0 && w[j] < w[j-1] {
				t.Fatalf("%s: values not ascending at %d", name, j)
			}
			if math.Abs(w[j]-wantVals[n-1-j]) > 1e-12*scale*float64(n) {
				t.Errorf("%s: value %d = %.17g, want %.17g", name, j, w[j], wantVals[n-1-j])
			}
		}
		// Residuals and orthonormality of the eigenvectors (columns of z).
		for j := 0; j < n; j++ {
			var r2 float64
			for i := 0; i < n; i++ {
				var s float64
				for l := 0; l < n; l++ {
					s += a.Data[i*n+l] * z[l*n+j]
				}
				r := s - w[j]*z[i*n+j]
				r2 += r * r
			}
			if math.Sqrt(r2) > 1e-12*scale*float64(n) {
				t.Errorf("%s: pair %d has residual %.3g", name, j, math.Sqrt(r2))
			}
			for q := j; q < n; q++ {
				var dot float64
				for i := 0; i < n; i++ {
					dot += z[i*n+j] * z[i*n+q]
				}
				want := 0.0
				if q == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12*float64(n) {
					t.Fatalf("%s: (ZᵀZ)[%d,%d] = %.3g", name, j, q, dot)
				}
			}
		}
	}
}

func randSym(rng *rand.Rand, n int) blas64.General {
	a := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			x := rng.NormFloat64()
			a.Data[i*n+j], a.Data[j*n+i] = x, x
		}
	}
	return a
}

// TestRotRows checks the rotation kernel (assembly on amd64) against the
// plain loop on lengths around its 4-column step.
func TestRotRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	for _, n := range []int{0, 1, 3, 4, 5, 8, 13, 204} {
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		c, s := math.Cos(0.3), math.Sin(0.3)
		wx, wy := slices.Clone(x), slices.Clone(y)
		rotRowsGo(wx, wy, c, s)
		rotRows(x, y, c, s)
		for i := range x {
			if math.Abs(x[i]-wx[i]) > 1e-15 || math.Abs(y[i]-wy[i]) > 1e-15 {
				t.Fatalf("n=%d: element %d: (%g, %g), want (%g, %g)", n, i, x[i], y[i], wx[i], wy[i])
			}
		}
	}
}
