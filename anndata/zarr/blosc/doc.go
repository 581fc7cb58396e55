// Package blosc reads and writes Blosc1 frames: the format of c-blosc 1.x,
// which numcodecs' Blosc codec (the default compressor of zarr v2 and
// anndata) writes for every chunk.
//
// # Frame format
//
// A frame starts with a 16-byte header, integers little-endian:
//
//	byte 0      version     format version, 2 (1 for very old frames)
//	byte 1      versionlz   codec format version, 1
//	byte 2      flags       bit 0: byte shuffle; bit 1: memcpyed (stored raw);
//	                        bit 2: bit shuffle; bit 3: reserved (must be 0);
//	                        bit 4: do not split; bits 5-7: codec
//	                        (0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd)
//	byte 3      typesize    element size for the shuffle filters
//	bytes 4-7   nbytes      decoded size
//	bytes 8-11  blocksize   decoded size of each block but the last
//	bytes 12-15 cbytes      frame size, header included
//
// A memcpyed frame holds the nbytes of data right after the header. Any
// other frame cuts the data into ceil(nbytes/blocksize) blocks, the last
// one short when blocksize does not divide nbytes, and continues with a
// table of their int32 start offsets (from the start of the frame), then
// the blocks. A block is stored as one or more streams, each an int32
// compressed size followed by that many bytes; a stream whose size equals
// its decoded size is stored raw. A block is split into typesize streams,
// stream j holding the j-th part of the (shuffled) block, when the
// do-not-split flag is clear, typesize <= 16, the block holds at least 128
// elements, and it is not the short last block. c-blosc splits for every
// codec but zstd.
//
// Before compression c-blosc filters each block on its own: byte shuffle
// (typesize > 1) regroups byte j of every element into stream j and leaves
// the blocksize%typesize trailing bytes as they are; bit shuffle (blocks
// of at least one element) does the same per bit, with bitshuffle's
// layout, and c-blosc 1.x leaves a block whose element count is not a
// multiple of 8 unshuffled. The codecs are the LZ4 block format, a zlib
// stream, a zstd frame, the Snappy block format, and BloscLZ, c-blosc's
// own LZ77 codec (see blosclz.go for its format).
//
// # Design
//
// Decode validates the header and then, before allocating, the whole block
// and stream layout: every offset and size must lie inside the frame and
// no stream may claim more output than its codec could produce from its
// size, so corrupt input gives an error (matching ErrCorrupt and naming the
// block, stream and what is wrong), never a panic, and a few corrupt bytes
// cannot make Decode allocate far more than the codecs could fill.
// Blocks are then decoded in order on the calling goroutine: the zarr
// reader decodes many chunks in parallel, which scales better than
// splitting one frame. Streams without a filter decode straight into the
// output; filtered ones go through a pooled scratch buffer and are
// unshuffled into place, so decoding into a large enough dst allocates
// nothing. Nothing is written past the decoded size, even where dst has
// more capacity. The byte unshuffle of 2-, 4- and 8-byte types transposes 8
// elements at a time in 64-bit registers (Go has no portable SIMD), except
// that 4-byte types, the values and indices of every CSR matrix, use an
// SSE2 kernel on amd64 (16 elements at a time; the build tag noasm turns
// it off); bit shuffle converts to and from the byte-shuffled layout with
// 8x8 byte and bit transposes.
//
// The codecs are github.com/pierrec/lz4/v4 (UncompressBlock),
// github.com/klauspost/compress's zstd (one shared decoder: DecodeAll is
// safe for concurrent use and is limited to the block's size), zlib (pooled
// readers) and snappy, and this package's BloscLZ decoder.
//
// Encode writes frames that c-blosc decodes, making c-blosc's choices: its
// automatic block size, per-byte splitting, raw streams when a codec does
// not shrink a block, and a memcpyed frame at level 0, below 128 bytes or
// when compression does not pay. Levels map as in c-blosc (zstd level
// 2l-1, lz4 acceleration 10-l, lz4hc depth l); BloscLZ encoding is a simple
// greedy matcher.
package blosc
