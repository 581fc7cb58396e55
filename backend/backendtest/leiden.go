package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/sparse"
)

// RunLeiden checks a backend's backend.CommunityDetector, and skips when
// the backend lacks it. One backend from newBackend serves every subtest;
// RunLeiden closes it.
//
// A device's Leiden makes other (parallel) choices than graph.Leiden, so
// it is checked by the quality of its partitions: on planted-partition
// graphs of awkward sizes (groups of random sizes, sparse kNN-like rows,
// self loops, isolated nodes, 1 to 4,001 nodes), the modularity of the
// result (graph.Modularity) is at least the planted partition's minus
// 0.01 and graph.Leiden's minus 0.02, the labels are numbered by
// decreasing size, and the reported modularity and cluster count are the
// labels'. Two runs give the same labels, another seed a partition as
// good; one level or one pass still gives a valid partition, a higher
// resolution more clusters; a graph without edges (or without weight)
// leaves every node alone, a clique is one cluster, and malformed
// matrices are ErrShape errors.
func RunLeiden(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	runCapability(t, newBackend, []capCase[backend.CommunityDetector]{
		{"Planted", testLeidenPlanted},
		{"Deterministic", testLeidenDeterministic},
		{"Options", testLeidenOptions},
		{"Small", testLeidenSmall},
		{"Errors", testLeidenErrors},
	})
}

// LeidenPlanted returns a symmetric graph on n nodes with groups planted
// groups of random sizes: each node draws deg neighbours, from its own
// group with probability 1 - pOut (else from any group), with weights in
// [0.05, 1]; every 37th node has no edge and every 11th a self loop. The
// graph is the union of the draws in both directions (duplicates keep
// the larger weight), rows sorted by column. It also returns the groups.
func LeidenPlanted(n, groups, deg int, pOut float64, seed uint64) (*sparse.CSR, []int32) {
	rng := rand.New(rand.NewPCG(seed, 37))
	truth := make([]int32, n)
	members := make([][]int32, groups)
	for i := range truth {
		g := rng.IntN(groups)
		if i < groups {
			g = i // no empty group
		}
		truth[i] = int32(g)
		if i%37 != 36 {
			members[g] = append(members[g], int32(i))
		}
	}
	type key struct{ i, j int32 }
	edges := map[key]float32{}
	add := func(i, j int32, w float32) {
		if i > j {
			i, j = j, i
		}
		edges[key{i, j}] = max(edges[key{i, j}], w)
	}
	for i := range n {
		if i%37 == 36 {
			continue
		}
		own := members[truth[i]]
		for range deg {
			var j int32
			if rng.Float64() < pOut || len(own) < 2 {
				g := members[rng.IntN(groups)]
				if len(g) == 0 {
					continue
				}
				j = g[rng.IntN(len(g))]
			} else {
				j = own[rng.IntN(len(own))]
			}
			if int(j) != i {
				add(int32(i), j, float32(0.05+0.95*rng.Float64()))
			}
		}
		if i%11 == 5 {
			add(int32(i), int32(i), float32(0.05+0.5*rng.Float64()))
		}
	}
	rows := make([][]int32, n)
	for e := range edges {
		rows[e.i] = append(rows[e.i], e.j)
		if e.i != e.j {
			rows[e.j] = append(rows[e.j], e.i)
		}
	}
	m := &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	for i, row := range rows {
		slices.Sort(row)
		for _, j := range row {
			a, b := int32(i), j
			if a > b {
				a, b = b, a
			}
			m.Indices = append(m.Indices, j)
			m.Data = append(m.Data, edges[key{a, b}])
		}
		m.Indptr[i+1] = int64(len(m.Indices))
	}
	return m, truth
}

