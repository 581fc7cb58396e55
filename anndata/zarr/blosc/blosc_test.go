package blosc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

var allCompressors = []string{"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"}

// testData returns n bytes mixing small little-endian integers of ts bytes
// (compressible, like count matrices) with stretches of random bytes.
func testData(rng *rand.Rand, n, ts int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; {
		run := 1 + rng.IntN(4000)
		random := rng.IntN(5) == 0
		for end := min(i+run, n); i < end; i++ {
			switch {
			case random:
				b[i] = byte(rng.Uint32())
			case i%ts == 0 && rng.IntN(3) > 0:
				b[i] = byte(rng.IntN(7))
			case i%ts == 0:
				b[i] = 0
			default:
				b[i] = byte(rng.IntN(2) * rng.IntN(3))
			}
		}
	}
	return b
}

// TestRoundTrip encodes random data of awkward sizes with every codec,
// shuffle and a range of type and block sizes, and decodes it back.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 7, 127, 128, 129, 1000, 4099, 8191, 65536 + 13, 200003}
	blockSizes := []int{0, 0, 128, 1000, 4096, 3 << 14}
	for _, comp := range allCompressors {
		for sh := NoShuffle; sh <= BitShuffle; sh++ {
			for _, ts := range []int{1, 2, 3, 4, 5, 8, 16, 17, 300} {
				for k := 0; k < 3; k++ {
					n := sizes[rng.IntN(len(sizes))]
					opt := Options{Compressor: comp, Level: 1 + rng.IntN(9), Shuffle: sh, TypeSize: ts, BlockSize: blockSizes[rng.IntN(len(blockSizes))]}
					data := testData(rng, n, ts)
					checkRoundTrip(t, data, opt)
				}
			}
		}
	}
}

