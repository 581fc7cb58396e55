//go:build !amd64 || noasm

package cpu

// simdKernels reports that there are no assembly kernels for this
// architecture or build: the products run in Go.
func simdKernels() *rowKernels { return nil }

// gramKernelSet is one of the dense Gram kernels.
type gramKernelSet struct {
	name string
	gram gramKernel
	ok   bool
}

// gramKernelSets lists none: there are no assembly kernels here.
func gramKernelSets() []gramKernelSet { return nil }

// spmm32KernelSets lists none: there are no assembly kernels here.
func spmm32KernelSets() []spmm32KernelSet { return nil }
