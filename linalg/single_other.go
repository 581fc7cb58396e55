//go:build !amd64 || noasm

package linalg

// singleKernels returns the portable kernel only: no assembly here.
func singleKernels() []singleKernel { return []singleKernel{singleGo} }
