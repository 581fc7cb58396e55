// Fuzzy simplicial set: scanpy's obsp["connectivities"].
//
// McInnes, Healy & Melville 2018 (arXiv:1802.03426), section 3.1 and
// Algorithm 2-3; umap-learn 0.5.3 umap_.fuzzy_simplicial_set, which scanpy
// 1.9.6 neighbors._compute_connectivities_umap calls with precomputed
// knn_indices / knn_dists, set_op_mix_ratio = 1 and local_connectivity = 1.
//
// For every cell i with neighbour distances d_i1 <= ... <= d_ik (itself
// first at distance 0):
//
//   - rho_i is the distance to the nearest neighbour at non-zero distance
//     (umap-learn smooth_knn_dist; with local_connectivity l = 1 + f it is
//     interpolated between the l-th and (l+1)-th non-zero distances).
//   - sigma_i solves sum_{j>=1} exp(-max(0, d_ij - rho_i) / sigma_i) = log2(k)
//     (the paper's eq. in Definition 9 with bandwidth 1), by the same 64-step
//     bisection with tolerance 1e-5 (SMOOTH_K_TOLERANCE) that umap-learn
//     runs, doubling the upper bound while it is infinite. sigma_i is then
//     raised to at least MIN_K_DIST_SCALE (1e-3) times the mean distance of
//     the row (or of all rows when rho_i = 0).
//   - the directed membership is w_ij = exp(-(d_ij - rho_i) / sigma_i), 1
//     where d_ij <= rho_i or sigma_i = 0, 0 for j = i
//     (compute_membership_strengths); zeros are dropped.
//   - the symmetric graph is the fuzzy union A + A^T - A∘A^T (the
//     probabilistic t-conorm, set_op_mix_ratio = 1).
//
// scanpy stores obsp["distances"] from the same lists
// (_get_sparse_matrix_from_indices_distances_umap): each row holds its
// non-self neighbours with their distances, zeros eliminated, columns sorted.
//
// Everything is computed in float64 and stored as float32, as scanpy stores
// both graphs; rows are processed in parallel.

package graph

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/scbench/scbench/sparse"
)

// ErrFuzzyInput is wrapped by the errors Connectivities and SmoothKNNDist
// return for malformed neighbour lists.
var ErrFuzzyInput = errors.New("graph: invalid kNN lists")

// umap-learn's constants (umap_.py).
const (
	fuzzySmoothKTolerance = 1e-5 // SMOOTH_K_TOLERANCE
	fuzzyMinKDistScale    = 1e-3 // MIN_K_DIST_SCALE
	fuzzyBisectionSteps   = 64   // smooth_knn_dist n_iter
)

// Connectivities returns scanpy's connectivities and distances graphs for
// the kNN lists of n cells: indices and dists are n x k, row-major, each row
// sorted by distance with the cell itself first at distance 0 (as scanpy and
// pynndescent store them; an index of -1 marks a missing neighbour).
// conn is the fuzzy union of the per-cell memberships (umap-learn's
// fuzzy_simplicial_set with local_connectivity 1, set_op_mix_ratio 1); dist
// holds each cell's k-1 non-self neighbour distances. Both are n x n.
func Connectivities(indices []int32, dists []float32, n, k int) (conn, dist *sparse.CSR, err error) {
	if err := fuzzyCheck(indices, dists, n, k); err != nil {
		return nil, nil, err
	}
	sigma, rho, err := SmoothKNNDist(dists, n, k, 1)
	if err != nil {
		return nil, nil, err
	}
	a := fuzzyMemberships(indices, dists, n, k, sigma, rho)
	conn = fuzzyUnion(a)
	dist = fuzzyDistances(indices, dists, n, k)
	return conn, dist, nil
}

func fuzzyCheck(indices []int32, dists []float32, n, k int) error {
	if n < 0 || k < 1 {
		return fmt.Errorf("%w: n = %d cells, k = %d neighbours (want n >= 0, k >= 1)", ErrFuzzyInput, n, k)
	}
	if len(indices) != n*k || len(dists) != n*k {
		return fmt.Errorf("%w: %d indices and %d distances for %d cells x %d neighbours (want %d each)",
			ErrFuzzyInput, len(indices), len(dists), n, k, n*k)
	}
	for p, j := range indices {
		if j < -1 || int(j) >= n {
			return fmt.Errorf("%w: cell %d, neighbour %d has index %d, outside [0, %d) (-1 marks a missing one)",
				ErrFuzzyInput, p/k, p%k, j, n)
		}
	}
	for p, d := range dists {
		if !(d >= 0) || math.IsInf(float64(d), 1) {
			return fmt.Errorf("%w: cell %d, neighbour %d has distance %v (want finite and >= 0)", ErrFuzzyInput, p/k, p%k, d)
		}
	}
	return nil
}

