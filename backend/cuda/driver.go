package cuda

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// Environment variables that name the libraries to load instead of
// searching for them.
const (
	EnvDriver = "SCBENCH_CUDA_LIB"   // libcuda.so.1
	EnvNVRTC  = "SCBENCH_NVRTC_LIB"  // libnvrtc.so.13
	EnvCUBLAS = "SCBENCH_CUBLAS_LIB" // libcublas.so.13
)

// Error is a failed CUDA driver, NVRTC or cuBLAS call.
type Error struct {
	Call string // the API function, e.g. "cuLaunchKernel"
	Code int    // its result code
	Name string // the code's name, e.g. "CUDA_ERROR_INVALID_VALUE"
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s (%d)", e.Call, e.Name, e.Code) }

// Driver API constants (cuda.h).
const (
	attrMaxThreadsPerBlock = 1  // CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK
	attrMultiprocessors    = 16 // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
	attrCCMajor            = 75 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrCCMinor            = 76 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

	streamNonBlocking   = 1 // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy stream
	eventDisableTiming  = 2 // CU_EVENT_DISABLE_TIMING: cheaper events for staging
	jitErrorLogBuffer   = 5 // CU_JIT_ERROR_LOG_BUFFER
	jitErrorLogBufBytes = 6 // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES

	errNoDevice          = 100 // CUDA_ERROR_NO_DEVICE
	errUnsupportedPTXVer = 222 // CUDA_ERROR_UNSUPPORTED_PTX_VERSION
)

// driver is libcuda: the driver API functions the runtime uses. Handles
// (contexts, streams, events, modules, functions) are pointers in C and
// uintptr here; device pointers are CUdeviceptr, a 64-bit integer.
type driver struct {
	lib     *library
	version int // cuDriverGetVersion, e.g. 13000

	cuInit               func(flags uint32) int32
	cuDriverGetVersion   func(v *int32) int32
	cuDeviceGetCount     func(n *int32) int32
	cuDeviceGet          func(dev *int32, ordinal int32) int32
	cuDeviceGetName      func(name *byte, n int32, dev int32) int32
	cuDeviceTotalMem     func(bytes *uintptr, dev int32) int32
	cuDeviceGetAttribute func(v *int32, attr int32, dev int32) int32

	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) int32
	cuDevicePrimaryCtxRelease func(dev int32) int32
	cuCtxSetCurrent           func(ctx uintptr) int32

	cuStreamCreate      func(s *uintptr, flags uint32) int32
	cuStreamDestroy     func(s uintptr) int32
	cuStreamSynchronize func(s uintptr) int32
	cuStreamWaitEvent   func(s, e uintptr, flags uint32) int32

	cuEventCreate      func(e *uintptr, flags uint32) int32
	cuEventRecord      func(e, s uintptr) int32
	cuEventSynchronize func(e uintptr) int32
	cuEventElapsedTime func(ms *float32, start, end uintptr) int32
	cuEventDestroy     func(e uintptr) int32

	cuMemAlloc         func(p *uint64, n uintptr) int32
	cuMemFree          func(p uint64) int32
	cuMemsetD8Async    func(p uint64, v uint8, n uintptr, s uintptr) int32
	cuMemcpyHtoDAsync  func(dst uint64, src unsafe.Pointer, n uintptr, s uintptr) int32
	cuMemcpyDtoHAsync  func(dst unsafe.Pointer, src uint64, n uintptr, s uintptr) int32
	cuMemcpyDtoDAsync  func(dst, src uint64, n uintptr, s uintptr) int32
	cuMemHostAlloc     func(p *unsafe.Pointer, n uintptr, flags uint32) int32
	cuMemFreeHost      func(p unsafe.Pointer) int32
	cuModuleLoadData   func(m *uintptr, image unsafe.Pointer) int32
	cuModuleLoadDataEx func(m *uintptr, image unsafe.Pointer, n uint32, opts *int32, vals *uintptr) int32

	cuModuleGetFunction func(f *uintptr, m uintptr, name string) int32
	cuModuleUnload      func(m uintptr) int32
	cuLaunchKernel      func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params unsafe.Pointer, extra unsafe.Pointer) int32
	cuGetErrorName      func(r int32, s **byte) int32
}

// driverOnce loads libcuda and calls cuInit once per process.
var driverOnce = sync.OnceValues(func() (*driver, error) {
	return openDriver(driverPaths())
})

func loadDriver() (*driver, error) { return driverOnce() }

func driverPaths() []string {
	if p := os.Getenv(EnvDriver); p != "" {
		return []string{p}
	}
	return []string{"libcuda.so.1", "libcuda.so"}
}

