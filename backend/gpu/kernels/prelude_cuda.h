// Prelude of the kernel dialect for CUDA C++ (NVRTC, or nvcc -ptx).
// Kernels include nothing: NVRTC compiles them without the CUDA headers.
#define SCBENCH_CUDA 1
typedef signed char i8;
typedef unsigned char u8;
typedef int i32;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;
typedef float f32;
typedef double f64;

#define KERNEL extern "C" __global__ void
#define DEVICE __device__ __forceinline__
#define GLOBAL
#define LOCAL __shared__
#define LOCAL_PTR
#define RESTRICT __restrict__

DEVICE i32 local_id(i32 d) { return d == 0 ? threadIdx.x : d == 1 ? threadIdx.y : threadIdx.z; }
DEVICE i32 group_id(i32 d) { return d == 0 ? blockIdx.x : d == 1 ? blockIdx.y : blockIdx.z; }
DEVICE i32 local_size(i32 d) { return d == 0 ? blockDim.x : d == 1 ? blockDim.y : blockDim.z; }
DEVICE i32 num_groups(i32 d) { return d == 0 ? gridDim.x : d == 1 ? gridDim.y : gridDim.z; }
#define LID(d) local_id(d)
#define GRP(d) group_id(d)
#define LSIZE(d) local_size(d)
#define NGRP(d) num_groups(d)
// GID is the global index as i64: grids of more than 2^31 work-items exist.
#define GID(d) ((i64)group_id(d) * (i64)local_size(d) + (i64)local_id(d))
#define BARRIER() __syncthreads()

#define F32_INF __int_as_float(0x7f800000)
#define F64_INF __longlong_as_double(0x7ff0000000000000LL)

DEVICE void atomic_add_f64(GLOBAL f64 *p, f64 v) { atomicAdd(p, v); }
DEVICE void atomic_add_f32(GLOBAL f32 *p, f32 v) { atomicAdd(p, v); }
DEVICE i32 atomic_add_i32(GLOBAL i32 *p, i32 v) { return atomicAdd(p, v); }
DEVICE i64 atomic_add_i64(GLOBAL i64 *p, i64 v) { return (i64)atomicAdd((u64 *)p, (u64)v); }
// atomic_cas_i32 stores v at p if *p == cmp and returns the old *p.
DEVICE i32 atomic_cas_i32(GLOBAL i32 *p, i32 cmp, i32 v) { return atomicCAS(p, cmp, v); }
DEVICE void local_atomic_add_f32(LOCAL_PTR f32 *p, f32 v) { atomicAdd(p, v); }
DEVICE i32 local_atomic_add_i32(LOCAL_PTR i32 *p, i32 v) { return atomicAdd(p, v); }
