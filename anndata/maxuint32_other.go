//go:build !amd64 || noasm

package anndata

// maxUint32 returns the largest element of v read as uint32, so that a
// negative index counts as huge.
func maxUint32(v []int32) uint32 { return maxUint32Go(v) }