// openDriver loads the driver from the first of paths that loads and
// initializes it. A driver that loads but has no usable device returns
// the driver with the error (Probe reports its version).
func openDriver(paths []string) (*driver, error) {
	lib, err := openFirst("CUDA driver", paths)
	if err != nil {
		return nil, err
	}
	d := &driver{lib: lib}
	// The _v2 names are what cuda.h maps the plain names to since CUDA 4
	// (64-bit sizes and pointers) or 11 (primary context release).
	for _, f := range []struct {
		fptr  any
		names []string
	}{
		{&d.cuInit, []string{"cuInit"}},
		{&d.cuDriverGetVersion, []string{"cuDriverGetVersion"}},
		{&d.cuDeviceGetCount, []string{"cuDeviceGetCount"}},
		{&d.cuDeviceGet, []string{"cuDeviceGet"}},
		{&d.cuDeviceGetName, []string{"cuDeviceGetName"}},
		{&d.cuDeviceTotalMem, []string{"cuDeviceTotalMem_v2"}},
		{&d.cuDeviceGetAttribute, []string{"cuDeviceGetAttribute"}},
		{&d.cuDevicePrimaryCtxRetain, []string{"cuDevicePrimaryCtxRetain"}},
		{&d.cuDevicePrimaryCtxRelease, []string{"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"}},
		{&d.cuCtxSetCurrent, []string{"cuCtxSetCurrent"}},
		{&d.cuStreamCreate, []string{"cuStreamCreate"}},
		{&d.cuStreamDestroy, []string{"cuStreamDestroy_v2", "cuStreamDestroy"}},
		{&d.cuStreamSynchronize, []string{"cuStreamSynchronize"}},
		{&d.cuStreamWaitEvent, []string{"cuStreamWaitEvent"}},
		{&d.cuEventCreate, []string{"cuEventCreate"}},
		{&d.cuEventRecord, []string{"cuEventRecord"}},
		{&d.cuEventSynchronize, []string{"cuEventSynchronize"}},
		{&d.cuEventElapsedTime, []string{"cuEventElapsedTime_v2", "cuEventElapsedTime"}},
		{&d.cuEventDestroy, []string{"cuEventDestroy_v2", "cuEventDestroy"}},
		{&d.cuMemAlloc, []string{"cuMemAlloc_v2"}},
		{&d.cuMemFree, []string{"cuMemFree_v2"}},
		{&d.cuMemsetD8Async, []string{"cuMemsetD8Async"}},
		{&d.cuMemcpyHtoDAsync, []string{"cuMemcpyHtoDAsync_v2"}},
		{&d.cuMemcpyDtoHAsync, []string{"cuMemcpyDtoHAsync_v2"}},
		{&d.cuMemcpyDtoDAsync, []string{"cuMemcpyDtoDAsync_v2"}},
		{&d.cuMemHostAlloc, []string{"cuMemHostAlloc"}},
		{&d.cuMemFreeHost, []string{"cuMemFreeHost"}},
		{&d.cuModuleLoadData, []string{"cuModuleLoadData"}},
		{&d.cuModuleLoadDataEx, []string{"cuModuleLoadDataEx"}},
		{&d.cuModuleGetFunction, []string{"cuModuleGetFunction"}},
		{&d.cuModuleUnload, []string{"cuModuleUnload"}},
		{&d.cuLaunchKernel, []string{"cuLaunchKernel"}},
		{&d.cuGetErrorName, []string{"cuGetErrorName"}},
	} {
		if err := lib.bind(f.fptr, f.names...); err != nil {
			return nil, err
		}
	}
	var v int32
	if err := d.check("cuDriverGetVersion", d.cuDriverGetVersion(&v)); err != nil {
		return nil, err
	}
	d.version = int(v)
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		return d, err
	}
	return d, nil
}

// check turns a CUresult into an error naming the call.
func (d *driver) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	name := "CUDA_ERROR_UNKNOWN_CODE"
	var s *byte
	if d.cuGetErrorName(r, &s) == 0 && s != nil {
		name = goString(s)
	}
	return &Error{Call: call, Code: int(r), Name: name}
}

// versionString formats a CUDA version number (1000*major + 10*minor).
func versionString(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// driverString is Device().Driver: "CUDA 13.0 (driver API 13000)".
func (d *driver) driverString() string {
	return fmt.Sprintf("CUDA %s (driver API %d)", versionString(d.version), d.version)
}

// deviceInfo reads what Probe and Device report about device ordinal i.
type deviceInfo struct {
	dev          int32
	name         string
	memory       int64
	major, minor int
	sms          int
	maxThreads   int
}

func (d *driver) deviceInfo(ordinal int) (deviceInfo, error) {
	var info deviceInfo
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&info.dev, int32(ordinal))); err != nil {
		return info, err
	}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), info.dev)); err != nil {
		return info, err
	}
	info.name = goString(&name[0])
	var mem uintptr
	if err := d.check("cuDeviceTotalMem", d.cuDeviceTotalMem(&mem, info.dev)); err != nil {
		return info, err
	}
	info.memory = int64(mem)
	for _, a := range []struct {
		attr int32
		v    *int
	}{
		{attrCCMajor, &info.major},
		{attrCCMinor, &info.minor},
		{attrMultiprocessors, &info.sms},
		{attrMaxThreadsPerBlock, &info.maxThreads},
	} {
		var v int32
		if err := d.check("cuDeviceGetAttribute", d.cuDeviceGetAttribute(&v, a.attr, info.dev)); err != nil {
			return info, err
		}
		*a.v = int(v)
	}
	return info, nil
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
