package opencl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
)

// Environment variables the package reads.
const (
	// EnvLibrary names an OpenCL library to try before the ICD loader's
	// usual names.
	EnvLibrary = "SCBENCH_OPENCL_LIB"
)

// requiredExtensions are what the kernel dialect needs (see
// backend/gpu/kernels/prelude_opencl.h).
var requiredExtensions = []string{"cl_khr_fp64", "cl_khr_int64_base_atomics"}

// buildOptions compile the kernels as OpenCL C 1.2, with IEEE arithmetic
// (no -cl-fast-relaxed-math): results must match the CPU backend's.
const buildOptions = "-cl-std=CL1.2"

// errClosed is returned by a Runtime after Close.
var errClosed = errors.New("opencl: runtime is closed")

// Runtime is a gpu.Runtime on one OpenCL device, with one in-order queue
// for everything but some uploads, and a second queue for those (see
// ToDevice).
type Runtime struct {
	api      *api
	device   uintptr
	ctx      uintptr
	queue    uintptr
	copies   uintptr
	oneQueue bool // SCBENCH_COPY_STREAM=0: every write on queue
	info     backend.Device
	maxLocal int
	maxItems [3]int
	maxAlloc int64 // CL_DEVICE_MAX_MEM_ALLOC_SIZE

	// mu serializes the calls that share state: clSetKernelArg and the
	// launch that follows, and the bookkeeping of live objects.
	mu       sync.Mutex
	closed   bool
	mems     map[*mem]struct{}
	programs map[*program]struct{}
}

// mem is an allocation: a cl_mem of max(size, 1) bytes. used says
// whether work on the queue may have used it.
type mem struct {
	rt   *Runtime
	h    uintptr
	size int64
	used bool
}

func (m *mem) Size() int64 { return m.size }

type program struct {
	rt      *Runtime
	h       uintptr
	name    string
	kernels map[string]*kernel
}

type kernel struct {
	prog *program
	h    uintptr
	name string
}

func (k *kernel) Name() string { return k.name }

// New opens device of platform (indices as Probe lists them) and compiles
// the kernels for it.
func New(platform, device int) (*gpu.Backend, error) {
	rt, err := NewRuntime(platform, device)
	if err != nil {
		return nil, err
	}
	be, err := gpu.New(rt)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return be, nil
}

