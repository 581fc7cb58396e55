package cpu

import (
	"slices"
	"unsafe"
)

// panelKernel is a row kernel of SpMM or SpMMT on panels of width columns
// of a T matrix (see kernel_amd64.s). It reports false, having stopped
// early, when a column index is outside [0, rows). Float32 kernels sum in
// float32.
type panelKernel[T float32 | float64] struct {
	width int
	fn    func(n int, idx *int32, val *float32, mat *T, ld, rows int, vec *T) bool
}

// spmm32KernelSet is one instruction set's float32 SpMM kernels, for the
// tests.
type spmm32KernelSet struct {
	name string
	ks   []panelKernel[float32]
	ok   bool // the CPU runs them
}

// rowKernels are the assembly kernels of one instruction set, each list
// widest first.
type rowKernels struct {
	name        string
	spmm, spmmt []panelKernel[float64]
	spmm32      []panelKernel[float32]
	gram        gramKernel
}

// gramKernel adds val[q] times x[rows[q]*256:][0:w] into c[0:w], for q in
// [0, n), in order; w is a multiple of 4 and n >= 1. See gramColsGo.
type gramKernel func(n int, rows *uint8, val *float64, c *float64, x *float64, w int)

// spmmRow sets o = sum over the row's values v at column c of v times
// row c of the rows x k matrix bs, panel by panel with kernels, the
// columns they leave (fewer than the narrowest's width) in Go, summed in
// T. It reports false on a column index outside [0, rows).
func spmmRow[T float32 | float64](kernels []panelKernel[T], idx []int32, val []float32, bs []T, rows, k int, o []T) bool {
	n := len(idx)
	if n == 0 {
		clear(o)
		return true
	}
	ld := k * int(unsafe.Sizeof(bs[0]))
	j := 0
	for _, kern := range kernels {
		for ; j+kern.width <= k; j += kern.width {
			if !kern.fn(n, &idx[0], &val[0], &bs[j], ld, rows, &o[j]) {
				return false
			}
		}
	}
	for ; j < k; j++ {
		var s T
		for q, c := range idx {
			if uint(c) >= uint(rows) {
				return false
			}
			s += T(val[q]) * bs[int(c)*k+j]
		}
		o[j] = s
	}
	return true
}

// spmmRows is spmmRow for the rows [lo, hi) of a CSR matrix (ptr, idx,
// val), out row i at outs[i*k:]. (Wide products taken panel by panel over
// blocks of rows, to keep a panel of B in cache, ran no faster at k = 100:
// the hardware prefetchers keep up with the row-by-row gathers.)
func spmmRows[T float32 | float64](kernels []panelKernel[T], ptr []int64, idx []int32, val []float32, lo, hi int, bs []T, rows, k int, outs []T) bool {
	for i := lo; i < hi; i++ {
		a, z := ptr[i], ptr[i+1]
		if !spmmRow(kernels, idx[a:z], val[a:z], bs, rows, k, outs[i*k:i*k+k]) {
			return false
		}
	}
	return true
}

// spmmtRow adds v times x into row c of the rows x k matrix dst for each
// of the row's values v at column c, panel by panel, the last k%4 columns
// in Go. It reports false on a column index outside [0, rows).
func (ks *rowKernels) spmmtRow(idx []int32, val []float32, x []float64, rows, k int, dst []float64) bool {
	n := len(idx)
	if n == 0 {
		return true
	}
	j := 0
	for _, kern := range ks.spmmt {
		for ; j+kern.width <= k; j += kern.width {
			if !kern.fn(n, &idx[0], &val[0], &dst[j], k*8, rows, &x[j]) {
				return false
			}
		}
	}
	if j < k {
		for q, c := range idx {
			if uint(c) >= uint(rows) {
				return false
			}
			v := float64(val[q])
			row := dst[int(c)*k : int(c)*k+k]
			for jj := j; jj < k; jj++ {
				row[jj] += v * x[jj]
			}
		}
	}
	return true
}

// gramDense adds the products of one row of C in a dense tile: c (the
// row's part in the tile's block) gets val[q] times row rows[q] of x (rows
// of 256 values) added, for every q, in order; len(c) <= 256. The columns
// in groups of four run in assembly where there is a kernel, the rest
// (and everything without one) in gramColsGo; both give the same bits,
// the products being exact.
func (ks *rowKernels) gramDense(rows []uint8, val []float64, c []float64, x []float64) {
	n := len(rows)
	if n == 0 {
		return
	}
	val = val[:n]
	w := 0
	if ks != nil && ks.gram != nil {
		w = len(c) &^ 3
		if w > 0 {
			// The kernel reads x[rows[q]*256 : rows[q]*256+w].
			_ = x[int(slices.Max(rows))*gramBlock+w-1]
			ks.gram(n, &rows[0], &val[0], &c[0], &x[0], w)
		}
	}
	if w < len(c) {
		gramColsGo(rows, val, c[w:], x[w:])
	}
}

// gramColsGo is gramCols in Go.
func gramColsGo(rows []uint8, val []float64, c []float64, x []float64) {
	for q, r := range rows {
		v := val[q]
		xr := x[int(r)*gramBlock:]
		xr = xr[:len(c)]
		for k, xk := range xr {
			c[k] += v * xk
		}
	}
}
