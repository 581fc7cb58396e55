package linalg

// EigSymTop: thick-restart block Lanczos with full reorthogonalization.
//
// References: Golub & Underwood 1977 (block Lanczos); Wu & Simon 2000,
// "Thick-restart Lanczos method for large symmetric eigenvalue problems"
// (restart that keeps Ritz vectors); Stewart 2001, "A Krylov-Schur
// algorithm for large eigenproblems" (why the kept basis stays Krylov);
// Stathopoulos & Wu 2002, "A block orthogonalization procedure with
// constant synchronization requirements" (SVQB); Daniel, Gragg, Kaufman &
// Stewart 1976 (DGKS: reorthogonalize when a projection cancels).

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// EigOptions configures EigSymTop. The zero value, or nil, uses the
// defaults, which are documented per field.
type EigOptions struct {
	// BLAS runs the matrix products. nil: the Go engine when it has an
	// assembly kernel, else Default(). The products here are tall and
	// skinny (d x d times d x BlockSize), where the Go engine measured
	// 1.5-4x faster than OpenBLAS 0.3.21 (see doc.go).
	BLAS BLAS

	// Tol is the convergence test: every returned pair satisfies
	// ||A*v - lambda*v|| <= Tol * max|lambda|. 0: 1e-10. For an
	// eigenvalue separated from the rest of the spectrum by gap, the
	// eigenvalue error is about (Tol*max|lambda|)²/gap and the angle of
	// the eigenvector Tol*max|lambda|/gap.
	Tol float64

	// BlockSize is the number of vectors A multiplies at once. 0: 8
	// while A fits in a 32 MiB cache (d <= 2048), else 16. Smaller
	// blocks need fewer products in all (the Krylov space grows in
	// finer steps); larger ones keep the product from being bound by
	// memory bandwidth once A no longer fits in cache.
	BlockSize int

	// MaxBasis is the largest basis before a restart. 0: k + max(k,
	// 4*BlockSize), rounded up to whole blocks after k.
	MaxBasis int

	// MaxMatVecs bounds the number of matrix-vector products (a block
	// product counts BlockSize). 0: 200*MaxBasis.
	MaxMatVecs int

	// Seed seeds the random start block; a fixed seed makes the result
	// reproducible.
	Seed uint64

	// Info, when not nil, receives counts of the work done.
	Info *EigInfo
}

// EigInfo reports what EigSymTop did.
type EigInfo struct {
	Full      bool    // solved by the dense eigendecomposition
	MatVecs   int     // matrix-vector products with A
	Restarts  int     // Rayleigh-Ritz extractions
	BlockSize int     // vectors per product
	MaxBasis  int     // basis size at a restart
	Residual  float64 // max ||A*v - lambda*v|| / max|lambda| over the k returned pairs
	Flops     float64 // floating-point operations in matrix products (2mnk each)
}

// ErrNotConverged is wrapped by the error EigSymTop returns when it ran
// out of MaxMatVecs; the values and vectors it returns with it are the
// best approximations found.
var ErrNotConverged = errors.New("linalg: EigSymTop did not converge")

// fullFactor is the switch to the dense solver: when the Lanczos basis
// would exceed d/fullFactor, the dense decomposition is as cheap.
const fullFactor = 2

