package zarr

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/scbench/scbench/internal/freelist"
)

// Array is a zarr array. Its metadata is read when it is opened; chunks are
// read on demand. All methods are safe for concurrent use.
//
// A "chunk" in NumChunks, ChunkRange and the read methods is the unit that
// is decoded on its own: the chunk of the chunk grid, or, for arrays stored
// with the sharding_indexed codec, the inner chunk of a shard.
type Array struct {
	Path            string  // the array's directory
	Name            string  // its slash-separated path inside the store, e.g. "X/data"
	Format          int     // Zarr format, 2 or 3
	Shape           []int64 // array shape
	ChunkShape      []int64 // chunk grid: the shape of one chunk file (one shard when sharded)
	InnerChunkShape []int64 // inner chunk shape when sharded, else nil
	DType           DType
	Attrs           map[string]any // shared: do not modify

	m         *arrayMeta
	unitElems int64   // elements in one decode unit
	unitBytes int64   // their size (0 for variable-length strings)
	grid      []int64 // decode units along each axis

	// Buffers kept for the next unit (freelist, not sync.Pool: a pool is
	// emptied by the garbage collector, and every fresh unit-sized buffer
	// costs the kernel's zeroing of its pages).
	rawPool freelist.List[*[]byte]    // stored (compressed) bytes of one unit
	tmpPool freelist.List[*[]byte]    // one decoded unit, when it cannot be decoded in place
	midPool freelist.List[*[2][]byte] // intermediate results of multi-codec chains

	shardMu  sync.Mutex
	shardIdx map[string]*shardIndex // by shard key
}

func (s *store) array(key string) (*Array, error) {
	var m *arrayMeta
	var err error
	if s.format == 2 {
		mkey := path.Join(key, ".zarray")
		b, rerr := s.doc(mkey)
		if rerr != nil {
			return nil, s.missingArray(key, rerr)
		}
		if m, err = parseArrayV2(b); err != nil {
			return nil, fmt.Errorf("zarr: %s: %w", s.file(mkey), err)
		}
		if m.attrs, err = s.attrsV2(key); err != nil {
			return nil, err
		}
	} else {
		mkey := path.Join(key, "zarr.json")
		b, rerr := s.doc(mkey)
		if rerr != nil {
			return nil, s.missingArray(key, rerr)
		}
		n, err := parseNodeV3(b)
		if err != nil {
			return nil, fmt.Errorf("zarr: %s: %w", s.file(mkey), err)
		}
		if n.NodeType != "array" {
			return nil, fmt.Errorf("zarr: %s: %w: it is a group, not an array", s.file(key), ErrNotFound)
		}
		if m, err = arrayFromNodeV3(n); err != nil {
			return nil, fmt.Errorf("zarr: %s: %w", s.file(mkey), err)
		}
	}
	if m.attrs == nil {
		m.attrs = map[string]any{}
	}
	return newArray(s.file(key), key, m), nil
}

func (s *store) missingArray(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if s.nodeKind(key) == "group" {
			return fmt.Errorf("zarr: %s: %w: it is a group, not an array", s.file(key), ErrNotFound)
		}
		return s.missing(key, "array")
	}
	return fmt.Errorf("zarr: %w", err)
}

func newArray(dir, name string, m *arrayMeta) *Array {
	a := &Array{
		Path:       dir,
		Name:       name,
		Format:     m.format,
		Shape:      m.shape,
		ChunkShape: m.chunkShape,
		DType:      m.dtype,
		Attrs:      m.attrs,
		m:          m,
		unitElems:  prod(m.unitShape),
		shardIdx:   map[string]*shardIndex{},
	}
	if m.shard != nil {
		a.InnerChunkShape = m.unitShape
	}
	a.unitBytes = a.unitElems * int64(m.dtype.Size)
	a.grid = make([]int64, len(m.shape))
	for k, n := range m.shape {
		a.grid[k] = (n + m.unitShape[k] - 1) / m.unitShape[k]
	}
	return a
}

// CodecSummary describes how chunks are stored, e.g.
// "blosc(lz4, clevel 5, shuffle)" or "sharding_indexed[bytes+gzip(level 5)]".
func (a *Array) CodecSummary() string { return a.m.unit.summary }

// NumChunks returns the number of chunks along axis 0 (1 for a 0-d array).
func (a *Array) NumChunks() int {
	if len(a.Shape) == 0 {
		return 1
	}
	return int(a.grid[0])
}

// ChunkRange returns the range [lo, hi) along axis 0 that chunk i covers.
func (a *Array) ChunkRange(i int) (lo, hi int64) {
	if len(a.Shape) == 0 {
		return 0, 1
	}
	u := a.m.unitShape[0]
	lo = int64(i) * u
	return lo, min(lo+u, a.Shape[0])
}

// ChunkLen returns the length along axis 0 of a full chunk.
func (a *Array) ChunkLen() int64 {
	if len(a.Shape) == 0 {
		return 1
	}
	return a.m.unitShape[0]
}

func (a *Array) String() string {
	return fmt.Sprintf("%s %s %v chunks %v %s", a.Name, a.DType, a.Shape, a.m.unitShape, a.CodecSummary())
}

