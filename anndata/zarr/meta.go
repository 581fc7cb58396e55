package zarr

import (
	"fmt"
	"strings"
)

// arrayMeta is an array's metadata in a form common to both formats.
type arrayMeta struct {
	format     int
	shape      []int64
	chunkShape []int64 // the chunk grid: one file (or shard) per chunk
	dtype      DType
	fill       fillValue
	keyPrefix  string // "c" for the v3 default encoding, "" otherwise
	sep        string // between chunk coordinates
	// unit describes how one independently decoded chunk is stored: the
	// chunk itself, or the inner chunk of a shard.
	unit      codecChain
	unitShape []int64
	shard     *shardSpec
	attrs     map[string]any
}

// codecChain turns the stored bytes of one chunk into little-endian
// elements in C order.
type codecChain struct {
	perm      []int // stored axis k holds logical axis perm[k]; nil: C order
	bigEndian bool
	vlen      bool // elements are vlen-utf8 items
	compress  []bytesCodec
	summary   string
}

// shardSpec is the sharding_indexed codec's layout.
type shardSpec struct {
	perShard  []int64 // inner chunks per shard along each axis
	nInner    int64
	indexSize int64 // bytes of the encoded index
	indexCRC  bool
	indexBig  bool
	atEnd     bool
}

// maxChunkBytes bounds a decoded chunk, so that corrupt metadata cannot ask
// for absurd allocations (and sizes never overflow).
const maxChunkBytes = 1 << 36

// checkShapes validates shape and chunk shape and returns the number of
// elements in one chunk.
func checkShapes(shape, chunks []int64, size int) (int64, error) {
	if len(chunks) != len(shape) {
		return 0, fmt.Errorf("%w: chunk shape %v has %d dimensions, shape %v has %d", ErrInvalidMetadata, chunks, len(chunks), shape, len(shape))
	}
	total := int64(1)
	for _, n := range shape {
		if n < 0 {
			return 0, fmt.Errorf("%w: negative shape %v", ErrInvalidMetadata, shape)
		}
		if n != 0 && total > (1<<62)/n {
			return 0, fmt.Errorf("%w: shape %v has too many elements", ErrInvalidMetadata, shape)
		}
		total *= n
	}
	elems := int64(1)
	if size < 1 {
		size = 1
	}
	for _, c := range chunks {
		if c <= 0 {
			return 0, fmt.Errorf("%w: chunk shape %v has a dimension below 1", ErrInvalidMetadata, chunks)
		}
		if c > maxChunkBytes || elems*c > maxChunkBytes/int64(size) {
			return 0, fmt.Errorf("%w: chunk shape %v is too large", ErrInvalidMetadata, chunks)
		}
		elems *= c
	}
	return elems, nil
}

func prod(s []int64) int64 {
	p := int64(1)
	for _, v := range s {
		p *= v
	}
	return p
}

// checkPerm validates a permutation of n axes.
func checkPerm(p []int, n int) error {
	if len(p) != n {
		return fmt.Errorf("%w: transpose order %v for %d dimensions", ErrInvalidMetadata, p, n)
	}
	seen := make([]bool, n)
	for _, v := range p {
		if v < 0 || v >= n || seen[v] {
			return fmt.Errorf("%w: transpose order %v is not a permutation", ErrInvalidMetadata, p)
		}
		seen[v] = true
	}
	return nil
}

// identity reports whether p leaves the axes in place.
func identity(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

func summarize(parts []string) string { return strings.Join(parts, "+") }
