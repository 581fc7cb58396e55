package mtx

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/scbench/scbench/sparse"
)

// DefaultMemoryBudget is the memory budget when none is given.
const DefaultMemoryBudget = 2 << 30

// RowsOptions configures Dataset.Rows.
type RowsOptions struct {
	// MemoryBudget bounds the memory used: text and parsed entries in
	// flight, chunk buffers, per-cell counts, and a third of what is left
	// kept free for the sink. 0 means DefaultMemoryBudget.
	MemoryBudget int64
	// Workers is the number of parser goroutines; 0 means GOMAXPROCS.
	Workers int
	// Genes maps each gene (matrix row) of the file to its column in the
	// output, -1 to drop it; nil keeps every gene in file order. Frames
	// returns it.
	Genes []int32
	// Progress, if set, is called on the calling goroutine after each block
	// of text (about 1 MiB); it must be quick.
	Progress func(Progress)

	// Test hooks: entries per chunk buffer and bytes per text block.
	chunkEntries int
	blockSize    int
}

// Progress describes how far a pass over the matrix file has come.
type Progress struct {
	Pass   int    // pass number, from 1
	Passes int    // passes planned; 0 while not known
	Kind   string // "stream", "count" or "block"
	Done   int64  // bytes of the matrix file read in this pass
	Total  int64  // size of the matrix file
}

// Stats describes a finished conversion.
type Stats struct {
	Cells, Genes int   // shape of X: cells x genes kept
	FileGenes    int   // genes (rows) in the matrix file
	Entries      int64 // entry lines in the file
	NNZ          int64 // values stored in X: duplicates summed, explicit zeros kept, dropped genes gone
	Duplicates   int64 // entries summed into an earlier entry of the same cell and gene
	Sorted       bool  // the file was sorted by cell and streamed in one pass
	Passes       int   // passes over the matrix file, including an abandoned streaming pass
	TextBytes    int64 // matrix text parsed, over all passes
	FileBytes    int64 // size of the matrix file
	BufferBytes  int64 // peak bytes of chunk buffers and per-cell counts
	Elapsed      time.Duration
}

// TextMBps is the parse throughput: megabytes (1e6) of text per second.
func (s Stats) TextMBps() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.TextBytes) / 1e6 / s.Elapsed.Seconds()
}

// memPlan splits the memory budget.
type memPlan struct {
	workers, blockSize    int
	streamE, streamRows   int // per chunk buffer; the streaming pass has two
	blockE, blockRows     int // the one block buffer of the multi-pass path
	pipeline, fixed, rest int64
}

// Bytes per entry and per row of the chunk buffers. A buffer takes up to
// one row per rowsPer entries: empty cells cost a row pointer each.
const (
	entryBytes = 8 // int32 index + float32 value
	rowBytes   = 8 // int64 row pointer (+8 for the block path's cursor)
	rowsPer    = 4
)

func planMemory(opt RowsOptions, cells, genes int) memPlan {
	p := memPlan{workers: opt.Workers, blockSize: opt.blockSize}
	if p.workers <= 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	if p.blockSize <= 0 {
		p.blockSize = defaultBlockSize
	}
	budget := opt.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	// Each block in flight holds its text and about as many bytes of parsed
	// entries (12 bytes per entry; a 10x line has 10 to 20 bytes).
	// The file readers hold 1 MiB of read buffer and ~100 KiB for gzip.
	p.pipeline = int64(2*p.workers+2)*int64(p.blockSize)*2 + 2<<20
	p.fixed = p.pipeline + 4*int64(genes) + 8*int64(cells)
	p.rest = max(budget-p.fixed, 1<<20)
	// Streaming: two buffers of a third each, a third for the sink.
	perEntry := int64(entryBytes + rowBytes/rowsPer)
	p.streamE = int(p.rest / 3 / perEntry)
	// Multi-pass: one buffer of two thirds (fewer passes), a third for the sink.
	p.blockE = int(p.rest * 2 / 3 / (entryBytes + 2*rowBytes/rowsPer))
	if opt.chunkEntries > 0 {
		p.streamE, p.blockE = opt.chunkEntries, opt.chunkEntries
	}
	p.streamRows = p.streamE/rowsPer + 1
	p.blockRows = p.blockE/rowsPer + 1
	return p
}

