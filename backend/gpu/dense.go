package gpu

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/linalg"
)

// The dense operations (kernels/dense.cl): Gemm, and EigSymTop, whose
// products run as Gemms on the device.

// gemmTile is GEMM_TILE: the side of a Gemm work-group's tile of C.
const gemmTile = 16

// gemmOp is one product c = alpha*op(a)*op(b) + beta*c on allocations: a
// is ar x ac and b br x bc, row-major and packed; c is op(a)'s rows by
// op(b)'s columns. upper computes only the tiles of c that meet its upper
// triangle.
type gemmOp struct {
	transA, transB bool
	alpha, beta    float64
	a, b, c        Mem
	ar, ac, br, bc int
	upper          bool
}

// gemm launches g, whose shapes the caller has checked.
func (be *Backend) gemm(g gemmOp) error {
	m, k := g.ar, g.ac
	if g.transA {
		m, k = k, m
	}
	n := g.bc
	if g.transB {
		n = g.br
	}
	if m == 0 || n == 0 {
		return nil
	}
	if g.alpha == 0 {
		k = 0 // BLAS: a and b are not read
	}
	if be.blas != nil && !g.upper && int64(m)*int64(n)*int64(k) >= blasMinWork {
		return be.blas.Gemm64(g.transA, g.transB, m, n, k, g.alpha, g.a, max(g.ac, 1), g.b, max(g.bc, 1), g.beta, g.c, n)
	}
	groups := [3]int{(m + gemmTile - 1) / gemmTile, (n + gemmTile - 1) / gemmTile, 1}
	var upper int32
	if g.upper {
		upper = 1
	}
	return be.launch("gemm_f64", groups, [3]int{gemmTile, gemmTile, 1},
		int32(m), int32(n), int32(k), boolInt32(g.transA), boolInt32(g.transB), g.alpha,
		g.a, int32(max(g.ac, 1)), g.b, int32(max(g.bc, 1)), g.beta, g.c, upper)
}

func boolInt32(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// Gemm computes c = alpha*op(a)*op(b) + beta*c on float64 matrices; when
// beta is 0, c is not read. The own kernel sums each element's terms in order;
// large products go to the vendor BLAS where there is one (see VendorBLAS).
func (be *Backend) Gemm(transA, transB bool, alpha float64, a, b backend.Dense, beta float64, c backend.Dense) error {
	m, ka := a.Rows, a.Cols
	if transA {
		m, ka = ka, m
	}
	kb, n := b.Rows, b.Cols
	if transB {
		kb, n = n, kb
	}
	if ka != kb || c.Rows != m || c.Cols != n || a.Rows < 0 || a.Cols < 0 || b.Rows < 0 || b.Cols < 0 {
		return fmt.Errorf("gpu: Gemm: %w: op(A) %d x %d times op(B) %d x %d into C %d x %d", backend.ErrShape, m, ka, kb, n, c.Rows, c.Cols)
	}
	for _, x := range []int{a.Rows, a.Cols, b.Rows, b.Cols} {
		if err := checkInt32("a dimension", x); err != nil {
			return fmt.Errorf("gpu: Gemm: %w", err)
		}
	}
	am, err := be.memOf("A.Data", a.Data, backend.Float64, a.Rows*a.Cols)
	if err != nil {
		return fmt.Errorf("gpu: Gemm: %w", err)
	}
	bm, err := be.memOf("B.Data", b.Data, backend.Float64, b.Rows*b.Cols)
	if err != nil {
		return fmt.Errorf("gpu: Gemm: %w", err)
	}
	cm, err := be.memOf("C.Data", c.Data, backend.Float64, m*n)
	if err != nil {
		return fmt.Errorf("gpu: Gemm: %w", err)
	}
	g := gemmOp{transA: transA, transB: transB, alpha: alpha, beta: beta,
		a: am, ar: a.Rows, ac: a.Cols, b: bm, br: b.Rows, bc: b.Cols, c: cm}
	if err := be.gemm(g); err != nil {
		return fmt.Errorf("gpu: Gemm: %w", err)
	}
	return nil
}

// The settings of the eigensolver, those of the CPU backend, so that both
// converge alike: EigSymTop's residual relative to the largest eigenvalue
// (eigTol), the seed of the random start (eigSeed), and the block of
// vectors per product, 8 while the matrix is at most 2,048 wide, else 16
// (linalg.EigSymTop's default).
const (
	eigTol        = 1e-7
	eigSeed       = 0x5cbe
	eigSmallBlock = 8
	eigLargeBlock = 16
	eigLargeDim   = 2048
)

// EigSymTop returns the k largest eigenvalues of the symmetric matrix a
// (upper triangle) in descending order, and their eigenvectors as the
// columns of a new n x k matrix, each with its largest-magnitude component
// (the first of equal ones) positive.
//
// It runs linalg's block Lanczos (EigSymTopOp) on the host with the
// products on the device: a stays there, mirrored once into a full
// symmetric copy, and each product uploads a block of vectors, multiplies
// (Gemm) and reads the result back.
func (be *Backend) EigSymTop(a backend.Dense, k int) ([]float64, backend.Dense, error) {
	return be.eigSymTop("EigSymTop", a, k, linalg.EigOptions{Tol: eigTol})
}

// EigSymTopTol is EigSymTop converged to a residual of tol relative to
// each eigenvalue, ||A v - lambda v|| <= tol*|lambda|, as the CPU
// backend's EigSymTopTol (package pipeline uses it when a backend has it).
func (be *Backend) EigSymTopTol(a backend.Dense, k int, tol float64) ([]float64, backend.Dense, error) {
	if !(tol > 0) {
		return nil, backend.Dense{}, fmt.Errorf("gpu: EigSymTopTol: tolerance %v is not positive", tol)
	}
	return be.eigSymTop("EigSymTopTol", a, k, linalg.EigOptions{Tol: tol, Relative: true})
}

func (be *Backend) eigSymTop(name string, a backend.Dense, k int, o linalg.EigOptions) ([]float64, backend.Dense, error) {
	n := a.Rows
	if a.Cols != n || n < 0 || k < 0 || k > n {
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w: %d eigenpairs of a %d x %d matrix", name, backend.ErrShape, k, a.Rows, a.Cols)
	}
	if err := checkInt32("the dimension", n); err != nil {
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w", name, err)
	}
	am, err := be.memOf("A.Data", a.Data, backend.Float64, n*n)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w", name, err)
	}
	if k == 0 {
		empty, err := be.allocRaw(backend.Float64, 0)
		if err != nil {
			return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w", name, err)
		}
		return []float64{}, backend.Dense{Rows: n, Cols: 0, Data: empty}, nil
	}
	vals, v, err := be.eigSolve(am, n, k, o)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s of a %d x %d matrix: %w", name, n, n, err)
	}
	out, err := be.allocRaw(backend.Float64, n*k)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w", name, err)
	}
	if err := be.rt.ToDevice(out.mem, 0, asBytes(v)); err != nil {
		out.Free()
		return nil, backend.Dense{}, fmt.Errorf("gpu: %s: %w", name, err)
	}
	return vals, backend.Dense{Rows: n, Cols: k, Data: out}, nil
}

