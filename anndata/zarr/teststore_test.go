package zarr

// Test helpers that lay out small stores by hand, element by element,
// independently of the reader's chunk arithmetic. Names start with "r" to
// keep clear of the writer's test helpers in this package.

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

func rWrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	rWrite(t, path, b)
}

// rDType parses a numpy dtype string for the helpers: kind, size, big endian.
func rDType(s string) (kind byte, size int, big bool) {
	size, _ = strconv.Atoi(s[2:])
	return s[1], size, s[0] == '>'
}

// rPut encodes v as one element of numpy dtype s.
func rPut(b []byte, s string, v float64) {
	kind, size, big := rDType(s)
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	switch {
	case kind == 'f' && size == 4:
		bo.PutUint32(b, math.Float32bits(float32(v)))
	case kind == 'f' && size == 8:
		bo.PutUint64(b, math.Float64bits(v))
	case size == 1:
		b[0] = byte(int8(v))
		if kind == 'u' || kind == 'b' {
			b[0] = byte(uint8(v))
		}
	case size == 2:
		bo.PutUint16(b, uint16(int16(v)))
	case size == 4:
		bo.PutUint32(b, uint32(int32(v)))
	case size == 8:
		bo.PutUint64(b, uint64(int64(v)))
	}
}

// Encoders are costly to create: share them (EncodeAll is concurrency safe).
var (
	rZstd, _  = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	rGzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
)

// rEncode compresses b the way numcodecs (or a v3 bytes codec) would.
func rEncode(t testing.TB, codec string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case "", "none":
		return append([]byte(nil), b...)
	case "gzip":
		w := rGzipPool.Get().(*gzip.Writer)
		w.Reset(&buf)
		w.Write(b)
		w.Close()
		rGzipPool.Put(w)
	case "zlib":
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case "zstd":
		return rZstd.EncodeAll(b, nil)
	case "lz4":
		out := make([]byte, 4+lz4.CompressBlockBound(len(b)))
		binary.LittleEndian.PutUint32(out, uint32(len(b)))
		n, err := lz4.CompressBlock(b, out[4:], nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 { // incompressible: pierrec declines, so emit literals only
			return append(out[:4], rLZ4Literals(b)...)
		}
		return out[:4+n]
	case "crc32c":
		sum := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
		return binary.LittleEndian.AppendUint32(append([]byte(nil), b...), sum)
	default:
		t.Fatalf("rEncode: unknown codec %q", codec)
	}
	return buf.Bytes()
}

// rLZ4Literals is an LZ4 block of one literal-only sequence.
func rLZ4Literals(b []byte) []byte {
	n := len(b)
	var out []byte
	if n < 15 {
		out = append(out, byte(n<<4))
	} else {
		out = append(out, 0xF0)
		r := n - 15
		for r >= 255 {
			out = append(out, 255)
			r -= 255
		}
		out = append(out, byte(r))
	}
	return append(out, b...)
}

// rLayout describes how to cut a C-order array into chunk files.
type rLayout struct {
	shape, chunks []int64
	size          int    // element size
	perm          []int  // stored axis k holds logical axis perm[k]; nil: C order
	fill          []byte // padding of edge chunks; nil: zeros
}

// rChunk returns the bytes of the chunk at grid index g, with axes permuted
// as stored, by visiting every element of the stored layout.
func (l rLayout) rChunk(data []byte, g []int64) []byte {
	nd := len(l.shape)
	perm := l.perm
	if perm == nil {
		perm = make([]int, nd)
		for k := range perm {
			perm[k] = k
		}
	}
	stored := make([]int64, nd)
	for k := range stored {
		stored[k] = l.chunks[perm[k]]
	}
	n := int64(1)
	for _, c := range l.chunks {
		n *= c
	}
	out := make([]byte, 0, n*int64(l.size))
	j := make([]int64, nd) // stored index
	for e := int64(0); e < n; e++ {
		// Logical global index, then its C-order offset.
		in := true
		off := int64(0)
		li := make([]int64, nd)
		for k := range nd {
			li[perm[k]] = j[k]
		}
		for k := range nd {
			gi := g[k]*l.chunks[k] + li[k]
			if gi >= l.shape[k] {
				in = false
			}
			off = off*l.shape[k] + gi
		}
		if in {
			out = append(out, data[off*int64(l.size):(off+1)*int64(l.size)]...)
		} else if l.fill != nil {
			out = append(out, l.fill...)
		} else {
			out = append(out, make([]byte, l.size)...)
		}
		for k := nd - 1; k >= 0; k-- {
			j[k]++
			if j[k] < stored[k] {
				break
			}
			j[k] = 0
		}
	}
	return out
}

