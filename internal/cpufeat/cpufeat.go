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

var avx2FMA = detectAVX2FMA() // read-only after package initialization
