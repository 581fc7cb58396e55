package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/sparse"
)

// leidenEdge is an undirected weighted edge of a test graph.
type leidenEdge struct {
	u, v int
	w    float32
}

// leidenTestCSR builds the symmetric CSR of undirected edges: both
// directions of every edge, a self loop (u == v) stored once; parallel
// edges are kept as duplicate entries.
func leidenTestCSR(n int, edges []leidenEdge) *sparse.CSR {
	cnt := make([]int64, n+1)
	for _, e := range edges {
		cnt[e.u+1]++
		if e.u != e.v {
			cnt[e.v+1]++
		}
	}
	for i := 0; i < n; i++ {
		cnt[i+1] += cnt[i]
	}
	m := sparse.NewCSR(n, n, cnt[n])
	copy(m.Indptr, cnt)
	pos := append([]int64(nil), cnt[:n]...)
	put := func(i, j int, w float32) {
		m.Indices[pos[i]] = int32(j)
		m.Data[pos[i]] = w
		pos[i]++
	}
	for _, e := range edges {
		put(e.u, e.v, e.w)
		if e.u != e.v {
			put(e.v, e.u, e.w)
		}
	}
	return m
}

// leidenClique appends the edges of a clique on nodes [lo, hi) with weight w.
func leidenClique(edges []leidenEdge, lo, hi int, w float32) []leidenEdge {
	for i := lo; i < hi; i++ {
		for j := i + 1; j < hi; j++ {
			edges = append(edges, leidenEdge{i, j, w})
		}
	}
	return edges
}

// leidenRandomGraph returns a random symmetric graph with planted groups of
// awkward sizes, some self loops and a few isolated nodes, and the planted
// group of every node.
func leidenRandomGraph(rng *rand.Rand, n, groups int, pIn, pOut float64) (*sparse.CSR, []int32) {
	truth := make([]int32, n)
	for i := range truth {
		truth[i] = int32(rng.IntN(groups))
	}
	var edges []leidenEdge
	for i := 0; i < n; i++ {
		if i%29 == 28 {
			continue // isolated
		}
		for j := i + 1; j < n; j++ {
			if j%29 == 28 {
				continue
			}
			p := pOut
			if truth[i] == truth[j] {
				p = pIn
			}
			if rng.Float64() < p {
				edges = append(edges, leidenEdge{i, j, float32(0.05 + rng.Float64())})
			}
		}
		if i%7 == 3 {
			edges = append(edges, leidenEdge{i, i, float32(0.3 * rng.Float64())})
		}
	}
	return leidenTestCSR(n, edges), truth
}

// leidenModularityDense is an independent reference: the definition evaluated on
// a dense float64 copy of the matrix.
func leidenModularityDense(adj *sparse.CSR, labels []int32, gamma float64) float64 {
	n := adj.Rows
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := adj.Indptr[i]; j < adj.Indptr[i+1]; j++ {
			a[i*n+int(adj.Indices[j])] += float64(adj.Data[j])
		}
	}
	k := make([]float64, n)
	var m2 float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			k[i] += a[i*n+j]
		}
		m2 += k[i]
	}
	if m2 == 0 {
		return 0
	}
	var q float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if labels[i] == labels[j] {
				q += a[i*n+j] - gamma*k[i]*k[j]/m2
			}
		}
	}
	return q / m2
}

func TestModularityAgainstDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	for _, n := range []int{1, 2, 13, 37, 101} {
		adj, truth := leidenRandomGraph(rng, n, 4, 0.4, 0.05)
		random := make([]int32, n)
		for i := range random {
			random[i] = int32(rng.IntN(5))
		}
		single := make([]int32, n)
		for i := range single {
			single[i] = int32(i)
		}
		for _, labels := range [][]int32{truth, random, single, make([]int32, n)} {
			for _, gamma := range []float64{0, 0.5, 1, 2.7} {
				got := Modularity(adj, labels, gamma)
				want := leidenModularityDense(adj, labels, gamma)
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("n=%d gamma=%g: Modularity %.15g, dense reference %.15g", n, gamma, got, want)
				}
				if th := modularityThreads(adj, labels, gamma, 3); th != got {
					t.Errorf("n=%d gamma=%g: 3 threads give %.17g, default %.17g", n, gamma, th, got)
				}
			}
		}
	}
	// One community holding everything has modularity 1 - gamma.
	adj, _ := leidenRandomGraph(rng, 50, 3, 0.3, 0.1)
	if q := Modularity(adj, make([]int32, 50), 1); math.Abs(q) > 1e-12 {
		t.Errorf("one community: modularity %g, want 0", q)
	}
	// No edges: defined as 0.
	if q := Modularity(sparse.NewCSR(4, 4, 0), []int32{0, 1, 2, 3}, 1); q != 0 {
		t.Errorf("empty graph: modularity %g, want 0", q)
	}
}

