package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/knn"
)

// RunKNN checks a backend's backend.NeighborSearcher, and skips when the
// backend lacks it. One backend from newBackend serves every subtest
// (compiling a device's kernels takes seconds); RunKNN closes it.
//
// The reference is the plainest float64 brute force (knnReference): every
// squared distance summed in float64 from the float32 coordinates, sorted
// by distance then index, the point itself first.
//
//   - Exact: the same indices and the same float32 distances (the float64
//     distance's square root, rounded) as the reference, on clustered
//     points of awkward shapes (1 x 4 to 3,001 x 50, k from 1 to 65 and up
//     to n), on a grid of small integers with duplicates (every distance
//     ties with many others, so the order rests on the tie-break), on a
//     tight cluster far from the origin (where |q|^2 + |p|^2 - 2 q.p in
//     float32 cannot order the neighbours) and on copies of one point;
//     the last two also through IVF-Flat.
//   - IVF-Flat probing every list: the exact answer, whatever the lists.
//   - IVF-Flat at its defaults on 4,099 points in 40 blobs of unequal sizes
//     and spreads: recall@15 at least 0.95, each row itself first, then
//     distinct other points in order at their true distances.
//   - Short lists: where the probed lists hold fewer than k points the row
//     ends in index -1 at +Inf, and what it holds is right.
//   - Refinement: one and two rounds after an IVF-Flat search of few
//     probes give, round by round, what knn.Refine gives from the
//     previous round's rows (ranks may differ only between points at the
//     same float64 distance), and recall grows.
//   - Deterministic: two IVF-Flat runs give the same bits.
//   - Errors: k out of range, no points, a short x, an unknown method,
//     NaN and Inf coordinates.
func RunKNN(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	runCapability(t, newBackend, []capCase[backend.NeighborSearcher]{
		{"Exact", testKNNExact},
		{"ExactTies", testKNNTies},
		{"ExactFarFromOrigin", testKNNFar},
		{"Identical", testKNNIdentical},
		{"IVFFlatAllProbes", testKNNAllProbes},
		{"IVFFlatDefaults", testKNNDefaults},
		{"IVFFlatShortLists", testKNNShortLists},
		{"IVFFlatRefine", testKNNRefine},
		{"Deterministic", testKNNDeterministic},
		{"Errors", testKNNErrors},
	})
}

// Blobs returns n points in d dimensions (row-major) drawn from 40
// Gaussian blobs of unequal sizes and spreads whose per-dimension scale
// decays like PCA scores (component j has scale 1/sqrt(1+j/4)), as knn's
// tests and benchmarks draw them.
func Blobs(n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	const nb = 40
	centers := make([]float64, nb*d)
	spread := make([]float64, nb)
	weight := make([]float64, nb)
	for b := range nb {
		for j := range d {
			centers[b*d+j] = 6 * rng.NormFloat64() / math.Sqrt(1+float64(j)/4)
		}
		spread[b] = 0.5 + rng.Float64()
		weight[b] = rng.ExpFloat64()
	}
	var sum float64
	for _, w := range weight {
		sum += w
	}
	x := make([]float32, n*d)
	for i := range n {
		u, b := rng.Float64()*sum, 0
		for b < nb-1 && u > weight[b] {
			u -= weight[b]
			b++
		}
		for j := range d {
			x[i*d+j] = float32(centers[b*d+j] + spread[b]*rng.NormFloat64()/math.Sqrt(1+float64(j)/4))
		}
	}
	return x
}

// Dist2 is the float64 squared distance between rows i and j of the
// row-major x of d columns.
func Dist2(x []float32, d, i, j int) float64 {
	var s float64
	for c := range d {
		t := float64(x[i*d+c]) - float64(x[j*d+c])
		s += t * t
	}
	return s
}

