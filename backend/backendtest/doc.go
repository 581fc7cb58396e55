// Package backendtest is the conformance suite of backend.Backend: every
// implementation (cpu now, cuda and opencl later) runs it from its own
// tests,
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend { return cpu.New(0) })
//	}
//
// and passes when it does what the interface documents. The suite uses
// nothing but the interface, so a GPU backend runs it unchanged.
//
// Every operation is checked against a float64 reference written as the
// plainest loop over a host sparse.CSR (reference.go), on random inputs of
// awkward shapes: no rows, one row, one column, empty and full rows,
// unsorted rows, explicit zeros, non-round sizes (1, 7, 97, 1031 rows; 1,
// 13, 301, 613 columns), count-like and signed real values, masks keeping
// all, none or some rows, column selections empty, whole, partial and
// permuted. Accumulating operations run over a sequence of chunks (one of
// them empty, one much larger than the rest) into accumulators that start
// non-zero. Inputs are seeded from the subtest's name, so a failure
// repeats.
//
// Tolerances. Element-wise float32 results: relative 1e-6 of the float64
// reference (a few float32 roundings). Float64 accumulations (row and
// column sums, the Gram matrix, float64 SpMM and SpMMT, Gemm): 1e-9 times
// the sum of the absolute values of the terms, which bounds the effect of
// any order of addition and stays meaningful under cancellation; float32
// SpMM and SpMMT get (terms+2) float32 roundings of that sum, which allows
// float32 accumulation. Counts, selections and round trips are compared exactly.
// EigSymTop: eigenvalues within 1e-8 of the largest |eigenvalue| of
// gonum's mat.EigenSym on matrices Q diag(λ) Qᵀ with well-separated
// leading λ (one case indefinite, where the largest in magnitude is
// negative and must not be returned), eigenvectors at |cos| >= 1-1e-6 with
// the reference, of unit norm, with small residuals, and the sign
// convention exactly; the lower triangle holds NaN to check that only the
// upper one is read.
//
// Memory: Alloc zeroes (also memory just freed), Write and Read round-trip
// every Kind with prefixes and refuse wrong types and lengths, Free does not
// disturb live buffers and a freed buffer is refused, Upload and Download
// round-trip and malformed matrices are refused. Shapes: every operation
// refuses operands of the wrong length or kind with backend.ErrShape.
// Deterministic: the accumulating operations give the same bits twice.
//
// Transpose (backend.Transposer, skipped where a backend lacks it): the
// result equals the host transpose exactly, each row in increasing row
// order of the matrix whatever the order of its rows, on the shapes above
// and on rows of thousands of values over more columns than a GPU tile,
// and on thousands of rows of a few columns; the matrix is left as it
// was, the transpose of the transpose is the matrix with sorted rows, two
// runs give the same arrays, and a column index outside the matrix is an
// ErrShape error. GramAccumulateOrdered (backend.GramOrderer, skipped
// where a backend lacks it): C in the new numbering against the reference
// of the renumbered matrix, for random, reversed, identity and nil
// orders, with rows that repeat a column, and ranks that are not
// permutations refused. SpMMLongRows: SpMM on rows of 10,000 and more values
// (k = 1, 8, 13), and SpMM on a transpose against the SpMMT reference.
package backendtest
