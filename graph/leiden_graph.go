package graph

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// lvWeight is the edge weight type of a level's graph: float32 for the
// caller's matrix (used in place), float64 for aggregated graphs, whose
// weights are sums of many edges.
type lvWeight interface{ ~float32 | ~float64 }

// lvGraph is one level's symmetric weighted graph in CSR form. A diagonal
// entry is a self loop counted once; k[v] is the row sum (strength) and
// total the sum of all entries (2m).
type lvGraph[W lvWeight] struct {
	n       int
	indptr  []int64
	indices []int32
	w       []W
	k       []float64
	total   float64
}

// lvBlock is the number of rows handed to a worker at a time.
const lvBlock = 1024

// strengths fills k and total, summing over row blocks in parallel. Block
// partial sums are added in block order, so total does not depend on the
// number of threads.
func (g *lvGraph[W]) strengths(threads int) {
	g.k = make([]float64, g.n)
	nb := (g.n + lvBlock - 1) / lvBlock
	part := make([]float64, nb)
	lvParallel(threads, nb, func(_, b int) {
		lo, hi := b*lvBlock, min((b+1)*lvBlock, g.n)
		var t float64
		for v := lo; v < hi; v++ {
			var s float64
			for _, x := range g.w[g.indptr[v]:g.indptr[v+1]] {
				s += float64(x)
			}
			g.k[v] = s
			t += s
		}
		part[b] = t
	})
	g.total = 0
	for _, t := range part {
		g.total += t
	}
}

// lvParallel calls fn(worker, task) for every task in [0, tasks) on up to
// threads goroutines; worker < threads identifies the caller's scratch.
func lvParallel(threads, tasks int, fn func(worker, task int)) {
	if threads > tasks {
		threads = tasks
	}
	if threads <= 1 {
		for t := 0; t < tasks; t++ {
			fn(0, t)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks {
					return
				}
				fn(w, t)
			}
		}(w)
	}
	wg.Wait()
}

// lvStream derives the second PCG seed word of one random stream from its
// coordinates with SplitMix64 finalizers, so streams are independent of
// which worker uses them.
func lvStream(seed, pass, level, unit uint64) uint64 {
	x := seed
	for _, y := range [...]uint64{pass, level, unit} {
		x = lvMix(x ^ lvMix(y+0x9e3779b97f4a7c15))
	}
	return x
}

func lvMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// leidenAggregateGraph is AggregateGraph of the paper: it collapses every
// refined community (refined[v] in [0, nRef)) of g into one node. The
// weight between two aggregated nodes is the sum of the weights between
// their members; the self loop of an aggregated node is the sum of all
// stored entries inside it, so strengths and the total are preserved and
// the quality of a partition is the same on both graphs.
func leidenAggregateGraph[W lvWeight](g *lvGraph[W], refined []int32, nRef, threads int) *lvGraph[float64] {
	// Members of each aggregated node, by counting sort (stable: members
	// in increasing order, so rows come out in a fixed order).
	start := make([]int32, nRef+1)
	for _, r := range refined {
		start[r+1]++
	}
	for i := 0; i < nRef; i++ {
		start[i+1] += start[i]
	}
	members := make([]int32, g.n)
	fill := append([]int32(nil), start[:nRef]...)
	for v, r := range refined {
		members[fill[r]] = int32(v)
		fill[r]++
	}

	// Each block of aggregated rows is built by one worker into its own
	// buffers, then the blocks are concatenated.
	nb := (nRef + lvBlock - 1) / lvBlock
	type block struct {
		rowLen  []int32
		indices []int32
		w       []float64
	}
	blocks := make([]block, nb)
	workers := min(max(threads, 1), max(nb, 1))
	acc := make([][]float64, workers)
	mark := make([][]bool, workers)
	lvParallel(threads, nb, func(wk, b int) {
		if acc[wk] == nil {
			acc[wk] = make([]float64, nRef)
			mark[wk] = make([]bool, nRef)
		}
		a, m := acc[wk], mark[wk]
		lo, hi := b*lvBlock, min((b+1)*lvBlock, nRef)
		var out block
		out.rowLen = make([]int32, hi-lo)
		var touched []int32
		for c := lo; c < hi; c++ {
			touched = touched[:0]
			for _, v := range members[start[c]:start[c+1]] {
				for j := g.indptr[v]; j < g.indptr[v+1]; j++ {
					d := refined[g.indices[j]]
					if !m[d] {
						m[d] = true
						touched = append(touched, d)
					}
					a[d] += float64(g.w[j])
				}
			}
			out.rowLen[c-lo] = int32(len(touched))
			for _, d := range touched {
				out.indices = append(out.indices, d)
				out.w = append(out.w, a[d])
				a[d] = 0
				m[d] = false
			}
		}
		blocks[b] = out
	})

	ng := &lvGraph[float64]{n: nRef, indptr: make([]int64, nRef+1), total: g.total}
	offs := make([]int64, nb+1)
	for b, bl := range blocks {
		offs[b+1] = offs[b] + int64(len(bl.indices))
		for i, l := range bl.rowLen {
			c := b*lvBlock + i
			ng.indptr[c+1] = ng.indptr[c] + int64(l)
		}
	}
	ng.indices = make([]int32, offs[nb])
	ng.w = make([]float64, offs[nb])
	lvParallel(threads, nb, func(_, b int) {
		copy(ng.indices[offs[b]:], blocks[b].indices)
		copy(ng.w[offs[b]:], blocks[b].w)
	})
	ng.k = make([]float64, nRef)
	for v, r := range refined {
		ng.k[r] += g.k[v]
	}
	return ng
}

// lvThreads returns threads, or GOMAXPROCS when threads <= 0.
func lvThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}
