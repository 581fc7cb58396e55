package blosc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// BloscLZ is c-blosc's own LZ77 codec, a descendant of FastLZ level 1. A
// stream is a sequence of tokens, each starting with a control byte:
//
//	000lllll                 literal run: the next lllll+1 bytes (1..32) are copied
//	LLLhhhhh [ext...] oooooooo [ff ff]  match
//
// For a match, LLL (1..7) gives the length: LLL+2 for LLL < 7, else 9 plus
// the sum of the extension bytes, which continue while they are 255. The
// distance back from the output position is hhhhh<<8 + oooooooo + 1
// (1..8191), except that hhhhh = 31 with oooooooo = 255 announces a far
// match whose distance is 8192 plus the 16-bit big-endian number that
// follows. The first control byte's top three bits are ignored (FastLZ
// kept a level there) and c-blosc's encoder always ends a stream with
// literals.
const (
	blosclzMaxDistance = 8191
	blosclzMaxFar      = 65535 + blosclzMaxDistance + 1
)

var errBlosclzTruncated = errors.New("blosclz stream truncated")

// blosclzDecode decodes a BloscLZ stream into dst and returns the number of
// bytes written. It fails when the stream is malformed or does not fit.
func blosclzDecode(dst, src []byte) (int, error) {
	if len(src) == 0 {
		return 0, errors.New("empty blosclz stream")
	}
	ip, op := 1, 0
	ctrl := int(src[0] & 31)
	for {
		if ctrl < 32 {
			n := ctrl + 1
			if n > len(src)-ip {
				return op, errBlosclzTruncated
			}
			if n > len(dst)-op {
				return op, fmt.Errorf("blosclz literal run at output %d overflows the %d-byte block", op, len(dst))
			}
			copy(dst[op:op+n], src[ip:ip+n])
			op += n
			ip += n
		} else {
			length := ctrl>>5 - 1
			hi := (ctrl & 31) << 8
			if length == 6 {
				for {
					if ip >= len(src) {
						return op, errBlosclzTruncated
					}
					c := src[ip]
					ip++
					length += int(c)
					if c != 255 {
						break
					}
				}
			}
			if ip >= len(src) {
				return op, errBlosclzTruncated
			}
			code := int(src[ip])
			ip++
			length += 3
			dist := hi + code + 1
			if code == 255 && hi == 31<<8 {
				if len(src)-ip < 2 {
					return op, errBlosclzTruncated
				}
				dist = int(src[ip])<<8 | int(src[ip+1]) + blosclzMaxDistance + 1
				ip += 2
			}
			if dist > op {
				return op, fmt.Errorf("blosclz match distance %d at output %d reaches before the block", dist, op)
			}
			if length > len(dst)-op {
				return op, fmt.Errorf("blosclz match of %d bytes at output %d overflows the %d-byte block", length, op, len(dst))
			}
			copyMatch(dst, op, dist, length)
			op += length
		}
		if ip >= len(src) {
			return op, nil
		}
		ctrl = int(src[ip])
		ip++
	}
}

// copyMatch copies length bytes from dist back to position op of b, where
// the source may overlap the destination (a repeating pattern).
func copyMatch(b []byte, op, dist, length int) {
	end := op + length
	if dist >= length {
		copy(b[op:end], b[op-dist:])
		return
	}
	if dist == 1 {
		c := b[op-1]
		for i := op; i < end; i++ {
			b[i] = c
		}
		return
	}
	// The pattern has period dist: each copy doubles the copied span.
	for pos := op; pos < end; {
		pos += copy(b[pos:end], b[op-dist:pos])
	}
}

// blosclzAppend appends a BloscLZ encoding of src to dst. It is a plain
// greedy matcher with one hash probe per position: simple and valid for
// c-blosc's decoder, not tuned for ratio.
func blosclzAppend(dst, src []byte) []byte {
	const hashLog = 12
	var table [1 << hashLog]int32 // position+1 of the last occurrence of a hash
	n := len(src)
	anchor, i := 0, 1
	// Matches end before the last byte so that the stream ends with literals.
	for i+4 < n {
		v := binary.LittleEndian.Uint32(src[i:])
		h := (v * 2654435761) >> (32 - hashLog)
		cand := int(table[h]) - 1
		table[h] = int32(i + 1)
		if cand < 0 || i-cand > blosclzMaxFar || binary.LittleEndian.Uint32(src[cand:]) != v {
			i++
			continue
		}
		l := 4
		for i+l < n-1 && src[cand+l] == src[i+l] {
			l++
		}
		dst = blosclzLiterals(dst, src[anchor:i])
		dst = blosclzMatch(dst, i-cand, l)
		i += l
		anchor = i
	}
	return blosclzLiterals(dst, src[anchor:])
}

func blosclzLiterals(dst, lit []byte) []byte {
	for len(lit) > 0 {
		k := min(len(lit), 32)
		dst = append(dst, byte(k-1))
		dst = append(dst, lit[:k]...)
		lit = lit[k:]
	}
	return dst
}

// blosclzMatch appends a match token of length l (>= 3) at distance d.
func blosclzMatch(dst []byte, d, l int) []byte {
	far := d > blosclzMaxDistance
	hi, lo := 31, 255
	if !far {
		hi, lo = (d-1)>>8, (d-1)&255
	}
	if l <= 8 {
		dst = append(dst, byte((l-2)<<5|hi))
	} else {
		dst = append(dst, byte(7<<5|hi))
		for r := l - 9; ; r -= 255 {
			if r < 255 {
				dst = append(dst, byte(r))
				break
			}
			dst = append(dst, 255)
		}
	}
	dst = append(dst, byte(lo))
	if far {
		f := d - blosclzMaxDistance - 1
		dst = append(dst, byte(f>>8), byte(f))
	}
	return dst
}
