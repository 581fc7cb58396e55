package anndata

import (
	"fmt"
	"sync"

	"github.com/scbench/scbench/sparse"
)

// maxDenseSlab bounds the elements of dense X decoded by one task.
const maxDenseSlab = 1 << 22

// planDense streams a dense X: each row chunk is read in slabs of rows cut
// at the array's chunk boundaries (and at maxDenseSlab elements), on the
// workers; each slab becomes a CSR fragment without its zeros, and the
// consumer joins the fragments. A zarr chunk that straddles two row chunks
// is decoded by both.
func (r *ChunkReader) planDense() error {
	f, a := r.f, r.f.xDense
	ncol := f.NVar
	step := maxDenseSlab
	if ncol > 0 {
		step = max(1, maxDenseSlab/ncol)
	}
	clen := int(a.ChunkLen())
	var pool sync.Pool // *[]float32 slab buffers
	for lo := 0; lo < f.NObs; lo += r.rows {
		hi := min(lo+r.rows, f.NObs)
		var pieces [][2]int
		for s := lo; s < hi; {
			e := min(hi, (s/clen+1)*clen, s+step)
			pieces = append(pieces, [2]int{s, e})
			s = e
		}
		frags := make([]*sparse.CSR, len(pieces))
		job := &rowJob{start: lo, done: make(chan struct{})}
		job.pending.Store(1)
		for i, p := range pieces {
			ok := r.submit(job, func() error {
				n := (p[1] - p[0]) * ncol
				bp, _ := pool.Get().(*[]float32)
				if bp == nil || cap(*bp) < n {
					b := make([]float32, n)
					bp = &b
				}
				defer pool.Put(bp)
				buf := (*bp)[:n]
				if err := a.ReadRange(int64(p[0]), int64(p[1]), buf); err != nil {
					return fmt.Errorf("anndata: X rows %d..%d: %w", p[0], p[1]-1, err)
				}
				frags[i] = denseToCSR(buf, p[1]-p[0], ncol)
				return nil
			})
			if !ok {
				job.release()
				return nil
			}
		}
		job.finish = func() error {
			job.csr = joinRows(frags, hi-lo, ncol)
			return nil
		}
		job.release()
		select {
		case r.ready <- job:
		case <-r.ctx.Done():
			return nil
		}
	}
	return nil
}

// denseToCSR keeps the non-zero entries of a rows x cols row-major matrix.
func denseToCSR(v []float32, rows, cols int) *sparse.CSR {
	nnz := 0
	for _, x := range v {
		if x != 0 {
			nnz++
		}
	}
	m := sparse.NewCSR(rows, cols, int64(nnz))
	k := 0
	for i := range rows {
		for j, x := range v[i*cols : (i+1)*cols] {
			if x != 0 {
				m.Indices[k], m.Data[k] = int32(j), x
				k++
			}
		}
		m.Indptr[i+1] = int64(k)
	}
	return m
}

// joinRows stacks row fragments.
func joinRows(frags []*sparse.CSR, rows, cols int) *sparse.CSR {
	var nnz int64
	for _, m := range frags {
		nnz += m.NNZ()
	}
	out := sparse.NewCSR(rows, cols, nnz)
	r, off := 0, int64(0)
	for _, m := range frags {
		copy(out.Indices[off:], m.Indices)
		copy(out.Data[off:], m.Data)
		for i := 1; i <= m.Rows; i++ {
			out.Indptr[r+i] = off + m.Indptr[i]
		}
		r += m.Rows
		off += m.NNZ()
	}
	return out
}
