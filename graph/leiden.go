// Leiden community detection on a weighted undirected graph.
//
// The algorithm is that of V. A. Traag, L. Waltman and N. J. van Eck,
// "From Louvain to Leiden: guaranteeing well-connected communities",
// Scientific Reports 9, 5233 (2019), with the quality function of
// leidenalg's RBConfigurationVertexPartition, which scanpy 1.9.6's
// tl.leiden(resolution=1, random_state=0, n_iterations=-1) optimizes:
//
//	Q = 1/(2m) sum_ij (A_ij - gamma k_i k_j / (2m)) delta(c_i, c_j)
//
// (Modularity in modularity.go). One pass of the optimiser runs the three
// phases of the paper (Algorithm A.1) level by level:
//
//   - MoveNodesFast (leiden_move.go, Algorithm A.2): queue-based local
//     moving. All nodes enter a queue in random order; a node moves to the
//     neighbouring community (or an empty one) with the largest strict gain,
//     and its neighbours outside the new community re-enter the queue. The
//     queue is taken in batches evaluated in parallel (see there): a node
//     whose evaluation a move earlier in its batch made stale goes back to
//     the queue instead.
//   - RefinePartition (leiden_refine.go, Algorithm A.3): inside each
//     community S, start from singletons and visit the nodes in random
//     order; a singleton that is well connected to S joins a well-connected
//     sub-community C of S with non-negative gain, chosen with probability
//     proportional to exp(gain/theta), theta = 0.01 as in the paper.
//   - AggregateGraph (leiden_graph.go): one node per refined community; the
//     aggregated graph's initial partition is the non-refined one, so
//     refined sub-communities of one community start together and can
//     still move apart at the next level. Aggregated nodes are numbered
//     community by community.
//
// Levels repeat until aggregation no longer shrinks the graph (leidenalg's
// rule: the aggregated graph is smaller and the level had fewer
// communities than nodes). With MaxIterations = -1, passes repeat, each
// starting from the previous result, until a pass moves no node: every
// move strictly increases Q, so an unchanged pass is leidenalg's
// "improvement <= 0". Labels are then numbered by decreasing size, as
// scanpy numbers its categories.
//
// Two changes make the later passes cheaper; on cell graphs such a pass
// moves a handful of nodes, yet would redo all the work. After the first
// pass the nodes are renumbered community by community (a permuted copy of
// the graph), so that a node's neighbours, their communities and rows sit
// close in memory. And a later pass's level-0 MoveNodesFast starts with
// only the nodes of the communities that the previous pass changed above
// level 0, and their neighbours, in the queue: any other node has the same
// community and neighbouring communities as when the previous pass's
// level-0 MoveNodesFast ended, so it would decide as it did then. When
// such a pass moves nothing, a MoveNodesFast over all nodes checks the
// result before the run stops (the passes go on if it moves a node), so
// the result is a local optimum as before.

// Where this differs from leidenalg 0.9.1: leidenalg's refinement
// (merge_nodes_constrained with RAND_NEIGH_COMM) merges a singleton into a
// random neighbouring sub-community with non-negative gain and does not
// test well-connectedness; this file follows the paper. scanpy builds a
// directed igraph graph holding both (i, j) and (j, i) for each stored
// entry of the symmetric connectivities; for a symmetric matrix the
// directed configuration model equals the undirected one above with 2m the
// sum of all stored entries, which is what this code uses. Random streams
// differ from igraph's Mersenne Twister, so partitions agree with scanpy's
// by adjusted Rand index, not label for label (scanpy agrees with itself at
// ARI 0.59-0.76 across seeds on brain10k).
//
// Parallelism (leiden_par.go has the building blocks). The result depends
// on Seed and the graph only, never on Threads: work is cut into pieces
// that do not depend on the thread count, floating-point sums are added in
// a fixed order, and every random stream is derived from (Seed, pass,
// level, community), never from the worker. Parallel:
//   - MoveNodesFast: evaluating a batch's nodes (the sums over their rows,
//     nearly all the work), marking the batch, and requeueing the
//     neighbours of moved nodes; the initial random order (a Feistel
//     permutation) and the community totals.
//   - RefinePartition: communities, the largest first; then numbering and
//     listing the sub-communities. Inside one community the merges are
//     sequential (each changes the next one's candidates and draw), so a
//     community holding a large share of the nodes bounds the speed-up.
//   - AggregateGraph: blocks of aggregated rows, then their copy into one
//     CSR; grouping nodes by community (a counting sort over chunks);
//     compaction of community ids; strengths, Modularity and the input
//     checks over row blocks; the renumbering after the first pass.
//
// Sequential: in MoveNodesFast, the in-order decisions of a batch (O(1)
// per node that evaluation did not settle: compare the gains evaluated
// ahead with the batch's changes so far, record the move) and appending
// to the queue; per level, sums over communities' sizes; the final
// relabelling by size. On 300,000 cells these take about 3% of the
// single-thread time of the first MoveNodesFast, and less elsewhere.