func checkRoundTrip(t *testing.T, data []byte, opt Options) {
	t.Helper()
	frame, err := Encode(data, opt)
	if err != nil {
		t.Fatalf("%+v: encode: %v", opt, err)
	}
	h, err := ParseHeader(frame)
	if err != nil {
		t.Fatalf("%+v: parse: %v", opt, err)
	}
	if h.NBytes != len(data) || h.CBytes != len(frame) || h.Version != 2 {
		t.Fatalf("%+v: header %+v for %d bytes, frame %d", opt, h, len(data), len(frame))
	}
	if len(frame) > len(data)+HeaderSize {
		t.Fatalf("%+v: frame of %d bytes for %d bytes of data", opt, len(frame), len(data))
	}
	got, err := Decode(nil, frame)
	if err != nil {
		t.Fatalf("%+v (n=%d): decode: %v", opt, len(data), err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%+v (n=%d): round trip differs at byte %d", opt, len(data), firstDiff(got, data))
	}
}

// TestCompresses checks that compressible data is not stored raw by any
// codec, and that random data falls back to the memcpyed layout.
func TestCompresses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	counts := testCounts(rng, 50000)
	random := make([]byte, 50000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, comp := range allCompressors {
		for _, sh := range []Shuffle{NoShuffle, ByteShuffle, BitShuffle} {
			frame, err := Encode(counts, Options{Compressor: comp, Level: 5, Shuffle: sh, TypeSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := ParseHeader(frame)
			if h.Memcpyed() || len(frame) > len(counts)/2 {
				t.Errorf("%s/%v: %d bytes of counts gave a frame of %d bytes (memcpyed %v)", comp, sh, len(counts), len(frame), h.Memcpyed())
			}
		}
		frame, err := Encode(random, Options{Compressor: comp, Level: 5, Shuffle: ByteShuffle, TypeSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := ParseHeader(frame); !h.Memcpyed() || len(frame) != len(random)+HeaderSize {
			t.Errorf("%s: random data gave a frame of %d bytes, memcpyed %v", comp, len(frame), h.Memcpyed())
		}
	}
	// Level 0 always stores raw.
	frame, _ := Encode(counts, Options{Compressor: "zstd", Level: 0, TypeSize: 4})
	if h, _ := ParseHeader(frame); !h.Memcpyed() {
		t.Error("level 0 did not store the data raw")
	}
}

// testCounts returns n float32 values that are small non-negative integers.
func testCounts(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, 4*n)
	for range n {
		v := float32(1 + rng.IntN(3)*rng.IntN(3))
		if rng.IntN(50) == 0 {
			v = float32(rng.IntN(300))
		}
		b = appendFloat32(b, v)
	}
	return b
}

// Reference filters written straight from their definitions, one byte or
// bit at a time, to check the word-parallel versions against.

func refShuffle(src []byte, ts int) []byte {
	dst := bytes.Clone(src)
	n := len(src) / ts
	for i := range n {
		for j := range ts {
			dst[j*n+i] = src[i*ts+j]
		}
	}
	return dst
}

func refBitShuffle(src []byte, ts int) []byte {
	dst := bytes.Clone(src)
	n := len(src) / ts
	if n%8 != 0 {
		return dst
	}
	for i := range len(dst[:n*ts]) {
		dst[i] = 0
	}
	for i := range n {
		for j := range ts {
			for k := range 8 {
				bit := src[i*ts+j] >> k & 1
				row := j*8 + k
				dst[row*(n/8)+i/8] |= bit << (i % 8)
			}
		}
	}
	return dst
}

func TestShuffleAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := new(scratch)
	for _, ts := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 33} {
		for _, n := range []int{0, 1, ts - 1, ts, 7 * ts, 8 * ts, 8*ts + 1, 63*ts + 5, 64 * ts, 1000*ts + 3, 4096 * ts, 4097*ts + ts - 1} {
			if n < 0 {
				continue
			}
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			name := fmt.Sprintf("ts=%d n=%d", ts, n)
			got := make([]byte, n)
			shuffle(got, src, ts)
			want := refShuffle(src, ts)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: shuffle differs at %d", name, firstDiff(got, want))
			}
			back := make([]byte, n)
			unshuffle(back, got, ts)
			if !bytes.Equal(back, src) {
				t.Fatalf("%s: unshuffle differs at %d", name, firstDiff(back, src))
			}
			if (n/ts)%8 != 0 {
				continue // c-blosc 1.x does not bit-shuffle such blocks
			}
			bitshuffle(got, src, ts, s)
			want = refBitShuffle(src, ts)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: bitshuffle differs at %d", name, firstDiff(got, want))
			}
			bitunshuffle(back, got, ts, s)
			if !bytes.Equal(back, src) {
				t.Fatalf("%s: bitunshuffle differs at %d", name, firstDiff(back, src))
			}
		}
	}
}

// TestBlosclzStreams checks the BloscLZ decoder on hand-made streams and
// the encoder's long matches, far distances and runs.
func TestBlosclzStreams(t *testing.T) {
	// "abc" literal, match of length 6 at distance 3, then literal "Z".
	stream := []byte{2, 'a', 'b', 'c', 4 << 5, 2, 0, 'Z'}
	dst := make([]byte, 10)
	n, err := blosclzDecode(dst, stream)
	if err != nil || string(dst[:n]) != "abcabcabcZ" {
		t.Fatalf("decoded %q, %v", dst[:n], err)
	}
	// The first control byte's top bits are ignored.
	stream[0] |= 0xE0
	if n, err = blosclzDecode(dst, stream); err != nil || string(dst[:n]) != "abcabcabcZ" {
		t.Fatalf("decoded %q, %v with level bits in the first byte", dst[:n], err)
	}

	rng := rand.New(rand.NewPCG(7, 8))
	far := make([]byte, 90000)
	for i := range 20000 {
		far[i] = byte(rng.Uint32())
	}
	copy(far[70000:], far[100:9000]) // distance 69900: a far match
	for i := 30000; i < 40000; i++ {
		far[i] = 7 // a run with a long length extension
	}
	for _, src := range [][]byte{far, testData(rng, 70001, 4), bytes.Repeat([]byte("xy"), 5000)} {
		enc := blosclzAppend(nil, src)
		if len(enc) >= len(src)*9/10 {
			t.Errorf("blosclz did not compress: %d -> %d", len(src), len(enc))
		}
		out := make([]byte, len(src))
		n, err := blosclzDecode(out, enc)
		if err != nil || n != len(src) || !bytes.Equal(out, src) {
			t.Fatalf("blosclz round trip of %d bytes: n=%d err=%v", len(src), n, err)
		}
	}
}

