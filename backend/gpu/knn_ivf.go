package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/knn"
)

// IVF-Flat on the device (see knn.go).

const (
	// trainPerList is the default sample per list, knn's (knn.IVFFlatParams.TrainSample).
	trainPerList = 64
	// defaultKMeansIters is the default number of Lloyd iterations, all
	// over every centre: knn's 5 per level plus its 2 final ones. Recall
	// does not move with more (100,000 blob points, 1,024 lists, 20
	// probes: recall@15 0.9564 after 5, 0.9567 after 10; knn's two-level
	// training 0.959), nor does the largest list (3.7 times the mean).
	defaultKMeansIters = knn.DefaultKMeansIters + 2
)

// ivfParams are backend.KNNParams' IVF-Flat fields, defaults filled.
type ivfParams struct {
	nLists, nProbes, trainSample, iters int
	seed                                uint64
}

// ivfDefaults fills p's zero fields as knn.IVFFlatParams does for n points
// (except the iterations: defaultKMeansIters) and clamps them.
func ivfDefaults(n int, p backend.KNNParams) ivfParams {
	q := ivfParams{nLists: p.NLists, nProbes: p.NProbes, trainSample: p.TrainSample, iters: p.KMeansIters, seed: p.Seed}
	if q.nLists <= 0 {
		q.nLists = knn.DefaultNLists(n)
	}
	q.nLists = max(1, min(q.nLists, n))
	if q.nProbes <= 0 {
		q.nProbes = knn.DefaultNProbes
	}
	q.nProbes = min(q.nProbes, q.nLists)
	if q.trainSample <= 0 {
		q.trainSample = min(n, trainPerList*q.nLists)
	}
	q.trainSample = max(q.nLists, min(q.trainSample, n))
	if q.iters <= 0 {
		q.iters = defaultKMeansIters
	}
	return q
}

// ivfIndex is an IVF-Flat index on the device: the points sorted by
// list, each with its id (its row in the caller's matrix) and its nProbes
// nearest lists, and the lists' offsets into that order.
type ivfIndex struct {
	n, d, nLists, nProbes    int
	xs, ids, probes, offsets Mem
}

// ivfFlat builds the index over the n points xm, writes each point's k
// neighbours (itself first) to oi and od, and refines them in rounds
// (knn_refine). It frees xm.
func (r *knnRun) ivfFlat(xm Mem, n, d, k int, q ivfParams, maxAbs float32, rounds int, oi, od Mem) error {
	ix, err := r.buildIVF(xm, n, d, q, maxAbs)
	if err != nil {
		return err
	}
	r.release(xm) // the refinement reads the sorted copy
	if rounds <= 0 || k < 2 {
		return r.searchIVF(ix, k, oi, od)
	}
	// The search writes into a second pair of buffers when the rounds are
	// odd, so that the last round ends in oi and od.
	bi, err := r.alloc("the refined indices", backend.Int32, n*k)
	if err != nil {
		return err
	}
	bd, err := r.alloc("the refined distances", backend.Float32, n*k)
	if err != nil {
		return err
	}
	src, srcD, dst, dstD := oi, od, bi, bd
	if rounds%2 == 1 {
		src, srcD, dst, dstD = bi, bd, oi, od
	}
	if err := r.searchIVF(ix, k, src, srcD); err != nil {
		return err
	}
	return r.refineRounds(ix, k, rounds, src, srcD, dst, dstD)
}

// refineRounds runs rounds of refinement over ix's points, from the lists
// in src and srcD, alternating with dst and dstD as the output: the last
// round writes into dst and dstD when rounds is odd, else into src and
// srcD.
func (r *knnRun) refineRounds(ix *ivfIndex, k, rounds int, src, srcD, dst, dstD Mem) error {
	// pos: each point's row in the sorted order.
	pos, err := r.alloc("the sorted rows", backend.Int32, ix.n)
	if err != nil {
		return err
	}
	if err := r.be.launch1D("knn_invert", int64(ix.n), localSize, int32(ix.n), ix.ids, pos); err != nil {
		return err
	}
	for range rounds {
		if err := r.refine(ix, pos, k, src, srcD, dst, dstD); err != nil {
			return fmt.Errorf("IVF-Flat refinement: %w", err)
		}
		src, srcD, dst, dstD = dst, dstD, src, srcD
	}
	return nil
}

