package mtx

import (
	"errors"
	"slices"
	"sync"

	"github.com/scbench/scbench/sparse"
)

// RowSink receives the cells x genes matrix in row chunks, in row order.
// Its methods are called from one goroutine at a time, not necessarily the
// one that called Dataset.Rows.
type RowSink interface {
	// Rows receives rows [start, start+m.Rows) of the matrix, with column
	// indices sorted and unique within each row. m and its slices are only
	// valid until Rows returns: copy what must outlive the call.
	Rows(start int, m *sparse.CSR) error
	// Restart discards every row received so far. It is called when the
	// file turns out not to be sorted by cell after rows were already sent;
	// all rows are then sent again from row 0.
	Restart() error
}

// errUnsorted stops the streaming pass at the first entry of a cell that
// comes after a later cell.
var errUnsorted = errors.New("mtx: entries are not sorted by cell")

// emitter hands chunks to the sink on a goroutine of its own, so that
// parsing goes on while the sink (compressing and writing) works. At most
// one chunk is in flight.
type emitter struct {
	sink    RowSink
	pending chan error // result of the chunk in flight; nil when none
	sent    bool       // some rows reached the sink
}

func (e *emitter) emit(start int, m *sparse.CSR) error {
	if err := e.wait(); err != nil {
		return err
	}
	e.sent = true
	ch := make(chan error, 1)
	e.pending = ch
	go func() { ch <- e.sink.Rows(start, m) }()
	return nil
}

// wait waits for the chunk in flight, after which its buffer is free.
func (e *emitter) wait() error {
	if e.pending == nil {
		return nil
	}
	err := <-e.pending
	e.pending = nil
	return err
}

// rowBuf holds rows of a chunk being built: Indptr is relative to the
// buffer, whose first row is the chunk's first row.
type rowBuf struct {
	indptr  []int64
	indices []int32
	data    []float32
}

func newRowBuf(entries, rows int) *rowBuf {
	return &rowBuf{
		indptr:  make([]int64, 1, rows+1),
		indices: make([]int32, 0, entries),
		data:    make([]float32, 0, entries),
	}
}

func (b *rowBuf) bytes() int64 {
	return int64(cap(b.indptr))*8 + int64(cap(b.indices))*4 + int64(cap(b.data))*4
}

// rowCounts totals what the row builders stored.
type rowCounts struct {
	nnz, dups int64
	peakBytes int64 // chunk buffers
}

// streamer builds row chunks from entries that arrive sorted by cell: the
// rows before the current cell are complete, so a chunk goes out as soon as
// its buffer fills. Two buffers alternate: one is filled while the sink
// works on the other.
type streamer struct {
	nGenes  int
	capRows int // rows per chunk
	bufs    [2]*rowBuf
	k       int // bufs[k] is being filled
	start   int // first row of bufs[k]
	cur     int // the open row; rows [start, cur) are complete
	rowOff  int // first entry of the open row in bufs[k]
	sorted  bool
	dup     bool
	last    int32
	em      *emitter
	sc      rowScratch
	rowCounts
}

func newStreamer(nGenes, capE, capRows int, em *emitter) *streamer {
	s := &streamer{nGenes: nGenes, capRows: max(capRows, 1), em: em, sorted: true, last: -1}
	s.bufs[0] = newRowBuf(max(capE, 1), s.capRows)
	s.peakBytes = s.bufs[0].bytes()
	return s
}

// add appends the entries of b; errUnsorted if a cell goes backwards.
func (s *streamer) add(b *block) error {
	buf := s.bufs[s.k]
	idx, val := buf.indices, buf.data
	for k, c32 := range b.cells {
		if c := int(c32); c != s.cur {
			if c < s.cur {
				buf.indices, buf.data = idx, val
				return errUnsorted
			}
			buf.indices, buf.data = idx, val
			if err := s.advance(c); err != nil {
				return err
			}
			buf = s.bufs[s.k]
			idx, val = buf.indices, buf.data
		}
		if len(idx) == cap(idx) {
			buf.indices, buf.data = idx, val
			if err := s.makeRoom(); err != nil {
				return err
			}
			buf = s.bufs[s.k]
			idx, val = buf.indices, buf.data
		}
		g := b.genes[k]
		if g <= s.last {
			if g < s.last {
				s.sorted = false
			} else {
				s.dup = true
			}
		}
		s.last = g
		idx = append(idx, g)
		val = append(val, b.vals[k])
	}
	buf.indices, buf.data = idx, val
	return nil
}

