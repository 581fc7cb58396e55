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

// TestUMAPLaunches: the launches cover the edges in order, and two edges
// of one row share a launch only the window or more edges apart, or in
// the tail launch of at most umapTailRows rows; with the split window, on
// 2,000 rows of a kNN-like graph every slot is its own launch and on 1.2M
// rows the bulk is one launch; with the default window, one launch.
func TestUMAPLaunches(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	for _, n := range []int{2000, 1_200_000} {
		rowptr := make([]int64, n+1)
		for i := range n {
			d := int64(14 + rng.IntN(8))
			if rng.IntN(500) == 0 {
				d += int64(rng.IntN(300)) // hubs
			}
			rowptr[i+1] = rowptr[i] + d
		}
		m := rowptr[n]
		rank, slotStart := umapSlots(rowptr)
		if ls := umapLaunches(slotStart, n, umapWindow); len(ls) != 1 || ls[0] != [2]int64{0, m} {
			t.Fatalf("n %d: launches %v with the default window, want one of all %d edges", n, ls, m)
		}
		ls := umapLaunches(slotStart, n, umapSplitWindow)
		if ls[0][0] != 0 || ls[len(ls)-1][1] != m {
			t.Fatalf("n %d: launches span %d to %d, want 0 to %d", n, ls[0][0], ls[len(ls)-1][1], m)
		}
		launchOf := func(q int64) int {
			for l, r := range ls {
				if q >= r[0] && q < r[1] {
					return l
				}
			}
			t.Fatalf("n %d: edge %d in no launch", n, q)
			return -1
		}
		for l := 1; l < len(ls); l++ {
			if ls[l][0] != ls[l-1][1] || ls[l][1] <= ls[l][0] {
				t.Fatalf("n %d: launch %d is %v after %v", n, l, ls[l], ls[l-1])
			}
		}
		tail := ls[len(ls)-1]
		for i := 0; i < n; i += 7 {
			deg := rowptr[i+1] - rowptr[i]
			for s := int64(1); s < deg; s++ {
				a, b := slotStart[s-1]+int64(rank[i]), slotStart[s]+int64(rank[i])
				if launchOf(a) != launchOf(b) {
					continue
				}
				inTail := a >= tail[0] && slotStart[s]-slotStart[s-1] <= umapTailRows
				if b-a < umapSplitWindow && !inTail {
					t.Fatalf("n %d: row %d's edges %d and %d (slots %d, %d) share launch %d, %d apart", n, i, a, b, s-1, s, launchOf(a), b-a)
				}
			}
		}
		t.Logf("n %d: %d edges, %d slots, %d launches (first %v)", n, m, len(slotStart)-1, len(ls), ls[0])
		if n == 2000 && len(ls) < 14 {
			t.Errorf("n %d: %d launches, want one per slot", n, len(ls))
		}
		if n > umapSplitWindow && ls[0][1]-ls[0][0] < 14*int64(n) {
			t.Errorf("n %d: the first launch has %d edges, want the 14 full slots at least", n, ls[0][1]-ls[0][0])
		}
	}
}
