package zarr

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// FuzzParseArrayMetadata feeds arbitrary bytes to the .zarray and zarr.json
// parsers. Neither may panic; metadata they accept must describe consistent
// shapes, and an array whose chunk files are all missing must read as its
// fill value.
func FuzzParseArrayMetadata(f *testing.F) {
	f.Add([]byte(`{"zarr_format":2,"shape":[10],"chunks":[3],"dtype":"<f4","compressor":{"id":"blosc","cname":"lz4","clevel":5,"shuffle":1},"fill_value":"NaN","order":"C","filters":null}`))
	f.Add([]byte(`{"zarr_format":2,"shape":[4,5],"chunks":[3,2],"dtype":">i2","compressor":null,"fill_value":7,"order":"F","filters":null,"dimension_separator":"/"}`))
	f.Add([]byte(`{"zarr_format":2,"shape":[7],"chunks":[2],"dtype":"|O","compressor":{"id":"zstd","level":3},"fill_value":0,"order":"C","filters":[{"id":"vlen-utf8"}]}`))
	f.Add([]byte(`{"zarr_format":2,"shape":[],"chunks":[],"dtype":"<U3","compressor":{"id":"lz4"},"fill_value":"ab","order":"C","filters":null}`))
	f.Add([]byte(`{"zarr_format":3,"node_type":"array","shape":[9,4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,4]}},"chunk_key_encoding":{"name":"v2"},"fill_value":"0x0101","codecs":[{"name":"transpose","configuration":{"order":[1,0]}},{"name":"bytes","configuration":{"endian":"big"}},{"name":"zstd","configuration":{"level":1}},"crc32c"]}`))
	f.Add([]byte(`{"zarr_format":3,"node_type":"array","shape":[100],"data_type":"float64","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[40]}},"fill_value":"Infinity","codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[10],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"gzip","configuration":{"level":5}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"start"}}]}`))
	f.Add([]byte(`{"zarr_format":3,"node_type":"array","shape":[5],"data_type":"string","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"fill_value":"x","codecs":[{"name":"vlen-utf8"},{"name":"blosc","configuration":{"cname":"zstd","clevel":3,"shuffle":"bitshuffle","typesize":4}}]}`))
	if root := shareddata.Root(); root != "" {
		for _, pat := range []string{"data/*/*.zarr/X/*/.zarray", "data/*/*.zarr/*/*/.zarray", "data/*/*.zarr/X/*/zarr.json", "data/*/*.zarr/*/*/zarr.json"} {
			files, _ := filepath.Glob(filepath.Join(root, pat))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (*arrayMeta, error){parseArrayV2, parseArrayV3} {
			m, err := parse(b)
			if err != nil {
				if m != nil {
					t.Fatal("metadata returned with an error")
				}
				continue
			}
			nd := len(m.shape)
			if len(m.chunkShape) != nd || len(m.unitShape) != nd {
				t.Fatalf("shape %v, chunks %v, units %v disagree", m.shape, m.chunkShape, m.unitShape)
			}
			for k := range nd {
				if m.shape[k] < 0 || m.chunkShape[k] < 1 || m.unitShape[k] < 1 || m.chunkShape[k]%m.unitShape[k] != 0 {
					t.Fatalf("bad shapes: %v %v %v", m.shape, m.chunkShape, m.unitShape)
				}
			}
			if m.unit.summary == "" {
				t.Fatal("empty codec summary")
			}
			if m.fill.b != nil && len(m.fill.b) != m.dtype.Size {
				t.Fatalf("fill of %d bytes for dtype %s", len(m.fill.b), m.dtype)
			}
			a := newArray(filepath.Join(t.TempDir(), "absent"), "fuzz", m)
			total := prod(m.shape)
			if total > 1<<12 || a.unitElems > 1<<16 || a.NumChunks() > 1<<12 {
				continue
			}
			for i := range a.NumChunks() {
				if lo, hi := a.ChunkRange(i); lo >= hi && nd > 0 {
					t.Fatalf("chunk %d is empty: [%d, %d)", i, lo, hi)
				}
			}
			if m.dtype.Numeric() {
				dst := make([]float64, total)
				if err := a.ReadAll(dst); err != nil {
					t.Fatalf("reading an all-fill array: %v", err)
				}
				continue
			}
			s, err := a.ReadStrings()
			if err != nil || int64(len(s)) != total {
				t.Fatalf("reading an all-fill string array: %d strings, %v", len(s), err)
			}
		}
	})
}
