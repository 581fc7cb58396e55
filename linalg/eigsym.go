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
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// EigOptions configures EigSymTop and EigSymTopOp. The zero value, or
// nil, uses the defaults, which are documented per field.
type EigOptions struct {
	// BLAS runs the dense matrix products. nil: the Go engine when it has
	// an assembly kernel, else Default(). The products here are tall and
	// skinny (d x d times d x BlockSize), where the Go engine measured
	// 1.5-4x faster than OpenBLAS 0.3.21 (see doc.go).
	BLAS BLAS

	// Tol is the convergence test: every returned pair satisfies
	// ||A*v - lambda*v|| <= Tol * max|lambda| (or Tol * |lambda| with
	// Relative). 0: 1e-10. For an eigenvalue separated from the rest of
	// the spectrum by gap, the eigenvalue error is about
	// (Tol*max|lambda|)²/gap and the angle of the eigenvector
	// Tol*max|lambda|/gap.
	Tol float64

	// Relative makes Tol relative to each eigenvalue: ||A*v - lambda*v||
	// <= Tol * |lambda|, floored at 1e-12 * max|lambda| so that
	// eigenvalues near zero can converge. A PCA covariance's spectrum
	// spans decades: a residual of 1e-3 of the largest eigenvalue can be
	// 10% of the 100th, where one of 1e-3 of each eigenvalue bounds every
	// eigenvalue's relative error by 1e-3 (and in practice by its
	// square over the relative gap).
	Relative bool

	// BlockSize is the number of vectors A multiplies at once. 0: 8
	// while A fits in a 32 MiB cache (d <= 2048), else 16 (EigSymTop);
	// 8 (EigSymTopOp). Smaller blocks need fewer products in all (the
	// Krylov space grows in finer steps); larger ones keep the product
	// from being bound by memory bandwidth once A no longer fits in
	// cache.
	BlockSize int

	// MaxBasis is the largest basis before a restart. 0: k + max(1.5k,
	// 4*BlockSize), rounded up to whole blocks after k.
	MaxBasis int

	// MaxMatVecs bounds the number of matrix-vector products (a block
	// product counts BlockSize). 0: 200*MaxBasis.
	MaxMatVecs int

	// Seed seeds the random start block; a fixed seed makes the result
	// reproducible.
	Seed uint64

	// Float32 runs EigSymTop's Lanczos products with a copy of A rounded
	// to float32 (half the memory traffic, twice the SIMD lanes), then
	// refines the k pairs by one Rayleigh-Ritz step with A itself, in
	// float64, and checks their residuals against Tol there. A product in
	// float32 is accurate to about 1e-6 of ||A||, so this suits a
	// tolerance well above that, such as PCA's 1e-3 of each eigenvalue;
	// where the refined pairs miss Tol (a tolerance too fine for float32),
	// EigSymTop solves again in float64. It costs a float32 copy of A
	// (d² * 4 bytes) and k more products in float64. It needs the AVX2 or
	// AVX-512 kernels: without them (other architectures, the noasm build)
	// it is ignored, the portable float32 kernel being slower than the
	// float64 engine. EigSymTopOp ignores it.
	Float32 bool

	// Info, when not nil, receives counts of the work done.
	Info *EigInfo
}

