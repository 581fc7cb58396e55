package knn

import (
	"cmp"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// chunkBytes is the size of the run of panels a tile scans before the next
// tile of the same unit takes over: small enough to stay in L2, so every
// tile of a unit reuses it.
const chunkBytes = 192 << 10

// job is one k-nearest-neighbour search: queries against the lists of
// ps. Queries are processed in units (consecutive runs of order); a unit
// belongs to one goroutine, which keeps its queries' heaps, so nothing is
// shared but the read-only inputs and disjoint rows of the output.
type job struct {
	ps    *pointSet
	load  func(i int, dst []float32) // copies query i into dst
	self  bool                       // query i is point i: skip it, then put it first
	heapK int                        // neighbours searched per query, self excluded

	// probes returns the lists query q scans, best first (-1 entries
	// are skipped); nil means every query scans every list.
	probes func(q int32) []int32

	order   []int32 // queries in processing order
	units   []int   // unit u is order[units[u]:units[u+1]]
	threads int

	outK    int       // heapK, plus one with self
	outIdx  []int32   // nq*outK
	outDist []float32 // nq*outK Euclidean distances, or nil
}

// chunkUnits splits order into units of at most size queries.
func chunkUnits(n, size int) []int {
	units := []int{0}
	for s := size; s < n; s += size {
		units = append(units, s)
	}
	return append(units, n)
}

func identity(n int) []int32 {
	o := make([]int32, n)
	for i := range o {
		o[i] = int32(i)
	}
	return o
}

func resolveThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// run executes the job on its goroutines.
func (j *job) run() {
	nu := len(j.units) - 1
	if nu <= 0 {
		return
	}
	maxUnit := 0
	for u := 0; u < nu; u++ {
		maxUnit = max(maxUnit, j.units[u+1]-j.units[u])
	}
	threads := min(resolveThreads(j.threads), nu)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			w := newWorker(j, maxUnit)
			for {
				u := int(next.Add(1) - 1)
				if u >= nu {
					return
				}
				w.unit(j.order[j.units[u]:j.units[u+1]])
			}
		})
	}
	wg.Wait()
}

// tile is up to tileRows queries of a unit packed for the kernel.
type tile struct {
	a   []float32 // d*tileRows, k-major
	qn  [tileRows]float32
	thr [tileRows]float32
	u   [tileRows]int32 // unit query of each row, -1 on padding
	m   int
}

// worker holds one goroutine's buffers: the current unit's queries,
// their heaps and thresholds, and the packed tiles.
type worker struct {
	j     *job
	d     int
	h     heaps
	qid   []int32
	qv    []float32 // unit queries, d each
	qn    []float32
	slack []float64
	thr   []float32
	tiles []tile
	c     [tileRows * panelWidth]float32
	us    []int32
	exact bool // the current pass re-ranks in float64 as it goes
	// unitLen is the number of queries of the current pass; canon says
	// that the tiles hold all of them in order.
	unitLen int
	canon   bool
	redo    []int32 // queries the float32 pass could not prove exact
	again   []int32

	// scanProbes's buckets: per list, the unit queries probing it, the
	// sum of their probe ranks and the end of its bucket in flat.
	cnt, rankSum, end []int32
	touched, flat     []int32
}

func newWorker(j *job, maxUnit int) *worker {
	d := j.ps.d
	w := &worker{
		j:     j,
		d:     d,
		h:     newHeaps(j.heapK+approxMargin, maxUnit),
		qid:   make([]int32, maxUnit),
		qv:    make([]float32, maxUnit*d),
		qn:    make([]float32, maxUnit),
		slack: make([]float64, maxUnit),
		thr:   make([]float32, maxUnit),
		tiles: make([]tile, (maxUnit+tileRows-1)/tileRows),
		us:    make([]int32, maxUnit),
	}
	for i := range w.tiles {
		w.tiles[i].a = make([]float32, d*tileRows)
	}
	return w
}

// unit searches the neighbours of the queries qs and writes their rows of
// the output. The first pass ranks candidates by the kernel's float32
// values and keeps approxMargin more than asked; write then re-ranks them
// in float64 and proves the result exact (see write). The rare queries
// it cannot prove (near-ties at the boundary, duplicates) are searched
// again in a second pass that re-ranks every candidate in float64.
func (w *worker) unit(qs []int32) {
	w.redo = w.redo[:0]
	w.pass(qs, false)
	if len(w.redo) > 0 {
		w.again = append(w.again[:0], w.redo...)
		w.pass(w.again, true)
	}
}

// approxMargin is how many candidates beyond k the float32 pass keeps.
const approxMargin = 4