func TestEncodeOptions(t *testing.T) {
	data := []byte("some data")
	for _, opt := range []Options{
		{Compressor: "lzma", Level: 5},
		{Compressor: "lz4", Level: 10},
		{Compressor: "lz4", Level: -1},
		{Compressor: "lz4", Level: 5, Shuffle: 3},
		{Compressor: "lz4", Level: 5, TypeSize: -4},
		{Compressor: "lz4", Level: 5, BlockSize: -1},
	} {
		if _, err := Encode(data, opt); err == nil {
			t.Errorf("Encode accepted %+v", opt)
		}
	}
	// A type size over 255 is stored as 1, as c-blosc does.
	frame, err := Encode(bytes.Repeat(data, 100), Options{Compressor: "lz4", Level: 5, Shuffle: ByteShuffle, TypeSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := ParseHeader(frame); h.TypeSize != 1 {
		t.Errorf("type size 1000 stored as %d", h.TypeSize)
	}
	// AppendEncode keeps what dst holds.
	out, err := AppendEncode([]byte("prefix"), data, Options{Compressor: "zstd", Level: 3})
	if err != nil || !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("AppendEncode: %q, %v", out, err)
	}
	if got, err := Decode(nil, out[6:]); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decoding AppendEncode's frame: %q, %v", got, err)
	}
}

// TestDecodeAllocations checks that decoding into a large enough dst
// allocates nothing once the pools are warm.
func TestDecodeAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	data := testCounts(rng, 100000)
	for _, comp := range allCompressors {
		for _, sh := range []Shuffle{NoShuffle, ByteShuffle, BitShuffle} {
			frame, err := Encode(data, Options{Compressor: comp, Level: 5, Shuffle: sh, TypeSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, len(data))
			// The shared zstd decoder holds one block decoder per
			// GOMAXPROCS and hands them out in turn, each allocating its
			// buffers at its first use: warm every one, so that what is
			// measured is the steady state (with 16 of them, 20 runs
			// averaged one allocation).
			for range runtime.GOMAXPROCS(0) + 1 {
				if _, err := Decode(dst, frame); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(20, func() {
				if _, err := Decode(dst, frame); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("%s/%v: %.1f allocations per Decode", comp, sh, allocs)
			}
		}
	}
}

func TestErrorsMatchErrCorrupt(t *testing.T) {
	_, err := Decode(nil, []byte{2, 1})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v does not match ErrCorrupt", err)
	}
}

// TestDecodeStaysInOutput checks that Decode writes nothing past the
// decoded size, even where dst has more capacity (a window of a larger
// buffer that other goroutines may be filling).
func TestDecodeStaysInOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, comp := range allCompressors {
		for k := range 12 {
			sh := Shuffle(k % 3)
			// End in a repeated pattern, so that codecs end with a match.
			data := testData(rng, 20000+rng.IntN(50000), 4)
			data = append(data, bytes.Repeat([]byte{1, 2, 3}, 100+rng.IntN(100))...)
			frame, err := Encode(data, Options{Compressor: comp, Level: 5, Shuffle: sh, TypeSize: 4, BlockSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte{0xAA}, len(data)+1000)
			got, err := Decode(big[:0], frame)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s/%v: decode: %v", comp, sh, err)
			}
			if cap(got) != len(big) {
				t.Errorf("%s/%v: returned slice has capacity %d, dst had %d", comp, sh, cap(got), len(big))
			}
			for i, c := range big[len(data):] {
				if c != 0xAA {
					t.Fatalf("%s/%v: byte %d past the output was overwritten", comp, sh, i)
				}
			}
		}
	}
}