// EigSymTop returns the k algebraically largest eigenvalues of the
// symmetric d x d matrix a, in descending order, and their eigenvectors
// as the columns of a d x k matrix. a must hold both triangles (see
// Symmetrize); it is not modified. Each eigenvector's sign is chosen so
// that its largest-magnitude component (the first, on ties) is positive,
// the convention of sklearn's svd_flip on PCA loadings. The result is
// deterministic for a given Seed and BLAS.
//
// Small problems (k close to d) use the dense LAPACK eigensolver; the
// others use thick-restart block Lanczos (see doc.go).
func EigSymTop(a blas64.General, k int, opts *EigOptions) ([]float64, blas64.General, error) {
	var o EigOptions
	if opts != nil {
		o = *opts
	}
	d := a.Rows
	if a.Cols != d {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: matrix is %dx%d, not square", a.Rows, a.Cols)
	}
	if k < 0 || k > d {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: k = %d out of range [0, %d]", k, d)
	}
	if d > 0 && (a.Stride < d || len(a.Data) < (d-1)*a.Stride+d) {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: %dx%d matrix with stride %d has %d elements", d, d, a.Stride, len(a.Data))
	}
	for i := 0; i < d; i++ {
		for j, x := range a.Data[i*a.Stride : i*a.Stride+d] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: matrix element (%d, %d) is %v", i, j, x)
			}
		}
	}
	if o.BLAS == nil {
		if g := NewGo(0); g.kname != "generic" {
			o.BLAS = g
		} else {
			o.BLAS = Default()
		}
	}
	if o.Tol == 0 {
		o.Tol = 1e-10
	}
	if o.Tol < 0 || math.IsNaN(o.Tol) {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: bad Tol %v", o.Tol)
	}
	info := o.Info
	if info == nil {
		info = new(EigInfo)
	}
	*info = EigInfo{}
	if k == 0 {
		return []float64{}, blas64.General{Rows: d, Cols: 0, Stride: 1, Data: []float64{}}, nil
	}
	b := o.BlockSize
	if b <= 0 {
		b = 8
		if d > 2048 {
			b = 16
		}
	}
	m := o.MaxBasis
	if m <= 0 {
		m = k + max(k, 4*b)
	}
	m = max(m, k+b)
	m = k + roundUp(m-k, b) // whole blocks after the kept k
	if fullFactor*m > d {
		info.Full = true
		return eigSymFull(a, k)
	}
	maxMV := o.MaxMatVecs
	if maxMV <= 0 {
		maxMV = 200 * m
	}
	info.BlockSize, info.MaxBasis = b, m
	s := newLanczos(o.BLAS, a, k, b, m, o.Seed)
	vals, vecs, err := s.run(o.Tol, maxMV, info)
	flipSigns(vecs)
	return vals, vecs, err
}

// Symmetrize copies the stored triangle of s into the other one, in
// place, and returns the full matrix as a General sharing s's data.
func Symmetrize(s blas64.Symmetric) blas64.General {
	n, ld := s.N, s.Stride
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if s.Uplo == blas.Upper {
				s.Data[j*ld+i] = s.Data[i*ld+j]
			} else {
				s.Data[i*ld+j] = s.Data[j*ld+i]
			}
		}
	}
	return blas64.General{Rows: n, Cols: n, Stride: ld, Data: s.Data}
}

// eigSymFull solves with LAPACK's dsyev (gonum) and keeps the top k.
func eigSymFull(a blas64.General, k int) ([]float64, blas64.General, error) {
	d := a.Rows
	w := make([]float64, d)
	z := make([]float64, d*d)
	for i := 0; i < d; i++ {
		copy(z[i*d:(i+1)*d], a.Data[i*a.Stride:i*a.Stride+d])
	}
	if !syev(z, d, w) {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: dense eigensolver (dsyev, d = %d) failed to converge", d)
	}
	vals := make([]float64, k)
	vecs := blas64.General{Rows: d, Cols: k, Stride: k, Data: make([]float64, d*k)}
	for j := 0; j < k; j++ {
		src := d - 1 - j // dsyev sorts ascending
		vals[j] = w[src]
		for i := 0; i < d; i++ {
			vecs.Data[i*k+j] = z[i*d+src]
		}
	}
	flipSigns(vecs)
	return vals, vecs, nil
}

// syev overwrites the n x n row-major symmetric z (upper triangle read)
// with its eigenvectors (columns) and w with the eigenvalues, ascending.
func syev(z []float64, n int, w []float64) bool {
	var impl lapackgonum.Implementation
	work := []float64{0}
	impl.Dsyev(lapack.EVCompute, blas.Upper, n, z, max(n, 1), w, work, -1)
	work = make([]float64, int(work[0]))
	return impl.Dsyev(lapack.EVCompute, blas.Upper, n, z, max(n, 1), w, work, len(work))
}

// flipSigns makes the largest-magnitude component of each column
// positive (svd_flip).
func flipSigns(v blas64.General) {
	for j := 0; j < v.Cols; j++ {
		best, bi := -1.0, 0
		for i := 0; i < v.Rows; i++ {
			if x := math.Abs(v.Data[i*v.Stride+j]); x > best {
				best, bi = x, i
			}
		}
		if v.Data[bi*v.Stride+j] < 0 {
			for i := 0; i < v.Rows; i++ {
				v.Data[i*v.Stride+j] = -v.Data[i*v.Stride+j]
			}
		}
	}
}

// lanczos is the state of one EigSymTop run. The basis V (d x m, its
// columns orthonormal) and AV = A*V are stored row-major with the basis
// vectors as columns, so a block of columns is a strided General that
// both engines multiply in place. T = Vᵀ*A*V is kept explicitly (from
// the stored AV, so it is exact however the recurrence drifts).
type lanczos struct {
	e       BLAS
	a       blas64.General
	d, k, b int
	m       int
	rng     *rand.Rand

	v, av  blas64.General // d x m
	t      []float64      // m x m, row-major, both triangles
	p      blas64.General // d x b: next block, orthonormal, ⟂ V
	u, au  blas64.General // d x m scratch: Ritz vectors and A times them
	c      blas64.General // m x b scratch: projection coefficients
	n      int            // columns of V in use
	matvec int
	flops  float64
}