package graph

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync/atomic"

	"github.com/scbench/scbench/sparse"
)

// LeidenTheta is the randomness of the refinement phase (theta in Traag et
// al. 2019, Algorithm A.3): a merge with gain g is chosen with probability
// proportional to exp(g/theta). The paper and its reference implementation
// use 0.01.
const LeidenTheta = 0.01

// LeidenParams configures Leiden. The zero value is not useful: start from
// DefaultLeidenParams.
type LeidenParams struct {
	// Resolution is gamma in the quality function (scanpy's resolution,
	// default 1.0). Larger values give more, smaller clusters.
	Resolution float64
	// Seed drives every random choice (scanpy's random_state, default 0).
	Seed uint64
	// MaxIterations is the number of optimiser passes (scanpy's
	// n_iterations); -1 (the default) repeats passes until one changes
	// nothing, 0 runs none (every node alone).
	MaxIterations int
	// Threads is the number of goroutines for the parallel phases; 0 means
	// runtime.GOMAXPROCS(0). The result does not depend on it.
	Threads int
}

// DefaultLeidenParams returns scanpy's defaults: resolution 1, seed 0,
// iterate until stable, all cores.
func DefaultLeidenParams() LeidenParams {
	return LeidenParams{Resolution: 1, Seed: 0, MaxIterations: -1}
}

// LeidenInfo reports what Leiden did.
type LeidenInfo struct {
	Iterations int     // optimiser passes run, the last one changing nothing when MaxIterations < 0
	Levels     int     // aggregation levels summed over all passes
	Moves      int     // node moves in MoveNodesFast summed over all levels and passes
	Clusters   int     // clusters in the result
	Modularity float64 // Modularity of the result at the given resolution
}

// ErrLeidenInput is wrapped by every error Leiden returns for bad input.
var ErrLeidenInput = errors.New("graph: invalid Leiden input")

// leidenMaxPasses bounds the passes when MaxIterations < 0. Each pass that
// continues has strictly increased the quality, so the bound is only a
// guard against a cycle caused by rounding; real graphs stop after a few.
const leidenMaxPasses = 1000

