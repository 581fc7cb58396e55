// UMAP layout: scanpy's tl.umap.
//
// McInnes, Healy & Melville 2018 (arXiv:1802.03426), section 3.2 and
// Algorithm 5; umap-learn 0.5.3 simplicial_set_embedding,
// make_epochs_per_sample, optimize_layout_euclidean and
// _optimize_layout_euclidean_single_epoch, called by scanpy 1.9.6 tl.umap
// with min_dist 0.5, spread 1, n_epochs None, negative_sample_rate 5,
// alpha (learning rate) 1, gamma (repulsion strength) 1, init 'spectral'
// and random_state 0.
//
// The layout minimizes the fuzzy-set cross entropy between the graph's
// memberships w_ij and the embedding's 1 / (1 + a ||y_i - y_j||^(2b)) by
// stochastic gradient descent over edges:
//
//   - edges with w_ij < max(w) / n_epochs are dropped first (they would be
//     sampled less than once), n_epochs being 500 for at most 10,000 cells
//     and 200 above;
//   - edge ij is sampled every epochs_per_sample_ij = max(w) / w_ij epochs
//     (make_epochs_per_sample), so edges are sampled in proportion to
//     their weight instead of weighting the gradient;
//   - a sample pulls both ends together with the attractive gradient
//     -2ab d^(2(b-1)) / (1 + a d^(2b)) (y_i - y_j) (the derivative of
//     log Phi), then pushes y_i away from negative_sample_rate cells drawn
//     uniformly with the repulsive gradient
//     2 gamma b / ((0.001 + d^2)(1 + a d^(2b))) (y_i - y_k);
//   - every gradient coordinate is clipped to [-4, 4] and scaled by the
//     learning rate alpha, which decays linearly: alpha_n = alpha (1 - n /
//     n_epochs).
//
// As umap-learn does with parallel=True, the edges are split among
// threads that update the shared embedding without locks (Hogwild!, Niu et
// al. 2011): two threads may touch the same cell at once and one update
// may be lost, which SGD tolerates; each epoch ends at a barrier. These
// races are deliberate; tests run the optimizer single-threaded under the
// race detector. Each thread draws its negative samples from its own
// wyrand generator seeded from (Seed, epoch, thread), so a run is
// reproducible with Threads = 1. Per-edge schedules are float32 (12 bytes
// an edge, plus 8 for the endpoints): their rounding shifts a sample by at
// most a few thousandths of an epoch.
//
// The start is umap-learn's: the spectral layout (spectral.go) scaled so
// that its largest coordinate is 10, plus Gaussian noise of standard
// deviation 1e-4; or uniform in [-10, 10]. Either is then rescaled to
// [0, 10] in each dimension before the optimization.
//
// UMAPParams.Optimizer hands the optimization to a device
// (backend.UMAPOptimizer, as backend/gpu implements it): the pruning, the
// schedule and the start stay here, and the device gets the pruned edges
// in row order with their epochs per sample. UMAPParams.Spectral hands it
// the spectral start's eigenproblems (backend.SpectralEmbedder; see
// spectral.go).

package graph

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/parallel"
	"github.com/scbench/scbench/sparse"
)

