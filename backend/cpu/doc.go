// Package cpu implements backend.Backend on the host's cores, in Go, with
// assembly kernels for the sparse products on amd64.
//
// Memory. A Buffer wraps a Go slice (Wrap makes one from a slice, Slice
// returns the slice behind one, without copies). Upload shares the host
// matrix's slices and Download returns a sparse.CSR sharing the device
// matrix's, so a chunk read from disk reaches the operations at no cost;
// the in-place transforms (ScaleRows, Log1p, ScaleCols) change the host
// matrix too. Free only drops the slice.
//
// Parallelism. New(threads) fixes the number of worker goroutines. Each
// operation over a CSR chunk splits its rows into ranges of equal work
// (stored values plus a small cost per row, not equal row counts) and
// runs one goroutine per range; small inputs use fewer. Reductions over
// rows (ColStats) give each worker its own column accumulators and add
// them in worker order; everything else writes disjoint outputs, each
// element summed in a fixed order. Results therefore depend only on the
// operands and the thread count, and every operation but ColStats (and
// Gemm, whose BLAS has threads of its own) gives the same bits for any
// thread count.
//
// Precision. Values are float32, as in sparse.CSR; sums, products and
// accumulators are float64, rounded to float32 only where the result is a
// float32 matrix. Log1p computes float32(log1p(x)) from a table and a short
// series (see log1p32); it matches float32(math.Log1p(float64(x))) on all
// but 9 of the 2^32 float32 values, where it is one ulp away.
//
// GramAccumulate (C += AᵀA on the highly variable genes) is PCA's hot spot,
// sum over rows of nnz²/2 multiply-adds into a C that does not fit in cache.
// It copies a batch of rows into a column-blocked layout (blocks of 256
// columns, 8-bit local indices) and hands tiles of C (up to 256 x 256,
// which an L2 cache holds) to the workers; each worker adds the whole
// batch's products into its tile, eight rows of C at a time, so no worker
// needs a private copy of C and each element of C receives its products in
// row order. See gram.go.
//
// SpMM and SpMMT (out = mᵀ b: the pair applies ZᵀZ to a block of vectors
// for PCA's matrix-free eigensolve) run, on float64 operands, on AVX2+FMA
// row kernels in assembly (kernel_amd64.s; the build tag noasm, or a CPU
// without them, leaves the Go loops): a row's values times panels of 16,
// 8 and 4 columns of B. SpMM on float32 operands (PCA's scores) has its
// own kernels, summing in float32: panels of 64, 32 and 16 columns with
// AVX-512, 32, 8 and 4 with AVX2. SpMM keeps the output row in registers and takes
// several values at a time into separate sums, as one chain of FMAs per
// column group would wait on the FMA latency; SpMMT keeps the row of B in
// registers and adds into rows of out. On synth5k's scaled HVG matrix
// (1.16e6 values) with 8 columns they run 4x and 5x faster than the Go
// loops (0.6 and 0.8 ms on 2 cores). SpMMT splits the rows between
// workers, each adding into its own float64 partial sum, added in worker
// order. The kernels check every column index (an index outside the
// matrix is an error, not a write out of bounds).
//
// Fused kernels (fused.go), outside backend.Backend, do the per-chunk work
// of package pipeline's passes 1 and 2 in one sweep over a chunk rather
// than one per operation, with the same bits: QCNormalizeLog1p (RowStats,
// ColStats, ScaleRows, Log1p and ColStats of the kept rows) and
// SelectNormalize (SelectCols, SelectRows, ScaleRows, Log1p, ScaleCols).
// Log1p of a normalized count is taken once per row and count, from a
// small memo, rather than once per value.
//
// Transpose (backend.Transposer) counts each worker's entries per column,
// scans the counts column by column over the workers, and has each worker
// place its rows' entries in row order: the result is canonical, the
// same for every thread count.
//
// Gemm and EigSymTop run on package linalg (its process-wide BLAS engine
// and its block Lanczos eigensolver), with a fixed seed. EigSymTopTol, not
// part of backend.Backend, is EigSymTop converged to a residual relative
// to each eigenvalue, which PCA asks for (package pipeline); for PCA's
// tolerance it runs the Lanczos products in float32, refined in float64
// (linalg.EigOptions.Float32).
package cpu
