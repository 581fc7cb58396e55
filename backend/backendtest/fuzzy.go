package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/sparse"
)

// RunFuzzy checks a backend's backend.FuzzyGraphBuilder, and skips when
// the backend lacks it. One backend from newBackend serves every subtest;
// RunFuzzy closes it.
//
// The reference is graph.Connectivities (itself checked against the
// paper's formulas written out densely in float64, and against scanpy):
// the same row pointers and column indices, and values within relative
// 1e-5 (the memberships are float64 exponentials rounded to float32 on
// both sides, so they differ where one rounding falls the other way). On
// kNN lists of clustered points with every tenth point a copy of another
// (rows with several zero distances), of n = 1, 2, 17 and 3,001 points
// and k = 1, 2 and 15: from knn.Exact, and from a host IVF-Flat probing
// one list of many (short lists: index -1) with some more slots set to
// -1, filled as the pipeline fills them. Also: lists that repeat a
// neighbour (summed), 40 copies of one point (every distance 0, rho 0),
// 1,000 copies among 3,001 points (cells that a thousand others list),
// no cells; two runs give the same bits; malformed lists (short, an
// index outside [-1, n), a distance negative, NaN or infinite, k = 0)
// are ErrShape errors.
func RunFuzzy(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	runCapability(t, newBackend, []capCase[backend.FuzzyGraphBuilder]{
		{"Exact", func(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand) { testFuzzyLists(t, fb, rng, "exact") }},
		{"IVFFlat", func(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand) {
			testFuzzyLists(t, fb, rng, "ivfflat")
		}},
		{"Repeats", testFuzzyRepeats},
		{"Identical", testFuzzyIdentical},
		{"Hubs", testFuzzyHubs},
		{"Empty", testFuzzyEmpty},
		{"Deterministic", testFuzzyDeterministic},
		{"Errors", testFuzzyErrors},
	})
}

