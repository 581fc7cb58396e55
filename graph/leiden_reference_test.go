package graph

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/internal/shareddata"
)

func TestLeidenScanpyReference(t *testing.T) {
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
			labels, info, err := Leiden(adj, DefaultLeidenParams())
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			qRef := Modularity(adj, ref, 1)
			refClusters := 0
			for _, l := range ref {
				refClusters = max(refClusters, int(l)+1)
			}
			score := AdjustedRandIndex(labels, ref)
			t.Logf("%s: %d cells, %d entries, %.3f s; ours: %d clusters, modularity %.5f, %d passes, %d levels, %d moves; scanpy: %d clusters, modularity %.5f; ARI %.4f",
				c.ds, adj.Rows, adj.NNZ(), elapsed.Seconds(), info.Clusters, info.Modularity, info.Iterations, info.Levels, info.Moves, refClusters, qRef, score)
			if info.Modularity < qRef-0.01 {
				t.Errorf("modularity %.5f, scanpy's partition %.5f", info.Modularity, qRef)
			}
			if score < c.minARI {
				t.Errorf("ARI %.4f against scanpy, want >= %.2f", score, c.minARI)
			}
			if d := math.Abs(float64(info.Clusters-refClusters)) / float64(refClusters); d > 0.3 {
				t.Errorf("%d clusters, scanpy %d", info.Clusters, refClusters)
			}
			// Other seeds: how much our runs agree with scanpy and each other.
			var msg []string
			for seed := uint64(1); seed <= 3; seed++ {
				p := DefaultLeidenParams()
				p.Seed = seed
				l2, i2, err := Leiden(adj, p)
				if err != nil {
					t.Fatal(err)
				}
				msg = append(msg, fmt.Sprintf("seed %d: %d clusters, Q %.5f, ARI vs scanpy %.3f, vs seed 0 %.3f",
					seed, i2.Clusters, i2.Modularity, AdjustedRandIndex(l2, ref), AdjustedRandIndex(l2, labels)))
			}
			t.Log(strings.Join(msg, "; "))
		})
	}
}
