//go:build !noasm

package linalg

// cpuid executes CPUID with the given leaf and sub-leaf.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns the low half of XCR0 (which register states the OS
// saves on context switch).
func xgetbv0() (eax uint32)

// dkern6x8AVX2 is the AVX2+FMA micro-kernel; see kernel_amd64.s.
//
//go:noescape
func dkern6x8AVX2(kc int, a *float64, rs, cs int, b *float64, c *float64, ldc int)

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save XMM and YMM state.
	if xgetbv0()&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

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