// SmoothKNNDist returns sigma and rho of each of n cells from its k sorted
// neighbour distances (row-major n x k, itself first at distance 0), as
// umap-learn's smooth_knn_dist does with bandwidth 1: rho from the nearest
// non-zero distances (local connectivity localConn, 1 in scanpy), sigma by
// bisection so that the memberships of the k-1 other neighbours sum to
// log2(k).
func SmoothKNNDist(dists []float32, n, k int, localConn float64) (sigma, rho []float64, err error) {
	if len(dists) != n*k || k < 1 {
		return nil, nil, fmt.Errorf("%w: %d distances for %d cells x %d neighbours", ErrFuzzyInput, len(dists), n, k)
	}
	if !(localConn >= 0) {
		return nil, nil, fmt.Errorf("%w: local connectivity %v (want >= 0)", ErrFuzzyInput, localConn)
	}
	var total float64
	for _, d := range dists {
		total += float64(d)
	}
	meanAll := total / float64(max(len(dists), 1))
	target := math.Log2(float64(k))
	sigma = make([]float64, n)
	rho = make([]float64, n)
	fuzzyParallel(n, 0, func(lo, hi int) {
		nz := make([]float64, 0, k)
		for i := lo; i < hi; i++ {
			row := dists[i*k : (i+1)*k]
			nz = nz[:0]
			var rowSum float64
			for _, d := range row {
				rowSum += float64(d)
				if d > 0 {
					nz = append(nz, float64(d))
				}
			}
			rho[i] = fuzzyRho(nz, localConn)
			sigma[i] = fuzzySigma(row, rho[i], target)
			// MIN_K_DIST_SCALE keeps sigma away from 0 for rows of (near)
			// duplicates.
			mean := meanAll
			if rho[i] > 0 {
				mean = rowSum / float64(k)
			}
			if sigma[i] < fuzzyMinKDistScale*mean {
				sigma[i] = fuzzyMinKDistScale * mean
			}
		}
	})
	return sigma, rho, nil
}

// fuzzyRho interpolates the local connectivity: the index-th non-zero
// distance plus the fractional part towards the next one.
func fuzzyRho(nz []float64, localConn float64) float64 {
	if float64(len(nz)) >= localConn {
		index := int(math.Floor(localConn))
		frac := localConn - float64(index)
		if index > 0 {
			r := nz[index-1]
			if frac > fuzzySmoothKTolerance && index < len(nz) {
				r += frac * (nz[index] - nz[index-1])
			}
			return r
		}
		if len(nz) == 0 {
			return 0
		}
		return frac * nz[0]
	}
	if len(nz) > 0 {
		return slices.Max(nz)
	}
	return 0
}

// fuzzySigma bisects for sigma as smooth_knn_dist does: start at 1, double
// while no upper bound is known, stop when the membership sum is within
// the tolerance of the target or after 64 steps.
func fuzzySigma(row []float32, rho, target float64) float64 {
	lo, hi, mid := 0.0, math.Inf(1), 1.0
	for range fuzzyBisectionSteps {
		var psum float64
		for _, d := range row[1:] {
			if x := float64(d) - rho; x > 0 {
				psum += math.Exp(-x / mid)
			} else {
				psum++
			}
		}
		if math.Abs(psum-target) < fuzzySmoothKTolerance {
			break
		}
		if psum > target {
			hi = mid
			mid = (lo + hi) / 2
		} else {
			lo = mid
			if math.IsInf(hi, 1) {
				mid *= 2
			} else {
				mid = (lo + hi) / 2
			}
		}
	}
	return mid
}

// fuzzyMemberships returns the directed membership matrix A (n x n, rows
// sorted by column, duplicates summed, zeros dropped) as float32, the
// precision umap-learn stores it in before the union.
func fuzzyMemberships(indices []int32, dists []float32, n, k int, sigma, rho []float64) *sparse.CSR {
	a := fuzzyRowsFromLists(indices, n, k, func(i, p int) float32 {
		j := indices[p]
		if int(j) == i {
			return 0
		}
		x := float64(dists[p]) - rho[i]
		if x <= 0 || sigma[i] == 0 {
			return 1
		}
		return float32(math.Exp(-x / sigma[i]))
	})
	return a
}

// fuzzyDistances is scanpy's obsp["distances"]: the non-self neighbours
// with their distances, zeros eliminated.
func fuzzyDistances(indices []int32, dists []float32, n, k int) *sparse.CSR {
	return fuzzyRowsFromLists(indices, n, k, func(i, p int) float32 {
		if int(indices[p]) == i {
			return 0
		}
		return dists[p]
	})
}

