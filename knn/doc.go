// Package knn finds the k nearest neighbours of every cell in PCA space.
//
// It will hold exact search (blocked distance computation through a fast
// dense product, then a per-row top-k) and IVF-Flat (a k-means coarse
// quantizer trained on a sample, inverted lists holding the full vectors,
// search by probing the nearest lists), shaped like faiss and cuVS:
// an index value with Train, Add and Search, and a Params struct whose
// defaults are documented numbers (n_lists = 2 * next power of two of
// sqrt(n), n_probes = 20, as rapids-singlecell uses). Each cell's own index
// comes first in its neighbour list, as scanpy stores it.
//
// Nothing is implemented yet: see the graph-steps issue.
package knn
