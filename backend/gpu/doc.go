// Package gpu is the device-neutral half of the GPU backends: one
// implementation of backend.Backend whose operations are kernels written
// once, in a small shared dialect, and run through a Runtime that a GPU API
// provides (backend/cuda through the CUDA driver API and NVRTC,
// backend/opencl through the OpenCL ICD loader). Neither needs a GPU SDK at
// build time: both load their libraries at run time through purego.
//
// # The kernel dialect
//
// kernels/*.cl hold the kernels. Each is compiled as CUDA C++ and as
// OpenCL C 1.2, after a prelude (kernels/prelude_cuda.h or
// kernels/prelude_opencl.h) that maps the dialect onto the language:
//
//	KERNEL name(...)          a kernel: extern "C" __global__ void / __kernel void
//	DEVICE                    a helper function
//	GLOBAL, LOCAL, LOCAL_PTR  address spaces: device memory, work-group (shared) memory
//	RESTRICT                  no aliasing
//	i8 u8 i32 u32 i64 u64 f32 f64   fixed-width types
//	LID(d) GRP(d) LSIZE(d) NGRP(d)  local id, group id, group size, group count (i32)
//	GID(d)                    global id (i64)
//	BARRIER()                 work-group barrier (local and global memory)
//	atomic_add_{f64,f32,i32,i64}, local_atomic_add_{f32,i32}, atomic_cas_i32
//	F32_INF, F64_INF
//
// Work-group memory is static (LOCAL arrays at kernel scope) so that
// neither API's dynamic shared-memory convention leaks into the kernels.
// Math functions (log1p, sqrt, exp, ...) have the same names in both
// languages. Source(d) returns the prelude followed by every kernel file,
// and SourceHash keys caches of compiled code.
//
// # Determinism
//
// Reductions whose result is a float (ColStats, SpMMT, GramAccumulate)
// avoid floating-point atomics: work is tiled so that each accumulator is
// updated by one work-item in a fixed order, with per-block partials
// combined in a fixed order, so two runs on the same device give the same
// bits, as the conformance suite requires. Integer counts may use atomics.
// UMAP's optimizer is the exception by design: it is stochastic and
// Hogwild on every backend, and adds its moves with float atomics (see
// umap.go).
// SpMM on long rows (spmm_long) gives a row to a work-group of a constant
// size, whose lanes' sums a tree adds in a fixed order. Transpose places
// each entry from integer counts and the row order alone, so its result
// is canonical: the same on every device (PCA's eigensolve applies Zᵀ as
// SpMM on it, rather than SpMMT on Z, whose row walk is latency-bound).
//
// # Vendor BLAS
//
// A Runtime may also implement VendorBLAS (CUDA's does, with cuBLAS when
// libcublas loads). Then Gemm's large products and GramAccumulate's
// rank-k updates run there: densified blocks of rows at the float64
// tensor-core rate, for which PCA's covariance path (ZᵀZ accumulated over
// the chunks, then the eigensolve of the d x d covariance) beats the
// matrix-free one on a GPU. cuBLAS gives the same bits on every run with
// the same device and shapes (its default, non-atomic mode). Without the
// library (a machine with only the driver) the own kernels run instead;
// SCBENCH_GPU_BLAS=0 forces them.
//
// # Memory
//
// Every Buffer is one device allocation (OpenCL kernels cannot take an
// offset into a buffer). Alloc zeroes; outputs that a kernel writes in
// full are allocated without zeroing.
package gpu
