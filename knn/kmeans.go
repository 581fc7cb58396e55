package knn

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas/blas32"
)

// The coarse quantizer of IVFFlat is trained by Lloyd's k-means (Lloyd
// 1982) on a sample, in two levels as cuVS's balanced hierarchical
// k-means does when there are many lists: first about sqrt(nLists)
// mesoclusters, then, inside each, a number of fine clusters proportional
// to its size, and finally a few Lloyd iterations of all the fine centres
// together over the whole sample. Flat training costs sample*nLists
// distances per iteration; the two levels cost about
// 2*sample*sqrt(nLists) per iteration, so only the final global
// iterations pay the full price.
//
// Each Lloyd iteration assigns every row to its nearest centre (an exact
// 1-NN search through the same kernel as everything else) and moves each
// centre to the mean of its rows. Initial centres are distinct random
// rows. Between iterations lists are rebalanced as faiss does: an empty
// centre takes half of the largest cluster (the two centres are pushed
// apart by a relative 1/1024 along alternating signs), and so does a
// centre with fewer than mean/listRatio rows while some cluster holds
// more than listRatio times the mean, so no list ends up many times the
// mean and none is wasted.

// splitEps is faiss's relative perturbation when splitting a cluster.
const splitEps = 1.0 / 1024

// listRatio bounds the imbalance the rebalancing tolerates.
const listRatio = 8

// hierMin is the smallest number of lists trained in two levels, and
// globalIters the number of final iterations over all centres.
const (
	hierMin     = 256
	globalIters = 2
)

// trainCentres returns nLists centres (nLists x d) trained on the rows of
// ts and, when trained in two levels, the mesocentres (else a matrix with
// no rows).
func trainCentres(ts blas32.General, nLists, iters int, rng *rand.Rand, threads int) (cent, meso blas32.General) {
	if nLists < hierMin {
		cent := randomCentres(ts, nLists, rng)
		lloyd(ts, cent, iters, threads)
		return cent, blas32.General{Cols: ts.Cols, Stride: max(1, ts.Cols)}
	}
	n, d := ts.Rows, ts.Cols
	nm := int(math.Round(math.Sqrt(float64(nLists))))
	meso = randomCentres(ts, nm, rng)
	assign := lloyd(ts, meso, iters, threads)

	// Group the rows by mesocluster and share the lists out by size
	// (largest remainders; every non-empty mesocluster gets at least one
	// list and never more lists than rows).
	members, bounds := groupByList(assign, 1, nm)
	share := make([]int, nm)
	type rem struct {
		m    int
		frac float64
	}
	rems := make([]rem, 0, nm)
	given := 0
	for m := 0; m < nm; m++ {
		size := bounds[m+1] - bounds[m]
		exact := float64(nLists) * float64(size) / float64(n)
		share[m] = min(size, max(1, int(exact)))
		if size == 0 {
			share[m] = 0
		}
		given += share[m]
		rems = append(rems, rem{m, exact - float64(share[m])})
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		if a.frac > b.frac {
			return -1
		}
		if a.frac < b.frac {
			return 1
		}
		return 0
	})
	for i := 0; given != nLists && i < 4*nm*nLists; i++ {
		m := rems[i%nm].m
		size := bounds[m+1] - bounds[m]
		if given < nLists && share[m] < size {
			share[m]++
			given++
		} else if given > nLists && share[m] > 1 {
			share[m]--
			given--
		}
	}

	// Fine clusters inside each mesocluster, in parallel, one goroutine
	// each; seeds are drawn up front so the result does not depend on
	// scheduling.
	cent = blas32.General{Rows: nLists, Cols: d, Stride: d, Data: make([]float32, nLists*d)}
	offset := make([]int, nm+1)
	seeds := make([]uint64, nm)
	for m := 0; m < nm; m++ {
		offset[m+1] = offset[m] + share[m]
		seeds[m] = rng.Uint64()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(resolveThreads(threads), nm) {
		wg.Go(func() {
			for {
				m := int(next.Add(1) - 1)
				if m >= nm {
					return
				}
				if share[m] == 0 {
					continue
				}
				rows := members[bounds[m]:bounds[m+1]]
				sub := blas32.General{Rows: len(rows), Cols: d, Stride: d, Data: make([]float32, len(rows)*d)}
				for i, r := range rows {
					copy(sub.Data[i*d:i*d+d], ts.Data[int(r)*ts.Stride:int(r)*ts.Stride+d])
				}
				fine := randomCentres(sub, share[m], rand.New(rand.NewPCG(seeds[m], 0x3c6ef372fe94f82b)))
				lloyd(sub, fine, iters, 1)
				copy(cent.Data[offset[m]*d:], fine.Data)
			}
		})
	}
	wg.Wait()
	lloyd(ts, cent, globalIters, threads)
	return cent, meso
}

