package anndata

import (
	"fmt"
	"strings"

	"github.com/scbench/scbench/anndata/zarr"
)

// Info summarizes a store from its metadata, for `scbench info`.
type Info struct {
	Path       string       `json:"path"`
	Cells      int          `json:"cells"`
	Genes      int          `json:"genes"`
	NNZ        int64        `json:"nnz"` // -1 when X is dense
	ZarrFormat int          `json:"zarr_format"`
	XEncoding  string       `json:"x_encoding"`
	X          []ArrayInfo  `json:"x"` // data, indices, indptr; or the dense X
	ObsIndex   string       `json:"obs_index"`
	VarIndex   string       `json:"var_index"`
	Obs        []ColumnInfo `json:"obs"`
	Var        []ColumnInfo `json:"var"`
}

// ArrayInfo describes one stored array.
type ArrayInfo struct {
	Name        string  `json:"name"` // e.g. "X/data"
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	Chunks      []int64 `json:"chunks"`
	InnerChunks []int64 `json:"inner_chunks,omitempty"` // sharded arrays
	Codec       string  `json:"codec"`
}

// ColumnInfo describes one dataframe column.
type ColumnInfo struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`  // KindNumeric, KindBool, KindString, KindCategorical, ...
	DType      string `json:"dtype"` // of the values, or of a categorical's codes
	Categories int    `json:"n_categories,omitempty"`
	Ordered    bool   `json:"ordered,omitempty"`
}

func arrayInfo(a *zarr.Array) ArrayInfo {
	return ArrayInfo{Name: a.Name, DType: a.DType.String(), Shape: a.Shape, Chunks: a.ChunkShape, InnerChunks: a.InnerChunkShape, Codec: a.CodecSummary()}
}

// Info describes the store. It reads metadata only.
func (f *File) Info() (*Info, error) {
	in := &Info{Path: f.Path, Cells: f.NObs, Genes: f.NVar, NNZ: f.NNZ, ZarrFormat: f.ZarrFormat, XEncoding: f.XEncoding}
	if f.xDense != nil {
		in.X = []ArrayInfo{arrayInfo(f.xDense)}
	} else {
		for _, a := range []*zarr.Array{f.xData, f.xIndices, f.xIndptr} {
			in.X = append(in.X, arrayInfo(a))
		}
	}
	for _, fr := range []struct {
		name  string
		index *string
		cols  *[]ColumnInfo
	}{{"obs", &in.ObsIndex, &in.Obs}, {"var", &in.VarIndex, &in.Var}} {
		if !f.root.Has(fr.name) {
			continue
		}
		_, index, cols, err := f.frameColumns(fr.name)
		if err != nil {
			return nil, err
		}
		*fr.index = index.Name
		*fr.cols = []ColumnInfo{}
		for _, c := range cols {
			ci := ColumnInfo{Name: c.name, Kind: c.kind, DType: c.values.DType.String(), Ordered: c.ordered}
			if c.categories != nil {
				ci.Categories = int(c.categories.Shape[0])
			}
			*fr.cols = append(*fr.cols, ci)
		}
	}
	return in, nil
}

// String formats the summary as text, one fact per line.
func (in *Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", in.Path)
	nnz := "dense"
	if in.NNZ >= 0 {
		nnz = fmt.Sprintf("%d non-zeros (%.2f%%)", in.NNZ, 100*float64(in.NNZ)/max(1, float64(in.Cells)*float64(in.Genes)))
	}
	fmt.Fprintf(&b, "  %d cells x %d genes, %s\n", in.Cells, in.Genes, nnz)
	fmt.Fprintf(&b, "  zarr format %d, X as %s\n", in.ZarrFormat, in.XEncoding)
	for _, a := range in.X {
		inner := ""
		if a.InnerChunks != nil {
			inner = fmt.Sprintf(" (inner %v)", a.InnerChunks)
		}
		fmt.Fprintf(&b, "  %-10s %-4s shape %v chunks %v%s %s\n", a.Name, a.DType, a.Shape, a.Chunks, inner, a.Codec)
	}
	for _, fr := range []struct {
		name, index string
		cols        []ColumnInfo
	}{{"obs", in.ObsIndex, in.Obs}, {"var", in.VarIndex, in.Var}} {
		fmt.Fprintf(&b, "  %s: index %s, %d columns\n", fr.name, fr.index, len(fr.cols))
		for _, c := range fr.cols {
			fmt.Fprintf(&b, "    %s: %s", c.Name, c.Kind)
			switch c.Kind {
			case KindCategorical:
				fmt.Fprintf(&b, " (%d categories", c.Categories)
				if c.Ordered {
					b.WriteString(", ordered")
				}
				b.WriteString(")")
			case KindNumeric, KindNullableInteger:
				fmt.Fprintf(&b, " %s", c.DType)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
