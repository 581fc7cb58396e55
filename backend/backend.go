package backend

import (
	"errors"
	"fmt"

	"github.com/scbench/scbench/sparse"
)

// Kind is the element type of a Buffer.
type Kind int

const (
	Float32 Kind = iota + 1
	Float64
	Int32
	Int64
	Uint8 // masks: 0 or 1
)

func (k Kind) String() string {
	switch k {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Size returns the bytes per element.
func (k Kind) Size() int {
	switch k {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Uint8:
		return 1
	}
	return 0
}

// Buffer is a flat array in a backend's memory. Buffers belong to the
// backend that made them and must not be passed to another one.
type Buffer interface {
	Kind() Kind
	Len() int
	// Free releases the memory. Using the buffer afterwards is an error:
	// operations given a freed buffer return an error and do not touch
	// its memory. Freeing it again does nothing.
	Free()
}

// CSR is a sparse matrix whose arrays live in a backend's memory
// (Indptr Int64, Indices Int32, Data Float32), laid out as sparse.CSR.
// Column indices within a row need not be sorted but must be distinct.
type CSR struct {
	Rows, Cols int
	NNZ        int64
	Indptr     Buffer
	Indices    Buffer
	Data       Buffer
}

// Free releases the matrix's three buffers.
func (m CSR) Free() {
	for _, b := range []Buffer{m.Indptr, m.Indices, m.Data} {
		if b != nil {
			b.Free()
		}
	}
}

// Dense is a row-major matrix in a backend's memory: element (i, j) is
// Data[i*Cols+j]. Data is Float64 or Float32.
type Dense struct {
	Rows, Cols int
	Data       Buffer
}

// RowStats are per-row reductions of a CSR chunk.
type RowStats struct {
	Sum Buffer // Float64, one per row: sum of values
	NNZ Buffer // Int32, one per row: number of stored values that are not zero
}

// ColStats are per-column accumulators, added to by Backend.ColStats.
type ColStats struct {
	Sum   Buffer // Float64, one per column: sum of values
	SumSq Buffer // Float64, one per column: sum of squared values (may be nil)
	NNZ   Buffer // Int64, one per column: number of non-zero values (may be nil)
}

// Device describes the device a backend runs on.
type Device struct {
	Backend string // "cpu", "cuda", "opencl"
	Name    string // e.g. "NVIDIA H100 80GB HBM3" or "2 CPU cores"
	Memory  int64  // bytes of device memory, 0 when it is host memory
	Driver  string // driver or runtime version, "" when none
	Threads int    // CPU backend: worker goroutines
}

// Backend runs the workflow's operations on one device. Implementations are
// safe for use by one goroutine at a time (the chunk executor gives each
// device its own driving goroutine).
//
// Shapes are checked: a mismatch returns an error wrapping ErrShape.
type Backend interface {
	Device() Device

	// Alloc returns a zeroed buffer of n elements.
	Alloc(k Kind, n int) (Buffer, error)
	// Write copies the host slice src ([]float32, []float64, []int32,
	// []int64 or []uint8 matching dst's kind, no longer than dst) into
	// dst, from element 0.
	Write(dst Buffer, src any) error
	// Read copies dst's first len(host) elements into the host slice dst.
	Read(host any, src Buffer) error
	// Upload copies a host CSR matrix to the device. The CPU backend may
	// share m's memory instead: callers must not change m while the device
	// matrix is in use.
	Upload(m *sparse.CSR) (CSR, error)
	// Download copies a device CSR matrix to the host. The CPU backend may
	// return a matrix that shares the device matrix's memory instead.
	Download(m CSR) (*sparse.CSR, error)

	// RowStats writes each row's sum and count of non-zero values.
	RowStats(m CSR, out RowStats) error
	// ColStats adds, over the rows i with mask[i] != 0 (all rows when mask
	// is nil; mask is Uint8 of length m.Rows), each column's sum, sum of
	// squares and non-zero count into acc.
	ColStats(m CSR, mask Buffer, acc ColStats) error

	// ScaleRows multiplies the values of row i by f[i] (Float64, one per row).
	ScaleRows(m CSR, f Buffer) error
	// Log1p replaces each value x by log(1+x).
	Log1p(m CSR) error
	// ScaleCols multiplies the values of column j by f[j] (Float64, one per column).
	ScaleCols(m CSR, f Buffer) error

	// SelectRows returns the rows i with keep[i] != 0 (Uint8, one per row),
	// in order, as a new matrix.
	SelectRows(m CSR, keep Buffer) (CSR, error)
	// SelectCols returns the matrix restricted to the columns j with
	// newIndex[j] >= 0 (Int32, one per column), renumbered to newIndex[j],
	// with newCols columns. The kept columns must map to distinct indices
	// in [0, newCols). Entries keep their order within a row, so sorted
	// rows stay sorted when newIndex increases over the kept columns.
	SelectCols(m CSR, newIndex Buffer, newCols int) (CSR, error)

	// GramAccumulate adds m^T m into c (Float64, m.Cols x m.Cols). Only the
	// upper triangle (j >= i) is guaranteed to be updated; what the lower
	// triangle holds afterwards is unspecified.
	GramAccumulate(m CSR, c Dense) error
	// SpMM computes out = m * b, with b (m.Cols x k) and out (m.Rows x k)
	// of the same float kind. out is overwritten, not added to.
	SpMM(m CSR, b Dense, out Dense) error
	// SpMMT computes out = mᵀ * b, with b (m.Rows x k) and out (m.Cols x
	// k) of the same float kind, accumulated in at least float32 (the CPU
	// backend: float64). out is overwritten, not added to. With SpMM it
	// applies ZᵀZ to a block of vectors without forming ZᵀZ (PCA's
	// matrix-free path). Sums over rows may be split between threads: the
	// bits may depend on the device's thread count, as ColStats's do.
	SpMMT(m CSR, b Dense, out Dense) error
	// Gemm computes c = alpha*op(a)*op(b) + beta*c on float64 matrices, where
	// op(x) is x or its transpose. When beta is 0, c is not read (NaNs in
	// it do not propagate), as in BLAS.
	Gemm(transA, transB bool, alpha float64, a, b Dense, beta float64, c Dense) error
	// EigSymTop returns the k largest eigenvalues of the symmetric matrix a
	// (Float64, n x n; only its upper triangle is read, and a is left
	// unchanged), in descending order, and the matching eigenvectors as
	// the columns of a new n x k Float64 matrix, each signed so that its
	// largest-magnitude component (the first of equal ones) is positive.
	EigSymTop(a Dense, k int) ([]float64, Dense, error)

	// Close releases the device.
	Close() error
}

// Transposer is an optional interface: a backend that has it transposes a
// CSR matrix on its device. PCA's matrix-free eigensolve uses it to
// transpose the scaled HVG matrix Z once and apply Zᵀ as SpMM(Zᵀ, ·), a
// row-parallel product, instead of SpMMT(Z, ·) at every step: on a GPU,
// where SpMMT's walk over Z's rows is bound by latency, that is many times
// faster. (On the CPU backend SpMMT is about as fast as SpMM on the
// transpose, and the transpose costs a copy of Z.) Backends without it
// leave the eigensolve on SpMMT.
type Transposer interface {
	// Transpose returns mᵀ as a new matrix (m.Cols x m.Rows) with arrays
	// of its own; m is left unchanged. Row j of the result holds the
	// entries of column j of m in increasing row order of m (whatever the
	// order of the entries within m's rows), so the result is canonical:
	// the same arrays on every backend and every run, with sorted rows. A
	// column index of m outside [0, m.Cols) is an ErrShape error.
	Transpose(m CSR) (CSR, error)
}

// GramOrderer is an optional interface: a backend that has it accumulates
// the Gram matrix with its rows and columns renumbered, and puts them back
// at the end. The CPU backend's scatter of the products runs faster when
// the columns come in increasing order of density (see backend/cpu's
// GramAccumulateOrdered), so PCA's covariance path hands it that order.
type GramOrderer interface {
	// GramAccumulateOrdered is GramAccumulate with column j of m numbered
	// rank[j]: it adds sum_i m[i,j] m[i,k] into c[rank[j], rank[k]] for
	// rank[j] <= rank[k] (c's upper triangle in the new numbering). rank
	// must be a permutation of 0..m.Cols-1 (else an ErrShape error); nil
	// is the identity.
	GramAccumulateOrdered(m CSR, c Dense, rank []int32) error
	// GramUnorder turns c, accumulated by GramAccumulateOrdered with rank,
	// into the matrix GramAccumulate would have made: c[j, k] for j <= k
	// (both triangles, in fact) in m's numbering.
	GramUnorder(c Dense, rank []int32) error
}

// ErrShape is wrapped by errors about operands whose shapes or kinds disagree.
var ErrShape = errors.New("backend: operand shapes disagree")

// Check returns an ErrShape error when b is not of kind k with n elements.
func Check(name string, b Buffer, k Kind, n int) error {
	if b == nil {
		return fmt.Errorf("%w: %s is nil", ErrShape, name)
	}
	if b.Kind() != k || b.Len() != n {
		return fmt.Errorf("%w: %s is %d x %s, want %d x %s", ErrShape, name, b.Len(), b.Kind(), n, k)
	}
	return nil
}
