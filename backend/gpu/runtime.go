package gpu

import "github.com/scbench/scbench/backend"

// Dialect names the language a Runtime compiles. The kernel source is the
// same for both; only the prelude that maps the dialect's macros differs.
type Dialect int

const (
	CUDA   Dialect = iota + 1 // CUDA C++, compiled by NVRTC (or shipped as PTX)
	OpenCL                    // OpenCL C 1.2 with cl_khr_fp64 and 64-bit atomics
)

func (d Dialect) String() string {
	switch d {
	case CUDA:
		return "cuda"
	case OpenCL:
		return "opencl"
	}
	return "unknown"
}

// Mem is one device allocation made by a Runtime. Only the Runtime that
// made it may use it; kernels receive whole allocations (OpenCL cannot pass
// an offset into a buffer), so every Buffer is its own allocation.
type Mem interface {
	// Size is the allocation's size in bytes.
	Size() int64
}

// Kernel is a compiled kernel of a Program, ready to launch.
type Kernel interface {
	Name() string
}

// Program is a compiled kernel source.
type Program interface {
	// Kernel returns the kernel with the given (extern "C") name.
	Kernel(name string) (Kernel, error)
	Release()
}

// Runtime is what a GPU API gives the device-neutral backend: memory,
// copies, run-time compilation and launches on one device, on one in-order
// queue. CUDA (backend/cuda) and OpenCL (backend/opencl) implement it.
//
// Every method returns an error that names the failing API call and its
// code (for example "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2)"). A Runtime
// is used by one goroutine at a time, but that goroutine may move between
// OS threads: a CUDA Runtime makes its context current as needed.
//
// Ordering: operations run in the order they were issued. Launch and
// Zero may return before the work is done; ToHost returns when the data has
// arrived (it waits for everything issued before it); ToDevice returns
// once src may be reused. Sync waits for all issued work and reports the
// first error of an asynchronous operation.
type Runtime interface {
	// Device describes the device (Backend is "cuda" or "opencl").
	Device() backend.Device
	// Dialect is the language Compile takes.
	Dialect() Dialect
	// MaxLocal is the largest work-group (block) size a launch may use.
	MaxLocal() int

	// Alloc returns an allocation of n bytes (n may be 0: a valid Mem of
	// size 0 that kernels may be given but must not dereference).
	// Its contents are undefined.
	Alloc(n int64) (Mem, error)
	// Free releases m. Work already issued that uses m still sees it: a
	// Runtime frees only after that work (OpenCL's reference counting;
	// CUDA's cuMemFree waits). Freeing an allocation twice is a
	// programming error that a Runtime may ignore.
	Free(m Mem)
	// Zero sets n bytes of m from byte off to zero.
	Zero(m Mem, off, n int64) error
	// ToDevice copies src to m from byte off.
	ToDevice(m Mem, off int64, src []byte) error
	// ToHost copies len(dst) bytes of m from byte off to dst.
	ToHost(dst []byte, m Mem, off int64) error
	// Copy copies n bytes from src (from byte srcOff) to dst (from byte
	// dstOff) on the device.
	Copy(dst Mem, dstOff int64, src Mem, srcOff, n int64) error

	// Compile compiles a complete source in the Runtime's dialect (the
	// caller has prepended the prelude). name identifies the source in
	// error messages and caches. A build failure returns an error holding
	// the compiler's log.
	Compile(name, source string) (Program, error)
	// Launch runs k on groups[0] x groups[1] x groups[2] work-groups
	// (CUDA: the grid) of local[0] x local[1] x local[2] work-items (CUDA:
	// the block). args are passed in order; each is a Mem or one of int32,
	// uint32, int64, uint64, float32, float64.
	Launch(k Kernel, groups, local [3]int, args ...any) error
	// Sync waits for all issued work.
	Sync() error

	// Close releases the device; the Runtime is unusable afterwards.
	Close() error
}
