package zarr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ReadRange reads the elements whose index along axis 0 lies in [lo, hi),
// with every index of the other axes, into dst in C order; dst is a
// []float32, []float64, []int32, []int64 or []bool with at least
// (hi-lo)*Shape[1]*...*Shape[n-1] elements. Values are converted from the
// stored numeric type; a value the destination cannot hold is an error. Only
// the chunks that overlap the range are read, and a chunk that covers whole
// rows of dst with dst's own element type is decoded straight into dst.
func (a *Array) ReadRange(lo, hi int64, dst any) error {
	if !a.DType.Numeric() {
		return fmt.Errorf("zarr: %s: dtype %s holds strings: use ReadStrings", a.Name, a.DType)
	}
	have, err := dstLen(dst)
	if err != nil {
		return err
	}
	if len(a.Shape) == 0 {
		if lo != 0 || hi != 1 {
			return fmt.Errorf("zarr: %s: range [%d, %d) of a 0-d array (want [0, 1))", a.Name, lo, hi)
		}
		if have < 1 {
			return fmt.Errorf("zarr: %s: destination holds %d elements, want 1", a.Name, have)
		}
		return a.readUnitsInto(0, 1, dst)
	}
	if lo < 0 || lo > hi || hi > a.Shape[0] {
		return fmt.Errorf("zarr: %s: range [%d, %d) outside [0, %d)", a.Name, lo, hi, a.Shape[0])
	}
	need := (hi - lo) * prod(a.Shape[1:])
	if have < need {
		return fmt.Errorf("zarr: %s: destination holds %d elements, want %d for range [%d, %d)", a.Name, have, need, lo, hi)
	}
	if need == 0 {
		return nil
	}
	return a.readUnitsInto(lo, hi, dst)
}

// ReadAll reads the whole array into dst in C order (see ReadRange).
func (a *Array) ReadAll(dst any) error {
	if len(a.Shape) == 0 {
		return a.ReadRange(0, 1, dst)
	}
	return a.ReadRange(0, a.Shape[0], dst)
}

// readUnitsInto decodes the units overlapping rows [lo, hi) into dst.
func (a *Array) readUnitsInto(lo, hi int64, dst any) error {
	us := a.m.unitShape
	size := int64(a.DType.Size)
	// A unit whose trailing axes span the array's fills consecutive memory
	// of dst: decode it in place when nothing needs converting.
	contiguous := a.m.unit.perm == nil
	for k := 1; k < len(us); k++ {
		contiguous = contiguous && us[k] == a.Shape[k]
	}
	row := prod(a.Shape[min(1, len(a.Shape)):])
	var tp *[]byte
	defer func() {
		if tp != nil {
			a.tmpPool.Put(tp)
		}
	}()
	return a.eachUnit(lo, hi, func(u []int64, full bool) error {
		if contiguous && full {
			start := int64(0)
			if len(u) > 0 {
				start = (u[0]*us[0] - lo) * row
			}
			if b := bytesOf(dst, a.DType, start, a.unitElems); b != nil {
				return a.decodeUnit(u, b)
			}
		}
		if tp == nil {
			tp = getBuf(&a.tmpPool)
			if int64(cap(*tp)) < a.unitBytes {
				*tp = make([]byte, a.unitBytes)
			}
		}
		tmp := (*tp)[:a.unitBytes]
		if err := a.decodeUnit(u, tmp); err != nil {
			return err
		}
		return a.eachRun(u, lo, hi, func(dstOff, srcOff, n int64) error {
			return convert(dst, dstOff, tmp[srcOff*size:], a.DType, n)
		})
	})
}

// eachUnit calls f with the grid coordinates of every unit that overlaps
// rows [lo, hi), in C order; full reports whether the whole unit lies
// inside the range and the array.
func (a *Array) eachUnit(lo, hi int64, f func(u []int64, full bool) error) error {
	nd := len(a.Shape)
	if nd == 0 {
		return f(nil, true)
	}
	us := a.m.unitShape
	u := make([]int64, nd)
	u[0] = lo / us[0]
	last0 := (hi - 1) / us[0]
	for {
		full := u[0]*us[0] >= lo && (u[0]+1)*us[0] <= hi
		for k := range nd {
			full = full && (u[k]+1)*us[k] <= a.Shape[k]
		}
		if err := f(u, full); err != nil {
			return err
		}
		k := nd - 1
		for ; k >= 0; k-- {
			u[k]++
			limit := a.grid[k]
			if k == 0 {
				limit = last0 + 1
			}
			if u[k] < limit {
				break
			}
			u[k] = 0
		}
		if k < 0 {
			return nil
		}
	}
}

// eachRun calls f for each run, along the last axis, of the part of unit u
// that lies in rows [lo, hi): dstOff indexes the rows [lo, hi) of the array
// in C order, srcOff the unit in C order, n is the run length.
func (a *Array) eachRun(u []int64, lo, hi int64, f func(dstOff, srcOff, n int64) error) error {
	nd := len(a.Shape)
	if nd == 0 {
		return f(0, 0, 1)
	}
	us := a.m.unitShape
	rlo := make([]int64, nd)
	rhi := make([]int64, nd)
	for k := range nd {
		rlo[k] = u[k] * us[k]
		rhi[k] = min(rlo[k]+us[k], a.Shape[k])
	}
	rlo[0], rhi[0] = max(rlo[0], lo), min(rhi[0], hi)
	// Strides in elements: dstStride over the array, srcStride over the unit.
	dstStride := make([]int64, nd)
	srcStride := make([]int64, nd)
	ds, ss := int64(1), int64(1)
	for k := nd - 1; k >= 0; k-- {
		dstStride[k], srcStride[k] = ds, ss
		ds *= a.Shape[k]
		ss *= us[k]
	}
	n := rhi[nd-1] - rlo[nd-1]
	idx := append([]int64(nil), rlo...)
	for {
		dstOff := (idx[0] - lo) * dstStride[0]
		srcOff := int64(0)
		for k := range nd {
			if k > 0 {
				dstOff += idx[k] * dstStride[k]
			}
			srcOff += (idx[k] - u[k]*us[k]) * srcStride[k]
		}
		if err := f(dstOff, srcOff, n); err != nil {
			return err
		}
		k := nd - 2
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < rhi[k] {
				break
			}
			idx[k] = rlo[k]
		}
		if k < 0 {
			return nil
		}
	}
}

