package gpu

import (
	"fmt"
	"math"
	"sort"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// Leiden community detection on the device (kernels/leiden.cl):
// backend.CommunityDetector.
//
// The graph goes to the device once; a level's phases are kernels over
// its nodes or entries, and the host reads back only counts (moves, the
// number of communities, the next level's size) between them: O(1) per
// sweep or round, O(communities) once per pass for the modularity, and
// the labels at the end.
//
// # Weights in fixed point
//
// The float32 weights become int64 multiples of 2^-s, s chosen so that
// their sum (2m) is below 2^60: strengths, community totals and the
// aggregated graph's weights are then integer sums, exact in any order,
// so that integer atomics can add them and the result does not depend on
// the device's scheduling. A weight below 2^-61 of the total rounds to 0.
//
// # One level
//
//  1. Local moving (leiden_move, leiden_apply): synchronous sweeps. Each
//     node, from the state after the previous sweep, finds the gain of
//     moving to each neighbouring community (a hash table of its row's
//     communities in scratch memory it owns) and picks the best positive
//     one; the moves are then made and the community totals and sizes
//     updated with integer atomics. Moves made together are judged on a
//     state they change; to keep them from undoing each other, only the
//     nodes whose coin (drawn from seed, pass, level, sweep and node) is 1
//     move in a sweep, and a node alone in its community joins another
//     single node only if that one's id is smaller (Lu et al.'s rule in
//     Grappolo), so that two single nodes never swap. (Alternating sweeps
//     between moves to smaller and to larger ids, as cuGraph's Louvain
//     does, and moving only an independent set of the would-be movers
//     chosen by gain, converged more slowly or to lower modularity on the
//     test graphs.) Sweeps stop when a pair of them moves fewer than 1% of
//     the nodes, or after leidenMaxSweeps.
//  2. Refinement (leiden_ref_*): inside each community, from singletons,
//     rounds in which singletons well connected to their community join a
//     well-connected sub-community with non-negative gain, the best one
//     (the paper draws among them with probability exp(gain/0.01), nearly
//     always the best on these weights). A coin per node and round, drawn
//     from (seed, pass, level, round, node), makes it a mover or a
//     receiver; movers join only sub-communities without movers, so that
//     a round's merges never conflict. Rounds stop when no singleton has
//     a candidate, or after leidenMaxRounds.
//  3. Aggregation (leiden_agg_*): sub-communities and communities are
//     numbered by scans of their used ids; every entry is added to a hash
//     table of its aggregated row (compare-and-swap claims a key, int64
//     atomics add weights), sized twice the row lengths of the members;
//     the tables are compacted into the next level's CSR and each row
//     sorted by column by ranks. The next level starts from the
//     non-refined partition, as the paper says.
//
// A pass stops when a level's refinement leaves as many sub-communities
// as nodes (the graph would not shrink) or after MaxLevels levels; its
// modularity is computed on the last level's graph (aggregation keeps
// every weight). Passes repeat from the previous pass's partition (the
// paper's iteration) while they improve the modularity by at least
// leidenPassTol, at most leidenMaxPasses times (or MaxPasses times); a
// pass that does not improve it is dropped and ends the run. The parallel
// moves end a pass in a poorer local optimum than the host's queue: on
// brain10k a first pass reaches 0.660-0.668 where graph.Leiden's reaches
// 0.675, and the second 0.672-0.679.
//
// # Cost at 1.3 million nodes and 25 million entries (an H100/H200)
//
// Estimated, not measured. A sweep reads each entry, gathers its
// neighbour's community, and clears, fills and probes 2 table slots an
// entry in the node's own region, then gathers the candidates' totals:
// about 8 uncoalesced 32-byte sectors an entry, 6.4 GB, 2.5-3 ms. The
// refinement costs one such pass (leiden_ref_out, then the first round of
// leiden_ref_move) and then rounds in which only the remaining singletons
// read their rows (O(n) each, about 15 of them). Aggregation: 25 million
// compare-and-swaps and int64 atomic additions, a bisection per table
// slot (50 million), ranks costing the squares of the aggregated rows'
// lengths, three single-work-group scans over the nodes (select_scan,
// 0.5-1 ms each): about 15 ms. The levels above shrink about threefold
// each. On the 100,000-cell test graph the first pass takes 20-30 sweeps
// at level 0 and the later ones 2-6; so about 0.1 s for the first pass,
// 0.05 s for each later one, 0.2-0.4 s for up to 6 passes, with the
// upload (210 MB, 10 ms), about a thousand launches and a few hundred
// reads of counters (20 ms) on top: within the 1.2 s target, against 5.7
// s for graph.Leiden on 16 cores.

const (
	// leidenMaxSweeps bounds the local-moving sweeps of a level (even:
	// sweeps go in pairs).
	leidenMaxSweeps = 64
	// leidenSweepTol: the local moving stops when a pair of sweeps moves
	// fewer than this fraction of the nodes.
	leidenSweepTol = 0.01
	// leidenMaxRounds bounds the refinement rounds of a level.
	leidenMaxRounds = 24
	// leidenSlots is the size of the per-level counters: sweeps' moves
	// from 0, refinement rounds' wants and merges from leidenSlots/2.
	leidenSlots = 2 * (leidenMaxSweeps + 2*leidenMaxRounds)
	// leidenMaxPasses bounds the passes when LeidenSpec.MaxPasses is 0.
	leidenMaxPasses = 6
	// leidenPassTol is the least modularity gain for which another pass
	// runs when LeidenSpec.MaxPasses is 0.
	leidenPassTol = 1e-4
	// leidenLocal is LEIDEN_LOCAL, the reduction kernels' largest
	// work-group.
	leidenLocal = 256
)

var _ backend.CommunityDetector = (*Backend)(nil)

// Leiden clusters the symmetric weighted graph g: see
// backend.CommunityDetector.
func (be *Backend) Leiden(g *sparse.CSR, p backend.LeidenSpec) ([]int32, backend.LeidenResult, error) {
	var info backend.LeidenResult
	if err := leidenShape(g, p); err != nil {
		return nil, info, fmt.Errorf("gpu: Leiden: %w", err)
	}
	n := g.Rows
	if n == 0 {
		return []int32{}, info, nil
	}
	r := &leidenRun{knnRun: knnRun{be: be}, gamma: p.Resolution, seed: p.Seed}
	defer r.free()
	memb, err := r.run(g, p, &info)
	if err != nil {
		return nil, info, fmt.Errorf("gpu: Leiden: %w", err)
	}
	labels, clusters := leidenBySize(memb)
	info.Clusters = clusters
	return labels, info, nil
}

// leidenShape checks what the host can check in O(1).
func leidenShape(g *sparse.CSR, p backend.LeidenSpec) error {
	switch {
	case g == nil:
		return fmt.Errorf("%w: nil matrix", backend.ErrShape)
	case g.Rows != g.Cols || g.Rows < 0 || g.Rows >= math.MaxInt32:
		return fmt.Errorf("%w: %d x %d matrix, want square with fewer than 2^31-1 rows", backend.ErrShape, g.Rows, g.Cols)
	case len(g.Indptr) != g.Rows+1 || len(g.Indices) != len(g.Data):
		return fmt.Errorf("%w: %d rows with %d row pointers, %d indices, %d values", backend.ErrShape, g.Rows,
			len(g.Indptr), len(g.Indices), len(g.Data))
	case g.Indptr[0] != 0 || g.Indptr[g.Rows] != int64(len(g.Data)):
		return fmt.Errorf("%w: row pointers run from %d to %d, want 0 to %d", backend.ErrShape, g.Indptr[0],
			g.Indptr[g.Rows], len(g.Data))
	case !(p.Resolution >= 0) || math.IsInf(p.Resolution, 1):
		return fmt.Errorf("%w: resolution %g, want finite and >= 0", backend.ErrShape, p.Resolution)
	case p.MaxLevels < 0 || p.MaxPasses < 0:
		return fmt.Errorf("%w: MaxLevels %d, MaxPasses %d, want >= 0", backend.ErrShape, p.MaxLevels, p.MaxPasses)
	}
	return nil
}

// leidenGraph is one level's graph on the device.
type leidenGraph struct {
	n           int
	nnz         int64
	ptr, idx, w Mem // int64 n+1, int32 nnz, int64 nnz
	k           Mem // int64 n: the strengths (row sums)
}

// leidenRun holds one run's state and allocations.
type leidenRun struct {
	knnRun
	gamma float64
	seed  uint64
	n0    int
	nnz0  int64
	total int64   // 2m in fixed point
	gOver float64 // gamma / 2m
	eps   float64 // the least gain of a move
	red   int     // the reduction kernels' work-group size

	g     [3]leidenGraph // level 0, then two alternating levels
	part  [2]Mem         // the current level's partition and the next's
	cur   int            // part[cur] is the current partition
	next  Mem            // int32 n0: a sweep's decisions
	commK Mem            // int64 n0: community totals
	commN Mem            // int32 n0: community sizes

	ref, target, refSize Mem // int32 n0
	refK, refOut         Mem // int64 n0
	wTarget              Mem // int64 n0
	rid, cursor, top     Mem // int32 n0
	out                  Mem // int32 n0: a pass's labels
	mark, deg            Mem // int64 2(n0+1), n0+1
	tabK                 Mem // int32 2 nnz0
	tabV                 Mem // int64 2 nnz0
	tcol, trow           Mem // int32 nnz0
	tw                   Mem // int64 nnz0
	count                Mem // int32 leidenSlots
	scalar               Mem // int64 2: sums read back
}

// run uploads g and runs the passes; it returns the last pass's
// partition of the nodes (ids < n, not yet numbered by size).
func (r *leidenRun) run(g *sparse.CSR, p backend.LeidenSpec, info *backend.LeidenResult) ([]int32, error) {
	be := r.be
	n, nnz := g.Rows, int64(len(g.Data))
	r.n0, r.nnz0 = n, nnz
	r.red = 1
	for r.red*2 <= min(leidenLocal, be.rt.MaxLocal()) {
		r.red *= 2
	}
	if err := r.allocate(); err != nil {
		return nil, err
	}
	if err := r.upload0(g); err != nil {
		return nil, err
	}
	if r.total == 0 {
		// No weight: every node alone, modularity 0.
		memb := make([]int32, n)
		for i := range memb {
			memb[i] = int32(i)
		}
		info.Iterations = 1
		return memb, nil
	}
	r.gOver = r.gamma / float64(r.total)
	r.eps = float64(r.total) * 0x1p-40

	maxPasses := p.MaxPasses
	if maxPasses == 0 {
		maxPasses = leidenMaxPasses
	}
	var best []int32
	bestQ := math.Inf(-1)
	for pass := range maxPasses {
		if err := r.startPass(pass); err != nil {
			return nil, err
		}
		g, err := r.pass(pass, p.MaxLevels, info)
		if err != nil {
			return nil, fmt.Errorf("pass %d: %w", pass, err)
		}
		info.Iterations++
		q, err := r.modularity(g)
		if err != nil {
			return nil, fmt.Errorf("pass %d: %w", pass, err)
		}
		if q <= bestQ && best != nil {
			break // a pass that does not improve is dropped
		}
		labels := make([]int32, n)
		if err := be.rt.ToHost(asBytes(labels), r.out, 0); err != nil {
			return nil, fmt.Errorf("reading the labels: %w", err)
		}
		gain := q - bestQ
		best, bestQ = labels, q
		if p.MaxPasses == 0 && gain < leidenPassTol {
			break
		}
	}
	info.Modularity = bestQ
	return best, nil
}

// allocate makes the run's buffers (the aggregated levels' graphs when
// first needed).
func (r *leidenRun) allocate() error {
	n, nnz := r.n0, int(r.nnz0)
	var err error
	for _, a := range []struct {
		m    *Mem
		what string
		k    backend.Kind
		n    int
	}{
		{&r.part[0], "the partition", backend.Int32, n},
		{&r.part[1], "the next partition", backend.Int32, n},
		{&r.next, "the moves", backend.Int32, n},
		{&r.commK, "the community totals", backend.Int64, n},
		{&r.commN, "the community sizes", backend.Int32, n},
		{&r.ref, "the refined partition", backend.Int32, n},
		{&r.target, "the merges", backend.Int32, n},
		{&r.refSize, "the sub-community sizes", backend.Int32, n},
		{&r.refK, "the sub-community totals", backend.Int64, n},
		{&r.refOut, "the sub-community cuts", backend.Int64, n},
		{&r.wTarget, "the merges' weights", backend.Int64, n},
		{&r.rid, "the aggregated nodes", backend.Int32, n},
		{&r.cursor, "the row cursors", backend.Int32, n},
		{&r.top, "the nodes' aggregates", backend.Int32, n},
		{&r.out, "the labels", backend.Int32, n},
		{&r.mark, "the numbering scans", backend.Int64, 2 * (n + 1)},
		{&r.deg, "the table offsets", backend.Int64, n + 1},
		{&r.tabK, "the hash tables' keys", backend.Int32, 2 * nnz},
		{&r.tabV, "the hash tables' values", backend.Int64, 2 * nnz},
		{&r.count, "the counters", backend.Int32, leidenSlots},
		{&r.scalar, "the sums", backend.Int64, 2},
	} {
		if *a.m, err = r.alloc(a.what, a.k, a.n); err != nil {
			return err
		}
	}
	return nil
}

// graph returns level graph slot s, allocating it for n0 nodes and nnz0
// entries on first use (levels only shrink).
func (r *leidenRun) graph(s int) (*leidenGraph, error) {
	g := &r.g[s]
	if g.ptr != nil {
		return g, nil
	}
	var err error
	if g.ptr, err = r.alloc("a level's row pointers", backend.Int64, r.n0+1); err != nil {
		return nil, err
	}
	if g.idx, err = r.alloc("a level's columns", backend.Int32, int(r.nnz0)); err != nil {
		return nil, err
	}
	if g.w, err = r.alloc("a level's weights", backend.Int64, int(r.nnz0)); err != nil {
		return nil, err
	}
	if g.k, err = r.alloc("a level's strengths", backend.Int64, r.n0); err != nil {
		return nil, err
	}
	return g, nil
}

// upload0 uploads and checks the input, converts its weights to fixed
// point and computes the strengths and r.total.
func (r *leidenRun) upload0(m *sparse.CSR) error {
	be := r.be
	n, nnz := r.n0, r.nnz0
	g, err := r.graph(0)
	if err != nil {
		return err
	}
	g.n, g.nnz = n, nnz
	if err := be.rt.ToDevice(g.ptr, 0, asBytes(m.Indptr)); err != nil {
		return fmt.Errorf("copying the row pointers: %w", err)
	}
	if nnz > 0 {
		if err := be.rt.ToDevice(g.idx, 0, asBytes(m.Indices)); err != nil {
			return fmt.Errorf("copying the columns: %w", err)
		}
	}
	wf, err := r.upload("the weights", backend.Float32, asBytes(m.Data), int(nnz))
	if err != nil {
		return err
	}
	bad, err := r.zeroed("the input check", backend.Int32, 2)
	if err != nil {
		return err
	}
	if err := r.launch("leiden_check", int64(n), int32(n), nnz, g.ptr, g.idx, wf, bad); err != nil {
		return err
	}
	var nbad [2]int32
	if err := be.rt.ToHost(asBytes(nbad[:]), bad, 0); err != nil {
		return fmt.Errorf("reading the input check: %w", err)
	}
	if nbad[0] != 0 || nbad[1] != 0 {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("%w: %v", backend.ErrShape, err)
		}
		return fmt.Errorf("%w: %d rows with bad row pointers, %d entries with a column outside [0, %d) or a negative, NaN or infinite weight",
			backend.ErrShape, nbad[0], nbad[1], n)
	}

	// The float64 sum of the weights in a fixed order sets the scale.
	if nnz > 0 {
		total, err := r.alloc("the weight sums", backend.Float64, fuzzySumGroups+1)
		if err != nil {
			return err
		}
		sl := 1
		for sl*2 <= min(fuzzySumLocal, be.rt.MaxLocal()) {
			sl *= 2
		}
		if err := be.launch("fuzzy_sum", [3]int{fuzzySumGroups, 1, 1}, [3]int{sl, 1, 1}, nnz, wf, total); err != nil {
			return err
		}
		if err := be.launch("fuzzy_sum_final", [3]int{1, 1, 1}, [3]int{sl, 1, 1}, int32(fuzzySumGroups), total); err != nil {
			return err
		}
		var sum [1]float64
		if err := be.rt.ToHost(asBytes(sum[:]), total, fuzzySumGroups*8); err != nil {
			return fmt.Errorf("reading the weight sum: %w", err)
		}
		r.release(total)
		if sum[0] > 0 {
			_, e := math.Frexp(sum[0]) // sum < 2^e
			scale := math.Ldexp(1, 60-e)
			if err := r.launch("leiden_fixed", nnz, nnz, scale, wf, g.w); err != nil {
				return err
			}
		} else if err := be.rt.Zero(g.w, 0, nnz*8); err != nil {
			return err
		}
	}
	r.release(wf)
	r.release(bad)
	t, err := r.strengths(g)
	if err != nil {
		return err
	}
	r.total = t
	return nil
}

