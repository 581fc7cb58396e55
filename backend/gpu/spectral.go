package gpu

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// The spectral initialization of UMAP (kernels/spectral.cl):
// backend.SpectralEmbedder.
//
// The eigenvectors wanted are the largest of M = D^-1/2 W D^-1/2 after
// the trivial one u0 = D^1/2 1 / ||D^1/2 1||, as the graph package finds
// them on the host (graph/spectral.go: thick-restart Lanczos on the
// complement of u0, ARPACK's convergence rule). Here the iteration is a
// block Lanczos with thick restarts (the block Krylov-Schur method; Zhou
// & Saad 2008 for the block version of Wu & Simon's restart): blocks of
// b = 4 vectors, a basis of 48, full reorthogonalization. The graph goes
// to the device once, with the entries of M computed there in float64
// (spec_values); the basis never leaves it. Per block step:
//
//   - W = M V_j (spec_spmm): float64 values and vectors, float64 sums.
//     The vectors must be float64: the basis is kept orthogonal to
//     working precision by Gram-Schmidt, which float32 vectors would cap
//     at 1e-7, and the Ritz residual estimate relies on it. A cell's b
//     values are one 32-byte sector, so a block of 4 costs about what
//     one vector does to gather.
//   - Orthogonalization against u0 and the basis, in passes of block
//     classical Gram-Schmidt whose inner products (spec_dots, then
//     spec_reduce in a fixed order) include the block's own Gram matrix
//     G. The host reads them (one round trip), forms G - CᵀC (the Gram
//     matrix after the projection, by Pythagoras) and orthonormalizes it
//     by SVQB (Stathopoulos & Wu 2002: the eigendecomposition of the
//     scaled b x b Gram matrix), and spec_update applies the projection
//     and the b x b transformation in one pass over the rows. A second
//     pass repeats it ("twice is enough"); it is the last when its
//     corrections are below 1e-10, which they are unless the projection
//     cancelled most of W. Where the Pythagorean Gram matrix has lost
//     its digits (W mostly in the basis) a pass only projects; a
//     direction that vanishes (the Krylov space is invariant) is replaced
//     by a random one, with no coupling to the basis. Typically two
//     round trips a step.
//   - The host assembles the projected matrix H (48 x 48) from the
//     coefficients; at the end of a cycle it takes H's Ritz pairs, judges
//     convergence as ARPACK does (||M y - theta y|| = ||R_m s_m|| <=
//     tol |theta|, the residual block's coupling times the last block of
//     the Ritz vector's coordinates), and restarts with the best half of
//     the Ritz vectors (spec_combine, into a second basis buffer) plus
//     the residual block.
//
// The start is uniform random from the seed by an integer hash
// (spec_random), the same on every device; every sum has a fixed order,
// so a run is deterministic for a seed on a device, whatever its
// work-group size. Blocks converge in more products than single vectors
// (on scanpy's graphs at tolerance 1e-4, 108 against the host's 64 on
// synth5k's 4,891 cells, 188 against 95 on brain10k's 9,889; 208 against
// 126 on a 100,000-cell graph of blobs) but in a quarter of the steps,
// each of which costs a few launches and two round trips whatever its
// size.
//
// # Cost at 1 million cells, 20 entries a row
//
// A step: spec_spmm reads 20M indices and float64 values (240 MB) and
// gathers 20M rows of 32 bytes (640 MB, from L2, where the 32 MB slab
// fits): about 0.1 ms at the H200's 4.8 TB/s. Each of the two passes
// reads the block and up to 13 slabs of 32 MB twice (spec_dots, then
// spec_update): about 0.8 GB, 0.17 ms; spec_reduce adds the 1,024
// groups' partials. Two round trips, a few tens of microseconds, and
// about ten launches. So about 0.5 ms a step, 25 ms for the 52 steps of
// the 100,000-cell graph above. A restart (spec_combine) reads the 13
// slabs for each of the 7 it writes: up to 3 GB, under 1 ms. Memory: two
// bases of 14 slabs, 900 MB, and the graph's 12 bytes an entry.

