package knn

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/internal/parallel"
)

// Refine improves an approximate self search (IVFFlat.SearchSelf) by
// rounds of neighbour-of-neighbour search, the local join of NN-descent
// (Dong, Moses & Li 2011): each point's new neighbours are the k-1
// nearest of its candidates, itself left out. The candidates of point i
// are its neighbours N(i), the k-1 nearest R(i) of the points that list it
// (by the distance at which they list it, ties by the smaller index), and
// the neighbours N(j) of every j in N(i) or R(i). A neighbour's neighbour
// is very often a neighbour, and a point that lists i lies near it even
// where i's own probes missed its list, so one round recovers most of
// what the probed lists missed, for at most 2k^2 distance computations a
// point, a fraction of the search's cost. R(i) is capped because of
// hubness: in 50 dimensions a few points are listed by thousands of
// others, and all of them as candidates would make those points cost
// thousands of times more than the rest, which on a GPU holds up the
// whole round. On 300,000 clustered points in 50 dimensions (2,048 lists,
// 20 probes) recall@15 goes from 0.908 to 0.964 in one round (0.945 with
// N(i) alone); on the generated 1.3M-cell atlas's 50 PCs (4,096 lists, 20
// probes) from 0.899 to 0.947 in one round and 0.955 in two.
//
// The points are refined in breadth-first order over the neighbour lists
// (bfsOrder), so that consecutive points share most candidates and their
// rows are still in cache: twice as fast as in index order. Each row is
// computed on its own, so the order changes nothing in the result.
//
// The result is a function of the candidate sets only: distances are
// float64 (sqdist), ranked with ties broken by the smaller index, each
// row starting with the point itself at distance 0. Rows of nb that hold
// missing neighbours (index -1) stay valid; the missing ones are filled
// when the candidates allow. A round never makes a row worse: its
// neighbours are among its candidates. rounds <= 0 returns nb unchanged;
// threads <= 0 uses GOMAXPROCS goroutines, and the result does not depend
// on it.
func Refine(x blas32.General, nb Neighbors, rounds, threads int) (Neighbors, error) {
	if err := checkMatrix("points", x); err != nil {
		return Neighbors{}, err
	}
	if nb.N != x.Rows || nb.K < 1 || len(nb.Indices) != nb.N*nb.K || len(nb.Distances) != nb.N*nb.K {
		return Neighbors{}, fmt.Errorf("knn: Refine: %d x %d neighbours (%d indices, %d distances) for %d points",
			nb.N, nb.K, len(nb.Indices), len(nb.Distances), x.Rows)
	}
	for q, id := range nb.Indices {
		if id < -1 || int(id) >= nb.N {
			return Neighbors{}, fmt.Errorf("knn: Refine: neighbour %d of point %d is %d, outside [-1, %d)", q%nb.K, q/nb.K, id, nb.N)
		}
	}
	if nb.K == 1 {
		return nb, nil
	}
	threads = resolveThreads(threads)
	cur := nb
	for range rounds {
		rev := nearestReverse(cur, threads)
		m := nb.K - 1
		next := newNeighbors(nb.N, nb.K)
		// One block a goroutine: each has a stamp per point.
		blocks := make([][2]int, 0, threads)
		per := max(1, (nb.N+threads-1)/threads)
		for lo := 0; lo < nb.N; lo += per {
			blocks = append(blocks, [2]int{lo, min(lo+per, nb.N)})
		}
		order := bfsOrder(cur)
		parallel.Blocks(blocks, func(_, lo, hi int) {
			r := newRefiner(x, cur)
			for _, i32 := range order[lo:hi] {
				i := int(i32)
				r.row(i, rev[i*m:(i+1)*m], next)
			}
		})
		cur = next
	}
	return cur, nil
}

// refiner holds one goroutine's scratch: the best list of the point being
// refined and a stamp per point that marks the candidates already seen.
type refiner struct {
	x     blas32.General
	nb    Neighbors
	seen  []int32 // seen[c] == i+1: c was a candidate of point i
	bestD []float64
	bestI []int32
}

func newRefiner(x blas32.General, nb Neighbors) *refiner {
	return &refiner{x: x, nb: nb, seen: make([]int32, nb.N), bestD: make([]float64, 0, nb.K), bestI: make([]int32, 0, nb.K)}
}