// UMAPParams are the parameters of UMAP. Zero fields take the default
// named in their comment (scanpy's tl.umap defaults).
type UMAPParams struct {
	NComponents        int     // embedding dimensions; 2
	MinDist            float64 // minimum distance of the target curve; 0.5 (scanpy; umap-learn's is 0.1) when Spread is 0 too
	Spread             float64 // scale of the target curve; 1 (set it to use MinDist 0)
	A, B               float64 // the curve's a and b; 0: fitted to MinDist and Spread by FindABParams
	NEpochs            int     // optimization epochs; 0: 500 for at most 10,000 cells, else 200
	NegativeSampleRate int     // negative samples per positive sample; 5
	LearningRate       float64 // initial alpha; 1
	RepulsionStrength  float64 // gamma, the weight of negative samples; 1
	Seed               uint64  // seeds the noise, random init and negative sampling
	Init               string  // "spectral" (default) or "random"
	// RandomInitCells switches a spectral Init to random from this many
	// cells on, as rapids-singlecell does from 1,000,000 cells; 0 means
	// 1,000,000, a negative value never switches.
	RandomInitCells int
	// Coords optionally holds the representation the graph was built from
	// (n x CoordsDim, row-major: X_pca[:, :n_pcs]). It is used only to
	// place more than 2*NComponents disconnected components relative to
	// each other, as umap-learn does; without it they go on a circle.
	Coords    []float32
	CoordsDim int
	Threads   int // goroutines; 0: GOMAXPROCS
	// Progress, when not nil, is called after each epoch with the epochs
	// done and the total, from the goroutine that called UMAP (or as
	// often as Optimizer calls it).
	Progress func(done, total int)
	// Optimizer, when not nil, runs the stochastic gradient descent (on a
	// device) in place of the host's: UMAP still prunes the graph,
	// schedules the edges and makes the start, then hands Optimizer the
	// pruned edges in row order, their epochs per sample, and the start.
	Optimizer backend.UMAPOptimizer
	// Spectral, when not nil, computes the spectral start's eigenvectors
	// (on a device): each connected component too large for the dense
	// solver goes to it, and to the host's Lanczos when it fails
	// (UMAPInfo.EigenSolver and Note say so).
	Spectral backend.SpectralEmbedder
}

// DefaultRandomInitCells is the size from which UMAP starts from a random
// layout instead of the spectral one: rapids-singlecell's rule.
const DefaultRandomInitCells = 1_000_000

// UMAPInfo reports what UMAP did.
type UMAPInfo struct {
	A, B          float64 // the curve parameters used
	NEpochs       int     // epochs run
	Edges         int64   // directed edges kept after pruning
	Samples       int64   // positive samples drawn (each with its negative samples)
	Init          string  // "spectral" or "random"
	Components    int     // connected components of the pruned graph (spectral init only)
	EigenMatvecs  int     // matrix products of the eigensolver
	EigenResidual float64 // largest relative Ritz residual of the spectral init
	// EigenSolver says who solved the spectral init's iterative
	// eigenproblems (those of the components of more than 400 cells):
	// "device" (UMAPParams.Spectral), "host", "device+host" when the
	// device failed on some (Note says why), or "" when there were none.
	EigenSolver string
	// Note says why Init differs from the one asked for, if it does, and
	// why UMAPParams.Spectral fell back to the host, if it did.
	Note  string
	Times UMAPTimes
}

// UMAPTimes are the seconds of UMAP's phases: the weight checks and the
// pruning, the start (the spectral layout's eigenproblems included), the
// edges' schedule, and the optimization (UMAPParams.Optimizer's call when
// there is one, its uploads included).
type UMAPTimes struct{ Prune, Init, Schedule, Optimize float64 }

// ErrUMAPInput is wrapped by the errors UMAP returns for bad input.
var ErrUMAPInput = errors.New("graph: invalid UMAP input")

func (p UMAPParams) withDefaults() UMAPParams {
	if p.NComponents == 0 {
		p.NComponents = 2
	}
	if p.MinDist == 0 && p.Spread == 0 {
		p.MinDist = 0.5
	}
	if p.Spread == 0 {
		p.Spread = 1
	}
	if p.NegativeSampleRate == 0 {
		p.NegativeSampleRate = 5
	}
	if p.LearningRate == 0 {
		p.LearningRate = 1
	}
	if p.RepulsionStrength == 0 {
		p.RepulsionStrength = 1
	}
	if p.Init == "" {
		p.Init = "spectral"
	}
	if p.RandomInitCells == 0 {
		p.RandomInitCells = DefaultRandomInitCells
	}
	if p.Threads <= 0 {
		p.Threads = runtime.GOMAXPROCS(0)
	}
	return p
}

// UMAPDefaultEpochs is umap-learn's default number of epochs for n cells.
func UMAPDefaultEpochs(n int) int {
	if n <= 10_000 {
		return 500
	}
	return 200
}

