// Package linalg is the dense linear algebra of scbench's PCA: level-3
// BLAS products (Dgemm, Dsyrk) and EigSymTop, the k largest eigenpairs of
// a symmetric positive semi-definite matrix (the d x d gene covariance of
// scanpy's zero-centred "covariance" PCA path; d = 5,000, k = 100 by
// default).
//
// The package imports only the standard library, gonum and purego, and
// builds with CGO_ENABLED=0.
//
// # Matrices
//
// Matrices are gonum's plain row-major values: blas64.General {Rows,
// Cols, Stride, Data} with element (i, j) at Data[i*Stride+j], and
// blas64.Symmetric, of which only the Uplo triangle is read or written.
// A column block of a matrix is a General with the same Stride and Data
// starting at the block's first column; the engines multiply such views
// in place.
//
// # Engines
//
// BLAS is a small interface (Dgemm, Dsyrk, String) with two
// implementations, both safe for concurrent use; pass one as a value,
// there is no package-level switch:
//
//   - Go (NewGo) is pure Go: the blocked algorithm of Goto & van de Geijn
//     (2008) in the BLIS loop order, with a 6x8 register-tile micro-kernel
//     written in AVX2+FMA assembly on amd64 (chosen at run time by CPUID;
//     the build tag noasm removes it) and in portable Go elsewhere. A
//     row-major op(A) is not packed: the kernel reads its rows in place
//     (it takes a row and a column stride), which saves a pass over the
//     large operand of the eigensolver's tall-skinny products. A
//     transposed op(A) with short rows is read in place too, in blocks
//     that are contiguous runs of memory; longer ones are packed. Skinny
//     products (n <= 64) use a deep k block so the big operand streams in
//     long runs. Each call splits the rows (or, when there are few, the
//     columns) of C over its goroutines; every element of C is summed by
//     one goroutine in a fixed order, so results do not depend on the
//     thread count.
//   - CBLAS (Load) is a CBLAS shared library called through purego's
//     Dlopen, without cgo: OpenBLAS (libopenblas.so.0, libopenblas.so;
//     Debian/Ubuntu package libopenblas0-pthread), or libblas.so.3 when it
//     is an optimized library (it must export openblas_get_config,
//     bli_info_get_version_str or MKL_Get_Version_String: Debian's
//     reference BLAS, libblas3, runs a few GFLOP/s and is refused by the
//     search, though an explicit path loads it). The LP64 interface is
//     used (32-bit sizes). openblas_set_num_threads is called once at
//     load; it is the library's process-wide setting.
//
// Default picks once per process: the environment variable SCBENCH_BLAS
// names a library path, or "none" for the Go engine; unset, the search
// above runs and falls back to Go. The build tag nodlopen drops purego,
// and with it the dynamic loader, from the binary (a static executable),
// leaving the Go engine only.
//
// Two properties of OpenBLAS matter here. Its worker threads spin
// (sched_yield) for a while after each call, so Go code running between
// OpenBLAS calls, including the Go engine, competes with them for the
// cores (set OPENBLAS_THREAD_TIMEOUT low, or use one engine per
// process). And DYNAMIC_ARCH builds pick kernels from the CPU model: on
// a VM that hides it, 0.3.21 chose its SSE3 "Prescott" kernels and ran a
// fifth as fast (OPENBLAS_CORETYPE=Haswell or SkylakeX forces the right
// ones).
//
// # EigSymTop
//
// EigSymTop runs thick-restart block Lanczos with full
// reorthogonalization (Wu & Simon 2000; Stewart 2001 for why the kept
// basis stays a Krylov basis). EigSymTopOp is the same solver for a matrix
// given only by its product with a block of vectors (PCA's covariance
// applied through the sparse data, (ZᵀZ - n mu muᵀ)/(n-1) V, when that is
// cheaper than forming it); EigSymTop is EigSymTopOp with a Dgemm by A.
// The basis is stored as Vᵀ (m x d, a basis vector per row), which both
// kinds of product with it read in place (see eigsym_block.go). The
// projected matrix T = Vᵀ A V is built from the products with A of the
// blocks as they join the basis:
//
//  1. Start from a Gaussian block (seeded PCG: deterministic).
//  2. Expand: multiply the newest block P by A (the only use of A) and
//     take T's new block column from the blocks that AP reaches: the
//     previous block and P, and right after a restart every kept Ritz
//     vector (the arrow of a thick restart); elsewhere the coefficients
//     are rounding errors. Form the next block from AP minus those
//     components, then project it against the whole basis (classical
//     Gram-Schmidt, the local projection being the first of two passes;
//     once is not enough, as its error compounds from block to block),
//     again while a pass cancels more than half a column (DGKS), and
//     orthonormalize with SVQB (Stathopoulos & Wu 2002) run twice;
//     directions that come out numerically dependent (rank-deficient A,
//     invariant subspaces) are replaced by random ones. Keep
//     R = Pᵀ(AP_last) for the new block P.
//  3. When the basis reaches m columns: Rayleigh-Ritz on the m x m T and
//     the residuals of the Ritz pairs (θ, Vy). With full
//     reorthogonalization the only part of A V outside the basis is the
//     newest block's, P R, so ||A V y − θ V y|| = ||R y_last|| (y_last:
//     y's entries on the last block): AV need not be stored, and a
//     restart costs one product V Y, not two. Stop when all k residuals
//     are <= Tol·max|θ| (default Tol 1e-10), or with Relative <=
//     Tol·|θ_j| each (PCA: its variances span decades).
//  4. Otherwise restart: keep the top k Ritz vectors and one block more
//     as the new basis (T becomes diagonal) and go to 2.
//     The pending block P stays valid: it is orthogonal to the old basis
//     and so to the kept part of it.
//
// Rayleigh-Ritz uses gonum's tridiagonal reduction (Dsytrd, Dorgtr) and
// its own implicit QL with Wilkinson shifts (EISPACK's tql2), applying
// the rotations to rows of Qᵀ, which are contiguous, with an AVX2 kernel:
// gonum's Dsteqr rotates columns of a row-major matrix and spent 70% of
// Dsyev's time there. At m = 204, 7 ms instead of 15.
//
// Defaults: block 8 while A fits a 32 MiB cache (d <= 2048), else 16
// (EigSymTopOp: 8, its products being the caller's);
// m = k + max(1.5k, 4·block). Smaller blocks need fewer products in all
// (d = 5000, k = 100: 410 with 8, 528 with 16, 800 with 32) but make the
// product memory-bound once A (200 MB at d = 5,000) streams from DRAM at
// every step; 8 and 16 cost the same CPU time here, and 16 suffers less
// when other processes share the memory bandwidth. When 2m
// exceeds d (k close to d, or tiny d) the dense dsyev is as cheap and is
// used instead. Eigenvalues come in descending order; each eigenvector
// is flipped so its largest-magnitude component is positive (sklearn's
// svd_flip on the loadings).
//
// EigOptions.Float32 (single.go) runs the products with A on a copy of A
// rounded to float32: half the bytes to stream and twice the SIMD lanes
// (kernels of 8 rows x 16 columns with AVX-512, 6 x 16 with AVX2; without
// them the option is ignored, the portable kernel being slower than the
// float64 engine). On the 2-core Xeon VM at d = 5,000 a block product
// takes 4.0 ms (200 GFLOP/s; BenchmarkSingleApply) against about 13 for
// the float64 one; it scales with cores, so it is not bound by A's
// bytes but by the kernel: one core runs at about half its FMA peak, where
// every FMA takes its element of A by an embedded-broadcast load. The k
// Ritz vectors it finds
// are then refined by one Rayleigh-Ritz step with A itself in float64 (k
// more products), whose residuals are checked against Tol; where they
// miss it (a Tol finer than float32 products reach, about 1e-6 of the
// largest eigenvalue) or A is not finite in float32, the solve runs again
// in float64. On the 100,000-cell covariance with PCA's setting the solve
// took 0.80-0.83 s instead of 1.43-1.45 (1,120 products plus 100 for the
// refinement); what is left is mostly the basis's orthogonalization and
// the Rayleigh-Ritz steps, in float64.
//
// With no engine given, EigSymTop uses the Go engine when it has its
// assembly kernel: on the tall-skinny products this solver makes (5000 x
// 5000 times 5000 x 16) it ran at 64 GFLOP/s against OpenBLAS 0.3.21's
// 29, and the whole solve 1.6-3.3x faster (numbers below).
//
// # Cost and the floor
//
// Measured on the development machine: 2 cores of an AMD EPYC (Zen 4,
// 2.6 GHz nominal, AVX-512 but 256-bit FMA pipes, 16 double flops per
// cycle per core: ~83 GFLOP/s nominal peak for 2 cores), ~17 GB/s
// memory read bandwidth. The machine was shared with other builds, so
// times varied by 2x between runs; the figures are the quietest runs.
//
// Dgemm, 5000x5000 times 5000x128 (2 cores): Go engine with the AVX2
// kernel 79 GFLOP/s; OpenBLAS 0.3.21 (Cooperlake kernels) 77; gonum's
// pure-Go blas 14; the Go engine with the portable kernel 10. Dsyrk
// (2000 columns, 1000 rows): OpenBLAS 93, Go 71, gonum 7.
//
// EigSymTop on the covariance of synthetic low-rank-plus-noise data
// (power-law spectrum; BenchmarkEigSymTop), Go engine: d = 2000, k = 50
// in 0.12 s (296 products with A); d = 5000, k = 100 in 0.7-1.2 s (528
// products with A, 6 Rayleigh-Ritz steps on 212 x 212). With OpenBLAS
// as the engine: 0.39 s and 1.9 s. (Measured before the solver kept
// k + one block at a restart and took the block column of T locally.)
//
// On the covariances of the shared data's scaled HVG matrices (k = 100,
// d = 5,000, idle machine, 2026-11-25), with PCA's setting (Relative, Tol
// 1e-3): synth5k (flat spectrum, 13.3 down to 3.8) 680 products with
// block 8, 4 restarts, 3.8 GFLOP of basis products; 100,000 cells (51
// down to 1.4) 1120 products with block 16 (968 with 8), 7 restarts, 8.0
// GFLOP besides the 56 GFLOP with A, 1.3 s. Largest relative eigenvalue
// errors 6.5e-6 and 2.7e-5. The absolute Tol 1e-7 takes 1408 and 2128
// products, Tol 1e-10 1984 and 3136. Through EigSymTopOp with the sparse
// products of package backend/cpu (matrix-free, synth5k) the solve takes
// 0.39-0.44 s: 0.25 CPU-s in the sparse products, 0.16 in the basis
// products (the 6x8 kernel driven directly, see eigsym_block.go), 0.03
// in Rayleigh-Ritz.
//
// For steadier numbers the same benchmarks ran on 2 pinned cores of an
// otherwise idle Intel Xeon (AVX-512; its 300 MB L3 holds A, so nothing
// is memory-bound there; OpenBLAS with OPENBLAS_CORETYPE=SkylakeX):
// Dgemm Go 39-49 GFLOP/s, OpenBLAS 67-69, gonum 7-8; Dsyrk Go 31,
// OpenBLAS 92; 5000x5000 times 5000x16 Go 50, OpenBLAS 25; EigSymTop
// d = 2000, k = 50: Go 0.15 s, OpenBLAS 0.28 s; d = 5000, k = 100: Go
// 1.23 s, OpenBLAS 1.8 s. An AVX-512 kernel would help the Go engine on
// such CPUs (not on Zen 4, whose FMA pipes are 256 bits wide).
//
// Flops at d = 5000, k = 100: the products with A are 528 · 2d² = 26.4
// GFLOP; the other products (projections, Ritz vectors) 7.4 GFLOP; the
// six 212 x 212 dense eigensolves ~0.4 GFLOP in scalar gonum code.
// Total ~34 GFLOP: at the machine's 79 GFLOP/s the floor is 0.43 s;
// the best run took 0.77 s wall (1.2 s of CPU on 2 cores, i.e. 0.6 s of
// each), 1.4-1.8x from it. The gap: the d x 16 products with A run at ~64 GFLOP/s, not 79,
// because A is re-read from memory at every step (200 MB at 17 GB/s is
// 12 ms against 10 ms of arithmetic); the projections are smaller
// products; Rayleigh-Ritz and copies are single-threaded. Below that
// floor lies the algorithm's: block size 8 needs the fewest products
// (~410, 20 GFLOP, 0.26 s at peak) but runs memory-bound here. A solver
// that read A once per two blocks (its symmetry halves the bytes) would
// close most of the remaining distance.
package linalg
