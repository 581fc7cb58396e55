package graph

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel building blocks of Leiden. Each gives the same result whatever
// the number of threads: work is cut into pieces that do not depend on
// it, and floating-point sums are added in a fixed order.

// lvBlock is the number of rows handed to a worker at a time.
const lvBlock = 1024

// lvThreads returns threads, or GOMAXPROCS when threads <= 0.
func lvThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// lvParallel calls fn(worker, task) for every task in [0, tasks) on up to
// threads goroutines; worker < threads identifies the caller's scratch.
// Tasks are handed out in increasing order.
func lvParallel(threads, tasks int, fn func(worker, task int)) {
	if threads > tasks {
		threads = tasks
	}
	if threads <= 1 {
		for t := 0; t < tasks; t++ {
			fn(0, t)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks {
					return
				}
				fn(w, t)
			}
		}(w)
	}
	wg.Wait()
}

// lvBlocks calls fn(worker, lo, hi) for the blocks of lvBlock items of
// [0, n), in parallel.
func lvBlocks(threads, n int, fn func(worker, lo, hi int)) {
	lvParallel(threads, (n+lvBlock-1)/lvBlock, func(wk, b int) {
		fn(wk, b*lvBlock, min((b+1)*lvBlock, n))
	})
}

// lvGroupBy sorts the items 0..len(keys)-1 by key (keys in [0, nKeys)),
// stably: the items of key c end in items[start[c]:start[c+1]] in
// increasing order. start needs nKeys+1 entries and items len(keys). It
// is a counting sort over chunks of items, the chunks counted and placed
// in parallel; there are fewer chunks when there are many keys, so that
// the per-chunk counts stay within about twice the items.
func lvGroupBy(keys []int32, nKeys int, start, items []int32, threads int) {
	n := len(keys)
	chunks := max(1, min(4*threads, (n+lvBlock-1)/lvBlock, 2*n/max(nKeys, 1)))
	size := (n + chunks - 1) / chunks
	// at[b*nKeys+c]: the items of key c in chunk b, then where they go.
	at := make([]int32, chunks*nKeys)
	lvParallel(threads, chunks, func(_, b int) {
		cnt := at[b*nKeys : (b+1)*nKeys]
		for _, c := range keys[min(b*size, n):min((b+1)*size, n)] {
			cnt[c]++
		}
	})
	// Per range of keys in parallel: the totals, then after their prefix
	// sum each chunk's first position.
	keyBlocks := (nKeys + lvBlock - 1) / lvBlock
	total := start[1 : nKeys+1]
	lvParallel(threads, keyBlocks, func(_, kb int) {
		lo, hi := kb*lvBlock, min((kb+1)*lvBlock, nKeys)
		tot := total[lo:hi]
		clear(tot)
		for b := 0; b < chunks; b++ {
			for c, x := range at[b*nKeys+lo : b*nKeys+hi] {
				tot[c] += x
			}
		}
	})
	start[0] = 0
	for c := 0; c < nKeys; c++ {
		start[c+1] += start[c]
	}
	lvParallel(threads, keyBlocks, func(_, kb int) {
		lo, hi := kb*lvBlock, min((kb+1)*lvBlock, nKeys)
		var run [lvBlock]int32
		copy(run[:], start[lo:hi])
		for b := 0; b < chunks; b++ {
			for c, x := range at[b*nKeys+lo : b*nKeys+hi] {
				at[b*nKeys+lo+c] = run[c]
				run[c] += x
			}
		}
	})
	lvParallel(threads, chunks, func(_, b int) {
		pos := at[b*nKeys : (b+1)*nKeys]
		lo := min(b*size, n)
		for i, c := range keys[lo:min((b+1)*size, n)] {
			items[pos[c]] = int32(lo + i)
			pos[c]++
		}
	})
}

// lvKeep writes the items of src for which keep is true to dst, in
// order, and returns how many there are; blocks of src are counted and
// copied in parallel.
func lvKeep(src, dst []int32, keep func(int32) bool, threads int) int {
	nb := (len(src) + lvBlock - 1) / lvBlock
	at := make([]int, nb+1)
	lvParallel(threads, nb, func(_, b int) {
		k := 0
		for _, x := range src[b*lvBlock : min((b+1)*lvBlock, len(src))] {
			if keep(x) {
				k++
			}
		}
		at[b+1] = k
	})
	for b := 0; b < nb; b++ {
		at[b+1] += at[b]
	}
	lvParallel(threads, nb, func(_, b int) {
		k := at[b]
		for _, x := range src[b*lvBlock : min((b+1)*lvBlock, len(src))] {
			if keep(x) {
				dst[k] = x
				k++
			}
		}
	})
	return at[nb]
}