// lvTestGraph wraps a CSR as a level-0 graph for the phase tests.
func lvTestGraph(adj *sparse.CSR) *lvGraph[float32] {
	g := &lvGraph[float32]{n: adj.Rows, indptr: adj.Indptr, indices: adj.Indices, w: adj.Data}
	g.strengths(2)
	return g
}

// lvGraphCSR converts an aggregated graph back to a CSR for Modularity.
func lvGraphCSR(g *lvGraph[float64]) *sparse.CSR {
	m := sparse.NewCSR(g.n, g.n, int64(len(g.indices)))
	copy(m.Indptr, g.indptr)
	copy(m.Indices, g.indices)
	for i, w := range g.w {
		m.Data[i] = float32(w)
	}
	return m
}

// leidenAssertLocalOptimum checks, by recomputing Modularity, that no single
// node gains by moving to a neighbour's community or to a new one.
func leidenAssertLocalOptimum(t *testing.T, adj *sparse.CSR, labels []int32, gamma float64) {
	t.Helper()
	q0 := Modularity(adj, labels, gamma)
	try := append([]int32(nil), labels...)
	fresh := int32(len(labels) + 1)
	for v := 0; v < adj.Rows; v++ {
		cands := []int32{fresh}
		for j := adj.Indptr[v]; j < adj.Indptr[v+1]; j++ {
			cands = append(cands, labels[adj.Indices[j]])
		}
		for _, c := range cands {
			if c == labels[v] {
				continue
			}
			try[v] = c
			if q := Modularity(adj, try, gamma); q > q0+1e-9 {
				t.Fatalf("node %d gains %.3g by moving from %d to %d", v, q-q0, labels[v], c)
			}
		}
		try[v] = labels[v]
	}
}

func TestLeidenMoveNodesFast(t *testing.T) {
	// Two 5-cliques joined by one edge: local moving from singletons finds them.
	edges := leidenClique(nil, 0, 5, 1)
	edges = leidenClique(edges, 5, 10, 1)
	edges = append(edges, leidenEdge{4, 5, 1})
	adj := leidenTestCSR(10, edges)
	g := lvTestGraph(adj)
	s := newLeidenState(10, 1, 1, 0)
	part := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	moves := leidenMoveNodesFast(s, g, part, 1, nil)
	if moves == 0 {
		t.Fatal("no moves from singletons")
	}
	for v := 1; v < 10; v++ {
		if (part[v] == part[0]) != (v < 5) {
			t.Fatalf("partition %v does not split the two cliques", part)
		}
	}
	// A second run from the result moves nothing.
	if m := leidenMoveNodesFast(s, g, part, 2, nil); m != 0 {
		t.Errorf("%d moves from a local optimum", m)
	}

	// On random graphs the result is better than singletons. A node's
	// gains also change when non-neighbours join or leave its community,
	// which does not queue it again, so one run need not end in a local
	// optimum; a run that moves nothing has evaluated every node in the
	// final state, so it certifies one. Runs do not depend on the thread
	// count.
	rng := rand.New(rand.NewPCG(11, 5))
	for _, n := range []int{23, 71, 150, 3001} {
		adj, _ := leidenRandomGraph(rng, n, 5, min(0.3, 40/float64(n)), min(0.04, 2/float64(n)))
		g := lvTestGraph(adj)
		var parts [][]int32
		for _, threads := range []int{1, 2, 3} {
			s := newLeidenState(n, threads, 1, 9)
			part := make([]int32, n)
			for i := range part {
				part[i] = int32(i)
			}
			before := Modularity(adj, part, 1)
			leidenMoveNodesFast(s, g, part, 3, nil)
			if after := Modularity(adj, part, 1); after <= before {
				t.Errorf("n=%d: modularity %g after moving, %g before", n, after, before)
			}
			runs := 1
			for ; runs < 20 && leidenMoveNodesFast(s, g, part, uint64(3+runs), nil) > 0; runs++ {
			}
			if runs == 20 {
				t.Errorf("n=%d threads=%d: still moving after %d runs", n, threads, runs)
			}
			if n < 500 {
				leidenAssertLocalOptimum(t, adj, part, 1)
			}
			parts = append(parts, part)
		}
		for i := 1; i < len(parts); i++ {
			if !slices.Equal(parts[i], parts[0]) {
				t.Errorf("n=%d: partition with %d threads differs from 1 thread", n, i+1)
			}
		}
	}
}

