package linalg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// spectrum names a test spectrum; its function returns d eigenvalues.
type spectrum struct {
	name string
	f    func(d, k int) []float64
}

var spectra = []spectrum{
	// A few dozen large eigenvalues, then a slowly decaying tail.
	{"pca", func(d, _ int) []float64 {
		l := make([]float64, d)
		for i := range l {
			l[i] = 0.3 + 0.2*float64(d-i)/float64(d)
			if i < 30 {
				l[i] += 50 * math.Exp(-float64(i)/6)
			}
		}
		return l
	}},
	// Close eigenvalues around the k-th (relative gaps 1e-3) on top of a
	// power-law decay.
	{"cluster", func(d, k int) []float64 {
		l := make([]float64, d)
		for i := range l {
			l[i] = 10 / math.Pow(float64(i+1), 0.8)
		}
		lk := l[min(max(k-1, 0), d-1)]
		for off := -2; off <= 2; off++ {
			if i := k - 1 + off; i >= 0 && i < d {
				l[i] = lk * (1 - 1e-3*float64(off))
			}
		}
		return l
	}},
}

// orthogonal returns a random d x d orthogonal matrix (Q of the QR of a
// Gaussian matrix).
func orthogonal(rng *rand.Rand, d int) *mat.Dense {
	g := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// shuffledMatrix returns Q diag(lambda) Qᵀ, exactly symmetric.
func shuffledMatrix(rng *rand.Rand, lambda []float64) blas64.General {
	return rotate(orthogonal(rng, len(lambda)), lambda)
}

// rotate returns Q diag(lambda) Qᵀ, exactly symmetric, as a covariance
// accumulator produces.
func rotate(q *mat.Dense, lambda []float64) blas64.General {
	d := len(lambda)
	var ql mat.Dense
	ql.Apply(func(_, j int, v float64) float64 { return v * lambda[j] }, q)
	var a mat.Dense
	a.Mul(&ql, q.T())
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			x := 0.5 * (a.At(i, j) + a.At(j, i))
			a.Set(i, j, x)
			a.Set(j, i, x)
		}
	}
	return a.RawMatrix()
}

// refEigen returns mat.EigenSym's eigenvalues (descending) and
// eigenvectors (columns, same order).
func refEigen(t *testing.T, a blas64.General) ([]float64, *mat.Dense) {
	t.Helper()
	d := a.Rows
	s := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			s.SetSym(i, j, a.Data[i*a.Stride+j])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		t.Fatal("mat.EigenSym failed")
	}
	vals := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	w := make([]float64, d)
	vd := mat.NewDense(d, d, nil)
	for j := 0; j < d; j++ {
		w[j] = vals[d-1-j]
		for i := 0; i < d; i++ {
			vd.Set(i, j, v.At(i, d-1-j))
		}
	}
	return w, vd
}

// checkEig compares EigSymTop's output with a reference: eigenvalues to
// relative 1e-6 (of max(|lambda|, 1e-3 lambda_max)), eigenvectors to
// |cos| >= 1-1e-6, orthonormality, descending order and the sign rule.
func checkEig(t *testing.T, name string, vals []float64, vecs blas64.General, wantVals []float64, wantVecs *mat.Dense) {
	t.Helper()
	d, k := vecs.Rows, vecs.Cols
	if len(vals) != k {
		t.Fatalf("%s: %d values for k = %d", name, len(vals), k)
	}
	scale := math.Abs(wantVals[0])
	for j := 0; j < k; j++ {
		if j > 0 && vals[j] > vals[j-1] {
			t.Fatalf("%s: values not descending at %d: %v > %v", name, j, vals[j], vals[j-1])
		}
		if err := math.Abs(vals[j] - wantVals[j]); err > 1e-6*math.Max(math.Abs(wantVals[j]), 1e-3*scale) {
			t.Fatalf("%s: value %d = %.15g, want %.15g", name, j, vals[j], wantVals[j])
		}
		// Vectors are defined only up to sign when the eigenvalue is
		// simple; skip exactly repeated ones.
		if (j > 0 && wantVals[j-1]-wantVals[j] <= 1e-9*scale) || (j+1 < d && wantVals[j]-wantVals[j+1] <= 1e-9*scale) {
			continue
		}
		dot, big, bi := 0.0, -1.0, 0
		for i := 0; i < d; i++ {
			x := vecs.Data[i*vecs.Stride+j]
			dot += x * wantVecs.At(i, j)
			if math.Abs(x) > big {
				big, bi = math.Abs(x), i
			}
		}
		if math.Abs(dot) < 1-1e-6 {
			t.Fatalf("%s: vector %d has |cos| = %.12f with the reference", name, j, math.Abs(dot))
		}
		if vecs.Data[bi*vecs.Stride+j] < 0 {
			t.Fatalf("%s: vector %d: largest component is negative", name, j)
		}
	}
	// Orthonormality: VᵀV = I.
	for p := 0; p < k; p++ {
		for q := p; q < k; q++ {
			dot := 0.0
			for i := 0; i < d; i++ {
				dot += vecs.Data[i*vecs.Stride+p] * vecs.Data[i*vecs.Stride+q]
			}
			want := 0.0
			if p == q {
				want = 1
			}
			if math.Abs(dot-want) > 1e-10 {
				t.Fatalf("%s: (VᵀV)[%d,%d] = %v", name, p, q, dot)
			}
		}
	}
}

