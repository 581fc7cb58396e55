//go:build race

package graph

// umapTestThreads keeps the Hogwild optimizer single-threaded under the
// race detector: its lock-free updates race by design (see umap.go).
const umapTestThreads = 1