// checkLeidenLabels checks the labels' shape, their numbering by
// decreasing size (ties to the cluster of the smaller node) and the
// result's cluster count and modularity, and returns graph.Modularity.
func checkLeidenLabels(t *testing.T, g *sparse.CSR, labels []int32, info backend.LeidenResult, gamma float64) float64 {
	t.Helper()
	if len(labels) != g.Rows {
		t.Fatalf("%d labels for %d nodes", len(labels), g.Rows)
	}
	nc := int32(0)
	for i, l := range labels {
		if l < 0 || int(l) >= g.Rows {
			t.Fatalf("node %d has label %d, outside [0, %d)", i, l, g.Rows)
		}
		nc = max(nc, l+1)
	}
	size := make([]int, nc)
	first := make([]int, nc)
	for i := len(labels) - 1; i >= 0; i-- {
		size[labels[i]]++
		first[labels[i]] = i
	}
	for c := range size {
		if size[c] == 0 {
			t.Fatalf("labels 0..%d, but no node has label %d", nc-1, c)
		}
		if c > 0 && (size[c] > size[c-1] || (size[c] == size[c-1] && first[c] < first[c-1])) {
			t.Fatalf("cluster %d has %d nodes (first %d), cluster %d has %d (first %d): not numbered by decreasing size",
				c, size[c], first[c], c-1, size[c-1], first[c-1])
		}
	}
	if info.Clusters != len(size) {
		t.Errorf("info.Clusters = %d, the labels hold %d", info.Clusters, len(size))
	}
	q := graph.Modularity(g, labels, gamma)
	if math.Abs(q-info.Modularity) > 1e-9 {
		t.Errorf("info.Modularity = %.12f, graph.Modularity of the labels %.12f", info.Modularity, q)
	}
	return q
}

// runLeiden runs Leiden and checks its result's form.
func runLeiden(t *testing.T, cd backend.CommunityDetector, g *sparse.CSR, p backend.LeidenSpec) ([]int32, backend.LeidenResult, float64) {
	t.Helper()
	labels, info, err := cd.Leiden(g, p)
	if err != nil {
		t.Fatalf("Leiden: %v", err)
	}
	return labels, info, checkLeidenLabels(t, g, labels, info, p.Resolution)
}

// leidenSpec is scanpy's default: resolution 1, seed 0.
func leidenSpec() backend.LeidenSpec { return backend.LeidenSpec{Resolution: 1} }

func testLeidenPlanted(t *testing.T, cd backend.CommunityDetector, _ *rand.Rand) {
	for _, c := range []struct {
		n, groups, deg int
		pOut           float64
	}{
		{97, 3, 6, 0.05},
		{1013, 9, 8, 0.1},
		{4001, 37, 10, 0.15},
		{3001, 5, 12, 0.3},
	} {
		t.Run(fmt.Sprintf("n%d", c.n), func(t *testing.T) {
			g, truth := LeidenPlanted(c.n, c.groups, c.deg, c.pOut, uint64(c.n))
			_, info, q := runLeiden(t, cd, g, leidenSpec())
			qTruth := graph.Modularity(g, truth, 1)
			hl, hinfo, err := graph.Leiden(g, graph.DefaultLeidenParams())
			if err != nil {
				t.Fatal(err)
			}
			qHost := graph.Modularity(g, hl, 1)
			t.Logf("%d nodes, %d entries: %d clusters, modularity %.5f (%d passes, %d levels, %d sweeps, %d moves); planted %d groups, %.5f; graph.Leiden %d clusters, %.5f",
				c.n, g.NNZ(), info.Clusters, q, info.Iterations, info.Levels, info.Sweeps, info.Moves, c.groups, qTruth, hinfo.Clusters, qHost)
			if q < qTruth-0.01 {
				t.Errorf("modularity %.5f, the planted partition's %.5f", q, qTruth)
			}
			if q < qHost-0.02 {
				t.Errorf("modularity %.5f, graph.Leiden's %.5f", q, qHost)
			}
		})
	}
}

