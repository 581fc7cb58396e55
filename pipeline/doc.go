// Package pipeline runs the preprocessing of the rapids-singlecell notebook
// "out-of-core 1.3M cells with Dask" on a backend, out of core, with scanpy
// 1.9.6's semantics:
//
//	calculate_qc_metrics(percent_top=None, log1p=True)
//	keep cells with min_genes <= n_genes_by_counts <= max_genes
//	normalize_total(target_sum); log1p
//	highly_variable_genes(flavor="cell_ranger", n_top_genes); subset
//	scale(zero_center=False)
//	pca(n_comps, zero_center=True)
//
// # Passes
//
// The raw store is streamed in row chunks (20,000 cells by default) and
// never held whole. Every operation on the data goes through a
// backend.Backend, so a GPU backend runs the same passes; the host keeps
// only per-cell and per-gene vectors and the small dense PCA math.
//
// Pass 1, over the raw store. Per chunk: Upload; RowStats (per cell:
// n_genes_by_counts, total_counts); ColStats over all cells (per gene:
// n_cells_by_counts, total_counts, from which mean_counts,
// pct_dropout_by_counts and the log1p columns follow); the filter's mask;
// ScaleRows by the normalize_total factor; Log1p; ColStats over the kept
// cells (each gene's sum, sum of squares and non-zero count: the means
// and unbiased variances that highly_variable_genes and scale need, and
// the size of the HVG matrix before pass 2 makes it). When the decoded
// store fits Options.HoldBudget (default a quarter of the available
// memory, at most 4 GiB), pass 1 keeps its chunks as it leaves them,
// normalized and log1p'd, for pass 2 (held.go): a second decode of the
// store and a second normalize_total and log1p are saved. A backend that
// fuses these operations (the CPU backend's QCNormalizeLog1p: each row
// goes through all of them while it is in cache) runs them in one sweep,
// with the same results.
//
// HVG, on the host, from those means and variances (HighlyVariableCellRanger).
//
// Pass 2, over the held chunks or the raw store again: SelectCols (the
// highly variable genes, first, so that the next copy is small),
// SelectRows (the kept cells; a chunk whose cells are all kept skips it),
// ScaleRows and Log1p (on a re-read chunk only). At atlas scale re-reading
// and re-doing the cheap per-value work costs less than keeping every gene
// of every cell between the passes. The result, X (n cells x p genes), is
// appended to the output's X. Then, for PCA, ScaleCols by 1/std makes the
// scaled chunk Z = X D of scale(zero_center=False) (D = diag(1/std), std
// from pass 1's variances, ddof=1, 0 replaced by 1; the values are rounded
// to float32 as scanpy's are), ColStats adds Z's column sums and sums of
// squares, GramAccumulate adds Z^T Z to a p x p float64 matrix (on the
// covariance path only, below), and Z goes to a cache (in memory up to
// Options.CacheBudget, else a temporary file of CSR chunks, with 16-bit
// column indices when Z has at most 65,536 columns, written from the
// first chunk when pass 1's counts show it will not fit, with direct I/O
// where the file system allows: package internal/directio). Z is never
// written to the store. The CPU backend makes Z from the raw chunk in one
// sweep (SelectNormalize) when nothing writes X.
//
// PCA (see pca.go and pcapath.go) finds the top n_comps eigenpairs of the
// covariance of the centred Z, C = Z^T Z/(n-1) - n/(n-1) mu mu^T, by block
// Lanczos, on one of two paths chosen before pass 2 from pass 1's counts:
//
//   - covariance: one Gemm turns the Gram matrix into C on the device,
//     and EigSymTop (EigSymTopTol where the backend has it) multiplies it,
//     d² multiply-adds per vector;
//   - matrix-free: C is never formed; linalg.EigSymTopOp applies it as
//     (Z^T (Z V) - n mu (mu^T V))/(n-1) with SpMM and SpMMT over the
//     cached Z on the device, 2 nnz(Z) multiply-adds per vector, and
//     pass 2 skips the Gram matrix.
//
// The rule: matrix-free when the cache holds Z in memory and 1.5 · 2nnz ·
// 7k < d² · 7k + 5 · nnz²/(2n) (k = n_comps, 7k the products of a solve;
// a sparse multiply-add costs 1.5 dense ones, a Gram one 5; the Gram
// matrix's cost is at least nnz²/(2n)). synth5k (nnz 1.2e6) goes
// matrix-free; 100,000 cells (nnz 3.8e7) and brain10k (300 genes) form the
// covariance. On a GPU that holds Z in its memory the rule is different:
// the covariance path when the backend's GramAccumulate runs on a vendor
// BLAS (cuBLAS's dsyrk over densified blocks, at the float64 peak), the
// matrix-free one otherwise. Both converge to a residual of 1e-3 of each eigenvalue
// (pcaTol), which bounds the variances' relative error by 1e-3 (measured:
// 1e-6 to 1e-5). The eigenvalues are the variances (scanpy's
// s^2/(n-1)), variance_ratio = variance / trace(C) (the total variance of
// all scaled genes, as scanpy divides by the sum of the per-gene
// variances, not only the leading ones).
//
// Pass 3, over the cache: X_pca = Z V - 1 (mu^T V) with SpMM, V rounded
// to float32 (reading V's rows bounds the product; see scoreLoadings);
// the centred matrix, dense, is never formed. Component signs follow scanpy's arpack
// path, sklearn's svd_flip(u, v) deciding on u: each component's score of
// largest magnitude (the first such cell) is made positive, and its
// loadings follow. EigSymTop signs the loadings by their largest
// component; that is overridden here.
//
// Cost. Passes 1 and 2 are linear in the non-zeros; the Gram matrix costs
// about the sum over cells of (HVG non-zeros per cell)^2 and the
// covariance eigenproblem is independent of the number of cells. That
// suits atlases: at 1.3M cells a product with the dense p x p covariance
// is tens of times cheaper than one with the sparse centred matrix that
// scanpy's ARPACK uses. For a few thousand cells the balance tips the
// other way, hence the matrix-free path; there the eigenproblem (flat
// spectrum, 100 components of 5,000 genes: about 700 products) still
// dominates, half in the sparse products and half in Lanczos's own
// orthogonalization. Measurements: bench/results.
//
// # Output
//
// The output store holds the kept cells in input order and the highly
// variable genes in input order (the notebook subsets with
// adata[:, adata.var.highly_variable]). X is the normalized, log1p'd,
// HVG-subset matrix, sparse: the scaled matrix is X / var["std"], and
// writing it densely (as scanpy's scale leaves adata.X) would cost n x p
// floats for no information. obs carries the input's columns and
// n_genes_by_counts, total_counts and their log1p; var the input's columns,
// the QC columns (over all input cells), highly_variable, means,
// dispersions, dispersions_norm and scale's mean and std; obsm["X_pca"]
// (float32), varm["PCs"] (genes x n_comps); uns["pca"] (variance,
// variance_ratio, params), uns["hvg"] {flavor: cell_ranger}, uns["log1p"]
// (no base: natural log) and uns["scbench"] (the parameters and device).
// With Options.Until set, the run stops after that step and writes what
// exists: raw counts of every cell after qc, of the kept cells after
// filter, the normalized matrix of every gene after normalize.
//
// # Differences from scanpy
//
//   - When mean percentiles that bound cell_ranger's bins coincide (many
//     genes with no counts), scanpy raises; scbench drops the duplicate
//     edges as pandas.cut(duplicates="drop") does.
//   - Gene variances come from sums and sums of squares in float64 rather
//     than scanpy's two-pass loop; they agree to about 1e-12 relative.
//   - PCA is an eigendecomposition of the covariance rather than ARPACK on
//     the centred matrix: the same subspace, to solver precision.
//   - Numbers of non-zero values count values that are not zero, as scanpy
//     does after eliminate_zeros.
//
// # Several devices
//
// RunDevices spreads passes 1 to 3 over several backends (several GPUs,
// or CPU backends and PoCL contexts in the tests): chunks are handed to
// whichever device is free, small per-chunk results are combined on the
// host in chunk order, and each device's Gram matrix once, in device order;
// the eigensolve and the graph steps run on the first device. multidev.go
// has the design.
//
// Run returns everything it computed (Result) along with a Report of times
// per pass, sizes, bytes read and peak memory.
package pipeline
