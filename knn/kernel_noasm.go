//go:build !amd64 || noasm

package knn

// asmKernel reports that no assembly micro-kernel exists for this
// architecture or build.
func asmKernel() (kernelFunc, sqdistFunc, string) { return nil, nil, "" }
