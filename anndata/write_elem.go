package anndata

// This file writes the elements of an AnnData store other than X, each with
// the encoding-type and encoding-version that anndata 0.8 writes and reads:
// dataframes, categoricals, dense and sparse matrices, dicts and scalars.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/scbench/scbench/anndata/zarr"
	"github.com/scbench/scbench/sparse"
	"gonum.org/v1/gonum/blas/blas32"
)

// writeKey checks that name can be an element of a group: one path
// component that is not hidden (zarr's metadata files start with a dot).
func writeKey(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("name %q contains a path separator or NUL", name)
	case name[0] == '.':
		return fmt.Errorf("name %q starts with a dot", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	}
	return nil
}

// writeBytes returns v as little-endian bytes, sharing v's memory where the
// machine is little-endian.
func writeBytes[T int8 | int16 | int32 | int64 | float32 | float64](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	if writeLittleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(v[0])))
	}
	b, _ := binary.Append(nil, binary.LittleEndian, v)
	return b
}

// indptrBytes returns a CSR matrix's row pointers as scipy would store
// them: int32 while the number of values fits (scipy keeps the index type
// of indices and indptr alike, and parts of it, such as the connected
// components scanpy's neighbors computes, take only int32), int64 beyond.
func indptrBytes(ptr []int64) (dtype string, b []byte) {
	if len(ptr) == 0 || ptr[len(ptr)-1] <= math.MaxInt32 {
		p32 := make([]int32, len(ptr))
		for i, p := range ptr {
			p32[i] = int32(p)
		}
		return "<i4", writeBytes(p32)
	}
	return "<i8", writeBytes(ptr)
}

func writeBools(v []bool) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		if x {
			b[i] = 1
		}
	}
	return b
}

// writeArray writes a numeric array in chunks of whole rows holding about
// ChunkElems elements.
func (w *Writer) writeArray(dir, dtype string, raw []byte, shape []int64, attrs map[string]any) error {
	chunk := make([]int64, len(shape))
	inner := int64(1)
	for i := 1; i < len(shape); i++ {
		chunk[i] = max(shape[i], 1)
		inner *= chunk[i]
	}
	if len(shape) > 0 {
		chunk[0] = max(1, min(shape[0], int64(w.chunkElems)/inner))
	}
	return zarr.WriteArray(dir, zarr.ArraySpec{
		Shape: shape, ChunkShape: chunk, DType: dtype, Compressor: w.comp, Attrs: attrs,
	}, raw, w.workers)
}

func (w *Writer) writeStrings(dir string, vals []string) error {
	return zarr.WriteStringsWith(dir, vals, zarr.ArraySpec{
		Compressor: w.comp, Attrs: writeEncoding("string-array", "0.2.0"),
	})
}

// writeFrame writes the dataframe group (obs or var) with n rows; a nil f
// is anndata's default, an index "0", "1", ... and no columns.
func (w *Writer) writeFrame(group string, f *Frame, n int) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("anndata: writing %s of %s: %s", group, w.path, fmt.Sprintf(format, args...))
	}
	if f == nil {
		f = &Frame{Index: make([]string, n)}
		for i := range f.Index {
			f.Index[i] = strconv.Itoa(i)
		}
	}
	indexName := f.IndexName
	if indexName == "" {
		indexName = "_index"
	}
	if err := writeKey(indexName); err != nil {
		return fail("index: %v", err)
	}
	if len(f.Index) != n {
		return fail("index has %d names, want %d", len(f.Index), n)
	}
	order := make([]string, len(f.Columns))
	seen := map[string]bool{indexName: true}
	for i, c := range f.Columns {
		if err := writeKey(c.Name); err != nil {
			return fail("column %d: %v", i, err)
		}
		if c.Name == "_index" {
			return fail("column name %q is reserved by anndata", c.Name)
		}
		if seen[c.Name] {
			return fail("column %q appears twice (or is the index's name)", c.Name)
		}
		seen[c.Name] = true
		order[i] = c.Name
	}
	dir := filepath.Join(w.tmp, group)
	if err := os.RemoveAll(dir); err != nil {
		return fail("%v", err)
	}
	attrs := writeEncoding("dataframe", "0.2.0")
	attrs["_index"] = indexName
	attrs["column-order"] = order
	if err := zarr.CreateGroup(dir, attrs); err != nil {
		return fail("%v", err)
	}
	if err := w.writeStrings(filepath.Join(dir, indexName), f.Index); err != nil {
		return fail("index: %v", err)
	}
	for _, c := range f.Columns {
		if err := w.writeColumn(filepath.Join(dir, c.Name), c.Values, n); err != nil {
			return fail("column %q: %v", c.Name, err)
		}
	}
	return nil
}

