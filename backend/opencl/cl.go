package opencl

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"
)

// OpenCL types as Go sees them: handles are pointers (uintptr), cl_int is
// int32, cl_uint uint32, cl_ulong and the bitfields uint64, size_t uintptr.

// OpenCL constants (CL/cl.h) that this package uses.
const (
	clTrue = 1

	clPlatformName = 0x0902

	clDeviceTypeAll = 0xFFFFFFFF

	clDeviceMaxComputeUnits   = 0x1002
	clDeviceMaxWorkGroupSize  = 0x1004
	clDeviceMaxWorkItemSizes  = 0x1005
	clDeviceMaxMemAllocSize   = 0x1010
	clDeviceGlobalMemSize     = 0x101F
	clDeviceAvailable         = 0x1027
	clDeviceCompilerAvailable = 0x1028
	clDeviceName              = 0x102B
	clDriverVersion           = 0x102D
	clDeviceVersion           = 0x102F
	clDeviceExtensions        = 0x1030

	clMemReadWrite = 1 << 0

	clProgramBuildLog = 0x1183
)

// Error codes (CL/cl.h, cl_khr_icd) that the package tests for.
const (
	clSuccess             = 0
	clDeviceNotFound      = -1
	clBuildProgramFailure = -11
	clPlatformNotFoundKHR = -1001
)

var errNames = map[int32]string{
	0:     "CL_SUCCESS",
	-1:    "CL_DEVICE_NOT_FOUND",
	-2:    "CL_DEVICE_NOT_AVAILABLE",
	-3:    "CL_COMPILER_NOT_AVAILABLE",
	-4:    "CL_MEM_OBJECT_ALLOCATION_FAILURE",
	-5:    "CL_OUT_OF_RESOURCES",
	-6:    "CL_OUT_OF_HOST_MEMORY",
	-7:    "CL_PROFILING_INFO_NOT_AVAILABLE",
	-8:    "CL_MEM_COPY_OVERLAP",
	-9:    "CL_IMAGE_FORMAT_MISMATCH",
	-10:   "CL_IMAGE_FORMAT_NOT_SUPPORTED",
	-11:   "CL_BUILD_PROGRAM_FAILURE",
	-12:   "CL_MAP_FAILURE",
	-13:   "CL_MISALIGNED_SUB_BUFFER_OFFSET",
	-14:   "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
	-15:   "CL_COMPILE_PROGRAM_FAILURE",
	-16:   "CL_LINKER_NOT_AVAILABLE",
	-17:   "CL_LINK_PROGRAM_FAILURE",
	-18:   "CL_DEVICE_PARTITION_FAILED",
	-19:   "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
	-30:   "CL_INVALID_VALUE",
	-31:   "CL_INVALID_DEVICE_TYPE",
	-32:   "CL_INVALID_PLATFORM",
	-33:   "CL_INVALID_DEVICE",
	-34:   "CL_INVALID_CONTEXT",
	-35:   "CL_INVALID_QUEUE_PROPERTIES",
	-36:   "CL_INVALID_COMMAND_QUEUE",
	-37:   "CL_INVALID_HOST_PTR",
	-38:   "CL_INVALID_MEM_OBJECT",
	-39:   "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
	-40:   "CL_INVALID_IMAGE_SIZE",
	-41:   "CL_INVALID_SAMPLER",
	-42:   "CL_INVALID_BINARY",
	-43:   "CL_INVALID_BUILD_OPTIONS",
	-44:   "CL_INVALID_PROGRAM",
	-45:   "CL_INVALID_PROGRAM_EXECUTABLE",
	-46:   "CL_INVALID_KERNEL_NAME",
	-47:   "CL_INVALID_KERNEL_DEFINITION",
	-48:   "CL_INVALID_KERNEL",
	-49:   "CL_INVALID_ARG_INDEX",
	-50:   "CL_INVALID_ARG_VALUE",
	-51:   "CL_INVALID_ARG_SIZE",
	-52:   "CL_INVALID_KERNEL_ARGS",
	-53:   "CL_INVALID_WORK_DIMENSION",
	-54:   "CL_INVALID_WORK_GROUP_SIZE",
	-55:   "CL_INVALID_WORK_ITEM_SIZE",
	-56:   "CL_INVALID_GLOBAL_OFFSET",
	-57:   "CL_INVALID_EVENT_WAIT_LIST",
	-58:   "CL_INVALID_EVENT",
	-59:   "CL_INVALID_OPERATION",
	-60:   "CL_INVALID_GL_OBJECT",
	-61:   "CL_INVALID_BUFFER_SIZE",
	-62:   "CL_INVALID_MIP_LEVEL",
	-63:   "CL_INVALID_GLOBAL_WORK_SIZE",
	-64:   "CL_INVALID_PROPERTY",
	-65:   "CL_INVALID_IMAGE_DESCRIPTOR",
	-66:   "CL_INVALID_COMPILER_OPTIONS",
	-67:   "CL_INVALID_LINKER_OPTIONS",
	-68:   "CL_INVALID_DEVICE_PARTITION_COUNT",
	-69:   "CL_INVALID_PIPE_SIZE",
	-70:   "CL_INVALID_DEVICE_QUEUE",
	-71:   "CL_INVALID_SPEC_ID",
	-72:   "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
	-1000: "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR",
	-1001: "CL_PLATFORM_NOT_FOUND_KHR",
	-1002: "CL_INVALID_D3D10_DEVICE_KHR",
	-1003: "CL_INVALID_D3D10_RESOURCE_KHR",
	-1004: "CL_D3D10_RESOURCE_ALREADY_ACQUIRED_KHR",
	-1005: "CL_D3D10_RESOURCE_NOT_ACQUIRED_KHR",
	-1057: "CL_DEVICE_PARTITION_FAILED_EXT",
	-1058: "CL_INVALID_PARTITION_COUNT_EXT",
	-1059: "CL_INVALID_PARTITION_NAME_EXT",
	-1092: "CL_EGL_RESOURCE_NOT_ACQUIRED_KHR",
	-1093: "CL_INVALID_EGL_OBJECT_KHR",
	-1094: "CL_INVALID_ACCELERATOR_INTEL",
	-1095: "CL_INVALID_ACCELERATOR_TYPE_INTEL",
	-1096: "CL_INVALID_ACCELERATOR_DESCRIPTOR_INTEL",
	-1097: "CL_ACCELERATOR_TYPE_NOT_SUPPORTED_INTEL",
	-1098: "CL_INVALID_VA_API_MEDIA_ADAPTER_INTEL",
	-1099: "CL_INVALID_VA_API_MEDIA_SURFACE_INTEL",
	-1100: "CL_VA_API_MEDIA_SURFACE_ALREADY_ACQUIRED_INTEL",
	-1101: "CL_VA_API_MEDIA_SURFACE_NOT_ACQUIRED_INTEL",
	-9999: "CL_NV_ILLEGAL_BUFFER_ACTION", // NVIDIA: a kernel faulted (out-of-bounds access)
}