// Leiden clusters the symmetric weighted adjacency matrix adj (n x n, such
// as scanpy's connectivities) and returns one label per node. Labels are
// numbered by decreasing cluster size (0 is the largest; ties go to the
// cluster holding the smaller node index). adj must be symmetric with
// non-negative finite weights; symmetry is not checked. Diagonal entries are
// self loops counted once.
func Leiden(adj *sparse.CSR, p LeidenParams) (labels []int32, info LeidenInfo, err error) {
	threads := lvThreads(p.Threads)
	if err := leidenCheck(adj, p, threads); err != nil {
		return nil, info, err
	}
	n := adj.Rows
	g0 := &lvGraph[float32]{n: n, indptr: adj.Indptr, indices: adj.Indices, w: adj.Data}
	g0.strengths(threads)

	s := newLeidenState(n, threads, p.Resolution, p.Seed)
	memb := make([]int32, n)
	for v := range memb {
		memb[v] = int32(v)
	}
	maxPasses := p.MaxIterations
	if maxPasses < 0 {
		maxPasses = leidenMaxPasses
	}
	var order []int32 // node i of g0 is node order[i] of adj; nil: the same
	var mid []int32   // the last pass's level-0 partition after moving
	for pass := 0; pass < maxPasses; pass++ {
		s.active = nil
		if mid != nil {
			s.active = lvActive(g0, mid, memb, s.active, threads)
		}
		moves, levels, part := s.pass(g0, memb, uint64(pass))
		mid = part
		info.Iterations++
		info.Levels += levels
		info.Moves += moves
		if moves == 0 && s.active != nil {
			// The pass visited only the nodes near the communities the
			// last pass changed above level 0. Before stopping, check
			// every node as a full pass would.
			s.active = nil
			part := append(mid[:0], memb...)
			moves = leidenMoveNodesFast(s, g0, part, lvStream(s.seed, uint64(pass), 0, 1), nil)
			info.Moves += moves
			if moves > 0 {
				lvCompactIDs(part, n, s.used, threads)
				memb, mid = part, nil
			}
		}
		if moves == 0 {
			break
		}
		if pass == 0 && n >= lvRenumberMin {
			// The first pass has found the communities: renumber the
			// nodes so that each community's are consecutive. The later
			// passes, which redo every phase on the whole graph, then
			// find a node's neighbours, their communities and rows close
			// to each other in memory.
			order = make([]int32, n)
			lvGroupBy(memb, n, s.commStart, order, threads)
			g0 = g0.permute(order, threads)
			memb = lvPermuted(memb, order, threads)
			if mid != nil {
				mid = lvPermuted(mid, order, threads)
			}
		}
	}
	if order != nil {
		orig := make([]int32, n)
		lvBlocks(threads, n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				orig[order[i]] = memb[i]
			}
		})
		memb = orig
	}
	labels, info.Clusters = leidenRenumberBySize(memb, threads)
	info.Modularity = modularityThreads(adj, labels, p.Resolution, threads)
	return labels, info, nil
}

// leidenCheck returns an error wrapping ErrLeidenInput when adj or p is
// unfit for Leiden.
func leidenCheck(adj *sparse.CSR, p LeidenParams, threads int) error {
	if adj == nil {
		return fmt.Errorf("%w: adjacency matrix is nil", ErrLeidenInput)
	}
	if adj.Rows != adj.Cols {
		return fmt.Errorf("%w: adjacency matrix is %d x %d, want square (cells x cells connectivities)", ErrLeidenInput, adj.Rows, adj.Cols)
	}
	if !(p.Resolution >= 0) || math.IsInf(p.Resolution, 1) {
		return fmt.Errorf("%w: resolution %g, want a finite value >= 0", ErrLeidenInput, p.Resolution)
	}
	// The O(nnz) checks of Validate and of the weights run over row blocks
	// in parallel; on a failure the sequential ones find the first problem
	// and word it.
	n, nnz := adj.Rows, int64(len(adj.Data))
	ok := n >= 0 && len(adj.Indptr) == n+1 && adj.Indptr[0] == 0 && adj.Indptr[n] == nnz && int64(len(adj.Indices)) == nnz
	if ok {
		var bad atomic.Bool
		lvBlocks(threads, n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				a, b := adj.Indptr[i], adj.Indptr[i+1]
				if a < 0 || b < a || b > nnz {
					bad.Store(true)
					return
				}
				for j, c := range adj.Indices[a:b] {
					if w := adj.Data[a+int64(j)]; c < 0 || int(c) >= n || !(w >= 0) || math.IsInf(float64(w), 1) {
						bad.Store(true)
						return
					}
				}
			}
		})
		ok = !bad.Load()
	}
	if ok {
		return nil
	}
	if err := adj.Validate(); err != nil {
		return fmt.Errorf("%w: adjacency matrix: %v", ErrLeidenInput, err)
	}
	for i, w := range adj.Data {
		if !(w >= 0) || math.IsInf(float64(w), 1) {
			return fmt.Errorf("%w: adjacency value %g at position %d (column %d) is negative, NaN or infinite; modularity needs finite non-negative weights", ErrLeidenInput, w, i, adj.Indices[i])
		}
	}
	return fmt.Errorf("%w: adjacency matrix failed a check that its validation passed", ErrLeidenInput)
}

