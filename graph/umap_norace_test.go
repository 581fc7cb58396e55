//go:build !race

package graph

// umapTestThreads is the optimizer's thread count in tests: all cores.
const umapTestThreads = 0