// The iteration's settings.
const (
	specBlock     = 4  // vectors per block
	specBasis     = 48 // basis vectors per cycle, at least
	specMaxPasses = 6  // orthogonalization passes a step, at most
	// specOrthTol: a pass whose corrections (inner products with the
	// basis, deviation of the Gram matrix from I) are below this is the
	// last.
	specOrthTol = 1e-10
	// specCancel: a pass only projects when the Pythagorean Gram matrix
	// keeps less than this fraction of a column's squared norm.
	specCancel = 1e-8
	// specDropNorm, specDropCond: a direction is replaced by a random one
	// when its squared norm after projection is below specDropNorm (M has
	// norm 1, the basis vectors 1: the host's Lanczos breakdown at 1e-12)
	// or its eigenvalue in the scaled Gram matrix below specDropCond.
	specDropNorm = 1e-24
	specDropCond = 1e-12
	// specDotGroups is the most work-groups of spec_dots, each over at
	// least specDotRows rows; specDotLocal their size.
	specDotGroups = 1024
	specDotRows   = 256
	specDotLocal  = 256
	// specRedLocal is SPEC_RED_LOCAL, specUpdateLocal SPEC_UPDATE_LOCAL.
	specRedLocal    = 64
	specUpdateLocal = 256
)

var _ backend.SpectralEmbedder = (*Backend)(nil)

// SpectralEigenmap returns the dim eigenvectors of the connected graph g's
// normalized adjacency M = D^-1/2 W D^-1/2 with the largest eigenvalues
// after the trivial one (see backend.SpectralEmbedder), n x dim,
// row-major, found by a block Lanczos iteration on the device.
func (be *Backend) SpectralEigenmap(g *sparse.CSR, dim int, seed uint64, tol float64) ([]float64, backend.SpectralResult, error) {
	var res backend.SpectralResult
	if g == nil {
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: %w: nil graph", backend.ErrShape)
	}
	if err := g.Validate(); err != nil {
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: %w: %w", backend.ErrShape, err)
	}
	n := g.Rows
	switch {
	case g.Cols != n:
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: %w: graph is %d x %d, want square", backend.ErrShape, n, g.Cols)
	case dim < 1 || n < dim+3:
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: %w: %d eigenvectors of a graph of %d cells (want at least dim + 3 cells)",
			backend.ErrShape, dim, n)
	case !(tol > 0):
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: tolerance %v is not positive", tol)
	case n > math.MaxInt32:
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: %w: %d cells do not fit int32", backend.ErrShape, n)
	}
	if be.rt.MaxLocal() < specRedLocal {
		return nil, res, fmt.Errorf("gpu: SpectralEigenmap: the device's work-groups of %d work-items are below the %d it needs",
			be.rt.MaxLocal(), specRedLocal)
	}
	s := &specRun{knnRun: knnRun{be: be}, n: n, nev: dim, seed: seed, tol: tol}
	defer s.free()
	vecs, err := s.run(g)
	s.res.Matvecs = s.matvecs
	s.res.Restarts = s.restarts
	if err != nil {
		return nil, s.res, fmt.Errorf("gpu: SpectralEigenmap: %w", err)
	}
	return vecs, s.res, nil
}

// specShape returns the block size, the basis size and the Ritz vectors
// kept at a restart for nev eigenvectors of a graph of n cells: blocks of
// specBlock unless the graph is too small for three of them past the
// kept vectors, a basis of specBasis (or twice nev and two blocks) that,
// with the residual block, spans at most the n - 1 dimensions orthogonal
// to u0, about half of it kept, in whole blocks. ok is false when not even
// blocks of one vector fit.
func specShape(n, nev int) (b, m, keep int, ok bool) {
	for _, b := range []int{specBlock, 2, 1} {
		kmin := roundUp(nev, b)
		m := max(specBasis, roundUp(2*nev, b)+2*b)
		m = min(m, (n-1-b)/b*b)
		if m < kmin+b {
			continue
		}
		keep := min(roundUp(nev+(m-nev)/2, b), m-b)
		return b, m, max(keep, kmin), true
	}
	return 0, 0, 0, false
}

func roundUp(x, b int) int { return (x + b - 1) / b * b }

// specRun is one eigensolve: its allocations (knnRun's list), device
// operands and counters.
type specRun struct {
	knnRun
	n, nev         int
	seed           uint64
	tol            float64
	b, m, keep     int
	slabs          int // slabs of a basis buffer: m/b, the residual block, the random scratch
	ptr, idx, mval Mem
	u0             Mem
	v              [2]Mem // the basis and the restart's target
	cur            int    // v[cur] is the basis
	part, dots     Mem    // spec_dots's partial sums and their totals
	par, smat      Mem    // spec_update's T and mask; spec_combine's S
	groups, rpg    int
	hostDots       []float64
	draws          uint64 // random blocks drawn
	matvecs        int
	restarts       int
	res            backend.SpectralResult
}