// FuzzyLists returns kNN lists of n points in d dimensions (Blobs, with
// every tenth point a copy of another) by method "exact" (knn.Exact) or
// "ivfflat" (a host IVF-Flat of n/20 lists probing one: rows whose list
// holds fewer than k points end in -1), with one in holes of the other
// non-self slots also set to -1 (0: none); the missing neighbours'
// distances are the row's largest, as the pipeline fills them.
func FuzzyLists(n, d, k int, method string, holes int, seed uint64) ([]int32, []float32, error) {
	x := Blobs(n, d, seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 9; i < n; i += 10 {
		j := rng.IntN(n)
		copy(x[i*d:(i+1)*d], x[j*d:(j+1)*d])
	}
	g := blas32.General{Rows: n, Cols: d, Stride: d, Data: x}
	var nb knn.Neighbors
	var err error
	switch method {
	case "exact":
		nb, err = knn.Exact(g, k, 0)
	case "ivfflat":
		var ix *knn.IVFFlat
		if ix, err = knn.BuildIVFFlat(g, knn.IVFFlatParams{NLists: max(1, n/20), NProbes: 1, Seed: seed}); err == nil {
			nb, err = ix.SearchSelf(k, 1, 0)
		}
	default:
		err = fmt.Errorf("unknown method %q", method)
	}
	if err != nil {
		return nil, nil, err
	}
	if holes > 0 {
		for p := range nb.Indices {
			if p%k != 0 && rng.IntN(holes) == 0 {
				nb.Indices[p] = -1
			}
		}
	}
	FillMissing(nb.Indices, nb.Distances, k)
	return nb.Indices, nb.Distances, nil
}

// CountMissing returns how many slots of kNN lists hold no neighbour
// (a negative index).
func CountMissing(idx []int32) int {
	n := 0
	for _, j := range idx {
		if j < 0 {
			n++
		}
	}
	return n
}

// FillMissing gives the slots of index -1 the largest finite distance of
// their row among the others, as the pipeline does before
// graph.Connectivities (an approximate search leaves them at +Inf).
func FillMissing(idx []int32, dist []float32, k int) {
	for r := 0; r+k <= len(idx); r += k {
		far := float32(0)
		for p := r; p < r+k; p++ {
			if idx[p] >= 0 && !math.IsInf(float64(dist[p]), 0) {
				far = max(far, dist[p])
			}
		}
		for p := r; p < r+k; p++ {
			if idx[p] < 0 {
				dist[p] = far
			}
		}
	}
}

// CompareFuzzy checks the graphs of a FuzzyGraphBuilder against
// graph.Connectivities's on the same lists: the same shapes, row pointers
// and column indices, values within relative rel. It returns the largest
// relative error of the connectivities.
func CompareFuzzy(t testing.TB, idx []int32, dist []float32, n, k int, conn, dst *sparse.CSR, rel float64) float64 {
	t.Helper()
	wantConn, wantDist, err := graph.Connectivities(idx, dist, n, k)
	if err != nil {
		t.Fatalf("graph.Connectivities: %v", err)
	}
	worst := 0.0
	for _, c := range []struct {
		name      string
		got, want *sparse.CSR
	}{{"connectivities", conn, wantConn}, {"distances", dst, wantDist}} {
		g, w := c.got, c.want
		if g == nil {
			t.Fatalf("%s: nil", c.name)
		}
		if g.Rows != w.Rows || g.Cols != w.Cols || !slices.Equal(g.Indptr, w.Indptr) {
			t.Fatalf("%s: %d x %d with %d values (or other row pointers); graph.Connectivities gives %d x %d with %d",
				c.name, g.Rows, g.Cols, g.NNZ(), w.Rows, w.Cols, w.NNZ())
		}
		if len(g.Indices) != len(w.Indices) || len(g.Data) != len(w.Data) {
			t.Fatalf("%s: %d indices and %d values, want %d", c.name, len(g.Indices), len(g.Data), len(w.Indices))
		}
		if !slices.Equal(g.Indices, w.Indices) {
			for p := range w.Indices {
				if g.Indices[p] != w.Indices[p] {
					t.Fatalf("%s: entry %d is in column %d, graph.Connectivities has %d", c.name, p, g.Indices[p], w.Indices[p])
				}
			}
		}
		for p, wv := range w.Data {
			e := math.Abs(float64(g.Data[p])-float64(wv)) / math.Abs(float64(wv))
			if !(e <= rel) {
				t.Fatalf("%s: entry %d (column %d) is %v, graph.Connectivities has %v (relative error %.2g)",
					c.name, p, w.Indices[p], g.Data[p], wv, e)
			}
			if c.name == "connectivities" {
				worst = max(worst, e)
			}
		}
	}
	return worst
}

func runFuzzy(t *testing.T, fb backend.FuzzyGraphBuilder, idx []int32, dist []float32, n, k int) (conn, dst *sparse.CSR) {
	t.Helper()
	conn, dst, err := fb.Connectivities(idx, dist, n, k)
	if err != nil {
		t.Fatalf("Connectivities(n = %d, k = %d): %v", n, k, err)
	}
	return conn, dst
}

func testFuzzyLists(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand, method string) {
	for _, n := range []int{1, 2, 17, 3001} {
		for _, k := range []int{1, 2, 15} {
			if k > n {
				continue
			}
			t.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(t *testing.T) {
				holes := 0
				if method == "ivfflat" {
					holes = 40
				}
				idx, dist, err := FuzzyLists(n, 7, k, method, holes, rng.Uint64())
				if err != nil {
					t.Fatal(err)
				}
				missing := CountMissing(idx)
				conn, dst := runFuzzy(t, fb, idx, dist, n, k)
				worst := CompareFuzzy(t, idx, dist, n, k, conn, dst, 1e-5)
				t.Logf("%d missing neighbours; %d + %d values, connectivities within %.2g", missing, conn.NNZ(), dst.NNZ(), worst)
				if method == "ivfflat" && n == 3001 && k == 15 && missing == 0 {
					t.Errorf("no missing neighbour: the case does not test them")
				}
			})
		}
	}
}

