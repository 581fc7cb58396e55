package cpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

var _ backend.Transposer = (*Backend)(nil)

// Transpose returns mᵀ as a new matrix with arrays of its own, each row
// (a column of m) holding its entries in increasing row order of m.
//
// The rows of m are split into ranges of equal work, one per worker. Each
// worker counts its range's entries per column; an exclusive scan of the
// counts in column-major order over (column, range) gives each worker,
// for each column, where its entries of that column start; each worker
// then walks its rows in order and appends every entry to its column.
// Within a column the ranges come in row order and each range's entries
// in row order, so the result does not depend on the thread count.
func (b *Backend) Transpose(m backend.CSR) (backend.CSR, error) {
	h, err := view("matrix", m)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("cpu: Transpose: %w", err)
	}
	if h.Rows > math.MaxInt32 {
		return backend.CSR{}, fmt.Errorf("%w: cpu: Transpose: %d rows do not fit int32 column indices", backend.ErrShape, h.Rows)
	}
	cols := h.Cols
	bounds := b.splitRows(h.Indptr)
	parts := len(bounds) - 1
	// counts[p*cols+j]: range p's entries in column j, then, scanned, where
	// they start in the result.
	counts := make([]int64, parts*cols)
	bad := make([]bool, parts)
	parallel(parts, func(p int) {
		c := counts[p*cols : (p+1)*cols]
		idx := h.Indices[h.Indptr[bounds[p]]:h.Indptr[bounds[p+1]]]
		if !indicesBelow(idx, cols) {
			bad[p] = true
			return
		}
		for _, j := range idx {
			c[j]++
		}
	})
	for _, x := range bad {
		if x {
			return backend.CSR{}, errBadIndex("Transpose", cols)
		}
	}
	out := sparse.NewCSR(cols, h.Rows, h.NNZ())
	var at int64
	for j := 0; j < cols; j++ {
		out.Indptr[j] = at
		for p := 0; p < parts; p++ {
			n := counts[p*cols+j]
			counts[p*cols+j] = at
			at += n
		}
	}
	out.Indptr[cols] = at
	parallel(parts, func(p int) {
		pos := counts[p*cols : (p+1)*cols]
		for i := bounds[p]; i < bounds[p+1]; i++ {
			lo, hi := h.Indptr[i], h.Indptr[i+1]
			val := h.Data[lo:hi]
			for k, j := range h.Indices[lo:hi] {
				q := pos[j]
				out.Indices[q] = int32(i)
				out.Data[q] = val[k]
				pos[j] = q + 1
			}
		}
	})
	return b.Upload(out)
}
