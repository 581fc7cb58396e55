// Package cpufeat tells which vector instructions the processor and the
// operating system support, so that packages with assembly kernels (knn,
// linalg, backend/cpu) choose them at run time from one check.
//
// Building with the tag noasm makes every answer false: the callers then
// use their portable Go kernels.
package cpufeat

// AVX2FMA reports whether the CPU has AVX2 and FMA3 and the OS saves the
// YMM registers, which the amd64 kernels need.
func AVX2FMA() bool { return avx2FMA }

// AVX512F reports whether the CPU has AVX-512 Foundation (with AVX2 and
// FMA3) and the OS saves the ZMM and opmask registers.
func AVX512F() bool { return avx512F }

// Read-only after package initialization.
var (
	avx2FMA = detectAVX2FMA()
	avx512F = avx2FMA && detectAVX512F()
)
