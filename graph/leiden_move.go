package graph

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// leidenGainTol is the relative margin a move must gain over staying, in
// units of the node's strength, so that rounding cannot make two
// communities trade a node back and forth.
const leidenGainTol = 1e-12

// Batched local moving (see leidenMoveNodesFast).
const (
	// A batch holds 1/lvMoveBatchFrac of the graph's nodes, at least
	// lvMoveTask and at most lvMoveBatchBase; after a batch without a
	// move the next one is twice as large, up to lvMoveBatch. The sizes
	// shape the result (a node whose evaluation went stale within its
	// batch is put back in the queue), so they depend on the graph and
	// the run only, not on the thread count; the smaller the batches, the
	// closer the order of visits is to the node-by-node queue of the
	// paper. Batch positions take lvMoveBatchBits bits of a stamp.
	lvMoveBatchFrac = 256
	lvMoveBatchBase = 4096
	lvMoveBatchBits = 14
	lvMoveBatch     = 1 << lvMoveBatchBits
	// lvMoveTask is the number of batch positions a worker takes at a time.
	lvMoveTask = 64
	// lvMoveEarly is the number of neighbours earlier in the same batch
	// that an evaluation remembers; with more, any move earlier in the
	// batch makes it stale.
	lvMoveEarly = 8
	// lvMoveSlack bounds, in units of gamma*k_v, the rounding by which a
	// gain evaluated from the batch's starting state can differ from the
	// same gain after the batch's earlier moves beyond what those moves
	// explain (about lvMoveBatch*2^-53: a batch's change of a total is a
	// sum of up to lvMoveBatch strengths).
	lvMoveSlack = 1e-9
)

// Outcome of a batch position.
const (
	lvUndecided uint8 = iota
	lvStayed
	lvMoved
	lvDeferred
)

// leidenMoveNodesFast is MoveNodesFast (Traag et al. 2019, Algorithm A.2)
// for the quality function of Modularity. part (community ids < g.n) is
// updated in place; the return value is the number of moves.
//
// With K_C the total strength of community C (without v) and w_vC the
// weight from v to C (self loop excluded), moving v from A to B changes
// 2m*Q by 2[(w_vB - gamma k_v K_B/2m) - (w_vA - gamma k_v K_A/2m)], so v
// goes to the community maximizing gain(C) = w_vC - gamma k_v K_C / 2m; an
// empty community has gain 0.
//
// The queue is taken in batches (n/256 nodes, 64 to 4,096, doubling up to
// 16,384 while batches move nothing; fewer when the queue is shorter), and
// every step of a batch but the in-order decisions runs in parallel:
//
//  1. Evaluate (parallel): each node of the batch sums its weights to its
//     neighbouring communities from the state at the start of the batch,
//     and keeps its own community a's weight, total and gain, the best
//     other community b's, and the best gain among the rest; it also
//     notes its neighbours that sit earlier in the batch. A node whose
//     staying leads by more than anything the rest of the batch could
//     change (every other node moving) is settled here.
//  2. Decide (sequential, O(1) per remaining node, in queue order): a
//     node whose neighbour earlier in the batch has moved is deferred: its
//     weights are stale, and it goes back to the queue. Otherwise its
//     weights are exact, and so are the totals of a and b once the batch's
//     changes so far (a small table) are added; every other candidate's
//     gain can only have grown by gamma k_v/2m times the most strength
//     that left one community in the batch, so when staying or b still
//     leads the rest by more than that, the decision is the one a
//     node-by-node queue takes at this point (up to rounding) and the
//     move is made
//     (otherwise the node is deferred too). Every move strictly increases
//     the quality.
//  3. Apply and requeue (parallel): the moves are written to the
//     partition and the community totals; as in the paper, the neighbours
//     of a moved node that are not queued (those later in the batch still
//     were) and not in its new community are queued. A node requeued from
//     several moves, or both deferred and requeued, is queued once, at the
//     first of them in batch order (an atomic minimum over batch
//     positions), so the queue order is that of the batch positions then
//     of the rows, whatever the number of threads.
//
// So compared with the node-by-node queue of the paper only the order of
// visits differs: stale nodes are visited again later. The result depends
// on the seed and the graph only, not on the number of threads. With
// active != nil only the nodes v with active[v] != 0 start in the queue
// (see Leiden's passes).
func leidenMoveNodesFast[W lvWeight](s *leidenState, g *lvGraph[W], part []int32, stream uint64, active []uint32) int {
	n := g.n
	if n == 0 || g.total <= 0 {
		return 0
	}
	m := &lvMover[W]{
		s:       s,
		g:       g,
		part:    part,
		commK:   s.commK[:n],
		commN:   s.commN[:n],
		perK:    s.gamma / g.total,
		queue:   s.queue[:n],
		inQueue: s.inQueue[:n],
		inBatch: s.inBatch[:(n+63)/64],
		bpos:    s.bpos[:n],
		claim:   s.claim[:n],
	}
	lvCommTotals(g, part, m.commK, m.commN, s.threads)
	for _, k := range g.k {
		m.maxK = max(m.maxK, k)
	}
	s.empty = s.empty[:0]
	for c := n - 1; c >= 0; c-- {
		if m.commN[c] == 0 {
			s.empty = append(s.empty, int32(c))
		}
	}

	// The queue starts with every node (every active node) in random order.
	if active == nil {
		lvShuffle(m.queue, s.seed, stream, s.threads)
		m.count = n
	} else {
		all := s.tmp[:n]
		lvShuffle(all, s.seed, stream, s.threads)
		m.count = lvKeep(all, m.queue, func(v int32) bool { return active[v] != 0 }, s.threads)
	}
	lvBlocks(s.threads, n, func(_, lo, hi int) {
		if active == nil {
			for v := lo; v < hi; v++ {
				m.inQueue[v] = true
			}
			return
		}
		for v := lo; v < hi; v++ {
			m.inQueue[v] = active[v] != 0
		}
	})
	base := min(max(n/lvMoveBatchFrac, lvMoveTask), lvMoveBatchBase)
	size := base
	for m.count > 0 {
		if m.batch(min(m.count, size)) {
			size = base
		} else {
			size = min(2*size, lvMoveBatch)
		}
	}
	return m.moves
}

