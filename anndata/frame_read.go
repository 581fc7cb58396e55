package anndata

import (
	"fmt"
	"math"
	"strconv"

	"github.com/scbench/scbench/anndata/zarr"
)

// Obs reads the obs dataframe: one row per cell.
func (f *File) Obs() (*Frame, error) { return f.readFrame("obs", f.NObs) }

// Var reads the var dataframe: one row per gene.
func (f *File) Var() (*Frame, error) { return f.readFrame("var", f.NVar) }

// Column kinds, as Info reports them.
const (
	KindNumeric         = "numeric"
	KindBool            = "bool"
	KindString          = "string"
	KindCategorical     = "categorical"
	KindNullableInteger = "nullable-integer"
	KindNullableBoolean = "nullable-boolean"
	KindNullableString  = "nullable-string"
)

// colSpec is a dataframe column found from metadata.
type colSpec struct {
	name, kind string
	values     *zarr.Array // values, or the codes of a categorical
	categories *zarr.Array
	mask       *zarr.Array // true where a nullable value is missing
	ordered    bool
}

// frameColumns opens a dataframe group and finds its index and columns.
func (f *File) frameColumns(name string) (g *zarr.Group, index *zarr.Array, cols []*colSpec, err error) {
	g, err = f.root.Group(name)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("anndata: %w", err)
	}
	if enc, _ := g.Attrs()["encoding-type"].(string); enc != "dataframe" && enc != "" {
		return nil, nil, nil, f.errf("%s has encoding-type %q, want \"dataframe\"", name, enc)
	}
	if index, err = g.Array(indexKey(g)); err != nil {
		return nil, nil, nil, fmt.Errorf("anndata: %s index: %w", name, err)
	}
	order, _ := g.Attrs()["column-order"].([]any)
	for _, o := range order {
		col, ok := o.(string)
		if !ok {
			return nil, nil, nil, f.errf("%s column-order holds %v, not a name", name, o)
		}
		c, err := f.column(g, name, col)
		if err != nil {
			return nil, nil, nil, err
		}
		cols = append(cols, c)
	}
	return g, index, cols, nil
}

// column works out how a column is stored, from metadata only.
func (f *File) column(g *zarr.Group, frame, name string) (*colSpec, error) {
	where := frame + "/" + name
	if !g.Has(name) {
		return nil, f.errf("column %s is listed in column-order but missing", where)
	}
	c := &colSpec{name: name}
	if cg, err := g.Group(name); err == nil {
		enc, _ := cg.Attrs()["encoding-type"].(string)
		parts := map[string][]string{
			"categorical":           {"codes", "categories"},
			"nullable-integer":      {"values", "mask"},
			"nullable-boolean":      {"values", "mask"},
			"nullable-string-array": {"values", "mask"},
		}[enc]
		if parts == nil {
			return nil, f.errf("column %s is a group with encoding-type %q (supported: categorical, nullable-integer, nullable-boolean, nullable-string-array)", where, enc)
		}
		arrs := make([]*zarr.Array, 2)
		for i, p := range parts {
			if arrs[i], err = cg.Array(p); err != nil {
				return nil, fmt.Errorf("anndata: column %s: %w", where, err)
			}
		}
		switch enc {
		case "categorical":
			c.kind, c.values, c.categories = KindCategorical, arrs[0], arrs[1]
			c.ordered, _ = cg.Attrs()["ordered"].(bool)
		case "nullable-integer":
			c.kind, c.values, c.mask = KindNullableInteger, arrs[0], arrs[1]
		case "nullable-boolean":
			c.kind, c.values, c.mask = KindNullableBoolean, arrs[0], arrs[1]
		default:
			c.kind, c.values, c.mask = KindNullableString, arrs[0], arrs[1]
		}
		return c, c.check(f, where)
	}
	a, err := g.Array(name)
	if err != nil {
		return nil, fmt.Errorf("anndata: column %s: %w", where, err)
	}
	c.values = a
	if cat, ok := a.Attrs["categories"].(string); ok {
		// anndata 0.7: codes here, categories in a sibling array such as
		// __categories/<name>, named by this attribute.
		if c.categories, err = g.Array(cat); err != nil {
			return nil, fmt.Errorf("anndata: column %s: categories (anndata 0.7 layout): %w", where, err)
		}
		c.kind = KindCategorical
		c.ordered, _ = c.categories.Attrs["ordered"].(bool)
		return c, c.check(f, where)
	}
	switch a.DType.Kind {
	case zarr.String, zarr.Bytes, zarr.Unicode:
		c.kind = KindString
	case zarr.Bool:
		c.kind = KindBool
	default:
		c.kind = KindNumeric
	}
	return c, c.check(f, where)
}

