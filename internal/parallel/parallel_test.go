package parallel

import "testing"

func TestBlocks(t *testing.T) {
	for _, blocks := range [][][2]int{{{0, 5}}, {{0, 3}, {3, 7}, {7, 8}}} {
		seen := make([]int, 8)
		idx := make([]int, len(blocks))
		Blocks(blocks, func(b, lo, hi int) {
			idx[b] = lo + 1
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for b, r := range blocks {
			if idx[b] != r[0]+1 {
				t.Errorf("%v: block %d not run with its bounds", blocks, b)
			}
			for i := r[0]; i < r[1]; i++ {
				if seen[i] != 1 {
					t.Errorf("%v: index %d visited %d times", blocks, i, seen[i])
				}
			}
		}
	}
}
