// Prelude of the kernel dialect for OpenCL C 1.2 (cl_khr_fp64 and 64-bit
// atomics required: NVIDIA's OpenCL and PoCL have both).
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#define SCBENCH_OPENCL 1
typedef char i8;
typedef uchar u8;
typedef int i32;
typedef uint u32;
typedef long i64;
typedef ulong u64;
typedef float f32;
typedef double f64;

#define KERNEL __kernel void
#define DEVICE inline
#define GLOBAL __global
#define LOCAL __local
#define LOCAL_PTR __local
#define RESTRICT restrict

#define LID(d) ((i32)get_local_id(d))
#define GRP(d) ((i32)get_group_id(d))
#define LSIZE(d) ((i32)get_local_size(d))
#define NGRP(d) ((i32)get_num_groups(d))
#define GID(d) ((i64)get_group_id(d) * (i64)get_local_size(d) + (i64)get_local_id(d))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)

#define F32_INF INFINITY
#define F64_INF ((f64)INFINITY)

DEVICE void atomic_add_f64(GLOBAL f64 *p, f64 v) {
	volatile GLOBAL i64 *q = (volatile GLOBAL i64 *)p;
	i64 old = *q, seen;
	do {
		seen = old;
		old = atom_cmpxchg(q, seen, as_long(as_double(seen) + v));
	} while (old != seen);
}
DEVICE void atomic_add_f32(GLOBAL f32 *p, f32 v) {
	volatile GLOBAL i32 *q = (volatile GLOBAL i32 *)p;
	i32 old = *q, seen;
	do {
		seen = old;
		old = atomic_cmpxchg(q, seen, as_int(as_float(seen) + v));
	} while (old != seen);
}
DEVICE i32 atomic_add_i32(GLOBAL i32 *p, i32 v) { return atomic_add(p, v); }
DEVICE i64 atomic_add_i64(GLOBAL i64 *p, i64 v) { return atom_add(p, v); }
// atomic_cas_i32 stores v at p if *p == cmp and returns the old *p.
DEVICE i32 atomic_cas_i32(GLOBAL i32 *p, i32 cmp, i32 v) { return atomic_cmpxchg(p, cmp, v); }
DEVICE void local_atomic_add_f32(LOCAL_PTR f32 *p, f32 v) {
	volatile LOCAL_PTR i32 *q = (volatile LOCAL_PTR i32 *)p;
	i32 old = *q, seen;
	do {
		seen = old;
		old = atomic_cmpxchg(q, seen, as_int(as_float(seen) + v));
	} while (old != seen);
}
DEVICE i32 local_atomic_add_i32(LOCAL_PTR i32 *p, i32 v) { return atomic_add(p, v); }
