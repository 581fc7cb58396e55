package gpu

import (
	"errors"

	"github.com/scbench/scbench/backend"
)

// Operations not written yet. Each moves to its own file as it is.

var errTodo = errors.New("gpu: not implemented yet")

func (be *Backend) RowStats(m backend.CSR, out backend.RowStats) error { return errTodo }
func (be *Backend) ColStats(m backend.CSR, mask backend.Buffer, acc backend.ColStats) error {
	return errTodo
}
func (be *Backend) SelectRows(m backend.CSR, keep backend.Buffer) (backend.CSR, error) {
	return backend.CSR{}, errTodo
}
func (be *Backend) SelectCols(m backend.CSR, newIndex backend.Buffer, newCols int) (backend.CSR, error) {
	return backend.CSR{}, errTodo
}
func (be *Backend) GramAccumulate(m backend.CSR, c backend.Dense) error { return errTodo }
func (be *Backend) SpMM(m backend.CSR, b backend.Dense, out backend.Dense) error {
	return errTodo
}
func (be *Backend) SpMMT(m backend.CSR, b backend.Dense, out backend.Dense) error {
	return errTodo
}
func (be *Backend) Gemm(transA, transB bool, alpha float64, a, b backend.Dense, beta float64, c backend.Dense) error {
	return errTodo
}
func (be *Backend) EigSymTop(a backend.Dense, k int) ([]float64, backend.Dense, error) {
	return nil, backend.Dense{}, errTodo
}