// testFuzzyRepeats: lists that name a neighbour twice (memberships and
// distances summed) or the cell itself again (membership 0).
func testFuzzyRepeats(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand) {
	const n, k = 211, 9
	idx, dist, err := FuzzyLists(n, 5, k, "exact", 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 3 {
		s := 2 + rng.IntN(k-2)
		if i%2 == 0 {
			idx[i*k+s] = idx[i*k+s-1] // repeated, at a distance not below
		} else {
			idx[i*k+s] = int32(i) // itself again
		}
	}
	conn, dst := runFuzzy(t, fb, idx, dist, n, k)
	CompareFuzzy(t, idx, dist, n, k, conn, dst, 1e-5)
}

// testFuzzyIdentical: 40 copies of one point, every distance 0: rho is 0
// everywhere, sigma falls to 0 against the mean of all distances (0), all
// memberships are 1 and the distances graph is empty.
func testFuzzyIdentical(t *testing.T, fb backend.FuzzyGraphBuilder, _ *rand.Rand) {
	const n, k = 40, 15
	x := make([]float32, n*3)
	for i := range n {
		copy(x[3*i:], []float32{1.5, -2, 0.25})
	}
	nb, err := knn.Exact(blas32.General{Rows: n, Cols: 3, Stride: 3, Data: x}, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, dst := runFuzzy(t, fb, nb.Indices, nb.Distances, n, k)
	CompareFuzzy(t, nb.Indices, nb.Distances, n, k, conn, dst, 1e-5)
	if dst.NNZ() != 0 || conn.NNZ() == 0 {
		t.Errorf("identical points: %d connectivities, %d distances; want some and none", conn.NNZ(), dst.NNZ())
	}
}

// testFuzzyHubs: 1,000 copies of one point among 3,001 blob points. The
// copies list the lowest-numbered copies first (ties by index), so each
// of those is the neighbour of about a thousand cells: long rows of the
// transpose.
func testFuzzyHubs(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand) {
	const n, d, k = 3001, 6, 15
	x := Blobs(n, d, 21)
	for _, i := range rng.Perm(n)[:1000] {
		copy(x[i*d:(i+1)*d], x[:d])
	}
	nb, err := knn.Exact(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, dst := runFuzzy(t, fb, nb.Indices, nb.Distances, n, k)
	CompareFuzzy(t, nb.Indices, nb.Distances, n, k, conn, dst, 1e-5)
	longest := int64(0)
	for i := range n {
		longest = max(longest, conn.Indptr[i+1]-conn.Indptr[i])
	}
	if longest < 900 {
		t.Errorf("the longest row has %d connectivities: the case makes no hub", longest)
	}
}

func testFuzzyEmpty(t *testing.T, fb backend.FuzzyGraphBuilder, _ *rand.Rand) {
	conn, dst := runFuzzy(t, fb, nil, nil, 0, 15)
	CompareFuzzy(t, nil, nil, 0, 15, conn, dst, 0)
}

func testFuzzyDeterministic(t *testing.T, fb backend.FuzzyGraphBuilder, rng *rand.Rand) {
	const n, k = 2053, 15
	idx, dist, err := FuzzyLists(n, 10, k, "ivfflat", 30, rng.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	c1, d1 := runFuzzy(t, fb, idx, dist, n, k)
	c2, d2 := runFuzzy(t, fb, idx, dist, n, k)
	for _, c := range []struct {
		name string
		a, b *sparse.CSR
	}{{"connectivities", c1, c2}, {"distances", d1, d2}} {
		same := slices.Equal(c.a.Indptr, c.b.Indptr) && slices.Equal(c.a.Indices, c.b.Indices) &&
			slices.EqualFunc(c.a.Data, c.b.Data, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
		if !same {
			t.Errorf("%s: two runs differ", c.name)
		}
	}
}

func testFuzzyErrors(t *testing.T, fb backend.FuzzyGraphBuilder, _ *rand.Rand) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		name string
		idx  []int32
		dist []float32
		n, k int
	}{
		{"short", []int32{0, 1, 1}, []float32{0, 1, 0}, 2, 2},
		{"lengths differ", []int32{0, 1, 1, 0}, []float32{0, 1, 0}, 2, 2},
		{"k = 0", nil, nil, 2, 0},
		{"n < 0", nil, nil, -1, 2},
		{"index past n", []int32{0, 5, 1, 0}, []float32{0, 1, 0, 1}, 2, 2},
		{"index -2", []int32{0, 1, 1, -2}, []float32{0, 1, 0, 1}, 2, 2},
		{"NaN distance", []int32{0, 1, 1, 0}, []float32{0, nan, 0, 1}, 2, 2},
		{"infinite distance", []int32{0, 1, 1, -1}, []float32{0, 1, 0, inf}, 2, 2},
		{"negative distance", []int32{0, 1, 1, 0}, []float32{0, 1, 0, -1}, 2, 2},
	} {
		_, _, err := fb.Connectivities(c.idx, c.dist, c.n, c.k)
		if !errors.Is(err, backend.ErrShape) {
			t.Errorf("%s: err = %v, want an ErrShape error", c.name, err)
		}
	}
}