// leidenState holds what a run reuses across passes and levels: buffers
// sized for the original graph (aggregated graphs are never larger), the
// workers' scratch and the parameters.
type leidenState struct {
	threads int
	gamma   float64
	seed    uint64

	// MoveNodesFast (leiden_move.go).
	commK   []float64 // total strength per community
	commN   []int32   // nodes per community
	empty   []int32   // stack of community ids with no node
	queue   []int32   // ring buffer of nodes to visit
	inQueue []bool
	// The batch's nodes, their evaluations and outcomes, each task's
	// requeued nodes; per node, the batch bitmap and positions and the
	// stamped requeue claims.
	batchNodes []int32
	moveRes    []lvMoveEval
	moveState  []uint8
	requeue    [][]int32
	inBatch    []uint64
	bpos       []int32
	claim      []uint32
	stamp      uint32
	// The batch's moves: each node's new community, and the changes of
	// the communities (a hash table over dslot, its used slots).
	moveTo       []int32
	deltas       []lvDelta
	dslot, dused []int32

	// RefinePartition (leiden_refine.go): nodes grouped by community and
	// the communities' order; per node, its sub-community's representative
	// and per representative the sub-community's strength, weight to the
	// rest of its community and size; sub-communities per community and
	// their first number; the result.
	commStart, commNodes, commOrder []int32
	rep, subN                       []int32
	subK, subOut                    []float64
	nSub, subOff                    []int32
	label, refMembers               []int32
	refStart, refComm               []int32
	refined                         lvRefined

	// The nodes queued first at level 0 (nil: all), and scratch.
	active []uint32
	tmp    []int32

	// Levels: used ids for compaction, the initial partitions and graphs
	// of aggregated levels (two of each, alternating).
	used    []int32
	partBuf [2][]int32
	aggBuf  [2]lvGraph[float64]

	// Per-worker scratch of the parallel phases.
	work []*lvScratch
}

// lvScratch is one worker's scratch.
type lvScratch struct {
	table lvTable  // weights per community of one row
	cand  []lvCand // refinement candidates
	visit []int32  // refinement order
	count []int32  // refinement sizes
	// Aggregated rows built by this worker.
	aggIdx []int32
	aggW   []float64
}

// grow returns count with at least k entries.
func (sc *lvScratch) grow(k int) []int32 {
	sc.count = lvResize(sc.count, max(k, cap(sc.count)))
	return sc.count
}

func newLeidenState(n, threads int, gamma float64, seed uint64) *leidenState {
	s := &leidenState{
		threads: threads,
		gamma:   gamma,
		seed:    seed,
		commK:   make([]float64, n),
		commN:   make([]int32, n),
		empty:   make([]int32, 0, n),
		queue:   make([]int32, n),
		inQueue: make([]bool, n),
	}
	nb := min(n, lvMoveBatch)
	s.batchNodes = make([]int32, nb)
	s.moveRes = make([]lvMoveEval, nb)
	s.moveState = make([]uint8, nb)
	s.requeue = make([][]int32, (nb+lvMoveTask-1)/lvMoveTask)
	s.inBatch = make([]uint64, (n+63)/64)
	s.bpos = make([]int32, n)
	s.claim = make([]uint32, n)
	s.moveTo = make([]int32, nb)

	s.commStart = make([]int32, n+1)
	s.commNodes = make([]int32, n)
	s.commOrder = make([]int32, n)
	s.rep = make([]int32, n)
	s.subN = make([]int32, n)
	s.subK = make([]float64, n)
	s.subOut = make([]float64, n)
	s.nSub = make([]int32, n+1)
	s.subOff = make([]int32, n+1)
	s.label = make([]int32, n)
	s.refMembers = make([]int32, n)
	s.refStart = make([]int32, n+1)
	s.refComm = make([]int32, n)

	s.used = make([]int32, n)
	s.tmp = make([]int32, n)
	s.work = make([]*lvScratch, threads)
	for i := range s.work {
		s.work[i] = &lvScratch{}
	}
	return s
}