// rGrid calls f for every chunk grid index of the layout.
func (l rLayout) rGrid(f func(g []int64)) {
	nd := len(l.shape)
	g := make([]int64, nd)
	for _, s := range l.shape {
		if s == 0 {
			return
		}
	}
	for {
		f(append([]int64(nil), g...))
		k := nd - 1
		for ; k >= 0; k-- {
			g[k]++
			if g[k]*l.chunks[k] < l.shape[k] {
				break
			}
			g[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

func rKey(prefix, sep string, g []int64) string {
	parts := []string{}
	if prefix != "" {
		parts = append(parts, prefix)
	}
	for _, v := range g {
		parts = append(parts, strconv.FormatInt(v, 10))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, sep)
}

// rV2 is a format 2 array to lay out.
type rV2 struct {
	shape, chunks []int64
	dtype         string
	order         string // "C" or "F"
	compressor    string // rEncode codec name; "" for none
	sep           string // "" or "/"
	fill          any
	skip          func(g []int64) bool // chunks not to write (read as fill)
	attrs         map[string]any
}

// rWriteV2 writes the array at dir, data being the whole array in C order.
func rWriteV2(t testing.TB, dir string, a rV2, data []byte) {
	t.Helper()
	_, size, _ := rDType(a.dtype)
	var comp any
	if a.compressor != "" {
		comp = map[string]any{"id": a.compressor, "level": 1}
	}
	meta := map[string]any{
		"zarr_format": 2, "shape": a.shape, "chunks": a.chunks, "dtype": a.dtype,
		"compressor": comp, "fill_value": a.fill, "order": a.order, "filters": nil,
	}
	if a.sep != "" {
		meta["dimension_separator"] = a.sep
	}
	rJSON(t, filepath.Join(dir, ".zarray"), meta)
	if a.attrs != nil {
		rJSON(t, filepath.Join(dir, ".zattrs"), a.attrs)
	}
	l := rLayout{shape: a.shape, chunks: a.chunks, size: size}
	if a.order == "F" {
		for k := len(a.shape) - 1; k >= 0; k-- {
			l.perm = append(l.perm, k)
		}
	}
	sep := a.sep
	if sep == "" {
		sep = "."
	}
	l.rGrid(func(g []int64) {
		if a.skip != nil && a.skip(g) {
			return
		}
		rWrite(t, filepath.Join(dir, filepath.FromSlash(rKey("", sep, g))), rEncode(t, a.compressor, l.rChunk(data, g)))
	})
}

// rV3 is a format 3 array to lay out; codecs are the v3 codec list, of
// which the bytes-to-bytes ones must be names that rEncode knows.
type rV3 struct {
	shape, chunks []int64
	dtype         string // numpy string for the helpers, e.g. ">f8"
	dataType      string // v3 name
	transpose     []int
	compress      []string // bytes-to-bytes codecs in encode order
	keyEncoding   string   // "default" or "v2"
	sep           string
	fill          any
	// Sharding: when inner is set, chunks is the shard shape.
	inner      []int64
	indexStart bool
	skipInner  func(shard []int64, local int64) bool
	skip       func(g []int64) bool // shards/chunks not written
}

func rCodecList(a rV3) []any {
	var cs []any
	if a.transpose != nil {
		cs = append(cs, map[string]any{"name": "transpose", "configuration": map[string]any{"order": a.transpose}})
	}
	_, _, big := rDType(a.dtype)
	endian := "little"
	if big {
		endian = "big"
	}
	cs = append(cs, map[string]any{"name": "bytes", "configuration": map[string]any{"endian": endian}})
	for _, c := range a.compress {
		cfg := map[string]any{}
		if c == "gzip" || c == "zstd" {
			cfg["level"] = 1
		}
		cs = append(cs, map[string]any{"name": c, "configuration": cfg})
	}
	return cs
}

func rWriteV3(t testing.TB, dir string, a rV3, data []byte) {
	t.Helper()
	_, size, _ := rDType(a.dtype)
	enc := a.keyEncoding
	if enc == "" {
		enc = "default"
	}
	sep := a.sep
	if sep == "" {
		sep = "/"
		if enc == "v2" {
			sep = "."
		}
	}
	codecs := rCodecList(a)
	if a.inner != nil {
		idxPos := "end"
		if a.indexStart {
			idxPos = "start"
		}
		codecs = []any{map[string]any{"name": "sharding_indexed", "configuration": map[string]any{
			"chunk_shape": a.inner, "codecs": codecs, "index_location": idxPos,
			"index_codecs": []any{map[string]any{"name": "bytes", "configuration": map[string]any{"endian": "little"}}, map[string]any{"name": "crc32c"}},
		}}}
	}
	rJSON(t, filepath.Join(dir, "zarr.json"), map[string]any{
		"zarr_format": 3, "node_type": "array", "shape": a.shape, "data_type": a.dataType,
		"chunk_grid":         map[string]any{"name": "regular", "configuration": map[string]any{"chunk_shape": a.chunks}},
		"chunk_key_encoding": map[string]any{"name": enc, "configuration": map[string]any{"separator": sep}},
		"fill_value":         a.fill, "codecs": codecs, "attributes": map[string]any{"k": "v"},
	})
	prefix := "c"
	if enc == "v2" {
		prefix = ""
	}
	encodeChunk := func(raw []byte) []byte {
		for _, c := range a.compress {
			raw = rEncode(t, c, raw)
		}
		return raw
	}
	outer := rLayout{shape: a.shape, chunks: a.chunks, size: size}
	outer.rGrid(func(g []int64) {
		if a.skip != nil && a.skip(g) {
			return
		}
		path := filepath.Join(dir, filepath.FromSlash(rKey(prefix, sep, g)))
		if a.inner == nil {
			l := rLayout{shape: a.shape, chunks: a.chunks, size: size, perm: a.transpose}
			rWrite(t, path, encodeChunk(l.rChunk(data, g)))
			return
		}
		// Inner chunks: cut the (padded) shard region of the array.
		per := make([]int64, len(a.shape))
		n := int64(1)
		for k := range per {
			per[k] = a.chunks[k] / a.inner[k]
			n *= per[k]
		}
		il := rLayout{shape: a.shape, chunks: a.inner, size: size, perm: a.transpose}
		var body []byte
		index := make([]uint64, 2*n)
		loc := make([]int64, len(a.shape))
		for local := int64(0); local < n; local++ {
			rem := local
			for k := len(per) - 1; k >= 0; k-- {
				loc[k] = rem % per[k]
				rem /= per[k]
			}
			gi := make([]int64, len(loc))
			outside := false
			for k := range loc {
				gi[k] = g[k]*per[k] + loc[k]
				if gi[k]*a.inner[k] >= a.shape[k] {
					outside = true
				}
			}
			if outside || (a.skipInner != nil && a.skipInner(g, local)) {
				index[2*local], index[2*local+1] = math.MaxUint64, math.MaxUint64
				continue
			}
			c := encodeChunk(il.rChunk(data, gi))
			index[2*local], index[2*local+1] = uint64(len(body)), uint64(len(c))
			body = append(body, c...)
		}
		ib := make([]byte, 16*n)
		for i, v := range index {
			binary.LittleEndian.PutUint64(ib[8*i:], v)
		}
		if a.indexStart {
			shift := uint64(len(ib) + 4)
			for i := 0; i < len(index); i += 2 {
				if index[i] != math.MaxUint64 {
					binary.LittleEndian.PutUint64(ib[8*i:], index[i]+shift)
				}
			}
		}
		ib = rEncode(t, "crc32c", ib)
		if a.indexStart {
			body = append(ib, body...)
		} else {
			body = append(body, ib...)
		}
		rWrite(t, path, body)
	})
}

func rGroupV2(t testing.TB, dir string, attrs map[string]any) {
	t.Helper()
	rJSON(t, filepath.Join(dir, ".zgroup"), map[string]any{"zarr_format": 2})
	if attrs != nil {
		rJSON(t, filepath.Join(dir, ".zattrs"), attrs)
	}
}

func rGroupV3(t testing.TB, dir string, attrs map[string]any) {
	t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	rJSON(t, filepath.Join(dir, "zarr.json"), map[string]any{"zarr_format": 3, "node_type": "group", "attributes": attrs})
}

// rValues returns n values that dtype s represents exactly, never all
// zero, with fractions for floats.
func rValues(rng interface{ Float64() float64 }, s string, n int64) []float64 {
	kind, size, _ := rDType(s)
	v := make([]float64, n)
	for i := range v {
		r := rng.Float64()
		switch kind {
		case 'f':
			v[i] = math.Round((r*2000-1000)*64) / 64
			if size == 4 {
				v[i] = float64(float32(v[i]))
			}
		case 'i':
			v[i] = math.Floor(r*250) - 125
		case 'u':
			v[i] = math.Floor(r * 250)
		case 'b':
			v[i] = math.Floor(r * 2)
		}
	}
	return v
}

func rBytes(vals []float64, s string) []byte {
	_, size, _ := rDType(s)
	b := make([]byte, len(vals)*size)
	for i, v := range vals {
		rPut(b[i*size:], s, v)
	}
	return b
}