// lvCommTotals sets commK and commN (one entry per node) to the total
// strength and the number of nodes of each community of part. With few
// communities the nodes are summed over a fixed number of chunks in
// parallel, and the chunks added in order.
func lvCommTotals[W lvWeight](g *lvGraph[W], part []int32, commK []float64, commN []int32, threads int) {
	n := g.n
	clear(commK)
	clear(commN)
	maxID := int32(-1)
	for _, c := range part {
		maxID = max(maxID, c)
	}
	nc := int(maxID) + 1
	const chunks = 64
	if nc*chunks > n/2 || n < chunks*lvBlock {
		for v, c := range part {
			commK[c] += g.k[v]
			commN[c]++
		}
		return
	}
	ck := make([]float64, chunks*nc)
	cn := make([]int32, chunks*nc)
	per := (n + chunks - 1) / chunks
	lvParallel(threads, chunks, func(_, b int) {
		k, cnt := ck[b*nc:(b+1)*nc], cn[b*nc:(b+1)*nc]
		lo := min(b*per, n)
		for i, c := range part[lo:min((b+1)*per, n)] {
			k[c] += g.k[lo+i]
			cnt[c]++
		}
	})
	for b := 0; b < chunks; b++ {
		for c := 0; c < nc; c++ {
			commK[c] += ck[b*nc+c]
			commN[c] += cn[b*nc+c]
		}
	}
}

// lvMover is the state of one MoveNodesFast run.
type lvMover[W lvWeight] struct {
	s     *leidenState
	g     *lvGraph[W]
	part  []int32
	commK []float64 // total strength per community
	commN []int32   // nodes per community
	perK  float64   // gamma / 2m
	maxK  float64   // the largest node strength

	queue       []int32 // ring buffer of nodes to visit
	inQueue     []bool
	head, count int
	moves       int

	// inBatch has the bit of every node of the current batch set, and
	// bpos holds their batch positions; claim holds per node the first
	// batch position that queues it again, stamped with the batch (high
	// bits) so that it needs no clearing.
	inBatch []uint64
	bpos    []int32
	claim   []uint32
}