// writeColumn writes one dataframe column of n values.
func (w *Writer) writeColumn(dir string, values any, n int) error {
	length := func(k int) error {
		if k != n {
			return fmt.Errorf("%d values, want %d", k, n)
		}
		return nil
	}
	array := writeEncoding("array", "0.2.0")
	shape := []int64{int64(n)}
	switch v := values.(type) {
	case []float32:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeArray(dir, "<f4", writeBytes(v), shape, array)
	case []float64:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeArray(dir, "<f8", writeBytes(v), shape, array)
	case []int32:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeArray(dir, "<i4", writeBytes(v), shape, array)
	case []int64:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeArray(dir, "<i8", writeBytes(v), shape, array)
	case []bool:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeArray(dir, "|b1", writeBools(v), shape, array)
	case []string:
		if err := length(len(v)); err != nil {
			return err
		}
		return w.writeStrings(dir, v)
	case *Categorical:
		if v == nil {
			return fmt.Errorf("nil *Categorical")
		}
		if err := length(len(v.Codes)); err != nil {
			return err
		}
		return w.writeCategorical(dir, v)
	case Categorical:
		if err := length(len(v.Codes)); err != nil {
			return err
		}
		return w.writeCategorical(dir, &v)
	}
	return fmt.Errorf("values of type %T not supported (want []float32, []float64, []int32, []int64, []bool, []string or *Categorical)", values)
}

// writeCategorical writes a pandas Categorical: codes in the smallest
// integer type pandas itself would pick, categories as a string array.
func (w *Writer) writeCategorical(dir string, c *Categorical) error {
	nc := len(c.Categories)
	seen := make(map[string]struct{}, nc)
	for _, s := range c.Categories {
		if _, dup := seen[s]; dup {
			return fmt.Errorf("category %q appears twice (pandas needs unique categories)", s)
		}
		seen[s] = struct{}{}
	}
	for i, k := range c.Codes {
		if k < -1 || int(k) >= nc {
			return fmt.Errorf("code %d at row %d out of range -1 to %d", k, i, nc-1)
		}
	}
	attrs := writeEncoding("categorical", "0.2.0")
	attrs["ordered"] = c.Ordered
	if err := zarr.CreateGroup(dir, attrs); err != nil {
		return err
	}
	codes, shape, array := filepath.Join(dir, "codes"), []int64{int64(len(c.Codes))}, writeEncoding("array", "0.2.0")
	var err error
	switch {
	case nc < 1<<7-1: // pandas' coerce_indexer_dtype bounds
		v := make([]int8, len(c.Codes))
		for i, k := range c.Codes {
			v[i] = int8(k)
		}
		err = w.writeArray(codes, "|i1", writeBytes(v), shape, array)
	case nc < 1<<15-1:
		v := make([]int16, len(c.Codes))
		for i, k := range c.Codes {
			v[i] = int16(k)
		}
		err = w.writeArray(codes, "<i2", writeBytes(v), shape, array)
	default:
		err = w.writeArray(codes, "<i4", writeBytes(c.Codes), shape, array)
	}
	if err != nil {
		return err
	}
	return w.writeStrings(filepath.Join(dir, "categories"), c.Categories)
}

// writeDense writes m (n rows) as group[name], a 2-D float32 array.
func (w *Writer) writeDense(group, name string, m blas32.General, n int) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("anndata: writing %s[%q] of %s: %s", group, name, w.path, fmt.Sprintf(format, args...))
	}
	if err := writeKey(name); err != nil {
		return fail("%v", err)
	}
	if m.Rows != n || m.Cols < 0 {
		return fail("matrix is %d x %d, want %d rows", m.Rows, m.Cols, n)
	}
	if m.Rows > 0 && m.Cols > 0 && (m.Stride < m.Cols || len(m.Data) < (m.Rows-1)*m.Stride+m.Cols) {
		return fail("stride %d and %d values do not hold %d x %d", m.Stride, len(m.Data), m.Rows, m.Cols)
	}
	packed := m.Data
	if m.Rows*m.Cols == 0 {
		packed = nil
	} else if m.Stride != m.Cols {
		packed = make([]float32, 0, m.Rows*m.Cols)
		for i := range m.Rows {
			packed = append(packed, m.Data[i*m.Stride:i*m.Stride+m.Cols]...)
		}
	} else {
		packed = packed[:m.Rows*m.Cols]
	}
	dir := filepath.Join(w.tmp, group, name)
	if err := os.RemoveAll(dir); err != nil {
		return fail("%v", err)
	}
	if err := w.writeArray(dir, "<f4", writeBytes(packed), []int64{int64(m.Rows), int64(m.Cols)}, writeEncoding("array", "0.2.0")); err != nil {
		return fail("%v", err)
	}
	return nil
}

