package gpu_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/graph"
)

// TestUMAP runs the UMAPOptimizer conformance tests through OpenCL.
func TestUMAP(t *testing.T) {
	backendtest.RunUMAP(t, openCLSuite)
}

// umapTimed is a backend.UMAPOptimizer that times another.
type umapTimed struct {
	opt     backend.UMAPOptimizer
	elapsed time.Duration
	edges   int
}

func (u *umapTimed) UMAPOptimize(emb []float32, n int, head, tail []int32, eps []float32, p backend.UMAPSGD) (int64, error) {
	start := time.Now()
	s, err := u.opt.UMAPOptimize(emb, n, head, tail, eps, p)
	u.elapsed, u.edges = time.Since(start), len(head)
	return s, err
}

// BenchmarkUMAP times graph.UMAP's optimization (200 epochs, random
// start) on the device, over a kNN-like fuzzy graph of
// $SCBENCH_BENCH_ROWS cells (default 20,000; 1306127 is the atlas): cell
// v's 14 neighbours drawn from the 24 cells nearest v on a line, at
// growing distances (so that about 60% of the edges are mutual and there
// are 19-20 directed edges a cell, as in the atlas's kNN graph), the
// cells then relabelled at random so that neighbours are not near in
// memory. It reports the optimizer's seconds (the floor at
// 1.3M cells is in umap.go), the positive samples and ns a sample.
func BenchmarkUMAP(b *testing.B) {
	n := benchRows(b, 20000)
	const k, window = 15, 24
	if n < 2*window {
		b.Fatalf("$SCBENCH_BENCH_ROWS = %d: at least %d cells", n, 2*window)
	}
	be := openCL(b)
	rng := rand.New(rand.NewPCG(21, uint64(n)))
	label := rng.Perm(n)
	idx := make([]int32, n*k)
	dst := make([]float32, n*k)
	for v := range n {
		lo := min(max(0, v-window/2), max(0, n-window-1))
		size := min(window+1, n)
		row := label[v] * k
		idx[row] = int32(label[v])
		d := float32(1 + rng.Float64())
		for j := 1; j < k; j++ {
			u := lo + rng.IntN(size)
			for u == v || slices.Contains(idx[row:row+j], int32(label[u])) {
				u = lo + rng.IntN(size)
			}
			idx[row+j], dst[row+j] = int32(label[u]), d
			d += float32(rng.ExpFloat64() * 0.1)
		}
	}
	conn, _, err := graph.Connectivities(idx, dst, n, k)
	if err != nil {
		b.Fatal(err)
	}
	timed := &umapTimed{opt: be}
	var info graph.UMAPInfo
	var opt time.Duration
	for b.Loop() {
		if _, info, err = graph.UMAP(conn, graph.UMAPParams{NEpochs: 200, Init: "random", Seed: 1, Optimizer: timed}); err != nil {
			b.Fatal(err)
		}
		opt += timed.elapsed
	}
	sec := opt.Seconds() / float64(b.N)
	b.ReportMetric(sec, "optimizer-s/op")
	b.ReportMetric(float64(info.Samples), "samples")
	b.ReportMetric(sec*1e9/float64(info.Samples), "ns/sample")
	b.Logf("%d cells, %d edges, %d samples (%.3f per edge-epoch) on %s", n, info.Edges, info.Samples,
		float64(info.Samples)/float64(info.Edges)/200, be.Device().Name)
}
