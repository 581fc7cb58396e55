// Spectral initialization of the UMAP layout.
//
// umap-learn 0.5.3 spectral.spectral_layout: the embedding starts from the
// eigenvectors of the normalized Laplacian L = I - D^-1/2 W D^-1/2 of the
// (pruned) fuzzy graph W with the smallest non-trivial eigenvalues (Belkin &
// Niyogi's Laplacian eigenmaps; McInnes et al. 2018, section 4.1 and
// Appendix B). umap-learn asks ARPACK (eigsh, which="SM", tol=1e-4) for
// them. Here the same vectors are the largest eigenvectors of
// M = D^-1/2 W D^-1/2 (eigenvalues 1 - lambda(L)), found by a thick-restart
// Lanczos iteration (Wu & Simon 2000, the symmetric Krylov-Schur method)
// with full reorthogonalization, run on the complement of the trivial
// eigenvector D^1/2 1 (eigenvalue 1 of M), so nothing is wasted on it.
// Convergence is judged as ARPACK does, on the Ritz residual
// ||M y - theta y|| = |beta_m s_m| <= tol |theta|.
//
// A graph with several connected components is laid out as umap-learn's
// multi_component_layout does: each component gets a meta position (for at
// most 2*dim components, the vertices +-e_k of a cross-polytope; for more,
// a spectral embedding of the components' centroids in the input space
// when Coords are given, else a circle), and its own spectral layout scaled
// to half the distance to the nearest other meta position. Components too
// small for an eigenproblem are spread uniformly around their position.
//
// UMAPParams.Spectral hands the iterative eigenproblems to a device
// (backend.SpectralEmbedder, as backend/gpu implements it): each component
// too large for the dense solver goes to it first, with a seed derived
// from UMAPParams.Seed and the component's index (so the host's random
// stream is not touched), and to the host's Lanczos when it fails.
// HostSpectral is the host's solver behind the same interface.
//
// When the eigensolver does not converge, or the graph has at least
// RandomInitCells cells (1,000,000 by default: rapids-singlecell switches
// to random initialization at that size, since the eigenproblem then costs
// more than the layout), the layout starts from uniform random positions
// in [-10, 10] as umap-learn's fallback does, and UMAPInfo says why.

package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"gonum.org/v1/gonum/mat"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// errSpectralNoConvergence is returned when Lanczos runs out of matrix
// products before the residuals fall below the tolerance.
var errSpectralNoConvergence = errors.New("spectral layout: eigensolver did not converge")

const (
	spectralTol        = 1e-4 // eigsh tol in spectral_layout
	spectralDenseLimit = 400  // components up to this size use a dense eigensolver
)

// spectralInfo reports on the spectral layout.
type spectralInfo struct {
	components int
	matvecs    int
	resid      float64 // largest relative Ritz residual of the kept vectors
	// onDevice and onHost count the components whose iterative
	// eigenproblem the device and the host solved; fallbacks says why the
	// device's failed.
	onDevice, onHost int
	fallbacks        []string
}

// solver returns "device", "host", "device+host" or "" (no iterative
// eigenproblem): UMAPInfo.EigenSolver.
func (si *spectralInfo) solver() string {
	switch {
	case si.onDevice > 0 && si.onHost > 0:
		return "device+host"
	case si.onDevice > 0:
		return "device"
	case si.onHost > 0:
		return "host"
	}
	return ""
}

// spectralSolver solves the components' eigenproblems: on dev, when there
// is one and the component needs the iterative solver, else or when dev
// fails on the host.
type spectralSolver struct {
	dev     backend.SpectralEmbedder
	seed    uint64
	rng     *rand.Rand
	threads int
	info    *spectralInfo
}

// eigenmap solves component c (the graph g) as spectralEigenmap does,
// and counts the products and residuals into info.
func (s *spectralSolver) eigenmap(g *sparse.CSR, dim, c int) ([]float64, error) {
	n := g.Rows
	iterative := !spectralIsDense(n, dim)
	if s.dev != nil && iterative {
		vec, r, err := s.dev.SpectralEigenmap(g, dim, umapMix(s.seed^umapMix(uint64(c)+1)), spectralTol)
		s.info.matvecs += r.Matvecs
		if err == nil && len(vec) == n*dim {
			s.info.resid = max(s.info.resid, r.Residual)
			s.info.onDevice++
			return vec, nil
		}
		if err == nil {
			err = fmt.Errorf("%d values for %d cells x %d dimensions", len(vec), n, dim)
		}
		s.info.fallbacks = append(s.info.fallbacks, fmt.Sprintf("component %d (%d cells): %v", c, n, err))
	}
	vec, mv, res, err := spectralEigenmap(g, dim, s.rng, s.threads)
	s.info.matvecs += mv
	s.info.resid = max(s.info.resid, res)
	if iterative {
		s.info.onHost++
	}
	return vec, err
}

