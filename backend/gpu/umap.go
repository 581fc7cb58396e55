package gpu

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/scbench/scbench/backend"
)

// UMAP's stochastic gradient descent on the device (kernels/umap.cl).
//
// The edges are grouped by head cell (as the graph package lists them:
// CSR order) and uploaded once with their epochs per sample; a kernel
// sets every edge's schedule, then one launch per epoch gives each head
// cell a work-item that walks its edges and, for each one due, makes
// umap-learn's single-epoch update: the attractive move of both ends, then
// the due negative samples, drawn from a counter-based hash of (seed,
// epoch, edge), pushing the head. One work-item per head cell rather than
// per edge keeps the edges of a cell, which are adjacent, out of each
// other's way: with one work-item per edge a warp would hold a dozen
// copies of one head, each writing back its own move over the others'.
// The head is re-read for every edge it is due on, so that moves made to
// it as a tail in the meantime are kept.
//
// The updates are Hogwild (Niu et al. 2011), as in umap-learn's parallel
// mode: no atomics, so a cell moved by two work-items at once keeps one
// of the moves. The positive-sample count, an integer, is added per
// work-group with atomics and equals the schedule's exactly: the schedule
// is float32 additions and comparisons, as on the CPU.
//
// The floor, for 1.3M cells, 2.5e7 directed edges and 200 epochs: the
// schedule makes an edge of weight w due in w / max(w) of the epochs,
// about a third on a kNN graph (0.31 and 0.37 positive samples per edge
// and epoch on the test and benchmark graphs), so 1.6-1.8e9 positive
// samples rather than 5e9. Each reads and writes the tail (random) and
// the head (coalesced: a warp's work-items hold consecutive cells) and
// reads 5 random negatives: 7 random accesses of 8 bytes, 1.2e10 in all,
// 100 GB, 20 ms at the H200's 4.8 TB/s, or 400 GB, 85 ms, counting the
// 32-byte sector each access takes; the 2-D embedding (10 MB) stays in
// the 50 MB L2 cache, so that is pessimistic. The schedule adds 4 bytes
// an edge an epoch for the due check (20 GB, 4 ms) and 20 bytes a sample
// (tail, eps, next, nextNeg read, next and nextNeg written: 36 GB, 8 ms),
// and the gradients an exp2 and a log2 a sample, milliseconds of the
// special-function units: about 0.1 s in all. A warp lasts as long as its longest row, so a
// cell with hundreds of edges slows its warp, not the others; each epoch
// waits for its slowest warp. cuML (rapids-singlecell) takes 0.8 s.

// umapProgressEvery is how many epochs run between two Progress calls
// (each waits for the device).
const umapProgressEvery = 10

// UMAPOptimize runs UMAP's stochastic gradient descent (see
// backend.UMAPOptimizer) and returns the number of positive samples.
// Edges need not be sorted by head: unsorted ones are grouped on the host
// first, which draws other negative samples than the same edges in head
// order would.
func (be *Backend) UMAPOptimize(emb []float32, n int, head, tail []int32, epochsPerSample []float32, p backend.UMAPSGD) (int64, error) {
	m := len(head)
	switch {
	case n < 0 || n >= math.MaxInt32 || p.Dim < 1 || int64(n)*int64(p.Dim) != int64(len(emb)):
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w: %d coordinates for %d cells in %d dimensions", backend.ErrShape, len(emb), n, p.Dim)
	case len(tail) != m || len(epochsPerSample) != m:
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w: %d heads, %d tails, %d schedules", backend.ErrShape, m, len(tail), len(epochsPerSample))
	case p.NEpochs < 0 || p.NEpochs >= math.MaxInt32 || p.NegativeSampleRate < 0:
		return 0, fmt.Errorf("gpu: UMAPOptimize: %d epochs, negative sample rate %d", p.NEpochs, p.NegativeSampleRate)
	}
	rowptr, sorted, err := umapRows(n, head, tail, epochsPerSample)
	if err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
	}
	if !sorted {
		tail, epochsPerSample = umapGroup(rowptr, head, tail, epochsPerSample)
	}
	if p.NEpochs == 0 || m == 0 || n == 0 {
		if p.Progress != nil {
			p.Progress(p.NEpochs, p.NEpochs)
		}
		return 0, nil
	}

	var bufs []*buffer
	defer func() {
		for _, b := range bufs {
			b.Free() // once queued: the runtime frees after the work that uses it
		}
	}()
	put := func(k backend.Kind, count int, src []byte) (Mem, error) {
		b, err := be.allocRaw(k, count)
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, b)
		if src != nil {
			if err := be.rt.ToDevice(b.mem, 0, src); err != nil {
				return nil, fmt.Errorf("copying to the device: %w", err)
			}
		}
		return b.mem, nil
	}
	var dPtr, dTail, dEps, dNext, dNeg, dEmb, dSamples Mem
	for _, s := range []struct {
		dst   *Mem
		kind  backend.Kind
		count int
		src   []byte
	}{
		{&dPtr, backend.Int64, n + 1, asBytes(rowptr)},
		{&dTail, backend.Int32, m, asBytes(tail)},
		{&dEps, backend.Float32, m, asBytes(epochsPerSample)},
		{&dNext, backend.Float32, m, nil},
		{&dNeg, backend.Float32, m, nil},
		{&dEmb, backend.Float32, len(emb), asBytes(emb)},
		{&dSamples, backend.Int64, 1, nil},
	} {
		if *s.dst, err = put(s.kind, s.count, s.src); err != nil {
			return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
		}
	}
	if err := be.rt.Zero(dSamples, 0, 8); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
	}
	nsr := float32(p.NegativeSampleRate)
	if err := be.launch1D("umap_init", int64(m), localSize, int64(m), nsr, dEps, dNext, dNeg); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
	}

	local := min(umapLocal, be.rt.MaxLocal())
	groups := [3]int{(n + local - 1) / local, 1, 1}
	a, b, gamma := float32(p.A), float32(p.B), float32(p.Gamma)
	for epoch := range p.NEpochs {
		alpha := float32(p.LearningRate * (1 - float64(epoch)/float64(p.NEpochs)))
		if p.Dim == 2 {
			err = be.launch("umap_epoch2", groups, [3]int{local, 1, 1}, int32(n), dPtr, dTail, dEps, dNext, dNeg,
				dEmb, dSamples, int32(epoch), alpha, a, b, gamma, nsr, p.Seed)
		} else {
			err = be.launch("umap_epoch", groups, [3]int{local, 1, 1}, int32(n), int32(p.Dim), dPtr, dTail, dEps,
				dNext, dNeg, dEmb, dSamples, int32(epoch), alpha, a, b, gamma, nsr, p.Seed)
		}
		if err != nil {
			return 0, fmt.Errorf("gpu: UMAPOptimize: epoch %d: %w", epoch, err)
		}
		if p.Progress != nil && (epoch+1)%umapProgressEvery == 0 && epoch+1 < p.NEpochs {
			if err := be.rt.Sync(); err != nil {
				return 0, fmt.Errorf("gpu: UMAPOptimize: epoch %d: %w", epoch, err)
			}
			p.Progress(epoch+1, p.NEpochs)
		}
	}
	var samples [1]int64
	if err := be.rt.ToHost(asBytes(samples[:]), dSamples, 0); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: reading the sample count: %w", err)
	}
	if err := be.rt.ToHost(asBytes(emb), dEmb, 0); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: reading the embedding: %w", err)
	}
	if p.Progress != nil {
		p.Progress(p.NEpochs, p.NEpochs)
	}
	return samples[0], nil
}

