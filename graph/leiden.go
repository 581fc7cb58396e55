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
//     and its neighbours outside the new community re-enter the queue.
//   - RefinePartition (leiden_refine.go, Algorithm A.3): inside each
//     community S, start from singletons and visit the nodes in random
//     order; a singleton that is well connected to S joins a well-connected
//     sub-community C of S with non-negative gain, chosen with probability
//     proportional to exp(gain/theta), theta = 0.01 as in the paper.
//   - AggregateGraph (leiden_graph.go): one node per refined community; the
//     aggregated graph's initial partition is the non-refined one, so
//     refined sub-communities of one community start together and can
//     still move apart at the next level.
//
// Levels repeat until aggregation no longer shrinks the graph (leidenalg's
// rule: the aggregated graph is smaller and the level had fewer
// communities than nodes). With MaxIterations = -1, passes repeat, each
// starting from the previous result, until a pass moves no node: every
// move strictly increases Q, so an unchanged pass is leidenalg's
// "improvement <= 0". Labels are then numbered by decreasing size, as
// scanpy numbers its categories.
//
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
// Parallelism: MoveNodesFast is sequential (each move changes the gains of
// the next; the queue keeps it cheap). RefinePartition runs communities in
// parallel, AggregateGraph builds blocks of aggregated rows in parallel,
// and node strengths and Modularity are computed over row blocks. Every
// random stream is derived from (Seed, pass, level, community), never from
// the worker, so the result does not depend on Threads.

package graph

import (
	"errors"
	"fmt"
	"math"
	"sort"

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
	if err := leidenCheck(adj, p); err != nil {
		return nil, info, err
	}
	threads := lvThreads(p.Threads)
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
	for pass := 0; pass < maxPasses; pass++ {
		moves, levels := s.pass(g0, memb, uint64(pass))
		info.Iterations++
		info.Levels += levels
		info.Moves += moves
		if moves == 0 {
			break
		}
	}
	labels, info.Clusters = leidenRenumberBySize(memb)
	info.Modularity = modularityThreads(adj, labels, p.Resolution, threads)
	return labels, info, nil
}

func leidenCheck(adj *sparse.CSR, p LeidenParams) error {
	if adj == nil {
		return fmt.Errorf("%w: adjacency matrix is nil", ErrLeidenInput)
	}
	if adj.Rows != adj.Cols {
		return fmt.Errorf("%w: adjacency matrix is %d x %d, want square (cells x cells connectivities)", ErrLeidenInput, adj.Rows, adj.Cols)
	}
	if err := adj.Validate(); err != nil {
		return fmt.Errorf("%w: adjacency matrix: %v", ErrLeidenInput, err)
	}
	for i, w := range adj.Data {
		if !(w >= 0) || math.IsInf(float64(w), 1) {
			return fmt.Errorf("%w: adjacency value %g at position %d (column %d) is negative, NaN or infinite; modularity needs finite non-negative weights", ErrLeidenInput, w, i, adj.Indices[i])
		}
	}
	if !(p.Resolution >= 0) || math.IsInf(p.Resolution, 1) {
		return fmt.Errorf("%w: resolution %g, want a finite value >= 0", ErrLeidenInput, p.Resolution)
	}
	return nil
}

// leidenState holds what a pass reuses across levels: buffers sized for the
// original graph (aggregated graphs are never larger) and the parameters.
type leidenState struct {
	threads int
	gamma   float64
	seed    uint64

	// Sequential MoveNodesFast buffers.
	commK   []float64 // total strength per community
	commN   []int32   // nodes per community
	empty   []int32   // stack of community ids with no node
	queue   []int32   // ring buffer of nodes to visit
	inQueue []bool
	acc     []float64 // weight from the current node to each community
	touched []int32

	// Per-worker buffers of the parallel phases.
	work []*lvScratch
}

// lvScratch is one worker's dense accumulator over node or community ids.
type lvScratch struct {
	acc     []float64
	mark    []bool
	touched []int32
	cand    []int32
	probs   []float64
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
		acc:     make([]float64, n),
	}
	s.work = make([]*lvScratch, threads)
	for i := range s.work {
		s.work[i] = &lvScratch{acc: make([]float64, n), mark: make([]bool, n)}
	}
	return s
}

// pass runs one optimiser pass (Algorithm A.1 of the paper) from the
// node-level partition memb, which it updates. It returns the number of
// node moves (0 means the partition did not change) and of levels.
func (s *leidenState) pass(g0 *lvGraph[float32], memb []int32, pass uint64) (moves, levels int) {
	n0 := g0.n
	// aggOf maps each original node to its node in the current level's graph.
	aggOf := make([]int32, n0)
	for v := range aggOf {
		aggOf[v] = int32(v)
	}
	part := make([]int32, n0)
	copy(part, memb)

	st := lvLevel(s, g0, part, pass, 0)
	moves += st.moves
	levels = 1
	for st.next != nil {
		for v, a := range aggOf {
			aggOf[v] = st.refined[a]
		}
		g, level := st.next, levels
		st = lvLevel(s, g, st.nextPart, pass, uint64(level))
		moves += st.moves
		levels++
	}
	for v, a := range aggOf {
		memb[v] = st.part[a]
	}
	return moves, levels
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
	res.moves = leidenMoveNodesFast(s, g, part, lvStream(s.seed, pass, level, 0))
	nPart := leidenCompact(part, s.commN[:g.n])
	res.part = part
	if g.n <= nPart {
		return res // every community is a single node: nothing to aggregate
	}
	refined := leidenRefinePartition(s, g, part, nPart, pass, level)
	nRef := leidenCompact(refined, s.commN[:g.n])
	if nRef >= g.n {
		return res // refinement merged nothing: the aggregate graph would not shrink
	}
	res.refined = refined
	res.next = leidenAggregateGraph(g, refined, nRef, s.threads)
	res.nextPart = make([]int32, nRef)
	for v, r := range refined {
		res.nextPart[r] = part[v]
	}
	return res
}

// leidenCompact renumbers the ids in c to 0, 1, ... in order of first
// appearance and returns how many there are. seen is scratch with room for
// every id in c.
func leidenCompact(c []int32, seen []int32) int {
	for i := range seen {
		seen[i] = -1
	}
	k := int32(0)
	for i, x := range c {
		if seen[x] < 0 {
			seen[x] = k
			k++
		}
		c[i] = seen[x]
	}
	return int(k)
}

// leidenRenumberBySize returns memb relabelled so that label 0 is the
// largest cluster; equal sizes are ordered by their smallest member, which
// is the order of first appearance.
func leidenRenumberBySize(memb []int32) ([]int32, int) {
	labels := append([]int32(nil), memb...)
	seen := make([]int32, len(memb))
	k := leidenCompact(labels, seen)
	size := make([]int, k)
	for _, c := range labels {
		size[c]++
	}
	order := make([]int32, k)
	for i := range order {
		order[i] = int32(i)
	}
	// Compact ids follow first appearance, so a stable sort by size keeps
	// ties in smallest-member order.
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] > size[order[b]] })
	rank := make([]int32, k)
	for r, c := range order {
		rank[c] = int32(r)
	}
	for i, c := range labels {
		labels[i] = rank[c]
	}
	return labels, k
}
