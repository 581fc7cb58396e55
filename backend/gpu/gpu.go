package gpu

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// Backend is a backend.Backend on one GPU, driven through a Runtime.
// Like every backend it is used by one goroutine at a time.
type Backend struct {
	rt   Runtime
	prog Program

	// blas is rt's vendor BLAS when it has one that loads (nil
	// otherwise, or when SCBENCH_GPU_BLAS=0): the large float64 products
	// and the Gram matrix go to it.
	blas VendorBLAS

	mu      sync.Mutex
	kernels map[string]Kernel
	closed  bool

	// live and peak are the bytes of the buffers allocated and not yet
	// freed, now and at most (buffers may be freed from any goroutine).
	live, peak atomic.Int64
}

// PeakMemory returns the most device memory the backend's buffers have
// taken at once.
func (be *Backend) PeakMemory() int64 { return be.peak.Load() }

// track records a new allocation of n bytes.
func (be *Backend) track(n int64) {
	now := be.live.Add(n)
	for {
		p := be.peak.Load()
		if now <= p || be.peak.CompareAndSwap(p, now) {
			return
		}
	}
}

// New compiles the kernels for rt and returns a backend that runs on it.
// The backend owns rt: Close closes it.
func New(rt Runtime) (*Backend, error) {
	prog, err := rt.Compile("scbench", Source(rt.Dialect()))
	if err != nil {
		return nil, fmt.Errorf("gpu: compiling the kernels: %w", err)
	}
	be := &Backend{rt: rt, prog: prog, kernels: map[string]Kernel{}}
	if vb, ok := rt.(VendorBLAS); ok && vb.BLAS() == nil && os.Getenv("SCBENCH_GPU_BLAS") != "0" {
		be.blas = vb
	}
	return be, nil
}

// Runtime returns the runtime the backend drives.
func (be *Backend) Runtime() Runtime { return be.rt }

// Device describes the device.
func (be *Backend) Device() backend.Device { return be.rt.Device() }

// Close releases the kernels and the device.
func (be *Backend) Close() error {
	if be.closed {
		return nil
	}
	be.closed = true
	be.prog.Release()
	return be.rt.Close()
}

// kernel returns the named kernel, looked up once.
func (be *Backend) kernel(name string) (Kernel, error) {
	be.mu.Lock()
	defer be.mu.Unlock()
	if k, ok := be.kernels[name]; ok {
		return k, nil
	}
	k, err := be.prog.Kernel(name)
	if err != nil {
		return nil, err
	}
	be.kernels[name] = k
	return k, nil
}

// launch runs the named kernel on a 1-D grid that covers n work-items in
// groups of local (n may be 0: nothing runs).
func (be *Backend) launch1D(name string, n int64, local int, args ...any) error {
	if n <= 0 {
		return nil
	}
	groups := (n + int64(local) - 1) / int64(local)
	return be.launch(name, [3]int{int(groups), 1, 1}, [3]int{local, 1, 1}, args...)
}

// launch runs the named kernel.
func (be *Backend) launch(name string, groups, local [3]int, args ...any) error {
	k, err := be.kernel(name)
	if err != nil {
		return err
	}
	if err := be.rt.Launch(k, groups, local, args...); err != nil {
		return fmt.Errorf("kernel %s: %w", name, err)
	}
	return nil
}

// Alloc returns a zeroed buffer of n elements.
func (be *Backend) Alloc(k backend.Kind, n int) (backend.Buffer, error) {
	if n < 0 || k.Size() == 0 {
		return nil, fmt.Errorf("%w: Alloc(%v, %d)", backend.ErrShape, k, n)
	}
	bytes := int64(n) * int64(k.Size())
	m, err := be.rt.Alloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("gpu: allocating %d x %v: %w", n, k, err)
	}
	if err := be.rt.Zero(m, 0, bytes); err != nil {
		be.rt.Free(m)
		return nil, fmt.Errorf("gpu: zeroing %d x %v: %w", n, k, err)
	}
	be.track(m.Size())
	return &buffer{rt: be.rt, be: be, mem: m, kind: k, n: n}, nil
}

// allocRaw returns a buffer whose contents are undefined (for outputs that
// a kernel writes in full).
func (be *Backend) allocRaw(k backend.Kind, n int) (*buffer, error) {
	m, err := be.rt.Alloc(int64(n) * int64(k.Size()))
	if err != nil {
		return nil, fmt.Errorf("gpu: allocating %d x %v: %w", n, k, err)
	}
	be.track(m.Size())
	return &buffer{rt: be.rt, be: be, mem: m, kind: k, n: n}, nil
}

// Write copies the host slice src into dst from element 0.
func (be *Backend) Write(dst backend.Buffer, src any) error {
	b, k, n, err := hostBytes(src)
	if err != nil {
		return fmt.Errorf("gpu: Write: %w", err)
	}
	if dst == nil || dst.Kind() != k || n > dst.Len() {
		return fmt.Errorf("gpu: Write: %w: %d x %v into %v", backend.ErrShape, n, k, describe(dst))
	}
	m, err := be.memOf("dst", dst, k, -1)
	if err != nil {
		return fmt.Errorf("gpu: Write: %w", err)
	}
	if n == 0 {
		return nil
	}
	return be.rt.ToDevice(m, 0, b)
}

