package blosc

import (
	"encoding/binary"
	"sync"
)

// Decode decompresses a Blosc1 frame into dst (reused when its capacity is
// large enough) and returns the decoded bytes. Bytes of src past the frame
// size in the header are ignored.
//
// Every size and offset is checked before it is used: a corrupt or
// truncated frame gives an error matching ErrCorrupt that names the block
// and what is wrong, never a panic. The layout of the whole frame is checked
// before the output is allocated, so a few corrupt header bytes cannot make
// Decode allocate much more than the codecs could possibly produce.
func Decode(dst, src []byte) ([]byte, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return nil, err
	}
	if len(src) < h.CBytes {
		return nil, corruptf("frame truncated: header says %d bytes, got %d", h.CBytes, len(src))
	}
	src = src[:h.CBytes]
	if h.NBytes == 0 {
		return dst[:0], nil
	}
	if h.Memcpyed() {
		out := resize(dst, h.NBytes)
		copy(out, src[HeaderSize:])
		return out, nil
	}
	if err := checkLayout(h, src); err != nil {
		return nil, err
	}
	// Capping out keeps the codecs' slack writes (see decodeBlock) inside
	// the output: the caller may own the memory past it.
	full := resize(dst, h.NBytes)
	out := full[:h.NBytes:h.NBytes]
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	nblocks := h.NumBlocks()
	for b := 0; b < nblocks; b++ {
		start := b * h.BlockSize
		bsize := min(h.BlockSize, h.NBytes-start)
		off := int(binary.LittleEndian.Uint32(src[HeaderSize+4*b:]))
		if err := decodeBlock(h, s, out[start:start+bsize], src, off, b, bsize != h.BlockSize); err != nil {
			return nil, err
		}
	}
	return full, nil
}

// resize returns dst with length n, reallocated only when too small.
func resize(dst []byte, n int) []byte {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]byte, n)
}

// splits returns how many streams a block of bsize bytes is stored as and
// the decoded size of each, by c-blosc 1.x's rule: one stream per byte of
// the type unless the frame says not to split, the type is wider than
// maxSplits, the block holds fewer than minBufferSize elements or it is
// the short last block. The element-count condition keeps frames written
// before the dont-split flag existed decodable.
func splits(h Header, bsize int, leftover bool) (nsplits, neblock int) {
	ts := h.TypeSize
	if !h.DontSplit() && ts <= maxSplits && bsize/ts >= minBufferSize && !leftover {
		return ts, bsize / ts
	}
	return 1, bsize
}

// checkLayout verifies the block start table and every stream's size
// against the frame bounds and against the most the codec can expand its
// input to, so that decodeBlock can slice without further checks.
func checkLayout(h Header, src []byte) error {
	nblocks := h.NumBlocks()
	tableEnd := HeaderSize + 4*nblocks
	ratio, slack := h.Codec().maxExpansion()
	for b := 0; b < nblocks; b++ {
		bsize := min(h.BlockSize, h.NBytes-b*h.BlockSize)
		nsplits, neblock := splits(h, bsize, bsize != h.BlockSize)
		if nsplits*neblock != bsize {
			return corruptf("block %d: block size %d is not a multiple of the type size %d", b, bsize, h.TypeSize)
		}
		off := int(binary.LittleEndian.Uint32(src[HeaderSize+4*b:]))
		if off < tableEnd || off > len(src) {
			return corruptf("block %d: start offset %d outside the data area [%d, %d]", b, off, tableEnd, len(src))
		}
		for j := 0; j < nsplits; j++ {
			if len(src)-off < 4 {
				return corruptf("block %d stream %d: size field at offset %d runs past end of frame (%d bytes)", b, j, off, len(src))
			}
			csize := int(int32(binary.LittleEndian.Uint32(src[off:])))
			off += 4
			if csize < 0 || csize > len(src)-off {
				return corruptf("block %d stream %d: compressed size %d runs past end of frame (%d bytes, stream at offset %d)", b, j, csize, len(src), off)
			}
			if csize != neblock && int64(neblock) > int64(csize)*ratio+slack {
				return corruptf("block %d stream %d: %d %v bytes cannot decode to %d bytes", b, j, csize, h.Codec(), neblock)
			}
			off += csize
		}
	}
	return nil
}

// maxExpansion bounds the decoded size of a stream of n compressed bytes
// by n*ratio + slack. The bounds are loose: they only stop a corrupt size
// field from causing a huge allocation.
func (c Codec) maxExpansion() (ratio, slack int64) {
	switch c {
	case CodecBloscLZ, CodecLZ4:
		return 256, 64 // a length-extension byte adds at most 255 bytes
	case CodecSnappy:
		return 64, 64 // a 3-byte copy adds at most 64 bytes
	case CodecZlib:
		return 1100, 64 // deflate's limit is 1032:1
	}
	return 1 << 16, 1 << 17 // zstd: an RLE block of 4 bytes gives up to 128 KiB
}

// scratch holds the per-call buffers of Decode and Encode, pooled so that
// decoding many chunks allocates nothing but their outputs.
type scratch struct {
	a, b []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// first returns the first buffer with length n, and capacity for the
// slack the zstd decoder may write past it.
func (s *scratch) first(n int) []byte {
	if cap(s.a) < n+zstdSlack {
		s.a = make([]byte, n+zstdSlack)
	}
	return s.a[:n]
}

// second returns a second buffer of n bytes.
func (s *scratch) second(n int) []byte {
	if cap(s.b) < n {
		s.b = make([]byte, n)
	}
	return s.b[:n]
}

// decodeBlock decodes block b, starting at offset off of the frame, into
// out (its decoded size). checkLayout has validated the offsets.
func decodeBlock(h Header, s *scratch, out, src []byte, off, b int, leftover bool) error {
	bsize := len(out)
	nsplits, neblock := splits(h, bsize, leftover)
	ts := h.TypeSize
	doShuffle := h.Flags&flagShuffle != 0 && ts > 1
	doBitShuffle := !doShuffle && h.Flags&flagBitShuffle != 0 && bsize >= ts &&
		(bsize/ts)%8 == 0 // c-blosc 1.x leaves such blocks as they are

	// Streams decode straight into out unless a filter must run after. The
	// codecs may write scratch bytes past a stream's part, within the
	// capacity: into parts and blocks not yet decoded or into scratch.
	target := out
	if doShuffle || doBitShuffle {
		target = s.first(bsize)
	}
	codec := h.Codec()
	for j := 0; j < nsplits; j++ {
		csize := int(binary.LittleEndian.Uint32(src[off:]))
		off += 4
		stream := src[off : off+csize]
		off += csize
		part := target[j*neblock : (j+1)*neblock]
		if csize == neblock {
			copy(part, stream) // stored raw: the codec could not shrink it
			continue
		}
		if err := decompress(codec, part, stream); err != nil {
			if nsplits == 1 {
				return corruptf("block %d (%v, %d bytes at offset %d): %v", b, codec, csize, off-csize, err)
			}
			return corruptf("block %d stream %d (%v, %d bytes at offset %d): %v", b, j, codec, csize, off-csize, err)
		}
	}
	switch {
	case doShuffle:
		unshuffle(out, target, ts)
	case doBitShuffle:
		bitunshuffle(out, target, ts, s)
	}
	return nil
}
