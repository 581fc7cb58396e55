//go:build amd64 && !noasm

package blosc

// unshuffle4SSE2 unshuffles the first 16*groups of the n 4-byte elements
// whose byte streams src holds; see shuffle_amd64.s.
//
//go:noescape
func unshuffle4SSE2(dst, src *byte, n, groups int)

// unshuffle4Wide unshuffles the first elements of a block of n 4-byte
// elements, 16 at a time with SSE2, and returns how many it did. The
// slice expressions check the bounds once, so the assembly stays inside
// dst[:4*n] and src[:4*n].
func unshuffle4Wide(dst, src []byte, n int) int {
	groups := n / 16
	if groups == 0 {
		return 0
	}
	_ = dst[4*n-1]
	_ = src[4*n-1]
	unshuffle4SSE2(&dst[0], &src[0], n, groups)
	return 16 * groups
}
