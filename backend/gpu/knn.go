package gpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
)

// The neighbour search (kernels/knn.cl): backend.NeighborSearcher.
//
// # Ranking
//
// knn_scan does all the ranking: the exact search (every point), each
// k-means assignment (the nearest centre), IVF-Flat's coarse search (the
// nProbes nearest centres) and its fine search (the points of the probed
// lists). A work-group takes 32 queries and walks the points in tiles of
// 64, which it reads once for all 32. Distances are computed in float32 by
// direct differences, sum (q_j - p_j)^2, rather than as |q|^2 + |p|^2 -
// 2 q.p: the latter is a matrix product and faster on tensor cores, but
// its rounding error is relative to |q|^2 + |p|^2, not to the distance,
// so near neighbours of points far from the origin lose most of their
// digits and ties come out in any order. The direct sum has no
// cancellation: its error is at most (d+2) float32 roundings of the
// distance itself. That bound makes the float32 value a safe filter: a
// point whose float32 distance exceeds the query's k-th distance by more
// than the bound cannot enter the list, and the few that pass are ranked
// by their float64 distance, ties by the smaller index. The result is the
// order of a float64 brute force, the one knn.Exact documents, whatever
// the tiling or the order in which points arrive.
//
// Each query's list lives in LOCAL memory, sorted, at most knnKMax
// long; a self search keeps k-1 (the query itself comes first, at 0), so
// k <= knnKMax+1.
//
// # IVF-Flat
//
// As knn.BuildIVFFlat then SearchSelf, all on the device: k-means on a
// sample (Lloyd's iterations: knn_scan assigns, knn_accumulate sums each
// centre's rows in fixed point so that the centres do not depend on the
// order of the atomics, the host divides and re-seeds empty or tiny
// clusters by splitting the largest as faiss does), then every point's
// nProbes nearest centres, the points sorted by their nearest centre into
// contiguous lists (counts, prefix sums, slots, a gather of the rows), and
// the fine search: a work-group of 32 consecutive points of the sorted
// order (mostly one or two lists' points) scans the union of their
// probes, each list counting only for the queries that probe it
// (knn_ivf_union lists them with a bit mask per list). A point's own list
// is its first probe, so it is always searched.
//
// # Cost at 1.3 million points, 50 dimensions, k = 15
//
// The floor, at about 50 TFLOP/s of float32 (a difference and a fused
// multiply-add per coordinate: 3 operations) and 4 TB/s: 7 k-means
// iterations over 262,144 sample rows and 4,096 centres, 1.1 TFLOP, 22
// ms; the coarse search of every point, 0.8 TFLOP, 16 ms; the fine search,
// 1.3M points x 20 lists x 319 points, 1.25 TFLOP, 25 ms, or about 2.4
// times that since a work-group computes every list of its union for all
// its queries (measured on 100,000 blob points: 51 lists a work-group for
// 20 probes a query); the lists re-read per work-group from L2 or memory,
// about 130 GB, 33 ms at memory speed. The float64 re-ranking adds a few
// hundred uncoalesced row reads per query. Over PCIe: 260 MB in, 156 MB
// out, about 15 ms. So a floor near 0.15 s, against cuVS's 2.13 s for
// build and search.

const (
	knnQT    = 32  // queries per knn_scan work-group (KNN_QT)
	knnLocal = 128 // knn_scan's work-group size (KNN_LOCAL)
	knnKMax  = 64  // most neighbours a query keeps (KNN_KMAX)
	// knnMaxProbes is the most probes knn_ivf_union takes
	// (KNN_UNION / KNN_QT).
	knnMaxProbes = 64
	// knnMaxLists bounds the lists: knn_ivf_union packs a list and a
	// query of the tile into 32 bits.
	knnMaxLists  = 1<<27 - 1
	knnScanLocal = 1024 // knn_offsets' largest work-group (KNN_SCAN_LOCAL)
	knnRedLocal  = 256  // knn_absmax's work-group size (KNN_RED_LOCAL)
	knnRedGroups = 512  // knn_absmax's work-groups
)

