package blosc

import "encoding/binary"

// Byte shuffle, as c-blosc does it on each block: a block of n = len/ts
// whole elements is stored as ts streams of n bytes, stream j holding byte
// j of every element. The len%ts bytes past the last whole element are
// copied as they are.
//
// The fast paths for type sizes 2, 4 and 8 move 8 elements at a time: 64-bit
// loads of 8 bytes from each stream, a byte transpose in registers by
// rounds of masked swaps, and 64-bit stores. Go has no portable SIMD; this
// runs at 3-5 GB/s. Type size 4 (every float32 and int32 array, so all of
// a CSR matrix's values and indices) has an SSE2 kernel on amd64
// (shuffle_amd64.s) that unpacks 16 elements at a time: 30 GB/s into
// cached memory, 11 GB/s into memory that is not, where the stores are the
// limit. At 3-5 GB/s the unshuffle cost more CPU time than the lz4
// decoding before it.

// unshuffle reverses shuffle: dst and src have the same length.
func unshuffle(dst, src []byte, ts int) {
	n := len(src) / ts
	whole := n * ts
	switch {
	case n == 0 || ts == 1:
		copy(dst, src)
		return
	case ts == 2:
		unshuffle2(dst[:whole], src[:whole], n)
	case ts == 4:
		unshuffle4(dst[:whole], src[:whole], n)
	case ts == 8:
		unshuffle8(dst[:whole], src[:whole], n)
	default:
		unshuffleGeneric(dst[:whole], src[:whole], n, ts)
	}
	copy(dst[whole:], src[whole:])
}

// shuffle splits the elements of src into per-byte streams in dst.
func shuffle(dst, src []byte, ts int) {
	n := len(src) / ts
	whole := n * ts
	switch {
	case n == 0 || ts == 1:
		copy(dst, src)
		return
	case ts == 4:
		shuffle4(dst[:whole], src[:whole], n)
	case ts == 8:
		shuffle8(dst[:whole], src[:whole], n)
	default:
		shuffleGeneric(dst[:whole], src[:whole], n, ts)
	}
	copy(dst[whole:], src[whole:])
}

func unshuffleGeneric(dst, src []byte, n, ts int) {
	for j := 0; j < ts; j++ {
		s := src[j*n : (j+1)*n]
		d := dst[j:]
		for i, c := range s {
			d[i*ts] = c
		}
	}
}

func shuffleGeneric(dst, src []byte, n, ts int) {
	for j := 0; j < ts; j++ {
		d := dst[j*n : (j+1)*n]
		s := src[j:]
		for i := range d {
			d[i] = s[i*ts]
		}
	}
}

func unshuffle2(dst, src []byte, n int) {
	s0, s1 := src[:n], src[n:2*n]
	d := dst[:2*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		r0 := binary.LittleEndian.Uint64(s0[i:])
		r1 := binary.LittleEndian.Uint64(s1[i:])
		r0, r1 = swapOdd8(r0, r1)
		r0, r1 = swapOdd16(r0, r1)
		r0, r1 = swapOdd32(r0, r1)
		binary.LittleEndian.PutUint64(d[2*i:], r0)
		binary.LittleEndian.PutUint64(d[2*i+8:], r1)
	}
	for ; i < n; i++ {
		d[2*i] = s0[i]
		d[2*i+1] = s1[i]
	}
}

// unshuffle4 unshuffles 4-byte elements, the common case (float32 values,
// int32 indices): with the SIMD kernel where there is one (SSE2 on amd64),
// then with unshuffle4Go.
func unshuffle4(dst, src []byte, n int) {
	unshuffle4Go(dst, src, n, unshuffle4Wide(dst, src, n))
}