// TestLeidenMoveNodesFastEmptyCommunity starts with a clique and a node that has
// only a self loop in one community: the node's one improving move is to
// an empty community.
func TestLeidenMoveNodesFastEmptyCommunity(t *testing.T) {
	edges := leidenClique(nil, 0, 4, 1)
	edges = append(edges, leidenEdge{4, 4, 2})
	adj := leidenTestCSR(5, edges)
	g := lvTestGraph(adj)
	s := newLeidenState(5, 1, 1, 0)
	part := make([]int32, 5)
	before := Modularity(adj, part, 1)
	if moves := leidenMoveNodesFast(s, g, part, 1, nil); moves != 1 {
		t.Errorf("%d moves, want 1", moves)
	}
	if part[0] != part[1] || part[0] != part[2] || part[0] != part[3] || part[4] == part[0] {
		t.Fatalf("partition %v, want the clique and node 4 apart", part)
	}
	if after := Modularity(adj, part, 1); after <= before {
		t.Errorf("modularity %g after the move, %g before", after, before)
	}
}

// leidenConnected reports whether nodes (a set) induce a connected subgraph.
func leidenConnected(adj *sparse.CSR, nodes []int32) bool {
	in := map[int32]bool{}
	for _, v := range nodes {
		in[v] = true
	}
	seen := map[int32]bool{nodes[0]: true}
	stack := []int32{nodes[0]}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for j := adj.Indptr[v]; j < adj.Indptr[v+1]; j++ {
			u := adj.Indices[j]
			if in[u] && !seen[u] {
				seen[u] = true
				stack = append(stack, u)
			}
		}
	}
	return len(seen) == len(nodes)
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

// lvCheckRefined checks the layout of a refinement of part: every node
// is listed once, under its label; labels are numbered community by
// community; each sub-community lies in one community.
func lvCheckRefined(t *testing.T, r *lvRefined, part []int32) {
	t.Helper()
	n := len(part)
	if len(r.start) != r.n+1 || r.start[0] != 0 || r.start[r.n] != int32(n) || len(r.comm) != r.n {
		t.Fatalf("refinement of %d nodes into %d: start %v, %d communities", n, r.n, r.start, len(r.comm))
	}
	seen := make([]bool, n)
	for c := 0; c < r.n; c++ {
		if c > 0 && r.comm[c] < r.comm[c-1] {
			t.Fatalf("sub-community %d of community %d after one of %d", c, r.comm[c], r.comm[c-1])
		}
		members := r.members[r.start[c]:r.start[c+1]]
		if len(members) == 0 {
			t.Fatalf("sub-community %d is empty", c)
		}
		for i, v := range members {
			if seen[v] || r.label[v] != int32(c) || part[v] != r.comm[c] || (i > 0 && v <= members[i-1]) {
				t.Fatalf("sub-community %d (community %d) lists node %d (label %d, community %d) out of place", c, r.comm[c], v, r.label[v], part[v])
			}
			seen[v] = true
		}
	}
}

