// Package cuda is the CUDA implementation of gpu.Runtime: device memory,
// copies, run-time compilation and launches on one NVIDIA GPU, through the
// CUDA driver API. New(device) returns the GPU backend on it (gpu.New over
// NewRuntime); Probe reports the libraries and devices for `scbench
// devices`.
//
// # Libraries
//
// Nothing CUDA is needed to build: the package binds libcuda.so.1 (the
// driver), libnvrtc (the run-time compiler, optional) and libcublas
// (optional) at run time through purego, without cgo or CUDA headers.
// SCBENCH_CUDA_LIB, SCBENCH_NVRTC_LIB and SCBENCH_CUBLAS_LIB name the
// files to load; otherwise the loader's search path is tried with the
// sonames of CUDA 13 and 12, then $CUDA_HOME/lib64 and the toolkit's usual
// folders. Each library is loaded once per process. Every failing call
// returns an *Error naming the call and the code, like
// "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (1)". Builds for other systems,
// or with the nodlopen tag, have no CUDA: NewRuntime fails and Probe says
// why.
//
// # Contexts and threads
//
// A Runtime uses the device's primary context (the one the CUDA runtime
// and cuBLAS use too) and two non-blocking streams: the compute stream,
// on which everything but some uploads is issued, so operations run in
// order, and a copy stream (see Copies). A CUDA context is current per OS
// thread, and the Go scheduler moves a goroutine between threads at any
// time; so every method that calls the driver locks its goroutine to its
// thread and makes the context current (cuCtxSetCurrent, which is cheap)
// for the length of the method.
//
// # Copies
//
// Host copies go through two pinned staging buffers of 64 MiB, allocated
// on the first copy and used in turn, each with an event recorded after
// the stream's use of it. ToDevice copies a chunk of the Go slice into one
// buffer while the DMA of the previous chunk, from the other buffer, runs;
// it returns once the whole slice is in pinned memory, before the last
// DMAs end. ToHost issues the DMA of chunk k+1 before copying chunk k out,
// and returns when the last chunk is out. The host's copies of large
// chunks are split over up to 8 goroutines, since one core's memmove is
// slower than the DMA. The driver never sees Go memory in a copy, so no Go
// memory needs pinning there.
//
// An upload into an allocation that no work on the compute stream has
// touched yet (the fresh buffers of a chunk, which is what the pipeline
// uploads) is issued on the copy stream, so that its DMA runs while the
// previous chunk's kernels still run; an event recorded after it makes
// the compute stream wait before anything issued later, which keeps the
// in-order contract of gpu.Runtime. Other uploads (into a buffer that
// kernels may still read) stay on the compute stream. SCBENCH_COPY_STREAM=0
// issues every upload on the compute stream (for comparisons); the OpenCL
// runtime's second queue follows the same variable. Free waits for the stream before cuMemFree,
// so that work already issued still sees the allocation.
//
// Launch widens each argument into an 8-byte slot of a pinned Go array and
// passes cuLaunchKernel the array of the slots' addresses; the driver
// copies the values before cuLaunchKernel returns.
//
// # Compiling
//
// Compile takes a complete CUDA C++ source (the gpu package's prelude and
// kernels) and finds code for the device in this order:
//
//  1. the disk cache: os.UserCacheDir()/scbench/cuda/<sha256 of the
//     source>-sm<XY>-drv<driver version>.cubin (or .ptx), written by an
//     earlier NVRTC compile through a temporary file and a rename, so a
//     second run loads it without NVRTC;
//  2. NVRTC, with --gpu-architecture=sm_XY for the device's compute
//     capability X.Y (a CUBIN), or, when this NVRTC does not know the
//     device, compute_ZW PTX for the newest architecture it knows below
//     it, which the driver compiles forward;
//  3. the embedded PTX (ptx/kernels.ptx), when the source is the one it
//     was generated from (ptx/kernels.sha256 holds its
//     gpu.SourceHash(gpu.CUDA)): for machines with the driver but no
//     NVRTC. The driver JIT-compiles it for the device and keeps the result
//     in its own cache.
//
// A source NVRTC rejects returns a *CompileError holding the compiler's
// log. bench/gpu/genptx.sh regenerates the embedded PTX on a machine with
// NVRTC (TestWritePTX with -writeptx=DIR): PTX for compute_70, or the
// oldest architecture the NVRTC knows above it (CUDA 13 starts at
// compute_75). The driver must be at least as new as the CUDA that
// generated it, since PTX carries its ISA version. TestEmbeddedPTXCurrent
// fails while the recorded hash differs from the kernels' source.
//
// # cuBLAS
//
// Gemm64 runs a row-major float64 product with cublasDgemm on the
// runtime's stream (swapping the operands, since cuBLAS is column-major),
// when libcublas loads; BLAS says whether it does.
package cuda
