package gpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// The row and column selections (kernels/select.cl).

const (
	// selectLocal is the work-group size of the kernels that give a
	// work-group to each row (at most SELECT_LOCAL).
	selectLocal = 128
	// selectScanLocal is select_scan's work-group size (at most
	// SELECT_SCAN_LOCAL).
	selectScanLocal = 1024
)

// SelectRows returns the rows i with keep[i] != 0, in order, as a new
// matrix.
//
// A kernel writes each row's kept flag and kept length, one work-group
// scans each into the kept rows' new indices and first positions, and the
// host reads back the two totals (16 bytes) to allocate the result before
// a last pair of kernels writes its row pointers and copies the rows.
func (be *Backend) SelectRows(m backend.CSR, keep backend.Buffer) (backend.CSR, error) {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	km, err := be.memOf("keep", keep, backend.Uint8, m.Rows)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	n := int64(m.Rows)
	// s holds two arrays of n+1: the kept flags, then the kept lengths,
	// each scanned in place.
	s, err := be.rt.Alloc(2 * (n + 1) * 8)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: allocating the row scans: %w", err)
	}
	defer be.rt.Free(s) // once queued: see ColStats
	if err := be.launch1D("select_rows_count", n, localSize, int32(n), indptr, km, s); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	if err := be.launch("select_scan", [3]int{2, 1, 1}, [3]int{be.scanLocal(), 1, 1}, n, s); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	var tot [2]int64
	if err := be.rt.ToHost(asBytes(tot[:1]), s, n*8); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: reading the row count: %w", err)
	}
	if err := be.rt.ToHost(asBytes(tot[1:]), s, (2*n+1)*8); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: reading the value count: %w", err)
	}
	rows, nnz := tot[0], tot[1]
	out, err := be.allocCSR(int(rows), m.Cols, nnz)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	oi, ox, od := out.Indptr.(*buffer).mem, out.Indices.(*buffer).mem, out.Data.(*buffer).mem
	err = be.launch1D("select_rows_indptr", n+1, localSize, int32(n), km, s, oi)
	if err == nil && n > 0 && nnz > 0 {
		err = be.launch("select_rows_fill", [3]int{int(n), 1, 1}, [3]int{be.selectLocal(), 1, 1},
			int32(n), indptr, indices, data, km, s, ox, od)
	}
	if err != nil {
		out.Free()
		return backend.CSR{}, fmt.Errorf("gpu: SelectRows: %w", err)
	}
	return out, nil
}

// SelectCols returns the matrix restricted to the columns j with
// newIndex[j] >= 0, renumbered to newIndex[j], with newCols columns.
// Entries keep their order within a row. The kept columns must map to
// distinct indices below newCols: a kernel checks, and the host reads its
// verdict (4 bytes) with the new value count (8 bytes).
//
// A kernel counts each row's kept values into the new row pointers, one
// work-group scans them in place, and a last kernel writes the kept values
// of each row, in order, from its new row pointer on.
func (be *Backend) SelectCols(m backend.CSR, newIndex backend.Buffer, newCols int) (backend.CSR, error) {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	if err := checkInt32("the column count", m.Cols); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	ni, err := be.memOf("newIndex", newIndex, backend.Int32, m.Cols)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	if newCols < 0 || newCols >= 1<<31-1 {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w: %d new columns", backend.ErrShape, newCols)
	}

	// seen counts the columns mapped to each new index; seen[newCols]
	// flags a violation.
	seenBytes := int64(newCols+1) * 4
	seen, err := be.rt.Alloc(seenBytes)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: allocating the index check: %w", err)
	}
	defer be.rt.Free(seen) // once queued: see ColStats
	if err := be.rt.Zero(seen, 0, seenBytes); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	if err := be.launch1D("select_cols_check", int64(m.Cols), localSize, int32(m.Cols), int32(newCols), ni, seen); err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}

	n := int64(m.Rows)
	ptr, err := be.allocRaw(backend.Int64, m.Rows+1)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	nnz, err := be.selectColsCount(n, indptr, indices, ni, ptr.mem, seen, newCols)
	if err != nil {
		ptr.Free()
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	idx, val, err := be.allocEntries(nnz)
	if err != nil {
		ptr.Free()
		return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
	}
	out := backend.CSR{Rows: m.Rows, Cols: newCols, NNZ: nnz, Indptr: ptr, Indices: idx, Data: val}
	if n > 0 && nnz > 0 {
		if err := be.launch("select_cols_fill", [3]int{int(n), 1, 1}, [3]int{be.selectLocal(), 1, 1},
			indptr, indices, data, ni, ptr.mem, idx.mem, val.mem); err != nil {
			out.Free()
			return backend.CSR{}, fmt.Errorf("gpu: SelectCols: %w", err)
		}
	}
	return out, nil
}

// selectColsCount writes the new row pointers of SelectCols into ptr and
// returns the new value count, or an ErrShape error when select_cols_check
// flagged newIndex in seen.
func (be *Backend) selectColsCount(n int64, indptr, indices, ni, ptr, seen Mem, newCols int) (int64, error) {
	if n > 0 {
		if err := be.launch("select_cols_count", [3]int{int(n), 1, 1}, [3]int{be.selectLocal(), 1, 1},
			indptr, indices, ni, ptr); err != nil {
			return 0, err
		}
	}
	if err := be.launch("select_scan", [3]int{1, 1, 1}, [3]int{be.scanLocal(), 1, 1}, n, ptr); err != nil {
		return 0, err
	}
	var bad [1]int32
	if err := be.rt.ToHost(asBytes(bad[:]), seen, int64(newCols)*4); err != nil {
		return 0, fmt.Errorf("reading the index check: %w", err)
	}
	if bad[0] != 0 {
		return 0, fmt.Errorf("%w: newIndex maps a column outside [0, %d) or two columns to one index", backend.ErrShape, newCols)
	}
	var nnz [1]int64
	if err := be.rt.ToHost(asBytes(nnz[:]), ptr, n*8); err != nil {
		return 0, fmt.Errorf("reading the value count: %w", err)
	}
	return nnz[0], nil
}

// allocCSR allocates a rows x cols matrix with nnz values, whose arrays
// kernels will write in full.
func (be *Backend) allocCSR(rows, cols int, nnz int64) (backend.CSR, error) {
	ptr, err := be.allocRaw(backend.Int64, rows+1)
	if err != nil {
		return backend.CSR{}, err
	}
	idx, val, err := be.allocEntries(nnz)
	if err != nil {
		ptr.Free()
		return backend.CSR{}, err
	}
	return backend.CSR{Rows: rows, Cols: cols, NNZ: nnz, Indptr: ptr, Indices: idx, Data: val}, nil
}

// allocEntries allocates the indices and values of nnz entries.
func (be *Backend) allocEntries(nnz int64) (idx, val *buffer, err error) {
	if idx, err = be.allocRaw(backend.Int32, int(nnz)); err != nil {
		return nil, nil, err
	}
	if val, err = be.allocRaw(backend.Float32, int(nnz)); err != nil {
		idx.Free()
		return nil, nil, err
	}
	return idx, val, nil
}

// selectLocal and scanLocal are the work-group sizes of the selection
// kernels, within the device's limit.
func (be *Backend) selectLocal() int { return min(selectLocal, be.rt.MaxLocal()) }
func (be *Backend) scanLocal() int   { return min(selectScanLocal, be.rt.MaxLocal()) }