// EigInfo reports what EigSymTop did.
type EigInfo struct {
	Full      bool    // solved by the dense eigendecomposition
	Float32   bool    // the pairs came from float32 products, refined in float64 (EigOptions.Float32)
	MatVecs   int     // matrix-vector products with A
	Restarts  int     // Rayleigh-Ritz extractions
	BlockSize int     // vectors per product
	MaxBasis  int     // basis size at a restart
	Residual  float64 // max ||A*v - lambda*v|| / max|lambda| (Relative: / |lambda|) over the k returned pairs
	// Flops counts floating-point operations in dense matrix products (2mnk
	// each), the products with A included for EigSymTop; for EigSymTopOp
	// the products with A are the caller's and not counted.
	Flops float64
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
// others use thick-restart block Lanczos (see doc.go), through
// EigSymTopOp with a product by a.
func EigSymTop(a blas64.General, k int, opts *EigOptions) ([]float64, blas64.General, error) {
	d := a.Rows
	if a.Cols != d {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: matrix is %dx%d, not square", a.Rows, a.Cols)
	}
	if d > 0 && (a.Stride < d || len(a.Data) < (d-1)*a.Stride+d) {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: %dx%d matrix with stride %d has %d elements", d, d, a.Stride, len(a.Data))
	}
	o := eigDefaults(opts)
	if o.BlockSize <= 0 {
		o.BlockSize = 8
		if d > 2048 {
			o.BlockSize = 16
		}
	}
	if o.Float32 && singleFast() && k > 0 && k <= d && !fullFactorApplies(d, k, o) {
		// The float32 copy checks that A is finite on the way.
		if vals, vecs, ok := eigSymTopFloat32(a, k, o); ok {
			return vals, vecs, nil
		}
	}
	for i := 0; i < d; i++ {
		for j, x := range a.Data[i*a.Stride : i*a.Stride+d] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: matrix element (%d, %d) is %v", i, j, x)
			}
		}
	}
	op := operator{
		d:     d,
		dense: &a,
		apply: func(dst, src blas64.General) error {
			o.BLAS.Dgemm(blas.NoTrans, blas.NoTrans, 1, a, src, 0, dst)
			return nil
		},
		flops: 2 * float64(d) * float64(d),
	}
	return eigSymTop(op, k, o)
}

// eigSymTopFloat32 is EigSymTop with float32 products (EigOptions.Float32)
// and a float64 Rayleigh-Ritz step, for a k that Lanczos takes (see
// fullFactorApplies). ok is false, and nothing is returned, when A is not
// finite in float32, the solve failed, or the refined pairs miss the
// tolerance: the caller then checks A and solves in float64.
func eigSymTopFloat32(a blas64.General, k int, o EigOptions) (vals []float64, vecs blas64.General, ok bool) {
	threads := 0
	if g, isGo := o.BLAS.(*Go); isGo {
		threads = g.nthreads()
	}
	single, finite := newSingleOp(a, threads)
	if !finite {
		return nil, blas64.General{}, false
	}
	d := a.Rows
	op := operator{d: d, dense: &a, apply: single.apply, flops: 2 * float64(d) * float64(d)}
	tol := o.Tol
	if tol == 0 {
		tol = 1e-10
	}
	info := o.Info
	if info == nil {
		info = new(EigInfo)
	}
	// The Lanczos run stops at 0.9 tol: the rounding of A adds to each
	// residual (about in quadrature), and a refined pair just over tol
	// would cost a whole float64 solve.
	o.Tol, o.Info = 0.9*tol, info
	_, v, err := eigSymTop(op, k, o)
	if err != nil || info.Full {
		return nil, blas64.General{}, false
	}
	vals, vecs, res := refineRitz(o.BLAS, a, v, o.Relative)
	info.MatVecs += k
	info.Flops += 2*float64(a.Rows)*float64(a.Rows)*float64(k) + 6*float64(a.Rows)*float64(k)*float64(k)
	info.Residual = res
	if !(res <= tol) {
		return nil, blas64.General{}, false
	}
	info.Float32 = true
	flipSigns(vecs)
	return vals, vecs, true
}

// refineRitz returns the Rayleigh-Ritz pairs of the symmetric a on the
// span of v's orthonormal columns (values descending, vectors d x k) and
// the largest residual ||a x - θ x||, relative to |θ| (floored at 1e-12
// of the largest) when relative, else to the largest |θ|.
func refineRitz(e BLAS, a, v blas64.General, relative bool) ([]float64, blas64.General, float64) {
	d, k := v.Rows, v.Cols
	gen := func(r, c int) blas64.General {
		return blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	}
	av := gen(d, k)
	e.Dgemm(blas.NoTrans, blas.NoTrans, 1, a, v, 0, av)
	h := gen(k, k)
	e.Dgemm(blas.Trans, blas.NoTrans, 1, v, av, 0, h)
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			x := 0.5 * (h.Data[i*k+j] + h.Data[j*k+i])
			h.Data[i*k+j], h.Data[j*k+i] = x, x
		}
	}
	theta := make([]float64, k)
	if !syev(h.Data, k, theta) {
		return nil, blas64.General{}, math.Inf(1)
	}
	// Descending: reverse the columns of Y (h) and the values.
	for i := 0; i < k; i++ {
		slices.Reverse(h.Data[i*k : (i+1)*k])
	}
	slices.Reverse(theta)
	x, ax := gen(d, k), gen(d, k)
	e.Dgemm(blas.NoTrans, blas.NoTrans, 1, v, h, 0, x)
	e.Dgemm(blas.NoTrans, blas.NoTrans, 1, av, h, 0, ax)
	scale := 0.0
	for _, t := range theta {
		scale = math.Max(scale, math.Abs(t))
	}
	worst := 0.0
	for j := 0; j < k; j++ {
		ss := 0.0
		for i := 0; i < d; i++ {
			r := ax.Data[i*k+j] - theta[j]*x.Data[i*k+j]
			ss += r * r
		}
		div := scale
		if relative {
			div = math.Max(math.Abs(theta[j]), 1e-12*scale)
		}
		res := math.Sqrt(ss)
		if div > 0 {
			res /= div
		}
		worst = math.Max(worst, res)
	}
	return theta, x, worst
}

