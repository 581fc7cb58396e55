package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/scbench/scbench/internal/cputime"
	"github.com/scbench/scbench/sparse"
)

// BenchmarkUMAP100k lays out a kNN graph of 100,000 cells drawn from
// Gaussian blobs in 50-D (k = 15, exact kNN by brute force, built once),
// 200 epochs as umap-learn's default at this size.
func BenchmarkUMAP100k(b *testing.B) {
	n, k := 100_000, 15
	if testing.Short() {
		n = 20_000
	}
	conn := umapBenchGraph(b, n, k)
	for _, init := range []string{"spectral", "random"} {
		b.Run(init, func(b *testing.B) {
			var info UMAPInfo
			cpu0 := cputime.Seconds()
			b.ResetTimer()
			for range b.N {
				var err error
				if _, info, err = UMAP(conn, UMAPParams{Init: init}); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			cpu := (cputime.Seconds() - cpu0) / float64(b.N)
			cores := float64(runtime.GOMAXPROCS(0))
			b.ReportMetric(float64(info.NEpochs)/sec, "epochs/s")
			b.ReportMetric(float64(info.Edges)*float64(info.NEpochs)/sec/cores, "edge-epochs/s/core")
			// Per CPU second: steadier than wall time on a shared machine.
			b.ReportMetric(float64(info.Edges)*float64(info.NEpochs)/cpu, "edge-epochs/cpu-s")
			b.ReportMetric(float64(info.Samples)/cpu, "samples/cpu-s")
			b.ReportMetric(cpu, "cpu-s/op")
			b.Logf("%d cells, %d edges, %d samples, init %s, %d products", n, info.Edges, info.Samples, info.Init, info.EigenMatvecs)
		})
	}
}

var umapBenchCache sync.Map

// umapBenchGraph returns the fuzzy graph of n cells in 50-D drawn from
// blobs of about 1,000 cells whose centres form a random walk, so that the
// graph is connected and has clusters. The k nearest neighbours are found
// by brute force among the cells of the same and the two adjacent blobs
// (exact but for cells with a true neighbour two blobs away).
func umapBenchGraph(b *testing.B, n, k int) *sparse.CSR {
	if v, ok := umapBenchCache.Load(n); ok {
		return v.(*sparse.CSR)
	}
	const dim, blob = 50, 1000
	rng := rand.New(rand.NewPCG(100, uint64(n)))
	nb := (n + blob - 1) / blob
	x := make([]float32, n*dim)
	centre := make([]float64, dim)
	for c := 0; c < nb; c++ {
		for d := range centre {
			centre[d] += rng.NormFloat64() * 1.2
		}
		for i := c * blob; i < min(n, (c+1)*blob); i++ {
			for d := 0; d < dim; d++ {
				x[i*dim+d] = float32(centre[d] + rng.NormFloat64())
			}
		}
	}
	idx := make([]int32, n*k)
	dst := make([]float32, n*k)
	fuzzyParallel(n, 0, func(lo, hi int) {
		top := umapTopK{k: k}
		for i := lo; i < hi; i++ {
			top.reset()
			c := i / blob
			xi := x[i*dim : (i+1)*dim]
			for j := max(0, (c-1)*blob); j < min(n, (c+2)*blob); j++ {
				xj := x[j*dim : (j+1)*dim]
				var s float32
				for d := range xi {
					t := xi[d] - xj[d]
					s += t * t
				}
				if j == i {
					s = -1
				}
				top.push(float64(s), int32(j))
			}
			for p := 0; p < k; p++ {
				idx[i*k+p] = top.idx[p]
				dst[i*k+p] = float32(math.Sqrt(math.Max(top.d[p], 0)))
			}
		}
	})
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		b.Fatal(err)
	}
	umapBenchCache.Store(n, conn)
	return conn
}

// BenchmarkUMAPOptimize times the SGD epochs alone on a 20,000-cell graph
// (run with -cpu 1 for the single-core rate).
func BenchmarkUMAPOptimize(b *testing.B) {
	n := 20_000
	conn := umapBenchGraph(b, n, 15)
	g := mustPrune(b, conn, 200, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	emb0 := make([]float32, 2*n)
	for i := range emb0 {
		emb0[i] = float32(rng.Float64() * 10)
	}
	p := UMAPParams{}.withDefaults()
	var samples int64
	cpu0 := cputime.Seconds()
	b.ResetTimer()
	for range b.N {
		emb := append([]float32(nil), emb0...)
		e := newUMAPEdges(g, 200, 0)
		samples += umapOptimize(emb, 2, e, 50, n, p, 0.583, 1.334)
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(samples), "ns/sample")
	b.ReportMetric((cputime.Seconds()-cpu0)*1e9/float64(samples), "cpu-ns/sample")
}

// BenchmarkSpectral100k times the spectral initialization alone on the
// 100,000-cell benchmark graph.
func BenchmarkSpectral100k(b *testing.B) {
	conn := umapBenchGraph(b, 100_000, 15)
	g := mustPrune(b, conn, 200, 0)
	var info spectralInfo
	cpu0 := cputime.Seconds()
	b.ResetTimer()
	for range b.N {
		var err error
		if _, info, err = spectralLayout(g, 2, nil, 0, rand.New(rand.NewPCG(1, 1)), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cputime.Seconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(info.matvecs), "products")
	b.ReportMetric(info.resid, "residual")
}
