//go:build amd64 && !noasm

package cpu

import "github.com/scbench/scbench/internal/cpufeat"

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

// The float32 SpMM row kernels (mat and vec float32): AVX-512 panels of
// 64, 32 and 16 columns, AVX2 ones of 32, 8 and 4.

//go:noescape
func spmmRow64s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

//go:noescape
func spmmRow32s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

//go:noescape
func spmmRow16s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

//go:noescape
func spmmRow32sAVX2(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

//go:noescape
func spmmRow8s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

//go:noescape
func spmmRow4s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool

// gramCols adds val[q] times x[rows[q]*256:][0:w] into c[0:w], for q in
// [0, n), in order; w is a multiple of 4 and n >= 1. See gramColsGo.
//
//go:noescape
func gramCols(n int, rows *uint8, val *float64, c *float64, x *float64, w int)

// gramCols512 is gramCols with AVX-512.
//
//go:noescape
func gramCols512(n int, rows *uint8, val *float64, c *float64, x *float64, w int)

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
func hasAVX2FMA() bool { return cpufeat.AVX2FMA() }

// simdKernels returns the assembly row kernels when the CPU has AVX2 and
// FMA, else nil.
func simdKernels() *rowKernels {
	if !hasAVX2FMA() {
		return nil
	}
	ks := &rowKernels{
		name:   "avx2-fma",
		spmm:   []panelKernel[float64]{{16, spmmRow16}, {8, spmmRow8}, {4, spmmRow4}},
		spmmt:  []panelKernel[float64]{{16, spmmtRow16}, {8, spmmtRow8}, {4, spmmtRow4}},
		gram:   gramCols,
		spmm32: spmm32AVX2,
	}
	if cpufeat.AVX512F() {
		// 40% faster on the development VM's Xeon (BenchmarkGramDenseCols:
		// 16.5e9 products a second, 11.7e9 with AVX2).
		ks.gram = gramCols512
		ks.spmm32 = spmm32AVX512
	}
	return ks
}

// spmm32AVX2 and spmm32AVX512 are the float32 SpMM kernels of each
// instruction set, widest first.
var spmm32AVX2 = []panelKernel[float32]{{32, spmmRow32sAVX2}, {8, spmmRow8s}, {4, spmmRow4s}}
var spmm32AVX512 = []panelKernel[float32]{
	{64, spmmRow64s}, {32, spmmRow32s}, {16, spmmRow16s}, {8, spmmRow8s}, {4, spmmRow4s},
}

// spmm32KernelSets lists the float32 SpMM kernel sets of this
// architecture, for the tests to run each that the CPU has.
func spmm32KernelSets() []spmm32KernelSet {
	return []spmm32KernelSet{
		{"avx2", spmm32AVX2, hasAVX2FMA()},
		{"avx512", spmm32AVX512, cpufeat.AVX512F()},
	}
}

// gramKernelSet is one of the dense Gram kernels.
type gramKernelSet struct {
	name string
	gram gramKernel
	ok   bool // the CPU runs it
}

// gramKernelSets lists the dense Gram kernels of this architecture, for
// the tests to run each that the CPU has.
func gramKernelSets() []gramKernelSet {
	return []gramKernelSet{
		{"avx2", gramCols, hasAVX2FMA()},
		{"avx512", gramCols512, cpufeat.AVX512F()},
	}
}