// lvCopyRefined returns a copy of r, whose buffers belong to a state.
func lvCopyRefined(r *lvRefined) *lvRefined {
	return &lvRefined{n: r.n, label: slices.Clone(r.label), start: slices.Clone(r.start),
		members: slices.Clone(r.members), comm: slices.Clone(r.comm)}
}

func TestLeidenRefinePartition(t *testing.T) {
	// One community made of two disconnected cliques plus a third clique:
	// refinement must split the first, and merges only inside communities.
	edges := leidenClique(nil, 0, 4, 1)
	edges = leidenClique(edges, 4, 9, 0.7)
	edges = leidenClique(edges, 9, 15, 1.3)
	edges = append(edges, leidenEdge{8, 9, 0.2})
	adj := leidenTestCSR(15, edges)
	g := lvTestGraph(adj)
	s := newLeidenState(15, 2, 1, 4)
	part := []int32{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	r := leidenRefinePartition(s, g, part, 2, 0, 0)
	lvCheckRefined(t, r, part)
	refined := r.label
	if refined[0] == refined[5] {
		t.Errorf("refined %v joins two disconnected cliques", refined)
	}
	if refined[0] != refined[3] || refined[4] != refined[8] || refined[9] != refined[14] {
		t.Logf("refined %v (cliques not fully merged; allowed but unexpected)", refined)
	}

	// Random graphs and partitions: refined communities are connected
	// subsets of one community each.
	rng := rand.New(rand.NewPCG(8, 1))
	for _, n := range []int{31, 90, 203, 2500} {
		adj, truth := leidenRandomGraph(rng, n, 4, min(0.25, 30/float64(n)), min(0.05, 3/float64(n)))
		g := lvTestGraph(adj)
		s := newLeidenState(n, 3, 1, 2)
		part := append([]int32(nil), truth...)
		nPart := leidenCompact(part, make([]int32, n))
		r := lvCopyRefined(leidenRefinePartition(s, g, part, nPart, 1, 2))
		lvCheckRefined(t, r, part)
		merged := 0
		for c := 0; c < r.n; c++ {
			nodes := r.members[r.start[c]:r.start[c+1]]
			if !leidenConnected(adj, nodes) {
				t.Fatalf("n=%d: refined community %v is not connected", n, nodes)
			}
			merged += len(nodes) - 1
		}
		if merged == 0 {
			t.Errorf("n=%d: refinement merged nothing", n)
		}
		// Same seed and coordinates with another thread count: same result.
		s1 := newLeidenState(n, 1, 1, 2)
		if r1 := leidenRefinePartition(s1, g, part, nPart, 1, 2); !slices.Equal(r1.label, r.label) || !slices.Equal(r1.members, r.members) {
			t.Errorf("n=%d: refinement depends on the thread count", n)
		}
	}
}

// lvGroupRefined lays out the refinement of part given by label (ids in
// [0, nRef), each within one community of part) as leidenRefinePartition
// returns it.
func lvGroupRefined(label, part []int32, nRef int) *lvRefined {
	r := &lvRefined{n: nRef, label: label, start: make([]int32, nRef+1), members: make([]int32, len(label)), comm: make([]int32, nRef)}
	lvGroupBy(label, nRef, r.start, r.members, 2)
	for v, l := range label {
		r.comm[l] = part[v]
	}
	return r
}

func TestLeidenGroupBy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct{ n, keys int }{{0, 1}, {1, 1}, {7, 3}, {1000, 1}, {5003, 17}, {20011, 4999}, {70001, 70001}} {
		keys := make([]int32, c.n)
		for i := range keys {
			keys[i] = int32(rng.IntN(c.keys))
		}
		for _, threads := range []int{1, 3} {
			start, items := make([]int32, c.keys+1), make([]int32, c.n)
			lvGroupBy(keys, c.keys, start, items, threads)
			if start[0] != 0 || start[c.keys] != int32(c.n) {
				t.Fatalf("n=%d keys=%d: start %d..%d", c.n, c.keys, start[0], start[c.keys])
			}
			for k := 0; k < c.keys; k++ {
				for p := start[k]; p < start[k+1]; p++ {
					if keys[items[p]] != int32(k) || (p > start[k] && items[p] <= items[p-1]) {
						t.Fatalf("n=%d keys=%d threads=%d: item %d of key %d out of place", c.n, c.keys, threads, items[p], k)
					}
				}
			}
		}
		// Keeping the items of odd key keeps their order.
		kept := make([]int32, c.n)
		k := lvKeep(keys, kept, func(x int32) bool { return x%2 == 1 }, 3)
		want := slices.DeleteFunc(slices.Clone(keys), func(x int32) bool { return x%2 == 0 })
		if !slices.Equal(kept[:k], want) {
			t.Fatalf("n=%d: lvKeep kept %d items, want %d", c.n, k, len(want))
		}
		// Compaction keeps the order of ids.
		ids := slices.Clone(keys)
		k = lvCompactIDs(ids, c.keys, make([]int32, c.keys), 3)
		sorted := slices.Compact(slices.Sorted(slices.Values(keys)))
		if k != len(sorted) {
			t.Fatalf("n=%d: %d compact ids, %d distinct", c.n, k, len(sorted))
		}
		for i, x := range keys {
			if j, _ := slices.BinarySearch(sorted, x); ids[i] != int32(j) {
				t.Fatalf("n=%d: id %d compacted to %d, want %d", c.n, x, ids[i], j)
			}
		}
	}
}

