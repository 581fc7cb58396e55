// Package directio writes a temporary file and reads it back, front to
// back, with direct I/O where the system allows it, bypassing the page
// cache.
//
// Pipeline's pass 2 spills the scaled HVG matrix to such a file when it
// does not fit its memory budget (2.9 GB at 1.3M cells) and pass 3 reads
// it back. Through the page cache the kernel copies every byte into
// freshly allocated cache pages and out again: on the 2-core development
// VM that cost 6.9 CPU-seconds for the write and 1.2 for the read of the
// 2.9 GB file, fresh pages being dear there. With O_DIRECT the disk takes
// the bytes from our buffers and puts them back into them (on that VM's
// disk 1.7 GB/s written, 2.8 GB/s read), and goroutines write behind and
// read ahead while the caller computes.
//
// A slow disk would make pass 3 wait on the file's reads, which the page
// cache (RAM the process does not count) would have served: when the
// first direct writes (slowProbe bytes) run below slowRate, the File
// clears O_DIRECT and writes and reads the rest through the page cache.
//
// Direct I/O wants buffers, sizes and offsets aligned to the device's
// block: the File writes whole 4 KiB-aligned blocks from aligned buffers,
// pads the last one with zeros and keeps the logical size. Where O_DIRECT
// is missing (systems other than Linux) or refused (tmpfs before Linux 6.6
// refuses it when the file is opened, some file systems at the first
// write, which CreateTemp tries), the File falls back to buffered I/O
// through the page cache, with the same behaviour.
package directio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"
)

const (
	align   = 4096    // the block size direct I/O is aligned to
	bufSize = 4 << 20 // bytes per direct write and read
	// slowProbe and slowRate: below slowRate bytes a second over the first
	// slowProbe bytes of direct writes, the disk is too slow for direct
	// I/O. The page cache is dear too: at 1.3M cells its copies of the
	// 2.9 GB file cost about 8 CPU-seconds (4 s of pass 2 on two cores),
	// and pay only where pass 3, whose product takes about 2.4 s, would
	// wait longer than that on the disk: 2.9 GB in more than 6.4 s, below
	// about 0.45 GB/s. (This VM's disk writes 1.5-1.7 GB/s direct, but a
	// first write of the file can stall: at 1e9 the probe sent whole runs
	// through the page cache.)
	slowProbe = 64 << 20
	slowRate  = 0.45e9
	nbuf      = 12 // write buffers (48 MiB): more than a chunk of the cache (46 MB at 1.3M cells), which pass 2 writes at once; with 3, pass 2 waited 0.57 s a GB on the disk
)

// errStopped is what a reader gives once Close, or the next Reader call,
// has stopped it.
var errStopped = errors.New("directio: reader used after Close or the next Reader call")

// File is a temporary file written once, front to back, then read back
// from its start, as many times as wanted. It is not safe for concurrent
// use.
type File struct {
	f      *os.File
	name   string
	direct bool
	size   int64 // logical bytes written
	sealed bool  // the tail is written: no more writes
	err    error // the first failed direct write: every later call fails

	// Buffered mode.
	bw *bufio.Writer
	br *bufio.Reader

	// Direct mode.
	bufs [][]byte // the aligned buffers: the writer's, then more for readers
	buf  []byte   // the buffer being filled
	n    int      // bytes pending in buf
	w    *writer  // the write-behind goroutine, until sealed
	rd   *reader  // the current reader, if any

	// The slow-disk test: over the first probe bytes written direct, a
	// rate below minRate bytes a second turns direct I/O off.
	probe   int64
	minRate float64
}

// CreateTemp creates a new temporary file in dir (with os.CreateTemp's dir
// and pattern) for writing, with direct I/O when a first direct write
// succeeds. Close removes it.
func CreateTemp(dir, pattern string) (*File, error) {
	return createTemp(dir, pattern, openDirect, slowProbe, slowRate)
}

