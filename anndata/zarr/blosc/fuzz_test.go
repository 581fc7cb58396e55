package blosc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// fuzzOptions derives encoder options from a fuzzed word.
func fuzzOptions(p uint32) Options {
	return Options{
		Compressor: allCompressors[p%6],
		Level:      int(p>>3) % 10,
		Shuffle:    Shuffle(p>>7) % 3,
		TypeSize:   1 + int(p>>9)%20,
		BlockSize:  []int{0, 0, 128, 333, 1000, 4096}[int(p>>14)%6],
	}
}

// FuzzDecode feeds arbitrary bytes to Decode, which must return an error
// or exactly the announced number of bytes, never panic; and encodes the
// same bytes as data with options taken from p, which must round-trip.
// The seeds are the c-blosc fixtures and frames of our encoder.
func FuzzDecode(f *testing.F) {
	for i, fx := range loadFixtures(f) {
		f.Add(readFixture(f, fx), uint32(i)*2654435761)
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range 60 {
		p := rng.Uint32()
		data := testData(rng, rng.IntN(6000), fuzzOptions(p).TypeSize)
		frame, err := Encode(data, fuzzOptions(uint32(i)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame, p)
	}
	f.Fuzz(func(t *testing.T, in []byte, p uint32) {
		if n, err := DecodedSize(in); err == nil && n <= 1<<24 {
			out, err := Decode(nil, in)
			if err == nil && len(out) != n {
				t.Fatalf("decoded %d bytes, header says %d", len(out), n)
			}
			if err == nil {
				dst := make([]byte, 0, n+7)
				again, err := Decode(dst, in)
				if err != nil || !bytes.Equal(again, out) {
					t.Fatalf("decoding into a reused buffer gave a different result: %v", err)
				}
			}
		} else if err == nil {
			// No codec expands 64 bytes to 16 MiB: the size checks must fail.
			if _, err := Decode(nil, in[:min(len(in), 64)]); err == nil {
				t.Fatal("a frame announcing more than 16 MiB decoded from 64 bytes")
			}
		}

		opt := fuzzOptions(p)
		frame, err := Encode(in, opt)
		if err != nil {
			t.Fatalf("encode %+v: %v", opt, err)
		}
		if len(frame) > len(in)+HeaderSize {
			t.Fatalf("frame of %d bytes for %d bytes of data", len(frame), len(in))
		}
		back, err := Decode(nil, frame)
		if err != nil {
			t.Fatalf("decode own frame %+v: %v", opt, err)
		}
		if !bytes.Equal(back, in) {
			t.Fatalf("round trip %+v differs at byte %d", opt, firstDiff(back, in))
		}
	})
}