// run uploads g and iterates.
func (s *specRun) run(g *sparse.CSR) ([]float64, error) {
	n := s.n
	var ok bool
	if s.b, s.m, s.keep, ok = specShape(n, s.nev); !ok {
		return nil, fmt.Errorf("%w: %d cells are too few for %d eigenvectors", backend.ErrShape, n, s.nev)
	}
	b := s.b
	s.slabs = s.m/b + 2

	// Degrees, as the host computes them: float64 sums of the float32
	// weights.
	dinv := make([]float64, n)
	u0 := make([]float64, n)
	var total float64
	for i := 0; i < n; i++ {
		_, vals := g.Row(i)
		var d float64
		for _, v := range vals {
			d += float64(v)
		}
		if !(d > 0) || math.IsInf(d, 1) {
			return nil, fmt.Errorf("cell %d has degree %v (want positive and finite: a connected graph)", i, d)
		}
		dinv[i] = 1 / math.Sqrt(d)
		u0[i] = math.Sqrt(d)
		total += d
	}
	norm := math.Sqrt(total)
	for i := range u0 {
		u0[i] /= norm
	}
	nnz := len(g.Data)
	var err error
	if s.ptr, err = s.upload("the row pointers", backend.Int64, asBytes(g.Indptr), n+1); err != nil {
		return nil, err
	}
	if s.idx, err = s.upload("the column indices", backend.Int32, asBytes(g.Indices), nnz); err != nil {
		return nil, err
	}
	data, err := s.upload("the weights", backend.Float32, asBytes(g.Data), nnz)
	if err != nil {
		return nil, err
	}
	dm, err := s.upload("the inverse square roots of the degrees", backend.Float64, asBytes(dinv), n)
	if err != nil {
		return nil, err
	}
	if s.mval, err = s.alloc("the entries of M", backend.Float64, nnz); err != nil {
		return nil, err
	}
	if err := s.be.launch1D("spec_values", int64(n), localSize, int32(n), s.ptr, s.idx, data, dm, s.mval); err != nil {
		return nil, err
	}
	s.release(data)
	s.release(dm)
	if s.u0, err = s.upload("u0", backend.Float64, asBytes(u0), n); err != nil {
		return nil, err
	}
	for i := range s.v {
		if s.v[i], err = s.alloc("the Krylov basis", backend.Float64, s.slabs*n*b); err != nil {
			return nil, err
		}
	}
	s.groups = min(specDotGroups, (n+specDotRows-1)/specDotRows)
	s.rpg = (n + s.groups - 1) / s.groups
	s.groups = (n + s.rpg - 1) / s.rpg
	maxOut := b + (s.m/b+1)*b*b
	s.hostDots = make([]float64, maxOut)
	if s.part, err = s.alloc("the partial inner products", backend.Float64, s.groups*maxOut); err != nil {
		return nil, err
	}
	if s.dots, err = s.alloc("the inner products", backend.Float64, maxOut); err != nil {
		return nil, err
	}
	if s.par, err = s.alloc("the block transformation", backend.Float64, b*b+b); err != nil {
		return nil, err
	}
	if s.smat, err = s.alloc("the restart's coefficients", backend.Float64, (s.m+b)*(s.m+b)); err != nil {
		return nil, err
	}
	return s.iterate()
}

// random fills slab sl of the basis with uniform values in [-1, 1) from
// the seed and the number of blocks drawn so far.
func (s *specRun) random(sl int) error {
	count := int64(s.n) * int64(s.b)
	key := specMix(s.seed ^ specMix(s.draws))
	s.draws++
	return s.be.launch1D("spec_random", count, localSize, count, key, s.v[s.cur], int64(sl)*count)
}