// spectralLayout returns an n x dim layout (row-major, float64) of the
// symmetric graph g, as umap-learn's spectral_layout; coords (n x cdim,
// optional) place disconnected components relative to each other.
func spectralLayout(g *sparse.CSR, dim int, coords []float32, cdim int, rng *rand.Rand, threads int) ([]float64, spectralInfo, error) {
	return spectralLayoutOn(g, dim, coords, cdim, rng, threads, nil, 0)
}

// spectralLayoutOn is spectralLayout with the device dev, when not nil,
// solving the components' iterative eigenproblems first, seeded from
// seed.
func spectralLayoutOn(g *sparse.CSR, dim int, coords []float32, cdim int, rng *rand.Rand, threads int,
	dev backend.SpectralEmbedder, seed uint64) ([]float64, spectralInfo, error) {
	n := g.Rows
	out := make([]float64, n*dim)
	labels, nc := spectralComponents(g)
	info := spectralInfo{components: nc}
	sol := &spectralSolver{dev: dev, seed: seed, rng: rng, threads: threads, info: &info}
	if nc == 1 {
		vec, err := sol.eigenmap(g, dim, 0)
		if err != nil {
			return nil, info, err
		}
		copy(out, vec)
		return out, info, nil
	}
	meta := spectralMetaLayout(labels, nc, dim, coords, cdim)
	// Members of each component, in order.
	members := make([][]int32, nc)
	for i, l := range labels {
		members[l] = append(members[l], int32(i))
	}
	local := make([]int32, n)
	for _, mem := range members {
		for p, i := range mem {
			local[i] = int32(p)
		}
	}
	for c, mem := range members {
		// Half the distance to the nearest other meta position.
		dataRange := math.Inf(1)
		for o := 0; o < nc; o++ {
			var s float64
			for d := 0; d < dim; d++ {
				t := meta[c*dim+d] - meta[o*dim+d]
				s += t * t
			}
			if s > 0 {
				dataRange = min(dataRange, math.Sqrt(s)/2)
			}
		}
		if math.IsInf(dataRange, 1) {
			dataRange = 1
		}
		place := func(p int, v []float64) {
			i := int(mem[p])
			for d := 0; d < dim; d++ {
				out[i*dim+d] = v[d] + meta[c*dim+d]
			}
		}
		if len(mem) < 2*dim || len(mem) <= dim+1 {
			v := make([]float64, dim)
			for p := range mem {
				for d := range v {
					v[d] = (2*rng.Float64() - 1) * dataRange
				}
				place(p, v)
			}
			continue
		}
		sub := spectralSubgraph(g, mem, local)
		vec, err := sol.eigenmap(sub, dim, c)
		if err != nil {
			return nil, info, fmt.Errorf("component %d of %d (%d cells): %w", c, nc, len(mem), err)
		}
		var big float64
		for _, v := range vec {
			big = max(big, math.Abs(v))
		}
		scale := dataRange / big
		for p := range mem {
			v := vec[p*dim : (p+1)*dim]
			for d := range v {
				v[d] *= scale
			}
			place(p, v)
		}
	}
	return out, info, nil
}

// spectralComponents labels the connected components of the symmetric
// graph g (breadth-first search) in order of their first cell.
func spectralComponents(g *sparse.CSR) ([]int32, int) {
	n := g.Rows
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = -1
	}
	queue := make([]int32, 0, 64)
	nc := 0
	for s := 0; s < n; s++ {
		if labels[s] >= 0 {
			continue
		}
		labels[s] = int32(nc)
		queue = append(queue[:0], int32(s))
		for len(queue) > 0 {
			i := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			cols, _ := g.Row(int(i))
			for _, j := range cols {
				if labels[j] < 0 {
					labels[j] = int32(nc)
					queue = append(queue, j)
				}
			}
		}
		nc++
	}
	return labels, nc
}

