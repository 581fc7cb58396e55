package anndata

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/scbench/scbench/anndata/zarr"
	"github.com/scbench/scbench/internal/freelist"
	"github.com/scbench/scbench/sparse"
)

// Streaming X: a planner goroutine walks the row chunks in order. For each
// it allocates the chunk's CSR and queues one task per zarr chunk of
// X/data and X/indices that overlaps the chunk's values. A zarr chunk that
// lies wholly inside the row chunk is decoded straight into the CSR's
// slices; one that straddles row chunks is decoded once into a pooled
// buffer (a sharedUnit) and each row chunk copies its part out. Workers run
// the tasks in queue order; the consumer takes row chunks in order, waiting
// for each chunk's tasks. At most Prefetch row chunks wait ready ahead of
// the consumer, plus the one being planned.
//
// A consumer that is done with a chunk may hand its memory back (Release);
// the planner then fills later chunks' CSRs into it instead of allocating
// and zeroing fresh ones: at hundreds of megabytes per chunk, the zeroing
// (and the page faults) took 10-18% of the reader's CPU time, all on the
// planner's goroutine, ahead of every chunk.

// ChunkReader yields row chunks of X. Use it like bufio.Scanner:
// for r.Next() { c := r.Chunk() }; then r.Err(); and Close. Each Chunk owns
// its memory, unless the consumer hands it back with Release. A
// ChunkReader is used from one goroutine.
type ChunkReader struct {
	f      *File
	rows   int
	ctx    context.Context // canceled by Close and on errors
	cancel context.CancelFunc
	user   context.Context
	ready  chan *rowJob
	tasks  chan task
	wg     sync.WaitGroup
	indptr []int64

	planErr error // set by the planner before it closes ready
	cur     Chunk
	err     error
	closed  bool

	// Buffers of released chunks, for the planner (see Release).
	freeMu   sync.Mutex
	free     []csrBufs
	freeMax  int
	finished bool // the planner is gone: keep nothing
}

// csrBufs is the memory of a released chunk.
type csrBufs struct {
	indptr  []int64
	indices []int32
	data    []float32
}

type task struct {
	job *rowJob // nil for a shared unit's decode, which always runs
	fn  func() error
}

// rowJob is one row chunk being decoded.
type rowJob struct {
	start   int
	csr     *sparse.CSR
	pending atomic.Int64 // tasks not yet finished, plus the planner's hold
	done    chan struct{}
	mu      sync.Mutex
	err     error
	// finish assembles the chunk once its tasks are done (dense X).
	finish func() error
}

func (j *rowJob) fail(err error) {
	j.mu.Lock()
	if j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
}

func (j *rowJob) release() {
	if j.pending.Add(-1) == 0 {
		close(j.done)
	}
}

// RowChunks streams X in row chunks, in order, decoding ahead of the
// consumer on opt.Workers goroutines. Errors (a corrupt chunk, X/indptr not
// monotone, a column index out of range) surface through Err and name the
// rows concerned.
func (f *File) RowChunks(ctx context.Context, opt StreamOptions) *ChunkReader {
	if opt.Rows <= 0 {
		opt.Rows = 20000
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Prefetch <= 0 {
		opt.Prefetch = 2
	}
	if ctx == nil {
		ctx = context.Background()
	}
	inner, cancel := context.WithCancel(ctx)
	r := &ChunkReader{
		f: f, rows: opt.Rows, ctx: inner, cancel: cancel, user: ctx,
		ready: make(chan *rowJob, opt.Prefetch),
		tasks: make(chan task, 4*opt.Workers),
		// The planner holds at most Prefetch+1 chunks beyond the consumer's.
		freeMax: opt.Prefetch + 2,
	}
	r.wg.Add(1 + opt.Workers)
	go r.plan()
	for range opt.Workers {
		go r.work()
	}
	return r
}

// Next waits for the next row chunk; it returns false at the end of X, on
// an error (see Err) and after Close.
func (r *ChunkReader) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	r.cur = Chunk{}
	var job *rowJob
	var ok bool
	select {
	case job, ok = <-r.ready:
		if !ok {
			r.err = r.planErr
			if r.err == nil {
				r.err = r.user.Err()
			}
			r.shutdown()
			return false
		}
	case <-r.ctx.Done():
		r.err = r.user.Err()
		r.shutdown()
		return false
	}
	select {
	case <-job.done:
	case <-r.ctx.Done():
		r.err = r.user.Err()
		r.shutdown()
		return false
	}
	if r.ctx.Err() != nil { // tasks are skipped once canceled
		r.err = r.user.Err()
		r.shutdown()
		return false
	}
	if job.err == nil && job.finish != nil {
		job.err = job.finish()
	}
	if job.err != nil {
		r.err = job.err
		r.shutdown()
		return false
	}
	r.cur = Chunk{Start: job.start, CSR: job.csr}
	return true
}