// strengths computes g.k and returns their sum.
func (r *leidenRun) strengths(g *leidenGraph) (int64, error) {
	be := r.be
	if err := be.rt.Zero(r.scalar, 0, 8); err != nil {
		return 0, err
	}
	if err := r.be.launch1D("leiden_strength", int64(g.n), r.red, int32(g.n), g.ptr, g.w, g.k, r.scalar); err != nil {
		return 0, err
	}
	var t [1]int64
	if err := be.rt.ToHost(asBytes(t[:]), r.scalar, 0); err != nil {
		return 0, fmt.Errorf("reading the total weight: %w", err)
	}
	return t[0], nil
}

// startPass sets level 0's partition: singletons in pass 0, the previous
// pass's labels (r.out) after; the original nodes are their own
// aggregates.
func (r *leidenRun) startPass(pass int) error {
	be := r.be
	n := int64(r.n0)
	r.cur = 0
	if pass == 0 {
		if err := r.launch("leiden_identity", n, int32(n), r.part[0]); err != nil {
			return err
		}
	} else if err := be.rt.Copy(r.part[0], 0, r.out, 0, n*4); err != nil {
		return fmt.Errorf("copying the partition: %w", err)
	}
	return r.launch("leiden_identity", n, int32(n), r.top)
}

// pass runs the levels of one pass from graph 0 and partition
// r.part[r.cur], leaves the partition of the original nodes in r.out and
// returns the last level's graph.
func (r *leidenRun) pass(pass, maxLevels int, info *backend.LeidenResult) (*leidenGraph, error) {
	g := &r.g[0]
	for level := 0; ; level++ {
		if err := r.commTotals(g); err != nil {
			return nil, err
		}
		sweeps, moves, err := r.move(g, pass, level)
		if err != nil {
			return nil, fmt.Errorf("level %d: local moving: %w", level, err)
		}
		info.Levels++
		info.Sweeps += sweeps
		info.Moves += moves
		if maxLevels > 0 && level+1 >= maxLevels {
			break
		}
		if err := r.refine(g, pass, level); err != nil {
			return nil, fmt.Errorf("level %d: refinement: %w", level, err)
		}
		ng, err := r.graph(1 + level%2) // level 0's graph stays for the next pass
		if err != nil {
			return nil, err
		}
		shrunk, err := r.aggregate(g, ng)
		if err != nil {
			return nil, fmt.Errorf("level %d: aggregation: %w", level, err)
		}
		if !shrunk {
			break
		}
		g = ng
	}
	return g, r.launch("leiden_labels", int64(r.n0), int32(r.n0), r.top, r.part[r.cur], r.out)
}