// TestEigSymTop checks both solvers on matrices Q diag(lambda) Qᵀ. The
// reference is mat.EigenSym for d <= 301; at d = 1000, where gonum's
// dense solver takes seconds, it is the construction itself (lambda and
// the columns of Q), which is exact to rounding.
func TestEigSymTop(t *testing.T) {
	engines := testEngines(t)
	for _, d := range []int{1, 2, 7, 97, 301, 1000} {
		q := orthogonal(rand.New(rand.NewPCG(uint64(d), 99)), d)
		for _, sp := range spectra {
			ks := []int{1, 5, d - 1, d}
			if d == 1000 {
				// d = 301 covers k close to d.
				ks = []int{1, 5, 100}
				if sp.name == "cluster" {
					ks = []int{100}
				}
			}
			seen := map[int]bool{}
			for _, k := range ks {
				if k < 1 || k > d || seen[k] {
					continue
				}
				seen[k] = true
				lambda := sp.f(d, k) // for "cluster", the cluster sits at k
				a := rotate(q, lambda)
				var wantVals []float64
				var wantVecs *mat.Dense
				if d <= 301 {
					wantVals, wantVecs = refEigen(t, a)
				} else {
					wantVals, wantVecs = lambda, q
				}
				for _, e := range engines {
					if g, ok := e.(*Go); ok && g.kname == "generic" && d > 301 {
						continue // slow; its kernel is covered by TestDgemm
					}
					name := fmt.Sprintf("%s/d=%d,k=%d/%v", sp.name, d, k, e)
					var info EigInfo
					vals, vecs, err := EigSymTop(a, k, &EigOptions{BLAS: e, Info: &info})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					checkEig(t, name, vals, vecs, wantVals, wantVecs)
					t.Logf("%s: %+v", name, info)
				}
			}
		}
	}
}

// TestEigSymTopCovariance runs the Lanczos path on the sample covariance
// of synthetic low-rank-plus-noise cells, the matrix PCA hands it.
func TestEigSymTopCovariance(t *testing.T) {
	const cells, d, rank = 900, 301, 12
	rng := rand.New(rand.NewPCG(7, 8))
	x := randGeneral(rng, cells, d, 0)
	z := randGeneral(rng, cells, rank, 0)
	w := randGeneral(rng, rank, d, 0)
	for j := 0; j < rank; j++ {
		for i := 0; i < d; i++ {
			w.Data[j*d+i] *= 3 / float64(j+1)
		}
	}
	e := NewGo(0)
	e.Dgemm(blas.NoTrans, blas.NoTrans, 1, z, w, 1, x)
	// Center the columns, then C = XᵀX/(n-1).
	for j := 0; j < d; j++ {
		mean := 0.0
		for i := 0; i < cells; i++ {
			mean += x.Data[i*d+j]
		}
		mean /= cells
		for i := 0; i < cells; i++ {
			x.Data[i*d+j] -= mean
		}
	}
	c := blas64.Symmetric{N: d, Stride: d, Uplo: blas.Upper, Data: make([]float64, d*d)}
	e.Dsyrk(blas.Trans, 1.0/(cells-1), x, 0, c)
	a := Symmetrize(c)
	wantVals, wantVecs := refEigen(t, a)
	for _, eng := range testEngines(t) {
		for _, k := range []int{3, 20, 40} {
			// Default blocks, a block smaller than k, and a wide block
			// with a small basis (many restarts).
			for _, o := range []EigOptions{{}, {BlockSize: 3}, {BlockSize: 17, MaxBasis: 2*k + 17}} {
				o.BLAS = eng
				var info EigInfo
				o.Info = &info
				vals, vecs, err := EigSymTop(a, k, &o)
				if err != nil {
					t.Fatal(err)
				}
				if info.Full {
					t.Fatalf("k = %d used the dense solver; want Lanczos", k)
				}
				checkEig(t, fmt.Sprintf("covariance/k=%d,b=%d/%v", k, info.BlockSize, eng), vals, vecs, wantVals, wantVecs)
			}
		}
	}
}

func TestEigSymTopDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a := shuffledMatrix(rng, spectra[0].f(200, 0))
	v1, x1, err := EigSymTop(a, 7, &EigOptions{BLAS: NewGo(1), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Other thread count, same engine kind: bit-identical.
	v2, x2, err := EigSymTop(a, 7, &EigOptions{BLAS: NewGo(2), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v1, v2) || !slices.Equal(x1.Data, x2.Data) {
		t.Fatal("EigSymTop is not reproducible across thread counts")
	}
}

func TestEigSymTopErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	a := shuffledMatrix(rng, spectra[1].f(300, 40))
	if _, _, err := EigSymTop(a, 301, nil); err == nil {
		t.Error("k > d accepted")
	}
	if _, _, err := EigSymTop(rows(a, 0, 299), 3, nil); err == nil {
		t.Error("non-square matrix accepted")
	}
	bad := cloneGeneral(a)
	bad.Data[5*bad.Stride+7] = math.NaN()
	if _, _, err := EigSymTop(bad, 3, nil); err == nil || !strings.Contains(err.Error(), "(5, 7)") {
		t.Errorf("NaN element: err = %v, want one naming (5, 7)", err)
	}
	vals, _, err := EigSymTop(a, 40, &EigOptions{MaxMatVecs: 1, Tol: 1e-14, BlockSize: 8, MaxBasis: 60})
	if !errors.Is(err, ErrNotConverged) {
		t.Errorf("MaxMatVecs = 1: err = %v, want ErrNotConverged", err)
	}
	if len(vals) != 40 {
		t.Errorf("not converged: %d values, want the 40 approximations", len(vals))
	}
	vals, vecs, err := EigSymTop(a, 0, nil)
	if err != nil || len(vals) != 0 || vecs.Cols != 0 || vecs.Rows != 300 {
		t.Errorf("k = 0: %v, %v, %v", vals, vecs.Rows, err)
	}
}

// TestEigSymTopRankDeficient: a matrix of rank 3 makes the Krylov space
// invariant after one block; the solver must restart from random
// directions and still return the zero eigenvalues' orthonormal vectors.
func TestEigSymTopRankDeficient(t *testing.T) {
	const d = 200
	rng := rand.New(rand.NewPCG(15, 16))
	lambda := make([]float64, d)
	lambda[0], lambda[1], lambda[2] = 5, 2, 1
	a := shuffledMatrix(rng, lambda)
	wantVals, wantVecs := refEigen(t, a)
	for _, e := range testEngines(t) {
		vals, vecs, err := EigSymTop(a, 10, &EigOptions{BLAS: e})
		if err != nil {
			t.Fatal(err)
		}
		// Values 3..9 are 0 (repeated): checkEig skips their vectors but
		// checks values and orthonormality.
		checkEig(t, fmt.Sprintf("rank3/%v", e), vals, vecs, wantVals, wantVecs)
	}
	// The zero matrix: every direction is an eigenvector.
	zero := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, d*d)}
	vals, vecs, err := EigSymTop(zero, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkEig(t, "zero", vals, vecs, make([]float64, d), nil)
}

func TestSymmetrize(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, ul := range []blas.Uplo{blas.Upper, blas.Lower} {
		const n, ld = 9, 11
		full := randGeneral(rng, n, n, ld-n)
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				full.Data[i*ld+j] = full.Data[j*ld+i]
			}
		}
		// Scramble the triangle that Symmetrize must overwrite.
		s := cloneGeneral(full)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if (ul == blas.Upper && j < i) || (ul == blas.Lower && j > i) {
					s.Data[i*ld+j] = -99
				}
			}
		}
		g := Symmetrize(blas64.Symmetric{N: n, Stride: ld, Uplo: ul, Data: s.Data})
		if g.Rows != n || g.Cols != n || g.Stride != ld || &g.Data[0] != &s.Data[0] {
			t.Fatalf("%c: Symmetrize returned %dx%d stride %d, not a view of its input", ul, g.Rows, g.Cols, g.Stride)
		}
		if !slices.Equal(s.Data, full.Data) {
			t.Fatalf("%c: Symmetrize did not mirror the stored triangle", ul)
		}
	}
}