func newLanczos(e BLAS, a blas64.General, k, b, m int, seed uint64) *lanczos {
	d := a.Rows
	gen := func(r, c int) blas64.General {
		return blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	}
	return &lanczos{
		e: e, a: a, d: d, k: k, b: b, m: m,
		rng: rand.New(rand.NewPCG(seed, 0x5eed_b10c_1a2c_2057)),
		v:   gen(d, m), av: gen(d, m), t: make([]float64, m*m),
		p: gen(d, b), u: gen(d, m), au: gen(d, m), c: gen(m, b),
	}
}

// gemm runs Dgemm on the engine and counts its flops.
func (s *lanczos) gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	k := a.Cols
	if tA != blas.NoTrans {
		k = a.Rows
	}
	s.flops += 2 * float64(c.Rows) * float64(c.Cols) * float64(k)
	s.e.Dgemm(tA, tB, alpha, a, b, beta, c)
}

// cols returns columns [j0, j1) of g as a General view.
func cols(g blas64.General, j0, j1 int) blas64.General {
	return blas64.General{Rows: g.Rows, Cols: j1 - j0, Stride: g.Stride, Data: g.Data[j0:]}
}

// rows returns rows [i0, i1) of g as a General view.
func rows(g blas64.General, i0, i1 int) blas64.General {
	return blas64.General{Rows: i1 - i0, Cols: g.Cols, Stride: g.Stride, Data: g.Data[i0*g.Stride:]}
}

func (s *lanczos) run(tol float64, maxMV int, info *EigInfo) ([]float64, blas64.General, error) {
	d, k := s.d, s.k
	s.fillRandom(s.p)
	if err := s.orthonormalize(s.p, 0); err != nil {
		return nil, blas64.General{}, err
	}
	theta := make([]float64, s.m)
	y := make([]float64, s.m*s.m)
	for {
		for s.n+s.b <= s.m {
			if err := s.expand(); err != nil {
				return nil, blas64.General{}, err
			}
		}
		info.Restarts++
		n := s.n
		// Rayleigh-Ritz: T = Y Θ Yᵀ, Ritz vectors V*Y.
		for i := 0; i < n; i++ {
			copy(y[i*n:(i+1)*n], s.t[i*s.m:i*s.m+n])
		}
		if !syev(y[:n*n], n, theta[:n]) {
			return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: Rayleigh-Ritz eigensolver (dsyev, n = %d) failed", n)
		}
		// Descending order: reverse the columns of Y and the values.
		for i := 0; i < n; i++ {
			row := y[i*n : (i+1)*n]
			for lo, hi := 0, n-1; lo < hi; lo, hi = lo+1, hi-1 {
				row[lo], row[hi] = row[hi], row[lo]
			}
		}
		for lo, hi := 0, n-1; lo < hi; lo, hi = lo+1, hi-1 {
			theta[lo], theta[hi] = theta[hi], theta[lo]
		}
		keep := s.keep()
		yk := blas64.General{Rows: n, Cols: keep, Stride: n, Data: y}
		u, au := cols(s.u, 0, keep), cols(s.au, 0, keep)
		s.gemm(blas.NoTrans, blas.NoTrans, 1, cols(s.v, 0, n), yk, 0, u)
		s.gemm(blas.NoTrans, blas.NoTrans, 1, cols(s.av, 0, n), yk, 0, au)
		scale := math.Max(math.Abs(theta[0]), math.Abs(theta[n-1]))
		res := s.residuals(theta[:k])
		worst := 0.0
		for _, r := range res {
			worst = math.Max(worst, r)
		}
		if scale > 0 {
			worst /= scale
		}
		info.MatVecs, info.Residual, info.Flops = s.matvec, worst, s.flops
		if worst <= tol || s.matvec >= maxMV {
			vals := append([]float64(nil), theta[:k]...)
			vecs := blas64.General{Rows: d, Cols: k, Stride: k, Data: make([]float64, d*k)}
			for i := 0; i < d; i++ {
				copy(vecs.Data[i*k:(i+1)*k], s.u.Data[i*s.u.Stride:i*s.u.Stride+k])
			}
			if worst > tol {
				return vals, vecs, fmt.Errorf("%w: residual %.3g > tol %.3g after %d matrix-vector products (d = %d, k = %d); raise MaxMatVecs or Tol", ErrNotConverged, worst, tol, s.matvec, d, k)
			}
			return vals, vecs, nil
		}
		// Thick restart: keep the leading Ritz pairs. P stays valid: it
		// is orthogonal to the old basis and so to its subspace.
		for i := 0; i < d; i++ {
			copy(s.v.Data[i*s.m:i*s.m+keep], s.u.Data[i*s.m:i*s.m+keep])
			copy(s.av.Data[i*s.m:i*s.m+keep], s.au.Data[i*s.m:i*s.m+keep])
		}
		clear(s.t)
		for i := 0; i < keep; i++ {
			s.t[i*s.m+i] = theta[i]
		}
		s.n = keep
	}
}

