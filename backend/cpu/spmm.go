package cpu

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// SpMM computes out = m * b, one output row per stored row, each the sum of
// the rows of b picked by the row's column indices, scaled by its values.
// Both kinds run on the assembly row kernels where the CPU has AVX2 and
// FMA (kernel_amd64.s), which fuse the multiply-adds; float32 operands are
// then summed in float32, as a GPU does (half the bytes of b per value,
// which bound the product: PCA's scores take float32 loadings), and in
// float64, rounded once, without the kernels. A column index outside the
// matrix is an ErrShape error (out is then undefined).
func (b *Backend) SpMM(m backend.CSR, bd backend.Dense, out backend.Dense) error {
	h, err := view("matrix", m)
	if err != nil {
		return fmt.Errorf("cpu: SpMM: %w", err)
	}
	k := bd.Cols
	if bd.Rows != h.Cols || out.Rows != h.Rows || out.Cols != k || k < 0 {
		return fmt.Errorf("%w: cpu: SpMM: %d x %d matrix times %d x %d into %d x %d", backend.ErrShape,
			h.Rows, h.Cols, bd.Rows, bd.Cols, out.Rows, out.Cols)
	}
	if bd.Data == nil || out.Data == nil {
		return fmt.Errorf("%w: cpu: SpMM: nil dense data", backend.ErrShape)
	}
	switch bd.Data.Kind() {
	case backend.Float64:
		bs, err := slice[float64]("B.Data", bd.Data, h.Cols*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMM: %w", err)
		}
		outs, err := slice[float64]("out.Data", out.Data, h.Rows*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMM: %w", err)
		}
		if b.kern != nil {
			return spmmOnKernels(b, b.kern.spmm, &h, bs, k, outs)
		}
		var bad atomic.Bool
		b.forRows(h.Indptr, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o := outs[i*k : i*k+k]
				clear(o)
				lo, hi := h.Indptr[i], h.Indptr[i+1]
				idx, val := h.Indices[lo:hi], h.Data[lo:hi]
				if !indicesBelow(idx, h.Cols) {
					bad.Store(true)
					return
				}
				p := 0
				for ; p+4 <= len(idx); p += 4 {
					c := idx[p : p+4 : p+4]
					axpy4x(o, (*[4]float32)(val[p:p+4]),
						bs[int(c[0])*k:int(c[0])*k+k], bs[int(c[1])*k:int(c[1])*k+k],
						bs[int(c[2])*k:int(c[2])*k+k], bs[int(c[3])*k:int(c[3])*k+k])
				}
				for ; p < len(idx); p++ {
					c := int(idx[p])
					axpy(float64(val[p]), bs[c*k:c*k+k], o)
				}
			}
		})
		if bad.Load() {
			return errBadIndex("SpMM", h.Cols)
		}
	case backend.Float32:
		bs, err := slice[float32]("B.Data", bd.Data, h.Cols*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMM: %w", err)
		}
		outs, err := slice[float32]("out.Data", out.Data, h.Rows*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMM: %w", err)
		}
		if b.kern != nil && b.kern.spmm32 != nil {
			return spmmOnKernels(b, b.kern.spmm32, &h, bs, k, outs)
		}
		var bad atomic.Bool
		b.forRows(h.Indptr, func(lo, hi int) {
			acc := make([]float64, k)
			for i := lo; i < hi; i++ {
				clear(acc)
				lo, hi := h.Indptr[i], h.Indptr[i+1]
				idx, val := h.Indices[lo:hi], h.Data[lo:hi]
				if !indicesBelow(idx, h.Cols) {
					bad.Store(true)
					return
				}
				p := 0
				for ; p+4 <= len(idx); p += 4 {
					c := idx[p : p+4 : p+4]
					axpy4x32(acc, (*[4]float32)(val[p:p+4]),
						bs[int(c[0])*k:int(c[0])*k+k], bs[int(c[1])*k:int(c[1])*k+k],
						bs[int(c[2])*k:int(c[2])*k+k], bs[int(c[3])*k:int(c[3])*k+k])
				}
				for ; p < len(idx); p++ {
					c := int(idx[p])
					axpy32(float64(val[p]), bs[c*k:c*k+k], acc)
				}
				o := outs[i*k : i*k+k]
				for j, s := range acc {
					o[j] = float32(s)
				}
			}
		})
		if bad.Load() {
			return errBadIndex("SpMM", h.Cols)
		}
	default:
		return fmt.Errorf("%w: cpu: SpMM: B is %s, want float64 or float32", backend.ErrShape, bd.Data.Kind())
	}
	return nil
}

// spmmOnKernels runs SpMM of h on the row kernels, the rows split between
// the workers by their values.
func spmmOnKernels[T float32 | float64](b *Backend, kernels []panelKernel[T], h *sparse.CSR, bs []T, k int, outs []T) error {
	bounds := b.splitRows(h.Indptr)
	ok := make([]bool, len(bounds)-1)
	parallel(len(bounds)-1, func(p int) {
		ok[p] = spmmRows(kernels, h.Indptr, h.Indices, h.Data, bounds[p], bounds[p+1], bs, h.Cols, k, outs)
	})
	if slices.Contains(ok, false) {
		return errBadIndex("SpMM", h.Cols)
	}
	return nil
}

// axpy4x adds a[0]*x0 + a[1]*x1 + a[2]*x2 + a[3]*x3 into y, one load and
// store of y for four products. The sum is taken left to right, so the
// bits are those of four axpy calls in turn.
func axpy4x(y []float64, a *[4]float32, x0, x1, x2, x3 []float64) {
	a0, a1, a2, a3 := float64(a[0]), float64(a[1]), float64(a[2]), float64(a[3])
	x0, x1, x2, x3 = x0[:len(y)], x1[:len(y)], x2[:len(y)], x3[:len(y)]
	for j, s := range y {
		y[j] = s + a0*x0[j] + a1*x1[j] + a2*x2[j] + a3*x3[j]
	}
}

// axpy adds a*x into y (len(y) == len(x)).
func axpy(a float64, x, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		ys[0] += a * xs[0]
		ys[1] += a * xs[1]
		ys[2] += a * xs[2]
		ys[3] += a * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// axpy4x32 is axpy4x for float32 rows of B, widened to float64.
func axpy4x32(y []float64, a *[4]float32, x0, x1, x2, x3 []float32) {
	a0, a1, a2, a3 := float64(a[0]), float64(a[1]), float64(a[2]), float64(a[3])
	x0, x1, x2, x3 = x0[:len(y)], x1[:len(y)], x2[:len(y)], x3[:len(y)]
	for j, s := range y {
		y[j] = s + a0*float64(x0[j]) + a1*float64(x1[j]) + a2*float64(x2[j]) + a3*float64(x3[j])
	}
}

// axpy32 adds a*x into y, widening x to float64.
func axpy32(a float64, x []float32, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * float64(v)
	}
}

// indicesBelow reports whether every index in idx lies in [0, n).
func indicesBelow(idx []int32, n int) bool {
	ok := true
	for _, c := range idx {
		ok = ok && uint32(c) < uint32(n)
	}
	return ok
}

// errBadIndex is the error of a product whose matrix has a column index
// outside its columns (Upload does not check every index).
func errBadIndex(op string, cols int) error {
	return fmt.Errorf("%w: cpu: %s: a column index is outside the matrix's %d columns (check it with sparse.CSR.Validate)", backend.ErrShape, op, cols)
}
