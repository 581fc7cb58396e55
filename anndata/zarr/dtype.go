package zarr

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the kind of value an array element holds.
type Kind uint8

const (
	Bool    Kind = iota + 1 // one byte, 0 or 1
	Int                     // signed integer
	Uint                    // unsigned integer
	Float                   // IEEE 754 float
	String                  // variable-length UTF-8 (numpy object + vlen-utf8, Zarr v3 "string")
	Bytes                   // fixed-length byte string (numpy |S), NUL padded
	Unicode                 // fixed-length UCS-4 string (numpy <U), NUL padded
)

// DType describes an element type: its kind, its size in bytes (0 for
// variable-length strings) and the byte order it is stored in.
type DType struct {
	Kind      Kind
	Size      int
	BigEndian bool
}

// Numeric reports whether elements are numbers or booleans, which ReadRange
// reads; the string kinds are read with ReadStrings.
func (d DType) Numeric() bool { return d.Kind >= Bool && d.Kind <= Float }

// String returns the numpy spelling: "<f4", ">i8", "|b1", "|O", "<U12".
func (d DType) String() string {
	order := "<"
	if d.BigEndian {
		order = ">"
	}
	switch d.Kind {
	case Bool:
		return "|b1"
	case Int, Uint, Float:
		if d.Size == 1 {
			order = "|"
		}
		return order + string("?iuf"[d.Kind-Bool]) + strconv.Itoa(d.Size)
	case String:
		return "|O"
	case Bytes:
		return "|S" + strconv.Itoa(d.Size)
	case Unicode:
		return order + "U" + strconv.Itoa(d.Size/4)
	}
	return "invalid"
}

const supportedV2DTypes = "|b1, |i1, <i2, <i4, <i8, |u1, <u2, <u4, <u8, <f4, <f8 (and > big-endian variants), |O with vlen-utf8, |Sn, <Un"

// parseDTypeV2 parses a numpy type string from a .zarray.
func parseDTypeV2(s string) (DType, error) {
	bad := func() (DType, error) {
		return DType{}, fmt.Errorf("%w: dtype %q (supported: %s)", ErrUnsupported, s, supportedV2DTypes)
	}
	if len(s) < 2 {
		return bad()
	}
	var d DType
	switch s[0] {
	case '<', '|', '=':
	case '>':
		d.BigEndian = true
	default:
		return bad()
	}
	kind, rest := s[1], s[2:]
	if kind == 'O' {
		if rest != "" {
			return bad()
		}
		return DType{Kind: String}, nil
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n <= 0 || n > 1<<20 {
		return bad()
	}
	switch kind {
	case 'b':
		d.Kind = Bool
	case 'i':
		d.Kind = Int
	case 'u':
		d.Kind = Uint
	case 'f':
		d.Kind = Float
	case 'S':
		return DType{Kind: Bytes, Size: n}, nil
	case 'U':
		d.Kind, d.Size = Unicode, 4*n
		return d, nil
	default:
		return bad()
	}
	d.Size = n
	switch {
	case d.Kind == Bool && n == 1,
		(d.Kind == Int || d.Kind == Uint) && (n == 1 || n == 2 || n == 4 || n == 8),
		d.Kind == Float && (n == 4 || n == 8):
	default:
		return bad()
	}
	if n == 1 {
		d.BigEndian = false
	}
	return d, nil
}

const supportedV3DTypes = "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, string"

// parseDTypeV3 parses a Zarr v3 data_type name. The byte order comes later,
// from the bytes codec.
func parseDTypeV3(raw json.RawMessage) (DType, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return DType{}, fmt.Errorf("%w: data_type %s (supported: %s)", ErrUnsupported, raw, supportedV3DTypes)
	}
	switch name {
	case "bool":
		return DType{Kind: Bool, Size: 1}, nil
	case "int8", "int16", "int32", "int64":
		n, _ := strconv.Atoi(name[3:])
		return DType{Kind: Int, Size: n / 8}, nil
	case "uint8", "uint16", "uint32", "uint64":
		n, _ := strconv.Atoi(name[4:])
		return DType{Kind: Uint, Size: n / 8}, nil
	case "float32":
		return DType{Kind: Float, Size: 4}, nil
	case "float64":
		return DType{Kind: Float, Size: 8}, nil
	case "string":
		return DType{Kind: String}, nil
	}
	return DType{}, fmt.Errorf("%w: data_type %q (supported: %s)", ErrUnsupported, name, supportedV3DTypes)
}

