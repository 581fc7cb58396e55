package synth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/sparse"
)

func smallParams() Params {
	p := DefaultParams()
	p.Cells, p.Genes, p.Seed = 2345, 1501, 5
	p.ChunkRows, p.Workers = 301, 3
	return p
}

func TestGenerate(t *testing.T) {
	p := smallParams()
	out := filepath.Join(t.TempDir(), "synth.zarr")
	var calls []int
	st, err := Generate(context.Background(), out, p, func(done, total int) {
		if total != p.Cells {
			t.Errorf("progress total %d, want %d", total, p.Cells)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Chunk(0, p.Cells)
	var wantCounts float64
	for _, v := range want.Data {
		wantCounts += float64(v)
	}
	if st.NNZ != want.NNZ() || st.TotalCounts != int64(wantCounts) || st.Cells != p.Cells || st.Genes != p.Genes {
		t.Errorf("stats %+v, want %d non-zeros and %.0f counts", st, want.NNZ(), wantCounts)
	}
	if len(calls) != (p.Cells+p.ChunkRows-1)/p.ChunkRows || calls[len(calls)-1] != p.Cells || !slices.IsSorted(calls) {
		t.Errorf("progress calls %v", calls)
	}

	f, err := anndata.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.NObs != p.Cells || f.NVar != p.Genes || f.NNZ != want.NNZ() {
		t.Fatalf("store is %d x %d with %d values, want %d x %d with %d", f.NObs, f.NVar, f.NNZ, p.Cells, p.Genes, want.NNZ())
	}
	r := f.RowChunks(context.Background(), anndata.StreamOptions{Rows: 1000})
	var chunks []*sparse.CSR
	for r.Next() {
		chunks = append(chunks, r.Chunk().CSR.Clone())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if got := vstack(chunks); !equalCSR(got, want) {
		t.Error("X read back differs from the generated counts")
	}
	obs, err := f.Obs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(obs.Index, m.Barcodes(0, p.Cells)) {
		t.Error("obs index differs from the barcodes")
	}
	var truth *anndata.Categorical
	for _, c := range obs.Columns {
		if c.Name == "truth" {
			truth, _ = c.Values.(*anndata.Categorical)
		}
	}
	if truth == nil || !slices.Equal(truth.Codes, m.Truth(0, p.Cells)) || !slices.Equal(truth.Categories, m.Categories()) {
		t.Errorf("obs truth read back as %+v", truth)
	}
	vr, err := f.Var()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vr.Index, m.GeneNames()) {
		t.Error("var index differs from the gene names")
	}
}

func TestGenerateEmpty(t *testing.T) {
	p := smallParams()
	p.Cells = 0
	out := filepath.Join(t.TempDir(), "empty.zarr")
	st, err := Generate(context.Background(), out, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.NNZ != 0 || st.Cells != 0 {
		t.Errorf("stats %+v for no cells", st)
	}
	f, err := anndata.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.NObs != 0 || f.NVar != p.Genes {
		t.Errorf("empty store is %d x %d", f.NObs, f.NVar)
	}
}

// TestGenerateCancel checks that a cancelled or failed run leaves nothing.
func TestGenerateCancel(t *testing.T) {
	p := smallParams()
	dir := t.TempDir()
	out := filepath.Join(dir, "cancelled.zarr")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Generate(ctx, out, p, func(done, total int) {
		if done > 2*p.ChunkRows {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate after cancel: %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("cancelled run left %v", ents)
	}

	if _, err := Generate(context.Background(), filepath.Join(dir, "no", "such", "dir.zarr"), p, nil); err == nil {
		t.Error("Generate into a missing directory succeeded")
	}
	bad := p
	bad.Genes = 3
	if _, err := Generate(context.Background(), out, bad, nil); !errors.Is(err, ErrParams) {
		t.Errorf("Generate with 3 genes: %v, want ErrParams", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed runs left %v", ents)
	}
}
