package zarr

// This file holds the writing side of Zarr format 2: groups, arrays written
// chunk by chunk (compressed in the call, so callers parallelize across
// chunks), vlen-utf8 string arrays and consolidated metadata. What it writes
// is what Python zarr 2 and anndata >= 0.8 read.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/scbench/scbench/anndata/zarr/blosc"
)

// Compressor describes a numcodecs compressor for CreateArray. The zero
// value stores chunks uncompressed ("compressor": null).
//
// ID "blosc" is numcodecs' Blosc (a Blosc1 frame; CName, CLevel, Shuffle,
// BlockSize), and ID "zstd" is numcodecs' Zstd (one zstd frame that records
// its content size; Level). anndata's default is
// Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1}.
type Compressor struct {
	ID        string // "blosc", "zstd" or "" (none)
	CName     string // blosc: "lz4", "lz4hc", "zstd", "zlib", "blosclz", "snappy"
	CLevel    int    // blosc: 0-9
	Shuffle   int    // blosc: 0 none, 1 byte, 2 bit
	BlockSize int    // blosc: bytes per block, 0 automatic
	TypeSize  int    // blosc: bytes per element for shuffling; 0 takes the array's item size
	Level     int    // zstd: 1-22, 0 means 3 (zstd's default)
}

// Config returns the numcodecs JSON configuration of c, nil for none.
func (c Compressor) Config() map[string]any {
	switch c.ID {
	case "":
		return nil
	case "blosc":
		return map[string]any{"id": "blosc", "cname": c.CName, "clevel": c.CLevel, "shuffle": c.Shuffle, "blocksize": c.BlockSize}
	case "zstd":
		// numcodecs 0.11 (Debian 12) takes level only; a "checksum" key
		// would make it refuse the array.
		return map[string]any{"id": "zstd", "level": c.zstdLevel()}
	}
	return map[string]any{"id": c.ID}
}

// String returns a short description: "blosc-lz4/5/shuffle1", "zstd/3", "none".
func (c Compressor) String() string {
	switch c.ID {
	case "":
		return "none"
	case "blosc":
		return fmt.Sprintf("blosc-%s/%d/shuffle%d", c.CName, c.CLevel, c.Shuffle)
	case "zstd":
		return fmt.Sprintf("zstd/%d", c.zstdLevel())
	}
	return c.ID
}

func (c Compressor) zstdLevel() int {
	if c.Level == 0 {
		return 3
	}
	return c.Level
}

func (c Compressor) writeValidate() error {
	switch c.ID {
	case "":
		return nil
	case "blosc":
		switch c.CName {
		case "lz4", "lz4hc", "zstd", "zlib", "blosclz", "snappy":
		default:
			return fmt.Errorf("zarr: blosc compressor %q unknown (want lz4, lz4hc, zstd, zlib, blosclz or snappy)", c.CName)
		}
		if c.CLevel < 0 || c.CLevel > 9 {
			return fmt.Errorf("zarr: blosc clevel %d out of range 0-9", c.CLevel)
		}
		if c.Shuffle < 0 || c.Shuffle > 2 {
			return fmt.Errorf("zarr: blosc shuffle %d out of range (0 none, 1 byte, 2 bit)", c.Shuffle)
		}
		if c.BlockSize < 0 || c.TypeSize < 0 {
			return fmt.Errorf("zarr: blosc blocksize %d or typesize %d negative", c.BlockSize, c.TypeSize)
		}
		return nil
	case "zstd":
		if l := c.zstdLevel(); l < 1 || l > 22 {
			return fmt.Errorf("zarr: zstd level %d out of range 1-22", c.Level)
		}
		return nil
	}
	return fmt.Errorf("zarr: cannot write with compressor %q (writable: blosc, zstd, none)", c.ID)
}

// Encode compresses one chunk. typeSize is the array's item size, used for
// blosc shuffling when c.TypeSize is 0. The result may alias src when c is
// none.
func (c Compressor) Encode(src []byte, typeSize int) ([]byte, error) {
	switch c.ID {
	case "":
		return src, nil
	case "blosc":
		ts := c.TypeSize
		if ts == 0 {
			ts = max(typeSize, 1)
		}
		return blosc.Encode(src, blosc.Options{
			Compressor: c.CName,
			Level:      c.CLevel,
			Shuffle:    blosc.Shuffle(c.Shuffle),
			TypeSize:   ts,
			BlockSize:  c.BlockSize,
		})
	case "zstd":
		enc, err := wZstdEncoder(c.zstdLevel(), len(src) < wZstdSmall)
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(src, make([]byte, 0, len(src)/2+64)), nil
	}
	return nil, c.writeValidate()
}

