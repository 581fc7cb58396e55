package blosc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Shuffle selects the filter applied before compression.
type Shuffle int

const (
	NoShuffle   Shuffle = 0
	ByteShuffle Shuffle = 1
	BitShuffle  Shuffle = 2
)

// String returns the name numcodecs uses for the shuffle mode.
func (s Shuffle) String() string {
	switch s {
	case NoShuffle:
		return "noshuffle"
	case ByteShuffle:
		return "shuffle"
	case BitShuffle:
		return "bitshuffle"
	}
	return fmt.Sprintf("Shuffle(%d)", int(s))
}

// Codec is the compressor format code stored in bits 5-7 of a frame's flags.
// LZ4 and LZ4HC share one format.
type Codec uint8

const (
	CodecBloscLZ Codec = 0
	CodecLZ4     Codec = 1
	CodecSnappy  Codec = 2
	CodecZlib    Codec = 3
	CodecZstd    Codec = 4
)

// String returns the library name of the codec.
func (c Codec) String() string {
	switch c {
	case CodecBloscLZ:
		return "blosclz"
	case CodecLZ4:
		return "lz4"
	case CodecSnappy:
		return "snappy"
	case CodecZlib:
		return "zlib"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// Options configures Encode. The names and ranges are numcodecs' Blosc
// codec's (cname, clevel, shuffle, blocksize; typesize is the dtype's
// itemsize).
type Options struct {
	Compressor string // "lz4" (the default when empty), "lz4hc", "zstd", "zlib", "blosclz", "snappy"
	Level      int    // 0-9; 0 stores the data uncompressed
	Shuffle    Shuffle
	TypeSize   int // bytes per element, for shuffling; 0 means 1, above 255 means 1
	BlockSize  int // 0: automatic, as c-blosc; else at least 128 (c-blosc may enlarge it)
}

// Frame layout constants, as in c-blosc 1.x (blosc.h and blosc.c).
const (
	// HeaderSize is the size of the fixed Blosc1 header.
	HeaderSize = 16

	// MaxBufferSize is the largest input a frame can hold.
	MaxBufferSize = 1<<31 - 1 - HeaderSize

	// maxTypeSize is the largest type size stored in a header; larger
	// types are treated as bytes.
	maxTypeSize = 255

	// maxBlockSize bounds the block size (c-blosc's BLOSC_MAX_BLOCKSIZE).
	maxBlockSize = (1<<31 - 1 - maxTypeSize*4) / 3

	// minBufferSize: smaller inputs are stored uncompressed, forced block
	// sizes are at least this, and blocks are split into per-byte streams
	// only when they hold at least this many elements.
	minBufferSize = 128

	// maxSplits is the largest type size whose blocks are split.
	maxSplits = 16

	formatVersion = 2 // BLOSC_VERSION_FORMAT written by c-blosc 1.x
	codecVersion  = 1 // versionlz of every codec in c-blosc 1.x
)

// Header flag bits (byte 2 of the header).
const (
	flagShuffle    = 0x01
	flagMemcpyed   = 0x02
	flagBitShuffle = 0x04
	flagReserved   = 0x08 // c-blosc rejects frames with it set
	flagDontSplit  = 0x10
	codecShift     = 5
)

// Header is the fixed 16-byte header that starts every Blosc1 frame.
type Header struct {
	Version   uint8 // frame format version (2 for c-blosc 1.x)
	VersionLZ uint8 // codec format version (1)
	Flags     uint8 // shuffle, memcpyed, dont-split bits and the codec
	TypeSize  int   // element size used by the shuffle filters
	NBytes    int   // decoded size
	BlockSize int   // decoded size of every block but the last
	CBytes    int   // frame size, header included
}

// Codec returns the compressor format code.
func (h Header) Codec() Codec { return Codec(h.Flags >> codecShift) }

// Memcpyed reports whether the data is stored uncompressed after the header.
func (h Header) Memcpyed() bool { return h.Flags&flagMemcpyed != 0 }

// DontSplit reports whether the encoder chose not to split blocks into one
// stream per byte of the type.
func (h Header) DontSplit() bool { return h.Flags&flagDontSplit != 0 }

// Shuffle returns the shuffle filter named by the flags. Byte shuffle wins
// when both bits are set, as in c-blosc 1.x. (Decode also skips byte
// shuffle for a type size of 1, and bit shuffle for blocks it does not
// apply to; see doc.go.)
func (h Header) Shuffle() Shuffle {
	switch {
	case h.Flags&flagShuffle != 0:
		return ByteShuffle
	case h.Flags&flagBitShuffle != 0:
		return BitShuffle
	}
	return NoShuffle
}

// NumBlocks returns the number of blocks the data is cut into.
func (h Header) NumBlocks() int {
	if h.NBytes == 0 || h.BlockSize <= 0 {
		return 0
	}
	return (h.NBytes + h.BlockSize - 1) / h.BlockSize
}

// ErrCorrupt is matched (with errors.Is) by every error Decode returns for
// a malformed, truncated or unsupported frame.
var ErrCorrupt = errors.New("blosc: corrupt frame")

// corruptError carries a message naming what is wrong with a frame.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return "blosc: " + e.msg }
func (e *corruptError) Unwrap() error { return ErrCorrupt }

func corruptf(format string, args ...any) error {
	return &corruptError{msg: fmt.Sprintf(format, args...)}
}

// ParseHeader reads and checks the header of a Blosc1 frame. It checks the
// header's own fields only; Decode checks the rest of the frame.
func ParseHeader(src []byte) (Header, error) {
	if len(src) < HeaderSize {
		return Header{}, corruptf("frame of %d bytes is shorter than the %d-byte header", len(src), HeaderSize)
	}
	h := Header{
		Version:   src[0],
		VersionLZ: src[1],
		Flags:     src[2],
		TypeSize:  int(src[3]),
		NBytes:    int(int32(binary.LittleEndian.Uint32(src[4:]))),
		BlockSize: int(int32(binary.LittleEndian.Uint32(src[8:]))),
		CBytes:    int(int32(binary.LittleEndian.Uint32(src[12:]))),
	}
	if h.Version == 0 || h.Version > formatVersion {
		return h, corruptf("unsupported format version %d (want 1 or 2; Blosc2 chunks are not Blosc1 frames)", h.Version)
	}
	if h.NBytes < 0 || h.NBytes > MaxBufferSize {
		return h, corruptf("decoded size %d out of range [0, %d]", h.NBytes, MaxBufferSize)
	}
	if h.CBytes < HeaderSize {
		return h, corruptf("frame size %d in header is smaller than the header", h.CBytes)
	}
	if h.NBytes == 0 {
		return h, nil
	}
	if h.Flags&flagReserved != 0 {
		return h, corruptf("reserved flag bit 3 set (flags %#02x)", h.Flags)
	}
	if h.TypeSize == 0 {
		return h, corruptf("type size 0")
	}
	if h.BlockSize <= 0 || h.BlockSize > h.NBytes || h.BlockSize > maxBlockSize {
		return h, corruptf("block size %d out of range [1, %d] (decoded size %d)", h.BlockSize, min(h.NBytes, maxBlockSize), h.NBytes)
	}
	if h.Memcpyed() {
		if h.CBytes != h.NBytes+HeaderSize {
			return h, corruptf("uncompressed frame of %d decoded bytes has frame size %d, want %d", h.NBytes, h.CBytes, h.NBytes+HeaderSize)
		}
		return h, nil
	}
	if c := h.Codec(); c > CodecZstd {
		return h, corruptf("unknown compressor code %d in flags %#02x", uint8(c), h.Flags)
	}
	if h.VersionLZ != codecVersion {
		return h, corruptf("unsupported %v format version %d (want %d)", h.Codec(), h.VersionLZ, codecVersion)
	}
	if nb := h.NumBlocks(); nb > (h.CBytes-HeaderSize)/4 {
		return h, corruptf("frame size %d cannot hold the start table of %d blocks", h.CBytes, nb)
	}
	return h, nil
}

// DecodedSize returns the decoded size a frame's header announces.
func DecodedSize(src []byte) (int, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return 0, err
	}
	return h.NBytes, nil
}