// createTemp is CreateTemp, opening the file for direct I/O with open (nil:
// buffered I/O only; open returns nil when the system refuses), and
// falling back to buffered I/O when the first probe bytes of direct
// writes run below minRate bytes a second.
func createTemp(dir, pattern string, open func(path string) *os.File, probe int64, minRate float64) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	d := &File{f: f, name: f.Name(), probe: probe, minRate: minRate}
	if open != nil {
		if g := open(d.name); g != nil {
			bufs := make([][]byte, nbuf)
			for i := range bufs {
				bufs[i] = alignedBuf(bufSize)
			}
			// Some file systems take O_DIRECT at open and refuse the
			// first write: probe with one block of zeros.
			if _, err := g.WriteAt(bufs[0][:align], 0); err == nil {
				f.Close()
				d.f, d.direct, d.bufs = g, true, bufs
				d.startWriter()
				return d, nil
			}
			g.Close()
		}
	}
	d.bw = bufio.NewWriterSize(f, 1<<20)
	return d, nil
}

// Name returns the file's path.
func (d *File) Name() string { return d.name }

// Direct reports whether the file bypasses the page cache. Before Reader
// it says what the File started with; a slow disk may turn it off.
func (d *File) Direct() bool { return d.direct }

// Size returns the number of bytes written.
func (d *File) Size() int64 { return d.size }

// Write appends p. It fails once Reader has been called. In direct mode a
// failed write of an earlier buffer may be reported by a later call.
func (d *File) Write(p []byte) (int, error) {
	if d.sealed {
		return 0, fmt.Errorf("directio: write to %s after reading it", d.name)
	}
	if !d.direct {
		n, err := d.bw.Write(p)
		d.size += int64(n)
		if err != nil {
			err = fmt.Errorf("directio: writing %s: %w", d.name, err)
		}
		return n, err
	}
	written := 0
	for len(p) > 0 {
		if d.err != nil {
			return written, d.err
		}
		k := copy(d.buf[d.n:], p)
		d.n += k
		p = p[k:]
		written += k
		d.size += int64(k)
		if d.n == len(d.buf) {
			d.buf, d.err = d.w.swap(d.buf)
			d.n = 0
		}
	}
	return written, d.err
}

// seal writes what is pending (in direct mode the partial last block,
// padded with zeros to a whole block) and ends the writing.
func (d *File) seal() error {
	if d.sealed {
		return d.err
	}
	d.sealed = true
	if !d.direct {
		if err := d.bw.Flush(); err != nil {
			d.err = fmt.Errorf("directio: writing %s: %w", d.name, err)
		}
		return d.err
	}
	if d.err == nil && d.n > 0 {
		end := (d.n + align - 1) / align * align
		clear(d.buf[d.n:end])
		d.w.full <- d.buf[:end]
	}
	d.buf, d.n = nil, 0
	if err := d.w.stop(); d.err == nil {
		d.err = err
	}
	if d.w.slow {
		d.direct = false // the rest went to the page cache: read it there
	}
	d.w = nil
	return d.err
}

// Reader ends the writing and returns a reader of the whole file from its
// start. A reader returned before is no longer valid. In direct mode a
// goroutine reads up to ahead bytes ahead of the caller (at least 8 MiB):
// as many as the caller consumes between its computations, for the disk
// to keep up while it computes. The goroutine ends at the end of the file,
// at the next Reader call or at Close.
func (d *File) Reader(ahead int64) (io.Reader, error) {
	if err := d.seal(); err != nil {
		return nil, err
	}
	d.stopReader()
	if !d.direct {
		r := io.NewSectionReader(d.f, 0, d.size)
		if d.br == nil {
			d.br = bufio.NewReaderSize(r, 1<<20)
		} else {
			d.br.Reset(r)
		}
		return d.br, nil
	}
	// The buffers: the caller's, those ahead, and one more as the bytes
	// the caller wants straddle buffers.
	n := max(nbuf, int((ahead+bufSize-1)/bufSize)+2)
	for len(d.bufs) < n {
		d.bufs = append(d.bufs, alignedBuf(bufSize))
	}
	d.rd = d.readAhead(d.bufs[:n])
	return d.rd, nil
}

// Close stops the goroutines, closes the file and removes it. It may be
// called at any point, once.
func (d *File) Close() error {
	d.stopReader()
	if d.w != nil {
		d.w.stop()
		d.w = nil
	}
	d.sealed = true
	d.bufs, d.buf = nil, nil
	err := d.f.Close()
	if rerr := os.Remove(d.name); err == nil {
		err = rerr
	}
	return err
}

func (d *File) stopReader() {
	if d.rd != nil {
		d.rd.stop()
		d.rd = nil
	}
}

