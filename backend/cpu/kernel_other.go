//go:build !amd64 || noasm

package cpu

// simdKernels reports that there are no assembly kernels for this
// architecture or build: the products run in Go.
func simdKernels() *rowKernels { return nil }
