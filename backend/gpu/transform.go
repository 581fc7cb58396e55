package gpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// The element-wise transforms (kernels/transform.cl).

const localSize = 256

// ScaleRows multiplies the values of row i by f[i].
func (be *Backend) ScaleRows(m backend.CSR, f backend.Buffer) error {
	indptr, _, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: ScaleRows: %w", err)
	}
	fm, err := be.memOf("factors", f, backend.Float64, m.Rows)
	if err != nil {
		return fmt.Errorf("gpu: ScaleRows: %w", err)
	}
	return be.launch1D("scale_rows", int64(m.Rows), localSize, int32(m.Rows), indptr, data, fm)
}

// ScaleCols multiplies the values of column j by f[j].
func (be *Backend) ScaleCols(m backend.CSR, f backend.Buffer) error {
	_, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: ScaleCols: %w", err)
	}
	fm, err := be.memOf("factors", f, backend.Float64, m.Cols)
	if err != nil {
		return fmt.Errorf("gpu: ScaleCols: %w", err)
	}
	return be.launch1D("scale_cols", m.NNZ, localSize, m.NNZ, indices, data, fm)
}

// Log1p replaces each value x by log(1+x).
func (be *Backend) Log1p(m backend.CSR) error {
	_, _, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: Log1p: %w", err)
	}
	return be.launch1D("log1p_values", m.NNZ, localSize, m.NNZ, data)
}
