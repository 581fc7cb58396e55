package knn

// heaps holds one bounded max-heap per query of a unit: the best k
// (squared distance, id) pairs seen so far, the worst at the root. Pairs
// are ordered by distance, then by id, so the k kept are exactly the first
// k of that total order whatever the scan order: results do not depend on
// the thread count or on how lists are grouped.
type heaps struct {
	k  int
	d  []float64
	id []int32
	n  []int
}

func newHeaps(k, queries int) heaps {
	return heaps{k: k, d: make([]float64, k*queries), id: make([]int32, k*queries), n: make([]int, queries)}
}

// worse reports whether (d1, i1) comes after (d2, i2).
func worse(d1 float64, i1 int32, d2 float64, i2 int32) bool {
	return d1 > d2 || (d1 == d2 && i1 > i2)
}

// offer adds (d, id) to query u's heap if it belongs among the best k and
// reports whether the heap's worst value changed while full (including the
// moment it fills), that is, whether the query's threshold must be updated.
func (h *heaps) offer(u int, d float64, id int32) bool {
	k := h.k
	hd := h.d[u*k : u*k+k]
	hi := h.id[u*k : u*k+k]
	n := h.n[u]
	if n < k {
		// Sift up.
		i := n
		for i > 0 {
			p := (i - 1) / 2
			if !worse(d, id, hd[p], hi[p]) {
				break
			}
			hd[i], hi[i] = hd[p], hi[p]
			i = p
		}
		hd[i], hi[i] = d, id
		h.n[u] = n + 1
		return n+1 == k
	}
	if !worse(hd[0], hi[0], d, id) {
		return false
	}
	siftDown(hd, hi, d, id) // replaces the root
	return true
}

// siftDown puts (d, id) at the root of the max-heap hd, hi (worst first)
// and moves it down to its place.
func siftDown(hd []float64, hi []int32, d float64, id int32) {
	n := len(hd)
	hi = hi[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && worse(hd[r], hi[r], hd[l], hi[l]) {
			c = r
		}
		if !worse(hd[c], hi[c], d, id) {
			break
		}
		hd[i], hi[i] = hd[c], hi[c]
		i = c
	}
	hd[i], hi[i] = d, id
}

// top returns the worst squared distance kept for query u (the heap must
// be full).
func (h *heaps) top(u int) float64 { return h.d[u*h.k] }

// sorted sorts query u's pairs in place, best first, and returns them.
// The heap is no longer valid afterwards.
func (h *heaps) sorted(u int) ([]float64, []int32) {
	k, n := h.k, h.n[u]
	hd := h.d[u*k : u*k+n]
	hi := h.id[u*k : u*k+n]
	// Heap sort: repeatedly move the worst to the end.
	for end := n - 1; end > 0; end-- {
		d, id := hd[end], hi[end]
		hd[end], hi[end] = hd[0], hi[0]
		siftDown(hd[:end], hi[:end], d, id)
	}
	return hd, hi
}

// threshold returns the float32 filter value for a heap whose worst
// squared distance is top: top plus the query's slack, rounded up (the
// factor 1+2^-22 exceeds float32's rounding error of 2^-24).
func threshold(top, slack float64) float32 {
	return float32((top + slack) * (1 + 0x1p-22))
}
