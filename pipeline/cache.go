package pipeline

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/scbench/scbench/internal/directio"
	"github.com/scbench/scbench/internal/parallel"
	"github.com/scbench/scbench/sparse"
)

// matrixCache holds the filtered, normalized, HVG-subset matrix between
// pass 2, which makes it, and pass 3, which projects it onto the principal
// components. It keeps the chunks in memory while they fit the budget;
// past it, it moves them to a temporary file of raw CSR chunks and appends
// there. The file is private to the run and deleted by Close, so it is
// written in the machine's byte order with no framing beyond a small
// header per chunk. Column indices go to the file as 16-bit integers when
// the matrix has at most 65,536 columns (5,000 genes): 6 bytes a value
// rather than 8, a quarter less to write and read back (at 1.3M cells
// the file is 3 GB, and the kernel's copies into and out of the page
// cache cost about as much CPU time as the sparse products of pass 3).
// The file is written and read with direct I/O where the system allows
// (package directio), bypassing the page cache: its copies into fresh
// page-cache pages and out of them cost 6.9 + 1.2 CPU-seconds for the
// 2.9 GB file at 1.3M cells on the 2-core development VM, whose disk
// writes 1.7 GB/s and reads 2.8 GB/s direct, behind and ahead of the
// passes' compute.
type matrixCache struct {
	budget int64
	dir    string
	direct bool // to the file from the first chunk (see expect)

	mem   []*sparse.CSR
	bytes int64 // bytes of all chunks, in memory or on disk
	nnz   int64
	rows  int

	f        *directio.File
	disk     int      // chunks on disk
	maxChunk int64    // bytes of the largest chunk on disk
	idx      []uint16 // narrowed column indices of the chunk being moved
}

// narrow reports whether a chunk with cols columns has its column indices
// stored as uint16.
func narrow(cols int64) bool { return cols <= 1<<16 }

func newMatrixCache(budget int64, dir string) *matrixCache {
	return &matrixCache{budget: budget, dir: dir}
}

// expect tells the cache, before the first Append, that about n bytes of
// chunks will come. When that exceeds the budget the chunks go to the file
// from the first one: held in memory until they overflowed, they would
// only add the budget to the run's peak memory before moving to disk.
func (c *matrixCache) expect(n int64) {
	if n > c.budget && c.bytes == 0 {
		c.direct = true
	}
}

func csrBytes(m *sparse.CSR) int64 {
	return int64(len(m.Indptr))*8 + int64(len(m.Indices))*4 + int64(len(m.Data))*4
}

// Append adds the next rows. In memory the cache keeps m itself: the caller
// must not change it afterwards.
func (c *matrixCache) Append(m *sparse.CSR) error {
	c.bytes += csrBytes(m)
	c.nnz += m.NNZ()
	c.rows += m.Rows
	if c.f == nil && !c.direct && c.bytes <= c.budget {
		c.mem = append(c.mem, m)
		return nil
	}
	if c.f == nil {
		if err := c.spill(); err != nil {
			return err
		}
	}
	return c.writeChunk(m)
}

// spill moves the chunks held in memory to a new temporary file.
func (c *matrixCache) spill() error {
	f, err := directio.CreateTemp(c.dir, "scbench-cache-*.csr")
	if err != nil {
		return fmt.Errorf("pipeline: the HVG matrix (%s) exceeds the cache budget (%s) and no temporary file could be made: %w (set the temporary folder or a larger budget)", FormatBytes(c.bytes), FormatBytes(c.budget), err)
	}
	c.f = f
	for _, m := range c.mem {
		if err := c.writeChunk(m); err != nil {
			return err
		}
	}
	c.mem = nil
	return nil
}

type chunkHeader struct {
	Rows, Cols, NNZ int64
}