// commTotals computes r.commK for g and the current partition.
func (r *leidenRun) commTotals(g *leidenGraph) error {
	be := r.be
	if err := be.rt.Zero(r.commK, 0, int64(g.n)*8); err != nil {
		return err
	}
	if err := be.rt.Zero(r.commN, 0, int64(g.n)*4); err != nil {
		return err
	}
	return r.launch("leiden_comm_totals", int64(g.n), int32(g.n), r.part[r.cur], g.k, r.commK, r.commN)
}

// counts zeroes the counters.
func (r *leidenRun) resetCounts() error {
	return r.be.rt.Zero(r.count, 0, leidenSlots*4)
}

// readCounts reads counters [from, from+len(dst)).
func (r *leidenRun) readCounts(dst []int32, from int) error {
	if err := r.be.rt.ToHost(asBytes(dst), r.count, int64(from)*4); err != nil {
		return fmt.Errorf("reading the counters: %w", err)
	}
	return nil
}

// move runs the local-moving sweeps on g and returns their number and
// the moves made.
func (r *leidenRun) move(g *leidenGraph, pass, level int) (sweeps int, moves int64, err error) {
	n := int64(g.n)
	if err := r.resetCounts(); err != nil {
		return 0, 0, err
	}
	part := r.part[r.cur]
	for sweeps < leidenMaxSweeps {
		for half := range 2 {
			stream := leidenStream(r.seed, leidenMoving, pass, level, sweeps+half)
			if err := r.launch("leiden_move", n, int32(n), stream, r.gOver, r.eps, g.ptr, g.idx, g.w, g.k, part,
				r.commK, r.commN, r.tabK, r.tabV, r.next); err != nil {
				return sweeps, moves, err
			}
			if err := r.launch("leiden_apply", n, int32(n), int32(sweeps+half), g.k, part, r.next, r.commK, r.commN,
				r.count); err != nil {
				return sweeps, moves, err
			}
		}
		var c [2]int32
		if err := r.readCounts(c[:], sweeps); err != nil {
			return sweeps, moves, err
		}
		sweeps += 2
		m := int64(c[0]) + int64(c[1])
		moves += m
		if m == 0 || float64(m) < leidenSweepTol*float64(n) {
			break
		}
	}
	return sweeps, moves, nil
}