// knnReference returns the exact k nearest rows of each row of x: the row
// itself first at 0, then the others by float64 squared distance, ties by
// the smaller index; distances are the float64 square roots.
func knnReference(x []float32, n, d, k int) ([]int32, []float64) {
	idx := make([]int32, n*k)
	dist := make([]float64, n*k)
	type cand struct {
		d2 float64
		id int32
	}
	before := func(a, b cand) bool { return a.d2 < b.d2 || (a.d2 == b.d2 && a.id < b.id) }
	best := make([]cand, 0, k)
	for i := range n {
		best = best[:0]
		for j := range n {
			if j == i || k == 1 {
				continue
			}
			c := cand{Dist2(x, d, i, j), int32(j)}
			if len(best) == k-1 && !before(c, best[k-2]) {
				continue
			}
			if len(best) < k-1 {
				best = append(best, c)
			} else {
				best[k-2] = c
			}
			for p := len(best) - 1; p > 0 && before(best[p], best[p-1]); p-- {
				best[p], best[p-1] = best[p-1], best[p]
			}
		}
		idx[i*k] = int32(i)
		for c, b := range best {
			idx[i*k+1+c] = b.id
			dist[i*k+1+c] = math.Sqrt(b.d2)
		}
	}
	return idx, dist
}

// sameKNN requires got to be the reference exactly: indices, and
// distances equal to the reference's rounded to float32.
func sameKNN(t *testing.T, what string, k int, idx []int32, dist []float32, ridx []int32, rdist []float64) {
	t.Helper()
	if len(idx) != len(ridx) || len(dist) != len(rdist) {
		t.Fatalf("%s: got %d indices and %d distances, want %d", what, len(idx), len(dist), len(ridx))
	}
	for e := range ridx {
		if idx[e] != ridx[e] || dist[e] != float32(rdist[e]) {
			t.Fatalf("%s: row %d neighbour %d: index %d at %g, want %d at %g", what, e/k, e%k, idx[e], dist[e], ridx[e], float32(rdist[e]))
		}
	}
}

func runKNN(t *testing.T, ns backend.NeighborSearcher, x []float32, n, d, k int, p backend.KNNParams) ([]int32, []float32) {
	t.Helper()
	idx, dist, err := ns.KNN(x, n, d, k, p)
	if err != nil {
		t.Fatalf("KNN(%d x %d, k = %d, %+v): %v", n, d, k, p, err)
	}
	if len(idx) != n*k || len(dist) != n*k {
		t.Fatalf("KNN(%d x %d, k = %d) returned %d indices and %d distances", n, d, k, len(idx), len(dist))
	}
	return idx, dist
}

// blobsRand returns n x d points around nb random centres (unit spread,
// centres spread by 5).
func blobsRand(rng *rand.Rand, n, d, nb int) []float32 {
	centers := make([]float64, nb*d)
	for i := range centers {
		centers[i] = 5 * rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := range n {
		b := rng.IntN(nb)
		for j := range d {
			x[i*d+j] = float32(centers[b*d+j] + rng.NormFloat64())
		}
	}
	return x
}

func testKNNExact(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	for _, tc := range []struct{ n, d, k int }{
		{1, 4, 1},
		{2, 1, 2},
		{33, 3, 33},
		{97, 7, 65},
		{777, 13, 15},
		{777, 13, 1},
		{1031, 1, 9},
		{3001, 50, 15},
	} {
		t.Run(fmt.Sprintf("%dx%d_k%d", tc.n, tc.d, tc.k), func(t *testing.T) {
			x := blobsRand(rng, tc.n, tc.d, 1+tc.n/100)
			idx, dist := runKNN(t, ns, x, tc.n, tc.d, tc.k, backend.KNNParams{Method: "exact"})
			ridx, rdist := knnReference(x, tc.n, tc.d, tc.k)
			sameKNN(t, "exact", tc.k, idx, dist, ridx, rdist)
		})
	}
}

// testKNNTies searches points on a 2-D and a 3-D grid of small integers,
// a third of them duplicates: distances are exact in any precision and
// most tie, so only the tie-break orders them.
func testKNNTies(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	for _, tc := range []struct{ n, d, k int }{{401, 2, 15}, {523, 3, 40}} {
		x := make([]float32, tc.n*tc.d)
		for i := range tc.n {
			if i > 0 && rng.IntN(3) == 0 {
				copy(x[i*tc.d:(i+1)*tc.d], x[rng.IntN(i)*tc.d:])
				continue
			}
			for j := range tc.d {
				x[i*tc.d+j] = float32(rng.IntN(9) - 4)
			}
		}
		idx, dist := runKNN(t, ns, x, tc.n, tc.d, tc.k, backend.KNNParams{Method: "exact"})
		ridx, rdist := knnReference(x, tc.n, tc.d, tc.k)
		sameKNN(t, fmt.Sprintf("%d x %d grid", tc.n, tc.d), tc.k, idx, dist, ridx, rdist)
	}
}

// testKNNFar searches a tight cluster 1,000 units from the origin:
// neighbours at distances near 0.01, where |q|^2 + |p|^2 (about 10^7)
// leaves float32 no digits for them.
func testKNNFar(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d, k := 613, 10, 12
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(1000*(1+float64(i%d)/7) + 0.01*rng.NormFloat64())
	}
	for _, m := range []string{"exact", "ivfflat"} {
		p := backend.KNNParams{Method: m, NLists: 5, NProbes: 5}
		idx, dist := runKNN(t, ns, x, n, d, k, p)
		ridx, rdist := knnReference(x, n, d, k)
		sameKNN(t, m, k, idx, dist, ridx, rdist)
	}
}

