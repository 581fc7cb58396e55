package graph

import (
	"math"
	"math/rand/v2"
)

// leidenRefinePartition is RefinePartition (Traag et al. 2019, Algorithm
// A.3, MergeNodesSubset) for the quality function of Modularity. part
// holds compact community ids in [0, nPart). It returns the refined
// partition as node ids: refined[v] is the node that names v's
// sub-community. Communities are independent and run in parallel, each
// with its own random stream.
//
// Inside a community S, with 2m = g.total and K_X the total strength of X:
//   - node v is well connected when w(v, S-v) >= gamma k_v (K_S - k_v)/2m;
//   - sub-community C is well connected when w(C, S-C) >= gamma K_C (K_S - K_C)/2m;
//   - merging singleton v into C gains w_vC - gamma k_v K_C / 2m (as in
//     MoveNodesFast), and C is drawn among the well-connected candidates
//     with non-negative gain (staying alone gains 0) with probability
//     proportional to exp(gain / LeidenTheta).
func leidenRefinePartition[W lvWeight](s *leidenState, g *lvGraph[W], part []int32, nPart int, pass, level uint64) []int32 {
	n := g.n
	// Nodes of each community, by counting sort.
	start := make([]int32, nPart+1)
	for _, c := range part {
		start[c+1]++
	}
	for i := 0; i < nPart; i++ {
		start[i+1] += start[i]
	}
	nodes := make([]int32, n)
	fill := append([]int32(nil), start[:nPart]...)
	for v, c := range part {
		nodes[fill[c]] = int32(v)
		fill[c]++
	}

	refined := make([]int32, n)
	subK := make([]float64, n)   // K of sub-community named by a node id
	subOut := make([]float64, n) // w(C, S-C) of that sub-community
	subN := make([]int32, n)     // its number of nodes
	perK := s.gamma / g.total

	lvParallel(s.threads, nPart, func(wk, c int) {
		sc := s.work[wk]
		members := nodes[start[c]:start[c+1]]
		if len(members) == 1 {
			v := members[0]
			refined[v] = v
			return
		}
		var kS float64
		for _, v := range members {
			kS += g.k[v]
			refined[v] = v
			subK[v] = g.k[v]
			subN[v] = 1
			var out float64
			for j := g.indptr[v]; j < g.indptr[v+1]; j++ {
				if u := g.indices[j]; u != v && part[u] == int32(c) {
					out += float64(g.w[j])
				}
			}
			subOut[v] = out
		}
		if g.total <= 0 {
			return
		}
		rng := rand.New(rand.NewPCG(s.seed, lvStream(s.seed, pass, level, uint64(c)+1)))
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })

		acc, mark := sc.acc, sc.mark
		for _, v := range members {
			if refined[v] != v || subN[v] != 1 {
				continue // v is no longer a singleton
			}
			kv := g.k[v]
			if subOut[v] < perK*kv*(kS-kv) {
				continue // v is not well connected to S
			}
			touched := sc.touched[:0]
			for j := g.indptr[v]; j < g.indptr[v+1]; j++ {
				u := g.indices[j]
				if u == v || part[u] != int32(c) {
					continue
				}
				d := refined[u]
				if !mark[d] {
					mark[d] = true
					touched = append(touched, d)
				}
				acc[d] += float64(g.w[j])
			}
			// Candidates: staying alone (gain 0) and every well-connected
			// neighbouring sub-community with non-negative gain.
			scale := perK * kv
			maxGain := 0.0
			cand := sc.cand[:0]
			probs := sc.probs[:0]
			for _, d := range touched {
				gain := acc[d] - scale*subK[d]
				if gain < 0 || subOut[d] < perK*subK[d]*(kS-subK[d]) {
					continue
				}
				cand = append(cand, d)
				probs = append(probs, gain)
				maxGain = math.Max(maxGain, gain)
			}
			choice := v
			if len(cand) > 0 {
				// Weights exp((gain - maxGain)/theta), staying alone last.
				var sum float64
				for i, gain := range probs {
					probs[i] = lvExpTheta(gain - maxGain)
					sum += probs[i]
				}
				sum += lvExpTheta(-maxGain)
				x := rng.Float64() * sum
				for i, p := range probs {
					if x < p {
						choice = cand[i]
						break
					}
					x -= p
				}
			}
			if choice != v {
				wvC := acc[choice]
				refined[v] = choice
				subN[v] = 0
				subN[choice]++
				subK[choice] += kv
				subOut[choice] += subOut[v] - 2*wvC
			}
			for _, d := range touched {
				acc[d] = 0
				mark[d] = false
			}
			sc.touched, sc.cand, sc.probs = touched, cand, probs
		}
	})
	return refined
}

// lvExpTheta returns exp(d/LeidenTheta) for d <= 0, flushing to 0 below
// exp(-50) (2e-22, under the rounding of a sum that holds the maximum's
// 1): with theta = 0.01 nearly every candidate but the best lands there,
// and math.Exp is the costliest step of the refinement otherwise.
func lvExpTheta(d float64) float64 {
	if d < -50*LeidenTheta {
		return 0
	}
	return math.Exp(d / LeidenTheta)
}
