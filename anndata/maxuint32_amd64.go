//go:build amd64 && !noasm

package anndata

import "github.com/scbench/scbench/internal/cpufeat"

// maxUint32AVX2 returns the largest of the n words at p as uint32, n a
// multiple of 32; see maxuint32_amd64.s.
//
//go:noescape
func maxUint32AVX2(p *int32, n int) uint32

// maxUint32 returns the largest element of v read as uint32, so that a
// negative index counts as huge: with AVX2 where the CPU has it (32 words
// a step; the decoded indices are still in cache when they are checked,
// and the Go loop made the check 2.5% of a 1.3M-cell run), the rest in Go.
func maxUint32(v []int32) uint32 {
	n := len(v) &^ 31
	if n == 0 || !cpufeat.AVX2FMA() {
		return maxUint32Go(v)
	}
	return max(maxUint32AVX2(&v[0], n), maxUint32Go(v[n:]))
}
