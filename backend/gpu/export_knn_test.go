package gpu

import "github.com/scbench/scbench/backend"

// KNNListSizes builds KNN's IVF-Flat index over x (n x d) on the device
// and returns the size of each list.
func (be *Backend) KNNListSizes(x []float32, n, d int, p backend.KNNParams) ([]int32, error) {
	r := &knnRun{be: be}
	defer r.free()
	xm, maxAbs, err := r.prepare(x[:n*d], n*d)
	if err != nil {
		return nil, err
	}
	ix, err := r.buildIVF(xm, n, d, ivfDefaults(n, p), maxAbs)
	if err != nil {
		return nil, err
	}
	off := make([]int32, ix.nLists+1)
	if err := be.rt.ToHost(asBytes(off), ix.offsets, 0); err != nil {
		return nil, err
	}
	sizes := make([]int32, ix.nLists)
	for l := range sizes {
		sizes[l] = off[l+1] - off[l]
	}
	return sizes, nil
}

// KNNLists builds KNN's IVF-Flat index over x (n x d) on the device and
// returns its lists (the ids of each list's points, in no particular
// order) and each point's probes (its nProbes nearest lists, nearest
// first).
func (be *Backend) KNNLists(x []float32, n, d int, p backend.KNNParams) (lists, probes [][]int32, err error) {
	r := &knnRun{be: be}
	defer r.free()
	xm, maxAbs, err := r.prepare(x[:n*d], n*d)
	if err != nil {
		return nil, nil, err
	}
	ix, err := r.buildIVF(xm, n, d, ivfDefaults(n, p), maxAbs)
	if err != nil {
		return nil, nil, err
	}
	off := make([]int32, ix.nLists+1)
	ids := make([]int32, n)
	ps := make([]int32, n*ix.nProbes)
	for _, c := range []struct {
		dst []int32
		src Mem
	}{{off, ix.offsets}, {ids, ix.ids}, {ps, ix.probes}} {
		if err := be.rt.ToHost(asBytes(c.dst), c.src, 0); err != nil {
			return nil, nil, err
		}
	}
	lists = make([][]int32, ix.nLists)
	for l := range lists {
		lists[l] = ids[off[l]:off[l+1]]
	}
	probes = make([][]int32, n)
	for s, id := range ids {
		probes[id] = ps[s*ix.nProbes : (s+1)*ix.nProbes]
	}
	return lists, probes, nil
}