// refine runs the refinement rounds on g within the current partition,
// leaving the sub-communities in r.ref.
func (r *leidenRun) refine(g *leidenGraph, pass, level int) error {
	be := r.be
	n := int64(g.n)
	n32 := int32(n)
	if err := r.launch("leiden_ref_init", n, n32, g.k, r.ref, r.refK, r.refSize); err != nil {
		return err
	}
	part := r.part[r.cur]
	base := leidenMaxSweeps
	if err := be.rt.Zero(r.refOut, 0, n*8); err != nil {
		return err
	}
	if err := r.launch("leiden_ref_out", n, n32, g.ptr, g.idx, g.w, part, r.ref, r.refOut); err != nil {
		return err
	}
	for round := range leidenMaxRounds {
		stream := leidenStream(r.seed, leidenRefining, pass, level, round)
		if err := r.launch("leiden_ref_move", n, n32, stream, r.gOver, g.ptr, g.idx, g.w, g.k, part,
			r.commK, r.ref, r.refK, r.refOut, r.refSize, r.tabK, r.tabV, r.target, r.wTarget, r.count,
			int32(base+2*round)); err != nil {
			return err
		}
		if err := r.launch("leiden_ref_apply", n, n32, g.ptr, g.idx, g.w, g.k, r.ref, r.target,
			r.wTarget, r.refK, r.refOut, r.refSize, r.count, int32(base+2*round+1)); err != nil {
			return err
		}
		var c [2]int32
		if err := r.readCounts(c[:], base+2*round); err != nil {
			return err
		}
		if c[0] == 0 {
			break
		}
	}
	return nil
}

