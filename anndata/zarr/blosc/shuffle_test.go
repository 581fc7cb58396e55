package blosc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestUnshuffle4Kernels checks the SIMD kernel of 4-byte elements (where
// the build has one) and the portable loop on their own, against the
// reference shuffle, on block sizes around the kernels' step of 16
// elements, from offsets that leave the streams and the output unaligned,
// and checks that neither writes past the block. The blocks of 64 KiB and
// more take the non-temporal stores: at offset 0 from the start, at
// offsets 4, 8 and 12 after a head of one to three elements in Go; at the
// odd offsets the plain stores.
func TestUnshuffle4Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// n from 16384 on takes the non-temporal path (ntMin); offsets 4, 8
	// and 12 make its Go head of one to three elements.
	for _, n := range []int{0, 1, 3, 8, 15, 16, 17, 31, 33, 47, 64, 129, 1000, 4093, 16384, 16384 + 1, 16384 + 19, 32768 + 5} {
		for _, off := range []int{0, 1, 3, 4, 8, 12} {
			src := make([]byte, 4*n)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			shuffled := refShuffle(src, 4)
			// Copies at an odd offset, followed by sentinel bytes.
			in := append(make([]byte, off), shuffled...)[off:]
			for _, k := range []struct {
				name string
				run  func(dst, src []byte)
			}{
				{"dispatch", func(dst, src []byte) { unshuffle4(dst, src, n) }},
				{"portable", func(dst, src []byte) { unshuffle4Go(dst, src, n, 0) }},
				{"wide+portable", func(dst, src []byte) { unshuffle4Go(dst, src, n, unshuffle4Wide(dst, src, n)) }},
			} {
				buf := make([]byte, off+4*n+32)
				for i := range buf {
					buf[i] = 0xa5
				}
				dst := buf[off : off+4*n]
				k.run(dst, in)
				name := fmt.Sprintf("%s n=%d off=%d", k.name, n, off)
				if !bytes.Equal(dst, src) {
					t.Fatalf("%s: differs at byte %d", name, firstDiff(dst, src))
				}
				for i, c := range buf[off+4*n:] {
					if c != 0xa5 {
						t.Fatalf("%s: wrote byte %d past the block", name, i)
					}
				}
				for i, c := range buf[:off] {
					if c != 0xa5 {
						t.Fatalf("%s: wrote byte %d before the block", name, i)
					}
				}
			}
		}
	}
}
