package blosc

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// compressor is c-blosc's compressor code (BLOSC_BLOSCLZ ... BLOSC_ZSTD):
// unlike Codec it tells LZ4 from LZ4HC.
type compressor int

const (
	compBloscLZ compressor = iota
	compLZ4
	compLZ4HC
	compSnappy
	compZlib
	compZstd
)

var compressorNames = map[string]compressor{
	"blosclz": compBloscLZ,
	"lz4":     compLZ4,
	"lz4hc":   compLZ4HC,
	"snappy":  compSnappy,
	"zlib":    compZlib,
	"zstd":    compZstd,
}

func (c compressor) codec() Codec {
	return [...]Codec{CodecBloscLZ, CodecLZ4, CodecLZ4, CodecSnappy, CodecZlib, CodecZstd}[c]
}

// highRatio reports the codecs c-blosc gives larger blocks (its HCR).
func (c compressor) highRatio() bool {
	return c == compLZ4HC || c == compZlib || c == compZstd
}

// Encode compresses src into a Blosc1 frame that c-blosc 1.x (numcodecs'
// Blosc codec) decodes. It follows c-blosc's choices: the automatic block
// size, splitting blocks into per-byte streams (except for zstd), storing a
// stream raw when the codec cannot shrink it, and storing the whole buffer
// uncompressed (the memcpyed flag) at level 0, below 128 bytes, or when
// compression does not pay.
func Encode(src []byte, opt Options) ([]byte, error) {
	return AppendEncode(nil, src, opt)
}

// AppendEncode appends the frame Encode would return to dst.
func AppendEncode(dst, src []byte, opt Options) ([]byte, error) {
	name := opt.Compressor
	if name == "" {
		name = "lz4"
	}
	comp, ok := compressorNames[name]
	if !ok {
		return dst, fmt.Errorf("blosc: unknown compressor %q (want blosclz, lz4, lz4hc, snappy, zlib or zstd)", opt.Compressor)
	}
	if opt.Level < 0 || opt.Level > 9 {
		return dst, fmt.Errorf("blosc: compression level %d out of range [0, 9]", opt.Level)
	}
	if opt.Shuffle < NoShuffle || opt.Shuffle > BitShuffle {
		return dst, fmt.Errorf("blosc: unknown shuffle mode %d", int(opt.Shuffle))
	}
	if opt.TypeSize < 0 || opt.BlockSize < 0 {
		return dst, fmt.Errorf("blosc: negative type size %d or block size %d", opt.TypeSize, opt.BlockSize)
	}
	if len(src) > MaxBufferSize {
		return dst, fmt.Errorf("blosc: input of %d bytes exceeds the Blosc1 limit of %d", len(src), MaxBufferSize)
	}
	ts := opt.TypeSize
	if ts == 0 || ts > maxTypeSize {
		ts = 1 // c-blosc treats wider types as bytes
	}
	nbytes := len(src)
	h := Header{
		Version:   formatVersion,
		VersionLZ: codecVersion,
		TypeSize:  ts,
		NBytes:    nbytes,
		BlockSize: computeBlockSize(comp, opt.Level, ts, nbytes, opt.BlockSize),
	}
	switch opt.Shuffle {
	case ByteShuffle:
		h.Flags |= flagShuffle
	case BitShuffle:
		h.Flags |= flagBitShuffle
	}
	if !splitBlock(comp, ts, h.BlockSize) {
		h.Flags |= flagDontSplit
	}
	h.Flags |= uint8(comp.codec()) << codecShift

	base := len(dst)
	if opt.Level > 0 && nbytes >= minBufferSize {
		out, ok := compressBlocks(dst, src, h, comp, opt.Level)
		if ok {
			return out, nil
		}
		dst = out[:base]
	}
	// Stored uncompressed: the data follows the header.
	h.Flags |= flagMemcpyed
	h.CBytes = HeaderSize + nbytes
	dst = slices.Grow(dst, h.CBytes)
	dst = appendHeader(dst, h)
	return append(dst, src...), nil
}

func appendHeader(dst []byte, h Header) []byte {
	dst = append(dst, h.Version, h.VersionLZ, h.Flags, byte(h.TypeSize))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.NBytes))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.BlockSize))
	return binary.LittleEndian.AppendUint32(dst, uint32(h.CBytes))
}

// compressBlocks appends the compressed frame, or reports false when it
// would be larger than the data stored uncompressed.
func compressBlocks(dst, src []byte, h Header, comp compressor, level int) ([]byte, bool) {
	base := len(dst)
	nblocks := h.NumBlocks()
	maxBytes := h.NBytes + HeaderSize
	dst = slices.Grow(dst, maxBytes)
	dst = appendHeader(dst, h)
	tableAt := len(dst)
	dst = append(dst, make([]byte, 4*nblocks)...)
	if len(dst)-base > maxBytes {
		return dst, false
	}

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	ts := h.TypeSize
	for b := 0; b < nblocks; b++ {
		binary.LittleEndian.PutUint32(dst[tableAt+4*b:], uint32(len(dst)-base))
		start := b * h.BlockSize
		bsize := min(h.BlockSize, h.NBytes-start)
		data := src[start : start+bsize]
		switch {
		case h.Flags&flagShuffle != 0 && ts > 1:
			data = s.first(bsize)
			shuffle(data, src[start:start+bsize], ts)
		case h.Flags&flagBitShuffle != 0 && bsize >= ts && (bsize/ts)%8 == 0:
			data = s.first(bsize)
			bitshuffle(data, src[start:start+bsize], ts, s)
		}
		nsplits, neblock := splits(h, bsize, bsize != h.BlockSize)
		for j := 0; j < nsplits; j++ {
			part := data[j*neblock : (j+1)*neblock]
			at := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			dst = compressAppend(comp, level, dst, part)
			csize := len(dst) - at - 4
			if csize == 0 || csize >= neblock {
				dst = append(dst[:at+4], part...) // incompressible: store raw
				csize = neblock
			}
			binary.LittleEndian.PutUint32(dst[at:], uint32(csize))
			if len(dst)-base > maxBytes {
				return dst, false
			}
		}
	}
	binary.LittleEndian.PutUint32(dst[base+12:], uint32(len(dst)-base))
	return dst, true
}

