package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scbench/scbench/sparse"
)

// leidenKNNLike returns a symmetric kNN-like graph on n nodes, a stochastic
// block model: blocks of 150 to 2,500 nodes, each node draws k neighbours,
// 90% in its own block, with weights in (0, 1]; the graph is the union of
// the draws in both directions (larger weight kept), as scanpy's fuzzy
// union symmetrizes its kNN graph. It returns the graph and the blocks.
func leidenKNNLike(n, k int, seed uint64) (*sparse.CSR, []int32) {
	rng := rand.New(rand.NewPCG(seed, 99))
	block := make([]int32, n)
	var starts []int
	for lo := 0; lo < n; {
		hi := min(n, lo+150+rng.IntN(2350))
		for v := lo; v < hi; v++ {
			block[v] = int32(len(starts))
		}
		starts = append(starts, lo)
		lo = hi
	}
	starts = append(starts, n)
	out := make([]int32, n*k)
	outW := make([]float32, n*k)
	for v := 0; v < n; v++ {
		b := block[v]
		lo, hi := starts[b], starts[b+1]
		for j := 0; j < k; j++ {
			var u int
			for {
				if rng.Float64() < 0.9 {
					u = lo + rng.IntN(hi-lo)
				} else {
					u = rng.IntN(n)
				}
				if u != v {
					break
				}
			}
			out[v*k+j] = int32(u)
			outW[v*k+j] = float32(0.02 + 0.98*rng.Float64())
		}
	}
	// A + A^T with duplicates merged by max.
	deg := make([]int64, n+1)
	for v := 0; v < n; v++ {
		deg[v+1] += int64(k)
		for _, u := range out[v*k : v*k+k] {
			deg[u+1]++
		}
	}
	for v := 0; v < n; v++ {
		deg[v+1] += deg[v]
	}
	idx := make([]int32, deg[n])
	val := make([]float32, deg[n])
	pos := append([]int64(nil), deg[:n]...)
	for v := 0; v < n; v++ {
		for j, u := range out[v*k : v*k+k] {
			w := outW[v*k+j]
			idx[pos[v]], val[pos[v]] = u, w
			pos[v]++
			idx[pos[u]], val[pos[u]] = int32(v), w
			pos[u]++
		}
	}
	m := &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	m.Indices = idx[:0]
	m.Data = val[:0]
	type entry struct {
		c int32
		w float32
	}
	var row []entry
	for v := 0; v < n; v++ {
		row = row[:0]
		for j := deg[v]; j < deg[v+1]; j++ {
			row = append(row, entry{idx[j], val[j]})
		}
		slices.SortFunc(row, func(a, b entry) int { return int(a.c) - int(b.c) })
		for i, e := range row {
			if i > 0 && row[i-1].c == e.c {
				if e.w > m.Data[len(m.Data)-1] {
					m.Data[len(m.Data)-1] = e.w
				}
				continue
			}
			// Writing into idx/val behind the read position is safe: the
			// output never overtakes the input.
			m.Indices = append(m.Indices, e.c)
			m.Data = append(m.Data, e.w)
		}
		m.Indptr[v+1] = int64(len(m.Indices))
	}
	return m, block
}

func BenchmarkLeiden100k(b *testing.B) {
	adj, truth := leidenKNNLike(100_000, 15, 1)
	if err := adj.Validate(); err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := DefaultLeidenParams()
			p.Threads = threads
			var info LeidenInfo
			var labels []int32
			start := time.Now()
			for i := 0; i < b.N; i++ {
				var err error
				labels, info, err = Leiden(adj, p)
				if err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			eps := float64(adj.NNZ()) / sec
			b.ReportMetric(eps/1e6, "Medges/s")
			b.ReportMetric(eps/1e6/float64(threads), "Medges/s/core")
			b.Logf("n=%d nnz=%d (%.1f per node): %.3f s, %d clusters (planted %d, ARI %.4f), modularity %.5f, %d passes, %d levels, %d moves",
				adj.Rows, adj.NNZ(), float64(adj.NNZ())/float64(adj.Rows), sec, info.Clusters, int(truth[len(truth)-1])+1,
				AdjustedRandIndex(labels, truth), info.Modularity, info.Iterations, info.Levels, info.Moves)
		})
	}
}
