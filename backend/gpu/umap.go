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
// One work-item per edge and one launch per epoch: the work-item of a due
// edge (next <= epoch) makes umap-learn's single-epoch update, the
// attractive move of both ends, then the due negative samples, drawn from
// a counter-based hash of (seed, epoch, edge), pushing the head. The
// edges are uploaded once, with their epochs per sample, and put on the
// device in slot-major order (umap_layout): first every row's first edge,
// then every row's second edge, and so on, the rows in order of
// decreasing degree within each slot (so every slot is a contiguous run:
// the rows with more than s edges are the first ranks). A warp's edges
// then have 32 different heads, none of them touched by the edges just
// before or after it except in the last slots, which only the few
// high-degree rows reach; and the schedules, tails and heads are read
// coalesced. (A first design gave each head cell a work-item that walked
// its row: each epoch then waited for the work-item of the largest row,
// hundreds of dependent memory round trips; it took 0.81 s at 1.3M cells.)
//
// The updates are Hogwild (Niu et al. 2011), as in umap-learn's parallel
// mode, with the moves added by float atomics as cuML adds them: a
// work-item may read a cell before or after another's move of it, but
// every move lands (the tail's pull at once, the head's moves summed in
// registers and added at the end). So the whole epoch runs in one
// launch, as cuML runs it, though the ~20 edges of a row may then run
// together. (Session 4, without atomics, split the epoch into launches
// that never ran two edges of a row together: moves had been lost, with
// trustworthiness 0.85-0.89 against 0.968 on a 2,000-cell graph, all of
// whose epoch runs at once. At 1.3M cells the split made some 50 launches
// an epoch, the degrees of a kNN graph having a long tail, and the
// optimizer took 0.50 s instead of 0.27 s. With atomics, one launch gives
// the 2,000-cell graph the reference's quality on an H200:
// bench/results/2026-12-04-gpu-graph-1300k.md.) The positive-sample
// count, an integer, is added per work-group with atomics and equals the
// schedule's exactly: the schedule is float32 additions and comparisons,
// as on the CPU.
//
// The floor, for 1.3M cells, 2.5e7 directed edges and 200 epochs: the
// schedule makes an edge of weight w due in w / max(w) of the epochs,
// about a third on a kNN graph (0.31 and 0.37 positive samples per edge
// and epoch on the test and benchmark graphs), so 1.6-1.8e9 positive
// samples rather than 5e9. Each reads and writes the tail and the head
// (random) and reads 5 random negatives: 8 random accesses of 8 bytes,
// 1.4e10 in all, 450 GB counting the 32-byte sector each access takes, 95
// ms at the H200's 4.8 TB/s; the 2-D embedding (10 MB) stays in the 50 MB
// L2 cache, so that is pessimistic. The due check reads 4 bytes an edge
// an epoch, coalesced (20 GB, 4 ms), a sample 24 more (head, tail, eps,
// next and nextNeg read, next and nextNeg written: 43 GB, 9 ms), and the
// gradients take an exp2 and a log2 a sample, milliseconds of the
// special-function units: about 0.1 s in all. cuML (rapids-singlecell)
// takes 0.8 s.

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
	rank, slotStart := umapSlots(rowptr)
	var dPtr, dRank, dSlot, dTail, dEps, dHead2, dTail2, dEps2, dNext, dNeg, dEmb, dSamples Mem
	for _, s := range []struct {
		dst   *Mem
		kind  backend.Kind
		count int
		src   []byte
	}{
		{&dPtr, backend.Int64, n + 1, asBytes(rowptr)},
		{&dRank, backend.Int32, n, asBytes(rank)},
		{&dSlot, backend.Int64, len(slotStart), asBytes(slotStart)},
		{&dTail, backend.Int32, m, asBytes(tail)},
		{&dEps, backend.Float32, m, asBytes(epochsPerSample)},
		{&dHead2, backend.Int32, m, nil},
		{&dTail2, backend.Int32, m, nil},
		{&dEps2, backend.Float32, m, nil},
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
	if err := be.launch1D("umap_layout", int64(n), localSize, int32(n), dPtr, dRank, dSlot, dTail, dEps, dHead2, dTail2, dEps2); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
	}
	nsr := float32(p.NegativeSampleRate)
	if err := be.launch1D("umap_init", int64(m), localSize, int64(m), nsr, dEps2, dNext, dNeg); err != nil {
		return 0, fmt.Errorf("gpu: UMAPOptimize: %w", err)
	}

	local := min(umapLocal, be.rt.MaxLocal())
	a, b, gamma := float32(p.A), float32(p.B), float32(p.Gamma)
	groups := [3]int{int((int64(m) + int64(local) - 1) / int64(local)), 1, 1}
	for epoch := range p.NEpochs {
		alpha := float32(p.LearningRate * (1 - float64(epoch)/float64(p.NEpochs)))
		// An epoch is one launch over all the edges (see the design above).
		if p.Dim == 2 {
			err = be.launch("umap_edges2", groups, [3]int{local, 1, 1}, int64(m), int32(n), dHead2, dTail2, dEps2, dNext, dNeg,
				dEmb, dSamples, int32(epoch), alpha, a, b, gamma, nsr, p.Seed)
		} else {
			err = be.launch("umap_edges", groups, [3]int{local, 1, 1}, int64(m), int32(n), int32(p.Dim), dHead2, dTail2, dEps2,
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

// umapLocal is the epoch kernels' work-group size: a work-item per edge,
// so any size works; the group's sample count is one atomic add.
const umapLocal = 256

// umapSlots returns the slot-major layout of the rows of rowptr (see the
// design above): each row's rank in the order of decreasing degree (ties
// by row), and where each slot starts: slot s holds the s-th edge of the
// rows of rank 0 .. c_s-1, c_s the rows of more than s edges, from
// slotStart[s]; slotStart has one entry per slot and the edge count last.
func umapSlots(rowptr []int64) (rank []int32, slotStart []int64) {
	n := len(rowptr) - 1
	var maxDeg int64
	for i := range n {
		maxDeg = max(maxDeg, rowptr[i+1]-rowptr[i])
	}
	// hist[d]: rows of degree d; then, descending, the first rank of each
	// degree.
	hist := make([]int64, maxDeg+2)
	for i := range n {
		hist[rowptr[i+1]-rowptr[i]]++
	}
	first := make([]int64, maxDeg+1)
	var run int64
	for d := maxDeg; d >= 0; d-- {
		first[d] = run
		run += hist[d]
	}
	rank = make([]int32, n)
	for i := range n {
		d := rowptr[i+1] - rowptr[i]
		rank[i] = int32(first[d])
		first[d]++
	}
	// Rows of more than s edges, for each slot s, summed into the starts.
	slotStart = make([]int64, maxDeg+1)
	var above int64 // rows of degree > s
	for s := maxDeg - 1; s >= 0; s-- {
		above += hist[s+1]
		slotStart[s] = above // the count for now; prefix sums below
	}
	var at int64
	for s := range maxDeg {
		c := slotStart[s]
		slotStart[s] = at
		at += c
	}
	slotStart[maxDeg] = at
	return rank, slotStart
}

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