// refine runs one round of knn.Refine on the device over the points of
// ix (pos: each point's row in ix.xs): the reverse lists of the n x k
// neighbours idx (counts, offsets, slots), each point's k-1 nearest
// listers (knn_rev_select, from the distances dist), then knn_refine from
// idx into oidx and odist.
func (r *knnRun) refine(ix *ivfIndex, pos Mem, k int, idx, dist, oidx, odist Mem) error {
	be := r.be
	n, d := ix.n, ix.d
	nk := int64(n) * int64(k)
	if nk > math.MaxInt32 {
		return fmt.Errorf("%d x %d neighbours: the refinement indexes them with int32", n, k)
	}
	counts, err := r.zeroed("the reverse list sizes", backend.Int32, n)
	if err != nil {
		return err
	}
	fill, err := r.zeroed("the reverse list fill", backend.Int32, n)
	if err != nil {
		return err
	}
	ptr, err := r.alloc("the reverse list offsets", backend.Int32, n+1)
	if err != nil {
		return err
	}
	rev, err := r.alloc("the reverse lists", backend.Int32, n*k)
	if err != nil {
		return err
	}
	sel, err := r.alloc("the nearest listers", backend.Int32, n*(k-1))
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range []Mem{counts, fill, ptr, rev, sel} {
			r.release(m)
		}
	}()
	if err := be.launch1D("knn_rev_count", nk, localSize, int32(n), int32(k), idx, counts); err != nil {
		return err
	}
	if err := be.launch("knn_offsets", [3]int{1, 1, 1}, [3]int{min(knnScanLocal, be.rt.MaxLocal()), 1, 1}, int32(n), counts, ptr); err != nil {
		return err
	}
	if err := be.launch1D("knn_rev_fill", nk, localSize, int32(n), int32(k), idx, ptr, fill, rev); err != nil {
		return err
	}
	if err := be.launch1D("knn_rev_select", int64(n), knnRefineLocal, int32(n), int32(k), int32(k-1), dist, ptr, rev, sel); err != nil {
		return err
	}
	return be.launch1D("knn_refine", int64(n), knnRefineLocal, int32(n), int32(d), int32(k), ix.xs, ix.ids, pos, idx, sel, oidx, odist)
}

// knnRefineLocal is knn_refine's work-group size (KNN_REFINE_LOCAL) and
// knn_rev_select's: a work-item a point, each with a list in private
// memory.
const knnRefineLocal = 64

