package gpu

import "github.com/scbench/scbench/backend"

// GramAccumulateRows is GramAccumulate densifying rows rows at a time, so
// that tests reach several blocks on small matrices.
func (be *Backend) GramAccumulateRows(m backend.CSR, c backend.Dense, rows int) error {
	return be.gramAccumulate(m, c, rows)
}
