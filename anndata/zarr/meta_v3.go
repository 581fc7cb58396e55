package zarr

import (
	"encoding/json"
	"fmt"
	"strings"
)

// nodeV3 is the JSON of a Zarr format 3 zarr.json file.
type nodeV3 struct {
	ZarrFormat          int               `json:"zarr_format"`
	NodeType            string            `json:"node_type"`
	Attributes          map[string]any    `json:"attributes"`
	Shape               []int64           `json:"shape"`
	DataType            json.RawMessage   `json:"data_type"`
	ChunkGrid           *namedConfig      `json:"chunk_grid"`
	ChunkKeyEncoding    *namedConfig      `json:"chunk_key_encoding"`
	FillValue           json.RawMessage   `json:"fill_value"`
	Codecs              []json.RawMessage `json:"codecs"`
	StorageTransformers []json.RawMessage `json:"storage_transformers"`
	// Consolidated metadata as zarr-python 3 writes it into the root group.
	Consolidated *struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	} `json:"consolidated_metadata"`
}

// namedConfig is a v3 extension point: a name and its configuration. The
// spec also allows a bare name string.
type namedConfig struct {
	Name          string          `json:"name"`
	Configuration json.RawMessage `json:"configuration"`
}

func (n *namedConfig) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*n = namedConfig{Name: s}
		return nil
	}
	type plain namedConfig
	return json.Unmarshal(b, (*plain)(n))
}

func (n *namedConfig) config(v any) error {
	if len(n.Configuration) == 0 || string(n.Configuration) == "null" {
		return nil
	}
	if err := json.Unmarshal(n.Configuration, v); err != nil {
		return fmt.Errorf("%w: codec %s configuration: %v", ErrInvalidMetadata, n.Name, err)
	}
	return nil
}

const supportedV3Codecs = "transpose, bytes, vlen-utf8, vlen-bytes, sharding_indexed, gzip, zstd, blosc, crc32c"

func parseNodeV3(b []byte) (*nodeV3, error) {
	var n nodeV3
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%w: zarr.json: %v", ErrInvalidMetadata, err)
	}
	if n.ZarrFormat != 3 {
		return nil, fmt.Errorf("%w: zarr.json has zarr_format %d, want 3", ErrInvalidMetadata, n.ZarrFormat)
	}
	if n.NodeType != "group" && n.NodeType != "array" {
		return nil, fmt.Errorf("%w: zarr.json has node_type %q, want \"group\" or \"array\"", ErrInvalidMetadata, n.NodeType)
	}
	return &n, nil
}

// parseArrayV3 parses the contents of an array's zarr.json.
func parseArrayV3(b []byte) (*arrayMeta, error) {
	n, err := parseNodeV3(b)
	if err != nil {
		return nil, err
	}
	if n.NodeType != "array" {
		return nil, fmt.Errorf("%w: zarr.json describes a %s, not an array", ErrInvalidMetadata, n.NodeType)
	}
	return arrayFromNodeV3(n)
}

func arrayFromNodeV3(n *nodeV3) (*arrayMeta, error) {
	if n.Shape == nil {
		return nil, fmt.Errorf("%w: zarr.json lacks shape", ErrInvalidMetadata)
	}
	if len(n.StorageTransformers) > 0 {
		return nil, fmt.Errorf("%w: storage_transformers", ErrUnsupported)
	}
	dt, err := parseDTypeV3(n.DataType)
	if err != nil {
		return nil, err
	}
	m := &arrayMeta{format: 3, shape: n.Shape, dtype: dt, attrs: n.Attributes}
	if n.ChunkGrid == nil || n.ChunkGrid.Name != "regular" {
		name := "missing"
		if n.ChunkGrid != nil {
			name = fmt.Sprintf("%q", n.ChunkGrid.Name)
		}
		return nil, fmt.Errorf("%w: chunk_grid %s (only \"regular\" is read)", ErrUnsupported, name)
	}
	var grid struct {
		ChunkShape []int64 `json:"chunk_shape"`
	}
	if err := n.ChunkGrid.config(&grid); err != nil {
		return nil, err
	}
	m.chunkShape = grid.ChunkShape
	if _, err := checkShapes(n.Shape, grid.ChunkShape, dt.Size); err != nil {
		return nil, err
	}
	m.keyPrefix, m.sep = "c", "/"
	if n.ChunkKeyEncoding != nil {
		var kc struct {
			Separator string `json:"separator"`
		}
		if err := n.ChunkKeyEncoding.config(&kc); err != nil {
			return nil, err
		}
		switch n.ChunkKeyEncoding.Name {
		case "default":
		case "v2":
			m.keyPrefix, m.sep = "", "."
		default:
			return nil, fmt.Errorf("%w: chunk_key_encoding %q (supported: default, v2)", ErrUnsupported, n.ChunkKeyEncoding.Name)
		}
		switch kc.Separator {
		case "":
		case "/", ".":
			m.sep = kc.Separator
		default:
			return nil, fmt.Errorf("%w: chunk key separator %q (want \"/\" or \".\")", ErrInvalidMetadata, kc.Separator)
		}
	}
	if m.fill, err = parseFill(n.FillValue, dt); err != nil {
		return nil, err
	}
	codecs := make([]namedConfig, len(n.Codecs))
	for i, raw := range n.Codecs {
		if err := json.Unmarshal(raw, &codecs[i]); err != nil {
			return nil, fmt.Errorf("%w: codec %s: %v", ErrInvalidMetadata, raw, err)
		}
	}
	if len(codecs) > 0 && codecs[len(codecs)-1].Name == "sharding_indexed" || len(codecs) > 0 && codecs[0].Name == "sharding_indexed" {
		if len(codecs) != 1 {
			return nil, fmt.Errorf("%w: sharding_indexed combined with other codecs (it must be the only one to read inner chunks on their own)", ErrUnsupported)
		}
		if err := m.parseSharding(&codecs[0]); err != nil {
			return nil, err
		}
		return m, nil
	}
	m.unitShape = m.chunkShape
	if m.unit, err = parseChainV3(codecs, dt, len(n.Shape)); err != nil {
		return nil, err
	}
	return m, nil
}