// testKNNIdentical searches copies of one point: every distance is 0,
// so each row is itself, then the smallest other indices; IVF-Flat's
// k-means meets nothing but ties and empty clusters.
func testKNNIdentical(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d, k := 203, 3, 10
	x := make([]float32, n*d)
	for i := range x {
		x[i] = []float32{1.5, -2, 0.25}[i%d]
	}
	ridx, rdist := knnReference(x, n, d, k)
	for _, p := range []backend.KNNParams{{Method: "exact"}, {Method: "ivfflat"}, {Method: "ivfflat", NLists: 7, NProbes: 2}} {
		idx, dist := runKNN(t, ns, x, n, d, k, p)
		sameKNN(t, fmt.Sprintf("%+v", p), k, idx, dist, ridx, rdist)
	}
}

// testKNNAllProbes: IVF-Flat probing every list is an exact search.
func testKNNAllProbes(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	for _, tc := range []struct{ n, d, k, lists int }{
		{3, 2, 3, 2},
		{65, 5, 15, 64},
		{389, 3, 15, 7},
		{601, 50, 15, 33},
		{1201, 5, 20, 64},
	} {
		t.Run(fmt.Sprintf("%dx%d_k%d_lists%d", tc.n, tc.d, tc.k, tc.lists), func(t *testing.T) {
			x := blobsRand(rng, tc.n, tc.d, 3)
			p := backend.KNNParams{Method: "ivfflat", NLists: tc.lists, NProbes: tc.lists, Seed: 5}
			idx, dist := runKNN(t, ns, x, tc.n, tc.d, tc.k, p)
			ridx, rdist := knnReference(x, tc.n, tc.d, tc.k)
			sameKNN(t, "ivfflat", tc.k, idx, dist, ridx, rdist)
		})
	}
}

// checkRows checks each row of an approximate search: itself first at 0,
// then distinct other points in (distance, index) order at their true
// distances, then only -1 at +Inf; it returns the number of -1 slots.
func checkRows(t *testing.T, x []float32, n, d, k int, idx []int32, dist []float32) int {
	t.Helper()
	missing := 0
	for i := range n {
		ids, ds := idx[i*k:(i+1)*k], dist[i*k:(i+1)*k]
		if ids[0] != int32(i) || ds[0] != 0 {
			t.Fatalf("row %d starts with %d at %g, want itself at 0", i, ids[0], ds[0])
		}
		prev := -1.0
		var prevID int32 = -1
		for c := 1; c < k; c++ {
			id := ids[c]
			if id < 0 {
				if id != -1 || !math.IsInf(float64(ds[c]), 1) {
					t.Fatalf("row %d slot %d: %d at %g, want -1 at +Inf", i, c, id, ds[c])
				}
				missing++
				prev = math.Inf(1)
				continue
			}
			if math.IsInf(prev, 1) {
				t.Fatalf("row %d: index %d after an empty slot", i, id)
			}
			if int(id) >= n || id == int32(i) || slices.Contains(ids[1:c], id) {
				t.Fatalf("row %d slot %d: index %d (itself, a repeat or out of range): %v", i, c, id, ids)
			}
			d2 := Dist2(x, d, i, int(id))
			if ds[c] != float32(math.Sqrt(d2)) {
				t.Fatalf("row %d slot %d: point %d at %g, its distance is %g", i, c, id, ds[c], math.Sqrt(d2))
			}
			if d2 < prev || (d2 == prev && id < prevID) {
				t.Fatalf("row %d slot %d: point %d at %g comes after point %d at %g", i, c, id, d2, prevID, prev)
			}
			prev, prevID = d2, id
		}
	}
	return missing
}