// chunkKey returns the store key, relative to the array, of the chunk (or
// shard) with grid coordinates idx.
func (a *Array) chunkKey(idx []int64) string {
	var b strings.Builder
	b.WriteString(a.m.keyPrefix)
	for i, v := range idx {
		if i > 0 || a.m.keyPrefix != "" {
			b.WriteString(a.m.sep)
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// where names a chunk in errors.
func (a *Array) where(key string) string {
	return fmt.Sprintf("%s/%s (%s)", a.Name, key, filepath.Join(a.Path, filepath.FromSlash(key)))
}

func getBuf(l *freelist.List[*[]byte]) *[]byte {
	if b, ok := l.Get(); ok {
		return b
	}
	return new([]byte)
}

// readFileInto reads a whole file into *buf, growing it when needed.
func readFileInto(name string, buf *[]byte) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n := int(st.Size())
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}

// rawUnit returns the stored bytes of decode unit u, or nil when the unit
// was never written (it then holds the fill value). loc names the unit.
func (a *Array) rawUnit(u []int64, buf *[]byte) (raw []byte, loc string, err error) {
	if a.m.shard != nil {
		return a.rawInner(u, buf)
	}
	key := a.chunkKey(u)
	loc = a.where(key)
	raw, err = readFileInto(filepath.Join(a.Path, filepath.FromSlash(key)), buf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, loc, nil
	}
	if err != nil {
		return nil, loc, fmt.Errorf("zarr: %s: %w", loc, err)
	}
	return raw, loc, nil
}

// decompress undoes the bytes-to-bytes codecs. The last step decodes into
// out's backing array when it is large enough.
func (a *Array) decompress(raw, out []byte) ([]byte, error) {
	cs := a.m.unit.compress
	if len(cs) == 0 {
		return raw, nil
	}
	var mid *[2][]byte
	defer func() {
		if mid != nil {
			a.midPool.Put(mid)
		}
	}()
	cur := raw
	for i := len(cs) - 1; i >= 0; i-- {
		var dst []byte
		if i == 0 {
			dst = out[:0]
		} else {
			if mid == nil {
				mid, _ = a.midPool.Get()
				if mid == nil {
					mid = new([2][]byte)
				}
			}
			dst = mid[i%2][:0]
		}
		res, err := cs[i].decode(dst, cur)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cs[i], err)
		}
		if _, strips := cs[i].(crc32cCodec); i != 0 && !strips && cap(res) > cap(mid[i%2]) {
			mid[i%2] = res[:0] // keep the grown buffer for the next chunk
		}
		cur = res
	}
	return cur, nil
}

// decodeUnit decodes unit u into out (len(out) == a.unitBytes) as
// little-endian elements in C order.
func (a *Array) decodeUnit(u []int64, out []byte) error {
	rawp := getBuf(&a.rawPool)
	defer a.rawPool.Put(rawp)
	raw, loc, err := a.rawUnit(u, rawp)
	if err != nil {
		return err
	}
	if raw == nil {
		a.fillUnit(out)
		return nil
	}
	res, err := a.decompress(raw, out)
	if err != nil {
		return fmt.Errorf("zarr: %s: %w: %w", loc, ErrCorrupt, err)
	}
	if len(res) != len(out) {
		return fmt.Errorf("zarr: %s: %w: decoded %d bytes, want %d: truncated or corrupt chunk", loc, ErrCorrupt, len(res), len(out))
	}
	if len(out) > 0 && &res[0] != &out[0] {
		copy(out, res)
	}
	if a.m.unit.bigEndian {
		size := a.DType.Size
		if a.DType.Kind == Unicode {
			size = 4 // UCS-4 code units, not whole elements, are swapped
		}
		swapBytes(out, size)
	}
	if a.m.unit.perm != nil {
		tp := getBuf(&a.tmpPool)
		if int64(cap(*tp)) < a.unitBytes {
			*tp = make([]byte, a.unitBytes)
		}
		tmp := (*tp)[:a.unitBytes]
		copy(tmp, out)
		permute(out, tmp, a.DType.Size, a.m.unitShape, a.m.unit.perm)
		a.tmpPool.Put(tp)
	}
	return nil
}

// fillUnit sets every element of out to the fill value.
func (a *Array) fillUnit(out []byte) {
	f := a.m.fill.b
	if f == nil {
		clear(out)
		return
	}
	if len(out) < len(f) {
		return
	}
	n := copy(out, f)
	for n < len(out) {
		n += copy(out[n:], out[:n])
	}
}

// swapBytes reverses the byte order of each size-byte element.
func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			b[i], b[i+1], b[i+2], b[i+3], b[i+4], b[i+5], b[i+6], b[i+7] = b[i+7], b[i+6], b[i+5], b[i+4], b[i+3], b[i+2], b[i+1], b[i]
		}
	}
}

// permute rewrites a chunk stored with transposed axes (stored axis k holds
// logical axis perm[k]) in C order. src and dst hold size-byte elements.
func permute[T any](dst, src []T, size int, shape []int64, perm []int) {
	n := len(shape)
	// Stride, in elements, of each logical axis inside the stored layout.
	stride := make([]int64, n)
	s := int64(1)
	for k := n - 1; k >= 0; k-- {
		stride[perm[k]] = s
		s *= shape[perm[k]]
	}
	idx := make([]int64, n)
	off := int64(0)
	total := prod(shape)
	sz := int64(size)
	for o := int64(0); o < total; o++ {
		copy(dst[o*sz:(o+1)*sz], src[off*sz:(off+1)*sz])
		for k := n - 1; k >= 0; k-- {
			idx[k]++
			off += stride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= stride[k] * idx[k]
			idx[k] = 0
		}
	}
}
