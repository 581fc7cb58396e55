//go:build (linux || freebsd || darwin) && !nodlopen

package opencl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libraryNames are the ICD loader's names, tried after $SCBENCH_OPENCL_LIB.
var libraryNames = map[string][]string{
	"linux":   {"libOpenCL.so.1", "libOpenCL.so"},
	"freebsd": {"libOpenCL.so.1", "libOpenCL.so"},
	"darwin":  {"/System/Library/Frameworks/OpenCL.framework/OpenCL"},
}

// clICDLVersion is clGetICDLoaderInfoOCLICD's query of the loader's version.
const clICDLVersion = 2

var loadOnce = sync.OnceValue(loadAPI)

// loadAPI opens the first OpenCL library that loads and exports every
// entry point the package uses.
func loadAPI() *loaded {
	var names []string
	if p := os.Getenv(EnvLibrary); p != "" {
		names = append(names, p)
	}
	names = append(names, libraryNames[runtime.GOOS]...)
	l := &loaded{}
	var errs []error
	for _, name := range names {
		a, err := openAPI(name)
		l.attempts = append(l.attempts, attempt{path: name, err: err})
		if err == nil {
			l.api = a
			return l
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		l.err = fmt.Errorf("no OpenCL library names known for %s", runtime.GOOS)
	} else {
		l.err = errors.Join(errs...)
	}
	return l
}

func openAPI(path string) (*api, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	a := &api{}
	for _, s := range a.symbols() {
		sym, err := purego.Dlsym(h, s.name)
		if err != nil {
			_ = purego.Dlclose(h)
			return nil, fmt.Errorf("%s lacks %s: %w", path, s.name, err)
		}
		purego.RegisterFunc(s.fptr, sym)
	}
	// The Khronos loader reports its version here; ocl-icd (2.3) does not.
	if sym, err := purego.Dlsym(h, "clGetICDLoaderInfoOCLICD"); err == nil {
		var info func(param uint32, size uintptr, value unsafe.Pointer, ret *uintptr) int32
		purego.RegisterFunc(&info, sym)
		if v, err := infoString("clGetICDLoaderInfoOCLICD", func(size uintptr, value unsafe.Pointer, ret *uintptr) int32 {
			return info(clICDLVersion, size, value, ret)
		}); err == nil {
			a.loaderVersion = strings.TrimSpace(v)
		}
	}
	return a, nil
}

// symbols lists the entry points loadAPI binds, by name.
func (a *api) symbols() []struct {
	name string
	fptr any
} {
	return []struct {
		name string
		fptr any
	}{
		{"clGetPlatformIDs", &a.getPlatformIDs},
		{"clGetPlatformInfo", &a.getPlatformInfo},
		{"clGetDeviceIDs", &a.getDeviceIDs},
		{"clGetDeviceInfo", &a.getDeviceInfo},
		{"clCreateContext", &a.createContext},
		{"clCreateCommandQueue", &a.createQueue},
		{"clCreateBuffer", &a.createBuffer},
		{"clEnqueueWriteBuffer", &a.writeBuffer},
		{"clEnqueueReadBuffer", &a.readBuffer},
		{"clEnqueueCopyBuffer", &a.copyBuffer},
		{"clEnqueueFillBuffer", &a.fillBuffer},
		{"clCreateProgramWithSource", &a.createProgram},
		{"clBuildProgram", &a.buildProgram},
		{"clGetProgramBuildInfo", &a.programBuildInfo},
		{"clCreateKernel", &a.createKernel},
		{"clSetKernelArg", &a.setKernelArg},
		{"clEnqueueNDRangeKernel", &a.enqueueKernel},
		{"clFinish", &a.finish},
		{"clReleaseMemObject", &a.releaseMem},
		{"clReleaseKernel", &a.releaseKernel},
		{"clReleaseProgram", &a.releaseProgram},
		{"clReleaseCommandQueue", &a.releaseQueue},
		{"clReleaseContext", &a.releaseContext},
	}
}