// pass runs one optimiser pass (Algorithm A.1 of the paper) from the
// node-level partition memb, which it updates. It returns the number of
// node moves (0 means the partition did not change), of levels, and the
// level-0 partition after moving.
func (s *leidenState) pass(g0 *lvGraph[float32], memb []int32, pass uint64) (moves, levels int, part0 []int32) {
	n0 := g0.n
	// aggOf maps each original node to its node in the current level's graph.
	aggOf := make([]int32, n0)
	part := make([]int32, n0)
	lvBlocks(s.threads, n0, func(_, lo, hi int) {
		for v := lo; v < hi; v++ {
			aggOf[v] = int32(v)
		}
		copy(part[lo:hi], memb[lo:hi])
	})

	st := lvLevel(s, g0, part, pass, 0)
	part0 = st.part
	moves += st.moves
	levels = 1
	for st.next != nil {
		refined := st.refined
		lvBlocks(s.threads, n0, func(_, lo, hi int) {
			for v := lo; v < hi; v++ {
				aggOf[v] = refined[aggOf[v]]
			}
		})
		g, level := st.next, levels
		st = lvLevel(s, g, st.nextPart, pass, uint64(level))
		moves += st.moves
		levels++
	}
	final := st.part
	lvBlocks(s.threads, n0, func(_, lo, hi int) {
		for v := lo; v < hi; v++ {
			memb[v] = final[aggOf[v]]
		}
	})
	return moves, levels, part0
}

// lvLevelResult is what one level hands to the next.
type lvLevelResult struct {
	moves    int
	part     []int32           // this level's partition after moving, compact ids
	refined  []int32           // this level's node -> next level's node
	next     *lvGraph[float64] // nil when aggregation stops
	nextPart []int32           // initial partition of next: the non-refined one
}

// lvLevel runs MoveNodesFast, RefinePartition and AggregateGraph on one
// level. part is the level's initial partition (ids < g.n); it is updated.
func lvLevel[W lvWeight](s *leidenState, g *lvGraph[W], part []int32, pass, level uint64) lvLevelResult {
	var res lvLevelResult
	var active []uint32
	if level == 0 {
		active = s.active
	}
	res.moves = leidenMoveNodesFast(s, g, part, lvStream(s.seed, pass, level, 0), active)
	nPart := lvCompactIDs(part, g.n, s.used, s.threads)
	res.part = part
	if g.n <= nPart {
		return res // every community is a single node: nothing to aggregate
	}
	r := leidenRefinePartition(s, g, part, nPart, pass, level)
	if r.n >= g.n {
		return res // refinement merged nothing: the aggregate graph would not shrink
	}
	res.refined = r.label
	res.next = leidenAggregateGraph(s, g, r, level)
	next := lvResize(s.partBuf[level%2], r.n)
	s.partBuf[level%2] = next
	copy(next, r.comm)
	res.nextPart = next
	return res
}

// lvPermuted returns x renumbered: entry i of the result is x[order[i]].
func lvPermuted(x, order []int32, threads int) []int32 {
	y := make([]int32, len(x))
	lvBlocks(threads, len(x), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = x[order[i]]
		}
	})
	return y
}