// knnRecall returns the fraction of the reference's neighbours (the
// point itself included) that got holds.
func knnRecall(got, ref []int32, n, k int) float64 {
	hits := 0
	for i := range n {
		row := got[i*k : (i+1)*k]
		for _, id := range ref[i*k : (i+1)*k] {
			if slices.Contains(row, id) {
				hits++
			}
		}
	}
	return float64(hits) / float64(n*k)
}

func testKNNDefaults(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d, k := 4099, 50, 15
	x := Blobs(n, d, 5)
	idx, dist := runKNN(t, ns, x, n, d, k, backend.KNNParams{Method: "ivfflat"})
	if m := checkRows(t, x, n, d, k, idx, dist); m != 0 {
		t.Errorf("%d empty slots with 256 lists of 4,099 points and 20 probes", m)
	}
	ridx, _ := knnReference(x, n, d, k)
	r := knnRecall(idx, ridx, n, k)
	t.Logf("%d blob points in %d dimensions, default IVF-Flat: recall@%d %.4f", n, d, k, r)
	if r < 0.95 {
		t.Errorf("recall@%d = %.4f, want >= 0.95", k, r)
	}
}

// testKNNShortLists probes 1 of 30 lists over 60 points for 15
// neighbours: most rows cannot be filled.
func testKNNShortLists(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d, k := 60, 3, 15
	x := blobsRand(rng, n, d, 6)
	idx, dist := runKNN(t, ns, x, n, d, k, backend.KNNParams{Method: "ivfflat", NLists: 30, NProbes: 1})
	if m := checkRows(t, x, n, d, k, idx, dist); m == 0 {
		t.Errorf("no empty slots with 30 lists of 60 points, 1 probe and k = %d", k)
	}
}

func testKNNRefine(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	// d = 131: past the device's coordinates cache (128).
	for _, c := range []struct{ n, d, k, lists int }{{3001, 24, 12, 64}, {701, 131, 5, 20}} {
		n, d, k := c.n, c.d, c.k
		x := Blobs(n, d, 13)
		p := backend.KNNParams{Method: "ivfflat", NLists: c.lists, NProbes: 2, Seed: 5}
		idx, dist := runKNN(t, ns, x, n, d, k, p)
		exact, _ := knnReference(x, n, d, k)
		r0 := knnRecall(idx, exact, n, k)
		want := knn.Neighbors{N: n, K: k, Indices: idx, Distances: dist}
		for rounds := 1; rounds <= 2; rounds++ {
			p.Refine = rounds
			idx, dist := runKNN(t, ns, x, n, d, k, p)
			checkRows(t, x, n, d, k, idx, dist)
			var err error
			if want, err = knn.Refine(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, want, 1, 0); err != nil {
				t.Fatal(err)
			}
			for e, id := range idx {
				w := want.Indices[e]
				if id != w && (id < 0 || w < 0 || Dist2(x, d, e/k, int(id)) != Dist2(x, d, e/k, int(w))) {
					t.Fatalf("%d x %d, %d rounds: row %d neighbour %d is %d, knn.Refine's is %d", n, d, rounds, e/k, e%k, id, w)
				}
			}
			r := knnRecall(idx, exact, n, k)
			t.Logf("%d blob points in %d dimensions, %d of %d lists probed: recall@%d %.4f, after %d rounds of refinement %.4f", n, d, p.NProbes, p.NLists, k, r0, rounds, r)
			if r <= r0 {
				t.Errorf("%d x %d, %d rounds of refinement: recall %.4f, not above the search's %.4f", n, d, rounds, r, r0)
			}
		}
	}
}

func testKNNDeterministic(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d, k := 2053, 20, 10
	x := Blobs(n, d, 9)
	p := backend.KNNParams{Method: "ivfflat", NLists: 40, NProbes: 3, Seed: 77}
	idx1, dist1 := runKNN(t, ns, x, n, d, k, p)
	idx2, dist2 := runKNN(t, ns, x, n, d, k, p)
	if !slices.Equal(idx1, idx2) || !slices.Equal(dist1, dist2) {
		t.Errorf("two IVF-Flat runs with the same seed differ")
	}
	checkRows(t, x, n, d, k, idx1, dist1)
}