// v3Name returns the Zarr v3 name of d.
func (d DType) v3Name() string {
	switch d.Kind {
	case Bool:
		return "bool"
	case Int:
		return "int" + strconv.Itoa(8*d.Size)
	case Uint:
		return "uint" + strconv.Itoa(8*d.Size)
	case Float:
		return "float" + strconv.Itoa(8*d.Size)
	case String:
		return "string"
	}
	return d.String()
}

// fillValue is one element, little-endian, that stands for a missing chunk.
type fillValue struct {
	b []byte // numeric kinds and fixed strings; nil means all zero bytes
	s string // String kind
}

// parseFill decodes a fill_value for d. v2 spells NaN and the infinities as
// strings and |S fills in base64; v3 also allows "0x..." bit patterns.
func parseFill(raw json.RawMessage, d DType) (fillValue, error) {
	var fv fillValue
	txt := strings.TrimSpace(string(raw))
	if txt == "" || txt == "null" {
		return fv, nil
	}
	bad := func() (fillValue, error) {
		return fillValue{}, fmt.Errorf("%w: fill_value %s for dtype %s", ErrInvalidMetadata, txt, d)
	}
	switch d.Kind {
	case String:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			fv.s = s
		}
		return fv, nil // numcodecs writes 0 for object arrays
	case Bytes, Unicode:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fv, nil
		}
		fv.b = make([]byte, d.Size)
		if d.Kind == Bytes {
			dec, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				dec = []byte(s)
			}
			copy(fv.b, dec)
			return fv, nil
		}
		i := 0
		for _, r := range s {
			if 4*i+4 > d.Size {
				break
			}
			binary.LittleEndian.PutUint32(fv.b[4*i:], uint32(r))
			i++
		}
		return fv, nil
	case Bool:
		var v bool
		if json.Unmarshal(raw, &v) == nil {
			if v {
				fv.b = []byte{1}
			}
			return fv, nil
		}
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return bad()
		}
		if f != 0 {
			fv.b = []byte{1}
		}
		return fv, nil
	}
	fv.b = make([]byte, d.Size)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch {
		case strings.HasPrefix(s, "0x"):
			bits, err := strconv.ParseUint(s[2:], 16, 64)
			if err != nil {
				return bad()
			}
			putUint(fv.b, bits)
			return fv, nil
		case d.Kind != Float:
			return bad()
		}
		var f float64
		switch s {
		case "NaN":
			f = math.NaN()
		case "Infinity":
			f = math.Inf(1)
		case "-Infinity":
			f = math.Inf(-1)
		default:
			return bad()
		}
		putFloat(fv.b, f)
		return fv, nil
	}
	var num json.Number
	if err := json.Unmarshal(raw, &num); err != nil {
		return bad()
	}
	if d.Kind == Float {
		f, err := num.Float64()
		if err != nil {
			return bad()
		}
		putFloat(fv.b, f)
		return fv, nil
	}
	if i, err := strconv.ParseInt(num.String(), 10, 64); err == nil {
		putUint(fv.b, uint64(i))
		return fv, nil
	}
	if u, err := strconv.ParseUint(num.String(), 10, 64); err == nil {
		putUint(fv.b, u)
		return fv, nil
	}
	f, err := num.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
		return bad()
	}
	putUint(fv.b, uint64(int64(f)))
	return fv, nil
}

func putUint(b []byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
}

func putFloat(b []byte, f float64) {
	if len(b) == 4 {
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(f)))
		return
	}
	binary.LittleEndian.PutUint64(b, math.Float64bits(f))
}