// UMAP lays out the cells of the symmetric fuzzy graph conn (scanpy's
// connectivities) in p.NComponents dimensions and returns the n x
// NComponents coordinates, row-major.
func UMAP(conn *sparse.CSR, p UMAPParams) ([]float32, UMAPInfo, error) {
	var info UMAPInfo
	if conn == nil {
		return nil, info, fmt.Errorf("%w: nil graph", ErrUMAPInput)
	}
	if err := conn.Validate(); err != nil {
		return nil, info, fmt.Errorf("%w: %w", ErrUMAPInput, err)
	}
	n := conn.Rows
	if conn.Cols != n {
		return nil, info, fmt.Errorf("%w: graph is %d x %d, want square", ErrUMAPInput, n, conn.Cols)
	}
	p = p.withDefaults()
	start := time.Now()
	lap := func(d *float64) {
		now := time.Now()
		*d, start = now.Sub(start).Seconds(), now
	}
	dim := p.NComponents
	switch {
	case dim < 1:
		return nil, info, fmt.Errorf("%w: %d components", ErrUMAPInput, dim)
	case p.NEpochs < 0 || p.NegativeSampleRate < 0:
		return nil, info, fmt.Errorf("%w: %d epochs, negative sample rate %d", ErrUMAPInput, p.NEpochs, p.NegativeSampleRate)
	case p.Init != "spectral" && p.Init != "random":
		return nil, info, fmt.Errorf("%w: init %q (want \"spectral\" or \"random\")", ErrUMAPInput, p.Init)
	case p.Coords != nil && (p.CoordsDim <= 0 || len(p.Coords) != n*p.CoordsDim):
		return nil, info, fmt.Errorf("%w: %d coordinates for %d cells x %d dimensions", ErrUMAPInput, len(p.Coords), n, p.CoordsDim)
	}
	info.A, info.B = p.A, p.B
	if info.A == 0 || info.B == 0 {
		a, b, err := FindABParams(p.Spread, p.MinDist)
		if err != nil {
			return nil, info, err
		}
		info.A, info.B = a, b
	}
	defaultEpochs := UMAPDefaultEpochs(n)
	info.NEpochs = p.NEpochs
	if info.NEpochs == 0 {
		info.NEpochs = defaultEpochs
	}
	// Drop edges that would be sampled less than once (umap-learn uses
	// the default epochs for this when n_epochs <= 10).
	cut := info.NEpochs
	if cut <= 10 {
		cut = defaultEpochs
	}
	g, err := umapPrune(conn, cut, p.Threads)
	if err != nil {
		return nil, info, err
	}
	info.Edges = g.NNZ()
	lap(&info.Times.Prune)

	rng := rand.New(rand.NewPCG(p.Seed, 0x5ca1ab1e))
	emb := make([]float32, n*dim)
	info.Init = p.Init
	if p.Init == "spectral" && p.RandomInitCells > 0 && n >= p.RandomInitCells {
		info.Init = "random"
		info.Note = fmt.Sprintf("random init: %d cells >= %d (rapids-singlecell's rule)", n, p.RandomInitCells)
	}
	if info.Init == "spectral" && n > 0 {
		lay, si, err := spectralLayoutOn(g, dim, p.Coords, p.CoordsDim, rng, p.Threads, p.Spectral, p.Seed)
		info.Components, info.EigenMatvecs, info.EigenResidual = si.components, si.matvecs, si.resid
		info.EigenSolver = si.solver()
		if f := si.fallbacks; len(f) > 0 {
			if len(f) > 3 {
				f = append(f[:3:3], fmt.Sprintf("%d more", len(si.fallbacks)-3))
			}
			info.Note = "spectral eigensolver on the host after the device's failed on " + strings.Join(f, "; ")
		}
		if err != nil {
			info.Init = "random"
			note := fmt.Sprintf("spectral initialisation failed, falling back to random: %v", err)
			if info.Note != "" {
				note += "; " + info.Note
			}
			info.Note = note
		} else {
			var big float64
			for _, v := range lay {
				big = max(big, math.Abs(v))
			}
			expansion := 10 / big
			if big == 0 {
				expansion = 1
			}
			for i, v := range lay {
				emb[i] = float32(v*expansion) + float32(rng.NormFloat64()*1e-4)
			}
		}
	}
	if info.Init == "random" {
		for i := range emb {
			emb[i] = float32(rng.Float64()*20 - 10)
		}
	}
	umapRescale(emb, dim)
	lap(&info.Times.Init)

	e := newUMAPEdges(g, info.NEpochs, p.Threads)
	lap(&info.Times.Schedule)
	if p.Optimizer == nil {
		info.Samples = umapOptimize(emb, dim, e, info.NEpochs, n, p, info.A, info.B)
		lap(&info.Times.Optimize)
		return emb, info, nil
	}
	info.Samples, err = p.Optimizer.UMAPOptimize(emb, n, e.head, e.tail, e.eps, backend.UMAPSGD{
		Dim: dim, NEpochs: info.NEpochs, A: info.A, B: info.B, Gamma: p.RepulsionStrength,
		LearningRate: p.LearningRate, NegativeSampleRate: p.NegativeSampleRate, Seed: p.Seed, Progress: p.Progress,
	})
	lap(&info.Times.Optimize)
	if err != nil {
		return nil, info, fmt.Errorf("graph: UMAP optimizer: %w", err)
	}
	return emb, info, nil
}