// lvMoveEval is a node's move evaluated from the state at the start of
// its batch: its community a and strength, a's and the best other
// neighbouring community b's totals and the weights to them, the gains of
// staying, of b and of the best of the rest, and its neighbours earlier
// in the batch.
type lvMoveEval struct {
	a, b   int32 // b: first best neighbouring community other than a, -1 if none
	na     int32 // nodes in a
	nEarly int32 // neighbours earlier in the batch (only lvMoveEarly are kept)
	early  [lvMoveEarly]int32
	kv     float64
	ka, kb float64 // totals of a and b
	accA   float64 // w_va
	accB   float64 // w_vb
	stay   float64 // gain of staying in a
	gb     float64 // gain of b, -Inf if none
	g2     float64 // largest gain of the other neighbouring communities, -Inf if none
}

// key returns the claim stamp of batch position i.
func (m *lvMover[W]) key(i int) uint32 {
	return m.s.stamp<<lvMoveBatchBits | uint32(i)
}

// eval evaluates the move of v, at position i of a batch of nb nodes,
// from the state at the start of the batch, with the scratch of one
// worker. It reports whether v stays whatever the batch's other nodes do:
// they can move at most nb*maxK of strength into or out of a community,
// which moves any gain of v by at most gamma k_v/2m times that, and
// neighbours earlier in the batch can change v's weights by at most the
// weight to them.
func (m *lvMover[W]) eval(v int32, i, nb int, sc *lvScratch) (lvMoveEval, bool) {
	g, part := m.g, m.part
	lo, hi := g.indptr[v], g.indptr[v+1]
	nbr, ws := g.indices[lo:hi], g.w[lo:hi:hi]
	e := lvMoveEval{a: part[v], b: -1, kv: g.k[v], gb: math.Inf(-1), g2: math.Inf(-1)}
	pos := int32(i)
	var wEarly float64
	t := &sc.table
	t.begin(len(nbr), len(m.commK))
	for j, u := range nbr {
		w := float64(ws[j])
		if u == v || w == 0 {
			continue
		}
		if m.inBatch[u>>6]&(1<<(u&63)) != 0 {
			if p := m.bpos[u]; p < pos {
				if e.nEarly < lvMoveEarly {
					e.early[e.nEarly] = p
				}
				e.nEarly++
				wEarly += w
			}
		}
		c := part[u]
		switch h := t.slot(c); t.keys[h] {
		case c:
			t.vals[h] += w
		case -1:
			t.keys[h], t.vals[h] = c, w
			t.slots = append(t.slots, int32(h))
		default:
			t.add(c, w)
		}
	}
	cands := t.end()

	scale := m.perK * e.kv
	for _, cd := range cands {
		if cd.c == e.a {
			e.accA = cd.w
			continue
		}
		gain := cd.w - scale*m.commK[cd.c]
		if gain > e.gb {
			e.g2 = max(e.g2, e.gb)
			e.b, e.accB, e.gb = cd.c, cd.w, gain
		} else {
			e.g2 = max(e.g2, gain)
		}
	}
	e.ka, e.na = m.commK[e.a], m.commN[e.a]
	if e.b >= 0 {
		e.kb = m.commK[e.b]
	}
	e.stay = e.accA - scale*(e.ka-e.kv)
	bound := scale*float64(nb)*m.maxK + lvMoveSlack*(1+m.s.gamma)*e.kv + wEarly
	low := e.stay - bound
	return e, low > 0 && low > max(e.gb, e.g2)+bound
}

// lvDelta is the change of one community within the current batch.
type lvDelta struct {
	c            int32
	dn           int32   // nodes joined minus nodes left
	dk           float64 // strength joined minus strength left
	lost, gained float64 // strength that left, that joined
}

// delta returns the batch's change of community c, nil when there is
// none yet; with add, it creates an empty one.
func (s *leidenState) delta(c int32, add bool) *lvDelta {
	mask := uint32(len(s.dslot) - 1)
	for h := uint32(c) * 0x9e3779b1 & mask; ; h = (h + 1) & mask {
		d := s.dslot[h]
		if d < 0 {
			if !add {
				return nil
			}
			s.dslot[h] = int32(len(s.deltas))
			s.deltas = append(s.deltas, lvDelta{c: c})
			s.dused = append(s.dused, int32(h))
			return &s.deltas[len(s.deltas)-1]
		}
		if s.deltas[d].c == c {
			return &s.deltas[d]
		}
	}
}