// spectralSubgraph extracts the rows and columns mem (sorted) of g, with
// local[i] the position of cell i in mem.
func spectralSubgraph(g *sparse.CSR, mem, local []int32) *sparse.CSR {
	var nnz int64
	for _, i := range mem {
		nnz += g.Indptr[i+1] - g.Indptr[i]
	}
	sub := sparse.NewCSR(len(mem), len(mem), nnz)
	var o int64
	for p, i := range mem {
		cols, vals := g.Row(int(i))
		for q, j := range cols {
			sub.Indices[o] = local[j]
			sub.Data[o] = vals[q]
			o++
		}
		sub.Indptr[p+1] = o
	}
	return sub
}

// spectralMetaLayout places nc components in dim dimensions as umap-learn's
// multi_component_layout and component_layout do.
func spectralMetaLayout(labels []int32, nc, dim int, coords []float32, cdim int) []float64 {
	meta := make([]float64, nc*dim)
	switch {
	case nc <= 2*dim:
		// Rows of [I_k 0; -I_k 0], k = ceil(nc / 2).
		k := (nc + 1) / 2
		for c := 0; c < nc; c++ {
			if c < k {
				meta[c*dim+c] = 1
			} else {
				meta[c*dim+c-k] = -1
			}
		}
	case cdim > 0 && len(coords) == len(labels)*cdim:
		spectralCentroidLayout(meta, labels, nc, dim, coords, cdim)
	default:
		for c := 0; c < nc; c++ {
			t := 2 * math.Pi * float64(c) / float64(nc)
			meta[c*dim] = math.Cos(t)
			meta[c*dim+1] = math.Sin(t)
		}
	}
	return meta
}

