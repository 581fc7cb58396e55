package blosc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// corruptBase returns a frame of several blocks, each split in 4 streams.
func corruptBase(t *testing.T, comp string) (data, frame []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	data = testCounts(rng, 70000) // 280000 bytes
	frame, err := Encode(data, Options{Compressor: comp, Level: 1, Shuffle: ByteShuffle, TypeSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(frame)
	if h.Memcpyed() || h.NumBlocks() < 3 {
		t.Fatalf("%s: base frame has %d blocks, memcpyed %v", comp, h.NumBlocks(), h.Memcpyed())
	}
	return data, frame
}

func put32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestCorruptFrames(t *testing.T) {
	_, frame := corruptBase(t, "lz4")
	h, _ := ParseHeader(frame)
	bstart := func(b int) int { return int(binary.LittleEndian.Uint32(frame[HeaderSize+4*b:])) }
	with := func(i int, v byte) []byte { f := bytes.Clone(frame); f[i] = v; return f }

	cases := []struct {
		name  string
		frame []byte
		want  string // part of the error message
	}{
		{"empty", nil, "shorter than the 16-byte header"},
		{"short header", frame[:15], "shorter than the 16-byte header"},
		{"header only", frame[:16], "frame truncated"},
		{"truncated", frame[:len(frame)-1], "frame truncated"},
		{"version 0", with(0, 0), "format version 0"},
		{"version 3", with(0, 3), "format version 3"},
		{"versionlz 2", with(1, 2), "lz4 format version 2"},
		{"reserved flag", with(2, frame[2]|flagReserved), "reserved flag"},
		{"codec 5", with(2, frame[2]&0x1f|5<<5), "unknown compressor code 5"},
		{"codec 7", with(2, frame[2]&0x1f|7<<5), "unknown compressor code 7"},
		{"type size 0", with(3, 0), "type size 0"},
		{"negative nbytes", put32(frame, 4, 0x80000000), "decoded size"},
		{"nbytes larger", put32(frame, 4, uint32(h.NBytes+h.BlockSize)), ""},
		{"nbytes smaller", put32(frame, 4, uint32(h.NBytes-h.BlockSize)), ""},
		{"block size 0", put32(frame, 8, 0), "block size 0"},
		{"block size > nbytes", put32(frame, 8, uint32(h.NBytes+1)), "block size"},
		{"block size changed", put32(frame, 8, uint32(h.BlockSize/2)), ""},
		{"cbytes small", put32(frame, 12, 10), "smaller than the header"},
		{"cbytes large", put32(frame, 12, uint32(len(frame)+100)), "frame truncated"},
		{"cbytes cuts data", put32(frame, 12, uint32(len(frame)-10)), "block"},
		{"cbytes cuts table", put32(frame, 12, 20), "start table"},
		{"bstart past end", put32(frame, HeaderSize+4, uint32(len(frame)+5)), "block 1: start offset"},
		{"bstart into header", put32(frame, HeaderSize+8, 4), "block 2: start offset 4"},
		{"bstart at end", put32(frame, HeaderSize+4, uint32(len(frame)-2)), "block 1 stream 0: size field"},
		{"stream size huge", put32(frame, bstart(1), 1<<30), "block 1 stream 0: compressed size 1073741824 runs past end of frame"},
		{"stream size negative", put32(frame, bstart(2), 0xfffffff0), "block 2 stream 0: compressed size -16"},
		{"stream size zero", put32(frame, bstart(0), 0), "block 0 stream 0"},
		{"stream size short", put32(frame, bstart(0), binary.LittleEndian.Uint32(frame[bstart(0):])-1), "block 0"},
		{"memcpyed with wrong size", with(2, frame[2]|flagMemcpyed), "uncompressed frame"},
	}
	for _, c := range cases {
		out, err := Decode(nil, c.frame)
		if err == nil {
			t.Errorf("%s: decoded %d bytes without error", c.name, len(out))
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %q does not match ErrCorrupt", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "blosc: ") {
			t.Errorf("%s: error %q, want it to mention %q", c.name, err, c.want)
		}
	}
}

// TestCorruptStreams damages the compressed bytes of every codec: Decode
// must not panic, and a frame whose stream sizes no longer add up must fail.
func TestCorruptStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, comp := range allCompressors {
		data, frame := corruptBase(t, comp)
		h, _ := ParseHeader(frame)
		dataStart := HeaderSize + 4*h.NumBlocks()
		// Every truncation point of the data area fails (frame size check).
		for n := dataStart; n < len(frame); n += 1 + rng.IntN(997) {
			if _, err := Decode(nil, frame[:n]); err == nil {
				t.Fatalf("%s: frame cut to %d of %d bytes decoded", comp, n, len(frame))
			}
		}
		// Random byte damage: no panic; wrong output only when no check can see it.
		for range 300 {
			f := bytes.Clone(frame)
			for range 1 + rng.IntN(4) {
				i := dataStart + rng.IntN(len(f)-dataStart)
				f[i] ^= byte(1 + rng.IntN(255))
			}
			out, err := Decode(nil, f)
			if err == nil && len(out) != len(data) {
				t.Fatalf("%s: damaged frame decoded to %d bytes, want %d", comp, len(out), len(data))
			}
		}
		// Cutting the first stream in half and moving the rest of the
		// frame up, so that all sizes and offsets stay consistent: the codec
		// must notice that the stream does not fill its part of the block.
		b0 := int(binary.LittleEndian.Uint32(frame[HeaderSize:]))
		cs := int(binary.LittleEndian.Uint32(frame[b0:]))
		nsplits, neblock := splits(h, h.BlockSize, false)
		if cs == neblock {
			t.Fatalf("%s: first stream stored raw", comp)
		}
		cut := cs - cs/2
		f := append(bytes.Clone(frame[:b0+4+cs/2]), frame[b0+4+cs:]...)
		binary.LittleEndian.PutUint32(f[b0:], uint32(cs/2))
		binary.LittleEndian.PutUint32(f[12:], uint32(len(f)))
		for b := 1; b < h.NumBlocks(); b++ {
			binary.LittleEndian.PutUint32(f[HeaderSize+4*b:], uint32(int(binary.LittleEndian.Uint32(f[HeaderSize+4*b:]))-cut))
		}
		want := "block 0 " // by the size bound or by the codec
		if nsplits > 1 {
			want = "block 0 stream 0"
		}
		if _, err := Decode(nil, f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: stream cut in half: error %v, want one naming %q", comp, err, want)
		}
	}
}

func TestBlosclzCorrupt(t *testing.T) {
	dst := make([]byte, 16)
	for _, c := range []struct {
		name   string
		stream []byte
	}{
		{"empty", nil},
		{"literal past end", []byte{5, 'a', 'b'}},
		{"literal overflows block", append([]byte{31}, make([]byte, 32)...)},
		{"match before start", []byte{0, 'a', 1 << 5, 5, 0, 'b'}},
		{"match overflows block", []byte{0, 'a', 7 << 5, 100, 0, 'b'}},
		{"match without offset", []byte{0, 'a', 1 << 5}},
		{"far match cut", []byte{0, 'a', 1<<5 | 31, 255, 0}},
		{"length extension cut", []byte{0, 'a', 7 << 5, 255}},
	} {
		if n, err := blosclzDecode(dst, c.stream); err == nil {
			t.Errorf("%s: decoded %d bytes without error", c.name, n)
		}
	}
}