// EigSymTopOp is EigSymTop for a symmetric d x d matrix A given by its
// product: apply(dst, src) must set dst = A*src, where src is a d x b
// block (b <= BlockSize; a view into a larger matrix: use its Stride) that
// apply must not change, and dst a d x b matrix with Stride b. It suits a
// matrix that is cheaper to apply than to form, such as a covariance
// (ZᵀZ - n*mu*muᵀ)/(n-1) of a sparse Z. An error from apply ends the
// solve and is returned, wrapped; so is a product with a NaN or an
// infinity. With no BlockSize given it is 8.
//
// Small problems (k close to d) form A from d products with the identity
// and use the dense eigensolver.
func EigSymTopOp(d int, apply func(dst, src blas64.General) error, k int, opts *EigOptions) ([]float64, blas64.General, error) {
	if d < 0 {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTopOp: negative dimension %d", d)
	}
	if apply == nil {
		return nil, blas64.General{}, errors.New("linalg: EigSymTopOp: nil apply")
	}
	o := eigDefaults(opts)
	if o.BlockSize <= 0 {
		o.BlockSize = 8
	}
	return eigSymTop(operator{d: d, apply: apply}, k, o)
}

// operator is the matrix of an eigenproblem: its product, and the matrix
// itself when there is one (for the dense solver).
type operator struct {
	d     int
	apply func(dst, src blas64.General) error
	dense *blas64.General // nil: form it from products when needed
	flops float64         // per matrix-vector product, counted in EigInfo.Flops
}

// eigDefaults fills in the defaults shared by both entry points.
func eigDefaults(opts *EigOptions) EigOptions {
	var o EigOptions
	if opts != nil {
		o = *opts
	}
	if o.BLAS == nil {
		if g := NewGo(0); g.kname != "generic" {
			o.BLAS = g
		} else {
			o.BLAS = Default()
		}
	}
	return o
}

func eigSymTop(op operator, k int, o EigOptions) ([]float64, blas64.General, error) {
	d := op.d
	if k < 0 || k > d {
		return nil, blas64.General{}, fmt.Errorf("linalg: EigSymTop: k = %d out of range [0, %d]", k, d)
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
	m := basisSize(k, o)
	if fullFactorApplies(d, k, o) {
		info.Full = true
		a := op.dense
		if a == nil {
			full, err := formDense(op, b)
			if err != nil {
				return nil, blas64.General{}, err
			}
			a = &full
		}
		return eigSymFull(*a, k)
	}
	maxMV := o.MaxMatVecs
	if maxMV <= 0 {
		maxMV = 200 * m
	}
	info.BlockSize, info.MaxBasis = b, m
	s := newLanczos(o.BLAS, op, k, b, m, o.Seed)
	vals, vecs, err := s.run(o.Tol, o.Relative, maxMV, info)
	if vecs.Data != nil {
		flipSigns(vecs)
	}
	return vals, vecs, err
}

// basisSize is the Lanczos basis size at a restart (EigOptions.MaxBasis).
func basisSize(k int, o EigOptions) int {
	b := o.BlockSize
	m := o.MaxBasis
	if m <= 0 {
		m = k + max(k+k/2, 4*b)
	}
	m = max(m, k+b)
	return k + roundUp(m-k, b) // whole blocks after the kept k
}

// fullFactorApplies reports whether eigSymTop would use the dense solver
// for k pairs of a d x d matrix: when the Lanczos basis would exceed
// d/fullFactor.
func fullFactorApplies(d, k int, o EigOptions) bool {
	return fullFactor*basisSize(k, o) > d
}

// formDense returns the matrix of op from its products with the columns of
// the identity, b at a time, symmetrized (the mean of A and Aᵀ: products
// may differ from exact symmetry by rounding).
func formDense(op operator, b int) (blas64.General, error) {
	d := op.d
	a := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, d*d)}
	id := blas64.General{Rows: d, Cols: b, Stride: b, Data: make([]float64, d*b)}
	out := blas64.General{Rows: d, Cols: b, Stride: b, Data: make([]float64, d*b)}
	for j0 := 0; j0 < d; j0 += b {
		w := min(b, d-j0)
		src := blas64.General{Rows: d, Cols: w, Stride: b, Data: id.Data}
		dst := blas64.General{Rows: d, Cols: w, Stride: w, Data: out.Data[:d*w]}
		clear(id.Data)
		for c := 0; c < w; c++ {
			id.Data[(j0+c)*b+c] = 1
		}
		if err := applyChecked(op, dst, src); err != nil {
			return blas64.General{}, err
		}
		for i := 0; i < d; i++ {
			copy(a.Data[i*d+j0:i*d+j0+w], dst.Data[i*w:(i+1)*w])
		}
	}
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			x := 0.5 * (a.Data[i*d+j] + a.Data[j*d+i])
			a.Data[i*d+j], a.Data[j*d+i] = x, x
		}
	}
	return a, nil
}

