package zarr

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// littleEndianHost enables reading decoded bytes straight into typed slices.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// dstInfo checks that dst is a slice type ReadRange accepts and returns its
// length.
func dstLen(dst any) (int64, error) {
	switch d := dst.(type) {
	case []float32:
		return int64(len(d)), nil
	case []float64:
		return int64(len(d)), nil
	case []int32:
		return int64(len(d)), nil
	case []int64:
		return int64(len(d)), nil
	case []bool:
		return int64(len(d)), nil
	}
	return 0, fmt.Errorf("zarr: cannot read into %T (want []float32, []float64, []int32, []int64 or []bool)", dst)
}

// bytesOf returns the memory of elements [off, off+n) of dst as bytes when
// dst's element type has exactly the layout of dt on this host, else nil.
func bytesOf(dst any, dt DType, off, n int64) []byte {
	if !littleEndianHost {
		return nil
	}
	var p unsafe.Pointer
	var size int64
	switch d := dst.(type) {
	case []float32:
		if dt.Kind != Float || dt.Size != 4 {
			return nil
		}
		p, size = unsafe.Pointer(unsafe.SliceData(d[off:off+n])), 4
	case []float64:
		if dt.Kind != Float || dt.Size != 8 {
			return nil
		}
		p, size = unsafe.Pointer(unsafe.SliceData(d[off:off+n])), 8
	case []int32:
		if dt.Kind != Int || dt.Size != 4 {
			return nil
		}
		p, size = unsafe.Pointer(unsafe.SliceData(d[off:off+n])), 4
	case []int64:
		if dt.Kind != Int || dt.Size != 8 {
			return nil
		}
		p, size = unsafe.Pointer(unsafe.SliceData(d[off:off+n])), 8
	default: // []bool too: stored bytes other than 0 and 1 are not valid bools

		return nil
	}
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(p), n*size)
}

// convert stores the n little-endian elements of type dt in src into
// dst[off:off+n], converting between numeric types. Conversions that cannot
// represent a value (an integer out of range, a fractional float read as an
// integer) return an error naming the value.
func convert(dst any, off int64, src []byte, dt DType, n int64) error {
	if b := bytesOf(dst, dt, off, n); b != nil {
		copy(b, src[:len(b)])
		return nil
	}
	switch d := dst.(type) {
	case []float32:
		return convertNum(d[off:off+n], src, dt, false, 0, 0)
	case []float64:
		return convertNum(d[off:off+n], src, dt, false, 0, 0)
	case []int32:
		return convertNum(d[off:off+n], src, dt, true, math.MinInt32, math.MaxInt32)
	case []int64:
		return convertNum(d[off:off+n], src, dt, true, math.MinInt64, math.MaxInt64)
	case []bool:
		return convertBool(d[off:off+n], src, dt)
	}
	return fmt.Errorf("zarr: cannot read into %T", dst)
}

type number interface {
	~float32 | ~float64 | ~int32 | ~int64
}

// convertNum converts len(dst) elements. For integer destinations lo and hi
// bound the values that fit.
func convertNum[T number](dst []T, src []byte, dt DType, toInt bool, lo, hi int64) error {
	le := binary.LittleEndian
	n := len(dst)
	switch {
	case dt.Kind == Float && dt.Size == 4:
		for i := range n {
			v := math.Float32frombits(le.Uint32(src[4*i:]))
			if toInt && !fitsInt(float64(v), lo, hi) {
				return rangeErr(float64(v), dt, dst)
			}
			dst[i] = T(v)
		}
	case dt.Kind == Float && dt.Size == 8:
		for i := range n {
			v := math.Float64frombits(le.Uint64(src[8*i:]))
			if toInt && !fitsInt(v, lo, hi) {
				return rangeErr(v, dt, dst)
			}
			dst[i] = T(v)
		}
	case dt.Kind == Int && dt.Size == 1:
		for i := range n {
			dst[i] = T(int8(src[i]))
		}
	case dt.Kind == Int && dt.Size == 2:
		for i := range n {
			dst[i] = T(int16(le.Uint16(src[2*i:])))
		}
	case dt.Kind == Int && dt.Size == 4:
		for i := range n {
			dst[i] = T(int32(le.Uint32(src[4*i:])))
		}
	case dt.Kind == Int && dt.Size == 8:
		for i := range n {
			v := int64(le.Uint64(src[8*i:]))
			if toInt && (v < lo || v > hi) {
				return rangeErr(float64(v), dt, dst)
			}
			dst[i] = T(v)
		}
	case (dt.Kind == Uint || dt.Kind == Bool) && dt.Size == 1:
		for i := range n {
			dst[i] = T(src[i])
		}
	case dt.Kind == Uint && dt.Size == 2:
		for i := range n {
			dst[i] = T(le.Uint16(src[2*i:]))
		}
	case dt.Kind == Uint && dt.Size == 4:
		for i := range n {
			v := le.Uint32(src[4*i:])
			if toInt && int64(v) > hi {
				return rangeErr(float64(v), dt, dst)
			}
			dst[i] = T(v)
		}
	case dt.Kind == Uint && dt.Size == 8:
		for i := range n {
			v := le.Uint64(src[8*i:])
			if toInt && v > uint64(hi) {
				return rangeErr(float64(v), dt, dst)
			}
			dst[i] = T(v)
		}
	default:
		return fmt.Errorf("zarr: %w: cannot convert %s to numbers", ErrUnsupported, dt)
	}
	return nil
}

func fitsInt(v float64, lo, hi int64) bool {
	return v == math.Trunc(v) && v >= float64(lo) && v < -float64(lo) && (hi == math.MaxInt64 || v <= float64(hi))
}

func rangeErr[T number](v float64, dt DType, _ []T) error {
	var z T
	return fmt.Errorf("zarr: value %v of dtype %s does not fit %T", v, dt, z)
}

func convertBool(dst []bool, src []byte, dt DType) error {
	if dt.Kind == Float {
		tmp := make([]float64, len(dst))
		if err := convertNum(tmp, src, dt, false, 0, 0); err != nil {
			return err
		}
		for i, v := range tmp {
			dst[i] = v != 0
		}
		return nil
	}
	s := dt.Size
	for i := range dst {
		nz := false
		for _, c := range src[i*s : (i+1)*s] {
			nz = nz || c != 0
		}
		dst[i] = nz
	}
	return nil
}