// lvCompactIDs renumbers the ids in c (all < nIDs) to 0, 1, ... in
// increasing order of id and returns how many there are. used is scratch
// with room for nIDs entries.
func lvCompactIDs(c []int32, nIDs int, used []int32, threads int) int {
	used = used[:nIDs]
	lvBlocks(threads, nIDs, func(_, lo, hi int) { clear(used[lo:hi]) })
	lvBlocks(threads, len(c), func(_, lo, hi int) {
		for _, x := range c[lo:hi] {
			if atomic.LoadInt32(&used[x]) == 0 {
				atomic.StoreInt32(&used[x], 1)
			}
		}
	})
	k := int32(0)
	for x, u := range used {
		used[x] = k
		k += u
	}
	lvBlocks(threads, len(c), func(_, lo, hi int) {
		for i, x := range c[lo:hi] {
			c[lo+i] = used[x]
		}
	})
	return int(k)
}

// lvTable sums weights per id (community or sub-community) over one row,
// keeping the ids in order of first appearance: in a small open-addressing
// hash table when the row is short, which stays in cache, in an array over
// all ids otherwise.
type lvTable struct {
	keys  *[lvSlots]int32   // hash slots' ids, -1 when free
	vals  *[lvSlots]float64 // hash slots' sums
	shift uint32            // 32 - log2(slots)
	slots []int32           // the used slots in order
	dense []int32           // long rows: per id, its position in cands plus one (0: absent)
	big   bool              // this row is long
	cands []lvCand
}

// lvCand is an id and the weight summed to it.
type lvCand struct {
	c int32
	w float64
}

// lvHashMaxRow is the longest row summed in the hash table, which has
// lvSlots slots, at least twice as many.
const (
	lvHashMaxRow = 1024
	lvSlots      = 2048
)

// begin starts a row of at most rowLen entries over ids < nIDs.
func (t *lvTable) begin(rowLen, nIDs int) {
	t.cands, t.slots = t.cands[:0], t.slots[:0]
	t.big = rowLen > lvHashMaxRow
	if t.keys == nil {
		t.keys, t.vals = new([lvSlots]int32), new([lvSlots]float64)
		for h := range t.keys {
			t.keys[h] = -1
		}
	}
	if t.big {
		if len(t.dense) < nIDs {
			t.dense = make([]int32, nIDs)
		}
		// Slot 0 holds -2 and every id hashes there: add's test fails.
		t.shift, t.keys[0] = 32, -2
		return
	}
	t.shift = 32 - uint32(bits.Len(uint(2*rowLen-1)|15))
}

// slot returns the hash slot where add looks for c first. Hot loops add
// with
//
//	switch h := t.slot(c); t.keys[h] {
//	case c:
//		t.vals[h] += w
//	case -1:
//		t.keys[h], t.vals[h] = c, w
//		t.slots = append(t.slots, int32(h))
//	default:
//		t.add(c, w)
//	}
//
// which handles the common cases, c at its first slot or that slot free,
// inline. (For a long row slot 0 holds -2, so add is called.)
func (t *lvTable) slot(c int32) uint32 {
	return uint32(c) * 0x9e3779b1 >> t.shift & (lvSlots - 1)
}

// add adds w to id c.
func (t *lvTable) add(c int32, w float64) {
	if t.big {
		if p := t.dense[c]; p != 0 {
			t.cands[p-1].w += w
		} else {
			t.cands = append(t.cands, lvCand{c, w})
			t.dense[c] = int32(len(t.cands))
		}
		return
	}
	mask := uint32(1)<<(32-t.shift) - 1
	for h := uint32(c) * 0x9e3779b1 >> t.shift & mask; ; h = (h + 1) & mask {
		switch t.keys[h] {
		case c:
			t.vals[h] += w
			return
		case -1:
			t.keys[h], t.vals[h] = c, w
			t.slots = append(t.slots, int32(h))
			return
		}
	}
}

// end returns the ids of the row with their sums, in order of first
// appearance, and readies the table for the next row. The slice is valid
// until the next begin.
func (t *lvTable) end() []lvCand {
	if t.big {
		for _, cd := range t.cands {
			t.dense[cd.c] = 0
		}
		t.keys[0] = -1
		return t.cands
	}
	for _, h := range t.slots {
		t.cands = append(t.cands, lvCand{t.keys[h], t.vals[h]})
		t.keys[h] = -1
	}
	return t.cands
}

// lvShuffle fills order with a pseudo-random permutation of 0..len-1
// drawn from (seed, stream), in parallel: order[i] is the image of i by a
// four-round Feistel network over the smallest even number of bits that
// holds len, walked along its cycle until it falls below len.
func lvShuffle(order []int32, seed, stream uint64, threads int) {
	n := len(order)
	if n == 0 {
		return
	}
	half := uint((bits.Len(uint(n-1)) + 1) / 2)
	mask := uint64(1)<<half - 1
	var keys [4]uint64
	for r := range keys {
		keys[r] = lvMix(seed ^ lvMix(stream+uint64(r)*0x9e3779b97f4a7c15))
	}
	lvBlocks(threads, n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			x := uint64(i)
			for {
				l, r := x>>half, x&mask
				for _, k := range keys {
					l, r = r, l^(lvMix(r^k)&mask)
				}
				x = l<<half | r
				if x < uint64(n) {
					break
				}
			}
			order[i] = int32(x)
		}
	})
}