// spectralCentroidLayout is component_layout: the affinity exp(-d^2)
// between the components' centroids, embedded as sklearn's
// SpectralEmbedding(affinity="precomputed") does (normalized Laplacian,
// eigenvectors divided by sqrt(degree), signs made deterministic, the
// first dropped), then divided by its maximum.
func spectralCentroidLayout(meta []float64, labels []int32, nc, dim int, coords []float32, cdim int) {
	cen := make([]float64, nc*cdim)
	cnt := make([]float64, nc)
	for i, l := range labels {
		cnt[l]++
		for d := 0; d < cdim; d++ {
			cen[int(l)*cdim+d] += float64(coords[i*cdim+d])
		}
	}
	for c := 0; c < nc; c++ {
		for d := 0; d < cdim; d++ {
			cen[c*cdim+d] /= cnt[c]
		}
	}
	w := mat.NewSymDense(nc, nil)
	deg := make([]float64, nc)
	for c := 0; c < nc; c++ {
		for o := 0; o < nc; o++ {
			if o == c {
				continue // csgraph.laplacian ignores the diagonal
			}
			var s float64
			for d := 0; d < cdim; d++ {
				t := cen[c*cdim+d] - cen[o*cdim+d]
				s += t * t
			}
			a := math.Exp(-s)
			w.SetSym(c, o, a)
			deg[c] += a
		}
	}
	dd := make([]float64, nc)
	for c := range dd {
		dd[c] = math.Sqrt(math.Max(deg[c], 1e-300))
	}
	// M = D^-1/2 W D^-1/2; the largest eigenvectors of M are the smallest
	// of the normalized Laplacian.
	m := mat.NewSymDense(nc, nil)
	for c := 0; c < nc; c++ {
		for o := c + 1; o < nc; o++ {
			m.SetSym(c, o, w.At(c, o)/(dd[c]*dd[o]))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(m, true) {
		return // leaves the meta layout at 0: components then overlap
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	var big float64
	for d := 0; d < dim; d++ {
		col := nc - 2 - d // skip the largest (trivial) one
		if col < 0 {
			break
		}
		v := make([]float64, nc)
		var pivot float64
		for c := range v {
			v[c] = vecs.At(c, col) / dd[c]
			if math.Abs(v[c]) > math.Abs(pivot) {
				pivot = v[c]
			}
		}
		for c := range v {
			if pivot < 0 {
				v[c] = -v[c]
			}
			meta[c*dim+d] = v[c]
			big = max(big, v[c])
		}
	}
	if big > 0 {
		for i := range meta {
			meta[i] /= big
		}
	}
}

// spectralIsDense reports whether spectralEigenmap solves a component of
// n cells densely.
func spectralIsDense(n, dim int) bool { return n <= spectralDenseLimit || n-1 <= 2*dim+2 }

// spectralEigenmap returns the n x dim eigenvectors of the connected graph
// g's normalized Laplacian with the smallest non-trivial eigenvalues, the
// number of matrix products and the largest relative Ritz residual.
func spectralEigenmap(g *sparse.CSR, dim int, rng *rand.Rand, threads int) ([]float64, int, float64, error) {
	vec, _, mv, res, err := spectralSolve(g, dim, spectralTol, rng, threads)
	return vec, mv, res, err
}

// spectralSolve is spectralEigenmap to the tolerance tol, also returning
// the eigenvalues of M = D^-1/2 W D^-1/2 (1 - the Laplacian's),
// descending.
func spectralSolve(g *sparse.CSR, dim int, tol float64, rng *rand.Rand, threads int) ([]float64, []float64, int, float64, error) {
	n := g.Rows
	dinv := make([]float64, n)
	u0 := make([]float64, n)
	var norm float64
	for i := 0; i < n; i++ {
		_, vals := g.Row(i)
		var s float64
		for _, v := range vals {
			s += float64(v)
		}
		if s <= 0 {
			return nil, nil, 0, 0, fmt.Errorf("spectral layout: cell %d has no edges in a component of %d cells", i, n)
		}
		dinv[i] = 1 / math.Sqrt(s)
		u0[i] = math.Sqrt(s)
		norm += s
	}
	norm = math.Sqrt(norm)
	for i := range u0 {
		u0[i] /= norm
	}
	if spectralIsDense(n, dim) {
		vec, vals, res := spectralDense(g, dinv, dim)
		return vec, vals, 0, res, nil
	}
	op := func(dst, src []float64) {
		fuzzyParallel(n, threads, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				cols, vals := g.Row(i)
				var s float64
				for p, j := range cols {
					s += float64(vals[p]) * dinv[j] * src[j]
				}
				dst[i] = dinv[i] * s
			}
		})
	}
	// eigsh's ncv = max(2k + 1, sqrt(n)); capped to bound memory
	// (n x m float64 vectors).
	m := max(2*dim+8, min(int(math.Sqrt(float64(n))), 64))
	if n > 200_000 {
		m = max(2*dim+8, 40)
	}
	m = min(m, n-2)
	maxMatvec := max(3000, 20*m)
	vals, vecs, mv, res, err := spectralLanczos(n, op, u0, dim, m, tol, maxMatvec, rng, threads)
	if err != nil {
		return nil, nil, mv, res, err
	}
	out := make([]float64, n*dim)
	for d := 0; d < dim; d++ {
		for i := 0; i < n; i++ {
			out[i*dim+d] = vecs[d][i]
		}
	}
	return out, vals, mv, res, nil
}

// spectralDense solves a small component's eigenproblem densely; it also
// returns the eigenvalues (descending).
func spectralDense(g *sparse.CSR, dinv []float64, dim int) ([]float64, []float64, float64) {
	n := g.Rows
	m := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		cols, vals := g.Row(i)
		for p, j := range cols {
			if int(j) >= i {
				m.SetSym(i, int(j), m.At(i, int(j))+float64(vals[p])*dinv[i]*dinv[j])
			}
		}
	}
	var es mat.EigenSym
	out := make([]float64, n*dim)
	vals := make([]float64, dim)
	if !es.Factorize(m, true) {
		return out, vals, math.Inf(1)
	}
	ev := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	// Ascending eigenvalues of M: the last is the trivial one.
	for d := 0; d < dim && n-2-d >= 0; d++ {
		vals[d] = ev[n-2-d]
		for i := 0; i < n; i++ {
			out[i*dim+d] = vecs.At(i, n-2-d)
		}
	}
	return out, vals, 0
}

// HostSpectral is the host's eigensolver of the spectral layout (dense up
// to 400 cells, else thick-restart Lanczos: spectralLanczos) as a
// backend.SpectralEmbedder, the reference of device ones. Its random
// start comes from the seed.
type HostSpectral struct {
	Threads int // goroutines; 0: GOMAXPROCS
}

var _ backend.SpectralEmbedder = HostSpectral{}

