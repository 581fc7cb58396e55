// Package cpu implements backend.Backend on the host's cores, in pure Go.
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
// Gemm and EigSymTop run on package linalg (its process-wide BLAS engine
// and its block Lanczos eigensolver), with a fixed seed.
package cpu
