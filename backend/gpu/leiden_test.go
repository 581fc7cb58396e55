package gpu_test

import (
	"math"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/internal/cellpoints"
	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/knn"
)

// TestLeiden runs the CommunityDetector conformance tests through OpenCL.
func TestLeiden(t *testing.T) {
	backendtest.RunLeiden(t, openCLSuite)
}

func leidenClusters(labels []int32) int {
	n := int32(0)
	for _, l := range labels {
		n = max(n, l+1)
	}
	return int(n)
}

// TestLeidenScanpy clusters scanpy's connectivities of synth5k and
// brain10k with scanpy's defaults and holds the result to graph.Leiden's
// bars: modularity at least scanpy's partition's minus 0.01, ARI against
// scanpy's labels at least 0.9 (synth5k) and 0.55 (brain10k), the number
// of clusters within 30% of scanpy's. It logs graph.Leiden's numbers on
// the same graph, and other seeds'.
func TestLeidenScanpy(t *testing.T) {
	be := openCL(t)
	for _, c := range []struct {
		ds     string
		minARI float64
	}{
		{"synth5k", 0.9},
		{"brain10k", 0.55},
	} {
		t.Run(c.ds, func(t *testing.T) {
			adj, ref := shareddata.LeidenReference(t, c.ds)
			start := time.Now()
			labels, info, err := be.Leiden(adj, backend.LeidenSpec{Resolution: 1})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			q := graph.Modularity(adj, labels, 1)
			qRef := graph.Modularity(adj, ref, 1)
			refClusters := leidenClusters(ref)
			ari := graph.AdjustedRandIndex(labels, ref)
			start = time.Now()
			host, hinfo, err := graph.Leiden(adj, graph.DefaultLeidenParams())
			hostElapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d cells, %d entries. device (%s): %d clusters, modularity %.5f, ARI vs scanpy %.4f, vs graph.Leiden %.4f, %.3f s, %d passes, %d levels, %d sweeps, %d moves; scanpy: %d clusters, modularity %.5f; graph.Leiden: %d clusters, modularity %.5f, ARI vs scanpy %.4f, %.3f s",
				c.ds, adj.Rows, adj.NNZ(), be.Device().Name, info.Clusters, q, ari, graph.AdjustedRandIndex(labels, host), elapsed.Seconds(), info.Iterations,
				info.Levels, info.Sweeps, info.Moves, refClusters, qRef, hinfo.Clusters, hinfo.Modularity, graph.AdjustedRandIndex(host, ref),
				hostElapsed.Seconds())
			if math.Abs(q-info.Modularity) > 1e-9 {
				t.Errorf("reported modularity %.9f, graph.Modularity %.9f", info.Modularity, q)
			}
			if q < qRef-0.01 {
				t.Errorf("modularity %.5f, scanpy's partition %.5f", q, qRef)
			}
			if ari < c.minARI {
				t.Errorf("ARI %.4f against scanpy, want >= %.2f", ari, c.minARI)
			}
			if d := math.Abs(float64(info.Clusters-refClusters)) / float64(refClusters); d > 0.3 {
				t.Errorf("%d clusters, scanpy %d", info.Clusters, refClusters)
			}
			for seed := uint64(1); seed <= 2; seed++ {
				l2, i2, err := be.Leiden(adj, backend.LeidenSpec{Resolution: 1, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("seed %d: %d clusters, modularity %.5f, ARI vs scanpy %.4f, vs seed 0 %.4f", seed, i2.Clusters,
					i2.Modularity, graph.AdjustedRandIndex(l2, ref), graph.AdjustedRandIndex(l2, labels))
			}
		})
	}
}

// TestLeidenKNNTiming clusters the connectivities of 100,000 cell-like
// points (15 neighbours by a host IVF-Flat, then the fuzzy union; -short:
// 30,000) on the device and with graph.Leiden, and logs both runs'
// modularity, clusters and seconds. PoCL runs the kernels on the CPU: its
// seconds say little about a GPU's. The device's modularity must be at
// least graph.Leiden's minus 0.01.
func TestLeidenKNNTiming(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 30_000
	}
	be := openCL(t)
	start := time.Now()
	x, _ := cellpoints.Generate(n, 1)
	ix, err := knn.BuildIVFFlat(x, knn.IVFFlatParams{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := ix.SearchSelf(15, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	adj, _, err := graph.Connectivities(nb.Indices, nb.Distances, n, 15)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("graph of %d cells: %d entries, built in %.1f s", n, adj.NNZ(), time.Since(start).Seconds())
	start = time.Now()
	labels, info, err := be.Leiden(adj, backend.LeidenSpec{Resolution: 1})
	dev := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	host, hinfo, err := graph.Leiden(adj, graph.DefaultLeidenParams())
	hostTime := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	q := graph.Modularity(adj, labels, 1)
	t.Logf("device (%s): %d clusters, modularity %.5f, %.2f s (%d passes, %d levels, %d sweeps, %d moves); graph.Leiden: %d clusters, modularity %.5f, %.2f s; ARI between them %.4f",
		be.Device().Name, info.Clusters, q, dev.Seconds(), info.Iterations, info.Levels, info.Sweeps, info.Moves, hinfo.Clusters,
		hinfo.Modularity, hostTime.Seconds(), graph.AdjustedRandIndex(labels, host))
	if q < hinfo.Modularity-0.01 {
		t.Errorf("modularity %.5f, graph.Leiden's %.5f", q, hinfo.Modularity)
	}
}