// lvActive returns the nodes that a pass's level-0 MoveNodesFast queues
// first (active[v] != 0), given the last pass's level-0 partition after
// moving (mid) and its final partition (end, both with ids < len): those
// of the final communities that are not communities of mid, and their
// neighbours. The others were last evaluated in a state that, as far as
// their own and their neighbours' communities go, has not changed. buf is
// reused when large enough.
func lvActive[W lvWeight](g *lvGraph[W], mid, end []int32, buf []uint32, threads int) []uint32 {
	n := g.n
	// Final community X is unchanged when all its nodes come from one
	// community Y of mid, of the same size.
	from := make([]int32, n)    // X -> Y, -1 unset, -2 several
	sizes := make([]int32, 2*n) // sizes of X (even) and Y (odd)
	for x := range from {
		from[x] = -1
	}
	for v, x := range end {
		y := mid[v]
		sizes[2*x]++
		sizes[2*y+1]++
		if f := from[x]; f == -1 {
			from[x] = y
		} else if f != y {
			from[x] = -2
		}
	}
	changed := func(x int32) bool {
		f := from[x]
		return f < 0 || sizes[2*f+1] != sizes[2*x]
	}
	active := lvResize(buf, n)
	lvBlocks(threads, n, func(_, lo, hi int) { clear(active[lo:hi]) })
	lvBlocks(threads, n, func(_, lo, hi int) {
		for v := lo; v < hi; v++ {
			if !changed(end[v]) {
				continue
			}
			atomic.StoreUint32(&active[v], 1)
			for _, u := range g.indices[g.indptr[v]:g.indptr[v+1]] {
				if atomic.LoadUint32(&active[u]) == 0 {
					atomic.StoreUint32(&active[u], 1)
				}
			}
		}
	})
	return active
}

// lvRenumberMin is the number of nodes from which Leiden renumbers the
// graph after its first pass.
const lvRenumberMin = 1 << 14

// leidenRenumberBySize returns memb (ids < len(memb)) relabelled so that
// label 0 is the largest cluster; equal sizes are ordered by their
// smallest member. Clusters are counted over chunks of nodes in parallel
// when there are few of them.
func leidenRenumberBySize(memb []int32, threads int) ([]int32, int) {
	n := len(memb)
	labels := make([]int32, n)
	const chunks = 64
	maxID := int32(-1)
	for _, c := range memb {
		maxID = max(maxID, c)
	}
	nIDs := int(maxID) + 1
	size := make([]int, nIDs)
	first := make([]int, nIDs) // smallest member
	if nIDs*chunks <= n {
		// Per chunk: sizes, and first members (n when none).
		cs := make([]int, chunks*nIDs)
		cf := make([]int, chunks*nIDs)
		per := (n + chunks - 1) / chunks
		lvParallel(threads, chunks, func(_, b int) {
			sz, fs := cs[b*nIDs:(b+1)*nIDs], cf[b*nIDs:(b+1)*nIDs]
			for i := range fs {
				fs[i] = n
			}
			lo := min(b*per, n)
			for i, c := range memb[lo:min((b+1)*per, n)] {
				if sz[c] == 0 {
					fs[c] = lo + i
				}
				sz[c]++
			}
		})
		for c := range first {
			first[c] = n
		}
		for b := 0; b < chunks; b++ {
			for c := 0; c < nIDs; c++ {
				size[c] += cs[b*nIDs+c]
				first[c] = min(first[c], cf[b*nIDs+c])
			}
		}
	} else {
		for c := range first {
			first[c] = n
		}
		for i, c := range memb {
			if size[c] == 0 {
				first[c] = i
			}
			size[c]++
		}
	}
	var order []int32
	for c := range size {
		if size[c] > 0 {
			order = append(order, int32(c))
		}
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if size[x] != size[y] {
			return size[x] > size[y]
		}
		return first[x] < first[y]
	})
	rank := make([]int32, nIDs)
	for r, c := range order {
		rank[c] = int32(r)
	}
	lvBlocks(threads, n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			labels[i] = rank[memb[i]]
		}
	})
	return labels, len(order)
}