func TestLeidenShuffle(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 4097} {
		a, b := make([]int32, n), make([]int32, n)
		lvShuffle(a, 5, 9, 1)
		lvShuffle(b, 5, 9, 3)
		if !slices.Equal(a, b) {
			t.Fatalf("n=%d: shuffle depends on the thread count", n)
		}
		if !slices.Equal(slices.Sorted(slices.Values(a)), slices.Collect(func(yield func(int32) bool) {
			for i := range int32(n) {
				if !yield(i) {
					return
				}
			}
		})) {
			t.Fatalf("n=%d: %v is not a permutation", n, a)
		}
		if n >= 1000 {
			// Not the identity, and about half the pairs in order.
			fixed, inOrder := 0, 0
			for i := range a {
				if a[i] == int32(i) {
					fixed++
				}
				if i > 0 && a[i] > a[i-1] {
					inOrder++
				}
			}
			if fixed > 10 || math.Abs(float64(inOrder)/float64(n-1)-0.5) > 0.05 {
				t.Errorf("n=%d: %d fixed points, %d of %d neighbours in order", n, fixed, inOrder, n-1)
			}
		}
	}
}

func TestLeidenAggregateGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	for _, n := range []int{17, 64, 1500, 2100} {
		adj, truth := leidenRandomGraph(rng, n, 6, 0.02+20/float64(n), 2/float64(n))
		g := lvTestGraph(adj)
		// Aggregate by a random refinement of the planted groups.
		refined := make([]int32, n)
		for v := range refined {
			refined[v] = truth[v]*3 + int32(rng.IntN(3))
		}
		nRef := leidenCompact(refined, make([]int32, n))
		r := lvGroupRefined(refined, truth, nRef)
		for _, threads := range []int{1, 3} {
			s := newLeidenState(n, threads, 1, 0)
			ag := leidenAggregateGraph(s, g, r, 0)
			if ag.n != nRef || ag.total != g.total {
				t.Fatalf("n=%d: aggregated %d nodes total %g, want %d and %g", n, ag.n, ag.total, nRef, g.total)
			}
			agCSR := lvGraphCSR(ag)
			if err := agCSR.Validate(); err != nil {
				t.Fatal(err)
			}
			// Strengths and symmetry.
			check := &lvGraph[float64]{n: ag.n, indptr: ag.indptr, indices: ag.indices, w: ag.w}
			check.strengths(1)
			for c := 0; c < ag.n; c++ {
				if math.Abs(check.k[c]-ag.k[c]) > 1e-9*(1+ag.k[c]) {
					t.Fatalf("n=%d: node %d row sum %g, strength %g", n, c, check.k[c], ag.k[c])
				}
				for j := ag.indptr[c]; j < ag.indptr[c+1]; j++ {
					d := int(ag.indices[j])
					if math.Abs(float64(agCSR.At(d, c))-ag.w[j]) > 1e-5*ag.w[j] {
						t.Fatalf("n=%d: aggregated graph not symmetric at (%d, %d)", n, c, d)
					}
				}
			}
			// A partition of the aggregated nodes has the same modularity on
			// both graphs.
			coarse := make([]int32, nRef)
			for v, r := range refined {
				coarse[r] = truth[v]
			}
			qAg := Modularity(agCSR, coarse, 1.3)
			qOrig := Modularity(adj, truth, 1.3)
			if math.Abs(qAg-qOrig) > 1e-6 {
				t.Errorf("n=%d threads=%d: modularity %g on the aggregated graph, %g on the original", n, threads, qAg, qOrig)
			}
		}
	}
}

