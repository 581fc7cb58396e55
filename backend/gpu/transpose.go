package gpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// The transposition (kernels/transpose.cl).

var _ backend.Transposer = (*Backend)(nil)

const (
	// transposeTile is TRANSPOSE_TILE, the most columns a tile has.
	transposeTile = 3072
	// transposeLocal is the work-group size of the count and fill kernels
	// (any size gives the same result).
	transposeLocal = 256
	// transposeGroups is the number of work-groups aimed at: several per
	// multiprocessor of a large GPU, so that while some wait at a row's
	// barrier, others work. transposeMinBlockRows makes each row block
	// hold a few rows, and transposeMaxCounts bounds the scanned counts
	// (columns times row blocks, int64: 32 MiB).
	transposeGroups       = 1024
	transposeMinBlockRows = 64
	transposeMaxCounts    = 1 << 22
)

// transposeSplit returns how Transpose cuts a rows x cols matrix: tiles of
// w columns and row blocks of rb rows, none empty. It depends on the shape
// only (the result does not depend on it at all: it is canonical).
func transposeSplit(rows, cols int) (w, tiles, blocks, rb int) {
	tiles = max(1, (cols+transposeTile-1)/transposeTile)
	w = max(1, (cols+tiles-1)/tiles)
	blocks = (transposeGroups + tiles - 1) / tiles
	blocks = min(blocks, (rows+transposeMinBlockRows-1)/transposeMinBlockRows, transposeMaxCounts/max(cols, 1))
	blocks = max(blocks, 1)
	rb = max(1, (rows+blocks-1)/blocks)
	blocks = max(1, (rows+rb-1)/rb)
	return w, tiles, blocks, rb
}

// Transpose returns mᵀ as a new matrix, each row (a column of m) holding
// its entries in increasing row order of m (kernels/transpose.cl). Its
// position in the result follows from integer counts and the row order
// alone, so the result is the same on every device and every run.
//
// A kernel counts the entries of each (column, row block) with integer
// atomics, one work-group scans the counts in column-major order into
// where each column's entries of each block start, the host reads back the
// total (8 bytes: the result's size, and the check that every column index
// lies in the matrix), and a last kernel writes the entries, each
// work-group walking its rows in order.
func (be *Backend) Transpose(m backend.CSR) (backend.CSR, error) {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	if err := checkInt32("the column count", m.Cols); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	badIndex := fmt.Errorf("gpu: Transpose: %w: a column index is outside the matrix's %d columns", backend.ErrShape, m.Cols)
	if m.NNZ == 0 {
		ptr, err := be.Alloc(backend.Int64, m.Cols+1) // zeroed: every row empty
		if err != nil {
			return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
		}
		idx, val, err := be.allocEntries(0)
		if err != nil {
			ptr.Free()
			return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
		}
		return backend.CSR{Rows: m.Cols, Cols: m.Rows, Indptr: ptr, Indices: idx, Data: val}, nil
	}
	if m.Cols == 0 || m.Rows == 0 {
		return backend.CSR{}, badIndex
	}

	w, tiles, blocks, rb := transposeSplit(m.Rows, m.Cols)
	n := int64(m.Cols) * int64(blocks)
	off, err := be.rt.Alloc((n + 1) * 8)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: allocating %d x %d counts: %w", m.Cols, blocks, err)
	}
	// Freed once the kernels are queued: see ColStats.
	defer be.rt.Free(off)
	groups := [3]int{tiles, blocks, 1}
	local := [3]int{min(transposeLocal, be.rt.MaxLocal()), 1, 1}
	rows, cols := int32(m.Rows), int32(m.Cols)
	if err := be.launch("transpose_count", groups, local, rows, cols, int32(w), int32(blocks), int32(rb),
		indptr, indices, off); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	if err := be.launch("select_scan", [3]int{1, 1, 1}, [3]int{be.scanLocal(), 1, 1}, n, off); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	var total [1]int64
	if err := be.rt.ToHost(asBytes(total[:]), off, n*8); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: reading the value count: %w", err)
	}
	if total[0] != m.NNZ {
		return backend.CSR{}, badIndex
	}
	out, err := be.allocCSR(m.Cols, m.Rows, m.NNZ)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	oi, ox, od := out.Indptr.(*buffer).mem, out.Indices.(*buffer).mem, out.Data.(*buffer).mem
	err = be.launch1D("transpose_indptr", int64(m.Cols)+1, localSize, cols, int32(blocks), off, oi)
	if err == nil {
		err = be.launch("transpose_fill", groups, local, rows, cols, int32(w), int32(blocks), int32(rb),
			indptr, indices, data, off, ox, od)
	}
	if err != nil {
		out.Free()
		return backend.CSR{}, fmt.Errorf("gpu: Transpose: %w", err)
	}
	return out, nil
}