// fit shrinks the buffers to what a file of these shape and entries can
// fill, so that small files do not allocate the whole budget.
func (p *memPlan) fit(h Header) {
	most := h.Entries
	if h.Symmetry != General {
		most *= 2
	}
	p.streamE = int(min(int64(p.streamE), most+1))
	p.streamRows = min(p.streamRows, h.Cols+1)
	p.blockRows = min(p.blockRows, h.Cols+1)
}

// Rows reads the matrix and sends it to sink as cells x genes row chunks,
// float32, indices sorted and duplicates summed within each row. See the
// package documentation for the passes and the memory bound. Frames gives
// the names that go with the rows.
func (d *Dataset) Rows(ctx context.Context, opt RowsOptions, sink RowSink) (st Stats, err error) {
	t0 := time.Now()
	h := d.Header
	st = Stats{Cells: h.Cols, Genes: h.Rows, FileGenes: h.Rows, Entries: h.Entries}
	defer func() { st.Elapsed = time.Since(t0) }()
	if opt.Genes != nil {
		n, err := checkGeneMap(opt.Genes, h.Rows)
		if err != nil {
			return st, err
		}
		st.Genes = n
	}
	p := planMemory(opt, h.Cols, st.Genes)
	p.fit(h)
	passes := 1
	ps := newPasser(d.Matrix, h)
	run := func(kind string, spec *parseSpec, fn func(*block) error) error {
		st.Passes++
		cfg := passConfig{workers: p.workers, blockSize: p.blockSize}
		if opt.Progress != nil {
			pass, planned := st.Passes, passes
			cfg.progress = func(done int64) {
				opt.Progress(Progress{Pass: pass, Passes: planned, Kind: kind, Done: done, Total: st.FileBytes})
			}
		}
		text, err := ps.run(ctx, spec, cfg, fn)
		st.TextBytes += text
		return err
	}
	if fi, err := statSize(d.Matrix); err == nil {
		st.FileBytes = fi
	}
	em := &emitter{sink: sink}
	defer em.wait() // never return with the sink still at work
	all := &parseSpec{h: h, remap: opt.Genes, lo: 0, hi: int32(h.Cols), values: true}

	// Pass 1: stream, assuming the file is sorted by cell.
	s := newStreamer(st.Genes, p.streamE, p.streamRows, em)
	err = run("stream", all, s.add)
	if err == nil {
		err = s.finish(h.Cols)
	}
	st.BufferBytes = s.peakBytes
	if !errors.Is(err, errUnsorted) {
		if werr := em.wait(); err == nil {
			err = werr
		}
		st.Sorted = err == nil
		st.NNZ, st.Duplicates = s.nnz, s.dups
		return st, err
	}
	if err := em.wait(); err != nil {
		return st, err
	}
	big := s.peakBytes > 32<<20
	s = nil
	if big {
		// Hand the streaming buffers back before the block buffer, about as
		// large, is made: left to the collector, they would sit beside it.
		runtime.GC()
	}
	if em.sent {
		if err := sink.Restart(); err != nil {
			return st, err
		}
		em.sent = false
	}

	// Pass 2: count the entries of each cell, validating the whole file.
	passes = 0
	counts := make([]int64, h.Cols)
	err = run("count", all, func(b *block) error {
		for _, c := range b.cells {
			counts[c]++
		}
		return nil
	})
	if err != nil {
		return st, err
	}

	// Passes 3...: one per block of cells whose entries fit the buffer.
	blocks := planBlocks(counts, p.blockE, p.blockRows)
	passes = st.Passes + len(blocks)
	var buf *sparse.CSR
	var pos []int64 // next free slot of each row of the block
	for _, blk := range blocks {
		lo, hi := blk[0], blk[1]
		ready := false
		// prepare waits for the previous block to leave the sink before
		// reusing its buffer; the pass meanwhile reads and parses ahead.
		prepare := func() error {
			ready = true
			if err := em.wait(); err != nil {
				return err
			}
			buf = blockBuffer(buf, counts[lo:hi], st.Genes)
			pos = append(pos[:0], buf.Indptr[:hi-lo]...)
			st.BufferBytes = max(st.BufferBytes, int64(cap(buf.Indices))*entryBytes+int64(cap(buf.Indptr))*2*rowBytes+int64(len(counts))*8)
			return nil
		}
		spec := &parseSpec{h: h, remap: opt.Genes, lo: int32(lo), hi: int32(hi)}
		err := run("block", spec, func(b *block) error {
			if !ready {
				if err := prepare(); err != nil {
					return err
				}
			}
			idx, val, ptr := buf.Indices, buf.Data, buf.Indptr
			for k, c := range b.cells {
				r := int(c) - lo
				q := pos[r]
				if q >= ptr[r+1] {
					return errChanged(d.Matrix, int(c))
				}
				idx[q], val[q] = b.genes[k], b.vals[k]
				pos[r] = q + 1
			}
			return nil
		})
		if err == nil && !ready {
			err = prepare()
		}
		if err != nil {
			return st, err
		}
		for r := range pos {
			if pos[r] != buf.Indptr[r+1] {
				return st, errChanged(d.Matrix, lo+r)
			}
		}
		st.Duplicates += finishRows(buf, p.workers)
		st.NNZ += buf.NNZ()
		if err := em.emit(lo, buf); err != nil {
			return st, err
		}
	}
	err = em.wait()
	return st, err
}