// umapPrune returns g without the entries below max(g) / nEpochs, or an
// error for a NaN, negative or infinite weight (found in the same pass as
// the maximum). Rows are cut into blocks counted, then filled, in
// parallel (at 1.3M cells the graph has 2.5e7 entries).
func umapPrune(g *sparse.CSR, nEpochs, threads int) (*sparse.CSR, error) {
	blocks := rowBlocks(g, threads)
	maxes := make([]float32, len(blocks))
	errs := make([]error, len(blocks))
	parallel.Blocks(blocks, func(b, lo, hi int) {
		var m float32
		for q := g.Indptr[lo]; q < g.Indptr[hi]; q++ {
			w := g.Data[q]
			if !(w >= 0) || math.IsInf(float64(w), 1) {
				errs[b] = fmt.Errorf("%w: edge %d has weight %v (want finite and >= 0)", ErrUMAPInput, q, w)
				return
			}
			m = max(m, w)
		}
		maxes[b] = m
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var wmax float32
	for _, m := range maxes {
		wmax = max(wmax, m)
	}
	thr := float64(wmax) / float64(nEpochs)
	keep := func(w float32) bool { return float64(w) >= thr && w > 0 }
	out := sparse.NewCSR(g.Rows, g.Cols, 0)
	// Row counts first, so that each block knows where its entries go.
	parallel.Blocks(blocks, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			var c int64
			for _, w := range g.Data[g.Indptr[i]:g.Indptr[i+1]] {
				if keep(w) {
					c++
				}
			}
			out.Indptr[i+1] = c
		}
	})
	for i := 0; i < g.Rows; i++ {
		out.Indptr[i+1] += out.Indptr[i]
	}
	nnz := out.Indptr[g.Rows]
	out.Indices = make([]int32, nnz)
	out.Data = make([]float32, nnz)
	parallel.Blocks(blocks, func(_, lo, hi int) {
		at := out.Indptr[lo]
		for i := lo; i < hi; i++ {
			cols, vals := g.Row(i)
			for q, w := range vals {
				if keep(w) {
					out.Indices[at], out.Data[at] = cols[q], w
					at++
				}
			}
		}
	})
	return out, nil
}

// rowBlocks cuts g's rows into up to threads blocks of about equal
// entries, each of at least one row (one block for small graphs).
func rowBlocks(g *sparse.CSR, threads int) [][2]int {
	nnz := g.Indptr[g.Rows]
	nb := max(1, min(int64(max(threads, 1)), nnz/(1<<16)))
	per := (nnz + nb - 1) / nb
	var out [][2]int
	for lo := 0; lo < g.Rows; {
		target := g.Indptr[lo] + per
		hi := lo + 1 + sort.Search(g.Rows-lo, func(k int) bool { return g.Indptr[lo+k+1] >= target })
		hi = min(hi, g.Rows)
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	if len(out) == 0 {
		out = append(out, [2]int{0, g.Rows})
	}
	return out
}

// umapRescale maps each dimension of emb linearly onto [0, 10].
func umapRescale(emb []float32, dim int) {
	n := len(emb) / dim
	for d := 0; d < dim; d++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < n; i++ {
			v := float64(emb[i*dim+d])
			lo, hi = min(lo, v), max(hi, v)
		}
		scale := 10 / (hi - lo)
		if !(hi > lo) {
			scale = 0
		}
		for i := 0; i < n; i++ {
			emb[i*dim+d] = float32((float64(emb[i*dim+d]) - lo) * scale)
		}
	}
}

