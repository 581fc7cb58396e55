package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"
	"unsafe"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
)

// defaultChunk is the size of each of the two pinned staging buffers.
const defaultChunk = 64 << 20

// Runtime is a gpu.Runtime on one CUDA device: its primary context, one
// non-blocking stream that every operation is issued on, and two pinned
// staging buffers for host copies.
type Runtime struct {
	drv    *driver
	dev    int32
	ctx    uintptr
	stream uintptr
	// copies is the copy stream: uploads into allocations that no work
	// on stream has used yet go there, so that their DMA overlaps the
	// kernels already issued; uploaded is recorded on it after each such
	// upload, and stream waits for it before anything issued later.
	copies   uintptr
	uploaded uintptr
	oneQueue bool // SCBENCH_COPY_STREAM=0: every upload on stream
	info     deviceInfo
	device   backend.Device
	closed   bool

	// Staging: chunk bytes of pinned memory per buffer, allocated on the
	// first host copy. evs[i] is recorded after each use of bufs[i] by the
	// stream; busy[i] says whether it has been.
	chunk int
	bufs  [2][]byte
	evs   [2]uintptr
	busy  [2]bool
	next  int

	// Compilation: cacheDir is where compiled code is kept ("" for no
	// disk cache); embedded is the package's PTX; noNVRTC makes Compile
	// skip NVRTC (tests of the embedded PTX, which may replace it).
	cacheDir string
	embedded embeddedCode
	noNVRTC  bool

	blas *blasHandle // cuBLAS, created by the first Gemm64
}

// New returns the GPU backend on CUDA device ordinal device: NewRuntime,
// then gpu.New, which compiles the kernels.
func New(device int) (*gpu.Backend, error) {
	rt, err := NewRuntime(device)
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

// NewRuntime opens CUDA device ordinal device (0 is the first).
func NewRuntime(device int) (gpu.Runtime, error) {
	r, err := newRuntime(device)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func newRuntime(device int) (*Runtime, error) {
	drv, err := loadDriver()
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	var count int32
	if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count)); err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	if device < 0 || device >= int(count) {
		return nil, fmt.Errorf("cuda: no device %d (this machine has %d)", device, count)
	}
	info, err := drv.deviceInfo(device)
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", device, err)
	}
	r := &Runtime{
		drv:      drv,
		dev:      info.dev,
		info:     info,
		chunk:    defaultChunk,
		embedded: embeddedCode{ptx: embeddedPTX, hash: embeddedHash()},
		oneQueue: os.Getenv("SCBENCH_COPY_STREAM") == "0",
	}
	r.device = backend.Device{
		Backend: "cuda",
		Name:    info.name,
		Memory:  info.memory,
		Driver:  drv.driverString(),
	}
	if dir, err := os.UserCacheDir(); err == nil {
		r.cacheDir = filepath.Join(dir, "scbench", "cuda")
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := drv.check("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain(&r.ctx, r.dev)); err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", device, err)
	}
	fail := func(err error) (*Runtime, error) {
		drv.cuDevicePrimaryCtxRelease(r.dev)
		return nil, fmt.Errorf("cuda: device %d: %w", device, err)
	}
	if err := drv.check("cuCtxSetCurrent", drv.cuCtxSetCurrent(r.ctx)); err != nil {
		return fail(err)
	}
	if err := drv.check("cuStreamCreate", drv.cuStreamCreate(&r.stream, streamNonBlocking)); err != nil {
		return fail(err)
	}
	if err := drv.check("cuStreamCreate", drv.cuStreamCreate(&r.copies, streamNonBlocking)); err != nil {
		drv.cuStreamDestroy(r.stream)
		return fail(err)
	}
	if err := drv.check("cuEventCreate", drv.cuEventCreate(&r.uploaded, eventDisableTiming)); err != nil {
		drv.cuStreamDestroy(r.copies)
		drv.cuStreamDestroy(r.stream)
		return fail(err)
	}
	return r, nil
}

var errClosed = errors.New("cuda: the runtime is closed")