// unshuffle4Go unshuffles elements [from, n) of the block. It treats 8
// bytes of each of the 4 streams as the rows of a 4x8 byte matrix and
// transposes it with two rounds of masked swaps (bytes, then 16-bit
// pairs), giving the 8 elements in 4 words.
func unshuffle4Go(dst, src []byte, n, from int) {
	s0, s1, s2, s3 := src[:n], src[n:2*n], src[2*n:3*n], src[3*n:4*n]
	d := dst[:4*n]
	i := from
	for ; i+8 <= n; i += 8 {
		r0 := binary.LittleEndian.Uint64(s0[i:])
		r1 := binary.LittleEndian.Uint64(s1[i:])
		r2 := binary.LittleEndian.Uint64(s2[i:])
		r3 := binary.LittleEndian.Uint64(s3[i:])
		r0, r1 = swapOdd8(r0, r1)
		r2, r3 = swapOdd8(r2, r3)
		r0, r2 = swapOdd16(r0, r2)
		r1, r3 = swapOdd16(r1, r3)
		// r0..r3 now hold elements (0,4), (1,5), (2,6), (3,7).
		o := d[4*i : 4*i+32]
		binary.LittleEndian.PutUint64(o[0:], r0&0xffffffff|r1<<32)
		binary.LittleEndian.PutUint64(o[8:], r2&0xffffffff|r3<<32)
		binary.LittleEndian.PutUint64(o[16:], r0>>32|r1&^0xffffffff)
		binary.LittleEndian.PutUint64(o[24:], r2>>32|r3&^0xffffffff)
	}
	for ; i < n; i++ {
		d[4*i] = s0[i]
		d[4*i+1] = s1[i]
		d[4*i+2] = s2[i]
		d[4*i+3] = s3[i]
	}
}

func shuffle4(dst, src []byte, n int) {
	d0, d1, d2, d3 := dst[:n], dst[n:2*n], dst[2*n:3*n], dst[3*n:4*n]
	s := src[:4*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		w := s[4*i : 4*i+32]
		w0 := binary.LittleEndian.Uint64(w[0:])
		w1 := binary.LittleEndian.Uint64(w[8:])
		w2 := binary.LittleEndian.Uint64(w[16:])
		w3 := binary.LittleEndian.Uint64(w[24:])
		// The swaps are their own inverses: undo unshuffle4 in reverse.
		r0 := w0&0xffffffff | w2<<32
		r1 := w0>>32 | w2&^0xffffffff
		r2 := w1&0xffffffff | w3<<32
		r3 := w1>>32 | w3&^0xffffffff
		r0, r2 = swapOdd16(r0, r2)
		r1, r3 = swapOdd16(r1, r3)
		r0, r1 = swapOdd8(r0, r1)
		r2, r3 = swapOdd8(r2, r3)
		binary.LittleEndian.PutUint64(d0[i:], r0)
		binary.LittleEndian.PutUint64(d1[i:], r1)
		binary.LittleEndian.PutUint64(d2[i:], r2)
		binary.LittleEndian.PutUint64(d3[i:], r3)
	}
	for ; i < n; i++ {
		d0[i] = s[4*i]
		d1[i] = s[4*i+1]
		d2[i] = s[4*i+2]
		d3[i] = s[4*i+3]
	}
}

// swapOdd8 exchanges the odd bytes of a with the even bytes of b: the 2x2
// transposes of an 8x8 byte transpose.
func swapOdd8(a, b uint64) (uint64, uint64) {
	t := (a>>8 ^ b) & 0x00ff00ff00ff00ff
	return a ^ t<<8, b ^ t
}

// swapOdd16 exchanges the odd 16-bit units of a with the even ones of b.
func swapOdd16(a, b uint64) (uint64, uint64) {
	t := (a>>16 ^ b) & 0x0000ffff0000ffff
	return a ^ t<<16, b ^ t
}

// swapOdd32 exchanges the high half of a with the low half of b.
func swapOdd32(a, b uint64) (uint64, uint64) {
	t := (a>>32 ^ b) & 0x00000000ffffffff
	return a ^ t<<32, b ^ t
}

