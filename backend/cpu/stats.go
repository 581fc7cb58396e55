package cpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// RowStats writes each row's sum (in float64) and count of stored values
// that are not zero.
func (b *Backend) RowStats(m backend.CSR, out backend.RowStats) error {
	h, err := view("matrix", m)
	if err != nil {
		return fmt.Errorf("cpu: RowStats: %w", err)
	}
	sum, err := slice[float64]("RowStats.Sum", out.Sum, h.Rows)
	if err != nil {
		return fmt.Errorf("cpu: RowStats: %w", err)
	}
	nnz, err := slice[int32]("RowStats.NNZ", out.NNZ, h.Rows)
	if err != nil {
		return fmt.Errorf("cpu: RowStats: %w", err)
	}
	b.forRows(h.Indptr, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			var n int32
			for _, v := range h.Data[h.Indptr[i]:h.Indptr[i+1]] {
				s += float64(v)
				if v != 0 {
					n++
				}
			}
			sum[i] = s
			nnz[i] = n
		}
	})
	return nil
}

// ColStats adds each column's sum, sum of squares and count of non-zero
// values over the rows that mask keeps into acc.
//
// The rows are split into ranges, one per worker; each worker sums its
// rows into zeroed scratch accumulators, which are then added into acc in
// worker order, so that the result depends only on the operands and the
// thread count.
func (b *Backend) ColStats(m backend.CSR, mask backend.Buffer, acc backend.ColStats) error {
	h, err := view("matrix", m)
	if err != nil {
		return fmt.Errorf("cpu: ColStats: %w", err)
	}
	keep, err := optSlice[uint8]("mask", mask, h.Rows)
	if err != nil {
		return fmt.Errorf("cpu: ColStats: %w", err)
	}
	sum, err := slice[float64]("ColStats.Sum", acc.Sum, h.Cols)
	if err != nil {
		return fmt.Errorf("cpu: ColStats: %w", err)
	}
	sumSq, err := optSlice[float64]("ColStats.SumSq", acc.SumSq, h.Cols)
	if err != nil {
		return fmt.Errorf("cpu: ColStats: %w", err)
	}
	nnz, err := optSlice[int64]("ColStats.NNZ", acc.NNZ, h.Cols)
	if err != nil {
		return fmt.Errorf("cpu: ColStats: %w", err)
	}
	if h.Rows == 0 {
		return nil
	}

	bounds := b.splitRows(h.Indptr)
	parts := len(bounds) - 1
	n := h.Cols
	// One zeroed accumulator per worker, the three sums of a column side by
	// side so that a value touches one cache line, not three.
	if cap(b.colAcc) < parts*n {
		b.colAcc = make([]colAcc, parts*n)
	}
	part := b.colAcc[:parts*n]
	clear(part)
	parallel(parts, func(p int) {
		a := part[p*n : p*n+n]
		for i := bounds[p]; i < bounds[p+1]; i++ {
			if keep != nil && keep[i] == 0 {
				continue
			}
			lo, hi := h.Indptr[i], h.Indptr[i+1]
			val := h.Data[lo:hi]
			for k, c := range h.Indices[lo:hi] {
				v := float64(val[k])
				s := &a[c]
				s.sum += v
				s.sumSq += v * v
				if v != 0 {
					s.nnz++
				}
			}
		}
	})
	// Add the workers' sums into acc in worker order, split by columns.
	cb := b.splitRange(n, int64(parts))
	parallel(len(cb)-1, func(q int) {
		for p := 0; p < parts; p++ {
			a := part[p*n : p*n+n]
			for j := cb[q]; j < cb[q+1]; j++ {
				sum[j] += a[j].sum
			}
			if sumSq != nil {
				for j := cb[q]; j < cb[q+1]; j++ {
					sumSq[j] += a[j].sumSq
				}
			}
			if nnz != nil {
				for j := cb[q]; j < cb[q+1]; j++ {
					nnz[j] += a[j].nnz
				}
			}
		}
	})
	return nil
}

// colAcc is one worker's sums for one column.
type colAcc struct {
	sum, sumSq float64
	nnz        int64
}