// writer writes the filled buffers in order in the background while the
// caller fills the next one.
type writer struct {
	full chan []byte // filled buffers to write
	free chan block  // written buffers, with the error of writing them
	done chan struct{}
	err  error // the first error, read after done
	slow bool  // the disk was slow: O_DIRECT cleared (read after done)
}

func (d *File) startWriter() {
	w := &writer{full: make(chan []byte, nbuf), free: make(chan block, nbuf), done: make(chan struct{})}
	d.buf, d.w = d.bufs[0], w
	for _, b := range d.bufs[1:nbuf] {
		w.free <- block{buf: b}
	}
	f, name, probe, minRate := d.f, d.name, d.probe, d.minRate
	go func() {
		defer close(w.done)
		off := int64(0)
		var spent time.Duration // in the first probe bytes' writes
		for b := range w.full {
			if w.err == nil {
				start := time.Now()
				if _, err := f.WriteAt(b, off); err != nil {
					w.err = fmt.Errorf("directio: writing %s at byte %d: %w", name, off, err)
				}
				if off < probe {
					spent += time.Since(start)
					if end := off + int64(len(b)); end >= probe && float64(end) < minRate*spent.Seconds() && clearDirect(f) == nil {
						w.slow = true
					}
				}
				off += int64(len(b))
			}
			w.free <- block{buf: b, err: w.err}
		}
	}()
}

// swap hands the filled buffer b to the goroutine and returns the next one
// to fill, with the error of an earlier write if one failed.
func (w *writer) swap(b []byte) ([]byte, error) {
	w.full <- b // never blocks: the channel holds every buffer
	f := <-w.free
	return f.buf[:cap(f.buf)], f.err
}

// stop waits for the pending writes and ends the goroutine.
func (w *writer) stop() error {
	close(w.full)
	<-w.done
	return w.err
}

// block is an aligned buffer on its way between a goroutine and the
// caller: the bytes read into it, the error of reading or writing it.
type block struct {
	buf  []byte
	data []byte
	err  error
}

// reader serves the blocks that its goroutine reads ahead.
type reader struct {
	blocks chan block
	free   chan []byte
	quit   chan struct{}
	done   chan struct{}
	cur    []byte // the buffer being read from
	at     []byte // its unread part
	rest   int64  // logical bytes not yet returned
	err    error
}

// readAhead starts a reader from the file's start, reading into bufs.
func (d *File) readAhead(bufs [][]byte) *reader {
	r := &reader{blocks: make(chan block, len(bufs)), free: make(chan []byte, len(bufs)), quit: make(chan struct{}), done: make(chan struct{}), rest: d.size}
	for _, b := range bufs {
		r.free <- b
	}
	end := (d.size + align - 1) / align * align // the padded size
	go func() {
		defer close(r.done)
		for off := int64(0); off < end; {
			var buf []byte
			select {
			case buf = <-r.free:
			case <-r.quit:
				return
			}
			n, err := d.f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
			if err != nil {
				err = fmt.Errorf("directio: reading %s at byte %d: %w", d.name, off, err)
			}
			r.blocks <- block{buf: buf, data: buf[:n], err: err} // never blocks: the channel holds every buffer
			if err != nil {
				return
			}
			off += int64(n)
		}
	}()
	return r
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.at) == 0 {
		if r.rest == 0 {
			return 0, io.EOF
		}
		if r.cur != nil {
			r.free <- r.cur // never blocks: the channel holds every buffer
			r.cur = nil
		}
		b := <-r.blocks // the goroutine sends until the end or an error
		if b.err != nil {
			r.err = b.err
			return 0, r.err
		}
		r.cur, r.at = b.buf, b.data[:min(int64(len(b.data)), r.rest)]
	}
	n := copy(p, r.at)
	r.at = r.at[n:]
	r.rest -= int64(n)
	return n, nil
}

// stop ends the goroutine, waits for it, and makes Read fail from now on:
// the buffers go to the next reader.
func (r *reader) stop() {
	close(r.quit)
	<-r.done
	r.err, r.at = errStopped, nil
}

// alignedBuf returns n bytes starting at an address aligned to align.
func alignedBuf(n int) []byte {
	b := make([]byte, n+align)
	skip := (align - int(uintptrOf(b)%align)) % align
	return b[skip : skip+n : skip+n]
}

// uintptrOf returns the address of b's first byte.
func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