func TestLeidenSmallGraphs(t *testing.T) {
	p := DefaultLeidenParams()
	p.Threads = 2

	t.Run("two cliques joined by an edge", func(t *testing.T) {
		edges := leidenClique(nil, 0, 6, 1)
		edges = leidenClique(edges, 6, 13, 1)
		edges = append(edges, leidenEdge{2, 9, 1})
		adj := leidenTestCSR(13, edges)
		labels, info, err := Leiden(adj, p)
		if err != nil {
			t.Fatal(err)
		}
		want := []int32{1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0} // larger clique is label 0
		if !slices.Equal(labels, want) {
			t.Errorf("labels %v, want %v", labels, want)
		}
		if info.Clusters != 2 || math.Abs(info.Modularity-Modularity(adj, labels, 1)) > 1e-12 {
			t.Errorf("info %+v", info)
		}
	})

	t.Run("ring of cliques", func(t *testing.T) {
		// 10 cliques of 6 in a ring: below the resolution limit, so each
		// clique is one community.
		var edges []leidenEdge
		for c := 0; c < 10; c++ {
			edges = leidenClique(edges, 6*c, 6*c+6, 1)
			edges = append(edges, leidenEdge{6*c + 5, (6*c + 6) % 60, 1})
		}
		adj := leidenTestCSR(60, edges)
		labels, info, err := Leiden(adj, p)
		if err != nil {
			t.Fatal(err)
		}
		for v := 0; v < 60; v++ {
			if labels[v] != labels[6*(v/6)] || (v%6 == 0 && v > 0 && labels[v] == labels[v-1]) {
				t.Fatalf("labels %v are not the cliques", labels)
			}
		}
		if info.Clusters != 10 {
			t.Errorf("%d clusters, want 10", info.Clusters)
		}
		t.Logf("ring: %+v", info)
	})

	t.Run("disconnected graph with isolated nodes and self loops", func(t *testing.T) {
		edges := leidenClique(nil, 0, 5, 1)
		edges = leidenClique(edges, 6, 10, 2)
		edges = append(edges, leidenEdge{11, 11, 3}) // a node with only a self loop
		edges = append(edges, leidenEdge{2, 2, 0.5}) // a self loop inside a clique
		adj := leidenTestCSR(13, edges)              // 5 and 12 isolated
		labels, info, err := Leiden(adj, p)
		if err != nil {
			t.Fatal(err)
		}
		// Clusters: {0-4} (5 nodes), {6-9} (4), then singletons 5, 10, 11, 12
		// ordered by index: 5 -> 2, 10 -> 3, 11 -> 4, 12 -> 5.
		want := []int32{0, 0, 0, 0, 0, 2, 1, 1, 1, 1, 3, 4, 5}
		if !slices.Equal(labels, want) {
			t.Errorf("labels %v, want %v", labels, want)
		}
		if info.Clusters != 6 {
			t.Errorf("%d clusters, want 6", info.Clusters)
		}
		leidenAssertLocalOptimum(t, adj, labels, 1)
	})

	t.Run("single node", func(t *testing.T) {
		labels, info, err := Leiden(sparse.NewCSR(1, 1, 0), p)
		if err != nil || !slices.Equal(labels, []int32{0}) || info.Clusters != 1 {
			t.Errorf("labels %v info %+v err %v", labels, info, err)
		}
		self := leidenTestCSR(1, []leidenEdge{{0, 0, 2}})
		labels, _, err = Leiden(self, p)
		if err != nil || !slices.Equal(labels, []int32{0}) {
			t.Errorf("self loop only: labels %v err %v", labels, err)
		}
	})

	t.Run("no nodes", func(t *testing.T) {
		labels, info, err := Leiden(sparse.NewCSR(0, 0, 0), p)
		if err != nil || len(labels) != 0 || info.Clusters != 0 {
			t.Errorf("labels %v info %+v err %v", labels, info, err)
		}
	})

	t.Run("no edges", func(t *testing.T) {
		labels, _, err := Leiden(sparse.NewCSR(4, 4, 0), p)
		if err != nil || !slices.Equal(labels, []int32{0, 1, 2, 3}) {
			t.Errorf("labels %v err %v", labels, err)
		}
	})
}