// keep is the number of Ritz vectors kept at a restart: the k wanted
// plus half the room that is left, rounded so that whole blocks fit.
func (s *lanczos) keep() int {
	room := (s.m - s.k) / s.b
	return s.k + room/2*s.b
}

// residuals returns ||AU_j - theta_j U_j|| for the first len(theta)
// columns of U.
func (s *lanczos) residuals(theta []float64) []float64 {
	res := make([]float64, len(theta))
	for i := 0; i < s.d; i++ {
		u := s.u.Data[i*s.m : i*s.m+len(theta)]
		au := s.au.Data[i*s.m : i*s.m+len(theta)]
		for j, th := range theta {
			r := au[j] - th*u[j]
			res[j] += r * r
		}
	}
	for j := range res {
		res[j] = math.Sqrt(res[j])
	}
	return res
}

// expand appends P to the basis, multiplies it by A, extends T, and makes
// the next P from the part of A*P outside the basis (block Lanczos).
func (s *lanczos) expand() error {
	n, b := s.n, s.b
	vb := cols(s.v, n, n+b)
	avb := cols(s.av, n, n+b)
	for i := 0; i < s.d; i++ {
		copy(vb.Data[i*s.m:i*s.m+b], s.p.Data[i*b:(i+1)*b])
	}
	s.gemm(blas.NoTrans, blas.NoTrans, 1, s.a, vb, 0, avb)
	s.matvec += b
	n += b
	s.n = n
	// C = V[:, :n]ᵀ A P is the new block column of T.
	c := rows(s.c, 0, n)
	s.gemm(blas.Trans, blas.NoTrans, 1, cols(s.v, 0, n), avb, 0, c)
	for i := 0; i < n-b; i++ {
		for j := 0; j < b; j++ {
			x := c.Data[i*b+j]
			s.t[i*s.m+n-b+j] = x
			s.t[(n-b+j)*s.m+i] = x
		}
	}
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			// The diagonal block PᵀAP, symmetrized.
			x := 0.5 * (c.Data[(n-b+i)*b+j] + c.Data[(n-b+j)*b+i])
			s.t[(n-b+i)*s.m+n-b+j] = x
		}
	}
	// First projection reuses C: P = A P - V C.
	for i := 0; i < s.d; i++ {
		copy(s.p.Data[i*b:(i+1)*b], avb.Data[i*s.m:i*s.m+b])
	}
	s.gemm(blas.NoTrans, blas.NoTrans, -1, cols(s.v, 0, n), c, 1, s.p)
	return s.orthonormalize(s.p, n)
}

// orthonormalize makes the columns of w orthonormal and orthogonal to
// V[:, :n]: block classical Gram-Schmidt repeated while projections
// cancel (DGKS), then SVQB twice. A direction that is numerically
// dependent is replaced by a random one.
func (s *lanczos) orthonormalize(w blas64.General, n int) error {
	norms := make([]float64, w.Cols)
	colNorms(w, norms)
	for range 8 {
		// Up to 3 projections; stop once no column lost more than
		// half its norm, i.e. w is orthogonal to V to working accuracy.
		for pass := 0; n > 0 && pass < 3; pass++ {
			before := append([]float64(nil), norms...)
			c := rows(s.c, 0, n)
			c.Cols, c.Stride = w.Cols, w.Cols
			s.gemm(blas.Trans, blas.NoTrans, 1, cols(s.v, 0, n), w, 0, c)
			s.gemm(blas.NoTrans, blas.NoTrans, -1, cols(s.v, 0, n), c, 1, w)
			colNorms(w, norms)
			ok := true
			for j := range norms {
				if norms[j] < 0.5*before[j] {
					ok = false
				}
			}
			if ok {
				break
			}
		}
		// A column that shrank to nothing (or underflows) carries no
		// direction: replace it and project again.
		replaced := false
		for j, x := range norms {
			if !(x > 1e-150) { // its square would underflow
				s.fillRandomCol(w, j)
				replaced = true
			}
		}
		if replaced {
			colNorms(w, norms)
			continue
		}
		// SVQB twice: the second pass restores orthogonality to
		// working accuracy after an ill-conditioned first one.
		if ok := s.svqb(w); ok {
			if ok = s.svqb(w); ok {
				return nil
			}
		}
		// Dependent directions inside the block: replace the columns
		// that are, and start over.
		if !s.replaceDependent(w) {
			break
		}
		colNorms(w, norms)
	}
	return fmt.Errorf("linalg: EigSymTop: could not orthonormalize a block of %d vectors against %d (d = %d)", w.Cols, n, s.d)
}

