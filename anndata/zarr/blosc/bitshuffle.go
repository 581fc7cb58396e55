package blosc

import "encoding/binary"

// Bit shuffle, as c-blosc 1.x does it on each block (the bitshuffle
// library's layout): for a block of n elements of ts bytes, n a multiple of
// 8, the output is 8*ts bit rows of n/8 bytes; row 8*j+k holds bit k of
// byte j of every element, element i at bit i%8 of byte i/8. The bytes past
// the last whole element are copied as they are. A block whose element
// count is not a multiple of 8 is copied whole, unshuffled (c-blosc 1.x;
// Blosc2 formats differ, and ParseHeader rejects them).
//
// Both directions go through the byte-shuffled layout: row j of it (n
// bytes, byte j of each element) corresponds to bit rows 8j..8j+7. Eight
// bytes of eight bit rows are an 8x8 byte matrix: a byte transpose followed
// by an 8x8 bit transpose of each word converts between the two.

// transposeBits transposes the 8x8 bit matrix whose row k is byte k of x:
// bit b of byte k becomes bit k of byte b.
func transposeBits(x uint64) uint64 {
	t := (x ^ x>>7) & 0x00aa00aa00aa00aa
	x ^= t ^ t<<7
	t = (x ^ x>>14) & 0x0000cccc0000cccc
	x ^= t ^ t<<14
	t = (x ^ x>>28) & 0x00000000f0f0f0f0
	return x ^ t ^ t<<28
}

// bitunshuffle reverses the bit shuffle of a block whose element count
// len(src)/ts is a multiple of 8.
func bitunshuffle(dst, src []byte, ts int, s *scratch) {
	n := len(src) / ts
	whole := n * ts
	if ts == 1 {
		bitRowsToBytes(dst[:n], src[:n])
	} else {
		tmp := s.second(whole)
		for j := 0; j < ts; j++ {
			bitRowsToBytes(tmp[j*n:(j+1)*n], src[j*n:(j+1)*n])
		}
		unshuffle(dst[:whole], tmp, ts)
	}
	copy(dst[whole:], src[whole:])
}

// bitshuffle applies the bit shuffle to a block whose element count
// len(src)/ts is a multiple of 8.
func bitshuffle(dst, src []byte, ts int, s *scratch) {
	n := len(src) / ts
	whole := n * ts
	if ts == 1 {
		bytesToBitRows(dst[:n], src[:n])
	} else {
		tmp := s.second(whole)
		shuffle(tmp, src[:whole], ts)
		for j := 0; j < ts; j++ {
			bytesToBitRows(dst[j*n:(j+1)*n], tmp[j*n:(j+1)*n])
		}
	}
	copy(dst[whole:], src[whole:])
}

// bitRowsToBytes turns 8 bit rows of len(in)/8 bytes into len(in) bytes.
func bitRowsToBytes(out, in []byte) {
	nb := len(in) / 8
	b0, b1, b2, b3 := in[:nb], in[nb:2*nb], in[2*nb:3*nb], in[3*nb:4*nb]
	b4, b5, b6, b7 := in[4*nb:5*nb], in[5*nb:6*nb], in[6*nb:7*nb], in[7*nb:8*nb]
	m := 0
	for ; m+8 <= nb; m += 8 {
		// After the byte transpose, word c holds byte m+c of each bit row.
		r0, r1, r2, r3, r4, r5, r6, r7 := transpose8(
			binary.LittleEndian.Uint64(b0[m:]), binary.LittleEndian.Uint64(b1[m:]),
			binary.LittleEndian.Uint64(b2[m:]), binary.LittleEndian.Uint64(b3[m:]),
			binary.LittleEndian.Uint64(b4[m:]), binary.LittleEndian.Uint64(b5[m:]),
			binary.LittleEndian.Uint64(b6[m:]), binary.LittleEndian.Uint64(b7[m:]))
		o := out[8*m : 8*m+64]
		binary.LittleEndian.PutUint64(o[0:], transposeBits(r0))
		binary.LittleEndian.PutUint64(o[8:], transposeBits(r1))
		binary.LittleEndian.PutUint64(o[16:], transposeBits(r2))
		binary.LittleEndian.PutUint64(o[24:], transposeBits(r3))
		binary.LittleEndian.PutUint64(o[32:], transposeBits(r4))
		binary.LittleEndian.PutUint64(o[40:], transposeBits(r5))
		binary.LittleEndian.PutUint64(o[48:], transposeBits(r6))
		binary.LittleEndian.PutUint64(o[56:], transposeBits(r7))
	}
	for ; m < nb; m++ {
		var x uint64
		for k := 0; k < 8; k++ {
			x |= uint64(in[k*nb+m]) << (8 * k)
		}
		binary.LittleEndian.PutUint64(out[8*m:], transposeBits(x))
	}
}

// bytesToBitRows is the inverse of bitRowsToBytes.
func bytesToBitRows(out, in []byte) {
	nb := len(in) / 8
	b0, b1, b2, b3 := out[:nb], out[nb:2*nb], out[2*nb:3*nb], out[3*nb:4*nb]
	b4, b5, b6, b7 := out[4*nb:5*nb], out[5*nb:6*nb], out[6*nb:7*nb], out[7*nb:8*nb]
	m := 0
	for ; m+8 <= nb; m += 8 {
		w := in[8*m : 8*m+64]
		r0, r1, r2, r3, r4, r5, r6, r7 := transpose8(
			transposeBits(binary.LittleEndian.Uint64(w[0:])), transposeBits(binary.LittleEndian.Uint64(w[8:])),
			transposeBits(binary.LittleEndian.Uint64(w[16:])), transposeBits(binary.LittleEndian.Uint64(w[24:])),
			transposeBits(binary.LittleEndian.Uint64(w[32:])), transposeBits(binary.LittleEndian.Uint64(w[40:])),
			transposeBits(binary.LittleEndian.Uint64(w[48:])), transposeBits(binary.LittleEndian.Uint64(w[56:])))
		binary.LittleEndian.PutUint64(b0[m:], r0)
		binary.LittleEndian.PutUint64(b1[m:], r1)
		binary.LittleEndian.PutUint64(b2[m:], r2)
		binary.LittleEndian.PutUint64(b3[m:], r3)
		binary.LittleEndian.PutUint64(b4[m:], r4)
		binary.LittleEndian.PutUint64(b5[m:], r5)
		binary.LittleEndian.PutUint64(b6[m:], r6)
		binary.LittleEndian.PutUint64(b7[m:], r7)
	}
	for ; m < nb; m++ {
		x := transposeBits(binary.LittleEndian.Uint64(in[8*m:]))
		for k := 0; k < 8; k++ {
			out[k*nb+m] = byte(x >> (8 * k))
		}
	}
}
