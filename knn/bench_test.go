package knn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/internal/cputime"
)

// blobs returns n points in d dimensions drawn from 40 Gaussian blobs of
// unequal sizes and spreads whose per-dimension scale decays like PCA
// scores (component k has scale 1/sqrt(1+k/4)).
func blobs(n, d int, seed uint64) blas32.General {
	rng := rand.New(rand.NewPCG(seed, 7))
	const nb = 40
	centers := make([]float64, nb*d)
	spread := make([]float64, nb)
	weight := make([]float64, nb)
	for b := 0; b < nb; b++ {
		for k := 0; k < d; k++ {
			centers[b*d+k] = 6 * rng.NormFloat64() / math.Sqrt(1+float64(k)/4)
		}
		spread[b] = 0.5 + rng.Float64()
		weight[b] = rng.ExpFloat64()
	}
	var sum float64
	for _, w := range weight {
		sum += w
	}
	x := blas32.General{Rows: n, Cols: d, Stride: d, Data: make([]float32, n*d)}
	for i := 0; i < n; i++ {
		u, b := rng.Float64()*sum, 0
		for b < nb-1 && u > weight[b] {
			u -= weight[b]
			b++
		}
		for k := 0; k < d; k++ {
			x.Data[i*d+k] = float32(centers[b*d+k] + spread[b]*rng.NormFloat64()/math.Sqrt(1+float64(k)/4))
		}
	}
	return x
}

var bench100k = sync.OnceValues(func() (blas32.General, Neighbors) {
	x := blobs(100_000, 50, 1)
	ex, err := Exact(x, 15, 0)
	if err != nil {
		panic(err)
	}
	return x, ex
})

// recallOf returns the fraction of exact neighbours found (self included).
func recallOf(got, exact Neighbors) float64 {
	hits := 0
	for i := 0; i < exact.N; i++ {
		g, _ := got.Row(i)
		e, _ := exact.Row(i)
		for _, id := range e {
			for _, h := range g {
				if h == id {
					hits++
					break
				}
			}
		}
	}
	return float64(hits) / float64(exact.N*exact.K)
}

// BenchmarkExact100k: exact 15-NN of 100,000 points in 50 dimensions.
func BenchmarkExact100k(b *testing.B) {
	x := blobs(100_000, 50, 1)
	c0 := cputime.Seconds()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Exact(x, 15, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric((cputime.Seconds()-c0)/float64(b.N), "cpu-s/op")
}

// benchIVF builds an index over x with default parameters and searches
// every point's 15 neighbours, reporting wall and CPU seconds of each
// phase.
func benchIVF(b *testing.B, x blas32.General, nProbes int) Neighbors {
	var nb Neighbors
	var build, search time.Duration
	var cbuild, csearch float64
	b.ResetTimer()
	for b.Loop() {
		c0, t0 := cputime.Seconds(), time.Now()
		ix, err := BuildIVFFlat(x, IVFFlatParams{})
		if err != nil {
			b.Fatal(err)
		}
		c1, t1 := cputime.Seconds(), time.Now()
		if nb, err = ix.SearchSelf(15, nProbes, 0); err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		search += time.Since(t1)
		cbuild += c1 - c0
		csearch += cputime.Seconds() - c1
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(build.Seconds()/n, "build-s")
	b.ReportMetric(search.Seconds()/n, "search-s")
	b.ReportMetric(cbuild/n, "build-cpu-s")
	b.ReportMetric(csearch/n, "search-cpu-s")
	return nb
}

// BenchmarkIVFFlat100k: build plus self search with default parameters
// (1,024 lists, 20 probes), and the recall against Exact.
func BenchmarkIVFFlat100k(b *testing.B) {
	x, ex := bench100k()
	nb := benchIVF(b, x, 0)
	b.ReportMetric(recallOf(nb, ex), "recall")
}

// BenchmarkIVFFlat1M3: build plus self search at the atlas's 1,306,127
// cells (50 dimensions, k = 15, default parameters: 4,096 lists, 20
// probes; and 40 probes), with the recall on 2,000 random cells against
// ExactSearch.
func BenchmarkIVFFlat1M3(b *testing.B) {
	for _, np := range []int{20, 40} {
		b.Run(fmt.Sprintf("probes=%d", np), func(b *testing.B) {
			x := atlas()
			nb := benchIVF(b, x, np)
			b.ReportMetric(sampledRecall(x, nb), "recall")
		})
	}
}

var atlas = sync.OnceValue(func() blas32.General { return blobs(1_306_127, 50, 2) })

// sampledRecall returns the recall of nb on 2,000 random points against
// ExactSearch.
func sampledRecall(x blas32.General, nb Neighbors) float64 {
	rng := rand.New(rand.NewPCG(3, 3))
	const m = 2000
	d, k := x.Cols, nb.K
	q := blas32.General{Rows: m, Cols: d, Stride: d, Data: make([]float32, m*d)}
	sub := Neighbors{N: m, K: k, Indices: make([]int32, m*k), Distances: make([]float32, m*k)}
	for i := 0; i < m; i++ {
		r := rng.IntN(x.Rows)
		copy(q.Data[i*d:i*d+d], x.Data[r*x.Stride:r*x.Stride+d])
		ids, ds := nb.Row(r)
		copy(sub.Indices[i*k:], ids)
		copy(sub.Distances[i*k:], ds)
	}
	ex, err := ExactSearch(x, q, k, 0)
	if err != nil {
		panic(err)
	}
	return recallOf(sub, ex)
}

// BenchmarkRefine100k: one and two rounds of Refine after the default
// IVF-Flat search of 100,000 blob points (1,024 lists, 20 probes), with
// the recall before and after.
func BenchmarkRefine100k(b *testing.B) {
	x, ex := bench100k()
	ix, err := BuildIVFFlat(x, IVFFlatParams{})
	if err != nil {
		b.Fatal(err)
	}
	nb, err := ix.SearchSelf(15, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, rounds := range []int{1, 2} {
		b.Run(fmt.Sprintf("rounds=%d", rounds), func(b *testing.B) {
			var got Neighbors
			c0 := cputime.Seconds()
			for b.Loop() {
				if got, err = Refine(x, nb, rounds, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Seconds()-c0)/float64(b.N), "cpu-s/op")
			b.ReportMetric(recallOf(nb, ex), "recall-before")
			b.ReportMetric(recallOf(got, ex), "recall")
		})
	}
}