// enter makes the context current on this goroutine's OS thread and keeps
// the goroutine on that thread until exit: a CUDA context is current per
// thread, and the Go scheduler moves goroutines between threads.
func (r *Runtime) enter() error {
	if r.closed {
		return errClosed
	}
	runtime.LockOSThread()
	if err := r.drv.check("cuCtxSetCurrent", r.drv.cuCtxSetCurrent(r.ctx)); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

func (r *Runtime) exit() { runtime.UnlockOSThread() }

// Device implements gpu.Runtime.
func (r *Runtime) Device() backend.Device { return r.device }

// Dialect implements gpu.Runtime.
func (r *Runtime) Dialect() gpu.Dialect { return gpu.CUDA }

// MaxLocal implements gpu.Runtime: the device's threads per block.
func (r *Runtime) MaxLocal() int { return r.info.maxThreads }

// Capability is the device's compute capability, e.g. 90 for 9.0.
func (r *Runtime) Capability() int { return 10*r.info.major + r.info.minor }

// mem is a device allocation. A zero-size one has no device memory and
// passes a null pointer to kernels. used says whether work on the compute
// stream may have used it (an upload into an unused one needs not wait
// for that stream: see ToDevice).
type mem struct {
	rt    *Runtime
	ptr   uint64
	size  int64
	freed bool
	used  bool
}

func (m *mem) Size() int64 { return m.size }

// memOf checks that m is a live allocation of r and that [off, off+n)
// lies in it, and marks it used by the compute stream: the caller issues
// work on it there.
func (r *Runtime) memOf(what string, m gpu.Mem, off, n int64) (*mem, error) {
	cm, err := r.live(what, m, off, n)
	if err == nil {
		cm.used = true
	}
	return cm, err
}

// live is memOf without the mark.
func (r *Runtime) live(what string, m gpu.Mem, off, n int64) (*mem, error) {
	cm, ok := m.(*mem)
	if !ok || cm == nil || cm.rt != r {
		return nil, fmt.Errorf("cuda: %s: %T is not an allocation of this runtime", what, m)
	}
	if cm.freed {
		return nil, fmt.Errorf("cuda: %s: the allocation has been freed", what)
	}
	if off < 0 || n < 0 || off > cm.size || n > cm.size-off {
		return nil, fmt.Errorf("cuda: %s: bytes [%d, %d+%d) outside an allocation of %d", what, off, off, n, cm.size)
	}
	return cm, nil
}

// Alloc implements gpu.Runtime.
func (r *Runtime) Alloc(n int64) (gpu.Mem, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda: Alloc(%d)", n)
	}
	m := &mem{rt: r, size: n}
	if n == 0 {
		return m, nil // cuMemAlloc refuses 0 bytes
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	defer r.exit()
	if err := r.drv.check("cuMemAlloc", r.drv.cuMemAlloc(&m.ptr, uintptr(n))); err != nil {
		return nil, fmt.Errorf("cuda: allocating %d bytes: %w", n, err)
	}
	return m, nil
}

// Free implements gpu.Runtime. It waits for the stream first, so that work
// already issued that uses m still sees it.
func (r *Runtime) Free(m gpu.Mem) {
	cm, ok := m.(*mem)
	if !ok || cm == nil || cm.rt != r || cm.freed {
		return
	}
	cm.freed = true
	if cm.ptr == 0 || r.enter() != nil {
		return
	}
	defer r.exit()
	r.drv.cuStreamSynchronize(r.stream)
	r.drv.cuMemFree(cm.ptr)
	cm.ptr = 0
}

// Zero implements gpu.Runtime.
func (r *Runtime) Zero(m gpu.Mem, off, n int64) error {
	cm, err := r.memOf("Zero", m, off, n)
	if err != nil || n == 0 {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.drv.check("cuMemsetD8Async", r.drv.cuMemsetD8Async(cm.ptr+uint64(off), 0, uintptr(n), r.stream)); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

// Copy implements gpu.Runtime.
func (r *Runtime) Copy(dst gpu.Mem, dstOff int64, src gpu.Mem, srcOff, n int64) error {
	d, err := r.memOf("Copy destination", dst, dstOff, n)
	if err != nil {
		return err
	}
	s, err := r.memOf("Copy source", src, srcOff, n)
	if err != nil || n == 0 {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.drv.check("cuMemcpyDtoDAsync", r.drv.cuMemcpyDtoDAsync(d.ptr+uint64(dstOff), s.ptr+uint64(srcOff), uintptr(n), r.stream)); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

// Sync implements gpu.Runtime.
func (r *Runtime) Sync() error {
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.drv.check("cuStreamSynchronize", r.drv.cuStreamSynchronize(r.stream)); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

// kernel is a function of a loaded module.
type kernel struct {
	prog *program
	name string
	fn   uintptr
}

func (k *kernel) Name() string { return k.name }

// Launch implements gpu.Runtime. Each argument is widened into its own
// 8-byte slot (little-endian: a 4-byte value sits at the slot's start)
// and cuLaunchKernel gets an array of pointers to the slots; it copies
// the values before it returns.
func (r *Runtime) Launch(k gpu.Kernel, groups, local [3]int, args ...any) error {
	ck, ok := k.(*kernel)
	if !ok || ck == nil || ck.prog.rt != r {
		return fmt.Errorf("cuda: Launch: %T is not a kernel of this runtime", k)
	}
	if ck.prog.released {
		return fmt.Errorf("cuda: Launch %s: its program has been released", ck.name)
	}
	threads := 1
	for d := range 3 {
		if groups[d] < 1 || groups[d] > math.MaxInt32 || local[d] < 1 {
			return fmt.Errorf("cuda: Launch %s: grid %v of blocks %v", ck.name, groups, local)
		}
		threads *= local[d]
	}
	if threads > r.info.maxThreads {
		return fmt.Errorf("cuda: Launch %s: block %v has %d threads, more than the device's %d", ck.name, local, threads, r.info.maxThreads)
	}
	slots := make([]uint64, len(args))
	ptrs := make([]uintptr, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case gpu.Mem:
			m, err := r.memOf(fmt.Sprintf("Launch %s argument %d", ck.name, i), v, 0, 0)
			if err != nil {
				return err
			}
			slots[i] = m.ptr
		case int32:
			slots[i] = uint64(uint32(v))
		case uint32:
			slots[i] = uint64(v)
		case int64:
			slots[i] = uint64(v)
		case uint64:
			slots[i] = v
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		case float64:
			slots[i] = math.Float64bits(v)
		default:
			return fmt.Errorf("cuda: Launch %s: argument %d has type %T", ck.name, i, a)
		}
	}
	var params unsafe.Pointer
	if len(args) > 0 {
		// ptrs (Go memory handed to C) holds addresses of slots (Go
		// memory): pin slots so that the addresses stay valid.
		var pin runtime.Pinner
		defer pin.Unpin()
		pin.Pin(&slots[0])
		for i := range slots {
			ptrs[i] = uintptr(unsafe.Pointer(&slots[i]))
		}
		params = unsafe.Pointer(&ptrs[0])
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	res := r.drv.cuLaunchKernel(ck.fn,
		uint32(groups[0]), uint32(groups[1]), uint32(groups[2]),
		uint32(local[0]), uint32(local[1]), uint32(local[2]),
		0, r.stream, params, nil)
	runtime.KeepAlive(slots)
	if err := r.drv.check("cuLaunchKernel", res); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	return nil
}

// Elapsed runs fn, which issues work on r, and returns the device time
// between events recorded on the stream before and after it.
func (r *Runtime) Elapsed(fn func() error) (time.Duration, error) {
	if err := r.enter(); err != nil {
		return 0, err
	}
	defer r.exit()
	var ev [2]uintptr
	for i := range ev {
		if err := r.drv.check("cuEventCreate", r.drv.cuEventCreate(&ev[i], 0)); err != nil {
			return 0, fmt.Errorf("cuda: %w", err)
		}
		defer r.drv.cuEventDestroy(ev[i])
	}
	if err := r.drv.check("cuEventRecord", r.drv.cuEventRecord(ev[0], r.stream)); err != nil {
		return 0, fmt.Errorf("cuda: %w", err)
	}
	if err := fn(); err != nil {
		return 0, err
	}
	// fn may have locked and unlocked the thread itself; ours is still
	// held, and the context is still current on it.
	if err := r.drv.check("cuEventRecord", r.drv.cuEventRecord(ev[1], r.stream)); err != nil {
		return 0, fmt.Errorf("cuda: %w", err)
	}
	if err := r.drv.check("cuEventSynchronize", r.drv.cuEventSynchronize(ev[1])); err != nil {
		return 0, fmt.Errorf("cuda: %w", err)
	}
	var ms float32
	if err := r.drv.check("cuEventElapsedTime", r.drv.cuEventElapsedTime(&ms, ev[0], ev[1])); err != nil {
		return 0, fmt.Errorf("cuda: %w", err)
	}
	return time.Duration(float64(ms) * float64(time.Millisecond)), nil
}

// Close implements gpu.Runtime: it waits for the stream, releases the
// staging buffers, the stream and cuBLAS, and releases the primary
// context (which frees what is still allocated when no other Runtime of
// the device holds it).
func (r *Runtime) Close() error {
	if r.closed {
		return nil
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	r.closed = true
	err := r.drv.check("cuStreamSynchronize", r.drv.cuStreamSynchronize(r.stream))
	if r.blas != nil {
		r.blas.destroy()
	}
	r.unstage()
	err = errors.Join(err,
		r.drv.check("cuStreamSynchronize", r.drv.cuStreamSynchronize(r.copies)),
		r.drv.check("cuEventDestroy", r.drv.cuEventDestroy(r.uploaded)),
		r.drv.check("cuStreamDestroy", r.drv.cuStreamDestroy(r.copies)),
		r.drv.check("cuStreamDestroy", r.drv.cuStreamDestroy(r.stream)),
		r.drv.check("cuDevicePrimaryCtxRelease", r.drv.cuDevicePrimaryCtxRelease(r.dev)))
	if err != nil {
		return fmt.Errorf("cuda: Close: %w", err)
	}
	return nil
}

var _ gpu.Runtime = (*Runtime)(nil)
