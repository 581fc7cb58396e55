package graph

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// lvRefined is RefinePartition's result, laid out for AggregateGraph.
// Sub-communities are numbered community by community (those of community
// 0 first), so that the aggregated graph keeps each community's nodes
// together.
type lvRefined struct {
	n       int     // sub-communities: the aggregated graph's nodes
	label   []int32 // node -> its sub-community
	start   []int32 // members of sub-community r: members[start[r]:start[r+1]], n+1 entries
	members []int32 // in increasing order within a sub-community
	comm    []int32 // community of each sub-community: the aggregated graph's initial partition
}

// leidenRefinePartition is RefinePartition (Traag et al. 2019, Algorithm
// A.3, MergeNodesSubset) for the quality function of Modularity. part
// holds compact community ids in [0, nPart). Communities are independent
// and run in parallel, the largest first, each with its own random
// stream; inside a community the nodes are visited in random order.
//
// Inside a community S, with 2m = g.total and K_X the total strength of X:
//   - node v is well connected when w(v, S-v) >= gamma k_v (K_S - k_v)/2m;
//   - sub-community C is well connected when w(C, S-C) >= gamma K_C (K_S - K_C)/2m;
//   - merging singleton v into C gains w_vC - gamma k_v K_C / 2m (as in
//     MoveNodesFast), and C is drawn among the well-connected candidates
//     with non-negative gain (staying alone gains 0) with probability
//     proportional to exp(gain / LeidenTheta).
//
// The buffers of the result belong to s and are reused by the next call.
func leidenRefinePartition[W lvWeight](s *leidenState, g *lvGraph[W], part []int32, nPart int, pass, level uint64) *lvRefined {
	n := g.n
	threads := s.threads
	start, nodes := s.commStart[:nPart+1], s.commNodes[:n]
	lvGroupBy(part, nPart, start, nodes, threads)
	order := lvLargestFirst(start, s.commOrder[:nPart])

	// While merging, a sub-community is named by one of its nodes (rep),
	// which keeps its strength, its weight to the rest of the community
	// and its size.
	rep, subK, subOut, subN := s.rep[:n], s.subK[:n], s.subOut[:n], s.subN[:n]
	nSub := s.nSub[:nPart+1]
	perK := s.gamma / g.total
	lvParallel(threads, nPart, func(wk, t int) {
		c := order[t]
		sc := s.work[wk]
		members := nodes[start[c]:start[c+1]]
		if len(members) == 1 {
			rep[members[0]] = members[0]
			nSub[c] = 1
			return
		}
		var kS float64
		for _, v := range members {
			kS += g.k[v]
			rep[v] = v
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
		if g.total > 0 {
			lvMergeNodesSubset(g, part, int32(c), members, kS, perK, rep, subK, subOut, subN, sc,
				rand.New(rand.NewPCG(s.seed, lvStream(s.seed, pass, level, uint64(c)+1))))
		}
		k := int32(0)
		for _, v := range members {
			if rep[v] == v {
				k++
			}
		}
		nSub[c] = k
	})

	// Number the sub-communities community by community, and list their
	// members.
	r := &s.refined
	off := s.subOff[:nPart+1]
	off[0] = 0
	for c := 0; c < nPart; c++ {
		off[c+1] = off[c] + nSub[c]
	}
	r.n = int(off[nPart])
	r.label, r.members = s.label[:n], s.refMembers[:n]
	r.start, r.comm = s.refStart[:r.n+1], s.refComm[:r.n]
	r.start[r.n] = int32(n)
	lvParallel(threads, nPart, func(wk, t int) {
		c := order[t]
		members := nodes[start[c]:start[c+1]]
		// Local numbers in order of the representatives' node ids, kept
		// in subN (no longer needed), and sizes.
		cnt := s.work[wk].grow(int(nSub[c]))
		k := int32(0)
		for _, v := range members {
			if rep[v] == v {
				subN[v] = k
				cnt[k] = 0
				k++
			}
		}
		first := off[c]
		for _, v := range members {
			l := subN[rep[v]]
			r.label[v] = first + l
			cnt[l]++
		}
		pos := start[c]
		for l := int32(0); l < k; l++ {
			r.start[first+l] = pos
			r.comm[first+l] = int32(c)
			pos += cnt[l]
			cnt[l] = r.start[first+l]
		}
		for _, v := range members {
			l := r.label[v] - first
			r.members[cnt[l]] = v
			cnt[l]++
		}
	})
	return r
}

// lvMergeNodesSubset merges the singletons of community c (members) into
// well-connected sub-communities, visiting them in random order.
func lvMergeNodesSubset[W lvWeight](g *lvGraph[W], part []int32, c int32, members []int32, kS, perK float64,
	rep []int32, subK, subOut []float64, subN []int32, sc *lvScratch, rng *rand.Rand) {
	visit := append(sc.visit[:0], members...)
	sc.visit = visit
	rng.Shuffle(len(visit), func(i, j int) { visit[i], visit[j] = visit[j], visit[i] })
	t := &sc.table
	for _, v := range visit {
		if rep[v] != v || subN[v] != 1 {
			continue // v is no longer a singleton
		}
		kv := g.k[v]
		if subOut[v] < perK*kv*(kS-kv) {
			continue // v is not well connected to S
		}
		lo, hi := g.indptr[v], g.indptr[v+1]
		t.begin(int(hi-lo), len(rep))
		for j := lo; j < hi; j++ {
			if u := g.indices[j]; u != v && part[u] == c {
				d, w := rep[u], float64(g.w[j])
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
		touched := t.end()
		// Candidates: staying alone (gain 0) and every well-connected
		// neighbouring sub-community with non-negative gain.
		scale := perK * kv
		maxGain := 0.0
		cand := sc.cand[:0]
		for _, cd := range touched {
			d := cd.c
			gain := cd.w - scale*subK[d]
			if gain < 0 || subOut[d] < perK*subK[d]*(kS-subK[d]) {
				continue
			}
			cand = append(cand, lvCand{d, gain})
			maxGain = max(maxGain, gain)
		}
		sc.cand = cand
		if len(cand) == 0 {
			continue
		}
		// Weights exp((gain - maxGain)/theta), staying alone last.
		var sum float64
		for i := range cand {
			cand[i].w = lvExpTheta(cand[i].w - maxGain)
			sum += cand[i].w
		}
		sum += lvExpTheta(-maxGain)
		x := rng.Float64() * sum
		choice := -1
		for i, cd := range cand {
			if x < cd.w {
				choice = i
				break
			}
			x -= cd.w
		}
		if choice < 0 {
			continue
		}
		d := cand[choice].c
		var wvC float64
		for _, cd := range touched {
			if cd.c == d {
				wvC = cd.w
				break
			}
		}
		rep[v] = d
		subN[v] = 0
		subN[d]++
		subK[d] += kv
		subOut[d] += subOut[v] - 2*wvC
	}
}

// lvLargestFirst returns the communities (members start[c]:start[c+1])
// ordered by decreasing power of two of their size, by id within one, so
// that the largest start first and the work ends evenly.
func lvLargestFirst(start, order []int32) []int32 {
	var count [33]int32
	for c := range order {
		count[32-bits.Len32(uint32(start[c+1]-start[c]))]++
	}
	for b := 1; b < len(count); b++ {
		count[b] += count[b-1]
	}
	copy(count[1:], count[:32])
	count[0] = 0
	for c := range order {
		b := 32 - bits.Len32(uint32(start[c+1]-start[c]))
		order[count[b]] = int32(c)
		count[b]++
	}
	return order
}

// lvExpTheta returns exp(d/LeidenTheta) for d <= 0, flushing to 0 below
// exp(-50) (2e-22, under the rounding of a sum that holds the maximum's
// 1): with theta = 0.01 nearly every candidate but the best lands there.
func lvExpTheta(d float64) float64 {
	if d < -50*LeidenTheta {
		return 0
	}
	return lvExp(d / LeidenTheta)
}

// lvExp2Frac holds 2^(j/64), j = 0..63; it is not modified.
var lvExp2Frac = func() (t [64]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return t
}()

// lvExp returns exp(x) for x in [-700, 0] within a few units in the last
// place, faster than math.Exp (the refinement's most frequent call):
// x/ln 2 = e + j/64 + r with r in [0, 1/64), and exp(x) = 2^e 2^(j/64)
// exp(r ln 2), the last factor by its Taylor polynomial of degree 5
// (remainder below 3e-15).
func lvExp(x float64) float64 {
	y := x * (64 * math.Log2E)
	k := int64(y)
	if float64(k) > y {
		k-- // floor for negative y
	}
	r := (y - float64(k)) * (math.Ln2 / 64)
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	scale := math.Float64frombits(uint64(k>>6+1023) << 52)
	return scale * lvExp2Frac[k&63] * p
}