// Chunk returns the row chunk that the last successful Next decoded.
func (r *ChunkReader) Chunk() Chunk { return r.cur }

// Err returns the first error met, or nil at the end of X or after Close.
func (r *ChunkReader) Err() error { return r.err }

// Close stops the decoding goroutines and waits for them.
func (r *ChunkReader) Close() error {
	r.closed = true
	r.shutdown()
	return nil
}

func (r *ChunkReader) shutdown() {
	r.cancel()
	r.wg.Wait()
	r.freeMu.Lock()
	r.free, r.finished = nil, true // let the GC have the buffers
	r.freeMu.Unlock()
}

// Release hands the memory of chunk c, which this reader returned, back to
// the reader, which decodes a later chunk into it instead of allocating a
// new one. Call it only once nothing refers to c's Indptr, Indices or Data
// any more (a backend that shares host memory with an uploaded chunk
// counts). Release empties c's CSR (its slices become nil), so that a use
// after it fails at once and a second Release does nothing. Releasing is
// optional: chunks not released are garbage collected as usual.
func (r *ChunkReader) Release(c Chunk) {
	m := c.CSR
	if m == nil || m.Indptr == nil {
		return
	}
	b := csrBufs{m.Indptr, m.Indices, m.Data}
	*m = sparse.CSR{}
	if r.f.xDense != nil {
		return // dense X assembles its chunks elsewhere; nothing reuses them
	}
	r.freeMu.Lock()
	defer r.freeMu.Unlock()
	if r.finished || len(r.free) >= r.freeMax {
		return
	}
	r.free = append(r.free, b)
}

// newCSR returns a rows x cols CSR with room for nnz values, in the memory
// of a released chunk where there is one. Its slices are not zeroed: the
// planner's tasks overwrite every element.
func (r *ChunkReader) newCSR(rows, cols int, nnz int64) *sparse.CSR {
	r.freeMu.Lock()
	var b csrBufs
	if k := len(r.free); k > 0 {
		b = r.free[k-1]
		r.free[k-1] = csrBufs{}
		r.free = r.free[:k-1]
	}
	r.freeMu.Unlock()
	return &sparse.CSR{Rows: rows, Cols: cols,
		Indptr:  reuse(b.indptr, int64(rows+1)),
		Indices: reuse(b.indices, nnz),
		Data:    reuse(b.data, nnz),
	}
}

// reuse returns buf with length n, or a new slice if buf is too small.
// New slices get 1/32 of headroom, so that a released chunk's memory fits
// the next chunks, which are a little larger as often as not. (Without it
// on the first chunks, which are allocated before any is released, most
// chunks of a 200,000-cell store were allocated afresh and their pages
// zeroed by the kernel.)
func reuse[T any](buf []T, n int64) []T {
	if int64(cap(buf)) >= n {
		return buf[:n]
	}
	return make([]T, n, n+n/32)
}