// KNN returns the k nearest rows of x (n x d, row-major) of each row, as
// backend.NeighborSearcher documents: p.Method "exact" searches every
// point, "ivfflat" builds an IVF-Flat index on the device and searches
// it. k may be at most 65 (the query and 64 neighbours), and IVF-Flat
// probes at most 64 lists. The coordinates must be finite.
func (be *Backend) KNN(x []float32, n, d, k int, p backend.KNNParams) ([]int32, []float32, error) {
	if err := checkKNN(len(x), n, d, k, p.Method); err != nil {
		return nil, nil, fmt.Errorf("gpu: KNN: %w", err)
	}
	if ml := be.rt.MaxLocal(); ml < knnLocal {
		return nil, nil, fmt.Errorf("gpu: KNN: the device takes work-groups of at most %d, the search needs %d", ml, knnLocal)
	}
	r := &knnRun{be: be}
	defer r.free()
	idx, dist, err := r.run(x[:n*d], n, d, k, p)
	if err != nil {
		return nil, nil, fmt.Errorf("gpu: KNN: %w", err)
	}
	return idx, dist, nil
}

// checkPoints checks the n x d points of a search, held in lenX values.
func checkPoints(lenX, n, d int) error {
	if n < 1 || d < 1 || n > math.MaxInt32 || d > math.MaxInt32 {
		return fmt.Errorf("%w: %d x %d points (want at least 1 x 1, and int32 sizes)", backend.ErrShape, n, d)
	}
	if int64(n)*int64(d) > int64(lenX) {
		return fmt.Errorf("%w: %d x %d points but x holds %d values", backend.ErrShape, n, d, lenX)
	}
	return nil
}

// checkKNN checks KNN's shapes and method.
func checkKNN(lenX, n, d, k int, method string) error {
	if err := checkPoints(lenX, n, d); err != nil {
		return err
	}
	if k < 1 || k > n {
		return fmt.Errorf("%w: k = %d over %d points: k must be between 1 and the number of points (itself included)", backend.ErrShape, k, n)
	}
	if k-1 > knnKMax {
		return fmt.Errorf("k = %d: the device search keeps at most %d neighbours besides the point itself", k, knnKMax)
	}
	if method != "exact" && method != "ivfflat" {
		return fmt.Errorf("unknown method %q (want exact or ivfflat)", method)
	}
	return nil
}

// knnRun holds one search's device allocations, freed together.
type knnRun struct {
	be    *Backend
	bufs  []*buffer
	empty Mem // a 0-byte allocation for the arguments a kernel ignores
}

