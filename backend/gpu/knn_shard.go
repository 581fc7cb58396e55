package gpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
)

// IVF-Flat over several devices (backend.ShardedNeighborSearcher): the
// index built on one device comes back to the host (the sorted points,
// their ids and probes, the list offsets: 1.3M points x 50 dimensions
// and 20 probes are 370 MB), and each device that searches a share
// uploads it whole, searches its share of the sorted points, and hands
// back their rows. The share's queries are the index's own rows, so a
// device's answer for a point is the one-device search's, bit for bit.

// BuildIVF builds the IVF-Flat index of the n rows of x on the device and
// returns it in host memory.
func (be *Backend) BuildIVF(x []float32, n, d int, p backend.KNNParams) (*backend.IVFIndex, error) {
	if err := checkKNN(len(x), n, d, 1, "ivfflat"); err != nil {
		return nil, fmt.Errorf("gpu: BuildIVF: %w", err)
	}
	r := &knnRun{be: be}
	defer r.free()
	xm, maxAbs, err := r.prepare(x[:n*d], n*d)
	if err != nil {
		return nil, fmt.Errorf("gpu: BuildIVF: %w", err)
	}
	ix, err := r.buildIVF(xm, n, d, ivfDefaults(n, p), maxAbs)
	if err != nil {
		return nil, fmt.Errorf("gpu: BuildIVF: %w", err)
	}
	h := &backend.IVFIndex{N: n, D: d, NLists: ix.nLists, NProbes: ix.nProbes,
		Points: make([]float32, n*d), IDs: make([]int32, n), Probes: make([]int32, n*ix.nProbes), Offsets: make([]int32, ix.nLists+1)}
	for _, c := range []struct {
		dst  []byte
		src  Mem
		what string
	}{
		{asBytes(h.Points), ix.xs, "points"}, {asBytes(h.IDs), ix.ids, "ids"},
		{asBytes(h.Probes), ix.probes, "probes"}, {asBytes(h.Offsets), ix.offsets, "list offsets"},
	} {
		if err := be.rt.ToHost(c.dst, c.src, 0); err != nil {
			return nil, fmt.Errorf("gpu: BuildIVF: reading the index's %s: %w", c.what, err)
		}
	}
	return h, nil
}

// SearchIVF uploads ix once and searches the shares of its sorted
// points that next hands out (see backend.ShardedNeighborSearcher).
func (be *Backend) SearchIVF(ix *backend.IVFIndex, k int, next func() (lo, hi int, ok bool), idx []int32, dist []float32) error {
	if err := checkIVFIndex(ix, k, idx, dist); err != nil {
		return fmt.Errorf("gpu: SearchIVF: %w", err)
	}
	r := &knnRun{be: be}
	defer r.free()
	var err error
	if r.empty, err = r.alloc("a placeholder", backend.Int32, 0); err != nil {
		return fmt.Errorf("gpu: SearchIVF: %w", err)
	}
	dix, err := r.uploadIndex(ix)
	if err != nil {
		return fmt.Errorf("gpu: SearchIVF: %w", err)
	}
	// knn_scan writes the row of each query's id: full-size outputs, of
	// which each share's rows are gathered and brought back.
	oi, err := r.alloc("the neighbour indices", backend.Int32, ix.N*k)
	if err != nil {
		return fmt.Errorf("gpu: SearchIVF: %w", err)
	}
	od, err := r.alloc("the neighbour distances", backend.Float32, ix.N*k)
	if err != nil {
		return fmt.Errorf("gpu: SearchIVF: %w", err)
	}
	for {
		lo, hi, ok := next()
		if !ok {
			return nil
		}
		if lo < 0 || hi > ix.N || lo > hi {
			return fmt.Errorf("gpu: SearchIVF: %w: points %d to %d of %d", backend.ErrShape, lo, hi, ix.N)
		}
		if lo == hi {
			continue
		}
		if err := be.searchShard(r, dix, ix, lo, hi, k, oi, od, idx, dist); err != nil {
			return fmt.Errorf("gpu: SearchIVF: points %d to %d: %w", lo, hi, err)
		}
	}
}

// searchShard searches the sorted points lo to hi-1 of ix (dix on the
// device) into the full-size oi and od, and copies their rows to idx and
// dist. Its buffers are freed when it returns.
func (be *Backend) searchShard(r *knnRun, dix *ivfIndex, ix *backend.IVFIndex, lo, hi, k int, oi, od Mem, idx []int32, dist []float32) error {
	d, np, nq := ix.D, ix.NProbes, hi-lo
	var bufs []Mem
	defer func() {
		for _, m := range bufs {
			r.release(m)
		}
	}()
	upload := func(what string, kind backend.Kind, src []byte, n int) (Mem, error) {
		m, err := r.upload(what, kind, src, n)
		if err == nil {
			bufs = append(bufs, m)
		}
		return m, err
	}
	q, err := upload("the share's points", backend.Float32, asBytes(ix.Points[lo*d:hi*d]), nq*d)
	if err != nil {
		return err
	}
	qid, err := upload("the share's ids", backend.Int32, asBytes(ix.IDs[lo:hi]), nq)
	if err != nil {
		return err
	}
	qprobes, err := upload("the share's probes", backend.Int32, asBytes(ix.Probes[lo*np:hi*np]), nq*np)
	if err != nil {
		return err
	}
	if err := r.searchIVFQueries(dix, q, qid, qprobes, nq, k, oi, od); err != nil {
		return err
	}
	ci, err := upload("the share's neighbour indices", backend.Int32, nil, nq*k) // nil: allocated only
	if err != nil {
		return err
	}
	cd, err := upload("the share's neighbour distances", backend.Float32, nil, nq*k)
	if err != nil {
		return err
	}
	if err := r.gather(nq, k, qid, oi, ci); err != nil {
		return err
	}
	if err := r.gather(nq, k, qid, od, cd); err != nil {
		return err
	}
	shareIdx, shareDist := make([]int32, nq*k), make([]float32, nq*k)
	if err := be.rt.ToHost(asBytes(shareIdx), ci, 0); err != nil {
		return fmt.Errorf("reading the neighbour indices: %w", err)
	}
	if err := be.rt.ToHost(asBytes(shareDist), cd, 0); err != nil {
		return fmt.Errorf("reading the neighbour distances: %w", err)
	}
	for s, id := range ix.IDs[lo:hi] {
		copy(idx[int(id)*k:(int(id)+1)*k], shareIdx[s*k:(s+1)*k])
		copy(dist[int(id)*k:(int(id)+1)*k], shareDist[s*k:(s+1)*k])
	}
	return nil
}