func (c *matrixCache) writeChunk(m *sparse.CSR) error {
	h := chunkHeader{int64(m.Rows), int64(m.Cols), m.NNZ()}
	if len(m.Indptr) > 0 && m.Indptr[0] != 0 {
		return errors.New("pipeline: cache: chunk's row pointers do not start at 0")
	}
	indices := asBytes(unsafe.SliceData(m.Indices), int(h.NNZ))
	if narrow(h.Cols) {
		c.idx = grow(c.idx, int(h.NNZ))
		for k, j := range m.Indices[:h.NNZ] {
			if uint32(j) >= uint32(h.Cols) {
				return fmt.Errorf("pipeline: cache: column index %d of a chunk with %d columns", j, h.Cols)
			}
			c.idx[k] = uint16(j)
		}
		indices = asBytes(unsafe.SliceData(c.idx), int(h.NNZ))
	}
	for _, b := range [][]byte{asBytes(&h, 1), asBytes(unsafe.SliceData(m.Indptr), len(m.Indptr)), indices, asBytes(unsafe.SliceData(m.Data), int(h.NNZ))} {
		if _, err := c.f.Write(b); err != nil {
			return fmt.Errorf("pipeline: the cache file: %w (is the temporary folder full?)", err) // err names the file
		}
	}
	c.disk++
	c.maxChunk = max(c.maxChunk, int64(unsafe.Sizeof(h))+int64(len(m.Indptr))*8+int64(len(indices))+h.NNZ*4)
	return nil
}

// asBytes views n values starting at p as bytes.
func asBytes[T any](p *T, n int) []byte {
	if n == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n*int(unsafe.Sizeof(z)))
}

// OnDisk reports whether the cache went to a file.
func (c *matrixCache) OnDisk() bool { return c.f != nil }

// DirectIO reports whether the cache's file bypasses the page cache.
func (c *matrixCache) DirectIO() bool { return c.f != nil && c.f.Direct() }

// Each calls fn with every chunk in order. Chunks read from disk share one
// set of buffers: fn must be done with a chunk when it returns.
func (c *matrixCache) Each(fn func(m *sparse.CSR) error) error {
	if c.f == nil {
		for _, m := range c.mem {
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
	br, err := c.f.Reader(c.maxChunk) // read the next chunk while fn works
	if err != nil {
		return fmt.Errorf("pipeline: the cache file: %w (is the temporary folder full?)", err)
	}
	m := &sparse.CSR{}
	for i := 0; i < c.disk; i++ {
		var h chunkHeader
		if _, err := io.ReadFull(br, asBytes(&h, 1)); err != nil {
			return fmt.Errorf("pipeline: reading chunk %d of the cache file %s: %w", i, c.f.Name(), err)
		}
		m.Rows, m.Cols = int(h.Rows), int(h.Cols)
		m.Indptr = grow(m.Indptr, m.Rows+1)
		m.Indices = grow(m.Indices, int(h.NNZ))
		m.Data = grow(m.Data, int(h.NNZ))
		indices := asBytes(unsafe.SliceData(m.Indices), len(m.Indices))
		if narrow(h.Cols) {
			c.idx = grow(c.idx, int(h.NNZ))
			indices = asBytes(unsafe.SliceData(c.idx), len(c.idx))
		}
		for _, b := range [][]byte{asBytes(unsafe.SliceData(m.Indptr), len(m.Indptr)), indices, asBytes(unsafe.SliceData(m.Data), len(m.Data))} {
			if _, err := io.ReadFull(br, b); err != nil {
				return fmt.Errorf("pipeline: reading chunk %d of the cache file %s: %w", i, c.f.Name(), err)
			}
		}
		if narrow(h.Cols) {
			// On all cores: pass 3's product, which comes next, uses
			// them all, and this loop would leave one idle (0.25 s at
			// 1.3M cells).
			parallel.Blocks(rowBlocks(len(c.idx), 1), func(_, lo, hi int) {
				for k, j := range c.idx[lo:hi] {
					m.Indices[lo+k] = int32(j)
				}
			})
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// grow returns s resliced to n elements, reallocated when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Close deletes the cache file, if any, and drops the chunks.
func (c *matrixCache) Close() error {
	c.mem = nil
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}