// parseChainV3 parses a v3 codec list (array-to-array, then one
// array-to-bytes, then bytes-to-bytes codecs) other than sharding.
func parseChainV3(codecs []namedConfig, dt DType, ndim int) (codecChain, error) {
	var ch codecChain
	var parts []string
	phase := 0 // 0: array->array, 1: bytes->bytes
	for i := range codecs {
		c := &codecs[i]
		switch c.Name {
		case "transpose":
			if phase != 0 {
				return ch, fmt.Errorf("%w: transpose after the array-to-bytes codec", ErrInvalidMetadata)
			}
			order, err := transposeOrder(c, ndim)
			if err != nil {
				return ch, err
			}
			if ch.perm == nil {
				ch.perm = order
			} else {
				composed := make([]int, ndim)
				for k := range composed {
					composed[k] = ch.perm[order[k]]
				}
				ch.perm = composed
			}
			parts = append(parts, fmt.Sprintf("transpose%v", order))
		case "bytes", "endian":
			if phase != 0 {
				return ch, fmt.Errorf("%w: two array-to-bytes codecs (%s)", ErrInvalidMetadata, c.Name)
			}
			phase = 1
			if dt.Kind == String {
				return ch, fmt.Errorf("%w: bytes codec on a string array (want vlen-utf8)", ErrInvalidMetadata)
			}
			var cfg struct {
				Endian string `json:"endian"`
			}
			if err := c.config(&cfg); err != nil {
				return ch, err
			}
			switch cfg.Endian {
			case "little":
			case "big":
				ch.bigEndian = dt.Size > 1
			case "":
				if dt.Size > 1 {
					return ch, fmt.Errorf("%w: bytes codec without endian for %d-byte elements", ErrInvalidMetadata, dt.Size)
				}
			default:
				return ch, fmt.Errorf("%w: bytes codec endian %q", ErrInvalidMetadata, cfg.Endian)
			}
			parts = append(parts, "bytes")
		case "vlen-utf8", "vlen-bytes":
			if phase != 0 {
				return ch, fmt.Errorf("%w: two array-to-bytes codecs (%s)", ErrInvalidMetadata, c.Name)
			}
			if dt.Kind != String {
				return ch, fmt.Errorf("%w: %s codec on data_type %s", ErrInvalidMetadata, c.Name, dt.v3Name())
			}
			phase = 1
			ch.vlen = true
			parts = append(parts, c.Name)
		case "sharding_indexed":
			return ch, fmt.Errorf("%w: sharding_indexed nested in another codec list", ErrUnsupported)
		case "gzip", "zstd", "blosc", "crc32c":
			if phase != 1 {
				return ch, fmt.Errorf("%w: %s before the array-to-bytes codec", ErrInvalidMetadata, c.Name)
			}
			bc, err := bytesCodecV3(c)
			if err != nil {
				return ch, err
			}
			ch.compress = append(ch.compress, bc)
			parts = append(parts, bc.String())
		default:
			return ch, fmt.Errorf("%w: codec %q (supported: %s)", ErrUnsupported, c.Name, supportedV3Codecs)
		}
	}
	if phase == 0 {
		if dt.Kind == String {
			return ch, fmt.Errorf("%w: string array without a vlen-utf8 codec", ErrInvalidMetadata)
		}
		if dt.Size > 1 {
			return ch, fmt.Errorf("%w: codec list has no array-to-bytes codec (want bytes)", ErrInvalidMetadata)
		}
		parts = append(parts, "bytes")
	}
	if ch.perm != nil && identity(ch.perm) {
		ch.perm = nil
	}
	ch.summary = summarize(parts)
	return ch, nil
}

