package blosc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// fixture is one entry of testdata/manifest.json (see make_fixtures.py).
type fixture struct {
	File           string `json:"file"`
	Cname          string `json:"cname"`
	Clevel         int    `json:"clevel"`
	Shuffle        int    `json:"shuffle"`
	TypeSize       int    `json:"typesize"`
	NBytes         int    `json:"nbytes"`
	BlockSize      int    `json:"blocksize"`
	Kind           string `json:"kind"`
	Seed           uint64 `json:"seed"`
	SHA256         string `json:"sha256"`
	Flags          uint8  `json:"flags"`
	FrameBlockSize int    `json:"frame_blocksize"`
	CBytes         int    `json:"cbytes"`
}

// fixtureData reproduces gen() of testdata/make_fixtures.py.
func fixtureData(seed uint64, nbytes, ts int, kind string) []byte {
	state := seed
	draw := func() uint64 {
		state = state*6364136223846793005 + 1442695040888963407
		return state >> 33
	}
	out := make([]byte, 0, nbytes)
	switch kind {
	case "random":
		for range nbytes {
			out = append(out, byte(draw()))
		}
		return out
	case "mixed":
		half := nbytes / 2
		out = append(out, fixtureData(seed, half, ts, "counts")...)
		return append(out, fixtureData(seed+1, nbytes-half, ts, "random")...)
	}
	n := nbytes / ts
	for range n {
		r := draw()
		var v uint64
		switch {
		case r&1 == 1 || (kind == "sparse" && r%8 != 2):
			v = 0
		case r%16 == 2:
			v = draw() % 5000
		default:
			v = draw() % 9
		}
		for k := range ts {
			out = append(out, byte(v>>(8*k)))
		}
	}
	for len(out) < nbytes {
		out = append(out, byte(draw()))
	}
	return out
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatalf("reading fixture manifest: %v", err)
	}
	var m struct {
		Frames []fixture `json:"frames"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parsing testdata/manifest.json: %v", err)
	}
	if len(m.Frames) < 100 {
		t.Fatalf("testdata/manifest.json lists only %d frames", len(m.Frames))
	}
	return m.Frames
}

func readFixture(t testing.TB, fx fixture) []byte {
	t.Helper()
	frame, err := os.ReadFile(filepath.Join("testdata", "fixtures", fx.File))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return frame
}

// TestFixtures decodes frames written by the real c-blosc (numcodecs) and
// compares them with the regenerated input, whose SHA-256 the manifest
// records.
func TestFixtures(t *testing.T) {
	seen := map[string]bool{}
	for _, fx := range loadFixtures(t) {
		t.Run(fx.File, func(t *testing.T) {
			frame := readFixture(t, fx)
			want := fixtureData(fx.Seed, fx.NBytes, fx.TypeSize, fx.Kind)
			sum := sha256.Sum256(want)
			if got := hex.EncodeToString(sum[:]); got != fx.SHA256 {
				t.Fatalf("fixtureData drifted from make_fixtures.py: sha256 %s, manifest %s", got, fx.SHA256)
			}
			h, err := ParseHeader(frame)
			if err != nil {
				t.Fatal(err)
			}
			if h.NBytes != fx.NBytes || h.Flags != fx.Flags || h.BlockSize != fx.FrameBlockSize || h.CBytes != len(frame) {
				t.Fatalf("header %+v disagrees with manifest (flags %#x, blocksize %d, %d bytes)", h, fx.Flags, fx.FrameBlockSize, len(frame))
			}
			seen[h.Codec().String()] = true
			got, err := Decode(nil, frame)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("decoded bytes differ from the input (first difference at %d)", firstDiff(got, want))
			}
			// Reuse of a larger dst, and trailing bytes after the frame.
			dst := bytes.Repeat([]byte{0xAA}, fx.NBytes+50)
			got, err = Decode(dst, append(frame[:len(frame):len(frame)], 1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || (len(got) > 0 && &got[0] != &dst[0]) {
				t.Fatalf("decode into a reused buffer: equal %v, reused %v", bytes.Equal(got, want), len(got) > 0 && &got[0] == &dst[0])
			}
		})
	}
	for _, c := range []Codec{CodecBloscLZ, CodecLZ4, CodecSnappy, CodecZlib, CodecZstd} {
		if !seen[c.String()] {
			t.Errorf("no fixture uses codec %v", c)
		}
	}
}

// TestEncoderMatchesCBloscLayout checks that Encode picks the same block
// size, split and shuffle flags as c-blosc for the fixtures' inputs (the
// compressed bytes differ: other codec implementations), and that its
// frames round-trip.
func TestEncoderMatchesCBloscLayout(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		data := fixtureData(fx.Seed, fx.NBytes, fx.TypeSize, fx.Kind)
		frame, err := Encode(data, Options{Compressor: fx.Cname, Level: fx.Clevel, Shuffle: Shuffle(fx.Shuffle), TypeSize: fx.TypeSize, BlockSize: fx.BlockSize})
		if err != nil {
			t.Fatalf("%s: %v", fx.File, err)
		}
		h, err := ParseHeader(frame)
		if err != nil {
			t.Fatalf("%s: %v", fx.File, err)
		}
		if h.BlockSize != fx.FrameBlockSize {
			t.Errorf("%s: block size %d, c-blosc chose %d", fx.File, h.BlockSize, fx.FrameBlockSize)
		}
		// Whether the frame ended up stored raw depends on the codec's ratio.
		if h.Flags&^flagMemcpyed != fx.Flags&^flagMemcpyed {
			t.Errorf("%s: flags %#x, c-blosc wrote %#x", fx.File, h.Flags, fx.Flags)
		}
		got, err := Decode(nil, frame)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: round trip failed: %v", fx.File, err)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
