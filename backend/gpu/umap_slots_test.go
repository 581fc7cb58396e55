package gpu

import (
	"math/rand/v2"
	"testing"
)

// TestUMAPSlots: the slot-major layout of rows of random degrees (empty
// rows, one huge row) puts every edge at its own place, each slot a
// contiguous run of rows in decreasing degree.
func TestUMAPSlots(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 9))
	for _, n := range []int{1, 7, 1001} {
		rowptr := make([]int64, n+1)
		for i := range n {
			d := int64(rng.IntN(25))
			if i%5 == 3 {
				d = 0
			}
			if i == n/2 {
				d = 311
			}
			rowptr[i+1] = rowptr[i] + d
		}
		m := rowptr[n]
		rank, slotStart := umapSlots(rowptr)
		if got := slotStart[len(slotStart)-1]; got != m {
			t.Fatalf("n %d: slots end at %d, want %d edges", n, got, m)
		}
		seen := make([]bool, m)
		byRank := make([]int64, n)
		for i := range n {
			deg := rowptr[i+1] - rowptr[i]
			byRank[rank[i]] = deg
			for s := range deg {
				at := slotStart[s] + int64(rank[i])
				if at < 0 || at >= m || seen[at] || (s+1 < int64(len(slotStart)) && at >= slotStart[s+1]) {
					t.Fatalf("n %d: row %d slot %d goes to %d (taken, outside [0, %d) or outside its slot)", n, i, s, at, m)
				}
				seen[at] = true
			}
		}
		for r := 1; r < n; r++ {
			if byRank[r] > byRank[r-1] {
				t.Fatalf("n %d: rank %d has degree %d, more than rank %d's %d", n, r, byRank[r], r-1, byRank[r-1])
			}
		}
	}
}
