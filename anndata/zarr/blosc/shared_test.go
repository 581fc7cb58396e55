package blosc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// zarray is the part of a zarr v2 .zarray this test needs.
type zarray struct {
	Shape      []int  `json:"shape"`
	Chunks     []int  `json:"chunks"`
	DType      string `json:"dtype"`
	Compressor struct {
		ID      string `json:"id"`
		Cname   string `json:"cname"`
		Shuffle int    `json:"shuffle"`
	} `json:"compressor"`
}

// TestSharedStores decodes chunks that anndata (numcodecs, c-blosc) wrote
// into the shared stores and checks their size and values: X/data holds
// float32 counts (finite non-negative integers), X/indices int32 column
// indices within the number of genes.
func TestSharedStores(t *testing.T) {
	for _, c := range []struct {
		store   string
		array   string
		chunk   string
		cname   string
		maxCols int // for indices
	}{
		{"data/brain10k/brain10k.zarr", "X/data", "0", "lz4", 0},
		{"data/brain10k/brain10k.zarr", "X/data", "7", "lz4", 0},
		{"data/brain10k/brain10k.zarr", "X/indices", "0", "lz4", 1000},
		{"data/synth5k/synth5k.zarr", "X/data", "0", "zstd", 0},
		{"data/synth5k/synth5k.zarr", "X/data", "2", "zstd", 0},
		{"data/synth5k/synth5k.zarr", "X/indices", "0", "zstd", 27998},
	} {
		t.Run(c.store+"/"+c.array+"/"+c.chunk, func(t *testing.T) {
			dir := filepath.Join(shareddata.Path(t, c.store), filepath.FromSlash(c.array))
			meta, err := os.ReadFile(filepath.Join(dir, ".zarray"))
			if err != nil {
				t.Fatal(err)
			}
			var za zarray
			if err := json.Unmarshal(meta, &za); err != nil {
				t.Fatalf("%s/.zarray: %v", dir, err)
			}
			if za.Compressor.ID != "blosc" || za.Compressor.Cname != c.cname || za.Compressor.Shuffle != 1 {
				t.Fatalf("%s: compressor %+v, expected blosc/%s with shuffle", dir, za.Compressor, c.cname)
			}
			frame, err := os.ReadFile(filepath.Join(dir, c.chunk))
			if err != nil {
				t.Fatal(err)
			}
			h, err := ParseHeader(frame)
			if err != nil {
				t.Fatalf("chunk %s: %v", c.chunk, err)
			}
			if h.Shuffle() != ByteShuffle || h.TypeSize != 4 || h.Codec().String() != c.cname {
				t.Fatalf("chunk %s: header %+v (codec %v, shuffle %v)", c.chunk, h, h.Codec(), h.Shuffle())
			}
			out, err := Decode(nil, frame)
			if err != nil {
				t.Fatalf("%s/%s: %v", dir, c.chunk, err)
			}
			// Every chunk, the last one included, is stored whole in zarr v2.
			if want := za.Chunks[0] * 4; len(out) != want {
				t.Fatalf("chunk %s decoded to %d bytes, want %d (chunk of %d %s)", c.chunk, len(out), want, za.Chunks[0], za.DType)
			}
			// Past the end of the array, the last chunk holds the fill value.
			var k int
			if _, err := fmt.Sscan(c.chunk, &k); err != nil {
				t.Fatal(err)
			}
			valid := min(za.Chunks[0], za.Shape[0]-k*za.Chunks[0])
			for i := 0; i < len(out)/4; i++ {
				u := binary.LittleEndian.Uint32(out[4*i:])
				if i >= valid {
					if u != 0 {
						t.Fatalf("chunk %s: element %d past the end of the array is %#x, want fill 0", c.chunk, i, u)
					}
					continue
				}
				switch za.DType {
				case "<f4":
					// Stored non-zeros of a count matrix: positive integers.
					v := float64(math.Float32frombits(u))
					if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v != math.Trunc(v) {
						t.Fatalf("chunk %s: element %d is %v, not a positive count", c.chunk, i, v)
					}
				case "<i4":
					if v := int32(u); v < 0 || int(v) >= c.maxCols {
						t.Fatalf("chunk %s: column index %d at %d outside [0, %d)", c.chunk, v, i, c.maxCols)
					}
				default:
					t.Fatalf("unexpected dtype %s", za.DType)
				}
			}
		})
	}
}