func testKNNErrors(t *testing.T, ns backend.NeighborSearcher, rng *rand.Rand) {
	n, d := 50, 4
	x := blobsRand(rng, n, d, 2)
	nan := slices.Clone(x)
	nan[77] = float32(math.NaN())
	inf := slices.Clone(x)
	inf[3] = float32(math.Inf(-1))
	for _, tc := range []struct {
		name string
		x    []float32
		n, k int
		p    backend.KNNParams
	}{
		{"k0", x, n, 0, backend.KNNParams{Method: "exact"}},
		{"kAboveN", x, n, n + 1, backend.KNNParams{Method: "ivfflat"}},
		{"shortX", x[:len(x)-1], n, 5, backend.KNNParams{Method: "exact"}},
		{"noPoints", x, 0, 1, backend.KNNParams{Method: "exact"}},
		{"method", x, n, 5, backend.KNNParams{Method: "hnsw"}},
		{"NaN", nan, n, 5, backend.KNNParams{Method: "exact"}},
		{"Inf", inf, n, 5, backend.KNNParams{Method: "ivfflat"}},
	} {
		if _, _, err := ns.KNN(tc.x, tc.n, d, tc.k, tc.p); err == nil {
			t.Errorf("%s: KNN returned no error", tc.name)
		}
	}
}

// RunShardedKNN checks a backend's backend.ShardedNeighborSearcher with
// two instances from newBackend (two devices, or two contexts of one):
// the index built on the first, searched in three uneven shares (two on
// the first instance, one on the second), gives NeighborSearcher.KNN's
// IVF-Flat rows bit for bit, with and without refinement (RefineKNN on
// the second instance); and the errors: a share out of range, outputs of
// the wrong size, no index.
func RunShardedKNN(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	var ss [2]backend.ShardedNeighborSearcher
	for i := range ss {
		be := newBackend(t)
		t.Cleanup(func() {
			if err := be.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		s, ok := be.(backend.ShardedNeighborSearcher)
		if !ok {
			t.Skipf("the %s backend has no ShardedNeighborSearcher", be.Device().Backend)
		}
		ss[i] = s
	}
	ns, ok := ss[0].(backend.NeighborSearcher)
	if !ok {
		t.Skip("the backend has no NeighborSearcher to compare with")
	}
	n, d, k := 2711, 30, 13
	x := Blobs(n, d, 17)
	p := backend.KNNParams{Method: "ivfflat", NLists: 48, NProbes: 3, Seed: 9}
	ix, err := ss[0].BuildIVF(x, n, d, p)
	if err != nil {
		t.Fatalf("BuildIVF: %v", err)
	}
	if ix.N != n || ix.NLists != 48 || ix.NProbes != 3 {
		t.Fatalf("index of %d points, %d lists, %d probes; want %d, 48, 3", ix.N, ix.NLists, ix.NProbes, n)
	}
	idx, dist := make([]int32, n*k), make([]float32, n*k)
	for s, cuts := range [][][2]int{{{0, 1000}, {1001, n}}, {{1000, 1001}}} {
		if err := ss[s].SearchIVF(ix, k, shares(cuts...), idx, dist); err != nil {
			t.Fatalf("SearchIVF of %v: %v", cuts, err)
		}
	}
	for _, rounds := range []int{0, 2} {
		p.Refine = rounds
		want, wantD := runKNN(t, ns, x, n, d, k, p)
		got, gotD := slices.Clone(idx), slices.Clone(dist)
		if err := ss[1].RefineKNN(ix, k, rounds, got, gotD); err != nil {
			t.Fatalf("RefineKNN(%d rounds): %v", rounds, err)
		}
		if !slices.Equal(got, want) || !slices.Equal(gotD, wantD) {
			t.Fatalf("%d rounds: the sharded search's rows differ from KNN's", rounds)
		}
		checkRows(t, x, n, d, k, got, gotD)
	}
	if err := ss[1].SearchIVF(ix, k, shares([2]int{5, n + 1}), idx, dist); err == nil {
		t.Error("SearchIVF past the last point: no error")
	}
	if err := ss[1].SearchIVF(ix, k, shares([2]int{0, 5}), idx[:10], dist); err == nil {
		t.Error("SearchIVF into short outputs: no error")
	}
	if err := ss[1].RefineKNN(nil, k, 1, idx, dist); err == nil {
		t.Error("RefineKNN without an index: no error")
	}
}

// shares returns a SearchIVF share source that hands out cuts in order.
func shares(cuts ...[2]int) func() (int, int, bool) {
	return func() (int, int, bool) {
		if len(cuts) == 0 {
			return 0, 0, false
		}
		c := cuts[0]
		cuts = cuts[1:]
		return c[0], c[1], true
	}
}