// transpose8 transposes the 8x8 byte matrix whose rows are r0..r7 (byte c
// of a row is column c): byte c of result k is byte k of row c.
func transpose8(r0, r1, r2, r3, r4, r5, r6, r7 uint64) (uint64, uint64, uint64, uint64, uint64, uint64, uint64, uint64) {
	r0, r1 = swapOdd8(r0, r1)
	r2, r3 = swapOdd8(r2, r3)
	r4, r5 = swapOdd8(r4, r5)
	r6, r7 = swapOdd8(r6, r7)
	r0, r2 = swapOdd16(r0, r2)
	r1, r3 = swapOdd16(r1, r3)
	r4, r6 = swapOdd16(r4, r6)
	r5, r7 = swapOdd16(r5, r7)
	r0, r4 = swapOdd32(r0, r4)
	r1, r5 = swapOdd32(r1, r5)
	r2, r6 = swapOdd32(r2, r6)
	r3, r7 = swapOdd32(r3, r7)
	return r0, r1, r2, r3, r4, r5, r6, r7
}

func unshuffle8(dst, src []byte, n int) {
	d := dst[:8*n]
	s0, s1, s2, s3 := src[:n], src[n:2*n], src[2*n:3*n], src[3*n:4*n]
	s4, s5, s6, s7 := src[4*n:5*n], src[5*n:6*n], src[6*n:7*n], src[7*n:8*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		r0, r1, r2, r3, r4, r5, r6, r7 := transpose8(
			binary.LittleEndian.Uint64(s0[i:]), binary.LittleEndian.Uint64(s1[i:]),
			binary.LittleEndian.Uint64(s2[i:]), binary.LittleEndian.Uint64(s3[i:]),
			binary.LittleEndian.Uint64(s4[i:]), binary.LittleEndian.Uint64(s5[i:]),
			binary.LittleEndian.Uint64(s6[i:]), binary.LittleEndian.Uint64(s7[i:]))
		o := d[8*i : 8*i+64]
		binary.LittleEndian.PutUint64(o[0:], r0)
		binary.LittleEndian.PutUint64(o[8:], r1)
		binary.LittleEndian.PutUint64(o[16:], r2)
		binary.LittleEndian.PutUint64(o[24:], r3)
		binary.LittleEndian.PutUint64(o[32:], r4)
		binary.LittleEndian.PutUint64(o[40:], r5)
		binary.LittleEndian.PutUint64(o[48:], r6)
		binary.LittleEndian.PutUint64(o[56:], r7)
	}
	for ; i < n; i++ {
		for k := 0; k < 8; k++ {
			d[8*i+k] = src[k*n+i]
		}
	}
}

func shuffle8(dst, src []byte, n int) {
	s := src[:8*n]
	d0, d1, d2, d3 := dst[:n], dst[n:2*n], dst[2*n:3*n], dst[3*n:4*n]
	d4, d5, d6, d7 := dst[4*n:5*n], dst[5*n:6*n], dst[6*n:7*n], dst[7*n:8*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		w := s[8*i : 8*i+64]
		r0, r1, r2, r3, r4, r5, r6, r7 := transpose8(
			binary.LittleEndian.Uint64(w[0:]), binary.LittleEndian.Uint64(w[8:]),
			binary.LittleEndian.Uint64(w[16:]), binary.LittleEndian.Uint64(w[24:]),
			binary.LittleEndian.Uint64(w[32:]), binary.LittleEndian.Uint64(w[40:]),
			binary.LittleEndian.Uint64(w[48:]), binary.LittleEndian.Uint64(w[56:]))
		binary.LittleEndian.PutUint64(d0[i:], r0)
		binary.LittleEndian.PutUint64(d1[i:], r1)
		binary.LittleEndian.PutUint64(d2[i:], r2)
		binary.LittleEndian.PutUint64(d3[i:], r3)
		binary.LittleEndian.PutUint64(d4[i:], r4)
		binary.LittleEndian.PutUint64(d5[i:], r5)
		binary.LittleEndian.PutUint64(d6[i:], r6)
		binary.LittleEndian.PutUint64(d7[i:], r7)
	}
	for ; i < n; i++ {
		for k := 0; k < 8; k++ {
			dst[k*n+i] = s[8*i+k]
		}
	}
}