// aggregate builds in ng the graph of g's sub-communities (r.ref) and
// the next level's partition; it returns false, changing nothing, when
// there are as many sub-communities as nodes.
func (r *leidenRun) aggregate(g, ng *leidenGraph) (bool, error) {
	be := r.be
	n := int64(g.n)
	n32 := int32(n)
	if err := be.rt.Zero(r.mark, 0, 2*(n+1)*8); err != nil {
		return false, err
	}
	part, npart := r.part[r.cur], r.part[1-r.cur]
	if err := r.launch("leiden_agg_mark", n, n32, r.ref, part, r.mark); err != nil {
		return false, err
	}
	if err := r.scan(2, n, r.mark); err != nil {
		return false, err
	}
	var nr [1]int64
	if err := be.rt.ToHost(asBytes(nr[:]), r.mark, n*8); err != nil {
		return false, fmt.Errorf("reading the number of sub-communities: %w", err)
	}
	if nr[0] >= n {
		return false, nil
	}
	nn := nr[0]
	if err := be.rt.Zero(r.deg, 0, (nn+1)*8); err != nil {
		return false, err
	}
	if err := be.rt.Zero(ng.k, 0, nn*8); err != nil {
		return false, err
	}
	if err := r.launch("leiden_agg_map", n, n32, g.ptr, r.ref, part, g.k, r.mark, r.rid, npart,
		r.deg, ng.k); err != nil {
		return false, err
	}
	if err := r.launch("leiden_top", int64(r.n0), int32(r.n0), r.rid, r.top); err != nil {
		return false, err
	}
	if err := r.scan(1, nn, r.deg); err != nil {
		return false, err
	}
	slots := 2 * g.nnz
	if err := be.rt.Zero(r.tabK, 0, slots*4); err != nil {
		return false, err
	}
	if err := be.rt.Zero(r.tabV, 0, slots*8); err != nil {
		return false, err
	}
	if err := be.rt.Zero(ng.ptr, 0, (nn+1)*8); err != nil {
		return false, err
	}
	if err := r.launch("leiden_agg_insert", n, n32, g.ptr, g.idx, g.w, r.rid, r.deg, r.tabK, r.tabV,
		ng.ptr); err != nil {
		return false, err
	}
	if err := r.scan(1, nn, ng.ptr); err != nil {
		return false, err
	}
	var nnz [1]int64
	if err := be.rt.ToHost(asBytes(nnz[:]), ng.ptr, nn*8); err != nil {
		return false, fmt.Errorf("reading the aggregated graph's size: %w", err)
	}
	if err := be.rt.Zero(r.cursor, 0, nn*4); err != nil {
		return false, err
	}
	if err := r.tmp(); err != nil {
		return false, err
	}
	if err := r.launch("leiden_agg_compact", slots, int32(nn), r.deg, r.tabK, r.tabV, ng.ptr, r.cursor,
		r.tcol, r.tw, r.trow); err != nil {
		return false, err
	}
	if err := r.launch("leiden_agg_sort", nnz[0], nnz[0], ng.ptr, r.trow, r.tcol, r.tw, ng.idx,
		ng.w); err != nil {
		return false, err
	}
	ng.n, ng.nnz = int(nn), nnz[0]
	r.cur = 1 - r.cur
	return true, nil
}