func errChanged(path string, cell int) error {
	return &Error{File: path, Msg: fmt.Sprintf("cell %d has other entries than in the counting pass: the file changed while it was being read", cell+1)}
}

// checkGeneMap checks a gene map and returns the number of output genes.
func checkGeneMap(genes []int32, rows int) (int, error) {
	if len(genes) != rows {
		return 0, fmt.Errorf("mtx: gene map has %d entries for %d genes (matrix rows)", len(genes), rows)
	}
	next := int32(0)
	for i, g := range genes {
		switch {
		case g == next:
			next++
		case g != -1:
			return 0, fmt.Errorf("mtx: gene map sends gene %d to column %d; want -1 or the next column, %d", i, g, next)
		}
	}
	return int(next), nil
}

// planBlocks cuts the cells into runs [lo, hi) of at most maxE entries and
// maxRows cells; a cell with more entries than maxE gets a run of its own.
func planBlocks(counts []int64, maxE, maxRows int) [][2]int {
	var blocks [][2]int
	for lo := 0; lo < len(counts); {
		hi, n := lo, int64(0)
		for hi < len(counts) && hi-lo < maxRows && (hi == lo || n+counts[hi] <= int64(maxE)) {
			n += counts[hi]
			hi++
		}
		blocks = append(blocks, [2]int{lo, hi})
		lo = hi
	}
	return blocks
}

// blockBuffer returns a CSR with rows of counts[i] slots, reusing buf's
// storage where it is large enough.
func blockBuffer(buf *sparse.CSR, counts []int64, cols int) *sparse.CSR {
	var n int64
	for _, c := range counts {
		n += c
	}
	if buf == nil {
		buf = &sparse.CSR{}
	}
	buf.Rows, buf.Cols = len(counts), cols
	buf.Indptr = slicesResize(buf.Indptr, len(counts)+1)
	buf.Indices = slicesResize(buf.Indices, int(n))
	buf.Data = slicesResize(buf.Data, int(n))
	var off int64
	for i, c := range counts {
		buf.Indptr[i] = off
		off += c
	}
	buf.Indptr[len(counts)] = off
	return buf
}

func slicesResize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