// svqb orthonormalizes the columns of w in place: with G = WᵀW, D =
// diag(G)^(-1/2) and D G D = U S Uᵀ, W <- W D U S^(-1/2). It reports
// false, leaving w unchanged, when the block is numerically rank
// deficient.
func (s *lanczos) svqb(w blas64.General) bool {
	b := w.Cols
	g := blas64.General{Rows: b, Cols: b, Stride: b, Data: make([]float64, b*b)}
	s.gemm(blas.Trans, blas.NoTrans, 1, w, w, 0, g)
	dinv := make([]float64, b)
	for i := range dinv {
		if !(g.Data[i*b+i] > 0) {
			return false
		}
		dinv[i] = 1 / math.Sqrt(g.Data[i*b+i])
	}
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			g.Data[i*b+j] *= dinv[i] * dinv[j]
		}
	}
	sv := make([]float64, b)
	if !syev(g.Data, b, sv) {
		return false
	}
	// Singular values of the column-scaled block below sqrt(1e-14)
	// relative mean the block has lost (almost) a dimension.
	if sv[0] < 1e-14*sv[b-1] {
		return false
	}
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			g.Data[i*b+j] *= dinv[i] / math.Sqrt(sv[j])
		}
	}
	tmp := blas64.General{Rows: w.Rows, Cols: b, Stride: b, Data: make([]float64, w.Rows*b)}
	s.gemm(blas.NoTrans, blas.NoTrans, 1, w, g, 0, tmp)
	for i := 0; i < w.Rows; i++ {
		copy(w.Data[i*w.Stride:i*w.Stride+b], tmp.Data[i*b:(i+1)*b])
	}
	return true
}

// replaceDependent runs modified Gram-Schmidt over the columns of w and
// replaces each column that loses almost all its norm by a random one.
// Rare (rank-deficient blocks), so plain loops suffice. It reports false
// if random columns keep coming out dependent, which cannot happen with
// finite data and n + b < d.
func (s *lanczos) replaceDependent(w blas64.General) bool {
	d, b, ld := w.Rows, w.Cols, w.Stride
	tries := 0
	for j := 0; j < b; j++ {
		before := colNorm(w, j)
		for range 2 {
			for i := 0; i < j; i++ {
				dot := 0.0
				for r := 0; r < d; r++ {
					dot += w.Data[r*ld+i] * w.Data[r*ld+j]
				}
				for r := 0; r < d; r++ {
					w.Data[r*ld+j] -= dot * w.Data[r*ld+i]
				}
			}
		}
		nrm := colNorm(w, j)
		if !(nrm > 1e-8*before) || !(nrm > 1e-150) {
			if tries++; tries > 4*b {
				return false
			}
			s.fillRandomCol(w, j)
			j-- // orthogonalize the new column against the previous ones
			continue
		}
		for r := 0; r < d; r++ {
			w.Data[r*ld+j] /= nrm
		}
	}
	return true
}

func colNorm(w blas64.General, j int) float64 {
	ss := 0.0
	for r := 0; r < w.Rows; r++ {
		x := w.Data[r*w.Stride+j]
		ss += x * x
	}
	return math.Sqrt(ss)
}

func colNorms(w blas64.General, dst []float64) {
	clear(dst)
	for r := 0; r < w.Rows; r++ {
		row := w.Data[r*w.Stride : r*w.Stride+w.Cols]
		for j, x := range row {
			dst[j] += x * x
		}
	}
	for j := range dst {
		dst[j] = math.Sqrt(dst[j])
	}
}

func (s *lanczos) fillRandom(w blas64.General) {
	for i := 0; i < w.Rows; i++ {
		row := w.Data[i*w.Stride : i*w.Stride+w.Cols]
		for j := range row {
			row[j] = s.rng.NormFloat64()
		}
	}
}

func (s *lanczos) fillRandomCol(w blas64.General, j int) {
	for i := 0; i < w.Rows; i++ {
		w.Data[i*w.Stride+j] = s.rng.NormFloat64()
	}
}