// specMix is the splitmix64 finalizer.
func specMix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// iterate runs the cycles of the block Lanczos iteration.
func (s *specRun) iterate() ([]float64, error) {
	b, m, nev := s.b, s.m, s.nev
	maxMatvec := max(6000, 40*m)
	if err := s.random(0); err != nil {
		return nil, err
	}
	if _, _, err := s.orth(0); err != nil {
		return nil, err
	}
	h := make([]float64, m*m)
	k := 0 // basis vectors carried over from the last cycle
	for {
		// Expand the basis from slab k/b to m vectors.
		var rres []float64
		for j := k / b; j < m/b; j++ {
			if err := s.be.launch1D("spec_spmm", int64(s.n)*int64(b), localSize, int32(s.n), int32(b),
				s.ptr, s.idx, s.mval, s.v[s.cur], int32(j), int32(j+1)); err != nil {
				return nil, err
			}
			s.matvecs += b
			coef, r, err := s.orth(j + 1)
			if err != nil {
				return nil, err
			}
			c0 := j * b
			for i := 0; i < c0; i++ {
				for c := 0; c < b; c++ {
					h[i*m+c0+c] = coef[i*b+c]
					h[(c0+c)*m+i] = coef[i*b+c]
				}
			}
			for i := 0; i < b; i++ {
				for c := 0; c < b; c++ {
					h[(c0+i)*m+c0+c] = (coef[(c0+i)*b+c] + coef[(c0+c)*b+i]) / 2
				}
			}
			if c0+b < m {
				for i := 0; i < b; i++ {
					for c := 0; c < b; c++ {
						h[(c0+b+i)*m+c0+c] = r[i*b+c]
						h[(c0+c)*m+c0+b+i] = r[i*b+c]
					}
				}
			} else {
				rres = r
			}
		}

		// Ritz pairs, largest first, and their residuals.
		var es mat.EigenSym
		if !es.Factorize(mat.NewSymDense(m, append([]float64(nil), h...)), true) {
			return nil, fmt.Errorf("%w: the projected eigenproblem failed", backend.ErrSpectralNoConvergence)
		}
		theta := es.Values(nil)
		var sv mat.Dense
		es.VectorsTo(&sv)
		col := func(c int) int { return m - 1 - c }
		// coupling returns R_m s_m of Ritz vector c: its residual vector in
		// the residual block's coordinates.
		coupling := func(c int) []float64 {
			out := make([]float64, b)
			for i := 0; i < b; i++ {
				for q := 0; q < b; q++ {
					out[i] += rres[i*b+q] * sv.At(m-b+q, col(c))
				}
			}
			return out
		}
		worst := 0.0
		for c := 0; c < nev; c++ {
			var r2 float64
			for _, x := range coupling(c) {
				r2 += x * x
			}
			worst = max(worst, math.Sqrt(r2)/math.Max(math.Abs(theta[col(c)]), 1e-12))
		}
		s.res.Residual = worst
		if worst <= s.tol {
			s.res.Values = make([]float64, nev)
			for c := range s.res.Values {
				s.res.Values[c] = theta[col(c)]
			}
			return s.result(&sv, col)
		}
		if s.matvecs >= maxMatvec {
			return nil, fmt.Errorf("%w: relative residual %.2g after %d products (tolerance %g)",
				backend.ErrSpectralNoConvergence, worst, s.matvecs, s.tol)
		}

		// Thick restart: the keep best Ritz vectors, then the residual
		// block; h = diag(theta) bordered by their couplings.
		keep := s.keep
		nout := keep + b
		sm := make([]float64, (m+b)*nout)
		for c := 0; c < keep; c++ {
			for j := 0; j < m; j++ {
				sm[j*nout+c] = sv.At(j, col(c))
			}
		}
		for i := 0; i < b; i++ {
			sm[(m+i)*nout+keep+i] = 1
		}
		if err := s.combine(m+b, nout, sm); err != nil {
			return nil, err
		}
		s.cur = 1 - s.cur
		clear(h)
		for c := 0; c < keep; c++ {
			h[c*m+c] = theta[col(c)]
			for i, x := range coupling(c) {
				h[(keep+i)*m+c] = x
				h[c*m+keep+i] = x
			}
		}
		k = keep
		s.restarts++
	}
}