// SpectralEigenmap returns the dim eigenvectors of the connected graph g's
// M = D^-1/2 W D^-1/2 with the largest eigenvalues after the trivial one:
// see backend.SpectralEmbedder.
func (h HostSpectral) SpectralEigenmap(g *sparse.CSR, dim int, seed uint64, tol float64) ([]float64, backend.SpectralResult, error) {
	var res backend.SpectralResult
	if g == nil {
		return nil, res, fmt.Errorf("graph: HostSpectral: %w: nil graph", backend.ErrShape)
	}
	if err := g.Validate(); err != nil {
		return nil, res, fmt.Errorf("graph: HostSpectral: %w: %w", backend.ErrShape, err)
	}
	n := g.Rows
	switch {
	case g.Cols != n:
		return nil, res, fmt.Errorf("graph: HostSpectral: %w: graph is %d x %d, want square", backend.ErrShape, n, g.Cols)
	case dim < 1 || n < dim+3:
		return nil, res, fmt.Errorf("graph: HostSpectral: %w: %d eigenvectors of a graph of %d cells (want at least dim + 3 cells)",
			backend.ErrShape, dim, n)
	case !(tol > 0):
		return nil, res, fmt.Errorf("graph: HostSpectral: tolerance %v is not positive", tol)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5bec))
	vec, vals, mv, resid, err := spectralSolve(g, dim, tol, rng, h.Threads)
	res = backend.SpectralResult{Values: vals, Matvecs: mv, Residual: resid}
	if errors.Is(err, errSpectralNoConvergence) {
		return nil, res, fmt.Errorf("graph: HostSpectral: %w (%v)", backend.ErrSpectralNoConvergence, err)
	}
	if err != nil {
		return nil, res, fmt.Errorf("graph: HostSpectral: %w", err)
	}
	return vec, res, nil
}

// spectralLanczos finds the nev algebraically largest eigenpairs of the
// symmetric operator op restricted to the complement of the unit vector
// u0, with a basis of at most m vectors, thick-restarted keeping the best
// Ritz vectors. It returns the eigenvalues (descending), eigenvectors
// (unit norm), the number of products and the largest relative residual.
func spectralLanczos(n int, op func(dst, src []float64), u0 []float64, nev, m int, tol float64,
	maxMatvec int, rng *rand.Rand, threads int) ([]float64, [][]float64, int, float64, error) {
	v := make([][]float64, m+1)
	for j := range v {
		v[j] = make([]float64, n)
	}
	h := make([]float64, m*m) // projected matrix V^T M V, symmetric
	hv := func(i, j int) *float64 { return &h[i*m+j] }
	coef := make([]float64, m+1)
	// startRandom fills v[j] with a random unit vector orthogonal to u0
	// and v[:j].
	startRandom := func(j int) {
		for i := range v[j] {
			v[j][i] = rng.NormFloat64()
		}
		scratch := make([]float64, j)
		for range 2 {
			spectralOrthogonalize(v[j], u0, v[:j], scratch, threads)
		}
		spectralScale(v[j], 1/spectralNorm(v[j]))
	}
	startRandom(0)
	spare := make([][]float64, m) // buffers for the Ritz vectors, swapped with v's
	k := 0                        // vectors whose columns of h are final (kept Ritz vectors)
	matvecs := 0
	var beta float64
	worst := math.Inf(1)
	for {
		// Expand the basis from v[k] to m vectors.
		for j := k; j < m; j++ {
			w := v[j+1]
			op(w, v[j])
			matvecs++
			for i := range coef[:j+1] {
				coef[i] = 0
			}
			// Two passes of classical Gram-Schmidt ("twice is enough").
			for range 2 {
				spectralOrthogonalize(w, u0, v[:j+1], coef, threads)
			}
			for i := 0; i <= j; i++ {
				*hv(i, j) = coef[i]
				*hv(j, i) = coef[i]
			}
			beta = spectralNorm(w)
			if beta <= 1e-12 {
				// Invariant subspace: continue from a fresh direction.
				beta = 0
				startRandom(j + 1)
			} else {
				spectralScale(w, 1/beta)
			}
			if j+1 < m {
				*hv(j+1, j) = beta
				*hv(j, j+1) = beta
			}
		}
		// Ritz pairs of the projected matrix.
		hs := mat.NewSymDense(m, append([]float64(nil), h...))
		var es mat.EigenSym
		if !es.Factorize(hs, true) {
			return nil, nil, matvecs, worst, fmt.Errorf("%w: projected eigenproblem failed", errSpectralNoConvergence)
		}
		theta := es.Values(nil) // ascending
		var s mat.Dense
		es.VectorsTo(&s)
		// Largest first.
		ord := make([]int, m)
		for i := range ord {
			ord[i] = m - 1 - i
		}
		worst = 0
		for _, c := range ord[:nev] {
			r := math.Abs(beta*s.At(m-1, c)) / math.Max(math.Abs(theta[c]), 1e-12)
			worst = max(worst, r)
		}
		keep := min(m-1, max(nev+(m-nev)/2, nev+1))
		done := worst <= tol
		if done {
			keep = nev
		}
		// Y = V S[:, ord[:keep]], written back into v[:keep].
		y := spare[:keep]
		for c := range y {
			if y[c] == nil {
				y[c] = make([]float64, n)
			} else {
				clear(y[c])
			}
		}
		fuzzyParallel(n, threads, func(lo, hi int) {
			for c := 0; c < keep; c++ {
				col := ord[c]
				yc := y[c][lo:hi]
				for j := 0; j < m; j++ {
					sj := s.At(j, col)
					vj := v[j][lo:hi]
					for i := range yc {
						yc[i] += sj * vj[i]
					}
				}
			}
		})
		if done || matvecs >= maxMatvec {
			vals := make([]float64, nev)
			for c := range vals {
				vals[c] = theta[ord[c]]
			}
			if !done {
				return vals, y[:nev], matvecs, worst, fmt.Errorf("%w: relative residual %.2g after %d products (tolerance %g)",
					errSpectralNoConvergence, worst, matvecs, tol)
			}
			return vals, y[:nev], matvecs, worst, nil
		}
		// Thick restart: [Y, v_m] with h = diag(theta) bordered by the
		// couplings beta s_m.
		last := v[m]
		for c := 0; c < keep; c++ {
			v[c], y[c] = y[c], v[c]
		}
		v[keep], v[m] = last, v[keep]
		// v[keep+1:] are scratch now; v[m] will be overwritten.
		for i := range h {
			h[i] = 0
		}
		for c := 0; c < keep; c++ {
			*hv(c, c) = theta[ord[c]]
			b := beta * s.At(m-1, ord[c])
			*hv(c, keep) = b
			*hv(keep, c) = b
		}
		k = keep
	}
}

