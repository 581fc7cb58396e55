package sparse

import (
	"errors"
	"fmt"
)

// CSR is a Rows x Cols matrix in compressed sparse row form.
// Indptr has Rows+1 entries, starts at 0 and ends at len(Data);
// Indices and Data have one entry per stored value.
type CSR struct {
	Rows, Cols int
	Indptr     []int64
	Indices    []int32
	Data       []float32
}

// NewCSR returns an empty Rows x Cols matrix with room for nnz values.
func NewCSR(rows, cols int, nnz int64) *CSR {
	return &CSR{
		Rows:    rows,
		Cols:    cols,
		Indptr:  make([]int64, rows+1),
		Indices: make([]int32, nnz),
		Data:    make([]float32, nnz),
	}
}

// NNZ returns the number of stored values.
func (m *CSR) NNZ() int64 {
	if len(m.Indptr) == 0 {
		return 0
	}
	return m.Indptr[len(m.Indptr)-1] - m.Indptr[0]
}

// Row returns the column indices and values stored in row i.
func (m *CSR) Row(i int) ([]int32, []float32) {
	lo, hi := m.Indptr[i], m.Indptr[i+1]
	return m.Indices[lo:hi], m.Data[lo:hi]
}

// RowView returns rows [lo, hi) as a matrix that shares Indices and Data
// with m. Its Indptr is a fresh, rebased copy, so it starts at 0.
func (m *CSR) RowView(lo, hi int) *CSR {
	if lo < 0 || hi > m.Rows || lo > hi {
		panic(fmt.Sprintf("sparse: RowView(%d, %d) out of range for %d rows", lo, hi, m.Rows))
	}
	base := m.Indptr[lo]
	ptr := make([]int64, hi-lo+1)
	for i := range ptr {
		ptr[i] = m.Indptr[lo+i] - base
	}
	end := m.Indptr[hi]
	return &CSR{
		Rows:    hi - lo,
		Cols:    m.Cols,
		Indptr:  ptr,
		Indices: m.Indices[base:end],
		Data:    m.Data[base:end],
	}
}

// At returns the value at (i, j), zero where nothing is stored. Duplicate
// entries for one (i, j) are summed, as scipy does. It is meant for tests
// and small matrices: it scans the row.
func (m *CSR) At(i, j int) float32 {
	idx, val := m.Row(i)
	var s float32
	for k, c := range idx {
		if int(c) == j {
			s += val[k]
		}
	}
	return s
}

// Clone returns a deep copy of m.
func (m *CSR) Clone() *CSR {
	return &CSR{
		Rows:    m.Rows,
		Cols:    m.Cols,
		Indptr:  append([]int64(nil), m.Indptr...),
		Indices: append([]int32(nil), m.Indices...),
		Data:    append([]float32(nil), m.Data...),
	}
}

// ErrInvalid is wrapped by every error that Validate returns.
var ErrInvalid = errors.New("invalid CSR matrix")

// Validate checks the structure of m: Indptr has Rows+1 entries, starts at
// 0, never decreases and ends at len(Data) == len(Indices); every column
// index lies in [0, Cols). The error names the first offending row.
func (m *CSR) Validate() error {
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("%w: negative shape %d x %d", ErrInvalid, m.Rows, m.Cols)
	}
	if len(m.Indptr) != m.Rows+1 {
		return fmt.Errorf("%w: %d row pointers for %d rows (want rows+1)", ErrInvalid, len(m.Indptr), m.Rows)
	}
	if len(m.Indices) != len(m.Data) {
		return fmt.Errorf("%w: %d column indices but %d values", ErrInvalid, len(m.Indices), len(m.Data))
	}
	if m.Indptr[0] != 0 {
		return fmt.Errorf("%w: row pointers start at %d, not 0", ErrInvalid, m.Indptr[0])
	}
	for i := 0; i < m.Rows; i++ {
		if m.Indptr[i+1] < m.Indptr[i] {
			return fmt.Errorf("%w: row pointers decrease at row %d (%d then %d)", ErrInvalid, i, m.Indptr[i], m.Indptr[i+1])
		}
	}
	if end := m.Indptr[m.Rows]; end != int64(len(m.Data)) {
		return fmt.Errorf("%w: row pointers end at %d but there are %d values", ErrInvalid, end, len(m.Data))
	}
	cols := int32(m.Cols)
	if int(cols) != m.Cols {
		return fmt.Errorf("%w: %d columns do not fit int32 indices", ErrInvalid, m.Cols)
	}
	for i := 0; i < m.Rows; i++ {
		for _, c := range m.Indices[m.Indptr[i]:m.Indptr[i+1]] {
			if c < 0 || c >= cols {
				return fmt.Errorf("%w: row %d has column index %d, outside [0, %d)", ErrInvalid, i, c, m.Cols)
			}
		}
	}
	return nil
}