// result returns the first nev Ritz vectors (the columns col(c) of sv),
// n x nev, row-major.
func (s *specRun) result(sv *mat.Dense, col func(int) int) ([]float64, error) {
	n, b, m, nev := s.n, s.b, s.m, s.nev
	nout := roundUp(nev, b)
	sm := make([]float64, m*nout)
	for c := 0; c < nev; c++ {
		for j := 0; j < m; j++ {
			sm[j*nout+c] = sv.At(j, col(c))
		}
	}
	if err := s.combine(m, nout, sm); err != nil {
		return nil, err
	}
	raw := make([]float64, n*nout)
	if err := s.be.rt.ToHost(asBytes(raw), s.v[1-s.cur], 0); err != nil {
		return nil, fmt.Errorf("reading the eigenvectors: %w", err)
	}
	out := make([]float64, n*nev)
	for c := 0; c < nev; c++ {
		sl, ci := c/b, c%b
		for i := 0; i < n; i++ {
			out[i*nev+c] = raw[(sl*n+i)*b+ci]
		}
	}
	return out, nil
}

// combine writes the nout columns of V S into the other basis buffer, V
// the first nin columns of the basis and S nin x nout (nout a multiple of
// b).
func (s *specRun) combine(nin, nout int, sm []float64) error {
	if err := s.be.rt.ToDevice(s.smat, 0, asBytes(sm)); err != nil {
		return fmt.Errorf("copying the restart's coefficients: %w", err)
	}
	groups := [3]int{(s.n*s.b + localSize - 1) / localSize, nout / s.b, 1}
	return s.be.launch("spec_combine", groups, [3]int{localSize, 1, 1}, int32(s.n), int32(s.b), int32(nin),
		int32(nout), s.v[s.cur], s.smat, s.v[1-s.cur])
}

// orth orthonormalizes the block in slab w against u0 and slabs [0, w).
// With W0 the block before and Q after, W0 = u0 c0ᵀ + V coef + Q R: it
// returns coef (w*b x b, row-major) and R (b x b).
func (s *specRun) orth(w int) (coef, rcum []float64, err error) {
	b := s.b
	nv := w * b // basis vectors projected out
	coef = make([]float64, nv*b)
	rcum = specIdentity(b)
	projOnly := false
	for pass := 0; pass < specMaxPasses; pass++ {
		d, err := s.innerProducts(w)
		if err != nil {
			return nil, nil, err
		}
		// d[c] = <u0, w_c>; d[b + i*b + c] = <basis vector i, w_c> for i
		// < nv, then the Gram matrix.
		cu := d[:b]
		cv := d[b : b+nv*b]
		gm := d[b+nv*b : b+nv*b+b*b]
		for i := 0; i < nv; i++ {
			for c := 0; c < b; c++ {
				var t float64
				for q := 0; q < b; q++ {
					t += cv[i*b+q] * rcum[q*b+c]
				}
				coef[i*b+c] += t
			}
		}
		var cmax, gdev float64
		for _, x := range d[:b+nv*b] {
			cmax = max(cmax, math.Abs(x))
		}
		for i := 0; i < b; i++ {
			for c := 0; c < b; c++ {
				e := gm[i*b+c]
				if i == c {
					e--
				}
				gdev = max(gdev, math.Abs(e))
			}
		}
		if pass > 0 && cmax <= specOrthTol && gdev <= specOrthTol {
			// Orthonormal: the last small corrections along the basis.
			return coef, rcum, s.update(w, specIdentity(b), nil)
		}
		// The Gram matrix after the projection, G - CᵀC.
		gp := make([]float64, b*b)
		cancel := false
		for i := 0; i < b; i++ {
			for c := 0; c < b; c++ {
				t := gm[i*b+c] - cu[i]*cu[c]
				for q := 0; q < nv; q++ {
					t -= cv[q*b+i] * cv[q*b+c]
				}
				gp[i*b+c] = t
			}
			if gp[i*b+i] < specCancel*gm[i*b+i] {
				cancel = true
			}
		}
		if cancel && !projOnly {
			// Most of W was in the basis: project first, and orthonormalize
			// from an accurate Gram matrix next pass.
			projOnly = true
			if err := s.update(w, specIdentity(b), nil); err != nil {
				return nil, nil, err
			}
			continue
		}
		projOnly = false
		t, rp, drop, err := specSVQB(gp, b)
		if err != nil {
			return nil, nil, err
		}
		if len(drop) > 0 {
			if err := s.random(s.slabs - 1); err != nil {
				return nil, nil, err
			}
		}
		if err := s.update(w, t, drop); err != nil {
			return nil, nil, err
		}
		rcum = specMul(rp, rcum, b)
	}
	return nil, nil, fmt.Errorf("%w: the block of basis vectors %d-%d is not orthonormal after %d passes",
		backend.ErrSpectralNoConvergence, w*b, w*b+b-1, specMaxPasses)
}

