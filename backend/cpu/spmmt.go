package cpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// SpMMT computes out = mᵀ * b: each stored value m[i, j] adds m[i, j] times
// row i of b into row j of out.
//
// The rows of m are split into ranges of equal work, one per worker. The
// first worker adds into a zeroed float64 copy of out held by the backend
// (for float64 out, into out itself), every other one into its own zeroed
// float64 partial sum; the partials are then added in worker order, split
// by rows of out, and rounded once for float32. The result depends only on
// the operands and the thread count (as ColStats's does). Float64 operands
// run on the assembly row kernels where the CPU has AVX2 and FMA. A column
// index outside the matrix is an ErrShape error (out is then undefined).
func (b *Backend) SpMMT(m backend.CSR, bd backend.Dense, out backend.Dense) error {
	h, err := view("matrix", m)
	if err != nil {
		return fmt.Errorf("cpu: SpMMT: %w", err)
	}
	k := bd.Cols
	if bd.Rows != h.Rows || out.Rows != h.Cols || out.Cols != k || k < 0 {
		return fmt.Errorf("%w: cpu: SpMMT: transpose of a %d x %d matrix times %d x %d into %d x %d", backend.ErrShape,
			h.Rows, h.Cols, bd.Rows, bd.Cols, out.Rows, out.Cols)
	}
	if bd.Data == nil || out.Data == nil {
		return fmt.Errorf("%w: cpu: SpMMT: nil dense data", backend.ErrShape)
	}
	n := h.Cols * k
	switch bd.Data.Kind() {
	case backend.Float64:
		bs, err := slice[float64]("B.Data", bd.Data, h.Rows*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMMT: %w", err)
		}
		outs, err := slice[float64]("out.Data", out.Data, n)
		if err != nil {
			return fmt.Errorf("cpu: SpMMT: %w", err)
		}
		if !spmmt(b, &h, bs, k, outs, nil) {
			return errBadIndex("SpMMT", h.Cols)
		}
	case backend.Float32:
		bs, err := slice[float32]("B.Data", bd.Data, h.Rows*k)
		if err != nil {
			return fmt.Errorf("cpu: SpMMT: %w", err)
		}
		outs, err := slice[float32]("out.Data", out.Data, n)
		if err != nil {
			return fmt.Errorf("cpu: SpMMT: %w", err)
		}
		if !spmmt(b, &h, bs, k, nil, outs) {
			return errBadIndex("SpMMT", h.Cols)
		}
	default:
		return fmt.Errorf("%w: cpu: SpMMT: B is %s, want float64 or float32", backend.ErrShape, bd.Data.Kind())
	}
	return nil
}

// spmmt runs SpMMT's loop: into out64 when it is not nil (float64
// operands), else into float64 scratch rounded into out32 at the end. It
// reports false on a column index outside the matrix.
func spmmt[T float32 | float64](b *Backend, h *sparse.CSR, bs []T, k int, out64 []float64, out32 []float32) bool {
	n := h.Cols * k
	bounds := b.splitRows(h.Indptr)
	parts := len(bounds) - 1
	need := (parts - 1) * n
	if out64 == nil {
		need += n
	}
	if cap(b.spmmtAcc) < need {
		b.spmmtAcc = make([]float64, need)
	}
	acc := b.spmmtAcc[:need]
	first := out64
	if first == nil {
		first, acc = acc[:n], acc[n:]
	}
	part := func(p int) []float64 {
		if p == 0 {
			return first
		}
		return acc[(p-1)*n : p*n]
	}
	ptr, idx, val := h.Indptr, h.Indices, h.Data
	// The assembly kernels take float64 rows of B.
	b64, _ := any(bs).([]float64)
	kern := b.kern
	if b64 == nil {
		kern = nil
	}
	ok := make([]bool, parts)
	parallel(parts, func(p int) {
		dst := part(p)
		clear(dst)
		for i := bounds[p]; i < bounds[p+1]; i++ {
			lo, hi := ptr[i], ptr[i+1]
			if kern != nil {
				if !kern.spmmtRow(idx[lo:hi], val[lo:hi], b64[i*k:i*k+k], h.Cols, k, dst) {
					return
				}
				continue
			}
			vs := val[lo:hi]
			row := bs[i*k : i*k+k]
			for q, c := range idx[lo:hi] {
				if uint(c) >= uint(h.Cols) {
					return
				}
				axpyT(float64(vs[q]), row, dst[int(c)*k:int(c)*k+k])
			}
		}
		ok[p] = true
	})
	for _, o := range ok {
		if !o {
			return false
		}
	}
	// Add the partials into the first, in worker order, split by rows of
	// the output, and round for float32.
	kk := max(k, 1)
	rb := b.splitRange(n/kk, int64(parts*kk))
	parallel(len(rb)-1, func(q int) {
		lo, hi := rb[q]*k, rb[q+1]*k
		dst := first[lo:hi]
		for p := 1; p < parts; p++ {
			for j, x := range part(p)[lo:hi] {
				dst[j] += x
			}
		}
		if out32 != nil {
			for j, x := range dst {
				out32[lo+j] = float32(x)
			}
		}
	})
	return true
}

// axpyT adds a*x into y (len(y) == len(x)), widening x to float64.
func axpyT[T float32 | float64](a float64, x []T, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		ys[0] += a * float64(xs[0])
		ys[1] += a * float64(xs[1])
		ys[2] += a * float64(xs[2])
		ys[3] += a * float64(xs[3])
	}
	for ; i < len(x); i++ {
		y[i] += a * float64(x[i])
	}
}