// buildIVF trains the centres on a sample of the n points xm, finds every
// point's nearest centres and sorts the points into lists.
func (r *knnRun) buildIVF(xm Mem, n, d int, q ivfParams, maxAbs float32) (*ivfIndex, error) {
	be := r.be
	if q.nProbes > knnMaxProbes {
		return nil, fmt.Errorf("IVF-Flat with %d probes: the device search probes at most %d lists", q.nProbes, knnMaxProbes)
	}
	if q.nLists > knnMaxLists {
		return nil, fmt.Errorf("IVF-Flat with %d lists: the device search takes at most %d", q.nLists, knnMaxLists)
	}
	cent, err := r.train(xm, n, d, q, maxAbs)
	if err != nil {
		return nil, fmt.Errorf("IVF-Flat training: %w", err)
	}
	nl, np := q.nLists, q.nProbes
	ix := &ivfIndex{n: n, d: d, nLists: nl, nProbes: np}

	// Every point's nearest centres; the first is its list.
	probes, err := r.alloc("the probes", backend.Int32, n*np)
	if err != nil {
		return nil, err
	}
	if err := r.scan(scanJob{nq: n, d: d, k: np, q: xm, p: cent, np: nl, outIdx: probes}); err != nil {
		return nil, fmt.Errorf("IVF-Flat coarse search: %w", err)
	}
	r.release(cent)

	// The lists: the points sorted by list, with their ids and probes.
	counts, err := r.zeroed("the list sizes", backend.Int32, nl)
	if err != nil {
		return nil, err
	}
	fill, err := r.zeroed("the list fill", backend.Int32, nl)
	if err != nil {
		return nil, err
	}
	if ix.offsets, err = r.alloc("the list offsets", backend.Int32, nl+1); err != nil {
		return nil, err
	}
	if ix.ids, err = r.alloc("the list members", backend.Int32, n); err != nil {
		return nil, err
	}
	if err := be.launch1D("knn_list_count", int64(n), localSize, int32(n), int32(np), probes, counts); err != nil {
		return nil, err
	}
	if err := be.launch("knn_offsets", [3]int{1, 1, 1}, [3]int{min(knnScanLocal, be.rt.MaxLocal()), 1, 1}, int32(nl), counts, ix.offsets); err != nil {
		return nil, err
	}
	if err := be.launch1D("knn_list_slot", int64(n), localSize, int32(n), int32(np), probes, ix.offsets, fill, ix.ids); err != nil {
		return nil, err
	}
	r.release(counts)
	r.release(fill)
	if ix.xs, err = r.alloc("the sorted points", backend.Float32, n*d); err != nil {
		return nil, err
	}
	if err := r.gather(n, d, ix.ids, xm, ix.xs); err != nil {
		return nil, err
	}
	if ix.probes, err = r.alloc("the sorted probes", backend.Int32, n*np); err != nil {
		return nil, err
	}
	if err := r.gather(n, np, ix.ids, probes, ix.probes); err != nil {
		return nil, err
	}
	r.release(probes)
	return ix, nil
}

// searchIVF writes each indexed point's k neighbours (itself first) to oi
// and od.
func (r *knnRun) searchIVF(ix *ivfIndex, k int, oi, od Mem) error {
	return r.searchIVFQueries(ix, ix.xs, ix.ids, ix.probes, ix.n, k, oi, od)
}

// searchIVFQueries writes the k neighbours (itself first) of nq indexed
// points, given by their coordinates q, ids qid and probes qprobes (in
// the sorted order), to their rows of oi and od: knn_ivf_union lists each
// work-group's lists, knn_scan scans them.
func (r *knnRun) searchIVFQueries(ix *ivfIndex, q, qid, qprobes Mem, nq, k int, oi, od Mem) error {
	tiles := (nq + knnQT - 1) / knnQT
	stride := knnQT * ix.nProbes
	ulist, err := r.alloc("the work-groups' lists", backend.Int32, tiles*stride)
	if err != nil {
		return err
	}
	umask, err := r.alloc("the work-groups' list masks", backend.Int32, tiles*stride)
	if err != nil {
		return err
	}
	ucount, err := r.alloc("the work-groups' list counts", backend.Int32, tiles)
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range []Mem{ulist, umask, ucount} {
			r.release(m)
		}
	}()
	if err := r.be.launch("knn_ivf_union", [3]int{tiles, 1, 1}, [3]int{knnLocal, 1, 1},
		int32(nq), int32(ix.nProbes), qprobes, ulist, umask, ucount); err != nil {
		return err
	}
	if err := r.scan(scanJob{nq: nq, d: ix.d, k: k - 1, self: true, q: q, qid: qid, p: ix.xs, pid: ix.ids, np: ix.n,
		offsets: ix.offsets, ulist: ulist, umask: umask, ucount: ucount, ustride: stride, outIdx: oi, outDist: od}); err != nil {
		return fmt.Errorf("IVF-Flat search: %w", err)
	}
	return nil
}