// pass runs one search pass over the queries qs; exact says whether
// candidates are re-ranked in float64 as they come (and the heap holds
// ids) or at the end (and the heap holds float32 values and slots).
func (w *worker) pass(qs []int32, exact bool) {
	j, d := w.j, w.d
	w.exact = exact
	w.h.k = j.heapK
	if !exact {
		w.h.k += approxMargin
	}
	w.unitLen, w.canon = len(qs), false
	c := slackCoef(d)
	inf := float32(math.Inf(1))
	for u, q := range qs {
		v := w.qv[u*d : u*d+d]
		j.load(int(q), v)
		n2 := rowNorm2(v)
		w.qid[u] = q
		w.qn[u] = float32(n2)
		w.slack[u] = c * n2
		w.thr[u] = inf
		w.h.n[u] = 0
	}
	if j.heapK > 0 {
		if j.probes == nil {
			for u := range qs {
				w.us[u] = int32(u)
			}
			for l := range j.ps.lists() {
				w.scanList(l, w.us[:len(qs)])
			}
		} else {
			w.scanProbes(qs)
		}
	}
	w.write(qs)
}

// scanProbes scans, list by list, the lists the unit's queries probe,
// each for all the unit queries that probe it (a bucket sort of the
// (list, query) pairs). Lists come in the order of their mean probe
// rank, so each query meets its nearest lists first and its threshold
// tightens early.
func (w *worker) scanProbes(qs []int32) {
	j := w.j
	if nl := j.ps.lists(); len(w.cnt) < nl {
		w.cnt = make([]int32, nl)
		w.rankSum = make([]int32, nl)
		w.end = make([]int32, nl)
	}
	w.touched = w.touched[:0]
	total := 0
	for _, q := range qs {
		for r, l := range j.probes(q) {
			if l < 0 {
				continue
			}
			if w.cnt[l] == 0 {
				w.touched = append(w.touched, l)
			}
			w.cnt[l]++
			w.rankSum[l] += int32(r)
			total++
		}
	}
	slices.SortFunc(w.touched, func(a, b int32) int {
		// Mean rank sum/cnt of a against b, without division.
		if c := cmp.Compare(int64(w.rankSum[a])*int64(w.cnt[b]), int64(w.rankSum[b])*int64(w.cnt[a])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	off := int32(0)
	for _, l := range w.touched {
		w.end[l] = off
		off += w.cnt[l]
	}
	if cap(w.flat) < total {
		w.flat = make([]int32, total)
	}
	flat := w.flat[:total]
	for u, q := range qs {
		for _, l := range j.probes(q) {
			if l >= 0 {
				flat[w.end[l]] = int32(u)
				w.end[l]++
			}
		}
	}
	for _, l := range w.touched {
		hi := w.end[l]
		w.scanList(int(l), flat[hi-w.cnt[l]:hi])
		w.cnt[l], w.rankSum[l] = 0, 0
	}
}

// scanList scans list l for the unit queries us: the panels in chunks
// that stay in cache, each chunk for every tile of queries.
func (w *worker) scanList(l int, us []int32) {
	ps, d := w.j.ps, w.d
	p0, p1 := ps.start[l], ps.start[l+1]
	if p0 == p1 || len(us) == 0 {
		return
	}
	nt := (len(us) + tileRows - 1) / tileRows
	tiles := w.tiles[:nt]
	// us is in ascending order, so a list that every unit query probes
	// gets the same tiles as the last such list: reuse them and only
	// refresh the thresholds.
	canon := len(us) == w.unitLen
	if canon && w.canon {
		for t := range tiles {
			tl := &tiles[t]
			for r := 0; r < tl.m; r++ {
				tl.thr[r] = w.thr[tl.u[r]]
			}
		}
		tiles = nil
	} else {
		w.canon = canon
	}
	for t := range tiles {
		tl := &tiles[t]
		rows := us[t*tileRows : min(len(us), (t+1)*tileRows)]
		tl.m = len(rows)
		for r := 0; r < tileRows; r++ {
			if r < len(rows) {
				u := rows[r]
				q := w.qv[int(u)*d : int(u)*d+d]
				for k, v := range q {
					tl.a[k*tileRows+r] = v
				}
				tl.qn[r], tl.thr[r], tl.u[r] = w.qn[u], w.thr[u], u
			} else {
				for k := 0; k < d; k++ {
					tl.a[k*tileRows+r] = 0
				}
				tl.qn[r], tl.thr[r], tl.u[r] = 0, float32(math.Inf(-1)), -1
			}
		}
	}
	tiles = w.tiles[:nt]
	chunk := max(1, chunkBytes/(panelWidth*d*4))
	for c0 := p0; c0 < p1; c0 += chunk {
		c1 := min(p1, c0+chunk)
		for t := range tiles {
			w.scanTile(&tiles[t], c0, c1)
		}
	}
}

// scanTile runs the kernel over panels p0 to p1 for one tile and offers
// every reported point, at its exact float64 distance, to its query's heap.
func (w *worker) scanTile(tl *tile, p0, p1 int) {
	j, ps, d := w.j, w.j.ps, w.d
	stride := panelWidth * d
	for p := p0; p < p1; p++ {
		lo, hi := kernel(d, tl.a, ps.data[p*stride:(p+1)*stride], ps.norm[p*panelWidth:(p+1)*panelWidth], tl.qn[:], tl.thr[:], w.c[:])
		for r := 0; lo|hi != 0; r++ {
			m := lo & (1<<panelWidth - 1)
			lo = lo>>panelWidth | hi<<(64-panelWidth)
			hi >>= panelWidth
			if m == 0 {
				continue
			}
			th := tl.thr[r]
			u := int(tl.u[r])
			for ; m != 0; m &= m - 1 {
				jj := bits.TrailingZeros64(m)
				if !(w.c[r*panelWidth+jj] <= th) {
					continue // the threshold tightened since the kernel ran
				}
				id := ps.ids[p*panelWidth+jj]
				if id < 0 || (j.self && id == w.qid[u]) {
					continue
				}
				if !w.exact {
					// Rank by the float32 value; the heap holds slots.
					if w.h.offer(u, float64(w.c[r*panelWidth+jj]), int32(p*panelWidth+jj)) {
						th = float32(w.h.top(u))
						tl.thr[r], w.thr[u] = th, th
					}
					continue
				}
				d2 := ps.dist2(w.qv[u*d:u*d+d], p*panelWidth+jj)
				if w.h.offer(u, d2, id) {
					th = threshold(w.h.top(u), w.slack[u])
					tl.thr[r], w.thr[u] = th, th
				}
			}
		}
	}
}

// write stores the unit's sorted neighbour lists in the output. Slots the
// search could not fill (fewer candidates than k) get id -1 and +Inf.
//
// After a float32 pass the heap holds the best k+approxMargin candidates
// by kernel value v; write re-ranks them by float64 distance and accepts
// the first k only if they are provably the exact answer. The kernel's
// value underestimates no distance by more than half the query's slack
// (v >= exact - c qn / 2, see slackCoef), and every candidate the heap
// lost or never took has v >= A, the heap's worst value. So if the k-th
// float64 distance is below A - c qn / 2, no unseen point can reach it,
// even as a tie. Otherwise the query goes to w.redo.
func (w *worker) write(qs []int32) {
	j, ps := w.j, w.j.ps
	for u, q := range qs {
		var hd []float64
		var hi []int32
		if j.heapK > 0 {
			if w.exact {
				hd, hi = w.h.sorted(u)
			} else {
				n := w.h.n[u]
				full := n == w.h.k
				worst := 0.0
				if full {
					worst = w.h.top(u)
				}
				hd = w.h.d[u*w.h.k : u*w.h.k+n]
				hi = w.h.id[u*w.h.k : u*w.h.k+n]
				qv := w.qv[u*w.d : u*w.d+w.d]
				for i, slot := range hi {
					hd[i] = ps.dist2(qv, int(slot))
					hi[i] = ps.ids[slot]
				}
				sortPairs(hd, hi)
				if full && !(hd[j.heapK-1] < worst-w.slack[u]/2) {
					w.redo = append(w.redo, q)
					continue
				}
				hd, hi = hd[:min(n, j.heapK)], hi[:min(n, j.heapK)]
			}
		}
		row := int(q) * j.outK
		idx := j.outIdx[row : row+j.outK]
		var dist []float32
		if j.outDist != nil {
			dist = j.outDist[row : row+j.outK]
		}
		o := 0
		if j.self {
			idx[0] = q
			if dist != nil {
				dist[0] = 0
			}
			o = 1
		}
		for i := o; i < j.outK; i++ {
			if i-o < len(hi) {
				idx[i] = hi[i-o]
				if dist != nil {
					dist[i] = float32(math.Sqrt(hd[i-o]))
				}
			} else {
				idx[i] = -1
				if dist != nil {
					dist[i] = float32(math.Inf(1))
				}
			}
		}
	}
}

// sortPairs sorts (d, id) pairs by d, then id (insertion sort: a few
// dozen at most).
func sortPairs(d []float64, id []int32) {
	for i := 1; i < len(d); i++ {
		dv, iv := d[i], id[i]
		k := i
		for k > 0 && worse(d[k-1], id[k-1], dv, iv) {
			d[k], id[k] = d[k-1], id[k-1]
			k--
		}
		d[k], id[k] = dv, iv
	}
}
