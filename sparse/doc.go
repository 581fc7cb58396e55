// Package sparse holds the compressed sparse row (CSR) matrix that every
// other scbench package passes around.
//
// A CSR matrix stores, for Rows rows and Cols columns, the non-zero values of
// row i in Data[Indptr[i]:Indptr[i+1]] and their column indices in the same
// range of Indices. Values are float32 (what count matrices and scanpy's
// pipelines use), column indices int32 (no dataset has 2^31 genes) and row
// pointers int64: the 1.3M-cell mouse brain matrix has 2.6e9 non-zeros, more
// than an int32 offset can address.
//
// The matrix is a plain value, like gonum's blas64.General: its fields are
// exported so that backends (CPU, CUDA, OpenCL) can read and upload them
// without going through methods. Row-chunk views (RowView) share Data and
// Indices with their parent and own only a rebased copy of the row pointers,
// so a chunk always satisfies Indptr[0] == 0.
package sparse