// batch runs the next nb nodes of the queue (steps 1 to 3 of
// leidenMoveNodesFast) and reports whether any moved.
func (m *lvMover[W]) batch(nb int) bool {
	s, g := m.s, m.g
	s.stamp++
	if s.stamp >= 1<<(32-lvMoveBatchBits) {
		clear(m.claim)
		s.stamp = 1
	}
	// Pop the batch, and mark its nodes (in parallel: each node once).
	n := len(m.queue)
	nodes := s.batchNodes[:nb]
	head := m.head
	tasks := (nb + lvMoveTask - 1) / lvMoveTask
	lvParallel(s.threads, tasks, func(_, t int) {
		for i := t * lvMoveTask; i < min((t+1)*lvMoveTask, nb); i++ {
			p := head + i
			if p >= n {
				p -= n
			}
			v := m.queue[p]
			nodes[i] = v
			m.inQueue[v] = false
			m.bpos[v] = int32(i)
			atomic.OrUint64(&m.inBatch[v>>6], 1<<(v&63))
		}
	})
	m.head = head + nb
	if m.head >= n {
		m.head -= n
	}
	m.count -= nb

	// 1. Evaluate. A node that stays whatever the batch does is settled
	// here.
	res := s.moveRes[:nb]
	state := s.moveState[:nb]
	lvParallel(s.threads, tasks, func(wk, t int) {
		sc := s.work[wk]
		for i := t * lvMoveTask; i < min((t+1)*lvMoveTask, nb); i++ {
			var sure bool
			res[i], sure = m.eval(nodes[i], i, nb, sc)
			state[i] = lvUndecided
			if sure {
				state[i] = lvStayed
			}
		}
	})

	// 2. Decide, in order. Until the batch's first move the state is the
	// one the evaluations saw. After it, the totals of a and b are those
	// evaluated plus the batch's changes of them so far (kept in a small
	// table, s.deltas); any other community's total can have grown by at
	// most maxGained and shrunk by at most maxLost (the most strength that
	// joined, or left, one community in this batch), so its gain can have
	// risen by at most gamma k_v/2m times maxLost.
	var maxGained, maxLost float64
	moved := 0
	slack := lvMoveSlack * (1 + s.gamma)
	target := s.moveTo[:nb]
	if size := 4 << bits.Len(uint(nb)); len(s.dslot) != size {
		s.dslot = make([]int32, size)
		for h := range s.dslot {
			s.dslot[h] = -1
		}
	}
	s.deltas, s.dused = s.deltas[:0], s.dused[:0]
	for i := range nodes {
		if state[i] == lvStayed {
			continue
		}
		e := &res[i]
		stay, gb, na := e.stay, e.gb, e.na
		if moved > 0 {
			stale := e.nEarly > lvMoveEarly
			for _, j := range e.early[:min(e.nEarly, lvMoveEarly)] {
				if state[j] == lvMoved {
					stale = true
					break
				}
			}
			if !stale {
				scale := m.perK * e.kv
				up := scale*maxLost + slack*e.kv
				da := s.delta(e.a, false)
				var db *lvDelta
				if e.b >= 0 {
					db = s.delta(e.b, false)
				}
				if da != nil || db != nil {
					down := scale*maxGained + slack*e.kv
					if low := e.stay - down; low > max(e.gb, e.g2)+up && low > 0 {
						// Staying stays the best whatever the batch changed.
						state[i] = lvStayed
						continue
					}
					if da != nil {
						stay = e.accA - scale*(e.ka+da.dk-e.kv)
						na += da.dn
					}
					if db != nil {
						gb = e.accB - scale*(e.kb+db.dk)
					}
				}
				// The other candidates cannot have overtaken.
				stale = !(max(stay, gb) > e.g2+up)
			}
			if stale {
				state[i] = lvDeferred
				m.claim[nodes[i]] = m.key(i)
				continue
			}
		}
		// The decision: staying has gain stay; the best other community
		// is e.b when its gain exceeds stay (the first maximum, as a scan
		// of the candidates in order picks); when even that is negative v
		// leaves for an empty community.
		a := e.a
		best, bestGain := a, stay
		if gb > bestGain {
			best, bestGain = e.b, gb
		}
		if bestGain < 0 && na > 1 {
			// Alone, v would do better than anywhere it can go.
			best, bestGain = s.empty[len(s.empty)-1], 0
		}
		if best == a || bestGain-stay <= leidenGainTol*e.kv {
			state[i] = lvStayed
			continue
		}
		if best == s.emptyTop() {
			s.empty = s.empty[:len(s.empty)-1]
		}
		da := s.delta(a, true)
		da.dn--
		da.dk -= e.kv
		da.lost += e.kv
		maxLost = max(maxLost, da.lost)
		if e.na+da.dn == 0 {
			s.empty = append(s.empty, a)
		}
		db := s.delta(best, true)
		db.dn++
		db.dk += e.kv
		db.gained += e.kv
		maxGained = max(maxGained, db.gained)
		target[i] = best
		state[i] = lvMoved
		moved++
	}
	if moved == 0 {
		for _, v := range nodes {
			m.inBatch[v>>6] = 0
		}
		return false // nothing moved, so nothing was deferred either
	}
	m.moves += moved

	// 3. Apply the moves (in parallel: each node and community once), then
	// requeue: claim, then collect per task in batch order. A neighbour
	// later in the batch was still queued when the node moved.
	deltas := s.deltas
	dTasks := (len(deltas) + lvMoveTask - 1) / lvMoveTask
	lvParallel(s.threads, tasks+dTasks, func(_, t int) {
		if t < tasks {
			for i := t * lvMoveTask; i < min((t+1)*lvMoveTask, nb); i++ {
				if state[i] == lvMoved {
					m.part[nodes[i]] = target[i]
				}
			}
			return
		}
		t -= tasks
		for _, d := range deltas[t*lvMoveTask : min((t+1)*lvMoveTask, len(deltas))] {
			m.commK[d.c] += d.dk
			m.commN[d.c] += d.dn
		}
	})
	for _, h := range s.dused {
		s.dslot[h] = -1
	}
	lvParallel(s.threads, tasks, func(_, t int) {
		for i := t * lvMoveTask; i < min((t+1)*lvMoveTask, nb); i++ {
			if state[i] != lvMoved {
				continue
			}
			v := nodes[i]
			c := m.part[v]
			key := m.key(i)
			for _, u := range g.indices[g.indptr[v]:g.indptr[v+1]] {
				if !m.inQueue[u] && m.part[u] != c {
					if m.inBatch[u>>6]&(1<<(u&63)) != 0 && m.bpos[u] > int32(i) {
						continue
					}
					lvClaim(&m.claim[u], key)
				}
			}
		}
	})
	for _, v := range nodes {
		m.inBatch[v>>6] = 0
	}
	lvParallel(s.threads, tasks, func(_, t int) {
		buf := s.requeue[t][:0]
		for i := t * lvMoveTask; i < min((t+1)*lvMoveTask, nb); i++ {
			key := m.key(i)
			switch v := nodes[i]; state[i] {
			case lvDeferred:
				if m.claim[v] == key {
					m.inQueue[v] = true
					buf = append(buf, v)
				}
			case lvMoved:
				for _, u := range g.indices[g.indptr[v]:g.indptr[v+1]] {
					if m.claim[u] == key && !m.inQueue[u] {
						m.inQueue[u] = true
						buf = append(buf, u)
					}
				}
			}
		}
		s.requeue[t] = buf
	})
	for _, buf := range s.requeue[:tasks] {
		for _, u := range buf {
			tail := m.head + m.count
			if tail >= n {
				tail -= n
			}
			m.queue[tail] = u
			m.count++
		}
	}
	return true
}

// lvClaim lowers *p to key unless it already holds a smaller key of the
// same batch. Keys of older batches are smaller numbers but count as
// unset.
func lvClaim(p *uint32, key uint32) {
	for {
		old := atomic.LoadUint32(p)
		if old>>lvMoveBatchBits == key>>lvMoveBatchBits && old <= key {
			return
		}
		if atomic.CompareAndSwapUint32(p, old, key) {
			return
		}
	}
}

// emptyTop returns the community id on top of the empty stack, or -1.
func (s *leidenState) emptyTop() int32 {
	if len(s.empty) == 0 {
		return -1
	}
	return s.empty[len(s.empty)-1]
}