// MakeEpochsPerSample returns, for each edge weight, the number of epochs
// between two samples of the edge: nEpochs / (nEpochs * w / max(w)), and
// -1 (never sampled) for zero weights, as umap-learn's
// make_epochs_per_sample.
func MakeEpochsPerSample(weights []float32, nEpochs int) []float64 {
	var wmax float64
	for _, w := range weights {
		wmax = max(wmax, float64(w))
	}
	out := make([]float64, len(weights))
	for i, w := range weights {
		ns := float64(nEpochs) * (float64(w) / wmax)
		if ns > 0 {
			out[i] = float64(nEpochs) / ns
		} else {
			out[i] = -1
		}
	}
	return out
}

// umapEdges holds the directed edges and their sampling schedules.
type umapEdges struct {
	head, tail []int32
	eps        []float32 // epochs per sample; <= 0: never sampled
	next       []float32 // epoch of the next sample (set by umapOptimize)
	nextNeg    []float32 // epoch of the next negative sample (set by umapOptimize)
}

func newUMAPEdges(g *sparse.CSR, nEpochs, threads int) *umapEdges {
	m := len(g.Data)
	e := &umapEdges{
		head: make([]int32, m),
		tail: g.Indices,
		eps:  make([]float32, m),
	}
	blocks := rowBlocks(g, threads)
	maxes := make([]float64, len(blocks))
	parallel.Blocks(blocks, func(b, lo, hi int) {
		var wmax float64
		for i := lo; i < hi; i++ {
			for q := g.Indptr[i]; q < g.Indptr[i+1]; q++ {
				e.head[q] = int32(i)
				wmax = max(wmax, float64(g.Data[q]))
			}
		}
		maxes[b] = wmax
	})
	var wmax float64
	for _, v := range maxes {
		wmax = max(wmax, v)
	}
	// MakeEpochsPerSample's arithmetic, edge by edge, into float32.
	parallel.Blocks(blocks, func(_, lo, hi int) {
		for q := g.Indptr[lo]; q < g.Indptr[hi]; q++ {
			ns := float64(nEpochs) * (float64(g.Data[q]) / wmax)
			if ns > 0 {
				e.eps[q] = float32(float64(nEpochs) / ns)
			} else {
				e.eps[q] = -1
			}
		}
	})
	return e
}

// umapOptimize runs the SGD epochs on emb in place and returns the number
// of positive samples.
func umapOptimize(emb []float32, dim int, e *umapEdges, nEpochs, nVert int, p UMAPParams, a, b float64) int64 {
	m := len(e.head)
	// Blocks of edges are handed out dynamically, so a thread that the OS
	// delays or that drew the busier edges does not hold up the epoch's
	// barrier; each block's negative samples come from a generator seeded
	// by (Seed, epoch, block).
	nBlocks := max(1, (m+umapBlockEdges-1)/umapBlockEdges)
	threads := max(1, min(p.Threads, nBlocks))
	nsr := float32(p.NegativeSampleRate)
	e.next = slices.Clone(e.eps)
	e.nextNeg = make([]float32, m)
	for q, v := range e.eps {
		e.nextNeg[q] = v / nsr
	}
	st := umapStep{grad: newUMAPGrad(a, b, p.RepulsionStrength), nsr: nsr, nVert: uint32(nVert), dim: dim}
	counts := make([]int64, threads*8) // padded against false sharing
	var wg sync.WaitGroup
	for epoch := 0; epoch < nEpochs; epoch++ {
		alpha := float32(p.LearningRate * (1 - float64(epoch)/float64(nEpochs)))
		var next atomic.Int64
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					blk := int(next.Add(1) - 1)
					if blk >= nBlocks {
						return
					}
					r := umapRand{s: umapMix(p.Seed ^ umapMix(uint64(epoch)<<32|uint64(blk)))}
					lo, hi := blk*m/nBlocks, (blk+1)*m/nBlocks
					counts[t*8] += st.epoch(emb, e, lo, hi, float32(epoch), alpha, &r)
				}
			}()
		}
		wg.Wait()
		if p.Progress != nil {
			p.Progress(epoch+1, nEpochs)
		}
	}
	var total int64
	for t := 0; t < threads; t++ {
		total += counts[t*8]
	}
	return total
}

