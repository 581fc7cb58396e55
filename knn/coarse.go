package knn

import "gonum.org/v1/gonum/blas/blas32"

// coarse is IVFFlat's coarse quantizer: it finds each query's nearest
// centres exactly. With many lists the centres come grouped by the
// mesoclusters of the two-level training, and a query scans its nearest
// mesocluster's centres first, then the other groups in order of
// distance between mesocentres. The answer is the same exact one; the
// order only fills each query's heap with good centres early, so far
// fewer candidates pass the kernel's threshold afterwards (a random
// order makes about k ln(nLists/k) of them pass).
type coarse struct {
	flat *pointSet // all centres, one list; nil in the grouped form

	nm     int
	meso   *pointSet // the mesocentres, one list
	groups *pointSet // list g: the centres nearest to mesocentre g
	order  []int32   // nm x nm: row g lists every group by distance from mesocentre g
}

// newCoarse packs the centres cent (nLists x d) and, when meso has rows,
// groups them by nearest mesocentre.
func newCoarse(cent, meso blas32.General, threads int) *coarse {
	if meso.Rows == 0 {
		return &coarse{flat: newPointSet(cent, nil, nil)}
	}
	nm := meso.Rows
	c := &coarse{nm: nm, meso: newPointSet(meso, nil, nil)}
	near := make([]int32, cent.Rows)
	exactSearch(c.meso, cent.Rows, rowLoader(cent), 1, threads, near, nil)
	members, bounds := groupByList(near, 1, nm)
	c.groups = newPointSet(cent, members, bounds)
	c.order = make([]int32, nm*nm)
	exactSearch(c.meso, nm, rowLoader(meso), nm, threads, c.order, nil)
	return c
}

// search writes the k nearest centres of each of nq queries, nearest
// first, into idx (nq*k).
func (c *coarse) search(nq int, load func(int, []float32), k, threads int, idx []int32) {
	if c.flat != nil {
		exactSearch(c.flat, nq, load, k, threads, idx, nil)
		return
	}
	near := make([]int32, nq)
	exactSearch(c.meso, nq, load, 1, threads, near, nil)
	order, bounds := groupByList(near, 1, c.nm)
	j := &job{
		ps:    c.groups,
		load:  load,
		heapK: k,
		probes: func(q int32) []int32 {
			g := int(near[q])
			return c.order[g*c.nm : g*c.nm+c.nm]
		},
		order:   order,
		units:   unitsOf(bounds, exactUnit),
		threads: threads,
		outK:    k,
		outIdx:  idx,
	}
	j.run()
}
