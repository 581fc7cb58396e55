//go:build !amd64 || noasm

package linalg

// asmKernel reports that no assembly micro-kernel exists for this
// architecture or build.
func asmKernel() (kernelFunc, string) { return nil, "" }
