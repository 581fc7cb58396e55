//go:build !noasm

package linalg

import "github.com/scbench/scbench/internal/cpufeat"

// The single-precision kernels; see single_amd64.s.
//
//go:noescape
func skern6x16AVX2(k int, a *float32, lda int, x *float32, y *float32)

//go:noescape
func skern8x16AVX512(k int, a *float32, lda int, x *float32, y *float32)

// singleKernels returns the kernels this CPU runs, the portable one
// first.
func singleKernels() []singleKernel {
	ks := []singleKernel{singleGo}
	if cpufeat.AVX2FMA() {
		ks = append(ks, singleKernel{name: "avx2", rows: 6, fn: func(k int, a []float32, lda int, x, y []float32) {
			checkSingle(k, a, lda, x, y, 6)
			skern6x16AVX2(k, &a[0], lda, &x[0], &y[0])
		}})
	}
	if cpufeat.AVX512F() {
		ks = append(ks, singleKernel{name: "avx512", rows: 8, fn: func(k int, a []float32, lda int, x, y []float32) {
			checkSingle(k, a, lda, x, y, 8)
			skern8x16AVX512(k, &a[0], lda, &x[0], &y[0])
		}})
	}
	return ks
}

// checkSingle checks the bounds the assembly reads and writes, once per
// call.
func checkSingle(k int, a []float32, lda int, x, y []float32, rows int) {
	if k < 1 {
		panic("linalg: single-precision kernel with k < 1")
	}
	_ = a[(rows-1)*lda+k-1]
	_ = x[k*singleCols-1]
	_ = y[rows*singleCols-1]
}