// spectralOrthogonalize removes from w its components along u0 and the
// vectors vs (one classical Gram-Schmidt pass), adding the coefficients
// along vs to coef[:len(vs)].
func spectralOrthogonalize(w, u0 []float64, vs [][]float64, coef []float64, threads int) {
	nv := len(vs)
	c := make([]float64, nv+1)
	n := len(w)
	// Partial dot products per block, reduced after.
	blocks := max(1, min(spectralBlocks(threads), (n+4095)/4096))
	part := make([]float64, blocks*(nv+1))
	fuzzyParallel(blocks, threads, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			r0, r1 := b*n/blocks, (b+1)*n/blocks
			pc := part[b*(nv+1) : (b+1)*(nv+1)]
			pc[0] = spectralDot(w[r0:r1], u0[r0:r1])
			for j, vj := range vs {
				pc[j+1] = spectralDot(w[r0:r1], vj[r0:r1])
			}
		}
	})
	for b := 0; b < blocks; b++ {
		for j := range c {
			c[j] += part[b*(nv+1)+j]
		}
	}
	fuzzyParallel(blocks, threads, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			r0, r1 := b*n/blocks, (b+1)*n/blocks
			ws := w[r0:r1]
			spectralAxpy(-c[0], u0[r0:r1], ws)
			for j, vj := range vs {
				spectralAxpy(-c[j+1], vj[r0:r1], ws)
			}
		}
	})
	for j := range vs {
		coef[j] += c[j+1]
	}
}

// spectralBlocks is the number of row blocks for parallel vector work.
func spectralBlocks(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return 4 * threads
}

func spectralDot(x, y []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func spectralAxpy(a float64, x, y []float64) {
	if a == 0 {
		return
	}
	for i := range y {
		y[i] += a * x[i]
	}
}

func spectralNorm(x []float64) float64 { return math.Sqrt(spectralDot(x, x)) }

func spectralScale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}