func TestAdjustedRandIndex(t *testing.T) {
	a := []int32{0, 0, 1, 1, 2, 2}
	if v := AdjustedRandIndex(a, []int32{5, 5, 3, 3, 9, 9}); math.Abs(v-1) > 1e-12 {
		t.Errorf("relabelled: ARI %g, want 1", v)
	}
	// sklearn.metrics.adjusted_rand_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.4444...
	if v := AdjustedRandIndex(a, []int32{0, 0, 1, 2, 2, 2}); math.Abs(v-4.0/9) > 1e-12 {
		t.Errorf("ARI %g, want 4/9", v)
	}
}

func TestLeidenPlantedAndDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	adj, truth := leidenRandomGraph(rng, 407, 7, 0.2, 0.005)
	p := DefaultLeidenParams()
	p.Seed = 42
	p.Threads = 1
	l1, info, err := Leiden(adj, p)
	if err != nil {
		t.Fatal(err)
	}
	// Isolated nodes are their own clusters; compare the rest with the truth.
	var a, b []int32
	for v := range truth {
		if v%29 != 28 {
			a, b = append(a, l1[v]), append(b, truth[v])
		}
	}
	score := AdjustedRandIndex(a, b)
	qTruth := Modularity(adj, truth, 1)
	t.Logf("planted: ARI %.4f, modularity %.5f (truth %.5f), %+v", score, info.Modularity, qTruth, info)
	if score < 0.95 {
		t.Errorf("ARI %.3f against the planted partition, want >= 0.95", score)
	}
	if info.Modularity < qTruth-1e-9 {
		t.Errorf("modularity %g below the planted partition's %g", info.Modularity, qTruth)
	}
	leidenAssertLocalOptimum(t, adj, l1, 1)
	for _, threads := range []int{1, 2, 5} {
		p.Threads = threads
		l2, _, err := Leiden(adj, p)
		if err != nil || !slices.Equal(l1, l2) {
			t.Errorf("threads=%d: labels differ from the first run (err %v)", threads, err)
		}
	}
	// Labels are numbered by decreasing size.
	size := make([]int, info.Clusters)
	for _, c := range l1 {
		size[c]++
	}
	for c := 1; c < len(size); c++ {
		if size[c] > size[c-1] {
			t.Fatalf("cluster %d has %d nodes, cluster %d has %d", c, size[c], c-1, size[c-1])
		}
	}
	// One pass only is allowed and still gives a valid partition.
	p.MaxIterations = 1
	l3, info3, err := Leiden(adj, p)
	if err != nil || len(l3) != len(l1) || info3.Iterations != 1 {
		t.Errorf("MaxIterations=1: %+v err %v", info3, err)
	}
	// Higher resolution, more clusters.
	p.MaxIterations = -1
	p.Resolution = 4
	_, info4, err := Leiden(adj, p)
	if err != nil || info4.Clusters <= info.Clusters {
		t.Errorf("resolution 4: %d clusters, resolution 1: %d (err %v)", info4.Clusters, info.Clusters, err)
	}
}

