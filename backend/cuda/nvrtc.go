package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// nvrtc is libnvrtc, the run-time CUDA C++ compiler.
type nvrtc struct {
	lib          *library
	major, minor int
	archs        []int // the virtual and real architectures it knows (75, 80, ...)

	nvrtcVersion              func(major, minor *int32) int32
	nvrtcGetErrorString       func(r int32) string
	nvrtcCreateProgram        func(prog *uintptr, src, name string, nHeaders int32, headers, includeNames unsafe.Pointer) int32
	nvrtcCompileProgram       func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	nvrtcDestroyProgram       func(prog *uintptr) int32
	nvrtcGetProgramLogSize    func(prog uintptr, n *uintptr) int32
	nvrtcGetProgramLog        func(prog uintptr, log *byte) int32
	nvrtcGetCUBINSize         func(prog uintptr, n *uintptr) int32
	nvrtcGetCUBIN             func(prog uintptr, code *byte) int32
	nvrtcGetPTXSize           func(prog uintptr, n *uintptr) int32
	nvrtcGetPTX               func(prog uintptr, code *byte) int32
	nvrtcGetNumSupportedArchs func(n *int32) int32
	nvrtcGetSupportedArchs    func(archs *int32) int32
}

const nvrtcErrorCompilation = 6 // NVRTC_ERROR_COMPILATION

var nvrtcOnce = sync.OnceValues(func() (*nvrtc, error) {
	return openNVRTC(nvrtcPaths())
})

func loadNVRTC() (*nvrtc, error) { return nvrtcOnce() }

// nvrtcPaths: the environment's choice, else the sonames of CUDA 13 and
// 12 on the loader's path, then in the usual toolkit folders (which are
// often not on the loader's path).
func nvrtcPaths() []string {
	if p := os.Getenv(EnvNVRTC); p != "" {
		return []string{p}
	}
	return libPaths("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so")
}

// libPaths returns names, then names in $CUDA_HOME/lib64 and the
// toolkit's default folders.
func libPaths(names ...string) []string {
	paths := slices.Clone(names)
	dirs := []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/" + targetDir() + "/lib"}
	if h := os.Getenv("CUDA_HOME"); h != "" {
		dirs = append([]string{filepath.Join(h, "lib64")}, dirs...)
	}
	for _, d := range dirs {
		for _, n := range names {
			paths = append(paths, filepath.Join(d, n))
		}
	}
	return paths
}

func targetDir() string {
	if runtime.GOARCH == "arm64" {
		return "sbsa-linux"
	}
	return "x86_64-linux"
}

