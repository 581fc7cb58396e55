//go:build !amd64 || noasm

package blosc

// unshuffle4Wide does nothing without the assembly: unshuffle4's portable
// loop does all the elements.
func unshuffle4Wide(dst, src []byte, n int) int { return 0 }