func testLeidenDeterministic(t *testing.T, cd backend.CommunityDetector, _ *rand.Rand) {
	g, truth := LeidenPlanted(2503, 17, 9, 0.2, 7)
	qTruth := graph.Modularity(g, truth, 1)
	a, _, qa := runLeiden(t, cd, g, leidenSpec())
	b, _, _ := runLeiden(t, cd, g, leidenSpec())
	if !slices.Equal(a, b) {
		t.Errorf("two runs with seed 0 give different labels")
	}
	p := leidenSpec()
	p.Seed = 12345
	c, _, qc := runLeiden(t, cd, g, p)
	d, _, _ := runLeiden(t, cd, g, p)
	if !slices.Equal(c, d) {
		t.Errorf("two runs with seed 12345 give different labels")
	}
	t.Logf("seed 0: modularity %.5f; seed 12345: %.5f; planted %.5f", qa, qc, qTruth)
	if qc < qTruth-0.01 {
		t.Errorf("seed 12345: modularity %.5f, the planted partition's %.5f", qc, qTruth)
	}
}

func testLeidenOptions(t *testing.T, cd backend.CommunityDetector, _ *rand.Rand) {
	g, _ := LeidenPlanted(1501, 11, 8, 0.15, 3)
	_, info, q := runLeiden(t, cd, g, leidenSpec())
	for _, o := range []struct {
		name string
		set  func(*backend.LeidenSpec)
	}{
		{"one level", func(p *backend.LeidenSpec) { p.MaxLevels = 1 }},
		{"one pass", func(p *backend.LeidenSpec) { p.MaxPasses = 1 }},
		{"three passes", func(p *backend.LeidenSpec) { p.MaxPasses = 3 }},
	} {
		p := leidenSpec()
		o.set(&p)
		_, oi, oq := runLeiden(t, cd, g, p)
		t.Logf("%s: %d clusters, modularity %.5f, %d passes, %d levels (default: %d clusters, %.5f, %d passes, %d levels)",
			o.name, oi.Clusters, oq, oi.Iterations, oi.Levels, info.Clusters, q, info.Iterations, info.Levels)
		if p.MaxPasses > 0 && oi.Iterations > p.MaxPasses {
			t.Errorf("%s: %d passes", o.name, oi.Iterations)
		}
		if p.MaxLevels > 0 && oi.Levels > p.MaxLevels*oi.Iterations {
			t.Errorf("%s: %d levels in %d passes", o.name, oi.Levels, oi.Iterations)
		}
		if !(oq > 0.3) {
			t.Errorf("%s: modularity %.5f", o.name, oq)
		}
	}
	// At resolution 20 a planted group (a ninth of the weight) costs more
	// than it holds and splits; at 0.02 groups merge.
	p := leidenSpec()
	p.Resolution = 20
	_, hi, _ := runLeiden(t, cd, g, p)
	p.Resolution = 0.02
	_, lo, _ := runLeiden(t, cd, g, p)
	t.Logf("clusters at resolution 0.02, 1, 20: %d, %d, %d", lo.Clusters, info.Clusters, hi.Clusters)
	if !(lo.Clusters < info.Clusters && info.Clusters < hi.Clusters) {
		t.Errorf("clusters at resolution 0.02, 1, 20: %d, %d, %d: want increasing", lo.Clusters, info.Clusters, hi.Clusters)
	}
}