// eigSolve returns the top k eigenpairs of the n x n matrix whose upper
// triangle is am's: the values and the n x k row-major vectors, signed.
func (be *Backend) eigSolve(am Mem, n, k int, o linalg.EigOptions) ([]float64, []float64, error) {
	var bufs []*buffer
	defer func() {
		for _, b := range bufs {
			b.Free()
		}
	}()
	alloc := func(elems int) (Mem, error) {
		b, err := be.allocRaw(backend.Float64, elems)
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, b)
		return b.mem, nil
	}
	full, err := alloc(n * n)
	if err != nil {
		return nil, nil, err
	}
	tiles := (n + gemmTile - 1) / gemmTile
	if err := be.launch("sym_from_upper", [3]int{tiles, tiles, 1}, [3]int{gemmTile, gemmTile, 1}, int32(n), am, full); err != nil {
		return nil, nil, err
	}
	bs := eigSmallBlock
	if n > eigLargeDim {
		bs = eigLargeBlock
	}
	in, err := alloc(n * bs)
	if err != nil {
		return nil, nil, err
	}
	out, err := alloc(n * bs)
	if err != nil {
		return nil, nil, err
	}
	host := make([]float64, n*bs)
	apply := func(dst, src blas64.General) error {
		w := src.Cols
		for i := 0; i < n; i++ {
			copy(host[i*w:(i+1)*w], src.Data[i*src.Stride:i*src.Stride+w])
		}
		if err := be.rt.ToDevice(in, 0, asBytes(host[:n*w])); err != nil {
			return err
		}
		g := gemmOp{alpha: 1, a: full, ar: n, ac: n, b: in, br: n, bc: w, c: out}
		if err := be.gemm(g); err != nil {
			return err
		}
		if dst.Stride == w {
			return be.rt.ToHost(asBytes(dst.Data[:n*w]), out, 0)
		}
		if err := be.rt.ToHost(asBytes(host[:n*w]), out, 0); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			copy(dst.Data[i*dst.Stride:i*dst.Stride+w], host[i*w:(i+1)*w])
		}
		return nil
	}
	o.BlockSize, o.Seed, o.BLAS = bs, eigSeed, linalg.NewGo(0)
	vals, vecs, err := linalg.EigSymTopOp(n, apply, k, &o)
	if err != nil {
		return nil, nil, err
	}
	v := make([]float64, n*k)
	for i := 0; i < n; i++ {
		copy(v[i*k:(i+1)*k], vecs.Data[i*vecs.Stride:i*vecs.Stride+k])
	}
	eigSignVectors(n, k, v)
	return vals, v, nil
}

// eigSignVectors flips each column of the n x k row-major matrix v so that its
// largest-magnitude component (the first of equal ones) is positive. linalg
// does too; it is kept here as the contract's.
func eigSignVectors(n, k int, v []float64) {
	for j := 0; j < k; j++ {
		best, at := -1.0, 0
		for i := 0; i < n; i++ {
			if x := math.Abs(v[i*k+j]); x > best {
				best, at = x, i
			}
		}
		if v[at*k+j] < 0 {
			for i := 0; i < n; i++ {
				v[i*k+j] = -v[i*k+j]
			}
		}
	}
}