// row writes point i's refined neighbours to out; rev holds R(i), -1
// where there are fewer.
func (r *refiner) row(i int, rev []int32, out Neighbors) {
	k := r.nb.K
	x := r.x
	q := x.Data[i*x.Stride : i*x.Stride+x.Cols]
	stamp := int32(i + 1)
	r.seen[i] = stamp
	r.bestD, r.bestI = r.bestD[:0], r.bestI[:0]
	offer := func(c int32) {
		if c < 0 || r.seen[c] == stamp {
			return
		}
		r.seen[c] = stamp
		d := sqdist(q, x.Data[int(c)*x.Stride:int(c)*x.Stride+x.Cols])
		r.insert(d, c, k-1)
	}
	own, _ := r.nb.Row(i)
	for _, j := range own {
		offer(j)
	}
	for _, j := range rev {
		offer(j)
	}
	for _, near := range [2][]int32{own, rev} {
		for _, j := range near {
			if j < 0 || int(j) == i {
				continue
			}
			theirs, _ := r.nb.Row(int(j))
			for _, c := range theirs {
				offer(c)
			}
		}
	}
	idx, dist := out.Row(i)
	idx[0], dist[0] = int32(i), 0
	for s := 1; s < k; s++ {
		if s-1 < len(r.bestI) {
			idx[s], dist[s] = r.bestI[s-1], float32(math.Sqrt(r.bestD[s-1]))
		} else {
			idx[s], dist[s] = -1, float32(math.Inf(1))
		}
	}
}

// insert adds (d, c) to the sorted best list of at most m entries if it
// ranks among them.
func (r *refiner) insert(d float64, c int32, m int) {
	n := len(r.bestD)
	if n == m && !worse(r.bestD[n-1], r.bestI[n-1], d, c) {
		return
	}
	if n < m {
		r.bestD, r.bestI = append(r.bestD, 0), append(r.bestI, 0)
		n++
	}
	s := n - 1
	for s > 0 && worse(r.bestD[s-1], r.bestI[s-1], d, c) {
		r.bestD[s], r.bestI[s] = r.bestD[s-1], r.bestI[s-1]
		s--
	}
	r.bestD[s], r.bestI[s] = d, c
}

// nearestReverse returns R(i) for every point (see Refine): n rows of
// k-1, each the k-1 nearest points that list i by (distance, index),
// nearest first, -1 where fewer list it.
func nearestReverse(nb Neighbors, threads int) []int32 {
	n, k := nb.N, nb.K
	ptr := make([]int, n+1)
	for q, j := range nb.Indices {
		if j >= 0 && int(j) != q/k {
			ptr[j+1]++
		}
	}
	for i := range n {
		ptr[i+1] += ptr[i]
	}
	edges := make([]int, ptr[n]) // the entries q = j*k + s of nb that list i, j increasing
	fill := slices.Clone(ptr[:n])
	for q, j := range nb.Indices {
		if j >= 0 && int(j) != q/k {
			edges[fill[j]] = q
			fill[j]++
		}
	}
	m := k - 1
	out := make([]int32, n*m)
	per := max(1, (n+threads-1)/threads)
	var blocks [][2]int
	for lo := 0; lo < n; lo += per {
		blocks = append(blocks, [2]int{lo, min(lo+per, n)})
	}
	parallel.Blocks(blocks, func(_, lo, hi int) {
		d := make([]float32, 0, m)
		for i := lo; i < hi; i++ {
			row := out[i*m : (i+1)*m]
			ids := row[:0]
			d = d[:0]
			for _, q := range edges[ptr[i]:ptr[i+1]] {
				dq, j := nb.Distances[q], int32(q/k)
				// Edges come in increasing j, so an equal distance never
				// displaces a kept one.
				if len(ids) == m && !(dq < d[m-1]) {
					continue
				}
				if len(ids) < m {
					ids, d = append(ids, 0), append(d, 0)
				}
				t := len(ids) - 1
				for t > 0 && d[t-1] > dq {
					ids[t], d[t] = ids[t-1], d[t-1]
					t--
				}
				ids[t], d[t] = j, dq
			}
			for t := len(ids); t < m; t++ {
				row[t] = -1
			}
		}
	})
	return out
}

// bfsOrder returns the points in breadth-first order over the neighbour
// lists, starting from each unvisited point in turn: consecutive points
// are then near each other, and so are their candidates.
func bfsOrder(nb Neighbors) []int32 {
	seen := make([]bool, nb.N)
	order := make([]int32, 0, nb.N)
	for s := 0; s < nb.N; s++ {
		if seen[s] {
			continue
		}
		seen[s] = true
		head := len(order)
		order = append(order, int32(s))
		for head < len(order) {
			p := order[head]
			head++
			row, _ := nb.Row(int(p))
			for _, j := range row {
				if j >= 0 && !seen[j] {
					seen[j] = true
					order = append(order, j)
				}
			}
		}
	}
	return order
}