func testLeidenSmall(t *testing.T, cd backend.CommunityDetector, _ *rand.Rand) {
	t.Run("empty", func(t *testing.T) {
		labels, info, err := cd.Leiden(sparse.NewCSR(0, 0, 0), leidenSpec())
		if err != nil || len(labels) != 0 || info.Clusters != 0 {
			t.Errorf("labels %v, %+v, err %v", labels, info, err)
		}
	})
	t.Run("no edges", func(t *testing.T) {
		labels, _, _ := runLeiden(t, cd, sparse.NewCSR(5, 5, 0), leidenSpec())
		if !slices.Equal(labels, []int32{0, 1, 2, 3, 4}) {
			t.Errorf("labels %v", labels)
		}
	})
	t.Run("no weight", func(t *testing.T) {
		g, _ := LeidenPlanted(40, 2, 3, 0, 1)
		clear(g.Data)
		labels, _, _ := runLeiden(t, cd, g, leidenSpec())
		for i, l := range labels {
			if l != int32(i) {
				t.Fatalf("labels %v: want every node alone", labels)
			}
		}
	})
	t.Run("one node", func(t *testing.T) {
		g := &sparse.CSR{Rows: 1, Cols: 1, Indptr: []int64{0, 1}, Indices: []int32{0}, Data: []float32{0.7}}
		labels, _, _ := runLeiden(t, cd, g, leidenSpec())
		if !slices.Equal(labels, []int32{0}) {
			t.Errorf("labels %v", labels)
		}
	})
	t.Run("cliques", func(t *testing.T) {
		// Two cliques of 7 and 5 nodes joined by one light edge.
		n := 12
		m := &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
		for i := range n {
			for j := range n {
				w := float32(0)
				if i != j && (i < 7) == (j < 7) {
					w = 0.5 + float32((i*j)%5)/10
				}
				if (i == 6 && j == 7) || (i == 7 && j == 6) {
					w = 0.01
				}
				if w != 0 {
					m.Indices = append(m.Indices, int32(j))
					m.Data = append(m.Data, w)
				}
			}
			m.Indptr[i+1] = int64(len(m.Indices))
		}
		labels, _, _ := runLeiden(t, cd, m, leidenSpec())
		want := []int32{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}
		if !slices.Equal(labels, want) {
			t.Errorf("labels %v, want %v", labels, want)
		}
	})
}

func testLeidenErrors(t *testing.T, cd backend.CommunityDetector, _ *rand.Rand) {
	good := func() *sparse.CSR { g, _ := LeidenPlanted(50, 3, 4, 0.1, 9); return g }
	for _, c := range []struct {
		name   string
		g      *sparse.CSR
		spec   func(*backend.LeidenSpec)
		mangle func(*sparse.CSR)
	}{
		{name: "nil"},
		{name: "not square", g: sparse.NewCSR(3, 4, 0)},
		{name: "short row pointers", g: good(), mangle: func(g *sparse.CSR) { g.Indptr = g.Indptr[:g.Rows] }},
		{name: "column out of range", g: good(), mangle: func(g *sparse.CSR) { g.Indices[7] = int32(g.Cols) }},
		{name: "negative column", g: good(), mangle: func(g *sparse.CSR) { g.Indices[3] = -1 }},
		{name: "negative weight", g: good(), mangle: func(g *sparse.CSR) { g.Data[11] = -0.5 }},
		{name: "NaN weight", g: good(), mangle: func(g *sparse.CSR) { g.Data[5] = float32(math.NaN()) }},
		{name: "infinite weight", g: good(), mangle: func(g *sparse.CSR) { g.Data[2] = float32(math.Inf(1)) }},
		{name: "rows out of order", g: good(), mangle: func(g *sparse.CSR) { g.Indptr[10], g.Indptr[11] = g.Indptr[11], g.Indptr[10] }},
		{name: "negative resolution", g: good(), spec: func(p *backend.LeidenSpec) { p.Resolution = -1 }},
		{name: "NaN resolution", g: good(), spec: func(p *backend.LeidenSpec) { p.Resolution = math.NaN() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.mangle != nil {
				c.mangle(c.g)
			}
			p := leidenSpec()
			if c.spec != nil {
				c.spec(&p)
			}
			_, _, err := cd.Leiden(c.g, p)
			if !errors.Is(err, backend.ErrShape) {
				t.Errorf("err = %v, want one wrapping backend.ErrShape", err)
			}
		})
	}
}