// writeGraph writes m (n x n) as group[name], a csr_matrix.
func (w *Writer) writeGraph(group, name string, m *sparse.CSR, n int) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("anndata: writing %s[%q] of %s: %s", group, name, w.path, fmt.Sprintf(format, args...))
	}
	if err := writeKey(name); err != nil {
		return fail("%v", err)
	}
	if m == nil {
		return fail("nil matrix")
	}
	if m.Rows != n || m.Cols != n {
		return fail("matrix is %d x %d, want %d x %d", m.Rows, m.Cols, n, n)
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	dir := filepath.Join(w.tmp, group, name)
	if err := os.RemoveAll(dir); err != nil {
		return fail("%v", err)
	}
	attrs := writeEncoding("csr_matrix", "0.1.0")
	attrs["shape"] = []int{m.Rows, m.Cols}
	if err := zarr.CreateGroup(dir, attrs); err != nil {
		return fail("%v", err)
	}
	nnz := int64(len(m.Data))
	if err := w.writeArray(filepath.Join(dir, "data"), "<f4", writeBytes(m.Data), []int64{nnz}, nil); err != nil {
		return fail("%v", err)
	}
	if err := w.writeArray(filepath.Join(dir, "indices"), "<i4", writeBytes(m.Indices), []int64{nnz}, nil); err != nil {
		return fail("%v", err)
	}
	dt, ptr := indptrBytes(m.Indptr)
	if err := w.writeArray(filepath.Join(dir, "indptr"), dt, ptr, []int64{int64(len(m.Indptr))}, nil); err != nil {
		return fail("%v", err)
	}
	return nil
}

// writeDict writes d as a dict group at dir; path names it in errors.
func (w *Writer) writeDict(dir, path string, d map[string]any) error {
	if err := zarr.CreateGroup(dir, writeEncoding("dict", "0.1.0")); err != nil {
		return err
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := fmt.Sprintf("%s[%q]", path, k)
		if err := writeKey(k); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		if err := w.writeValue(filepath.Join(dir, k), p, d[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeValue writes one value of a dict.
func (w *Writer) writeValue(dir, path string, value any) error {
	var err error
	array := writeEncoding("array", "0.2.0")
	switch v := value.(type) {
	case map[string]any:
		return w.writeDict(dir, path, v)
	case string:
		err = writeStringScalar(dir, v)
	case bool:
		err = writeScalar(dir, "|b1", writeBools([]bool{v}))
	case int:
		err = writeScalar(dir, "<i8", writeBytes([]int64{int64(v)}))
	case int64:
		err = writeScalar(dir, "<i8", writeBytes([]int64{v}))
	case int32:
		err = writeScalar(dir, "<i4", writeBytes([]int32{v}))
	case float32:
		err = writeScalar(dir, "<f4", writeBytes([]float32{v}))
	case float64:
		err = writeScalar(dir, "<f8", writeBytes([]float64{v}))
	case []float32:
		err = w.writeArray(dir, "<f4", writeBytes(v), []int64{int64(len(v))}, array)
	case []float64:
		err = w.writeArray(dir, "<f8", writeBytes(v), []int64{int64(len(v))}, array)
	case []int32:
		err = w.writeArray(dir, "<i4", writeBytes(v), []int64{int64(len(v))}, array)
	case []int64:
		err = w.writeArray(dir, "<i8", writeBytes(v), []int64{int64(len(v))}, array)
	case []bool:
		err = w.writeArray(dir, "|b1", writeBools(v), []int64{int64(len(v))}, array)
	case []string:
		err = w.writeStrings(dir, v)
	default:
		err = fmt.Errorf("type %T not supported (want map[string]any, string, bool, int, int32, int64, float32, float64, or a slice of float32, float64, int32, int64, bool or string)", value)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeScalar writes a numpy scalar as anndata does: a 0-d array,
// uncompressed, encoding-type "numeric-scalar".
func writeScalar(dir, dtype string, raw []byte) error {
	return zarr.WriteArray(dir, zarr.ArraySpec{
		Shape: []int64{}, ChunkShape: []int64{}, DType: dtype,
		Attrs: writeEncoding("numeric-scalar", "0.2.0"),
	}, raw, 1)
}

// writeStringScalar writes s as anndata 0.8 does: np.array(s), a 0-d
// fixed-width UCS-4 ("<U") array, encoding-type "string".
func writeStringScalar(dir, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	n := max(utf8.RuneCountInString(s), 1)
	raw := make([]byte, 0, 4*n)
	for _, r := range s {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(r))
	}
	raw = append(raw, make([]byte, 4*n-len(raw))...)
	return zarr.WriteArray(dir, zarr.ArraySpec{
		Shape: []int64{}, ChunkShape: []int64{}, DType: "<U" + strconv.Itoa(n),
		Attrs: writeEncoding("string", "0.2.0"),
	}, raw, 1)
}