// umapBlockEdges is the number of edges a thread takes at a time.
const umapBlockEdges = 16384

// umapStep holds the constants of one epoch's updates.
type umapStep struct {
	grad  *umapGrad
	nsr   float32
	nVert uint32
	dim   int
}

func umapClip(v float32) float32 {
	// Comparisons rather than min/max: the builtins' NaN and signed-zero
	// rules cost a few instructions in the innermost loop.
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}

// epoch runs _optimize_layout_euclidean_single_epoch on edges [lo, hi) and
// returns the number of positive samples.
func (st *umapStep) epoch(emb []float32, e *umapEdges, lo, hi int, n, alpha float32, r *umapRand) int64 {
	if st.dim == 2 {
		return st.epoch2(emb, e, lo, hi, n, alpha, r)
	}
	dim := st.dim
	var samples int64
	for q := lo; q < hi; q++ {
		if e.next[q] > n || e.eps[q] <= 0 {
			continue
		}
		samples++
		j, k := int(e.head[q]), int(e.tail[q])
		cur := emb[j*dim : j*dim+dim]
		oth := emb[k*dim : k*dim+dim]
		var d2 float32
		for d := range cur {
			t := cur[d] - oth[d]
			d2 += t * t
		}
		var gc float32
		if d2 > 0 {
			gc = st.grad.attractive(d2)
		}
		for d := range cur {
			g := umapClip(gc*(cur[d]-oth[d])) * alpha
			cur[d] += g
			oth[d] -= g
		}
		e.next[q] += e.eps[q]
		epsNeg := e.eps[q] / st.nsr
		nNeg := int((n - e.nextNeg[q]) / epsNeg)
		for range nNeg {
			k := int(r.intn(st.nVert))
			oth := emb[k*dim : k*dim+dim]
			var d2 float32
			for d := range cur {
				t := cur[d] - oth[d]
				d2 += t * t
			}
			if d2 > 0 {
				gc := st.grad.repulsive(d2)
				for d := range cur {
					cur[d] += umapClip(gc*(cur[d]-oth[d])) * alpha
				}
			} else if j != k {
				for d := range cur {
					cur[d] += 4 * alpha
				}
			}
		}
		e.nextNeg[q] += float32(nNeg) * epsNeg
	}
	return samples
}

// umapLanes is how many edges epoch2 keeps in flight. Consecutive edges
// usually share their head cell, so processed in order every update waits
// for the previous one through a chain of dependent pow calls (about 50
// cycles each). Edges taken from separate parts of the range have
// different heads: epoch2 computes their distances, then their pows side by
// side, then their updates, and the CPU overlaps the independent chains.
const umapLanes = 4