func (r *ChunkReader) work() {
	defer r.wg.Done()
	for t := range r.tasks {
		if t.job == nil {
			t.fn() // shared-unit decodes record their own errors
			continue
		}
		if r.ctx.Err() == nil {
			if err := t.fn(); err != nil {
				t.job.fail(err)
			}
		}
		t.job.release()
	}
}

// submit queues fn for job; it returns false once the reader is canceled.
func (r *ChunkReader) submit(job *rowJob, fn func() error) bool {
	if job != nil {
		job.pending.Add(1)
	}
	select {
	case r.tasks <- task{job, fn}:
		return true
	case <-r.ctx.Done():
		if job != nil {
			job.release()
		}
		return false
	}
}

func (r *ChunkReader) plan() {
	defer r.wg.Done()
	defer close(r.tasks)
	defer close(r.ready)
	f := r.f
	if f.xDense != nil {
		r.planErr = r.planDense()
		return
	}
	if err := r.readIndptr(); err != nil {
		r.planErr = err
		return
	}
	data := &arrStream[float32]{a: f.xData}
	indices := &arrStream[int32]{a: f.xIndices, check: r.checkIndices}
	defer data.drop()
	defer indices.drop()
	for lo := 0; lo < f.NObs; lo += r.rows {
		hi := min(lo+r.rows, f.NObs)
		p0, p1 := r.indptr[lo], r.indptr[hi]
		m := r.newCSR(hi-lo, f.NVar, p1-p0)
		for i := range m.Indptr {
			m.Indptr[i] = r.indptr[lo+i] - p0
		}
		job := &rowJob{start: lo, csr: m, done: make(chan struct{})}
		job.pending.Store(1)
		ok := data.plan(r, job, p0, p1, m.Data) && indices.plan(r, job, p0, p1, m.Indices)
		job.release()
		if !ok {
			return
		}
		select {
		case r.ready <- job:
		case <-r.ctx.Done():
			return
		}
	}
}

// readIndptr reads X/indptr whole (NObs+1 integers) and checks it.
func (r *ChunkReader) readIndptr() error {
	f := r.f
	ptr := make([]int64, f.NObs+1)
	if err := f.xIndptr.ReadAll(ptr); err != nil {
		return fmt.Errorf("anndata: X/indptr: %w", err)
	}
	if ptr[0] != 0 {
		return f.errf("X/indptr starts at %d, not 0", ptr[0])
	}
	for i := range f.NObs {
		if ptr[i+1] < ptr[i] {
			return f.errf("X/indptr is not monotone: it decreases at row %d (%d then %d)", i, ptr[i], ptr[i+1])
		}
	}
	if end := ptr[f.NObs]; end != f.NNZ {
		return f.errf("X/indptr ends at %d but X/data and X/indices hold %d values", end, f.NNZ)
	}
	r.indptr = ptr
	return nil
}

// rowOf returns the row that holds value number e.
func (r *ChunkReader) rowOf(e int64) int {
	return sort.Search(r.f.NObs, func(i int) bool { return r.indptr[i+1] > e })
}

// checkIndices reports the first column index of v (values lo, lo+1, ...)
// outside [0, NVar).
func (r *ChunkReader) checkIndices(v []int32, lo int64) error {
	n := int32(r.f.NVar)
	if maxUint32(v) < uint32(n) {
		return nil
	}
	for i, c := range v {
		if uint32(c) >= uint32(n) {
			e := lo + int64(i)
			return r.f.errf("X/indices: row %d has column index %d, outside [0, %d) (value %d of X)", r.rowOf(e), c, n, e)
		}
	}
	return nil
}

// maxUint32Go returns the largest element of v read as uint32, so that a
// negative index counts as huge. It has no branch per element and four
// independent maxima, which makes the check of every column index cost a
// few percent of the decoding rather than a tenth. (maxUint32 uses SIMD
// where there is a kernel.)
func maxUint32Go(v []int32) uint32 {
	var m0, m1, m2, m3 uint32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		m0 = max(m0, uint32(w[0]))
		m1 = max(m1, uint32(w[1]))
		m2 = max(m2, uint32(w[2]))
		m3 = max(m3, uint32(w[3]))
	}
	for ; i < len(v); i++ {
		m0 = max(m0, uint32(v[i]))
	}
	return max(m0, m1, m2, m3)
}