// umapLocal is the epoch kernels' work-group size: a work-item per cell,
// so any size works; the group's sample count is one atomic add.
const umapLocal = 256

// umapRows checks the edges (ends in [0, n), no NaN schedule) and returns
// the row pointers of the edges grouped by head, and whether head is
// already sorted. Millions of edges: the checks, and the row pointers of
// sorted heads, run on all cores.
func umapRows(n int, head, tail []int32, eps []float32) ([]int64, bool, error) {
	m := len(head)
	parts := max(1, min(runtime.GOMAXPROCS(0), m/umapRowsPart))
	errs := make([]error, parts)
	unsorted := make([]bool, parts)
	umapParallel(m, parts, func(part, lo, hi int) {
		for q := lo; q < hi; q++ {
			h, t := head[q], tail[q]
			if uint32(h) >= uint32(n) || uint32(t) >= uint32(n) {
				errs[part] = fmt.Errorf("%w: edge %d joins cells %d and %d of %d", backend.ErrShape, q, h, t, n)
				return
			}
			if e := eps[q]; e != e {
				errs[part] = fmt.Errorf("edge %d has NaN epochs per sample", q)
				return
			}
			if q > 0 && h < head[q-1] {
				unsorted[part] = true
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, false, err
		}
	}
	rowptr := make([]int64, n+1)
	if slices.Contains(unsorted, true) {
		for _, h := range head {
			rowptr[h+1]++
		}
		for i := range n {
			rowptr[i+1] += rowptr[i]
		}
		return rowptr, false, nil
	}
	// Sorted: row i starts at the first edge whose head is i or more, so
	// edge q starts the rows after head[q-1] up to head[q]; each row is
	// written once.
	umapParallel(m, parts, func(_, lo, hi int) {
		for q := lo; q < hi; q++ {
			prev := int32(-1)
			if q > 0 {
				prev = head[q-1]
			}
			for i := prev + 1; i <= head[q]; i++ {
				rowptr[i] = int64(q)
			}
		}
	})
	last := -1
	if m > 0 {
		last = int(head[m-1])
	}
	for i := last + 1; i <= n; i++ {
		rowptr[i] = int64(m)
	}
	return rowptr, true, nil
}

// umapRowsPart is the fewest edges umapRows gives a goroutine.
const umapRowsPart = 1 << 14

// umapParallel runs fn on parts consecutive ranges of [0, m) at once.
func umapParallel(m, parts int, fn func(part, lo, hi int)) {
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(p, p*m/parts, (p+1)*m/parts)
		}()
	}
	wg.Wait()
}

// umapGroup returns tail and eps reordered by head, stably.
func umapGroup(rowptr []int64, head, tail []int32, eps []float32) ([]int32, []float32) {
	at := append([]int64(nil), rowptr[:len(rowptr)-1]...)
	t2 := make([]int32, len(tail))
	e2 := make([]float32, len(eps))
	for q, h := range head {
		t2[at[h]] = tail[q]
		e2[at[h]] = eps[q]
		at[h]++
	}
	return t2, e2
}

var _ backend.UMAPOptimizer = (*Backend)(nil)
