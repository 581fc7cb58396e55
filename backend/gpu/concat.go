package gpu

import (
	"errors"
	"fmt"

	"github.com/scbench/scbench/backend"
)

// ConcatRows joins device matrices with the same number of columns into
// one, row after row, and frees them. The pipeline joins the chunks of the
// scaled HVG matrix this way when it keeps them on the device, so that each
// product of the PCA eigensolver is one launch per operation. On error the
// inputs are left as they were.
func (be *Backend) ConcatRows(ms []backend.CSR) (backend.CSR, error) {
	if len(ms) == 0 {
		return backend.CSR{}, errors.New("gpu: ConcatRows: no matrices")
	}
	out := backend.CSR{Cols: ms[0].Cols}
	for i, m := range ms {
		if err := be.checkCSR(fmt.Sprintf("matrix %d", i), m); err != nil {
			return backend.CSR{}, fmt.Errorf("gpu: ConcatRows: %w", err)
		}
		if m.Cols != out.Cols {
			return backend.CSR{}, fmt.Errorf("gpu: ConcatRows: %w: matrix %d has %d columns, matrix 0 has %d", backend.ErrShape, i, m.Cols, out.Cols)
		}
		out.Rows += m.Rows
		out.NNZ += m.NNZ
	}
	indptr, err := be.allocRaw(backend.Int64, out.Rows+1)
	if err != nil {
		return backend.CSR{}, err
	}
	indices, err := be.allocRaw(backend.Int32, int(out.NNZ))
	if err != nil {
		indptr.Free()
		return backend.CSR{}, err
	}
	data, err := be.allocRaw(backend.Float32, int(out.NNZ))
	if err != nil {
		indptr.Free()
		indices.Free()
		return backend.CSR{}, err
	}
	out.Indptr, out.Indices, out.Data = indptr, indices, data
	var row, at int64
	for _, m := range ms {
		p, ix, d, _ := be.csrMems("matrix", m)
		// Rows+1 pointers: the last is overwritten by the next piece's
		// first, which holds the same value.
		if err = be.launch1D("shift_indptr", int64(m.Rows)+1, localSize, int64(m.Rows)+1, p, indptr.mem, row, at); err != nil {
			break
		}
		if m.NNZ > 0 {
			if err = be.rt.Copy(indices.mem, at*4, ix, 0, m.NNZ*4); err != nil {
				break
			}
			if err = be.rt.Copy(data.mem, at*4, d, 0, m.NNZ*4); err != nil {
				break
			}
		}
		row += int64(m.Rows)
		at += m.NNZ
	}
	if err != nil {
		out.Free()
		return backend.CSR{}, fmt.Errorf("gpu: ConcatRows: %w", err)
	}
	for _, m := range ms {
		m.Free()
	}
	return out, nil
}