// sharedUnit is a zarr chunk decoded once for several row chunks.
type sharedUnit[T float32 | int32] struct {
	done chan struct{}
	buf  *[]T
	err  error
	refs atomic.Int64 // copy tasks not yet run, plus the planner's hold
}

// arrStream plans the reads of one of X/data and X/indices.
type arrStream[T float32 | int32] struct {
	a     *zarr.Array
	check func(v []T, lo int64) error
	pool  freelist.List[*[]T] // of one zarr chunk each (see freelist)
	cur   *sharedUnit[T]
	curK  int64
}

func (s *arrStream[T]) put(su *sharedUnit[T]) {
	if su.refs.Add(-1) == 0 && su.buf != nil {
		s.pool.Put(su.buf)
	}
}

// drop lets go of the planner's hold on the current shared unit.
func (s *arrStream[T]) drop() {
	if s.cur != nil {
		s.put(s.cur)
		s.cur = nil
	}
}

// plan queues the tasks that fill dst with values [p0, p1) of the array.
func (s *arrStream[T]) plan(r *ChunkReader, job *rowJob, p0, p1 int64, dst []T) bool {
	if p0 == p1 {
		return true
	}
	a := s.a
	ulen := a.ChunkLen()
	for k := p0 / ulen; k*ulen < p1; k++ {
		ulo, uhi := a.ChunkRange(int(k))
		lo, hi := max(ulo, p0), min(uhi, p1)
		out := dst[lo-p0 : hi-p0]
		if lo == ulo && hi == uhi {
			ok := r.submit(job, func() error {
				if err := a.ReadRange(lo, hi, out); err != nil {
					return fmt.Errorf("anndata: rows %d..%d: %w", r.rowOf(lo), r.rowOf(hi-1), err)
				}
				if s.check != nil {
					return s.check(out, lo)
				}
				return nil
			})
			if !ok {
				return false
			}
			continue
		}
		su := s.shared(r, k, ulo, uhi)
		if su == nil {
			return false
		}
		su.refs.Add(1)
		off := lo - ulo
		ok := r.submit(job, func() error {
			<-su.done
			defer s.put(su)
			if su.err != nil {
				return su.err
			}
			copy(out, (*su.buf)[off:off+int64(len(out))])
			if s.check != nil {
				return s.check(out, lo)
			}
			return nil
		})
		if !ok {
			su.refs.Add(-1)
			return false
		}
	}
	return true
}

// shared returns the shared unit for zarr chunk k, queuing its decode the
// first time it is asked for. Row chunks arrive in order, so only the most
// recent shared unit can be asked for again.
func (s *arrStream[T]) shared(r *ChunkReader, k, ulo, uhi int64) *sharedUnit[T] {
	if s.cur != nil && s.curK == k {
		return s.cur
	}
	s.drop()
	su := &sharedUnit[T]{done: make(chan struct{})}
	su.refs.Store(1)
	buf, _ := s.pool.Get()
	if buf == nil || int64(cap(*buf)) < uhi-ulo {
		b := make([]T, s.a.ChunkLen())
		buf = &b
	}
	*buf = (*buf)[:uhi-ulo]
	su.buf = buf
	ok := r.submit(nil, func() error {
		defer close(su.done)
		if err := r.ctx.Err(); err != nil {
			su.err = err
			return nil
		}
		if err := s.a.ReadRange(ulo, uhi, *buf); err != nil {
			su.err = fmt.Errorf("anndata: rows %d..%d: %w", r.rowOf(ulo), r.rowOf(uhi-1), err)
		}
		return nil
	})
	if !ok {
		return nil
	}
	s.cur, s.curK = su, k
	return su
}
