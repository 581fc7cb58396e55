//go:build amd64 && !noasm

package cpu

// cpuid executes CPUID with the given leaf and sub-leaf.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns the low half of XCR0 (which register states the OS
// saves on context switch).
func xgetbv0() (eax uint32)

// The AVX2+FMA row kernels of SpMM and SpMMT on float64 panels of 16, 8
// and 4 columns; see kernel_amd64.s for the arguments.

//go:noescape
func spmmRow16(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

//go:noescape
func spmmRow8(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

//go:noescape
func spmmRow4(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

//go:noescape
func spmmtRow16(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

//go:noescape
func spmmtRow8(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

//go:noescape
func spmmtRow4(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

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

// simdKernels returns the assembly row kernels when the CPU has AVX2 and
// FMA, else nil.
func simdKernels() *rowKernels {
	if !hasAVX2FMA() {
		return nil
	}
	return &rowKernels{
		name:  "avx2-fma",
		spmm:  [3]rowKernel{spmmRow16, spmmRow8, spmmRow4},
		spmmt: [3]rowKernel{spmmtRow16, spmmtRow8, spmmtRow4},
	}
}
