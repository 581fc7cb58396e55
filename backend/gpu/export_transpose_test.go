package gpu

import "github.com/scbench/scbench/backend"

// SpMMTakesLongRows reports whether SpMM runs spmm_long (a work-group per
// row) on m with k columns, so that tests can check that their shapes
// reach it.
func (be *Backend) SpMMTakesLongRows(m backend.CSR, k int) bool { return be.spmmLong(m, k) }
