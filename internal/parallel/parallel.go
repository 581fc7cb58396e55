// Package parallel runs a loop's blocks on all cores.
package parallel

import "sync"

// Blocks runs fn on each block [lo, hi) of blocks, each on its own
// goroutine, and returns when all are done; b is the block's index. A
// single block runs on the calling goroutine.
func Blocks(blocks [][2]int, fn func(b, lo, hi int)) {
	if len(blocks) == 1 {
		fn(0, blocks[0][0], blocks[0][1])
		return
	}
	var wg sync.WaitGroup
	for b, r := range blocks {
		wg.Go(func() { fn(b, r[0], r[1]) })
	}
	wg.Wait()
}