// splitBlock is c-blosc's default (forward-compatible) rule for whether an
// encoder splits blocks: for every codec but zstd, when the type is at most
// maxSplits bytes and a block holds at least minBufferSize elements.
func splitBlock(comp compressor, ts, blockSize int) bool {
	return comp != compZstd && ts <= maxSplits && blockSize/ts >= minBufferSize
}

// computeBlockSize mirrors c-blosc 1.x's compute_blocksize: 32 KiB scaled
// by the level (doubled for high-ratio codecs), enlarged for split blocks,
// at most the input and a multiple of the type size.
func computeBlockSize(comp compressor, level, ts, nbytes, forced int) int {
	const l1 = 32 << 10
	if nbytes < ts {
		return 1
	}
	bs := nbytes
	switch {
	case forced > 0:
		bs = min(max(forced, minBufferSize), maxBlockSize)
	case nbytes >= l1:
		bs = l1
		if comp.highRatio() {
			bs *= 2
		}
		switch level {
		case 0:
			bs /= 4
		case 1:
			bs /= 2
		case 2:
		case 3:
			bs *= 2
		case 4, 5:
			bs *= 4
		case 6, 7, 8:
			bs *= 8
		case 9:
			bs *= 8
			if comp.highRatio() {
				bs *= 2
			}
		}
	}
	if level > 0 && splitBlock(comp, ts, bs) {
		bs = min(bs, 1<<18) * ts
		bs = min(max(bs, 1<<16), 1<<20)
	}
	bs = min(bs, nbytes)
	if bs > ts {
		bs = bs / ts * ts
	}
	return bs
}

// compressAppend appends the codec's encoding of src to dst.
func compressAppend(comp compressor, level int, dst, src []byte) []byte {
	switch comp {
	case compBloscLZ:
		return blosclzAppend(dst, src)
	case compLZ4, compLZ4HC:
		dst = slices.Grow(dst, lz4.CompressBlockBound(len(src)))
		room := dst[len(dst):cap(dst)]
		var n int
		var err error
		if comp == compLZ4 {
			c := lz4Compressors.Get().(*lz4.CompressorCCompat)
			c.Acceleration = 10 - level // c-blosc's choice
			n, err = c.CompressBlock(src, room)
			lz4Compressors.Put(c)
		} else {
			c := lz4HCCompressors.Get().(*lz4.CompressorHC)
			c.Level = lz4.CompressionLevel(1 << (8 + level)) // lz4.Level1..Level9
			n, err = c.CompressBlock(src, room)
			lz4HCCompressors.Put(c)
		}
		if err != nil {
			return dst // caller stores the block raw
		}
		return dst[:len(dst)+n]
	case compSnappy:
		dst = slices.Grow(dst, snappy.MaxEncodedLen(len(src)))
		out := snappy.Encode(dst[len(dst):cap(dst)], src)
		return dst[:len(dst)+len(out)]
	case compZlib:
		return zlibAppend(dst, src, level)
	case compZstd:
		enc, err := zstdEncoder(level)
		if err != nil {
			return dst
		}
		return enc.EncodeAll(src, dst)
	}
	return dst
}

var (
	lz4Compressors   = sync.Pool{New: func() any { return new(lz4.CompressorCCompat) }}
	lz4HCCompressors = sync.Pool{New: func() any { return new(lz4.CompressorHC) }}
)

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// zlibWriter is a pooled zlib compressor for one level.
type zlibWriter struct {
	w   *zlib.Writer
	out appendWriter
}

var zlibWriters [10]sync.Pool

func zlibAppend(dst, src []byte, level int) []byte {
	zw, _ := zlibWriters[level].Get().(*zlibWriter)
	if zw == nil {
		zw = new(zlibWriter)
		w, err := zlib.NewWriterLevel(&zw.out, level)
		if err != nil {
			return dst
		}
		zw.w = w
	}
	defer zlibWriters[level].Put(zw)
	zw.out.b = dst
	zw.w.Reset(&zw.out)
	if _, err := zw.w.Write(src); err != nil {
		return dst
	}
	if err := zw.w.Close(); err != nil {
		return dst
	}
	out := zw.out.b
	zw.out.b = nil
	return out
}

// zstdEncoders holds one shared encoder per klauspost level; EncodeAll is
// safe for concurrent use.
var zstdEncoders = func() (e [5]func() (*zstd.Encoder, error)) {
	for i := range e {
		l := zstd.EncoderLevel(i)
		e[i] = sync.OnceValues(func() (*zstd.Encoder, error) {
			return zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderCRC(false),
				zstd.WithEncoderConcurrency(0))
		})
	}
	return e
}()

// zstdEncoder maps a Blosc level to a zstd level as c-blosc does (2l-1,
// 20 at 8, 22 at 9) and that to the nearest klauspost encoder.
func zstdEncoder(level int) (*zstd.Encoder, error) {
	zl := 2*level - 1
	switch level {
	case 8:
		zl = 20
	case 9:
		zl = 22
	}
	l := zstd.EncoderLevelFromZstd(zl)
	if int(l) <= 0 || int(l) >= len(zstdEncoders) {
		l = zstd.SpeedDefault
	}
	return zstdEncoders[l]()
}