// randomCentres returns k distinct random rows of ts.
func randomCentres(ts blas32.General, k int, rng *rand.Rand) blas32.General {
	d := ts.Cols
	cent := blas32.General{Rows: k, Cols: d, Stride: d, Data: make([]float32, k*d)}
	for c, r := range rng.Perm(ts.Rows)[:k] {
		copy(cent.Data[c*d:c*d+d], ts.Data[r*ts.Stride:r*ts.Stride+d])
	}
	return cent
}

// lloyd runs iters Lloyd iterations from the centres cent, updating them
// in place, and returns the last assignment of the rows of ts.
func lloyd(ts, cent blas32.General, iters, threads int) []int32 {
	n, d, k := ts.Rows, ts.Cols, cent.Rows
	assign := make([]int32, n)
	sums := make([]float64, k*d)
	counts := make([]int, k)
	load := rowLoader(ts)
	for it := 0; it < iters; it++ {
		exactSearch(newPointSet(cent, nil, nil), n, load, 1, threads, assign, nil)
		clear(sums)
		clear(counts)
		for i, c := range assign {
			row := ts.Data[i*ts.Stride : i*ts.Stride+d]
			s := sums[int(c)*d : int(c)*d+d]
			for j, v := range row {
				s[j] += float64(v)
			}
			counts[c]++
		}
		for c := 0; c < k; c++ {
			if counts[c] == 0 {
				continue
			}
			inv := 1 / float64(counts[c])
			for j := 0; j < d; j++ {
				cent.Data[c*d+j] = float32(sums[c*d+j] * inv)
			}
		}
		if it < iters-1 {
			Rebalance(cent.Data, cent.Cols, counts, n)
		}
	}
	return assign
}

// Rebalance re-seeds empty and tiny clusters of a k-means over n points by
// splitting the largest (after faiss). cent holds len(counts) centres of d
// values each, row after row; counts are each cluster's points, updated as
// if each split halved its cluster, which is what the next assignment will
// roughly do. The GPU backend's IVF-Flat training uses it too.
func Rebalance[C int | int32](cent []float32, d int, counts []C, n int) {
	nl := len(counts)
	mean := float64(n) / float64(nl)
	for moves := 0; moves < nl; moves++ {
		big, small := 0, 0
		for c := range counts {
			if counts[c] > counts[big] {
				big = c
			}
			if counts[c] < counts[small] {
				small = c
			}
		}
		empty := counts[small] == 0
		skewed := float64(counts[big]) > listRatio*mean && float64(counts[small])*listRatio < mean
		if !(empty || skewed) || counts[big] < 2 {
			return
		}
		b := cent[big*d : big*d+d]
		s := cent[small*d : small*d+d]
		for k := range b {
			sign := float32(1)
			if k%2 == 1 {
				sign = -1
			}
			s[k] = b[k] * (1 + sign*splitEps)
			b[k] *= 1 - sign*splitEps
		}
		counts[small] = counts[big] / 2
		counts[big] -= counts[small]
	}
}

// sampleRows returns m distinct row indices of an n-row matrix, ascending
// (all rows when m >= n).
func sampleRows(n, m int, rng *rand.Rand) []int32 {
	if m >= n {
		return identity(n)
	}
	p := rng.Perm(n)[:m]
	s := make([]int32, m)
	for i, v := range p {
		s[i] = int32(v)
	}
	slices.Sort(s)
	return s
}