func transposeOrder(c *namedConfig, ndim int) ([]int, error) {
	var raw struct {
		Order json.RawMessage `json:"order"`
	}
	if err := c.config(&raw); err != nil {
		return nil, err
	}
	var order []int
	var s string
	switch {
	case json.Unmarshal(raw.Order, &s) == nil && s == "C":
		order = make([]int, ndim)
		for k := range order {
			order[k] = k
		}
	case s == "F":
		order = make([]int, ndim)
		for k := range order {
			order[k] = ndim - 1 - k
		}
	default:
		if err := json.Unmarshal(raw.Order, &order); err != nil {
			return nil, fmt.Errorf("%w: transpose order %s", ErrInvalidMetadata, raw.Order)
		}
	}
	if err := checkPerm(order, ndim); err != nil {
		return nil, err
	}
	return order, nil
}

func bytesCodecV3(c *namedConfig) (bytesCodec, error) {
	switch c.Name {
	case "gzip":
		var cfg struct {
			Level int `json:"level"`
		}
		if err := c.config(&cfg); err != nil {
			return nil, err
		}
		return gzipCodec{level: cfg.Level}, nil
	case "zstd":
		var cfg struct {
			Level int `json:"level"`
		}
		if err := c.config(&cfg); err != nil {
			return nil, err
		}
		return zstdCodec{level: cfg.Level}, nil
	case "crc32c":
		return crc32cCodec{}, nil
	case "blosc":
		var cfg struct {
			Cname   string          `json:"cname"`
			Clevel  int             `json:"clevel"`
			Shuffle json.RawMessage `json:"shuffle"`
		}
		if err := c.config(&cfg); err != nil {
			return nil, err
		}
		shuffle := strings.Trim(string(cfg.Shuffle), `"`)
		switch shuffle {
		case "0":
			shuffle = "noshuffle"
		case "1":
			shuffle = "shuffle"
		case "2":
			shuffle = "bitshuffle"
		}
		return bloscCodec{summary: fmt.Sprintf("blosc(%s, clevel %d, %s)", cfg.Cname, cfg.Clevel, shuffle)}, nil
	}
	return nil, fmt.Errorf("%w: codec %q (supported: %s)", ErrUnsupported, c.Name, supportedV3Codecs)
}

// parseSharding reads a sharding_indexed configuration into m.
func (m *arrayMeta) parseSharding(c *namedConfig) error {
	var cfg struct {
		ChunkShape    []int64       `json:"chunk_shape"`
		Codecs        []namedConfig `json:"codecs"`
		IndexCodecs   []namedConfig `json:"index_codecs"`
		IndexLocation string        `json:"index_location"`
	}
	if err := c.config(&cfg); err != nil {
		return err
	}
	if _, err := checkShapes(m.chunkShape, cfg.ChunkShape, m.dtype.Size); err != nil {
		return fmt.Errorf("sharding_indexed inner chunks: %w", err)
	}
	sh := &shardSpec{nInner: 1}
	for k, inner := range cfg.ChunkShape {
		if m.chunkShape[k]%inner != 0 {
			return fmt.Errorf("%w: sharding_indexed inner chunk shape %v does not divide the shard shape %v", ErrInvalidMetadata, cfg.ChunkShape, m.chunkShape)
		}
		sh.perShard = append(sh.perShard, m.chunkShape[k]/inner)
		sh.nInner *= m.chunkShape[k] / inner
	}
	switch cfg.IndexLocation {
	case "", "end":
		sh.atEnd = true
	case "start":
	default:
		return fmt.Errorf("%w: sharding_indexed index_location %q (want \"start\" or \"end\")", ErrInvalidMetadata, cfg.IndexLocation)
	}
	sh.indexSize = 16 * sh.nInner
	for i, ic := range cfg.IndexCodecs {
		switch {
		case i == 0 && ic.Name == "bytes":
			var e struct {
				Endian string `json:"endian"`
			}
			if err := ic.config(&e); err != nil {
				return err
			}
			sh.indexBig = e.Endian == "big"
		case i == 1 && ic.Name == "crc32c":
			sh.indexCRC = true
			sh.indexSize += 4
		default:
			return fmt.Errorf("%w: sharding_indexed index codec %q (supported: bytes, then crc32c)", ErrUnsupported, ic.Name)
		}
	}
	if len(cfg.IndexCodecs) == 0 {
		return fmt.Errorf("%w: sharding_indexed without index_codecs", ErrInvalidMetadata)
	}
	inner, err := parseChainV3(cfg.Codecs, m.dtype, len(m.shape))
	if err != nil {
		return fmt.Errorf("sharding_indexed inner codecs: %w", err)
	}
	inner.summary = "sharding_indexed[" + inner.summary + "]"
	m.unit, m.unitShape, m.shard = inner, cfg.ChunkShape, sh
	return nil
}