// tmp allocates the aggregation's unsorted entries on first use.
func (r *leidenRun) tmp() error {
	if r.tcol != nil {
		return nil
	}
	var err error
	if r.tcol, err = r.alloc("the aggregated columns", backend.Int32, int(r.nnz0)); err != nil {
		return err
	}
	if r.trow, err = r.alloc("the aggregated rows", backend.Int32, int(r.nnz0)); err != nil {
		return err
	}
	r.tw, err = r.alloc("the aggregated weights", backend.Int64, int(r.nnz0))
	return err
}

// modularity returns the modularity of the current partition of the
// last level's graph g, which is that of r.out on the input: aggregation
// keeps every weight (inside a community, as self loops). The inside
// weight is summed on the device; the community totals (r.commK, kept up
// to date by the moves) are read back, g.n of them, and their squares
// added in order.
func (r *leidenRun) modularity(g *leidenGraph) (float64, error) {
	be := r.be
	n := int64(g.n)
	if err := be.rt.Zero(r.scalar, 0, 8); err != nil {
		return 0, err
	}
	if err := be.launch1D("leiden_inside", n, r.red, int32(n), g.ptr, g.idx, g.w, r.part[r.cur], r.scalar); err != nil {
		return 0, err
	}
	var in [1]int64
	if err := be.rt.ToHost(asBytes(in[:]), r.scalar, 0); err != nil {
		return 0, fmt.Errorf("reading the inside weight: %w", err)
	}
	commK := make([]int64, n)
	if err := be.rt.ToHost(asBytes(commK), r.commK, 0); err != nil {
		return 0, fmt.Errorf("reading the community totals: %w", err)
	}
	tot := float64(r.total)
	var sq float64
	for _, k := range commK {
		x := float64(k) / tot
		sq += x * x
	}
	return float64(in[0])/tot - r.gamma*sq, nil
}

