// Package graph turns a kNN graph into what scanpy's neighbors, umap and
// leiden produce.
//
// It will hold the fuzzy simplicial set of umap-learn (per-cell rho and
// sigma by binary search, then the fuzzy union), the UMAP layout optimizer
// (edge-parallel SGD with negative sampling and umap-learn's per-edge epoch
// schedule, spectral initialization) and Leiden (Traag et al. 2019: local
// moving, refinement, aggregation) with the modularity quality function.
// Each phase is a function that can be tested on its own, with variables
// named as in the papers (rho, sigma, a, b).
//
// Leiden's phases, which of their steps run in parallel, and why its result
// does not depend on the thread count are described at the top of
// leiden.go.
package graph