// epoch2 is epoch for two dimensions. Each of umapLanes streams walks its
// own part of [lo, hi); a step takes the next active edge of every stream,
// makes the attractive moves of all, then their negative samples in
// lockstep.
func (st *umapStep) epoch2(emb []float32, e *umapEdges, lo, hi int, n, alpha float32, r *umapRand) int64 {
	const L = umapLanes
	var (
		cur, end   [L]int
		q, j, nNeg [L]int
		cx, cy     [L]float32
		dx, dy     [L]float32
		d2, gc     [L]float32
		hit        [L]bool
		nk         [L]int     // the next round's negative samples
		nx, ny     [L]float32 // and their coordinates
	)
	for s := range cur {
		cur[s] = lo + s*(hi-lo)/L
		end[s] = lo + (s+1)*(hi-lo)/L
	}
	grad := st.grad
	var samples int64
	for {
		live := 0
		for s := range cur {
			p := cur[s]
			for p < end[s] && (e.next[p] > n || e.eps[p] <= 0) {
				p++
			}
			cur[s] = p + 1
			if p < end[s] {
				q[live] = p
				live++
			}
		}
		if live == 0 {
			return samples
		}
		samples += int64(live)
		// Attractive moves.
		for s := range live {
			js, k := int(e.head[q[s]]), int(e.tail[q[s]])
			j[s] = js
			cx[s], cy[s] = emb[2*js], emb[2*js+1]
			dx[s], dy[s] = cx[s]-emb[2*k], cy[s]-emb[2*k+1]
			d2[s] = dx[s]*dx[s] + dy[s]*dy[s]
		}
		for s := range live {
			gc[s] = grad.attractive(max(d2[s], math.SmallestNonzeroFloat32))
		}
		for s := range live {
			p := q[s]
			if d2[s] > 0 {
				gx := umapClip(gc[s]*dx[s]) * alpha
				gy := umapClip(gc[s]*dy[s]) * alpha
				cx[s] += gx
				cy[s] += gy
				k := int(e.tail[p])
				emb[2*k] -= gx
				emb[2*k+1] -= gy
			}
			e.next[p] += e.eps[p]
			epsNeg := e.eps[p] / st.nsr
			nNeg[s] = int((n - e.nextNeg[p]) / epsNeg)
			e.nextNeg[p] += float32(nNeg[s]) * epsNeg
		}
		most := 0
		for s := range live {
			most = max(most, nNeg[s])
		}
		// Negative samples, one per lane per round. Each round draws and
		// loads the next round's cells (same draws, same order), so that
		// their cache misses overlap this round's arithmetic: nothing in
		// this thread writes the embedding between the load and the use.
		for s := range live {
			if nNeg[s] > 0 {
				nk[s] = int(r.intn(st.nVert))
				nx[s], ny[s] = emb[2*nk[s]], emb[2*nk[s]+1]
			}
		}
		for round := 0; round < most; round++ {
			k, ox, oy := nk, nx, ny
			for s := range live {
				if round+1 < nNeg[s] {
					nk[s] = int(r.intn(st.nVert))
					nx[s], ny[s] = emb[2*nk[s]], emb[2*nk[s]+1]
				}
			}
			for s := range live {
				hit[s] = false
				d2[s] = 1 // harmless argument for lanes without a sample
				if round >= nNeg[s] || k[s] == j[s] {
					continue // no sample, or itself: zero distance, no gradient
				}
				hit[s] = true
				dx[s], dy[s] = cx[s]-ox[s], cy[s]-oy[s]
				d2[s] = dx[s]*dx[s] + dy[s]*dy[s]
			}
			for s := range live {
				gc[s] = grad.repulsive(max(d2[s], math.SmallestNonzeroFloat32))
			}
			for s := range live {
				if !hit[s] {
					continue
				}
				if d2[s] > 0 {
					cx[s] += umapClip(gc[s]*dx[s]) * alpha
					cy[s] += umapClip(gc[s]*dy[s]) * alpha
				} else {
					cx[s] += 4 * alpha // coincident cells: umap-learn's fixed push
					cy[s] += 4 * alpha
				}
			}
		}
		for s := range live {
			emb[2*j[s]], emb[2*j[s]+1] = cx[s], cy[s]
		}
	}
}

// umapRand is wyrand (Wang Yi): one add and one 64x64->128 multiply per
// number, good enough for picking negative samples.
type umapRand struct{ s uint64 }

func (r *umapRand) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// intn returns a number in [0, n) by Lemire's multiply-shift.
func (r *umapRand) intn(n uint32) uint32 {
	return uint32((r.next() & 0xffffffff) * uint64(n) >> 32)
}

// umapMix is the splitmix64 finalizer, for deriving per-thread seeds.
func umapMix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
