package zarr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/scbench/scbench/anndata/zarr/blosc"
)

// bytesCodec undoes one bytes-to-bytes step (a compressor or a checksum).
// decode writes into dst's backing array when its capacity is large enough,
// so that the last step of a chain can land in the caller's memory; the
// returned slice may also alias src (crc32c only strips its trailer).
// Implementations are safe for concurrent use.
type bytesCodec interface {
	decode(dst, src []byte) ([]byte, error)
	String() string
}

const supportedCompressors = "blosc, zstd, gzip, zlib, lz4, crc32c (v3), none"

type bloscCodec struct{ summary string }

func (c bloscCodec) decode(dst, src []byte) ([]byte, error) { return blosc.Decode(dst[:0], src) }
func (c bloscCodec) String() string                         { return c.summary }

// bloscShuffleName spells a shuffle mode as the v3 spec does.
func bloscShuffleName(s int) string {
	switch s {
	case 0:
		return "noshuffle"
	case 1:
		return "shuffle"
	case 2:
		return "bitshuffle"
	case -1:
		return "autoshuffle"
	}
	return fmt.Sprintf("shuffle %d", s)
}

// zstdPool holds single-goroutine decoders; DecodeAll on a pooled decoder
// allocates nothing once dst is large enough.
var zstdPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<36))
	if err != nil {
		panic(err) // only bad options fail here
	}
	return d
}}

type zstdCodec struct{ level int }

func (c zstdCodec) decode(dst, src []byte) ([]byte, error) {
	d := zstdPool.Get().(*zstd.Decoder)
	out, err := d.DecodeAll(src, dst[:0])
	zstdPool.Put(d)
	return out, err
}
func (c zstdCodec) String() string { return fmt.Sprintf("zstd(level %d)", c.level) }

// gzipState is a reusable gzip reader and its input.
type gzipState struct {
	src bytes.Reader
	zr  gzip.Reader
}

var gzipPool = sync.Pool{New: func() any { return new(gzipState) }}

type gzipCodec struct{ level int }

func (c gzipCodec) decode(dst, src []byte) ([]byte, error) {
	st := gzipPool.Get().(*gzipState)
	defer gzipPool.Put(st)
	st.src.Reset(src)
	if err := st.zr.Reset(&st.src); err != nil {
		return nil, err
	}
	return readAllInto(&st.zr, dst)
}
func (c gzipCodec) String() string { return fmt.Sprintf("gzip(level %d)", c.level) }

type zlibState struct {
	src bytes.Reader
	zr  io.ReadCloser
}

var zlibPool = sync.Pool{New: func() any { return new(zlibState) }}

type zlibCodec struct{ level int }

func (c zlibCodec) decode(dst, src []byte) ([]byte, error) {
	st := zlibPool.Get().(*zlibState)
	defer zlibPool.Put(st)
	st.src.Reset(src)
	if st.zr == nil {
		zr, err := zlib.NewReader(&st.src)
		if err != nil {
			return nil, err
		}
		st.zr = zr
	} else if err := st.zr.(zlib.Resetter).Reset(&st.src, nil); err != nil {
		return nil, err
	}
	return readAllInto(st.zr, dst)
}
func (c zlibCodec) String() string { return fmt.Sprintf("zlib(level %d)", c.level) }

// lz4Codec reads numcodecs' LZ4 framing: the decoded size as a little-endian
// uint32, then one LZ4 block.
type lz4Codec struct{}

func (lz4Codec) decode(dst, src []byte) ([]byte, error) {
	if len(src) < 4 {
		return nil, fmt.Errorf("lz4: %d bytes, shorter than the 4-byte size header", len(src))
	}
	n := int(binary.LittleEndian.Uint32(src))
	if n > 255*len(src)+16 { // beyond LZ4's best ratio: a corrupt header
		return nil, fmt.Errorf("lz4: header claims %d bytes from %d compressed", n, len(src))
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := lz4.UncompressBlock(src[4:], dst)
	if err != nil {
		return nil, fmt.Errorf("lz4: %w", err)
	}
	return dst[:m], nil
}
func (lz4Codec) String() string { return "lz4" }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cCodec checks the little-endian CRC-32C that follows the data.
type crc32cCodec struct{}

func (crc32cCodec) decode(_, src []byte) ([]byte, error) {
	if len(src) < 4 {
		return nil, fmt.Errorf("%w: crc32c: %d bytes, shorter than the checksum", ErrCorrupt, len(src))
	}
	body := src[:len(src)-4]
	want := binary.LittleEndian.Uint32(src[len(src)-4:])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, fmt.Errorf("%w: crc32c of %d bytes is %08x, stored %08x", ErrChecksum, len(body), got, want)
	}
	return body, nil
}
func (crc32cCodec) String() string { return "crc32c" }

// readAllInto reads r to EOF into dst's backing array, growing it only when
// the stream is longer than cap(dst).
func readAllInto(r io.Reader, dst []byte) ([]byte, error) {
	dst = dst[:0]
	for {
		if len(dst) == cap(dst) {
			// Probe before growing: an exactly sized dst is the common case.
			var probe [1]byte
			n, err := io.ReadFull(r, probe[:])
			if n == 0 {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return dst, nil
				}
				return dst, err
			}
			dst = append(dst, probe[0])
			continue
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