// applyChecked runs op's product and checks that it is finite.
func applyChecked(op operator, dst, src blas64.General) error {
	if err := op.apply(dst, src); err != nil {
		return fmt.Errorf("linalg: EigSymTop: product with A: %w", err)
	}
	if op.dense != nil {
		return nil // the matrix was checked
	}
	for i := 0; i < dst.Rows; i++ {
		for j, x := range dst.Data[i*dst.Stride : i*dst.Stride+dst.Cols] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("linalg: EigSymTop: product with A has %v at (%d, %d)", x, i, j)
			}
		}
	}
	return nil
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

// qlMin is the size from which syev uses syevQL.
const qlMin = 32

// syev overwrites the n x n row-major symmetric z (upper triangle read)
// with its eigenvectors (columns) and w with the eigenvalues, ascending.
// From n = qlMin on it uses syevQL (twice as fast as Dsyev at n = 200).
func syev(z []float64, n int, w []float64) bool {
	if n >= qlMin {
		return syevQL(z, n, w)
	}
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

// lanczos is the state of one EigSymTop run. The basis is stored as Vᵀ
// (its rows orthonormal). T = Vᵀ*A*V is kept explicitly, each block column
// taken as the block P joins the basis.
//
// A*V itself is not stored. With full reorthogonalization the part of A*V
// outside the basis is the newest product's, (I - VVᵀ)*A*P_last = P*R with
// P the pending block and R = Pᵀ*(A*P_last), so a Ritz pair (θ, V*y) has
// the residual norm ||R*y_last|| (y_last: y's entries on the last block)
// and a restart needs only V*Y, not A*V*Y.
type lanczos struct {
	e       BLAS
	op      operator
	d, k, b int
	m       int
	rng     *rand.Rand

	// vt holds the basis as rows: Vᵀ, m x d. Both products of a step
	// with the basis read it in place (Vᵀ X row by row, V C by columns of
	// six contiguous elements), so V itself is not kept: at d = 5,000 and
	// m = 252 each copy is 10 MB, and V, Vᵀ, a scratch copy and PCA's
	// sparse matrix outgrew the 32 MB L3 cache. ut is the scratch for the
	// Ritz vectors at a restart (swapped with vt).
	vt, ut blas64.General
	t      []float64      // m x m, row-major, both triangles
	p      blas64.General // d x b: next block, orthonormal, ⟂ V
	ap     blas64.General // d x b: A times the newest block of V
	r      []float64      // b x b: Pᵀ*(A*P_last), the coupling to the pending block
	c      blas64.General // m x b scratch: projection coefficients
	// svqb's scratch: Gram matrix, scales, singular values, product.
	svG, svD, svS, svT []float64
	// Scratch of the block products (eigsym_block.go): packed panels and
	// one tile per worker.
	panel    []float64
	tile     [][mr * nr]float64
	n        int // columns of V in use
	restartN int // columns of V after the last restart (0 before any)
	matvec   int
	flops    float64
}

func newLanczos(e BLAS, op operator, k, b, m int, seed uint64) *lanczos {
	d := op.d
	gen := func(r, c int) blas64.General {
		return blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	}
	// Vᵀ has mr spare rows, which the block products' micro-kernel may
	// read past the last row (the results are dropped).
	spare := func(r, c int) blas64.General {
		return blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, (r+mr)*c)}
	}
	return &lanczos{
		e: e, op: op, d: d, k: k, b: b, m: m,
		rng: rand.New(rand.NewPCG(seed, 0x5eed_b10c_1a2c_2057)),
		vt:  spare(m, d), ut: spare(m, d), t: make([]float64, m*m),
		p: gen(d, b), ap: gen(d, b), r: make([]float64, b*b), c: gen(m, b),
		svG: make([]float64, b*b), svD: make([]float64, b), svS: make([]float64, b), svT: make([]float64, d*b),
		tile: make([][mr * nr]float64, 1),
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

// rows returns rows [i0, i1) of g as a General view.
func rows(g blas64.General, i0, i1 int) blas64.General {
	return blas64.General{Rows: i1 - i0, Cols: g.Cols, Stride: g.Stride, Data: g.Data[i0*g.Stride:]}
}

func (s *lanczos) run(tol float64, relative bool, maxMV int, info *EigInfo) ([]float64, blas64.General, error) {
	d, k, b := s.d, s.k, s.b
	s.fillRandom(s.p)
	if err := s.orthonormalize(s.p, 0); err != nil {
		return nil, blas64.General{}, err
	}
	theta := make([]float64, s.m)
	y := make([]float64, s.m*s.m)
	res := make([]float64, k)
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
		// Residual norms ||R y_last||, y_last the rows of Y on the
		// newest block.
		scale := math.Max(math.Abs(theta[0]), math.Abs(theta[n-1]))
		worst := 0.0
		for j := 0; j < k; j++ {
			ss := 0.0
			for a := 0; a < b; a++ {
				x := 0.0
				for c := 0; c < b; c++ {
					x += s.r[a*b+c] * y[(n-b+c)*n+j]
				}
				ss += x * x
			}
			res[j] = math.Sqrt(ss)
			div := scale
			if relative {
				div = math.Max(math.Abs(theta[j]), 1e-12*scale)
			}
			if div > 0 {
				worst = math.Max(worst, res[j]/div)
			} else {
				worst = math.Max(worst, res[j])
			}
		}
		info.MatVecs, info.Residual, info.Flops = s.matvec, worst, s.flops
		if worst <= tol || s.matvec >= maxMV {
			vals := append([]float64(nil), theta[:k]...)
			vecs := blas64.General{Rows: d, Cols: k, Stride: k, Data: make([]float64, d*k)}
			s.gemm(blas.Trans, blas.NoTrans, 1, rows(s.vt, 0, n), blas64.General{Rows: n, Cols: k, Stride: n, Data: y}, 0, vecs)
			info.Flops = s.flops
			if worst > tol {
				return vals, vecs, fmt.Errorf("%w: residual %.3g > tol %.3g after %d matrix-vector products (d = %d, k = %d); raise MaxMatVecs or Tol", ErrNotConverged, worst, tol, s.matvec, d, k)
			}
			return vals, vecs, nil
		}
		// Thick restart: keep the leading Ritz vectors as the new basis
		// (T becomes diagonal). P stays valid: it is orthogonal to the
		// old basis and so to its subspace.
		keep := s.keep()
		yk := blas64.General{Rows: n, Cols: keep, Stride: n, Data: y}
		s.gemm(blas.Trans, blas.NoTrans, 1, yk, rows(s.vt, 0, n), 0, rows(s.ut, 0, keep))
		s.vt, s.ut = s.ut, s.vt
		clear(s.t)
		for i := 0; i < keep; i++ {
			s.t[i*s.m+i] = theta[i]
		}
		s.n = keep
		s.restartN = keep
	}
}

