package anndata

import (
	"errors"
	"fmt"
	"math"

	"github.com/scbench/scbench/anndata/zarr"
)

// StreamOptions configures RowChunks.
type StreamOptions struct {
	Rows     int // rows per chunk; 0 means 20,000
	Workers  int // decode goroutines; 0 means GOMAXPROCS
	Prefetch int // chunks decoded ahead of the consumer; 0 means 2
}

// File is an opened AnnData store. Opening reads metadata only.
type File struct {
	Path       string
	ZarrFormat int // 2 or 3
	NObs, NVar int
	NNZ        int64  // stored values of X; -1 when X is dense
	XEncoding  string // "csr_matrix" or "array"

	root *zarr.Group
	// X as CSR: data, indices, indptr; or dense: a 2-D array.
	xData, xIndices, xIndptr *zarr.Array
	xDense                   *zarr.Array
}

// Open opens the AnnData zarr store at path (Zarr format 2 or 3, anndata
// 0.7 or later). It reads metadata only and checks that the shapes of X,
// obs and var agree.
func Open(path string) (*File, error) {
	root, err := zarr.Open(path)
	if err != nil {
		if errors.Is(err, zarr.ErrNotZarr) {
			return nil, fmt.Errorf("anndata: %s is not an AnnData store: %w", path, err)
		}
		return nil, fmt.Errorf("anndata: %w", err)
	}
	f := &File{Path: path, ZarrFormat: root.Format(), root: root}
	switch enc, _ := root.Attrs()["encoding-type"].(string); enc {
	case "anndata":
	case "":
		// anndata before 0.8 wrote no encoding-type on the root.
		if !root.Has("X") && !root.Has("obs") {
			return nil, fmt.Errorf("anndata: %s is not an AnnData store: the root group has no encoding-type \"anndata\" and no X or obs", path)
		}
	default:
		return nil, fmt.Errorf("anndata: %s is not an AnnData store: its root encoding-type is %q, want \"anndata\"", path, enc)
	}
	if err := f.openX(); err != nil {
		return nil, err
	}
	for _, ax := range []struct {
		name string
		n    int
	}{{"obs", f.NObs}, {"var", f.NVar}} {
		if err := f.checkIndexLen(ax.name, ax.n); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// errf formats an error that names the store.
func (f *File) errf(format string, args ...any) error {
	return fmt.Errorf("anndata: %s: "+format, append([]any{f.Path}, args...)...)
}

func (f *File) openX() error {
	if !f.root.Has("X") {
		return f.errf("no X matrix (the store has no X group or array)")
	}
	if g, err := f.root.Group("X"); err == nil {
		return f.openSparseX(g)
	}
	a, err := f.root.Array("X")
	if err != nil {
		return fmt.Errorf("anndata: %w", err)
	}
	if len(a.Shape) != 2 || !a.DType.Numeric() {
		return f.errf("X is a %d-D %s array; want a 2-D numeric matrix", len(a.Shape), a.DType)
	}
	if a.Shape[0] > math.MaxInt32*64 || a.Shape[1] > math.MaxInt32 {
		return f.errf("X shape %v is too large", a.Shape)
	}
	f.XEncoding, f.xDense = "array", a
	f.NObs, f.NVar, f.NNZ = int(a.Shape[0]), int(a.Shape[1]), -1
	return nil
}

func (f *File) openSparseX(g *zarr.Group) error {
	attrs := g.Attrs()
	enc, _ := attrs["encoding-type"].(string)
	shapeAttr := attrs["shape"]
	if enc == "" { // anndata 0.7
		if h, _ := attrs["h5sparse_format"].(string); h != "" {
			enc, shapeAttr = h+"_matrix", attrs["h5sparse_shape"]
		}
	}
	switch enc {
	case "csr_matrix":
	case "csc_matrix":
		return f.errf("X is stored as csc_matrix (column-major); scbench streams rows: convert it with anndata, e.g. adata.X = adata.X.tocsr(); adata.write_zarr(...)")
	default:
		return f.errf("X is a group with encoding-type %q; want csr_matrix (or a dense array)", enc)
	}
	shape, ok := intPair(shapeAttr)
	if !ok {
		return f.errf("X has no valid shape attribute (got %v)", shapeAttr)
	}
	if shape[1] > math.MaxInt32 {
		return f.errf("X has %d columns; column indices must fit int32", shape[1])
	}
	f.XEncoding, f.NObs, f.NVar = enc, int(shape[0]), int(shape[1])
	arrs := make([]*zarr.Array, 3)
	for i, name := range []string{"data", "indices", "indptr"} {
		a, err := g.Array(name)
		if err != nil {
			return fmt.Errorf("anndata: X/%s: %w", name, err)
		}
		if len(a.Shape) != 1 {
			return f.errf("X/%s has shape %v; want 1-D", name, a.Shape)
		}
		integral := a.DType.Kind == zarr.Int || a.DType.Kind == zarr.Uint
		if !a.DType.Numeric() || (name != "data" && !integral) {
			return f.errf("X/%s has dtype %s; want %s", name, a.DType, map[bool]string{true: "numbers", false: "integers"}[name == "data"])
		}
		arrs[i] = a
	}
	f.xData, f.xIndices, f.xIndptr = arrs[0], arrs[1], arrs[2]
	if n := f.xIndptr.Shape[0]; n != int64(f.NObs)+1 {
		return f.errf("X/indptr has %d entries but X has %d rows (want rows+1)", n, f.NObs)
	}
	if nd, ni := f.xData.Shape[0], f.xIndices.Shape[0]; nd != ni {
		return f.errf("X/data has %d values but X/indices has %d", nd, ni)
	}
	f.NNZ = f.xData.Shape[0]
	return nil
}

// intPair reads a JSON [rows, cols] attribute.
func intPair(v any) ([2]int64, bool) {
	var out [2]int64
	s, ok := v.([]any)
	if !ok || len(s) != 2 {
		return out, false
	}
	for i, e := range s {
		x, ok := e.(float64)
		if !ok || x < 0 || x != math.Trunc(x) || x > 1<<53 {
			return out, false
		}
		out[i] = int64(x)
	}
	return out, true
}

// checkIndexLen checks, from metadata, that a dataframe's index has one
// entry per row of X.
func (f *File) checkIndexLen(name string, n int) error {
	if !f.root.Has(name) {
		return nil
	}
	g, err := f.root.Group(name)
	if err != nil {
		return fmt.Errorf("anndata: %w", err)
	}
	idx, err := g.Array(indexKey(g))
	if err != nil {
		return fmt.Errorf("anndata: %s index: %w", name, err)
	}
	if len(idx.Shape) != 1 || idx.Shape[0] != int64(n) {
		what := map[string]string{"obs": "n_obs (rows of X)", "var": "n_vars (columns of X)"}[name]
		return f.errf("%s index %s has shape %v but %s is %d", name, idx.Name, idx.Shape, what, n)
	}
	return nil
}

// indexKey returns the name of a dataframe group's index array.
func indexKey(g *zarr.Group) string {
	if s, ok := g.Attrs()["_index"].(string); ok && s != "" {
		return s
	}
	return "_index"
}
