package knn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

// refineReference is Refine's definition in float64, one round: point i's
// candidates are its neighbours, the k-1 nearest points that list it (by
// the listed distance, then index), and the neighbours of both, itself and
// -1 left out, ranked by (squared distance, index).
func refineReference(x blas32.General, nb Neighbors) ([]int32, []float64) {
	k := nb.K
	idx := make([]int32, nb.N*k)
	dist := make([]float64, nb.N*k)
	for i := 0; i < nb.N; i++ {
		set := map[int32]bool{}
		near, _ := nb.Row(i)
		near = slices.Clone(near)
		type lister struct {
			d  float32
			id int32
		}
		var listers []lister
		for j := 0; j < nb.N; j++ {
			if at := slices.Index(nb.Indices[j*k:(j+1)*k], int32(i)); j != i && at >= 0 {
				listers = append(listers, lister{nb.Distances[j*k+at], int32(j)})
			}
		}
		slices.SortFunc(listers, func(a, b lister) int { return byDistance(a.d, a.id, b.d, b.id) })
		for _, l := range listers[:min(len(listers), k-1)] {
			near = append(near, l.id)
		}
		for _, j := range near {
			set[j] = true
			if j >= 0 && int(j) != i {
				theirs, _ := nb.Row(int(j))
				for _, c := range theirs {
					set[c] = true
				}
			}
		}
		type cand struct {
			d  float64
			id int32
		}
		var cs []cand
		qi := x.Data[i*x.Stride : i*x.Stride+x.Cols]
		for c := range set {
			if c < 0 || int(c) == i {
				continue
			}
			xp := x.Data[int(c)*x.Stride : int(c)*x.Stride+x.Cols]
			var s float64
			for t := range qi {
				v := float64(qi[t]) - float64(xp[t])
				s += v * v
			}
			cs = append(cs, cand{s, c})
		}
		slices.SortFunc(cs, func(a, b cand) int { return byDistance(a.d, a.id, b.d, b.id) })
		idx[i*k], dist[i*k] = int32(i), 0
		for s := 1; s < k; s++ {
			if s-1 < len(cs) {
				idx[i*k+s], dist[i*k+s] = cs[s-1].id, cs[s-1].d
			} else {
				idx[i*k+s], dist[i*k+s] = -1, math.Inf(1)
			}
		}
	}
	return idx, dist
}

// TestRefineReference: one round of Refine on a poor IVF-Flat result
// (two probes of 32 lists) equals the float64 definition, for any thread count, and
// never loses a row's quality; two rounds come closer to exact.
func TestRefineReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 5))
	for _, c := range []struct{ n, d, pad, k int }{{1237, 13, 3, 7}, {501, 50, 0, 16}, {40, 5, 1, 40}} {
		x := randomMatrix(rng, c.n, c.d, c.pad, 9)
		ix, err := BuildIVFFlat(x, IVFFlatParams{NLists: 32, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		nb, err := ix.SearchSelf(c.k, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A few missing neighbours, as short lists leave them.
		for i := 0; i < c.n; i += 97 {
			nb.Indices[i*c.k+c.k-1], nb.Distances[i*c.k+c.k-1] = -1, float32(math.Inf(1))
		}
		wantIdx, wantD := refineReference(x, nb)
		for _, threads := range []int{1, 3} {
			got, err := Refine(x, nb, 1, threads)
			if err != nil {
				t.Fatal(err)
			}
			for q := range wantIdx {
				if got.Indices[q] != wantIdx[q] {
					t.Fatalf("n %d k %d threads %d: point %d neighbour %d is %d, want %d", c.n, c.k, threads, q/c.k, q%c.k, got.Indices[q], wantIdx[q])
				}
				want := float32(math.Sqrt(wantD[q]))
				if g := got.Distances[q]; g != want && math.Abs(float64(g-want)) > 1e-6*float64(want) {
					t.Fatalf("n %d k %d: point %d distance %d is %v, want %v", c.n, c.k, q/c.k, q%c.k, g, want)
				}
			}
			for i := 0; i < c.n; i++ {
				_, before := nb.Row(i)
				_, after := got.Row(i)
				for s := range after {
					if after[s] > before[s] {
						t.Fatalf("n %d: point %d's neighbour %d got farther: %v > %v", c.n, i, s, after[s], before[s])
					}
				}
			}
		}
		ex, err := Exact(x, c.k, 0)
		if err != nil {
			t.Fatal(err)
		}
		one, _ := Refine(x, nb, 1, 0)
		two, _ := Refine(x, nb, 2, 0)
		r0, r1, r2 := recallOf(nb, ex), recallOf(one, ex), recallOf(two, ex)
		t.Logf("n %d d %d k %d: recall %.4f, one round %.4f, two %.4f", c.n, c.d, c.k, r0, r1, r2)
		if r1 < r0 || r2 < r1 {
			t.Errorf("n %d: recall fell with rounds: %.4f, %.4f, %.4f", c.n, r0, r1, r2)
		}
	}
}

// TestRefineRecall: on 30,000 clustered points with default lists and
// few probes, one round lifts recall@15 well above the search's.
func TestRefineRecall(t *testing.T) {
	x := blobs(30_000, 50, 4)
	ex, err := Exact(x, 15, 0)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := BuildIVFFlat(x, IVFFlatParams{})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := ix.SearchSelf(15, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Refine(x, nb, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := recallOf(nb, ex), recallOf(ref, ex)
	t.Logf("recall@15 with 10 of %d probes: %.4f, refined once %.4f", ix.Params().NLists, r0, r1)
	if r1 < 0.97 || r1 < r0+0.5*(1-r0) {
		t.Errorf("refined recall %.4f from %.4f: want at least 0.97 and half the missing found", r1, r0)
	}
}

func TestRefineErrors(t *testing.T) {
	x := blas32.General{Rows: 3, Cols: 2, Stride: 2, Data: []float32{0, 0, 1, 0, 0, 1}}
	bad := Neighbors{N: 3, K: 2, Indices: []int32{0, 1, 1, 3, 2, 0}, Distances: make([]float32, 6)}
	if _, err := Refine(x, bad, 1, 0); err == nil {
		t.Error("neighbour index 3 of 3 points accepted")
	}
	short := Neighbors{N: 2, K: 2, Indices: []int32{0, 1, 1, 0}, Distances: make([]float32, 4)}
	if _, err := Refine(x, short, 1, 0); err == nil {
		t.Error("2 rows of neighbours for 3 points accepted")
	}
}
