package cpu

import "slices"

// rowKernel computes one row of SpMM or SpMMT on a float64 panel of a
// fixed width (16, 8 or 4 columns); see kernel_amd64.s. It reports false,
// having stopped early, when a column index is outside [0, rows).
type rowKernel func(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool

// rowKernel32 is a row kernel of float32 SpMM (mat and vec float32,
// summed in float32) on panels of width columns.
type rowKernel32 struct {
	width int
	fn    func(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
}

// spmm32KernelSet is one instruction set's float32 SpMM kernels, for the
// tests.
type spmm32KernelSet struct {
	name string
	ks   []rowKernel32
	ok   bool // the CPU runs them
}

// rowKernels are the assembly kernels of one instruction set, widest
// first.
type rowKernels struct {
	name        string
	spmm, spmmt [3]rowKernel
	spmm32      []rowKernel32
	gram        gramKernel
}

// gramKernel adds val[q] times x[rows[q]*256:][0:w] into c[0:w], for q in
// [0, n), in order; w is a multiple of 4 and n >= 1. See gramColsGo.
type gramKernel func(n int, rows *uint8, val *float64, c *float64, x *float64, w int)

// panelWidths are the widths of the kernels in rowKernels.spmm and spmmt.
var panelWidths = [3]int{16, 8, 4}

// spmmRow sets o = sum over the row's values v at column c of v times
// row c of the rows x k matrix bs, panel by panel, the last k%4 columns
// in Go. It reports false on a column index outside [0, rows).
func (ks *rowKernels) spmmRow(idx []int32, val []float32, bs []float64, rows, k int, o []float64) bool {
	n := len(idx)
	if n == 0 {
		clear(o)
		return true
	}
	j := 0
	for w, kern := range ks.spmm {
		for width := panelWidths[w]; j+width <= k; j += width {
			if !kern(n, &idx[0], &val[0], &bs[j], k*8, rows, &o[j]) {
				return false
			}
		}
	}
	for ; j < k; j++ {
		var s float64
		for q, c := range idx {
			if uint(c) >= uint(rows) {
				return false
			}
			s += float64(val[q]) * bs[int(c)*k+j]
		}
		o[j] = s
	}
	return true
}

// spmmRow32 is spmmRow for float32 bs and o, summed in float32 (the last
// k%4 columns in Go, also in float32).
func (ks *rowKernels) spmmRow32(idx []int32, val []float32, bs []float32, rows, k int, o []float32) bool {
	n := len(idx)
	if n == 0 {
		clear(o)
		return true
	}
	j := 0
	for _, kern := range ks.spmm32 {
		for ; j+kern.width <= k; j += kern.width {
			if !kern.fn(n, &idx[0], &val[0], &bs[j], k*4, rows, &o[j]) {
				return false
			}
		}
	}
	for ; j < k; j++ {
		var s float32
		for q, c := range idx {
			if uint(c) >= uint(rows) {
				return false
			}
			s += val[q] * bs[int(c)*k+j]
		}
		o[j] = s
	}
	return true
}

// spmmRows32 is spmmRows for float32 (spmmRow32).
func (ks *rowKernels) spmmRows32(ptr []int64, idx []int32, val []float32, lo, hi int, bs []float32, rows, k int, outs []float32) bool {
	for i := lo; i < hi; i++ {
		a, z := ptr[i], ptr[i+1]
		if !ks.spmmRow32(idx[a:z], val[a:z], bs, rows, k, outs[i*k:i*k+k]) {
			return false
		}
	}
	return true
}

// spmmRows is spmmRow for the rows [lo, hi) of a CSR matrix (ptr, idx,
// val), out row i at outs[i*k:]. (Wide products taken panel by panel over
// blocks of rows, to keep a panel of B in cache, ran no faster at k = 100:
// the hardware prefetchers keep up with the row-by-row gathers.)
func (ks *rowKernels) spmmRows(ptr []int64, idx []int32, val []float32, lo, hi int, bs []float64, rows, k int, outs []float64) bool {
	for i := lo; i < hi; i++ {
		a, z := ptr[i], ptr[i+1]
		if !ks.spmmRow(idx[a:z], val[a:z], bs, rows, k, outs[i*k:i*k+k]) {
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
	for w, kern := range ks.spmmt {
		for width := panelWidths[w]; j+width <= k; j += width {
			if !kern(n, &idx[0], &val[0], &dst[j], k*8, rows, &x[j]) {
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
