package graph

import "math/rand/v2"

// leidenGainTol is the relative margin a move must gain over staying, in
// units of the node's strength, so that rounding cannot make two
// communities trade a node back and forth.
const leidenGainTol = 1e-12

// leidenMoveNodesFast is MoveNodesFast (Traag et al. 2019, Algorithm A.2)
// for the quality function of Modularity. part (community ids < g.n) is
// updated in place; the return value is the number of moves.
//
// With K_C the total strength of community C (without v) and w_vC the
// weight from v to C (self loop excluded), moving v from A to B changes
// 2m*Q by 2[(w_vB - gamma k_v K_B/2m) - (w_vA - gamma k_v K_A/2m)], so v
// goes to the community maximizing gain(C) = w_vC - gamma k_v K_C / 2m; an
// empty community has gain 0.
func leidenMoveNodesFast[W lvWeight](s *leidenState, g *lvGraph[W], part []int32, stream uint64) int {
	n := g.n
	if n == 0 || g.total <= 0 {
		return 0
	}
	commK, commN := s.commK[:n], s.commN[:n]
	clear(commK)
	clear(commN)
	for v, c := range part {
		commK[c] += g.k[v]
		commN[c]++
	}
	s.empty = s.empty[:0]
	for c := n - 1; c >= 0; c-- {
		if commN[c] == 0 {
			s.empty = append(s.empty, int32(c))
		}
	}

	// The queue starts with every node in random order.
	rng := rand.New(rand.NewPCG(s.seed, stream))
	queue, inQueue := s.queue[:n], s.inQueue[:n]
	for i := range queue {
		queue[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	for i := range inQueue {
		inQueue[i] = true
	}
	head, count := 0, n

	acc := s.acc[:n]
	touched := s.touched[:0]
	perK := s.gamma / g.total
	moves := 0
	for count > 0 {
		v := queue[head]
		head++
		if head == n {
			head = 0
		}
		count--
		inQueue[v] = false

		lo, hi := g.indptr[v], g.indptr[v+1]
		nbr, ws := g.indices[lo:hi], g.w[lo:hi:hi]
		touched = touched[:0]
		for j, u := range nbr {
			if u == v {
				continue
			}
			c := part[u]
			// Weights are >= 0, so acc[c] == 0 means c is not listed yet
			// (or only through zero weights: a duplicate entry is harmless).
			if acc[c] == 0 {
				touched = append(touched, c)
			}
			acc[c] += float64(ws[j])
		}
		a := part[v]
		kv := g.k[v]
		scale := perK * kv
		stay := acc[a] - scale*(commK[a]-kv)
		best, bestGain := a, stay
		for _, c := range touched {
			if c != a {
				if gain := acc[c] - scale*commK[c]; gain > bestGain {
					best, bestGain = c, gain
				}
			}
			acc[c] = 0
		}
		if bestGain < 0 && commN[a] > 1 {
			// Alone, v would do better than anywhere it can go.
			best, bestGain = s.empty[len(s.empty)-1], 0
		}
		if best == a || bestGain-stay <= leidenGainTol*kv {
			continue
		}
		if best == s.emptyTop() {
			s.empty = s.empty[:len(s.empty)-1]
		}
		commK[a] -= kv
		commN[a]--
		if commN[a] == 0 {
			s.empty = append(s.empty, a)
		}
		commK[best] += kv
		commN[best]++
		part[v] = best
		moves++
		for _, u := range nbr {
			if !inQueue[u] && part[u] != best {
				inQueue[u] = true
				tail := head + count
				if tail >= n {
					tail -= n
				}
				queue[tail] = u
				count++
			}
		}
	}
	s.touched = touched
	return moves
}

// emptyTop returns the community id on top of the empty stack, or -1.
func (s *leidenState) emptyTop() int32 {
	if len(s.empty) == 0 {
		return -1
	}
	return s.empty[len(s.empty)-1]
}