// alloc returns a new allocation of n elements of kind k (contents
// undefined), freed by free.
func (r *knnRun) alloc(what string, k backend.Kind, n int) (Mem, error) {
	b, err := r.be.allocRaw(k, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r.bufs = append(r.bufs, b)
	return b.mem, nil
}

// zeroed is alloc, zeroed.
func (r *knnRun) zeroed(what string, k backend.Kind, n int) (Mem, error) {
	m, err := r.alloc(what, k, n)
	if err != nil {
		return nil, err
	}
	if err := r.be.rt.Zero(m, 0, m.Size()); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return m, nil
}

// upload returns a new allocation holding a copy of the host slice src.
func (r *knnRun) upload(what string, k backend.Kind, src []byte, n int) (Mem, error) {
	m, err := r.alloc(what, k, n)
	if err != nil {
		return nil, err
	}
	if len(src) > 0 {
		if err := r.be.rt.ToDevice(m, 0, src); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return m, nil
}

// release frees m before the run ends (work already issued still sees it).
func (r *knnRun) release(m Mem) {
	for i, b := range r.bufs {
		if b.mem == m {
			b.Free()
			r.bufs = append(r.bufs[:i], r.bufs[i+1:]...)
			return
		}
	}
}

func (r *knnRun) free() {
	for _, b := range r.bufs {
		b.Free()
	}
	r.bufs = nil
}

// run uploads x, checks it and searches.
func (r *knnRun) run(x []float32, n, d, k int, p backend.KNNParams) ([]int32, []float32, error) {
	be := r.be
	xm, maxAbs, err := r.prepare(x, n*d)
	if err != nil {
		return nil, nil, err
	}
	idx := make([]int32, n*k)
	dist := make([]float32, n*k)
	if k == 1 {
		for i := range idx {
			idx[i] = int32(i)
		}
		return idx, dist, nil
	}
	oi, err := r.alloc("the neighbour indices", backend.Int32, n*k)
	if err != nil {
		return nil, nil, err
	}
	od, err := r.alloc("the neighbour distances", backend.Float32, n*k)
	if err != nil {
		return nil, nil, err
	}
	switch p.Method {
	case "exact":
		err = r.scan(scanJob{nq: n, d: d, k: k - 1, self: true, q: xm, p: xm, np: n, outIdx: oi, outDist: od})
	case "ivfflat":
		err = r.ivfFlat(xm, n, d, k, ivfDefaults(n, p), maxAbs, p.Refine, oi, od)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := be.rt.ToHost(asBytes(idx), oi, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the neighbour indices: %w", err)
	}
	if err := be.rt.ToHost(asBytes(dist), od, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the neighbour distances: %w", err)
	}
	return idx, dist, nil
}

// prepare uploads the n values of x and returns them with their largest
// magnitude, or an error when one is NaN or infinite.
func (r *knnRun) prepare(x []float32, n int) (Mem, float32, error) {
	var err error
	if r.empty, err = r.alloc("a placeholder", backend.Int32, 0); err != nil {
		return nil, 0, err
	}
	xm, err := r.upload("the points", backend.Float32, asBytes(x), n)
	if err != nil {
		return nil, 0, err
	}
	maxAbs, err := r.absMax(xm, int64(n))
	if err != nil {
		return nil, 0, err
	}
	if math.IsInf(float64(maxAbs), 0) {
		return nil, 0, fmt.Errorf("the points hold NaN or Inf: coordinates must be finite")
	}
	return xm, maxAbs, nil
}

// absMax returns the largest |x[i]| of the n values of xm, +Inf when one
// is NaN or infinite.
func (r *knnRun) absMax(xm Mem, n int64) (float32, error) {
	part, err := r.alloc("the maxima", backend.Float32, knnRedGroups)
	if err != nil {
		return 0, err
	}
	if err := r.be.launch("knn_absmax", [3]int{knnRedGroups, 1, 1}, [3]int{knnRedLocal, 1, 1}, n, xm, part); err != nil {
		return 0, err
	}
	host := make([]float32, knnRedGroups)
	if err := r.be.rt.ToHost(asBytes(host), part, 0); err != nil {
		return 0, fmt.Errorf("reading the maxima: %w", err)
	}
	r.release(part)
	m := float32(0)
	for _, v := range host {
		m = max(m, v)
	}
	return m, nil
}

// scanJob is one knn_scan launch: the k nearest rows of p (np rows) to
// each of the nq rows of q, both d wide.
type scanJob struct {
	nq, d, k int
	self     bool // skip the point whose id is the query's, write the query first
	q, qid   Mem  // qid nil: a query's id is its row
	p, pid   Mem  // pid nil: a point's id is its row
	np       int
	// IVF: the lists each work-group scans (knn_ivf_union); offsets nil:
	// every point.
	offsets, ulist, umask, ucount Mem
	ustride                       int
	outIdx, outDist               Mem // outDist nil: indices only
}

func (r *knnRun) scan(j scanJob) error {
	or := func(m Mem) Mem {
		if m == nil {
			return r.empty
		}
		return m
	}
	flag := func(m Mem) int32 {
		if m == nil {
			return 0
		}
		return 1
	}
	self := int32(0)
	if j.self {
		self = 1
	}
	groups := (j.nq + knnQT - 1) / knnQT
	if groups == 0 {
		return nil
	}
	return r.be.launch("knn_scan", [3]int{groups, 1, 1}, [3]int{knnLocal, 1, 1},
		int32(j.nq), int32(j.d), int32(j.k), self,
		j.q, or(j.qid), flag(j.qid),
		j.p, or(j.pid), flag(j.pid), int32(j.np),
		flag(j.offsets), or(j.offsets), or(j.ulist), or(j.umask), or(j.ucount), int32(j.ustride),
		j.outIdx, or(j.outDist), flag(j.outDist))
}

// gather copies rows of w 32-bit elements: dst row i = src row idx[i], for
// rows rows.
func (r *knnRun) gather(rows, w int, idx, src, dst Mem) error {
	total := int64(rows) * int64(w)
	return r.be.launch1D("knn_gather", total, localSize, total, int32(w), idx, src, dst)
}
