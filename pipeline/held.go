package pipeline

import (
	"github.com/scbench/scbench/anndata"
)

// Holding pass 1's chunks for pass 2.
//
// Pass 2 needs the raw store again, filtered, normalized and log1p'd, on
// the highly variable genes. Re-reading it costs a second decode of every
// value (zstd runs at about 1 GB/s of output per core, the store's
// decoded size is 8 bytes per value), and redoing normalize_total and
// log1p a second pass over them. When the decoded store is small enough,
// pass 1 keeps its chunks instead, as it leaves them: normalized and
// log1p'd (on the CPU backend that costs no copy; a device backend
// downloads them). Pass 2 then only subsets them, and drops each chunk as
// it is done with it. The values are those a re-read would make, bit for
// bit: the same operations on the same inputs. Options.HoldBudget bounds
// it (default: a quarter of the available memory, at most 4 GiB; the
// cache budget of the HVG matrix is separate).

// holdLimit caps the default hold budget: with the 8 GiB memory ceiling of
// an atlas run in mind, pass 1 keeps at most half of it. (At 1.3M cells
// the decoded store is 21 GB and is re-read.)
const holdLimit = 4 << 30

// holdChunks decides, before pass 1, whether it keeps its chunks for pass
// 2, and prepares r.held if so: when pass 2 will run, the size of X is
// known (a sparse X) and its decoded size fits Options.HoldBudget.
func (r *runner) holdChunks() {
	r.held, r.heldNormalized = nil, false
	if !r.pass2Needed || r.holdOnDevice() {
		return
	}
	_, _, nnz := r.in.shape()
	if nnz < 0 {
		return // dense X: its non-zero count is unknown before reading it
	}
	chunks := int64(chunkCount(r.nObs, r.opt.chunkRows()))
	decoded := nnz*8 + (int64(r.nObs)+chunks)*8
	budget := r.opt.HoldBudget
	if budget == 0 {
		budget = min(memAvailable()/4, holdLimit)
	}
	if decoded > budget {
		return
	}
	r.held = make([]anndata.Chunk, 0, chunks)
	r.heldNormalized = r.until >= StepNormalize
	r.res.Report.HeldBytes = decoded
}

// heldChunks serves the chunks held from pass 1 as a chunkIter, letting go
// of each one when the next is asked for.
type heldChunks struct {
	held []anndata.Chunk
	at   int
}

func (h *heldChunks) Next() bool {
	if h.at >= 0 && h.at < len(h.held) {
		h.held[h.at] = anndata.Chunk{} // done with: let the GC have it
	}
	h.at++
	return h.at < len(h.held)
}

func (h *heldChunks) Chunk() anndata.Chunk  { return h.held[h.at] }
func (h *heldChunks) Release(anndata.Chunk) {}
func (h *heldChunks) Err() error            { return nil }

func (h *heldChunks) Close() error {
	clear(h.held)
	h.held = nil
	return nil
}

// budget is the memory the run may use for data kept between passes:
// Options.CacheBudget, or half the memory available.
func (r *runner) budget() int64 {
	if r.opt.CacheBudget > 0 {
		return r.opt.CacheBudget
	}
	if m := memAvailable() / 2; m > 0 {
		return m
	}
	return 4 << 30 // no /proc/meminfo: a guess
}