// advance completes rows up to c-1 and opens row c.
func (s *streamer) advance(c int) error {
	for s.cur < c {
		s.closeRow()
		if s.cur-s.start == s.capRows {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *streamer) closeRow() {
	buf := s.bufs[s.k]
	n := len(buf.indices) - s.rowOff
	if !s.sorted || s.dup {
		m := finishRow(buf.indices[s.rowOff:], buf.data[s.rowOff:], s.sorted, &s.sc)
		s.dups += int64(n - m)
		n = m
		buf.indices = buf.indices[:s.rowOff+n]
		buf.data = buf.data[:s.rowOff+n]
	}
	s.nnz += int64(n)
	buf.indptr = append(buf.indptr, int64(len(buf.indices)))
	s.cur++
	s.rowOff = len(buf.indices)
	s.sorted, s.dup, s.last = true, false, -1
}

// flush sends the complete rows and moves the open row to the other buffer.
func (s *streamer) flush() error {
	n := s.cur - s.start
	if n == 0 {
		return nil
	}
	old := s.bufs[s.k]
	m := &sparse.CSR{
		Rows:    n,
		Cols:    s.nGenes,
		Indptr:  old.indptr[: n+1 : n+1],
		Indices: old.indices[:s.rowOff:s.rowOff],
		Data:    old.data[:s.rowOff:s.rowOff],
	}
	// emit waits for the previous chunk, which was built in the other buffer.
	if err := s.em.emit(s.start, m); err != nil {
		return err
	}
	s.k ^= 1
	nb := s.bufs[s.k]
	if nb == nil {
		nb = newRowBuf(cap(old.indices), s.capRows)
		s.bufs[s.k] = nb
		s.peakBytes += nb.bytes()
	}
	nb.indptr = append(nb.indptr[:0], 0)
	nb.indices = append(nb.indices[:0], old.indices[s.rowOff:]...)
	nb.data = append(nb.data[:0], old.data[s.rowOff:]...)
	s.start, s.rowOff = s.cur, 0
	return nil
}

// makeRoom frees space in a full buffer: it sends the complete rows, and
// when the open row alone fills the buffer, sums its duplicates and, if it
// still fills more than half, grows the buffer. (Only a cell with more
// distinct genes than half a buffer holds, or with masses of duplicates,
// gets there.)
func (s *streamer) makeRoom() error {
	if err := s.flush(); err != nil {
		return err
	}
	buf := s.bufs[s.k]
	if len(buf.indices) < cap(buf.indices) {
		return nil
	}
	n := len(buf.indices) - s.rowOff
	m := finishRow(buf.indices[s.rowOff:], buf.data[s.rowOff:], s.sorted, &s.sc)
	s.dups += int64(n - m)
	buf.indices = buf.indices[:s.rowOff+m]
	buf.data = buf.data[:s.rowOff+m]
	if m > 0 {
		s.last = buf.indices[len(buf.indices)-1]
	}
	s.sorted, s.dup = true, false
	if len(buf.indices) > cap(buf.indices)/2 {
		before := buf.bytes()
		buf.indices = slices.Grow(buf.indices, cap(buf.indices))
		buf.data = slices.Grow(buf.data, cap(buf.data))
		s.peakBytes += buf.bytes() - before
	}
	return nil
}

// finish completes every row up to nCells and sends what is left.
func (s *streamer) finish(nCells int) error {
	if err := s.advance(nCells); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.em.wait()
}

// rowScratch is reused by finishRow.
type rowScratch struct {
	keys []uint64
	vals []float32
}

// finishRow sorts a row's entries by gene, keeping the file order among
// equal genes (sorted says they already are in order), and sums entries of
// the same gene in that order, as scipy's sum_duplicates does. It returns
// the new length; the row is compacted in place.
func finishRow(idx []int32, val []float32, sorted bool, sc *rowScratch) int {
	if !sorted {
		// Sort (gene, position) keys: the position keeps the sort stable
		// and says where each value comes from.
		keys := sc.keys[:0]
		for k, g := range idx {
			keys = append(keys, uint64(uint32(g))<<32|uint64(k))
		}
		slices.Sort(keys)
		tmp := append(sc.vals[:0], val...)
		for k, key := range keys {
			idx[k] = int32(key >> 32)
			val[k] = tmp[uint32(key)]
		}
		sc.keys, sc.vals = keys, tmp
	}
	if len(idx) == 0 {
		return 0
	}
	w := 0
	for k := 1; k < len(idx); k++ {
		if idx[k] == idx[w] {
			val[w] += val[k]
			continue
		}
		w++
		idx[w], val[w] = idx[k], val[k]
	}
	return w + 1
}

// rowSorted reports whether idx is strictly increasing.
func rowSorted(idx []int32) bool {
	for k := 1; k < len(idx); k++ {
		if idx[k] <= idx[k-1] {
			return false
		}
	}
	return true
}

// finishRows finishes every row of m in place, on up to workers goroutines,
// and compacts m. It returns the duplicates summed.
func finishRows(m *sparse.CSR, workers int) int64 {
	n := m.Rows
	if n == 0 {
		return 0
	}
	newLen := make([]int, n)
	// Split the rows into pieces of about equal entries.
	workers = max(1, min(workers, n))
	per := m.NNZ()/int64(workers) + 1
	var wg sync.WaitGroup
	lo := 0
	for lo < n {
		hi := lo + 1
		for hi < n && m.Indptr[hi]-m.Indptr[lo] < per {
			hi++
		}
		first, end := lo, hi
		wg.Go(func() {
			var sc rowScratch
			for r := first; r < end; r++ {
				idx, val := m.Row(r)
				if rowSorted(idx) {
					newLen[r] = len(idx)
					continue
				}
				newLen[r] = finishRow(idx, val, false, &sc)
			}
		})
		lo = hi
	}
	wg.Wait()
	var w int64
	for r := range n {
		src := m.Indptr[r]
		if w != src {
			copy(m.Indices[w:], m.Indices[src:src+int64(newLen[r])])
			copy(m.Data[w:], m.Data[src:src+int64(newLen[r])])
		}
		m.Indptr[r] = w
		w += int64(newLen[r])
	}
	dups := m.Indptr[n] - w
	m.Indptr[n] = w
	m.Indices, m.Data = m.Indices[:w], m.Data[:w]
	return dups
}