// innerProducts returns the inner products of slab w with u0 and slabs
// [0, w], in spec_dots's order.
func (s *specRun) innerProducts(w int) ([]float64, error) {
	b := s.b
	ns := w + 1
	nout := b + ns*b*b
	local := min(specDotLocal, s.be.rt.MaxLocal())
	if err := s.be.launch("spec_dots", [3]int{s.groups, 1, 1}, [3]int{local, 1, 1}, int32(s.n), int32(b), int32(ns),
		int32(s.rpg), s.u0, s.v[s.cur], int32(w), s.part); err != nil {
		return nil, err
	}
	if err := s.be.launch("spec_reduce", [3]int{nout, 1, 1}, [3]int{specRedLocal, 1, 1}, int32(nout), int32(s.groups),
		s.part, s.dots); err != nil {
		return nil, err
	}
	d := s.hostDots[:nout]
	if err := s.be.rt.ToHost(asBytes(d), s.dots, 0); err != nil {
		return nil, fmt.Errorf("reading the inner products: %w", err)
	}
	return d, nil
}

// update projects slab w off u0 and slabs [0, w) with the inner products
// on the device, then transforms it by t (b x b); the columns in drop
// become the random scratch slab's.
func (s *specRun) update(w int, t []float64, drop []int) error {
	b := s.b
	par := make([]float64, b*b+b)
	copy(par, t)
	for _, c := range drop {
		par[b*b+c] = 1
	}
	if err := s.be.rt.ToDevice(s.par, 0, asBytes(par)); err != nil {
		return fmt.Errorf("copying the block transformation: %w", err)
	}
	// Whole rows in a group: a multiple of b.
	local := min(specUpdateLocal, s.be.rt.MaxLocal()) / b * b
	return s.be.launch1D("spec_update", int64(s.n)*int64(b), local, int32(s.n), int32(b), int32(w), s.u0, s.v[s.cur],
		int32(w), s.dots, s.par, int32(s.slabs-1))
}

// specSVQB orthonormalizes a block with Gram matrix gp (b x b, after
// projection): with D the inverse square roots of gp's diagonal and
// D gp D = U Λ Uᵀ, the new block is W T, T = D U Λ^-1/2, and W = (W T) R,
// R = Λ^1/2 Uᵀ D^-1. Directions of too small a norm or eigenvalue are
// dropped: their columns of T and rows of R are zero, and their indices
// are returned.
func specSVQB(gp []float64, b int) (t, r []float64, drop []int, err error) {
	dsc := make([]float64, b)
	for i := range dsc {
		if gp[i*b+i] > specDropNorm {
			dsc[i] = 1 / math.Sqrt(gp[i*b+i])
		}
	}
	a := mat.NewSymDense(b, nil)
	for i := 0; i < b; i++ {
		for c := i; c < b; c++ {
			a.SetSym(i, c, dsc[i]*(gp[i*b+c]+gp[c*b+i])/2*dsc[c])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(a, true) {
		return nil, nil, nil, fmt.Errorf("%w: the eigendecomposition of a Gram matrix failed", backend.ErrSpectralNoConvergence)
	}
	lam := es.Values(nil)
	var u mat.Dense
	es.VectorsTo(&u)
	t = make([]float64, b*b)
	r = make([]float64, b*b)
	for k := 0; k < b; k++ {
		if !(lam[k] > specDropCond) {
			drop = append(drop, k)
			continue
		}
		sl := math.Sqrt(lam[k])
		for i := 0; i < b; i++ {
			t[i*b+k] = dsc[i] * u.At(i, k) / sl
			if dsc[i] > 0 {
				r[k*b+i] = sl * u.At(i, k) / dsc[i]
			}
		}
	}
	return t, r, drop, nil
}

func specIdentity(b int) []float64 {
	t := make([]float64, b*b)
	for i := 0; i < b; i++ {
		t[i*b+i] = 1
	}
	return t
}

// specMul returns x y for b x b matrices.
func specMul(x, y []float64, b int) []float64 {
	out := make([]float64, b*b)
	for i := 0; i < b; i++ {
		for c := 0; c < b; c++ {
			var t float64
			for q := 0; q < b; q++ {
				t += x[i*b+q] * y[q*b+c]
			}
			out[i*b+c] = t
		}
	}
	return out
}
