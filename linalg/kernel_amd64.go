//go:build !noasm

package linalg

import "github.com/scbench/scbench/internal/cpufeat"

// dkern6x8AVX2 is the AVX2+FMA micro-kernel; see kernel_amd64.s.
//
//go:noescape
func dkern6x8AVX2(kc int, a *float64, rs, cs int, b *float64, c *float64, ldc int)

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
func hasAVX2FMA() bool { return cpufeat.AVX2FMA() }

// kernAVX2 is the kernelFunc of the assembly micro-kernel. The slice
// expressions check bounds once per call, so the assembly never reads or
// writes outside the slices it was given.
func kernAVX2(kc int, a []float64, rs, cs int, b, c []float64, ldc int) {
	_ = a[(mr-1)*rs+(kc-1)*cs]
	_ = b[nr*kc-1]
	_ = c[(mr-1)*ldc+nr-1]
	dkern6x8AVX2(kc, &a[0], rs, cs, &b[0], &c[0], ldc)
}

// asmKernel returns the fastest assembly micro-kernel the CPU supports,
// and its name, or nil.
func asmKernel() (kernelFunc, string) {
	if hasAVX2FMA() {
		return kernAVX2, "avx2-fma"
	}
	return nil, ""
}