// keep is the number of Ritz vectors kept at a restart: the k wanted and
// one block more. Keeping half the room (Wu & Simon's choice) needed as
// many products or more on PCA covariances (k = 100: 704 against 680 at
// d = 5,000 on synth5k, 1040 against 968 at 100,000 cells) and two to
// three times the restarts, each a product V Y and a Rayleigh-Ritz.
func (s *lanczos) keep() int {
	room := (s.m - s.k) / s.b
	if room >= 2 {
		return s.k + s.b
	}
	return s.k
}

// expand appends P to the basis, multiplies it by A, extends T, and makes
// the next P from the part of A*P outside the basis (block Lanczos).
func (s *lanczos) expand() error {
	n, b := s.n, s.b
	transpose(rows(s.vt, n, n+b), s.p)
	if err := applyChecked(s.op, s.ap, s.p); err != nil {
		return err
	}
	s.flops += float64(b) * s.op.flops
	s.matvec += b
	// The new block column of T is Vᵀ A P. A P has components only along
	// the blocks it couples to: the previous block and P itself, and
	// right after a restart (or at the start) every kept Ritz vector (the
	// arrow of a thick restart). Elsewhere they are rounding errors, which
	// the full reorthogonalization below removes from P; T takes the
	// local coefficients, as block Lanczos does.
	lo := n - b
	if n == s.restartN {
		lo = 0
	}
	n += b
	s.n = n
	lo = max(lo, 0)
	c := blas64.General{Rows: n - lo, Cols: b, Stride: b, Data: s.c.Data[:(n-lo)*b]}
	s.projCoef(lo, n, s.ap, c)
	for i := lo; i < n-b; i++ {
		for j := 0; j < b; j++ {
			x := c.Data[(i-lo)*b+j]
			s.t[i*s.m+n-b+j] = x
			s.t[(n-b+j)*s.m+i] = x
		}
	}
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			// The diagonal block PᵀAP, symmetrized.
			x := 0.5 * (c.Data[(n-b-lo+i)*b+j] + c.Data[(n-b-lo+j)*b+i])
			s.t[(n-b+i)*s.m+n-b+j] = x
		}
	}
	// The local projection P = A P - V[:, lo:n] C takes out the large
	// components; orthonormalize then projects against the whole basis
	// (classical Gram-Schmidt, repeated while a pass cancels more than
	// half of a column, DGKS), which makes the pair a CGS2.
	copy(s.p.Data, s.ap.Data)
	s.subtractProj(lo, n, c, s.p)
	if err := s.orthonormalize(s.p, n); err != nil {
		return err
	}
	// R = Pᵀ (A P_last): the residual's coefficients (see lanczos).
	s.gemm(blas.Trans, blas.NoTrans, 1, s.p, s.ap, 0, blas64.General{Rows: b, Cols: b, Stride: b, Data: s.r})
	return nil
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
			s.projCoef(0, n, w, c)
			s.subtractProj(0, n, c, w)
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
	g := blas64.General{Rows: b, Cols: b, Stride: b, Data: s.svG[:b*b]}
	s.gemm(blas.Trans, blas.NoTrans, 1, w, w, 0, g)
	dinv := s.svD[:b]
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
	sv := s.svS[:b]
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
	tmp := blas64.General{Rows: w.Rows, Cols: b, Stride: b, Data: s.svT[:w.Rows*b]}
	s.gemm(blas.NoTrans, blas.NoTrans, 1, w, g, 0, tmp)
	copyRows(w, tmp)
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