func openNVRTC(paths []string) (*nvrtc, error) {
	lib, err := openFirst("NVRTC", paths)
	if err != nil {
		return nil, err
	}
	n := &nvrtc{lib: lib}
	for _, f := range []struct {
		fptr any
		name string
	}{
		{&n.nvrtcVersion, "nvrtcVersion"},
		{&n.nvrtcGetErrorString, "nvrtcGetErrorString"},
		{&n.nvrtcCreateProgram, "nvrtcCreateProgram"},
		{&n.nvrtcCompileProgram, "nvrtcCompileProgram"},
		{&n.nvrtcDestroyProgram, "nvrtcDestroyProgram"},
		{&n.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"},
		{&n.nvrtcGetProgramLog, "nvrtcGetProgramLog"},
		{&n.nvrtcGetCUBINSize, "nvrtcGetCUBINSize"},
		{&n.nvrtcGetCUBIN, "nvrtcGetCUBIN"},
		{&n.nvrtcGetPTXSize, "nvrtcGetPTXSize"},
		{&n.nvrtcGetPTX, "nvrtcGetPTX"},
		{&n.nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs"},
		{&n.nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs"},
	} {
		if err := lib.bind(f.fptr, f.name); err != nil {
			return nil, err
		}
	}
	var major, minor, count int32
	if err := n.check("nvrtcVersion", n.nvrtcVersion(&major, &minor)); err != nil {
		return nil, err
	}
	n.major, n.minor = int(major), int(minor)
	if err := n.check("nvrtcGetNumSupportedArchs", n.nvrtcGetNumSupportedArchs(&count)); err != nil {
		return nil, err
	}
	if count > 0 {
		archs := make([]int32, count)
		if err := n.check("nvrtcGetSupportedArchs", n.nvrtcGetSupportedArchs(&archs[0])); err != nil {
			return nil, err
		}
		for _, a := range archs {
			n.archs = append(n.archs, int(a))
		}
		slices.Sort(n.archs)
	}
	return n, nil
}

func (n *nvrtc) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return &Error{Call: call, Code: int(r), Name: n.nvrtcGetErrorString(r)}
}

// version is "13.0".
func (n *nvrtc) version() string { return fmt.Sprintf("%d.%d", n.major, n.minor) }

// target picks the architecture option for a device of compute
// capability cc (90 for 9.0): sm_cc, giving a CUBIN, when NVRTC knows it;
// else PTX for the newest virtual architecture it knows below cc, which
// the driver compiles forward.
func (n *nvrtc) target(cc int) (option string, cubin bool, err error) {
	if slices.Contains(n.archs, cc) {
		return fmt.Sprintf("--gpu-architecture=sm_%d", cc), true, nil
	}
	best := -1
	for _, a := range n.archs {
		if a <= cc {
			best = a
		}
	}
	if best < 0 {
		return "", false, fmt.Errorf("NVRTC %s supports architectures %v, none at or below the device's sm_%d", n.version(), n.archs, cc)
	}
	return fmt.Sprintf("--gpu-architecture=compute_%d", best), false, nil
}

// CompileError is a kernel source that NVRTC rejected; Log is its output.
type CompileError struct {
	Name string // the source's name
	Log  string
	Err  error // the nvrtcCompileProgram error
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("cuda: compiling %s: %v:\n%s", e.Name, e.Err, e.Log)
}

func (e *CompileError) Unwrap() error { return e.Err }

// compile compiles source with the options and returns the CUBIN (cubin)
// or the NUL-terminated PTX.
func (n *nvrtc) compile(name, source string, cubin bool, options ...string) ([]byte, error) {
	var prog uintptr
	if err := n.check("nvrtcCreateProgram", n.nvrtcCreateProgram(&prog, source, name, 0, nil, nil)); err != nil {
		return nil, err
	}
	defer n.nvrtcDestroyProgram(&prog)

	// The options are an array of C string pointers in Go memory: pin
	// the strings for the call.
	var pin runtime.Pinner
	defer pin.Unpin()
	opts := make([]uintptr, len(options))
	for i, o := range options {
		b := append([]byte(o), 0)
		pin.Pin(&b[0])
		opts[i] = uintptr(unsafe.Pointer(&b[0]))
	}
	var optp unsafe.Pointer
	if len(opts) > 0 {
		optp = unsafe.Pointer(&opts[0])
	}
	if err := n.check("nvrtcCompileProgram", n.nvrtcCompileProgram(prog, int32(len(opts)), optp)); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == nvrtcErrorCompilation {
			return nil, &CompileError{Name: name, Log: n.log(prog), Err: err}
		}
		return nil, err
	}
	getSize, get, what := n.nvrtcGetPTXSize, n.nvrtcGetPTX, "PTX"
	if cubin {
		getSize, get, what = n.nvrtcGetCUBINSize, n.nvrtcGetCUBIN, "CUBIN"
	}
	var size uintptr
	if err := n.check("nvrtcGet"+what+"Size", getSize(prog, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, fmt.Errorf("nvrtcGet%sSize: NVRTC produced no %s", what, what)
	}
	code := make([]byte, size)
	if err := n.check("nvrtcGet"+what, get(prog, &code[0])); err != nil {
		return nil, err
	}
	return code, nil
}

// log returns the program's compiler log.
func (n *nvrtc) log(prog uintptr) string {
	var size uintptr
	if n.nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1 {
		return ""
	}
	b := make([]byte, size)
	if n.nvrtcGetProgramLog(prog, &b[0]) != 0 {
		return ""
	}
	return string(b[:size-1])
}
