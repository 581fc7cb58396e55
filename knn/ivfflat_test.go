package knn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

// With every list probed IVF-Flat is an exact search.
func TestIVFFlatAllProbesIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ n, d, k, lists, pad int }{
		{1, 3, 1, 0, 0},
		{2, 1, 2, 0, 1},
		{16, 3, 7, 5, 0},
		{17, 50, 16, 3, 2},
		{389, 3, 15, 0, 0},
		{601, 50, 15, 33, 5},
		{257, 1, 9, 0, 0},
		{1201, 5, 15, 260, 1}, // two-level coarse quantizer (>= hierMin lists)
	} {
		x := randomMatrix(rng, tc.n, tc.d, tc.pad, 3)
		ix, err := BuildIVFFlat(x, IVFFlatParams{NLists: tc.lists, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		all := ix.Params().NLists
		got, err := ix.SearchSelf(tc.k, all, 2)
		if err != nil {
			t.Fatal(err)
		}
		idx, dist := bruteForce(x, x, tc.k, true)
		sameNeighbors(t, "SearchSelf", got, idx, dist)

		q := randomMatrix(rng, 1+tc.n/2, tc.d, 1, 3)
		got, err = ix.Search(q, tc.k, all, 3)
		if err != nil {
			t.Fatal(err)
		}
		idx, dist = bruteForce(x, q, tc.k, false)
		sameNeighbors(t, "Search", got, idx, dist)
	}
}

func TestIVFFlatDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	base := randomMatrix(rng, 50, 4, 0, 2)
	n := 311
	x := blas32.General{Rows: n, Cols: 4, Stride: 4, Data: make([]float32, n*4)}
	for i := 0; i < n; i++ {
		copy(x.Data[i*4:i*4+4], base.Data[(i%50)*4:(i%50)*4+4])
	}
	ix, err := BuildIVFFlat(x, IVFFlatParams{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.SearchSelf(8, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Every copy of a point sits in the same list, so all seven copies
	// are found: the row is itself, then the other six copies at 0.
	for i := 0; i < n; i++ {
		ids, ds := got.Row(i)
		if ids[0] != int32(i) || ds[0] != 0 {
			t.Fatalf("row %d starts with %d at %g", i, ids[0], ds[0])
		}
		copies := 0
		for c := i % 50; c < n; c += 50 {
			copies++
		}
		var want []int32
		for c := i % 50; c < n; c += 50 {
			if c != i {
				want = append(want, int32(c))
			}
		}
		if !slices.Equal(ids[1:copies], want) {
			t.Fatalf("row %d: %v, want itself then copies %v", i, ids, want)
		}
	}
}

// Results depend only on the data, the parameters and the seed.
func TestIVFFlatDeterministic(t *testing.T) {
	x := blobs(3001, 20, 3)
	q := blobs(211, 20, 4)
	build := func(threads int) (Neighbors, Neighbors, blas32.General) {
		ix, err := BuildIVFFlat(x, IVFFlatParams{Seed: 9, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		a, err := ix.SearchSelf(15, 0, threads)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ix.Search(q, 10, 3, threads)
		if err != nil {
			t.Fatal(err)
		}
		return a, b, ix.Centroids()
	}
	a1, b1, c1 := build(1)
	a2, b2, c2 := build(3)
	if !slices.Equal(c1.Data, c2.Data) {
		t.Error("centroids differ between 1 and 3 threads")
	}
	for _, p := range [][2]Neighbors{{a1, a2}, {b1, b2}} {
		if !slices.Equal(p[0].Indices, p[1].Indices) || !slices.Equal(p[0].Distances, p[1].Distances) {
			t.Error("neighbours differ between 1 and 3 threads")
		}
	}
	ix, err := BuildIVFFlat(x, IVFFlatParams{Seed: 10})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(ix.Centroids().Data, c1.Data) {
		t.Error("seeds 9 and 10 gave the same centroids")
	}
}

// Default parameters on clustered data: recall, list balance, sorted rows.
func TestIVFFlatDefaults(t *testing.T) {
	x := blobs(4099, 50, 5)
	ix, err := BuildIVFFlat(x, IVFFlatParams{})
	if err != nil {
		t.Fatal(err)
	}
	p := ix.Params()
	if p.NLists != 256 || p.NProbes != 20 || p.KMeansIters != DefaultKMeansIters || p.TrainSample != 4099 {
		t.Errorf("defaults for 4,099 points: %+v", p)
	}
	sizes := ix.ListSizes()
	total, largest := 0, 0
	for _, s := range sizes {
		total += s
		largest = max(largest, s)
	}
	if total != x.Rows {
		t.Errorf("lists hold %d points, want %d", total, x.Rows)
	}
	if mean := float64(total) / float64(len(sizes)); float64(largest) > listRatio*mean {
		t.Errorf("largest list %d is more than %d times the mean %.1f", largest, listRatio, mean)
	}
	got, err := ix.SearchSelf(15, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Exact(x, 15, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := recallOf(got, ex)
	t.Logf("4,099 blob points, 256 lists, 20 probes: recall@15 %.4f, largest list %d", r, largest)
	if r < 0.95 {
		t.Errorf("recall@15 = %.4f, want >= 0.95", r)
	}
	for i := 0; i < got.N; i++ {
		ids, ds := got.Row(i)
		for c := 1; c < got.K; c++ {
			if ds[c] < ds[c-1] || ids[c] < 0 || ids[c] == int32(i) {
				t.Fatalf("row %d is not a sorted list of other points: %v %v", i, ids, ds)
			}
		}
	}
}

// When the probed lists hold fewer than k points the row is padded.
func TestIVFFlatShortLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := randomMatrix(rng, 60, 3, 0, 6)
	ix, err := BuildIVFFlat(x, IVFFlatParams{NLists: 30})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.SearchSelf(12, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	padded := 0
	for i := 0; i < got.N; i++ {
		ids, ds := got.Row(i)
		for c := 1; c < got.K; c++ {
			if ids[c] == -1 {
				padded++
				if !math.IsInf(float64(ds[c]), 1) || (c+1 < got.K && ids[c+1] != -1) {
					t.Fatalf("row %d: padding is not a tail of -1 at +Inf: %v %v", i, ids, ds)
				}
			}
		}
	}
	if padded == 0 {
		t.Error("no row padded with 30 lists of 60 points, 1 probe and k = 12")
	}
}

func TestIVFFlatErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	x := randomMatrix(rng, 20, 3, 0, 2)
	ix, err := BuildIVFFlat(x, IVFFlatParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.SearchSelf(21, 0, 0); err == nil {
		t.Error("k = 21 over 20 points: no error")
	}
	if _, err := ix.SearchSelf(0, 0, 0); err == nil {
		t.Error("k = 0: no error")
	}
	if _, err := ix.Search(randomMatrix(rng, 4, 2, 0, 1), 3, 0, 0); err == nil {
		t.Error("2-column queries on a 3-column index: no error")
	}
	if _, err := BuildIVFFlat(blas32.General{Cols: 3, Stride: 3}, IVFFlatParams{}); err == nil {
		t.Error("empty index: no error")
	}
	small, err := BuildIVFFlat(randomMatrix(rng, 5, 3, 0, 2), IVFFlatParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := small.Params().NLists; got != 5 {
		t.Errorf("NLists for 5 points is %d, want 5 (the default 8 clamped to n)", got)
	}
}

func TestDefaultNLists(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{4891, 256}, {9889, 256}, {16384, 256}, {16385, 512}, {100_000, 1024}, {1_306_127, 4096}, {2, 4},
	} {
		if got := DefaultNLists(tc.n); got != tc.want {
			t.Errorf("DefaultNLists(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
