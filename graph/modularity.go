package graph

import (
	"fmt"

	"github.com/scbench/scbench/sparse"
)

// Modularity returns Newman's modularity with resolution gamma of the
// partition labels on the weighted undirected graph adj (symmetric, every
// undirected edge stored in both directions as in scanpy's connectivities,
// a diagonal entry a self loop counted once):
//
//	Q = 1/(2m) sum_ij (A_ij - gamma k_i k_j / (2m)) delta(c_i, c_j)
//
// with k_i the row sums and 2m the sum of all stored entries. This is the
// quality of leidenalg's RBConfigurationVertexPartition divided by 2m. It is
// 0 for a graph without weight. It panics when len(labels) != adj.Rows or
// a label is negative.
func Modularity(adj *sparse.CSR, labels []int32, gamma float64) float64 {
	return modularityThreads(adj, labels, gamma, 0)
}

// modularityThreads computes Modularity over row blocks on threads
// goroutines; partial sums are added in block order, so the result does
// not depend on threads.
func modularityThreads(adj *sparse.CSR, labels []int32, gamma float64, threads int) float64 {
	n := adj.Rows
	if len(labels) != n {
		panic(fmt.Sprintf("graph: Modularity: %d labels for %d nodes", len(labels), n))
	}
	nc := 0
	for i, c := range labels {
		if c < 0 {
			panic(fmt.Sprintf("graph: Modularity: label %d of node %d is negative", c, i))
		}
		nc = max(nc, int(c)+1)
	}
	nb := (n + lvBlock - 1) / lvBlock
	inside := make([]float64, nb)
	k := make([]float64, n)
	lvParallel(lvThreads(threads), nb, func(_, b int) {
		var in float64
		for i := b * lvBlock; i < min((b+1)*lvBlock, n); i++ {
			ci := labels[i]
			var s float64
			for j := adj.Indptr[i]; j < adj.Indptr[i+1]; j++ {
				w := float64(adj.Data[j])
				s += w
				if labels[adj.Indices[j]] == ci {
					in += w
				}
			}
			k[i] = s
		}
		inside[b] = in
	})
	var total, in float64
	for b := range inside {
		in += inside[b]
	}
	commK := make([]float64, nc)
	for i, ki := range k {
		commK[labels[i]] += ki
		total += ki
	}
	if total <= 0 {
		return 0
	}
	var sq float64
	for _, kc := range commK {
		sq += kc * kc
	}
	return in/total - gamma*sq/(total*total)
}
