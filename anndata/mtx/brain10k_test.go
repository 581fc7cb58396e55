package mtx

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/internal/shareddata"
)

// TestConvertBrain10k writes the shared brain10k counts (real 10x data,
// 10,000 cells x 1,000 genes) out as a Cell Ranger 3 directory, converts it
// back and checks that X, obs and var come back unchanged.
func TestConvertBrain10k(t *testing.T) {
	src := shareddata.Path(t, "data/brain10k/brain10k.zarr")
	f, err := anndata.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]refEntry
	r := f.RowChunks(context.Background(), anndata.StreamOptions{})
	for r.Next() {
		c := r.Chunk()
		for k := range c.Rows {
			idx, val := c.Row(k)
			row := make([]refEntry, len(idx))
			for j := range idx {
				if val[j] != float32(int64(val[j])) {
					t.Fatalf("row %d holds %v, not a count", len(want), val[j])
				}
				row[j] = refEntry{idx[j], val[j]}
			}
			want = append(want, row)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	obs, err := f.Obs()
	if err != nil {
		t.Fatal(err)
	}
	vr, err := f.Var()
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(vr.Columns, func(c anndata.Column) bool { return c.Name == "gene_ids" })
	if k < 0 {
		t.Fatal("brain10k var has no gene_ids")
	}
	ids := columnStrings(t, vr.Columns[k])

	// Cell Ranger's layout: genes x cells, sorted by cell, then gene.
	dir := t.TempDir()
	var m bytes.Buffer
	fmt.Fprintf(&m, "%%%%MatrixMarket matrix coordinate integer general\n%%metadata_json: {}\n%d %d %d\n", f.NVar, f.NObs, f.NNZ)
	for c, row := range want {
		for _, e := range row {
			fmt.Fprintf(&m, "%d %d %d\n", e.gene+1, c+1, int64(e.val))
		}
	}
	writeFile(t, filepath.Join(dir, "matrix.mtx.gz"), m.Bytes(), true)
	var ft, bc bytes.Buffer
	for i, name := range vr.Index {
		fmt.Fprintf(&ft, "%s\t%s\tGene Expression\n", ids[i], name)
	}
	for _, b := range obs.Index {
		bc.WriteString(b + "\n")
	}
	writeFile(t, filepath.Join(dir, "features.tsv.gz"), ft.Bytes(), true)
	writeFile(t, filepath.Join(dir, "barcodes.tsv.gz"), bc.Bytes(), true)

	out := filepath.Join(t.TempDir(), "brain10k.zarr")
	st, err := Convert(context.Background(), dir, out, ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v (%.0f MB/s of text)", st, st.TextMBps())
	if !st.Sorted || st.Passes != 1 || st.NNZ != f.NNZ || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
	g, err := anndata.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]refEntry
	r = g.RowChunks(context.Background(), anndata.StreamOptions{Rows: 3333})
	for r.Next() {
		c := r.Chunk()
		for k := range c.Rows {
			idx, val := c.Row(k)
			row := make([]refEntry, len(idx))
			for j := range idx {
				row[j] = refEntry{idx[j], val[j]}
			}
			got = append(got, row)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := compareRows(got, want); err != nil {
		t.Fatal(err)
	}
	obs2, err := g.Obs()
	if err != nil {
		t.Fatal(err)
	}
	vr2, err := g.Var()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(obs2.Index, obs.Index) {
		t.Error("obs index differs")
	}
	if !slices.Equal(vr2.Index, MakeUnique(vr.Index)) {
		t.Error("var index differs")
	}
	k = slices.IndexFunc(vr2.Columns, func(c anndata.Column) bool { return c.Name == "gene_ids" })
	if k < 0 || !slices.Equal(columnStrings(t, vr2.Columns[k]), ids) {
		t.Error("gene_ids differ")
	}
}
