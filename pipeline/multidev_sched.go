package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
)

// The chunk executor of a run on several devices (multidev.go): one reader,
// one driving goroutine per device, chunks handed out as devices ask for
// them, and per-chunk results put back in chunk order.

// mjob is one chunk of a pass for a device: a chunk of the store (c, read
// by the feeder) or a chunk that the device has held since pass 1 (dev).
type mjob struct {
	idx   int // chunk index: the idx-th chunk of the store
	start int // its first input row
	rows  int
	c     anndata.Chunk
	from  chunkIter // the reader of c, for Release
	dev   backend.CSR
	held  bool
	slot  int // a held chunk's place in its device's hold
}

// eachChunk runs work on the chunks of a pass: each device first takes the
// jobs own gives it (the chunks it holds), then, when stream is set, the
// chunks of the store that skip does not leave out, whichever device is
// free first taking the next. It returns the first error, naming the
// device and the chunk; the other devices stop at their next chunk.
func (m *multi) eachChunk(pass string, stream bool, skip func(idx int) bool, own func(d *mdev) []mjob, work func(d *mdev, j mjob) error) error {
	ctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	ch := make(chan mjob)
	var wg sync.WaitGroup
	var feedErr error
	if stream {
		wg.Go(func() {
			defer close(ch)
			if err := m.feed(ctx, pass, ch, skip); err != nil {
				feedErr = err
				cancel(err)
			}
		})
	} else {
		close(ch)
	}
	// A chunk of the store is started only while fewer than window
	// chunks before it are unfinished: what waits in the in-order
	// combiners (copies of the output's rows) stays bounded. The held
	// chunks are not held back: they are in memory already, and a device
	// held back on one of them while the chunk that all wait for is still
	// to be read would wait forever.
	g := newGate(4 * len(m.devs))
	stopWake := context.AfterFunc(ctx, g.wake)
	defer stopWake()
	total := chunkCount(m.nObs, m.opt.chunkRows())
	start := time.Now()
	var progMu sync.Mutex
	done, rows := 0, 0
	for _, d := range m.devs {
		u := d.pass(pass)
		wg.Go(func() {
			do := func(j mjob) bool {
				if ctx.Err() != nil || (!j.held && !g.enter(ctx, j.idx)) {
					return false
				}
				t := time.Now()
				err := work(d, j)
				g.finish(j.idx)
				u.Seconds += time.Since(t).Seconds()
				u.Chunks++
				if err != nil {
					cancel(fmt.Errorf("pipeline: %s: device %d (%s) on chunk %d (rows %d-%d of %s): %w", pass, d.i, d.name, j.idx, j.start, j.start+j.rows, m.in.path(), err))
					return false
				}
				progMu.Lock()
				done++
				rows += j.rows
				m.progress(pass, done, total, rows, start)
				progMu.Unlock()
				return true
			}
			for _, j := range own(d) {
				if !do(j) {
					return
				}
			}
			for j := range ch {
				if !do(j) {
					// Drain, so that the feeder is not left waiting
					// before it sees the cancellation.
					for range ch {
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		if feedErr != nil {
			return feedErr
		}
		if m.ctx.Err() != nil {
			return fmt.Errorf("pipeline: %s: %w", pass, m.ctx.Err())
		}
		return err
	}
	return nil
}

// feed reads the store once and sends its chunks, but those skip leaves
// out, to the devices.
func (m *multi) feed(ctx context.Context, pass string, ch chan<- mjob, skip func(int) bool) error {
	m.res.Report.BytesRead += m.xBytes
	chunks := m.in.chunks(ctx, anndata.StreamOptions{Rows: m.opt.chunkRows(), Workers: m.opt.ReadWorkers})
	defer chunks.Close()
	next, idx := 0, 0
	for chunks.Next() {
		c := chunks.Chunk()
		if err := m.checkChunk(c, next); err != nil {
			return err
		}
		j := mjob{idx: idx, start: c.Start, rows: c.Rows, c: c, from: chunks}
		next += c.Rows
		idx++
		if skip != nil && skip(j.idx) {
			chunks.Release(c)
			continue
		}
		select {
		case ch <- j:
		case <-ctx.Done():
			return nil
		}
	}
	if err := chunks.Err(); err != nil {
		if ctx.Err() != nil {
			return nil // a device failed or the run was canceled: that error is the one to report
		}
		return fmt.Errorf("pipeline: %s: %w", pass, err)
	}
	if next != m.nObs {
		return fmt.Errorf("pipeline: %s: the store %s ended after %d of its %d rows", pass, m.in.path(), next, m.nObs)
	}
	return nil
}

// inOrder hands values, put by index from several goroutines, to fn in
// index order 0, 1, 2, ...: a value that comes early waits (keep makes
// the copy it waits as) until those before it have been handed over. It
// makes the host's sums of per-chunk partial results, and the output's
// rows, independent of which device did which chunk.
type inOrder[T any] struct {
	mu      sync.Mutex
	next    int
	pending map[int]T
	fn      func(T) error
	keep    func(T) T
	err     error
}

func newInOrder[T any](fn func(T) error, keep func(T) T) *inOrder[T] {
	return &inOrder[T]{pending: map[int]T{}, fn: fn, keep: keep}
}

// put gives the value of index i.
func (o *inOrder[T]) put(i int, v T) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if i != o.next {
		if o.keep != nil {
			v = o.keep(v)
		}
		o.pending[i] = v
		return nil
	}
	for {
		if err := o.fn(v); err != nil {
			o.err = err
			return err
		}
		o.next++
		var ok bool
		if v, ok = o.pending[o.next]; !ok {
			return nil
		}
		delete(o.pending, o.next)
	}
}

// done checks that all n values were handed over.
func (o *inOrder[T]) done(n int) error {
	if o.err != nil {
		return o.err
	}
	if o.next != n || len(o.pending) != 0 {
		return fmt.Errorf("pipeline: %d of %d chunks combined, %d waiting", o.next, n, len(o.pending))
	}
	return nil
}

// gate holds back a chunk while window or more chunks before it are
// unfinished.
type gate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	window int
	low    int // the first unfinished chunk
	done   map[int]bool
}

func newGate(window int) *gate {
	g := &gate{window: window, done: map[int]bool{}}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits until chunk i may start; false when ctx ends first.
func (g *gate) enter(ctx context.Context, i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i >= g.low+g.window {
		if ctx.Err() != nil {
			return false
		}
		g.cond.Wait()
	}
	return ctx.Err() == nil
}

// finish records chunk i as finished.
func (g *gate) finish(i int) {
	g.mu.Lock()
	g.done[i] = true
	for g.done[g.low] {
		delete(g.done, g.low)
		g.low++
	}
	g.mu.Unlock()
	g.cond.Broadcast()
}

// wake wakes the waiting chunks (the run was canceled).
func (g *gate) wake() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cond.Broadcast()
}