// The phases that draw coins.
const (
	leidenMoving = iota + 1
	leidenRefining
)

// leidenStream derives the random stream of a sweep or round from the
// seed, the phase, the pass, the level and the step.
func leidenStream(seed uint64, phase, pass, level, step int) uint64 {
	z := leidenMix(seed ^ 0x6c656964656e) // "leiden"
	for _, x := range []int{phase, pass, level, step} {
		z = leidenMix(z + uint64(x))
	}
	return z
}

// leidenMix is splitmix64's finalizer (leiden_mix in the kernels).
func leidenMix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// leidenBySize numbers memb's clusters by decreasing size, ties by their
// smallest node, and returns the labels and their number.
func leidenBySize(memb []int32) ([]int32, int) {
	n := len(memb)
	size := make([]int32, n)
	first := make([]int32, n)
	var ids []int32
	for i, c := range memb {
		if size[c] == 0 {
			first[c] = int32(i)
			ids = append(ids, c)
		}
		size[c]++
	}
	// ids is in order of first member already: a stable sort by size
	// keeps that order among equal sizes.
	sort.SliceStable(ids, func(a, b int) bool { return size[ids[a]] > size[ids[b]] })
	label := first // reused: first[c] is no longer needed
	for l, c := range ids {
		label[c] = int32(l)
	}
	out := make([]int32, n)
	for i, c := range memb {
		out[i] = label[c]
	}
	return out, len(ids)
}

// launch runs a kernel with a work-item per node or entry (n of them).
func (r *leidenRun) launch(name string, n int64, args ...any) error {
	return r.be.launch1D(name, n, localSize, args...)
}

// scan runs select_scan on groups arrays of n.
func (r *leidenRun) scan(groups int, n int64, x Mem) error {
	return r.be.launch("select_scan", [3]int{groups, 1, 1}, [3]int{r.be.scanLocal(), 1, 1}, n, x)
}