// RefineKNN refines the lists idx and dist of ix's points on the device
// (see backend.ShardedNeighborSearcher).
func (be *Backend) RefineKNN(ix *backend.IVFIndex, k, rounds int, idx []int32, dist []float32) error {
	if err := checkIVFIndex(ix, k, idx, dist); err != nil {
		return fmt.Errorf("gpu: RefineKNN: %w", err)
	}
	if rounds <= 0 || k < 2 {
		return nil
	}
	r := &knnRun{be: be}
	defer r.free()
	if err := be.refineShard(r, ix, k, rounds, idx, dist); err != nil {
		return fmt.Errorf("gpu: RefineKNN: %w", err)
	}
	return nil
}

func (be *Backend) refineShard(r *knnRun, ix *backend.IVFIndex, k, rounds int, idx []int32, dist []float32) error {
	dix, err := r.uploadIndex(ix)
	if err != nil {
		return err
	}
	n := ix.N
	src, err := r.upload("the neighbour indices", backend.Int32, asBytes(idx), n*k)
	if err != nil {
		return err
	}
	srcD, err := r.upload("the neighbour distances", backend.Float32, asBytes(dist), n*k)
	if err != nil {
		return err
	}
	dst, err := r.alloc("the refined indices", backend.Int32, n*k)
	if err != nil {
		return err
	}
	dstD, err := r.alloc("the refined distances", backend.Float32, n*k)
	if err != nil {
		return err
	}
	if err := r.refineRounds(dix, k, rounds, src, srcD, dst, dstD); err != nil {
		return err
	}
	if rounds%2 == 1 {
		src, srcD = dst, dstD
	}
	if err := be.rt.ToHost(asBytes(idx), src, 0); err != nil {
		return fmt.Errorf("reading the refined indices: %w", err)
	}
	if err := be.rt.ToHost(asBytes(dist), srcD, 0); err != nil {
		return fmt.Errorf("reading the refined distances: %w", err)
	}
	return nil
}

// uploadIndex copies the host index ix to the device.
func (r *knnRun) uploadIndex(ix *backend.IVFIndex) (*ivfIndex, error) {
	dix := &ivfIndex{n: ix.N, d: ix.D, nLists: ix.NLists, nProbes: ix.NProbes}
	var err error
	if dix.xs, err = r.upload("the index's points", backend.Float32, asBytes(ix.Points), ix.N*ix.D); err != nil {
		return nil, err
	}
	if dix.ids, err = r.upload("the index's ids", backend.Int32, asBytes(ix.IDs), ix.N); err != nil {
		return nil, err
	}
	if dix.offsets, err = r.upload("the index's list offsets", backend.Int32, asBytes(ix.Offsets), ix.NLists+1); err != nil {
		return nil, err
	}
	return dix, nil
}

// checkIVFIndex checks a host index's shapes against k and the outputs.
func checkIVFIndex(ix *backend.IVFIndex, k int, idx []int32, dist []float32) error {
	switch {
	case ix == nil:
		return fmt.Errorf("%w: no index", backend.ErrShape)
	case ix.N < 1 || ix.D < 1 || ix.NLists < 1 || ix.NProbes < 1 || ix.N > math.MaxInt32 ||
		len(ix.Points) != ix.N*ix.D || len(ix.IDs) != ix.N || len(ix.Probes) != ix.N*ix.NProbes || len(ix.Offsets) != ix.NLists+1:
		return fmt.Errorf("%w: index of %d x %d points, %d lists, %d probes with %d values, %d ids, %d probes, %d offsets",
			backend.ErrShape, ix.N, ix.D, ix.NLists, ix.NProbes, len(ix.Points), len(ix.IDs), len(ix.Probes), len(ix.Offsets))
	case ix.NProbes > knnMaxProbes:
		return fmt.Errorf("IVF-Flat with %d probes: the device search probes at most %d lists", ix.NProbes, knnMaxProbes)
	case k < 1 || k > ix.N || k-1 > knnKMax:
		return fmt.Errorf("%w: k = %d over %d points (at most %d neighbours besides the point)", backend.ErrShape, k, ix.N, knnKMax)
	case len(idx) != ix.N*k || len(dist) != ix.N*k:
		return fmt.Errorf("%w: %d indices and %d distances for %d x %d neighbours", backend.ErrShape, len(idx), len(dist), ix.N, k)
	}
	return nil
}

var _ backend.ShardedNeighborSearcher = (*Backend)(nil)