// ReadStrings reads a string array (variable-length UTF-8, or fixed |S or
// <U) whole, in C order.
func (a *Array) ReadStrings() ([]string, error) {
	switch a.DType.Kind {
	case String, Bytes, Unicode:
	default:
		return nil, fmt.Errorf("zarr: %s: dtype %s is not a string type: use ReadRange or ReadAll", a.Name, a.DType)
	}
	out := make([]string, prod(a.Shape))
	if len(out) == 0 {
		return out, nil
	}
	hi := int64(1)
	if len(a.Shape) > 0 {
		hi = a.Shape[0]
	}
	err := a.eachUnit(0, hi, func(u []int64, _ bool) error {
		strs, err := a.decodeStrings(u)
		if err != nil {
			return err
		}
		return a.eachRun(u, 0, hi, func(dstOff, srcOff, n int64) error {
			copy(out[dstOff:dstOff+n], strs[srcOff:srcOff+n])
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeStrings decodes one unit of a string array.
func (a *Array) decodeStrings(u []int64) ([]string, error) {
	if a.DType.Kind != String {
		b := make([]byte, a.unitBytes)
		if err := a.decodeUnit(u, b); err != nil {
			return nil, err
		}
		return fixedStrings(b, a.DType), nil
	}
	rawp := getBuf(&a.rawPool)
	defer a.rawPool.Put(rawp)
	raw, loc, err := a.rawUnit(u, rawp)
	if err != nil {
		return nil, err
	}
	strs := make([]string, a.unitElems)
	if raw == nil {
		for i := range strs {
			strs[i] = a.m.fill.s
		}
		return strs, nil
	}
	tp := getBuf(&a.tmpPool)
	defer a.tmpPool.Put(tp)
	b, err := a.decompress(raw, (*tp)[:0])
	if err != nil {
		return nil, fmt.Errorf("zarr: %s: %w: %w", loc, ErrCorrupt, err)
	}
	if cap(b) > cap(*tp) && len(a.m.unit.compress) > 0 {
		*tp = b[:0]
	}
	// A 1-D edge chunk may hold only its in-bounds items.
	inBounds := a.unitElems
	if len(a.Shape) == 1 {
		lo, hi := a.ChunkRange(int(u[0]))
		inBounds = hi - lo
	}
	if err := parseVLen(strs, b, inBounds); err != nil {
		return nil, fmt.Errorf("zarr: %s: %w: %v", loc, ErrCorrupt, err)
	}
	if a.m.unit.perm != nil {
		tmp := append([]string(nil), strs...)
		permute(strs, tmp, 1, a.m.unitShape, a.m.unit.perm)
	}
	return strs, nil
}

// parseVLen decodes numcodecs' VLenUTF8 layout: a little-endian uint32
// item count, then each item as a uint32 length and its bytes. The count
// must be len(out), or minCount (the items of a clipped edge chunk).
func parseVLen(out []string, b []byte, minCount int64) error {
	if len(b) < 4 {
		return fmt.Errorf("vlen-utf8: %d bytes, shorter than the item count", len(b))
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if n != int64(len(out)) && n != minCount {
		return fmt.Errorf("vlen-utf8: chunk holds %d strings, want %d", n, len(out))
	}
	s := string(b) // one allocation; the items share it
	pos := 4
	for i := range n {
		if pos+4 > len(b) {
			return fmt.Errorf("vlen-utf8: item %d of %d starts past the %d-byte chunk: truncated", i, n, len(b))
		}
		l := int(binary.LittleEndian.Uint32(b[pos:]))
		pos += 4
		if l > len(b)-pos {
			return fmt.Errorf("vlen-utf8: item %d of %d (%d bytes) runs past the %d-byte chunk: truncated", i, n, l, len(b))
		}
		out[i] = s[pos : pos+l]
		pos += l
	}
	if pos != len(b) {
		return fmt.Errorf("vlen-utf8: %d bytes after the last of %d items", len(b)-pos, n)
	}
	return nil
}

// fixedStrings splits NUL-padded |S or UCS-4 <U elements.
func fixedStrings(b []byte, dt DType) []string {
	n := len(b) / dt.Size
	out := make([]string, n)
	for i := range out {
		e := b[i*dt.Size : (i+1)*dt.Size]
		if dt.Kind == Bytes {
			out[i] = string(bytes.TrimRight(e, "\x00"))
			continue
		}
		var sb strings.Builder
		for j := 0; j+4 <= len(e); j += 4 {
			r := rune(binary.LittleEndian.Uint32(e[j:]))
			if r == 0 {
				break
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			sb.WriteRune(r)
		}
		out[i] = sb.String()
	}
	return out
}
