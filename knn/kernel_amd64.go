//go:build !noasm

package knn

import "github.com/scbench/scbench/internal/cpufeat"

// dist6x16AVX2 is the AVX2+FMA micro-kernel; see kernel_amd64.s.
//
//go:noescape
func dist6x16AVX2(kc int, a, b, pn, qn, thr, c *float32) (lo, hi uint64)

// sqdist64AVX2 is the assembly sqdist64; see kernel_amd64.s.
//
//go:noescape
func sqdist64AVX2(q, p *float32, d int) float64

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
func hasAVX2FMA() bool { return cpufeat.AVX2FMA() }

// kernelAVX2 checks the slices once, so the assembly never reads or
// writes outside them.
func kernelAVX2(kc int, a, b, pn, qn, thr, c []float32) (lo, hi uint64) {
	if kc <= 0 {
		return kernelGo(kc, a, b, pn, qn, thr, c)
	}
	_ = a[kc*tileRows-1]
	_ = b[kc*panelWidth-1]
	_ = pn[panelWidth-1]
	_ = qn[tileRows-1]
	_ = thr[tileRows-1]
	_ = c[tileRows*panelWidth-1]
	return dist6x16AVX2(kc, &a[0], &b[0], &pn[0], &qn[0], &thr[0], &c[0])
}

func sqdistAVX2(q, p []float32) float64 {
	if len(q) == 0 {
		return 0
	}
	_ = p[len(q)-1]
	return sqdist64AVX2(&q[0], &p[0], len(q))
}

// asmKernel returns the assembly kernels the CPU supports, or nils.
func asmKernel() (kernelFunc, sqdistFunc, string) {
	if hasAVX2FMA() {
		return kernelAVX2, sqdistAVX2, "avx2-fma"
	}
	return nil, nil, ""
}