// Read copies src's first len(host) elements into host.
func (be *Backend) Read(host any, src backend.Buffer) error {
	b, k, n, err := hostBytes(host)
	if err != nil {
		return fmt.Errorf("gpu: Read: %w", err)
	}
	if src == nil || src.Kind() != k || n > src.Len() {
		return fmt.Errorf("gpu: Read: %w: %d x %v from %v", backend.ErrShape, n, k, describe(src))
	}
	m, err := be.memOf("src", src, k, -1)
	if err != nil {
		return fmt.Errorf("gpu: Read: %w", err)
	}
	if n == 0 {
		return nil
	}
	return be.rt.ToHost(b, m, 0)
}

func describe(b backend.Buffer) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprintf("%d x %v", b.Len(), b.Kind())
}

// Upload copies a host CSR matrix to the device.
func (be *Backend) Upload(m *sparse.CSR) (backend.CSR, error) {
	if m == nil {
		return backend.CSR{}, errors.New("gpu: Upload: nil matrix")
	}
	nnz := int64(len(m.Data))
	if m.Rows < 0 || m.Cols < 0 {
		return backend.CSR{}, fmt.Errorf("gpu: Upload: %w: %d x %d matrix", backend.ErrShape, m.Rows, m.Cols)
	}
	if len(m.Indptr) != m.Rows+1 || int64(len(m.Indices)) != nnz {
		return backend.CSR{}, fmt.Errorf("gpu: Upload: %w: %d x %d matrix with %d row pointers, %d indices, %d values",
			backend.ErrShape, m.Rows, m.Cols, len(m.Indptr), len(m.Indices), nnz)
	}
	if m.Indptr[0] != 0 || m.Indptr[m.Rows] != nnz {
		return backend.CSR{}, fmt.Errorf("gpu: Upload: %w: row pointers run from %d to %d, want 0 to %d", backend.ErrShape, m.Indptr[0], m.Indptr[m.Rows], nnz)
	}
	out := backend.CSR{Rows: m.Rows, Cols: m.Cols, NNZ: nnz}
	var err error
	put := func(k backend.Kind, n int, src []byte) backend.Buffer {
		if err != nil {
			return nil
		}
		var b *buffer
		if b, err = be.allocRaw(k, n); err != nil {
			return nil
		}
		if len(src) > 0 {
			if err = be.rt.ToDevice(b.mem, 0, src); err != nil {
				err = fmt.Errorf("gpu: Upload: %w", err)
			}
		}
		return b
	}
	out.Indptr = put(backend.Int64, m.Rows+1, asBytes(m.Indptr))
	out.Indices = put(backend.Int32, int(nnz), asBytes(m.Indices))
	out.Data = put(backend.Float32, int(nnz), asBytes(m.Data))
	if err != nil {
		out.Free()
		return backend.CSR{}, err
	}
	return out, nil
}

// Download copies a device CSR matrix to the host.
func (be *Backend) Download(m backend.CSR) (*sparse.CSR, error) {
	if err := be.checkCSR("matrix", m); err != nil {
		return nil, fmt.Errorf("gpu: Download: %w", err)
	}
	h := &sparse.CSR{
		Rows:    m.Rows,
		Cols:    m.Cols,
		Indptr:  make([]int64, m.Rows+1),
		Indices: make([]int32, m.NNZ),
		Data:    make([]float32, m.NNZ),
	}
	if err := be.Read(h.Indptr, m.Indptr); err != nil {
		return nil, err
	}
	if err := be.Read(h.Indices, m.Indices); err != nil {
		return nil, err
	}
	if err := be.Read(h.Data, m.Data); err != nil {
		return nil, err
	}
	return h, nil
}

// checkCSR checks a device matrix's buffers: kinds, lengths, liveness.
func (be *Backend) checkCSR(name string, m backend.CSR) error {
	if m.Rows < 0 || m.Cols < 0 || m.NNZ < 0 {
		return fmt.Errorf("%w: %s is %d x %d with %d values", backend.ErrShape, name, m.Rows, m.Cols, m.NNZ)
	}
	if _, err := be.memOf(name+" row pointers", m.Indptr, backend.Int64, m.Rows+1); err != nil {
		return err
	}
	if _, err := be.memOf(name+" indices", m.Indices, backend.Int32, int(m.NNZ)); err != nil {
		return err
	}
	if _, err := be.memOf(name+" values", m.Data, backend.Float32, int(m.NNZ)); err != nil {
		return err
	}
	return nil
}

// csrMems returns a checked matrix's three allocations.
func (be *Backend) csrMems(name string, m backend.CSR) (indptr, indices, data Mem, err error) {
	if err = be.checkCSR(name, m); err != nil {
		return nil, nil, nil, err
	}
	return m.Indptr.(*buffer).mem, m.Indices.(*buffer).mem, m.Data.(*buffer).mem, nil
}

var _ backend.Backend = (*Backend)(nil)

// Sync waits for the work issued so far: operations may return before the
// device has done them.
func (be *Backend) Sync() error { return be.rt.Sync() }