// fuzzyRowsFromLists builds an n x n CSR from the kNN lists with value
// val(i, p) for list entry p of row i, as scipy's coo -> csr does after
// eliminate_zeros: columns sorted, duplicates summed, zeros (and -1
// indices) dropped.
func fuzzyRowsFromLists(indices []int32, n, k int, val func(i, p int) float32) *sparse.CSR {
	type entry struct {
		j int32
		v float32
	}
	cnt := make([]int64, n+1)
	cols := make([]int32, n*k)
	vals := make([]float32, n*k)
	fuzzyParallel(n, 0, func(lo, hi int) {
		buf := make([]entry, 0, k)
		for i := lo; i < hi; i++ {
			buf = buf[:0]
			for p := i * k; p < (i+1)*k; p++ {
				if indices[p] < 0 {
					continue
				}
				buf = append(buf, entry{indices[p], val(i, p)})
			}
			slices.SortFunc(buf, func(x, y entry) int { return int(x.j) - int(y.j) })
			// Sum duplicates, then drop zeros.
			m := 0
			for q := 0; q < len(buf); {
				e := buf[q]
				q++
				for q < len(buf) && buf[q].j == e.j {
					e.v += buf[q].v
					q++
				}
				if e.v != 0 {
					cols[i*k+m], vals[i*k+m] = e.j, e.v
					m++
				}
			}
			cnt[i+1] = int64(m)
		}
	})
	for i := 0; i < n; i++ {
		cnt[i+1] += cnt[i]
	}
	out := sparse.NewCSR(n, n, cnt[n])
	copy(out.Indptr, cnt)
	fuzzyParallel(n, 0, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m := int(cnt[i+1] - cnt[i])
			copy(out.Indices[cnt[i]:cnt[i+1]], cols[i*k:i*k+m])
			copy(out.Data[cnt[i]:cnt[i+1]], vals[i*k:i*k+m])
		}
	})
	return out
}

// fuzzyTranspose returns a^T with sorted rows (a counting sort by column
// keeps the row order, so each transposed row comes out sorted).
func fuzzyTranspose(a *sparse.CSR) *sparse.CSR {
	t := sparse.NewCSR(a.Cols, a.Rows, a.NNZ())
	for _, j := range a.Indices {
		t.Indptr[j+1]++
	}
	for j := 0; j < a.Cols; j++ {
		t.Indptr[j+1] += t.Indptr[j]
	}
	next := append([]int64(nil), t.Indptr[:a.Cols]...)
	for i := 0; i < a.Rows; i++ {
		for p := a.Indptr[i]; p < a.Indptr[i+1]; p++ {
			j := a.Indices[p]
			q := next[j]
			next[j]++
			t.Indices[q] = int32(i)
			t.Data[q] = a.Data[p]
		}
	}
	return t
}

// fuzzyUnion returns A + A^T - A∘A^T for a square A with sorted rows,
// summed in float64, zeros dropped.
func fuzzyUnion(a *sparse.CSR) *sparse.CSR {
	n := a.Rows
	t := fuzzyTranspose(a)
	// merge walks row i of a and of t in column order and calls emit for
	// each union entry.
	merge := func(i int, emit func(j int32, v float64)) {
		p, pe := a.Indptr[i], a.Indptr[i+1]
		q, qe := t.Indptr[i], t.Indptr[i+1]
		for p < pe || q < qe {
			switch {
			case q >= qe || (p < pe && a.Indices[p] < t.Indices[q]):
				emit(a.Indices[p], float64(a.Data[p]))
				p++
			case p >= pe || t.Indices[q] < a.Indices[p]:
				emit(t.Indices[q], float64(t.Data[q]))
				q++
			default:
				x, y := float64(a.Data[p]), float64(t.Data[q])
				emit(a.Indices[p], x+y-x*y)
				p++
				q++
			}
		}
	}
	ptr := make([]int64, n+1)
	fuzzyParallel(n, 0, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var c int64
			merge(i, func(_ int32, v float64) {
				if float32(v) != 0 {
					c++
				}
			})
			ptr[i+1] = c
		}
	})
	for i := 0; i < n; i++ {
		ptr[i+1] += ptr[i]
	}
	out := sparse.NewCSR(n, n, ptr[n])
	copy(out.Indptr, ptr)
	fuzzyParallel(n, 0, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o := ptr[i]
			merge(i, func(j int32, v float64) {
				if f := float32(v); f != 0 {
					out.Indices[o], out.Data[o] = j, f
					o++
				}
			})
		}
	})
	return out
}

// fuzzyParallel splits [0, n) into contiguous blocks run by up to threads
// goroutines (GOMAXPROCS when threads <= 0).
func fuzzyParallel(n, threads int, fn func(lo, hi int)) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// Blocks of at least 256 rows keep scheduling overhead small; more
	// blocks than threads balance uneven rows.
	blocks := min(threads*4, (n+255)/256)
	if blocks <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	work := make(chan int, blocks)
	for b := range blocks {
		work <- b
	}
	close(work)
	for range min(threads, blocks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				fn(b*n/blocks, (b+1)*n/blocks)
			}
		}()
	}
	wg.Wait()
}