// wZstdEncoders holds the encoders by level (and by whether they are for
// small chunks): EncodeAll is safe for concurrent use and keeps its own
// pool of GOMAXPROCS block encoders, so sharing them saves rebuilding
// match tables for every array.
var wZstdEncoders sync.Map // wZstdKey -> *zstd.Encoder

type wZstdKey struct {
	level int
	small bool
}

// wZstdSmall is the input size below which klauspost would leave the
// content size out of the frame header, unless the frame is single-segment.
// Single segments are slow for large inputs, so only small ones get them.
const wZstdSmall = 1 << 10

func wZstdEncoder(level int, small bool) (*zstd.Encoder, error) {
	key := wZstdKey{level, small}
	if e, ok := wZstdEncoders.Load(key); ok {
		return e.(*zstd.Encoder), nil
	}
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true), // numcodecs needs a frame, even for no bytes
		// numcodecs needs the content size to size its output.
		zstd.WithSingleSegment(small),
	)
	if err != nil {
		return nil, fmt.Errorf("zarr: zstd level %d: %w", level, err)
	}
	actual, _ := wZstdEncoders.LoadOrStore(key, e)
	return actual.(*zstd.Encoder), nil
}

// ArraySpec describes an array for CreateArray.
type ArraySpec struct {
	Shape, ChunkShape []int64 // equal lengths; both empty for a 0-d array
	// DType is a little-endian numpy type string: "<f4", "<f8", "|i1", "<i2",
	// "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1", "<U12", "|S8", "|O".
	DType      string
	Compressor Compressor
	Filters    []map[string]any // numcodecs filters, e.g. {"id": "vlen-utf8"}; nil for none
	FillValue  any              // nil: the dtype's zero (0, 0.0, false, "")
	Attrs      map[string]any   // written to .zattrs when non-nil
}

// ArrayWriter writes the chunks of one array created by CreateArray.
// WriteChunk may be called concurrently for different chunks.
type ArrayWriter struct {
	dir        string
	itemSize   int // bytes per element; 0 for object arrays
	typeSize   int // blosc shuffle width
	chunkBytes int // bytes of one full chunk; -1 for object arrays

	mu   sync.Mutex // guards spec.Shape and .zarray rewrites
	spec ArraySpec
}

// CreateGroup creates the directory dir (and its parents) as a zarr group:
// .zgroup, and .zattrs when attrs is non-nil.
func CreateGroup(dir string, attrs map[string]any) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("zarr: create group: %w", err)
	}
	if err := writeJSONFile(filepath.Join(dir, ".zgroup"), map[string]any{"zarr_format": 2}); err != nil {
		return err
	}
	if attrs != nil {
		return writeJSONFile(filepath.Join(dir, ".zattrs"), attrs)
	}
	return nil
}

