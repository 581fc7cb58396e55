// Package opencl implements gpu.Runtime on OpenCL, so that the
// device-neutral backend in backend/gpu runs on any OpenCL 1.2 device
// with double precision and 64-bit atomics: NVIDIA's, AMD's and Intel's
// GPUs, and CPUs through PoCL.
//
// # Loading
//
// Nothing OpenCL is needed to build: the package calls the OpenCL ICD
// loader (libOpenCL.so.1) through purego, without cgo. The library is
// loaded once per process, on the first call to Probe, NewRuntime or New.
// The loader tried first is $SCBENCH_OPENCL_LIB, when set, then
// libOpenCL.so.1 and libOpenCL.so; the first that loads and exports every
// entry point the package uses wins. The loader finds the vendors'
// implementations (ICDs) through the .icd files in /etc/OpenCL/vendors,
// or in the folder $OCL_ICD_VENDORS names. Builds for other systems, or
// with the nodlopen tag, compile but never find OpenCL.
//
// Probe reports what was found, for `scbench devices`: the libraries tried,
// and every device of every platform with its memory, OpenCL version,
// driver version and compute units. It is Available when some device can
// run the kernels; its Reason says why not otherwise ("OpenCL not
// available: ...": no loader, no platform, or no device with the required
// extensions).
//
// # Devices
//
// NewRuntime(platform, device) opens a device by its platform's index and
// its index among all that platform's devices (GPUs, CPUs, accelerators
// alike), in the order of Probe's report; New adds gpu.New, which compiles
// the kernels. A device is refused unless it is available, has a compiler,
// and has cl_khr_fp64 and cl_khr_int64_base_atomics, which the kernel
// dialect needs. The kernels are built with -cl-std=CL1.2 and without
// -cl-fast-relaxed-math, so arithmetic is IEEE, as on the CPU backend. The
// device is named "<device> (<platform>)", e.g. "NVIDIA H200 (NVIDIA
// CUDA)", and MaxLocal is its CL_DEVICE_MAX_WORK_GROUP_SIZE.
//
// A Runtime has one context and one in-order command queue. Writes and
// reads block (clEnqueueWriteBuffer and clEnqueueReadBuffer with CL_TRUE),
// so no Go memory is ever held by OpenCL after a call returns; fills,
// copies and launches are queued, and Sync (clFinish) waits for them. A
// write into an allocation that nothing on the queue has used yet (a
// chunk's fresh buffers) goes on a second queue instead, so that it does
// not wait behind the kernels already queued: the upload of a chunk runs
// while the previous chunk's kernels do, and, being blocking, it is
// complete before any later work is queued.
// Kernel arguments live in the kernel object until the launch, so setting
// them and enqueueing the launch happen under the Runtime's mutex. OpenCL
// has no empty buffers: Alloc(0) allocates one byte and reports size 0.
// Close releases whatever programs, kernels and allocations are still live.
//
// # Errors
//
// Every OpenCL call's status is checked. A failure is an *Error naming the
// call and the code, wrapped with what was being done, e.g.
//
//	opencl: compiling scbench: clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)
//	<the compiler's log>
//
// Errors of queued work (a kernel that faults) surface at the next call
// that waits: Sync, ToHost or ToDevice.
//
// # NVIDIA GPUs
//
// NVIDIA's driver ships its OpenCL implementation as libnvidia-opencl.so.1
// but, on machines set up for CUDA only, may register no .icd file and
// ship no ICD loader. Install a loader (Debian: ocl-icd-libopencl1) and
// register the driver's implementation in a folder of your own:
//
//	mkdir -p /tmp/icd && echo libnvidia-opencl.so.1 > /tmp/icd/nvidia.icd
//	export OCL_ICD_VENDORS=/tmp/icd
//
// or name it directly, which the loader reads first (on the project's GPU
// machine, whose image sets OCL_ICD_FILENAMES to PoCL's and NVIDIA's
// libraries, this is what works; the vendors folder alone gave no platform
// there):
//
//	export OCL_ICD_FILENAMES=libnvidia-opencl.so.1
//
// NVIDIA's OpenCL is 3.0 with the 1.2 features the dialect uses, including
// cl_khr_fp64 and the 64-bit atomics. PoCL (Debian: pocl-opencl-icd) runs
// the same kernels on the CPU, which is how CI tests this package.
//
// # Tests
//
// The tests use the first device that can run the kernels, or the one
// $SCBENCH_OPENCL_PLATFORM and $SCBENCH_OPENCL_DEVICE name. Without one
// they skip, unless SCBENCH_REQUIRE_OPENCL=1, when they fail.
package opencl