// NewRuntime opens device of platform (indices as Probe lists them; every
// device type counts) with a context and an in-order queue. A device
// without the extensions the kernels need is refused.
func NewRuntime(platform, device int) (gpu.Runtime, error) {
	l := loadOnce()
	if l.err != nil {
		return nil, fmt.Errorf("opencl: OpenCL not available: %w", l.err)
	}
	a := l.api
	ps, err := a.platforms()
	if err != nil {
		return nil, fmt.Errorf("opencl: %w", err)
	}
	if platform < 0 || platform >= len(ps) {
		return nil, fmt.Errorf("opencl: no platform %d (there are %d)", platform, len(ps))
	}
	p := ps[platform]
	pname, err := a.platformString(p, clPlatformName)
	if err != nil {
		return nil, fmt.Errorf("opencl: platform %d: %w", platform, err)
	}
	ds, err := a.devices(p)
	if err != nil {
		return nil, fmt.Errorf("opencl: platform %d (%s): %w", platform, pname, err)
	}
	if device < 0 || device >= len(ds) {
		return nil, fmt.Errorf("opencl: platform %d (%s) has no device %d (it has %d)", platform, pname, device, len(ds))
	}
	d := ds[device]
	info, err := describeDevice(a, d, device, pname)
	if err != nil {
		return nil, fmt.Errorf("opencl: platform %d device %d: %w", platform, device, err)
	}
	if err := usable(a, d); err != nil {
		return nil, fmt.Errorf("opencl: %s (platform %d device %d): %w", deviceName(info), platform, device, err)
	}
	rt := &Runtime{
		api:      a,
		device:   d,
		oneQueue: os.Getenv("SCBENCH_COPY_STREAM") == "0",
		info: backend.Device{
			Backend: "opencl",
			Name:    deviceName(info),
			Memory:  info.Memory,
			Driver:  info.Driver,
		},
		mems:     map[*mem]struct{}{},
		programs: map[*program]struct{}{},
	}
	wg, err := a.deviceUint(d, clDeviceMaxWorkGroupSize, unsafe.Sizeof(uintptr(0)))
	if err != nil {
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	rt.maxLocal = int(wg)
	ma, err := a.deviceUint(d, clDeviceMaxMemAllocSize, 8)
	if err != nil {
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	rt.maxAlloc = int64(ma)
	items := make([]uintptr, 3)
	if err := check("clGetDeviceInfo", a.getDeviceInfo(d, clDeviceMaxWorkItemSizes, 3*unsafe.Sizeof(uintptr(0)), unsafe.Pointer(&items[0]), nil)); err != nil {
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	for i, v := range items {
		rt.maxItems[i] = int(v)
	}

	devs := []uintptr{d}
	var code int32
	rt.ctx = a.createContext(nil, 1, &devs[0], 0, 0, &code)
	runtime.KeepAlive(devs)
	if err := check("clCreateContext", code); err != nil {
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	rt.queue = a.createQueue(rt.ctx, d, 0, &code)
	if err := check("clCreateCommandQueue", code); err != nil {
		a.releaseContext(rt.ctx)
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	rt.copies = a.createQueue(rt.ctx, d, 0, &code)
	if err := check("clCreateCommandQueue", code); err != nil {
		a.releaseQueue(rt.queue)
		a.releaseContext(rt.ctx)
		return nil, fmt.Errorf("opencl: %s: %w", rt.info.Name, err)
	}
	return rt, nil
}

// usable checks that a device is available, can compile, and has the
// extensions the kernels need.
func usable(a *api, d uintptr) error {
	if ok, err := a.deviceUint(d, clDeviceAvailable, 4); err != nil {
		return err
	} else if ok == 0 {
		return errors.New("the device is not available (CL_DEVICE_AVAILABLE is false)")
	}
	if ok, err := a.deviceUint(d, clDeviceCompilerAvailable, 4); err != nil {
		return err
	} else if ok == 0 {
		return errors.New("the device has no compiler (CL_DEVICE_COMPILER_AVAILABLE is false)")
	}
	ext, err := a.deviceString(d, clDeviceExtensions)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range strings.Fields(ext) {
		have[e] = true
	}
	var missing []string
	for _, e := range requiredExtensions {
		if !have[e] {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the device lacks %s, which the kernels need", strings.Join(missing, " and "))
	}
	return nil
}

// Device describes the device.
func (rt *Runtime) Device() backend.Device { return rt.info }

// Dialect is gpu.OpenCL.
func (rt *Runtime) Dialect() gpu.Dialect { return gpu.OpenCL }

// MaxLocal is CL_DEVICE_MAX_WORK_GROUP_SIZE.
func (rt *Runtime) MaxLocal() int { return rt.maxLocal }

// Alloc returns an allocation of n bytes. OpenCL has no empty buffers, so
// n == 0 allocates one byte.
func (rt *Runtime) Alloc(n int64) (gpu.Mem, error) {
	if n < 0 {
		return nil, fmt.Errorf("opencl: Alloc(%d): negative size", n)
	}
	if n > rt.maxAlloc {
		// clCreateBuffer would say only CL_INVALID_BUFFER_SIZE.
		return nil, fmt.Errorf("opencl: allocating %d bytes: more than the device's largest allocation, %d bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)", n, rt.maxAlloc)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, errClosed
	}
	var code int32
	h := rt.api.createBuffer(rt.ctx, clMemReadWrite, uintptr(max(n, 1)), nil, &code)
	if err := check("clCreateBuffer", code); err != nil {
		return nil, fmt.Errorf("opencl: allocating %d bytes: %w", n, err)
	}
	m := &mem{rt: rt, h: h, size: n}
	rt.mems[m] = struct{}{}
	return m, nil
}

// Free releases m; freeing it again does nothing.
func (rt *Runtime) Free(gm gpu.Mem) {
	m, ok := gm.(*mem)
	if !ok || m == nil || m.rt != rt {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if m.h == 0 {
		return
	}
	rt.api.releaseMem(m.h) // a release can fail only on an invalid handle
	m.h = 0
	delete(rt.mems, m)
}

// handle returns the cl_mem behind gm after checking that bytes [off,
// off+n) lie inside it. The caller holds rt.mu.
func (rt *Runtime) handle(what string, gm gpu.Mem, off, n int64) (uintptr, error) {
	m, err := rt.live(what, gm, off, n)
	if err != nil {
		return 0, err
	}
	m.used = true
	return m.h, nil
}

// live checks what handle checks and returns the allocation, unmarked.
func (rt *Runtime) live(what string, gm gpu.Mem, off, n int64) (*mem, error) {
	if rt.closed {
		return nil, errClosed
	}
	m, ok := gm.(*mem)
	if !ok || m == nil {
		return nil, fmt.Errorf("opencl: %s is a %T, not an OpenCL allocation", what, gm)
	}
	if m.rt != rt {
		return nil, fmt.Errorf("opencl: %s belongs to another runtime", what)
	}
	if m.h == 0 {
		return nil, fmt.Errorf("opencl: %s has been freed", what)
	}
	if off < 0 || n < 0 || off > m.size || n > m.size-off {
		return nil, fmt.Errorf("opencl: %s: bytes [%d, %d) are outside its %d bytes", what, off, off+n, m.size)
	}
	return m, nil
}

// Zero sets n bytes of m from byte off to zero.
func (rt *Runtime) Zero(gm gpu.Mem, off, n int64) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	h, err := rt.handle("Zero's buffer", gm, off, n)
	if err != nil || n == 0 {
		return err
	}
	// The widest pattern that divides both off and n fills fastest.
	size := int64(16)
	for off%size != 0 || n%size != 0 {
		size /= 2
	}
	pattern := make([]byte, size)
	code := rt.api.fillBuffer(rt.queue, h, unsafe.Pointer(&pattern[0]), uintptr(size), uintptr(off), uintptr(n), 0, nil, nil)
	runtime.KeepAlive(pattern)
	if err := check("clEnqueueFillBuffer", code); err != nil {
		return fmt.Errorf("opencl: zeroing %d bytes: %w", n, err)
	}
	return nil
}

// ToDevice copies src to m from byte off; the write blocks, so src may be
// reused at once. A write into an allocation that no work on the queue has
// used yet (a chunk's fresh buffers) goes on the second queue, so that it
// does not wait for the kernels queued before it; being blocking, it is
// complete, and visible to the work queued after it, when it returns.
func (rt *Runtime) ToDevice(gm gpu.Mem, off int64, src []byte) error {
	n := int64(len(src))
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m, err := rt.live("ToDevice's destination", gm, off, n)
	if err != nil || n == 0 {
		return err
	}
	q := rt.queue
	if !m.used && !rt.oneQueue {
		q = rt.copies
	}
	code := rt.api.writeBuffer(q, m.h, clTrue, uintptr(off), uintptr(n), unsafe.Pointer(&src[0]), 0, nil, nil)
	runtime.KeepAlive(src)
	if err := check("clEnqueueWriteBuffer", code); err != nil {
		return fmt.Errorf("opencl: copying %d bytes to the device: %w", n, err)
	}
	return nil
}

// ToHost copies len(dst) bytes of m from byte off to dst, after all work
// issued before it.
func (rt *Runtime) ToHost(dst []byte, gm gpu.Mem, off int64) error {
	n := int64(len(dst))
	rt.mu.Lock()
	defer rt.mu.Unlock()
	h, err := rt.handle("ToHost's source", gm, off, n)
	if err != nil || n == 0 {
		return err
	}
	code := rt.api.readBuffer(rt.queue, h, clTrue, uintptr(off), uintptr(n), unsafe.Pointer(&dst[0]), 0, nil, nil)
	runtime.KeepAlive(dst)
	if err := check("clEnqueueReadBuffer", code); err != nil {
		return fmt.Errorf("opencl: copying %d bytes to the host: %w", n, err)
	}
	return nil
}

// Copy copies n bytes between allocations on the device. Overlapping
// ranges of one allocation are an error (CL_MEM_COPY_OVERLAP).
func (rt *Runtime) Copy(dst gpu.Mem, dstOff int64, src gpu.Mem, srcOff, n int64) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	dh, err := rt.handle("Copy's destination", dst, dstOff, n)
	if err != nil {
		return err
	}
	sh, err := rt.handle("Copy's source", src, srcOff, n)
	if err != nil || n == 0 {
		return err
	}
	code := rt.api.copyBuffer(rt.queue, sh, dh, uintptr(srcOff), uintptr(dstOff), uintptr(n), 0, nil, nil)
	if err := check("clEnqueueCopyBuffer", code); err != nil {
		return fmt.Errorf("opencl: copying %d bytes on the device: %w", n, err)
	}
	return nil
}

// Compile builds source for the device with buildOptions. A failed build
// returns an *Error whose Log is the compiler's log.
func (rt *Runtime) Compile(name, source string) (gpu.Program, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, errClosed
	}
	if source == "" {
		return nil, fmt.Errorf("opencl: compiling %s: empty source", name)
	}
	a := rt.api
	src := []byte(source)
	ptrs := []*byte{&src[0]}
	lens := []uintptr{uintptr(len(src))}
	var code int32
	h := a.createProgram(rt.ctx, 1, unsafe.Pointer(&ptrs[0]), &lens[0], &code)
	runtime.KeepAlive(src)
	runtime.KeepAlive(ptrs)
	runtime.KeepAlive(lens)
	if err := check("clCreateProgramWithSource", code); err != nil {
		return nil, fmt.Errorf("opencl: compiling %s: %w", name, err)
	}
	devs := []uintptr{rt.device}
	code = a.buildProgram(h, 1, &devs[0], buildOptions, 0, 0)
	runtime.KeepAlive(devs)
	if code != clSuccess {
		err := &Error{Call: "clBuildProgram", Code: code, Log: a.buildLog(h, rt.device)}
		a.releaseProgram(h)
		return nil, fmt.Errorf("opencl: compiling %s: %w", name, err)
	}
	p := &program{rt: rt, h: h, name: name, kernels: map[string]*kernel{}}
	rt.programs[p] = struct{}{}
	return p, nil
}

// Kernel returns the named kernel, created once per program.
func (p *program) Kernel(name string) (gpu.Kernel, error) {
	rt := p.rt
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, errClosed
	}
	if p.h == 0 {
		return nil, fmt.Errorf("opencl: kernel %s: program %s has been released", name, p.name)
	}
	if k, ok := p.kernels[name]; ok {
		return k, nil
	}
	var code int32
	h := rt.api.createKernel(p.h, name, &code)
	if err := check("clCreateKernel", code); err != nil {
		return nil, fmt.Errorf("opencl: kernel %s of %s: %w", name, p.name, err)
	}
	k := &kernel{prog: p, h: h, name: name}
	p.kernels[name] = k
	return k, nil
}

// Release releases the program and its kernels.
func (p *program) Release() {
	p.rt.mu.Lock()
	defer p.rt.mu.Unlock()
	p.release()
}

// release does Release's work; the caller holds rt.mu.
func (p *program) release() {
	if p.h == 0 {
		return
	}
	a := p.rt.api
	for _, k := range p.kernels {
		a.releaseKernel(k.h)
		k.h = 0
	}
	p.kernels = nil
	a.releaseProgram(p.h)
	p.h = 0
	delete(p.rt.programs, p)
}

// Launch sets k's arguments and enqueues groups x local work-items. It
// returns once the launch is queued; Sync or ToHost see its errors.
func (rt *Runtime) Launch(gk gpu.Kernel, groups, local [3]int, args ...any) error {
	k, ok := gk.(*kernel)
	if !ok || k == nil {
		return fmt.Errorf("opencl: Launch: %T is not an OpenCL kernel", gk)
	}
	if k.prog.rt != rt {
		return fmt.Errorf("opencl: Launch: kernel %s belongs to another runtime", k.name)
	}
	threads := 1
	for d := range 3 {
		if groups[d] < 0 || local[d] < 1 || local[d] > rt.maxItems[d] {
			return fmt.Errorf("opencl: Launch %s: %v groups of %v work-items (the device allows at most %v per group)", k.name, groups, local, rt.maxItems)
		}
		threads *= local[d]
	}
	if threads > rt.maxLocal {
		return fmt.Errorf("opencl: Launch %s: work-groups of %v = %d work-items, more than the device's %d", k.name, local, threads, rt.maxLocal)
	}
	if groups[0] == 0 || groups[1] == 0 || groups[2] == 0 {
		return nil // nothing to run; OpenCL 1.2 refuses an empty range
	}
	// dims is the fewest dimensions that hold the range.
	dims := 3
	for dims > 1 && groups[dims-1] == 1 && local[dims-1] == 1 {
		dims--
	}
	sizes := make([]uintptr, 6) // global, then local
	for d := range 3 {
		sizes[d] = uintptr(groups[d]) * uintptr(local[d])
		sizes[3+d] = uintptr(local[d])
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return errClosed
	}
	if k.h == 0 {
		return fmt.Errorf("opencl: Launch: kernel %s has been released", k.name)
	}
	a := rt.api
	val := make([]byte, 8) // each value is copied by clSetKernelArg
	for i, arg := range args {
		var size uintptr
		switch v := arg.(type) {
		case gpu.Mem:
			h, err := rt.handle(fmt.Sprintf("argument %d", i), v, 0, 0)
			if err != nil {
				return fmt.Errorf("opencl: Launch %s: %w", k.name, err)
			}
			*(*uintptr)(unsafe.Pointer(&val[0])) = h
			size = unsafe.Sizeof(h)
		case int32:
			*(*int32)(unsafe.Pointer(&val[0])) = v
			size = 4
		case uint32:
			*(*uint32)(unsafe.Pointer(&val[0])) = v
			size = 4
		case int64:
			*(*int64)(unsafe.Pointer(&val[0])) = v
			size = 8
		case uint64:
			*(*uint64)(unsafe.Pointer(&val[0])) = v
			size = 8
		case float32:
			*(*float32)(unsafe.Pointer(&val[0])) = v
			size = 4
		case float64:
			*(*float64)(unsafe.Pointer(&val[0])) = v
			size = 8
		default:
			return fmt.Errorf("opencl: Launch %s: argument %d is a %T (want a gpu.Mem, int32, uint32, int64, uint64, float32 or float64)", k.name, i, arg)
		}
		if err := check("clSetKernelArg", a.setKernelArg(k.h, uint32(i), size, unsafe.Pointer(&val[0]))); err != nil {
			return fmt.Errorf("opencl: Launch %s: argument %d (%T): %w", k.name, i, arg, err)
		}
	}
	code := a.enqueueKernel(rt.queue, k.h, uint32(dims), nil, &sizes[0], &sizes[3], 0, nil, nil)
	runtime.KeepAlive(val)
	runtime.KeepAlive(sizes)
	if err := check("clEnqueueNDRangeKernel", code); err != nil {
		return fmt.Errorf("opencl: Launch %s (%v groups of %v): %w", k.name, groups, local, err)
	}
	return nil
}

// Sync waits for all issued work (clFinish).
func (rt *Runtime) Sync() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return errClosed
	}
	if err := check("clFinish", rt.api.finish(rt.queue)); err != nil {
		return fmt.Errorf("opencl: %w", err)
	}
	return nil
}

// Close waits for the queue, then releases every program, kernel and
// allocation still live, the queue and the context.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil
	}
	rt.closed = true
	a := rt.api
	err := errors.Join(check("clFinish", a.finish(rt.queue)), check("clFinish", a.finish(rt.copies)))
	for p := range rt.programs {
		p.release()
	}
	for m := range rt.mems {
		a.releaseMem(m.h)
		m.h = 0
	}
	rt.mems = nil
	err = errors.Join(err,
		check("clReleaseCommandQueue", a.releaseQueue(rt.queue)),
		check("clReleaseCommandQueue", a.releaseQueue(rt.copies)),
		check("clReleaseContext", a.releaseContext(rt.ctx)))
	if err != nil {
		return fmt.Errorf("opencl: closing %s: %w", rt.info.Name, err)
	}
	return nil
}

var _ gpu.Runtime = (*Runtime)(nil)
