package synth

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tableProbs returns the probability of each id implied by an alias table:
// a slot is chosen with probability 1/n and yields a with thresh/2^32.
func tableProbs(tab []aliasEntry, nIDs int) []float64 {
	p := make([]float64, nIDs)
	n := float64(len(tab))
	for _, e := range tab {
		f := float64(e.thresh) / (1 << 32)
		p[e.a] += f / n
		p[e.b] += (1 - f) / n
	}
	return p
}

func TestAliasProbabilities(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, n := range []int{1, 2, 3, 17, 765, 1001, 27473} {
		w := make([]float64, n)
		for i := range w {
			switch rng.IntN(6) {
			case 0:
				w[i] = 0 // never drawn
			case 1:
				w[i] = 1e3 * rng.Float64() // a few heavy entries
			default:
				w[i] = math.Exp(2 * rng.NormFloat64())
			}
		}
		w[rng.IntN(n)] = 1 // at least one positive weight
		var sum float64
		for _, x := range w {
			sum += x
		}
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(n - 1 - i) // a permutation, to check ids are used
		}
		tab := make([]aliasEntry, n)
		var ab aliasBuilder
		ab.build(tab, ids, w)
		got := tableProbs(tab, n)
		for i, x := range w {
			want := x / sum
			// Fixed point: each slot is exact to about n/2^32 of its mass.
			if d := math.Abs(got[ids[i]] - want); d > 1e-9+1e-6*want {
				t.Fatalf("n=%d: entry %d has probability %g, want %g", n, i, got[ids[i]], want)
			}
		}
	}
}

func TestPickFrequencies(t *testing.T) {
	w := []float64{5, 0, 1, 3, 0.25, 7, 2}
	var sum float64
	for _, x := range w {
		sum += x
	}
	ids := []int32{0, 1, 2, 3, 4, 5, 6}
	tab := make([]aliasEntry, len(w))
	var ab aliasBuilder
	ab.build(tab, ids, w)
	const draws = 1 << 20
	counts := make([]float64, len(w))
	r := splitMix{s: 42}
	for k := 0; k < draws/2; k++ {
		x := r.Uint64()
		counts[pick(tab, uint32(x))]++
		counts[pick(tab, uint32(x>>32))]++
	}
	for i, x := range w {
		p := x / sum
		mean, sd := draws*p, math.Sqrt(draws*p*(1-p))
		if math.Abs(counts[i]-mean) > 5*sd+0.5 {
			t.Errorf("gene %d drawn %v times in %d, want %.0f ± %.0f", i, counts[i], draws, mean, 5*sd)
		}
	}
}
