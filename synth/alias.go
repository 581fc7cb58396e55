package synth

import "math"

// aliasEntry is one slot of a Walker alias table over genes: a draw that
// lands in the slot yields gene a with probability thresh/2^32, else gene b.
// Storing gene indices (not slot indices) makes a draw a single load.
type aliasEntry struct {
	thresh uint32
	a, b   int32
}

// aliasBuilder holds the scratch space of Vose's O(n) construction, reused
// for every cell.
type aliasBuilder struct {
	q            []int64
	small, large []int32
}

// build fills tab[:len(w)] with an alias table that draws genes[i] with
// probability w[i]/sum(w). Weights must be finite and non-negative with a
// positive sum.
func (ab *aliasBuilder) build(tab []aliasEntry, genes []int32, w []float64) {
	var sum float64
	for _, x := range w {
		sum += x
	}
	ab.buildSum(tab, genes, w, sum)
}

// one is probability 1 in the 32.32 fixed point of buildSum.
const one = int64(1) << 32

// buildSum is build for a caller that knows sum(w). It runs Vose's method
// in 32.32 fixed point: the running excess of the current large slot is an
// integer in a register, so each step is an integer add rather than a
// float add through memory, which made the loop latency-bound. Rounding
// leaves the last slots a few units off 1; they get probability 1.
func (ab *aliasBuilder) buildSum(tab []aliasEntry, genes []int32, w []float64, sum float64) {
	n := len(w)
	if cap(ab.q) < n {
		ab.q = make([]int64, n)
		ab.small = make([]int32, n)
		ab.large = make([]int32, n)
	}
	q, small, large := ab.q[:n], ab.small[:n], ab.large[:n]
	tab = tab[:n]
	genes = genes[:n]
	scale := float64(n) * float64(one) / sum
	ns, nl := 0, 0
	for i, x := range w {
		v := int64(x * scale)
		q[i] = v
		// Branch-free partition: with random weights a branch would
		// mispredict often.
		small[ns] = int32(i)
		large[nl] = int32(i)
		isSmall := b2i(v < one)
		ns += isSmall
		nl += 1 - isSmall
	}
	if nl > 0 {
		l := large[nl-1]
		ql := q[l]
		for ns > 0 {
			ns--
			s := small[ns]
			qs := q[s]
			tab[s] = aliasEntry{thresh: uint32(max(qs, 0)), a: genes[s], b: genes[l]}
			ql += qs - one
			if ql < one { // l has given away its excess: it turns small
				q[l] = ql
				small[ns] = l
				ns++
				nl--
				if nl == 0 {
					break
				}
				l = large[nl-1]
				ql = q[l]
			}
		}
	}
	// What is left has probability 1 up to rounding.
	for _, l := range large[:nl] {
		tab[l] = aliasEntry{thresh: math.MaxUint32, a: genes[l], b: genes[l]}
	}
	for _, s := range small[:ns] {
		tab[s] = aliasEntry{thresh: math.MaxUint32, a: genes[s], b: genes[s]}
	}
}

// b2i is 1 for true and 0 for false; the compiler turns it into a SETcc.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// pick maps 32 random bits to a gene of tab. The high part of x*len(tab)
// chooses the slot (Lemire's multiply-shift, no division) and the low part,
// uniform within the slot to 1 part in 2^32/len(tab), decides between the
// slot's two genes without a branch. One 64-bit draw thus serves two UMIs.
func pick(tab []aliasEntry, x uint32) int32 {
	prod := uint64(x) * uint64(len(tab))
	e := tab[prod>>32]
	// take is -1 (all ones) when the fraction is below e.thresh, else 0.
	take := int32((uint64(uint32(prod)) - uint64(e.thresh)) >> 63)
	return e.b ^ ((e.a ^ e.b) & -take)
}
