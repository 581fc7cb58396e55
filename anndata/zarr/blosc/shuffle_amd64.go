//go:build amd64 && !noasm

package blosc

import "unsafe"

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
	if 4*n < ntMin {
		unshuffle4SSE2(&dst[0], &src[0], n, groups)
		return 16 * groups
	}
	// The non-temporal stores need dst 16-byte aligned. A zarr chunk
	// decoded straight into a row chunk's CSR starts wherever its first
	// value falls, 4-byte aligned at best: the first one to three
	// elements go in Go, the rest from the aligned address (the kernel
	// takes n as the streams' stride, so it can start at element h).
	mis := uintptr(unsafe.Pointer(&dst[0])) % 16
	if mis%4 != 0 {
		unshuffle4SSE2(&dst[0], &src[0], n, groups)
		return 16 * groups
	}
	h := int(16-mis) % 16 / 4
	for i := range h {
		dst[4*i], dst[4*i+1], dst[4*i+2], dst[4*i+3] = src[i], src[n+i], src[2*n+i], src[3*n+i]
	}
	groups = (n - h) / 16
	if groups > 0 {
		unshuffle4NT(&dst[4*h], &src[h], n, groups)
	}
	return h + 16*groups
}

// unshuffle4NT is unshuffle4SSE2 with non-temporal stores, which write
// dst (16-byte aligned) around the caches; see shuffle_amd64.s.
//
//go:noescape
func unshuffle4NT(dst, src *byte, n, groups int)

// ntMin is the block size from which unshuffle4 stores non-temporally. A
// decoded X chunk (hundreds of megabytes) is read back by the pass's
// kernels only after all of it is decoded, from memory either way; plain
// stores first read every line they write (and evict others for it), the
// non-temporal ones do not: 18 GB/s instead of 6 into a 320 MB buffer on
// the development VM. Small outputs, read at once, keep the plain stores.
const ntMin = 64 << 10
