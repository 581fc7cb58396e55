package graph

// lvWeight is the edge weight type of a level's graph: float32 for the
// caller's matrix (used in place), float64 for aggregated graphs, whose
// weights are sums of many edges.
type lvWeight interface{ ~float32 | ~float64 }

// lvGraph is one level's symmetric weighted graph in CSR form. A diagonal
// entry is a self loop counted once; k[v] is the row sum (strength) and
// total the sum of all entries (2m).
type lvGraph[W lvWeight] struct {
	n       int
	indptr  []int64
	indices []int32
	w       []W
	k       []float64
	total   float64
}

// strengths fills k and total, summing over row blocks in parallel. Block
// partial sums are added in block order, so total does not depend on the
// number of threads.
func (g *lvGraph[W]) strengths(threads int) {
	g.k = make([]float64, g.n)
	nb := (g.n + lvBlock - 1) / lvBlock
	part := make([]float64, nb)
	lvParallel(threads, nb, func(_, b int) {
		lo, hi := b*lvBlock, min((b+1)*lvBlock, g.n)
		var t float64
		for v := lo; v < hi; v++ {
			var s float64
			for _, x := range g.w[g.indptr[v]:g.indptr[v+1]] {
				s += float64(x)
			}
			g.k[v] = s
			t += s
		}
		part[b] = t
	})
	g.total = 0
	for _, t := range part {
		g.total += t
	}
}

// lvStream derives the second PCG seed word of one random stream from its
// coordinates with SplitMix64 finalizers, so streams are independent of
// which worker uses them.
func lvStream(seed, pass, level, unit uint64) uint64 {
	x := seed
	for _, y := range [...]uint64{pass, level, unit} {
		x = lvMix(x ^ lvMix(y+0x9e3779b97f4a7c15))
	}
	return x
}

func lvMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// leidenAggregateGraph is AggregateGraph of the paper: it collapses every
// refined community of g (r, from leidenRefinePartition) into one node.
// The weight between two aggregated nodes is the sum of the weights
// between their members; the self loop of an aggregated node is the sum
// of all stored entries inside it, so strengths and the total are
// preserved and the quality of a partition is the same on both graphs.
// Rows are built in parallel, in blocks, each summed with a worker's
// table in the order its members' rows list the entries. The result lives
// in s's buffer number level%2 (so that a level's graph is built while
// the previous level's, in the other buffer, is read).
func leidenAggregateGraph[W lvWeight](s *leidenState, g *lvGraph[W], r *lvRefined, level uint64) *lvGraph[float64] {
	nRef, threads := r.n, s.threads
	ng := &s.aggBuf[level%2]
	ng.n, ng.total = nRef, g.total
	ng.indptr = lvResize(ng.indptr, nRef+1)
	ng.k = lvResize(ng.k, nRef)

	// Each block of rows goes to its worker's buffers first; pieces says
	// where.
	type piece struct{ worker, off, len int }
	nb := (nRef + lvBlock - 1) / lvBlock
	pieces := make([]piece, nb)
	// Room for a worker's share of g's entries (an aggregated graph has at
	// most as many) and a quarter more, so that appends rarely grow the
	// buffers.
	share := len(g.indices)*5/4/max(min(threads, nb), 1) + lvBlock
	for _, sc := range s.work[:min(threads, len(s.work))] {
		if cap(sc.aggIdx) < share {
			sc.aggIdx, sc.aggW = make([]int32, 0, share), make([]float64, 0, share)
		}
		sc.aggIdx, sc.aggW = sc.aggIdx[:0], sc.aggW[:0]
	}
	ng.indptr[0] = 0
	lvParallel(threads, nb, func(wk, b int) {
		sc := s.work[wk]
		t := &sc.table
		off := len(sc.aggIdx)
		for c := b * lvBlock; c < min((b+1)*lvBlock, nRef); c++ {
			members := r.members[r.start[c]:r.start[c+1]]
			rowLen := 0
			var kc float64
			for _, v := range members {
				rowLen += int(g.indptr[v+1] - g.indptr[v])
				kc += g.k[v]
			}
			t.begin(rowLen, nRef)
			for _, v := range members {
				lo, hi := g.indptr[v], g.indptr[v+1]
				ws := g.w[lo:hi:hi]
				for j, u := range g.indices[lo:hi] {
					d, w := r.label[u], float64(ws[j])
					switch h := t.slot(d); t.keys[h] {
					case d:
						t.vals[h] += w
					case -1:
						t.keys[h], t.vals[h] = d, w
						t.slots = append(t.slots, int32(h))
					default:
						t.add(d, w)
					}
				}
			}
			row := t.end()
			for _, cd := range row {
				sc.aggIdx = append(sc.aggIdx, cd.c)
				sc.aggW = append(sc.aggW, cd.w)
			}
			ng.indptr[c+1] = int64(len(row))
			ng.k[c] = kc
		}
		pieces[b] = piece{wk, off, len(sc.aggIdx) - off}
	})
	for c := 0; c < nRef; c++ {
		ng.indptr[c+1] += ng.indptr[c]
	}
	nnz := int(ng.indptr[nRef])
	ng.indices = lvResize(ng.indices, nnz)
	ng.w = lvResize(ng.w, nnz)
	lvParallel(threads, nb, func(_, b int) {
		p := pieces[b]
		sc := s.work[p.worker]
		dst := ng.indptr[b*lvBlock]
		copy(ng.indices[dst:], sc.aggIdx[p.off:p.off+p.len])
		copy(ng.w[dst:], sc.aggW[p.off:p.off+p.len])
	})
	return ng
}

// lvResize returns x with length n, reallocated when its capacity is
// smaller; the contents are not kept.
func lvResize[T any](x []T, n int) []T {
	if cap(x) < n {
		return make([]T, n, n+n/4)
	}
	return x[:n]
}

// permute returns g with its nodes renumbered: node i of the result is
// node order[i] of g. Rows are copied in parallel.
func (g *lvGraph[W]) permute(order []int32, threads int) *lvGraph[W] {
	n := g.n
	inv := make([]int32, n)
	for i, v := range order {
		inv[v] = int32(i)
	}
	pg := &lvGraph[W]{n: n, indptr: make([]int64, n+1), k: make([]float64, n), total: g.total}
	for i, v := range order {
		pg.indptr[i+1] = pg.indptr[i] + g.indptr[v+1] - g.indptr[v]
		pg.k[i] = g.k[v]
	}
	pg.indices = make([]int32, pg.indptr[n])
	pg.w = make([]W, pg.indptr[n])
	nb := (n + lvBlock - 1) / lvBlock
	lvParallel(threads, nb, func(_, b int) {
		for i := b * lvBlock; i < min((b+1)*lvBlock, n); i++ {
			v := order[i]
			lo := g.indptr[v]
			dst := pg.indptr[i]
			for j, u := range g.indices[lo:g.indptr[v+1]] {
				pg.indices[dst+int64(j)] = inv[u]
			}
			copy(pg.w[dst:pg.indptr[i+1]], g.w[lo:g.indptr[v+1]])
		}
	})
	return pg
}