// train returns q.nLists k-means centres (nLists x d, on the device)
// trained on a sample of q.trainSample of the n points xm: random distinct
// sample rows to start, then q.iters Lloyd iterations.
func (r *knnRun) train(xm Mem, n, d int, q ivfParams, maxAbs float32) (Mem, error) {
	be := r.be
	rng := rand.New(rand.NewPCG(q.seed, 0x6a09e667f3bcc909))
	m, nl := q.trainSample, q.nLists
	ts := xm
	if m < n {
		rows := sampleRows(n, m, rng)
		idx, err := r.upload("the sample's rows", backend.Int32, asBytes(rows), m)
		if err != nil {
			return nil, err
		}
		defer r.release(idx)
		if ts, err = r.alloc("the sample", backend.Float32, m*d); err != nil {
			return nil, err
		}
		if err := r.gather(m, d, idx, xm, ts); err != nil {
			return nil, err
		}
	}
	start := sampleRows(m, nl, rng)
	idx, err := r.upload("the first centres' rows", backend.Int32, asBytes(start), nl)
	if err != nil {
		return nil, err
	}
	cent, err := r.alloc("the centres", backend.Float32, nl*d)
	if err != nil {
		return nil, err
	}
	if err := r.gather(nl, d, idx, ts, cent); err != nil {
		return nil, err
	}
	host := make([]float32, nl*d)
	if err := be.rt.ToHost(asBytes(host), cent, 0); err != nil {
		return nil, fmt.Errorf("reading the centres: %w", err)
	}

	assign, err := r.alloc("the assignment", backend.Int32, m)
	if err != nil {
		return nil, err
	}
	sums, err := r.alloc("the centre sums", backend.Int64, nl*d)
	if err != nil {
		return nil, err
	}
	counts, err := r.alloc("the centre counts", backend.Int32, nl)
	if err != nil {
		return nil, err
	}
	scale := fixedScale(maxAbs, m)
	hs := make([]int64, nl*d)
	hc := make([]int32, nl)
	for it := range q.iters {
		if err := r.scan(scanJob{nq: m, d: d, k: 1, q: ts, p: cent, np: nl, outIdx: assign}); err != nil {
			return nil, err
		}
		if err := be.rt.Zero(sums, 0, sums.Size()); err != nil {
			return nil, err
		}
		if err := be.rt.Zero(counts, 0, counts.Size()); err != nil {
			return nil, err
		}
		if err := be.launch1D("knn_accumulate", int64(m)*int64(d), localSize, int32(m), int32(d), assign, ts, scale, sums, counts); err != nil {
			return nil, err
		}
		if err := be.rt.ToHost(asBytes(hs), sums, 0); err != nil {
			return nil, fmt.Errorf("reading the centre sums: %w", err)
		}
		if err := be.rt.ToHost(asBytes(hc), counts, 0); err != nil {
			return nil, fmt.Errorf("reading the centre counts: %w", err)
		}
		for c := range nl {
			if hc[c] == 0 {
				continue
			}
			f := 1 / (scale * float64(hc[c]))
			for j := range d {
				host[c*d+j] = float32(float64(hs[c*d+j]) * f)
			}
		}
		if it < q.iters-1 {
			knn.Rebalance(host, d, hc, m)
		}
		if err := be.rt.ToDevice(cent, 0, asBytes(host)); err != nil {
			return nil, fmt.Errorf("writing the centres: %w", err)
		}
	}
	for _, m := range []Mem{assign, sums, counts, idx} {
		r.release(m)
	}
	if ts != xm {
		r.release(ts)
	}
	return cent, nil
}

// fixedScale returns the power of two by which knn_accumulate multiplies
// values of magnitude at most maxAbs, so that the sum of m of them stays
// below 2^61 in magnitude.
func fixedScale(maxAbs float32, m int) float64 {
	bound := float64(maxAbs) * float64(m)
	if bound == 0 {
		return 1
	}
	_, e := math.Frexp(bound) // bound < 2^e
	return math.Ldexp(1, 61-e)
}

// sampleRows returns m distinct random indices below n, in random order
// (a partial Fisher-Yates shuffle).
func sampleRows(n, m int, rng *rand.Rand) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	for i := range min(m, n) {
		j := i + rng.IntN(n-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:min(m, n)]
}