// ErrorName returns the name of an OpenCL error code, such as
// "CL_BUILD_PROGRAM_FAILURE" for -11, or "CL_UNKNOWN_ERROR" for a code it
// does not know.
func ErrorName(code int32) string {
	if n, ok := errNames[code]; ok {
		return n
	}
	return "CL_UNKNOWN_ERROR"
}

// Error is a failed OpenCL call.
type Error struct {
	Call string // the API function, e.g. "clBuildProgram"
	Code int32  // its return (or errcode_ret) value
	Log  string // the build log, for clBuildProgram
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%d)", e.Call, ErrorName(e.Code), e.Code)
	if e.Log != "" {
		s += "\n" + e.Log
	}
	return s
}

// check turns an OpenCL return code into an error (nil for CL_SUCCESS).
func check(call string, code int32) error {
	if code == clSuccess {
		return nil
	}
	return &Error{Call: call, Code: code}
}

// api holds the OpenCL entry points, bound once per process by loadAPI.
// Arguments that point into Go memory are only read or written during the
// call (OpenCL copies what it keeps: sources, options, fill patterns,
// kernel argument values), and every call that hands one over keeps it
// alive until the call returns.
type api struct {
	loaderVersion string // the ICD loader's version, when it reports one

	getPlatformIDs   func(n uint32, platforms *uintptr, num *uint32) int32
	getPlatformInfo  func(p uintptr, param uint32, size uintptr, value unsafe.Pointer, ret *uintptr) int32
	getDeviceIDs     func(p uintptr, typ uint64, n uint32, devices *uintptr, num *uint32) int32
	getDeviceInfo    func(d uintptr, param uint32, size uintptr, value unsafe.Pointer, ret *uintptr) int32
	createContext    func(props unsafe.Pointer, n uint32, devices *uintptr, notify, user uintptr, errc *int32) uintptr
	createQueue      func(ctx, dev uintptr, props uint64, errc *int32) uintptr
	createBuffer     func(ctx uintptr, flags uint64, size uintptr, host unsafe.Pointer, errc *int32) uintptr
	writeBuffer      func(q, m uintptr, blocking uint32, off, size uintptr, src unsafe.Pointer, nwait uint32, wait, event unsafe.Pointer) int32
	readBuffer       func(q, m uintptr, blocking uint32, off, size uintptr, dst unsafe.Pointer, nwait uint32, wait, event unsafe.Pointer) int32
	copyBuffer       func(q, src, dst uintptr, srcOff, dstOff, size uintptr, nwait uint32, wait, event unsafe.Pointer) int32
	fillBuffer       func(q, m uintptr, pattern unsafe.Pointer, patternSize, off, size uintptr, nwait uint32, wait, event unsafe.Pointer) int32
	createProgram    func(ctx uintptr, count uint32, sources unsafe.Pointer, lengths *uintptr, errc *int32) uintptr
	buildProgram     func(p uintptr, n uint32, devices *uintptr, options string, notify, user uintptr) int32
	programBuildInfo func(p, d uintptr, param uint32, size uintptr, value unsafe.Pointer, ret *uintptr) int32
	createKernel     func(p uintptr, name string, errc *int32) uintptr
	setKernelArg     func(k uintptr, index uint32, size uintptr, value unsafe.Pointer) int32
	enqueueKernel    func(q, k uintptr, dims uint32, offset unsafe.Pointer, global, local *uintptr, nwait uint32, wait, event unsafe.Pointer) int32
	finish           func(q uintptr) int32
	releaseMem       func(m uintptr) int32
	releaseKernel    func(k uintptr) int32
	releaseProgram   func(p uintptr) int32
	releaseQueue     func(q uintptr) int32
	releaseContext   func(c uintptr) int32
}