// transpose sets dst = srcᵀ (dst is src.Cols x src.Rows), in tiles that
// stay in cache.
func transpose(dst, src blas64.General) {
	const tile = 32
	for i0 := 0; i0 < src.Rows; i0 += tile {
		i1 := min(i0+tile, src.Rows)
		for j0 := 0; j0 < src.Cols; j0 += tile {
			j1 := min(j0+tile, src.Cols)
			for i := i0; i < i1; i++ {
				row := src.Data[i*src.Stride+j0 : i*src.Stride+j1]
				for j, x := range row {
					dst.Data[(j0+j)*dst.Stride+i] = x
				}
			}
		}
	}
}

// copyRows copies the rows of src into those of dst (same shape, any
// strides). Rows of 8 (the block size) are copied as arrays: a call to
// memmove per 64 bytes cost more than the copy.
func copyRows(dst, src blas64.General) {
	if src.Cols == 8 {
		for i := 0; i < src.Rows; i++ {
			*(*[8]float64)(dst.Data[i*dst.Stride:]) = *(*[8]float64)(src.Data[i*src.Stride:])
		}
		return
	}
	for i := 0; i < src.Rows; i++ {
		copy(dst.Data[i*dst.Stride:i*dst.Stride+src.Cols], src.Data[i*src.Stride:i*src.Stride+src.Cols])
	}
}