// check validates shapes and dtypes.
func (c *colSpec) check(f *File, where string) error {
	for _, a := range []*zarr.Array{c.values, c.categories, c.mask} {
		if a != nil && len(a.Shape) != 1 {
			return f.errf("column %s: %s has shape %v, want 1-D", where, a.Name, a.Shape)
		}
	}
	switch {
	case c.kind == KindCategorical && c.values.DType.Kind != zarr.Int && c.values.DType.Kind != zarr.Uint:
		return f.errf("column %s: categorical codes have dtype %s, want integers", where, c.values.DType)
	case c.mask != nil && c.mask.Shape[0] != c.values.Shape[0]:
		return f.errf("column %s: mask has %d entries, values %d", where, c.mask.Shape[0], c.values.Shape[0])
	case c.kind == KindNullableString && !isString(c.values.DType):
		return f.errf("column %s: nullable-string values have dtype %s", where, c.values.DType)
	case c.kind != KindNullableString && c.kind != KindString && !c.values.DType.Numeric():
		return f.errf("column %s (%s) has dtype %s, want numbers", where, c.kind, c.values.DType)
	}
	return nil
}

func isString(d zarr.DType) bool {
	return d.Kind == zarr.String || d.Kind == zarr.Bytes || d.Kind == zarr.Unicode
}

func (f *File) readFrame(name string, n int) (*Frame, error) {
	if !f.root.Has(name) {
		return nil, f.errf("no %s dataframe", name)
	}
	_, index, cols, err := f.frameColumns(name)
	if err != nil {
		return nil, err
	}
	fr := &Frame{IndexName: index.Name[len(name)+1:]}
	if fr.Index, err = readStrings(index); err != nil {
		return nil, fmt.Errorf("anndata: %s index: %w", name, err)
	}
	if len(fr.Index) != n {
		return nil, f.errf("%s index has %d entries, want %d", name, len(fr.Index), n)
	}
	for _, c := range cols {
		where := name + "/" + c.name
		if got := c.values.Shape[0]; got != int64(n) {
			return nil, f.errf("column %s has %d rows, want %d", where, got, n)
		}
		v, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("anndata: column %s: %w", where, err)
		}
		fr.Columns = append(fr.Columns, Column{Name: c.name, Values: v})
	}
	return fr, nil
}

// read loads a column's values as one of the types Column documents.
// Nullable integers and booleans become []float64 with NaN where missing
// (as pandas converts them to float); nullable strings become []string
// with "" where missing.
func (c *colSpec) read() (any, error) {
	switch c.kind {
	case KindString:
		return c.values.ReadStrings()
	case KindBool:
		v := make([]bool, c.values.Shape[0])
		return v, c.values.ReadAll(v)
	case KindNumeric:
		return readNumeric(c.values)
	case KindCategorical:
		codes := make([]int32, c.values.Shape[0])
		if err := c.values.ReadAll(codes); err != nil {
			return nil, err
		}
		cats, err := readStrings(c.categories)
		if err != nil {
			return nil, err
		}
		for i, k := range codes {
			if k < -1 || int(k) >= len(cats) {
				return nil, fmt.Errorf("code %d at row %d is outside [-1, %d) for %d categories", k, i, len(cats), len(cats))
			}
		}
		return &Categorical{Codes: codes, Categories: cats, Ordered: c.ordered}, nil
	}
	mask := make([]bool, c.mask.Shape[0])
	if err := c.mask.ReadAll(mask); err != nil {
		return nil, err
	}
	if c.kind == KindNullableString {
		v, err := c.values.ReadStrings()
		if err != nil {
			return nil, err
		}
		for i, m := range mask {
			if m {
				v[i] = ""
			}
		}
		return v, nil
	}
	v := make([]float64, c.values.Shape[0])
	if err := c.values.ReadAll(v); err != nil {
		return nil, err
	}
	for i, m := range mask {
		if m {
			v[i] = math.NaN()
		}
	}
	return v, nil
}

// readNumeric reads a numeric array into the narrowest of []float32,
// []float64, []int32, []int64 that holds its dtype.
func readNumeric(a *zarr.Array) (any, error) {
	n := a.Shape[0]
	var v any
	switch d := a.DType; {
	case d.Kind == zarr.Float && d.Size == 4:
		v = make([]float32, n)
	case d.Kind == zarr.Float:
		v = make([]float64, n)
	case d.Kind == zarr.Int && d.Size <= 4, d.Kind == zarr.Uint && d.Size <= 2:
		v = make([]int32, n)
	default:
		v = make([]int64, n)
	}
	return v, a.ReadAll(v)
}

// readStrings reads a string array, or formats a numeric one (an integer
// index or numeric categories) as text.
func readStrings(a *zarr.Array) ([]string, error) {
	if isString(a.DType) {
		return a.ReadStrings()
	}
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("%s has shape %v, want 1-D", a.Name, a.Shape)
	}
	v := make([]float64, a.Shape[0])
	if err := a.ReadAll(v); err != nil {
		return nil, err
	}
	s := make([]string, len(v))
	for i, x := range v {
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			s[i] = strconv.FormatInt(int64(x), 10)
		} else {
			s[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return s, nil
}