// platforms returns the platform handles (none, not an error, when the
// loader finds no ICD).
func (a *api) platforms() ([]uintptr, error) {
	var n uint32
	code := a.getPlatformIDs(0, nil, &n)
	if code == clPlatformNotFoundKHR || (code == clSuccess && n == 0) {
		return nil, nil
	}
	if err := check("clGetPlatformIDs", code); err != nil {
		return nil, err
	}
	ps := make([]uintptr, n)
	if err := check("clGetPlatformIDs", a.getPlatformIDs(n, &ps[0], &n)); err != nil {
		return nil, err
	}
	return ps[:n], nil
}

// devices returns a platform's devices of every type.
func (a *api) devices(p uintptr) ([]uintptr, error) {
	var n uint32
	code := a.getDeviceIDs(p, clDeviceTypeAll, 0, nil, &n)
	if code == clDeviceNotFound || (code == clSuccess && n == 0) {
		return nil, nil
	}
	if err := check("clGetDeviceIDs", code); err != nil {
		return nil, err
	}
	ds := make([]uintptr, n)
	if err := check("clGetDeviceIDs", a.getDeviceIDs(p, clDeviceTypeAll, n, &ds[0], &n)); err != nil {
		return nil, err
	}
	return ds[:n], nil
}

// infoString reads a string-valued query through get (clGetPlatformInfo or
// clGetDeviceInfo bound to one object and parameter).
func infoString(call string, get func(size uintptr, value unsafe.Pointer, ret *uintptr) int32) (string, error) {
	var n uintptr
	if err := check(call, get(0, nil, &n)); err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	b := make([]byte, n)
	if err := check(call, get(n, unsafe.Pointer(&b[0]), nil)); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), nil
}

func (a *api) platformString(p uintptr, param uint32) (string, error) {
	return infoString("clGetPlatformInfo", func(size uintptr, value unsafe.Pointer, ret *uintptr) int32 {
		return a.getPlatformInfo(p, param, size, value, ret)
	})
}

func (a *api) deviceString(d uintptr, param uint32) (string, error) {
	return infoString("clGetDeviceInfo", func(size uintptr, value unsafe.Pointer, ret *uintptr) int32 {
		return a.getDeviceInfo(d, param, size, value, ret)
	})
}

// deviceUint reads an unsigned scalar query of the given byte size
// (cl_bool and cl_uint: 4; cl_ulong and size_t: 8).
func (a *api) deviceUint(d uintptr, param uint32, size uintptr) (uint64, error) {
	b := make([]byte, 8)
	if err := check("clGetDeviceInfo", a.getDeviceInfo(d, param, size, unsafe.Pointer(&b[0]), nil)); err != nil {
		return 0, err
	}
	if size == 4 {
		return uint64(binary.NativeEndian.Uint32(b)), nil
	}
	return binary.NativeEndian.Uint64(b), nil
}

// buildLog returns a program's build log for a device.
func (a *api) buildLog(p, d uintptr) string {
	s, err := infoString("clGetProgramBuildInfo", func(size uintptr, value unsafe.Pointer, ret *uintptr) int32 {
		return a.programBuildInfo(p, d, clProgramBuildLog, size, value, ret)
	})
	if err != nil {
		return "(no build log: " + err.Error() + ")"
	}
	return s
}

// attempt is one library that the loader tried.
type attempt struct {
	path string
	err  error
}

// loaded is the outcome of the process's one attempt to load OpenCL:
// the bound API, or why there is none.
type loaded struct {
	api      *api
	attempts []attempt
	err      error
}
