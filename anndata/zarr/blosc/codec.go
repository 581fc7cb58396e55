package blosc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// decompress decodes one stream into dst, which must come out exactly full.
func decompress(c Codec, dst, src []byte) error {
	switch c {
	case CodecBloscLZ:
		n, err := blosclzDecode(dst, src)
		if err != nil {
			return err
		}
		return checkLen(n, len(dst))
	case CodecLZ4:
		n, err := lz4.UncompressBlock(src, dst)
		if err != nil {
			return err
		}
		return checkLen(n, len(dst))
	case CodecSnappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return err
		}
		if err := checkLen(n, len(dst)); err != nil {
			return err
		}
		got, err := snappy.Decode(dst, src)
		if err != nil {
			return err
		}
		if len(got) != len(dst) || &got[0] != &dst[0] {
			return fmt.Errorf("snappy decoded %d bytes elsewhere", len(got))
		}
		return nil
	case CodecZlib:
		return zlibDecode(dst, src)
	case CodecZstd:
		return zstdDecode(dst, src)
	}
	return fmt.Errorf("unknown codec %d", uint8(c))
}

func checkLen(got, want int) error {
	if got != want {
		return fmt.Errorf("decoded %d bytes, want %d", got, want)
	}
	return nil
}

// zstdDecoder is shared by all goroutines: DecodeAll is safe for concurrent
// use and keeps one block decoder per GOMAXPROCS.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecodeAllCapLimit(true), // never grow past the block
		zstd.WithDecoderMaxMemory(maxBlockSize))
})

// zstdSlack is how far past the block the zstd decoder may write, when the
// buffer has room: with 32 bytes of slack after the output it copies matches
// and literals with wide unchecked moves, which decodes about twice as fast.
const zstdSlack = 64

// zstdDecode decodes a zstd frame into dst. It may write up to zstdSlack
// bytes past len(dst), within cap(dst).
func zstdDecode(dst, src []byte) error {
	d, err := zstdDecoder()
	if err != nil {
		return err
	}
	got, err := d.DecodeAll(src, dst[:0:min(cap(dst), len(dst)+zstdSlack)])
	if err != nil {
		return err
	}
	if err := checkLen(len(got), len(dst)); err != nil {
		return err
	}
	if &got[0] != &dst[0] {
		copy(dst, got)
	}
	return nil
}

// zlibReader is a pooled zlib decompressor with its input reader.
type zlibReader struct {
	br  bytes.Reader
	zr  io.ReadCloser
	one [1]byte
}

var zlibReaders = sync.Pool{New: func() any { return new(zlibReader) }}

func zlibDecode(dst, src []byte) error {
	r := zlibReaders.Get().(*zlibReader)
	r.br.Reset(src)
	var err error
	if r.zr == nil {
		r.zr, err = zlib.NewReader(&r.br)
	} else {
		err = r.zr.(zlib.Resetter).Reset(&r.br, nil)
	}
	if err != nil {
		r.zr = nil
		zlibReaders.Put(r)
		return err
	}
	defer zlibReaders.Put(r)
	n, err := io.ReadFull(r.zr, dst)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("decoded %d bytes, want %d", n, len(dst))
		}
		return err
	}
	// Reading past the end checks the Adler-32 trailer and catches a stream
	// that would decode to more than the block.
	if n, err := r.zr.Read(r.one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			return fmt.Errorf("stream decodes to more than %d bytes", len(dst))
		}
		return err
	}
	return nil
}
