package zarr

import (
	"encoding/json"
	"fmt"
)

// zarrayV2 is the JSON of a Zarr format 2 .zarray file.
type zarrayV2 struct {
	ZarrFormat int               `json:"zarr_format"`
	Shape      []int64           `json:"shape"`
	Chunks     []int64           `json:"chunks"`
	DType      json.RawMessage   `json:"dtype"`
	Compressor map[string]any    `json:"compressor"`
	FillValue  json.RawMessage   `json:"fill_value"`
	Order      string            `json:"order"`
	Filters    []json.RawMessage `json:"filters"`
	DimSep     string            `json:"dimension_separator"`
}

// parseArrayV2 parses the contents of a .zarray file.
func parseArrayV2(b []byte) (*arrayMeta, error) {
	var z zarrayV2
	if err := json.Unmarshal(b, &z); err != nil {
		return nil, fmt.Errorf("%w: .zarray: %v", ErrInvalidMetadata, err)
	}
	if z.ZarrFormat != 2 {
		return nil, fmt.Errorf("%w: .zarray has zarr_format %d, want 2", ErrInvalidMetadata, z.ZarrFormat)
	}
	if z.Shape == nil || z.Chunks == nil {
		return nil, fmt.Errorf("%w: .zarray lacks shape or chunks", ErrInvalidMetadata)
	}
	var dts string
	if err := json.Unmarshal(z.DType, &dts); err != nil {
		return nil, fmt.Errorf("%w: dtype %s (structured dtypes are not read; supported: %s)", ErrUnsupported, z.DType, supportedV2DTypes)
	}
	dt, err := parseDTypeV2(dts)
	if err != nil {
		return nil, err
	}
	m := &arrayMeta{format: 2, shape: z.Shape, chunkShape: z.Chunks, dtype: dt, unitShape: z.Chunks}
	if _, err := checkShapes(z.Shape, z.Chunks, dt.Size); err != nil {
		return nil, err
	}
	if m.fill, err = parseFill(z.FillValue, dt); err != nil {
		return nil, err
	}
	switch z.DimSep {
	case "", ".":
		m.sep = "."
	case "/":
		m.sep = "/"
	default:
		return nil, fmt.Errorf("%w: dimension_separator %q (want \".\" or \"/\")", ErrInvalidMetadata, z.DimSep)
	}
	ch := &m.unit
	ch.bigEndian = dt.BigEndian
	var parts []string
	switch z.Order {
	case "C", "":
	case "F":
		if n := len(z.Shape); n > 1 {
			ch.perm = make([]int, n)
			for k := range ch.perm {
				ch.perm[k] = n - 1 - k
			}
			parts = append(parts, "order F")
		}
	default:
		return nil, fmt.Errorf("%w: order %q (want \"C\" or \"F\")", ErrInvalidMetadata, z.Order)
	}
	for _, raw := range z.Filters {
		var f struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || f.ID == "" {
			return nil, fmt.Errorf("%w: filter %s has no id", ErrInvalidMetadata, raw)
		}
		switch f.ID {
		case "vlen-utf8", "vlen-bytes":
			if dt.Kind != String {
				return nil, fmt.Errorf("%w: filter %s on dtype %s (it needs |O)", ErrInvalidMetadata, f.ID, dt)
			}
			ch.vlen = true
			parts = append(parts, f.ID)
		default:
			return nil, fmt.Errorf("%w: filter %q (only vlen-utf8 and vlen-bytes, for string arrays, are read)", ErrUnsupported, f.ID)
		}
	}
	if dt.Kind == String && !ch.vlen {
		return nil, fmt.Errorf("%w: object dtype |O without a vlen-utf8 filter (other object codecs are not read)", ErrUnsupported)
	}
	if z.Compressor != nil {
		c, err := compressorV2(z.Compressor)
		if err != nil {
			return nil, err
		}
		ch.compress = []bytesCodec{c}
		parts = append(parts, c.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	ch.summary = summarize(parts)
	return m, nil
}

// compressorV2 builds a numcodecs compressor from its JSON config.
func compressorV2(cfg map[string]any) (bytesCodec, error) {
	id, _ := cfg["id"].(string)
	level := intField(cfg, "level", 1)
	switch id {
	case "blosc":
		cname, _ := cfg["cname"].(string)
		s := fmt.Sprintf("blosc(%s, clevel %d, %s)", cname, intField(cfg, "clevel", 5), bloscShuffleName(intField(cfg, "shuffle", 1)))
		return bloscCodec{summary: s}, nil
	case "zstd":
		return zstdCodec{level: level}, nil
	case "gzip":
		return gzipCodec{level: level}, nil
	case "zlib":
		return zlibCodec{level: level}, nil
	case "lz4":
		return lz4Codec{}, nil
	}
	return nil, fmt.Errorf("%w: compressor %q (supported: %s)", ErrUnsupported, id, supportedCompressors)
}

// intField reads an integer from a JSON object decoded into map[string]any.
func intField(m map[string]any, key string, def int) int {
	if f, ok := m[key].(float64); ok {
		return int(f)
	}
	return def
}