// TestLeidenThreads runs Leiden on a kNN-like graph large enough for the
// batches, renumbering and partial passes to run in parallel: the labels
// do not depend on the thread count, and the result is a good partition.
func TestLeidenThreads(t *testing.T) {
	n := 40_000
	if testing.Short() {
		n = 20_000
	}
	adj, truth := leidenKNNLike(n, 15, 7)
	var first []int32
	for _, threads := range []int{1, 2, 5} {
		p := DefaultLeidenParams()
		p.Threads = threads
		labels, info, err := Leiden(adj, p)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = labels
			qTruth := Modularity(adj, truth, 1)
			t.Logf("n=%d: %+v; planted partition's modularity %.5f, ARI %.4f", n, info, qTruth, AdjustedRandIndex(labels, truth))
			if info.Modularity < qTruth-0.01 {
				t.Errorf("modularity %.5f, planted partition's %.5f", info.Modularity, qTruth)
			}
			if info.Iterations < 2 {
				t.Errorf("%d passes: the partial passes were not exercised", info.Iterations)
			}
			continue
		}
		if !slices.Equal(labels, first) {
			t.Errorf("threads=%d: labels differ from 1 thread's", threads)
		}
	}
}

func TestLeidenErrors(t *testing.T) {
	p := DefaultLeidenParams()
	bad := []struct {
		name string
		adj  *sparse.CSR
		p    LeidenParams
	}{
		{"nil", nil, p},
		{"not square", sparse.NewCSR(3, 4, 0), p},
		{"negative weight", leidenTestCSR(3, []leidenEdge{{0, 1, -1}}), p},
		{"NaN weight", leidenTestCSR(3, []leidenEdge{{0, 1, float32(math.NaN())}}), p},
		{"index out of range", &sparse.CSR{Rows: 2, Cols: 2, Indptr: []int64{0, 1, 1}, Indices: []int32{5}, Data: []float32{1}}, p},
		{"row pointers decrease", &sparse.CSR{Rows: 3, Cols: 3, Indptr: []int64{0, -1, 2, 2}, Indices: []int32{0, 1}, Data: []float32{1, 1}}, p},
		{"infinite weight", leidenTestCSR(3, []leidenEdge{{0, 1, float32(math.Inf(1))}}), p},
		{"negative resolution", leidenTestCSR(3, []leidenEdge{{0, 1, 1}}), LeidenParams{Resolution: -1}},
	}
	for _, c := range bad {
		if _, _, err := Leiden(c.adj, c.p); !errors.Is(err, ErrLeidenInput) {
			t.Errorf("%s: error %v, want ErrLeidenInput", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

func ExampleLeiden() {
	// Two triangles joined by one edge.
	edges := []leidenEdge{{0, 1, 1}, {1, 2, 1}, {0, 2, 1}, {3, 4, 1}, {4, 5, 1}, {3, 5, 1}, {2, 3, 1}}
	adj := leidenTestCSR(6, edges)
	labels, info, err := Leiden(adj, DefaultLeidenParams())
	if err != nil {
		panic(err)
	}
	fmt.Println(labels, info.Clusters)
	fmt.Printf("%.4f\n", Modularity(adj, labels, 1))
	// Output:
	// [0 0 0 1 1 1] 2
	// 0.3571
}

func TestLeidenExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := -rng.Float64() * 60
		if i < 100 {
			x = -float64(i) * 0.5
		}
		got, want := lvExp(x), math.Exp(x)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 1e-14 {
		t.Errorf("lvExp: relative error up to %.3g against math.Exp", worst)
	}
	t.Logf("lvExp on [-60, 0]: relative error up to %.3g", worst)
	if lvExpTheta(0) != 1 || lvExpTheta(-0.6) != 0 {
		t.Errorf("lvExpTheta(0) = %g, lvExpTheta(-0.6) = %g", lvExpTheta(0), lvExpTheta(-0.6))
	}
}

func BenchmarkLeidenExp(b *testing.B) {
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = -float64(i) * 0.049
	}
	b.Run("lvExp", func(b *testing.B) {
		var s float64
		for i := 0; i < b.N; i++ {
			s += lvExp(xs[i&1023])
		}
		_ = s
	})
	b.Run("math.Exp", func(b *testing.B) {
		var s float64
		for i := 0; i < b.N; i++ {
			s += math.Exp(xs[i&1023])
		}
		_ = s
	})
}
