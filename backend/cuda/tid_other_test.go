//go:build !linux

package cuda

// threadID is 0 where the tests have no way to tell threads apart (and no
// CUDA to test).
func threadID() int { return 0 }
