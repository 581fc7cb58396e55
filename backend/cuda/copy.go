package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/scbench/scbench/backend/gpu"
)

// Host copies go through two pinned staging buffers, used in turn: the
// driver copies pinned memory by DMA, asynchronously, while it copies Go
// memory (pageable) through its own staging, synchronously. Each buffer's
// event is recorded on the stream after the copy that uses it, so the host
// waits only before it touches a buffer the stream may still be using, and
// the host's copy of one chunk overlaps the DMA of the other.

// stage allocates the staging buffers and their events on first use.
// It runs between enter and exit.
func (r *Runtime) stage() error {
	if r.bufs[0] != nil {
		return nil
	}
	for i := range r.bufs {
		var p unsafe.Pointer
		if err := r.drv.check("cuMemHostAlloc", r.drv.cuMemHostAlloc(&p, uintptr(r.chunk), 0)); err != nil {
			r.unstage()
			return fmt.Errorf("cuda: pinned staging buffer of %d bytes: %w", r.chunk, err)
		}
		r.bufs[i] = unsafe.Slice((*byte)(p), r.chunk)
		if err := r.drv.check("cuEventCreate", r.drv.cuEventCreate(&r.evs[i], eventDisableTiming)); err != nil {
			r.unstage()
			return fmt.Errorf("cuda: %w", err)
		}
	}
	return nil
}

// unstage frees what stage allocated.
func (r *Runtime) unstage() {
	for i := range r.bufs {
		if r.evs[i] != 0 {
			r.drv.cuEventDestroy(r.evs[i])
			r.evs[i] = 0
		}
		if r.bufs[i] != nil {
			r.drv.cuMemFreeHost(unsafe.Pointer(&r.bufs[i][0]))
			r.bufs[i] = nil
		}
		r.busy[i] = false
	}
}

// wait blocks until the stream is done with staging buffer i.
func (r *Runtime) wait(i int) error {
	if !r.busy[i] {
		return nil
	}
	if err := r.drv.check("cuEventSynchronize", r.drv.cuEventSynchronize(r.evs[i])); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	r.busy[i] = false
	return nil
}

// used records that the work issued so far on stream s uses buffer i.
func (r *Runtime) used(i int, s uintptr) error {
	if err := r.drv.check("cuEventRecord", r.drv.cuEventRecord(r.evs[i], s)); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	r.busy[i] = true
	return nil
}

// ToDevice implements gpu.Runtime. It returns when src has been copied
// into pinned memory; the DMA of the last chunk or two may still run.
//
// An upload into an allocation that no work on the compute stream has
// used yet (a chunk's fresh buffers) goes on the copy stream, where it
// runs beside the kernels already issued; the compute stream then waits
// for it (an event) before anything issued after ToDevice. Any other
// upload goes on the compute stream, after the work that may read what
// it overwrites.
func (r *Runtime) ToDevice(m gpu.Mem, off int64, src []byte) error {
	cm, err := r.live("ToDevice", m, off, int64(len(src)))
	if err != nil || len(src) == 0 {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.stage(); err != nil {
		return err
	}
	s := r.stream
	if !cm.used && !r.oneQueue {
		s = r.copies
	}
	if err := r.upload(cm, off, src, s); err != nil {
		return err
	}
	if s == r.copies {
		if err := r.drv.check("cuEventRecord", r.drv.cuEventRecord(r.uploaded, r.copies)); err != nil {
			return fmt.Errorf("cuda: %w", err)
		}
		if err := r.drv.check("cuStreamWaitEvent", r.drv.cuStreamWaitEvent(r.stream, r.uploaded, 0)); err != nil {
			return fmt.Errorf("cuda: %w", err)
		}
	}
	return nil
}

// upload copies src through the staging buffers to cm from byte off on
// stream s.
func (r *Runtime) upload(cm *mem, off int64, src []byte, s uintptr) error {
	for pos := 0; pos < len(src); {
		i := r.next
		r.next ^= 1
		if err := r.wait(i); err != nil {
			return err
		}
		n := hostCopy(r.bufs[i], src[pos:])
		dst := cm.ptr + uint64(off) + uint64(pos)
		if err := r.drv.check("cuMemcpyHtoDAsync", r.drv.cuMemcpyHtoDAsync(dst, unsafe.Pointer(&r.bufs[i][0]), uintptr(n), s)); err != nil {
			return fmt.Errorf("cuda: %w", err)
		}
		if err := r.used(i, s); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// ToHost implements gpu.Runtime. Chunk k+1's DMA is issued before the
// host copies chunk k out of pinned memory.
func (r *Runtime) ToHost(dst []byte, m gpu.Mem, off int64) error {
	cm, err := r.memOf("ToHost", m, off, int64(len(dst)))
	if err != nil || len(dst) == 0 {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.stage(); err != nil {
		return err
	}
	type pending struct{ buf, pos, n int }
	var prev *pending
	// drain copies the previous chunk out once its DMA is done.
	drain := func() error {
		if prev == nil {
			return nil
		}
		if err := r.wait(prev.buf); err != nil {
			return err
		}
		hostCopy(dst[prev.pos:prev.pos+prev.n], r.bufs[prev.buf])
		prev = nil
		return nil
	}
	for pos := 0; pos < len(dst); {
		i := r.next
		r.next ^= 1
		// A DMA into buffer i runs after the earlier uses of it: those
		// on the compute stream by its order, and uploads from it on
		// the copy stream because the compute stream has waited for
		// each of those. So only the host must wait, and it has
		// (drain).
		n := min(r.chunk, len(dst)-pos)
		src := cm.ptr + uint64(off) + uint64(pos)
		if err := r.drv.check("cuMemcpyDtoHAsync", r.drv.cuMemcpyDtoHAsync(unsafe.Pointer(&r.bufs[i][0]), src, uintptr(n), r.stream)); err != nil {
			return fmt.Errorf("cuda: %w", err)
		}
		if err := r.used(i, r.stream); err != nil {
			return err
		}
		if err := drain(); err != nil {
			return err
		}
		prev = &pending{buf: i, pos: pos, n: n}
		pos += n
	}
	return drain()
}

// hostCopy is copy, split over several goroutines for large sizes: one
// core's memmove reaches a fraction of the memory bandwidth, less than
// the DMA's.
func hostCopy(dst, src []byte) int {
	n := min(len(dst), len(src))
	const part = 4 << 20
	p := min(runtime.GOMAXPROCS(0), n/part, 8)
	if p < 2 {
		return copy(dst, src)
	}
	step := (n + p - 1) / p
	var wg sync.WaitGroup
	for lo := step; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
	}
	copy(dst[:step], src[:step])
	wg.Wait()
	return n
}