// CreateArray creates the directory dir (and its parents) as a zarr array
// with .zarray and, when spec.Attrs is non-nil, .zattrs. Its chunks are then
// written with WriteChunk.
func CreateArray(dir string, spec ArraySpec) (*ArrayWriter, error) {
	w := &ArrayWriter{dir: dir}
	if err := w.init(spec); err != nil {
		return nil, fmt.Errorf("zarr: create array %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("zarr: create array: %w", err)
	}
	if err := w.writeZarray(); err != nil {
		return nil, err
	}
	if spec.Attrs != nil {
		if err := writeJSONFile(filepath.Join(dir, ".zattrs"), spec.Attrs); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *ArrayWriter) init(spec ArraySpec) error {
	if len(spec.Shape) != len(spec.ChunkShape) {
		return fmt.Errorf("shape %v and chunk shape %v differ in rank", spec.Shape, spec.ChunkShape)
	}
	for i, n := range spec.Shape {
		if n < 0 || spec.ChunkShape[i] < 1 {
			return fmt.Errorf("shape %v or chunk shape %v: need shape >= 0 and chunks >= 1", spec.Shape, spec.ChunkShape)
		}
	}
	size, err := writeItemSize(spec.DType)
	if err != nil {
		return err
	}
	if err := spec.Compressor.writeValidate(); err != nil {
		return err
	}
	w.itemSize, w.typeSize, w.chunkBytes = size, size, -1
	if spec.DType[1] == 'U' {
		w.typeSize = 4
	}
	if size == 0 {
		w.typeSize = 1
	} else {
		n := int64(size)
		for _, c := range spec.ChunkShape {
			n *= c
			if n > math.MaxInt32 {
				return fmt.Errorf("chunk shape %v holds %d bytes or more (at most 2 GiB a chunk)", spec.ChunkShape, n)
			}
		}
		w.chunkBytes = int(n)
	}
	spec.Shape = append([]int64{}, spec.Shape...)
	spec.ChunkShape = append([]int64{}, spec.ChunkShape...)
	w.spec = spec
	return nil
}

// writeItemSize returns the bytes per element of a numpy type string, 0 for
// object arrays (whose chunks a filter encodes).
func writeItemSize(dtype string) (int, error) {
	bad := fmt.Errorf("dtype %q not writable (want little-endian numpy type strings such as <f4, <i8, |b1, <U5, |S5, |O)", dtype)
	if len(dtype) < 2 || !strings.ContainsRune("<|", rune(dtype[0])) {
		return 0, bad
	}
	if dtype[1:] == "O" {
		return 0, nil
	}
	n, err := strconv.Atoi(dtype[2:])
	if err != nil || n < 1 {
		return 0, bad
	}
	switch dtype[1] {
	case 'b':
		if n == 1 {
			return 1, nil
		}
	case 'i', 'u':
		if n == 1 || n == 2 || n == 4 || n == 8 {
			return n, nil
		}
	case 'f':
		if n == 2 || n == 4 || n == 8 {
			return n, nil
		}
	case 'S':
		return n, nil
	case 'U':
		return 4 * n, nil
	}
	return 0, bad
}

// writeFill returns the JSON fill_value: v, or the dtype's zero when v is
// nil, with NaN and the infinities spelled as zarr spells them.
func writeFill(dtype string, v any) any {
	if v == nil {
		switch dtype[1] {
		case 'f':
			return json.Number("0.0")
		case 'b':
			return false
		case 'U', 'S':
			return ""
		}
		return 0
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		return v
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func (w *ArrayWriter) writeZarray() error {
	filters := any(nil)
	if len(w.spec.Filters) > 0 {
		filters = w.spec.Filters
	}
	meta := map[string]any{
		"zarr_format": 2,
		"shape":       w.spec.Shape,
		"chunks":      w.spec.ChunkShape,
		"dtype":       w.spec.DType,
		"compressor":  w.spec.Compressor.Config(),
		"fill_value":  writeFill(w.spec.DType, w.spec.FillValue),
		"order":       "C",
		"filters":     filters,
	}
	return writeJSONFile(filepath.Join(w.dir, ".zarray"), meta)
}

// Dir returns the directory of the array.
func (w *ArrayWriter) Dir() string { return w.dir }

// ChunkBytes returns the size of one full chunk in bytes, or -1 for object
// arrays.
func (w *ArrayWriter) ChunkBytes() int { return w.chunkBytes }

// WriteChunk compresses raw and stores it as the chunk at index (one entry
// per dimension; none for a 0-d array). raw holds the chunk's elements in C
// order, little-endian, after any filters. It must hold a full chunk even at
// the edges of the array, as zarr 2 stores edge chunks padded to the chunk
// shape; object arrays take whatever their filter produced. Chunks beyond
// the current shape are allowed, so that an appended array can take its
// final length from Resize.
func (w *ArrayWriter) WriteChunk(index []int64, raw []byte) error {
	key, err := w.chunkKey(index)
	if err != nil {
		return err
	}
	if w.chunkBytes >= 0 && len(raw) != w.chunkBytes {
		return fmt.Errorf("zarr: array %s chunk %s: %d bytes, want %d (chunk shape %v of %s, padded at the edges)",
			w.dir, key, len(raw), w.chunkBytes, w.spec.ChunkShape, w.spec.DType)
	}
	enc, err := w.spec.Compressor.Encode(raw, w.typeSize)
	if err != nil {
		return fmt.Errorf("zarr: array %s chunk %s: %s: %w", w.dir, key, w.spec.Compressor, err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, key), enc, 0o666); err != nil {
		return fmt.Errorf("zarr: array %s chunk %s: %w", w.dir, key, err)
	}
	return nil
}

func (w *ArrayWriter) chunkKey(index []int64) (string, error) {
	if len(index) != len(w.spec.ChunkShape) {
		return "", fmt.Errorf("zarr: array %s: chunk index %v has %d entries for %d dimensions", w.dir, index, len(index), len(w.spec.ChunkShape))
	}
	if len(index) == 0 {
		return "0", nil
	}
	var b strings.Builder
	for i, x := range index {
		if x < 0 {
			return "", fmt.Errorf("zarr: array %s: negative chunk index %v", w.dir, index)
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(x, 10))
	}
	return b.String(), nil
}

// Resize sets the array's shape and rewrites .zarray. Chunks already
// written stay valid: chunk boundaries do not move.
func (w *ArrayWriter) Resize(shape []int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(shape) != len(w.spec.Shape) {
		return fmt.Errorf("zarr: resize array %s to %v: rank %d, want %d", w.dir, shape, len(shape), len(w.spec.Shape))
	}
	for _, n := range shape {
		if n < 0 {
			return fmt.Errorf("zarr: resize array %s to %v: negative length", w.dir, shape)
		}
	}
	w.spec.Shape = append(w.spec.Shape[:0], shape...)
	return w.writeZarray()
}

// WriteArray creates an array (see CreateArray) and writes all of it from
// raw, its elements in C order, little-endian, len(raw) = product(Shape) *
// item size. Chunks are cut and compressed by up to workers goroutines
// (0 means GOMAXPROCS). Object arrays are not supported here: use
// WriteStrings.
func WriteArray(dir string, spec ArraySpec, raw []byte, workers int) error {
	w, err := CreateArray(dir, spec)
	if err != nil {
		return err
	}
	if w.itemSize == 0 {
		return fmt.Errorf("zarr: WriteArray %s: object dtype %s needs WriteStrings", dir, spec.DType)
	}
	n := int64(w.itemSize)
	nchunks := int64(1)
	grid := make([]int64, len(spec.Shape))
	for i, s := range w.spec.Shape {
		n *= s
		grid[i] = (s + w.spec.ChunkShape[i] - 1) / w.spec.ChunkShape[i]
		nchunks *= grid[i]
	}
	if int64(len(raw)) != n {
		return fmt.Errorf("zarr: WriteArray %s: %d bytes for shape %v of %s, want %d", dir, len(raw), spec.Shape, spec.DType, n)
	}
	return writeParallel(nchunks, workers, func(c int64, buf *[]byte) error {
		index := make([]int64, len(grid))
		for i := len(grid) - 1; i >= 0; i-- {
			index[i] = c % grid[i]
			c /= grid[i]
		}
		if cap(*buf) < w.chunkBytes {
			*buf = make([]byte, w.chunkBytes)
		}
		chunk := (*buf)[:w.chunkBytes]
		w.writeCut(chunk, raw, index)
		return w.WriteChunk(index, chunk)
	})
}

// writeCut copies the chunk at index out of the whole C-order array src into
// dst (a full chunk), zeroing what lies beyond the array's edge.
func (w *ArrayWriter) writeCut(dst, src []byte, index []int64) {
	shape, cs, sz := w.spec.Shape, w.spec.ChunkShape, int64(w.itemSize)
	nd := len(shape)
	if nd == 0 {
		copy(dst, src)
		return
	}
	clear(dst)
	// Copy one innermost run per position of the outer chunk dimensions.
	last := nd - 1
	lo := index[last] * cs[last]
	run := min(cs[last], shape[last]-lo)
	if run <= 0 {
		return
	}
	pos := make([]int64, nd-1) // position within the chunk, outer dims
	for {
		srcOff, dstOff, inside := int64(0), int64(0), true
		for d := 0; d < last; d++ {
			g := index[d]*cs[d] + pos[d]
			if g >= shape[d] {
				inside = false
				break
			}
			srcOff = srcOff*shape[d] + g
			dstOff = dstOff*cs[d] + pos[d]
		}
		if inside {
			s := (srcOff*shape[last] + lo) * sz
			d := dstOff * cs[last] * sz
			copy(dst[d:d+run*sz], src[s:s+run*sz])
		}
		d := last - 1
		for ; d >= 0; d-- {
			pos[d]++
			if pos[d] < cs[d] {
				break
			}
			pos[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// writeParallel runs fn for every i in [0, n) on up to workers goroutines,
// each with its own scratch buffer, and returns the first error.
func writeParallel(n int64, workers int, fn func(i int64, buf *[]byte) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = int(min(int64(workers), n))
	if workers <= 1 {
		var buf []byte
		for i := int64(0); i < n; i++ {
			if err := fn(i, &buf); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		mu    sync.Mutex
		next  int64
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if stop || i >= n {
					return
				}
				if err := fn(i, &buf); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// writeStringChunk is the most strings one chunk of WriteStrings holds:
// about a megabyte of cell barcodes.
const writeStringChunk = 1 << 16

// WriteStrings writes vals as a 1-D object array with the vlen-utf8 filter
// (anndata's "string-array"), Blosc-lz4 compressed, in chunks of up to
// 65,536 strings. attrs go to .zattrs when non-nil.
func WriteStrings(dir string, vals []string, attrs map[string]any) error {
	return WriteStringsWith(dir, vals, ArraySpec{
		Compressor: Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1},
		Attrs:      attrs,
	})
}

// WriteStringsWith is WriteStrings with the compressor, attributes and
// chunk length (ChunkShape[0], when set) of spec; it sets the other fields.
//
// Each chunk is numcodecs' VLenUTF8 encoding: a little-endian uint32 count,
// then per string a uint32 byte length and its UTF-8 bytes. The last chunk
// is padded with empty strings to the full chunk length, as zarr 2 expects.
func WriteStringsWith(dir string, vals []string, spec ArraySpec) error {
	n := int64(len(vals))
	chunk := int64(min(max(n, 1), writeStringChunk))
	if len(spec.ChunkShape) == 1 && spec.ChunkShape[0] > 0 {
		chunk = spec.ChunkShape[0]
	}
	spec.Shape, spec.ChunkShape = []int64{n}, []int64{chunk}
	spec.DType, spec.FillValue = "|O", 0
	spec.Filters = []map[string]any{{"id": "vlen-utf8"}}
	for i, s := range vals {
		if !utf8.ValidString(s) {
			return fmt.Errorf("zarr: WriteStrings %s: string %d (%q) is not valid UTF-8", dir, i, s)
		}
	}
	w, err := CreateArray(dir, spec)
	if err != nil {
		return err
	}
	return writeParallel((n+chunk-1)/chunk, 0, func(c int64, buf *[]byte) error {
		lo, hi := c*chunk, min((c+1)*chunk, n)
		size := 4 + 4*int(chunk)
		for _, s := range vals[lo:hi] {
			size += len(s)
		}
		b := (*buf)[:0]
		if cap(b) < size {
			b = make([]byte, 0, size)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(chunk))
		for _, s := range vals[lo:hi] {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
		for i := hi - lo; i < chunk; i++ {
			b = binary.LittleEndian.AppendUint32(b, 0)
		}
		*buf = b
		return w.WriteChunk([]int64{c}, b)
	})
}

// WriteConsolidated writes root/.zmetadata: every .zgroup, .zarray and
// .zattrs under root keyed by its slash-separated path, with
// "zarr_consolidated_format": 1, so readers open the store with one read.
func WriteConsolidated(root string) error {
	meta := map[string]json.RawMessage{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch d.Name() {
		case ".zgroup", ".zarray", ".zattrs":
		default:
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		compact, err := writeMarshal(v, "")
		if err != nil {
			return err
		}
		meta[filepath.ToSlash(rel)] = compact
		return nil
	})
	if err != nil {
		return fmt.Errorf("zarr: consolidate %s: %w", root, err)
	}
	if len(meta) == 0 {
		return fmt.Errorf("zarr: consolidate %s: no .zgroup, .zarray or .zattrs found", root)
	}
	return writeJSONFile(filepath.Join(root, ".zmetadata"), map[string]any{
		"metadata":                 meta,
		"zarr_consolidated_format": 1,
	})
}

// writeMarshal encodes v as JSON as Python's json.dumps does for zarr: map
// keys sorted, no HTML escaping (so "<f4" stays readable) and only ASCII,
// as zarr 2 decodes metadata as ASCII; indented by indent when it is not
// empty.
func writeMarshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return writeASCII(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// writeASCII replaces every non-ASCII character of the JSON text b, which
// can only occur inside strings, with its \uXXXX escape (a surrogate pair
// above U+FFFF).
func writeASCII(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := append(make([]byte, 0, len(b)+len(b)/4), b[:i]...)
	for _, r := range string(b[i:]) {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, "\\u%04x\\u%04x", hi, lo)
		default:
			out = fmt.Appendf(out, "\\u%04x", r)
		}
	}
	return out
}

func writeJSONFile(path string, v any) error {
	b, err := writeMarshal(v, "    ")
	if err != nil {
		return fmt.Errorf("zarr: %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o666); err != nil {
		return fmt.Errorf("zarr: %w", err)
	}
	return nil
}
