package mtx

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scbench/scbench/anndata"
)

// TestConvert converts random 10x directories to zarr stores and reads
// every value and name back through anndata.Open.
func TestConvert(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range 16 {
		cfg := randomConfig(rng)
		cfg.cells += 1
		if i == 0 {
			cfg.order = orderLateDisturb // restarts the writer
			cfg.entries = 400
		}
		g := generate(rng, cfg)
		g.write(t, t.TempDir())
		out := filepath.Join(t.TempDir(), "out.zarr")
		var progress bytes.Buffer
		opt := ConvertOptions{
			Workers:     1 + rng.IntN(3),
			AllFeatures: i%3 == 0,
			Progress:    ProgressLines(&progress, "matrix", 0),
			Write:       &anndata.WriteOptions{ChunkElems: 1 + rng.IntN(100)},
		}
		st, err := Convert(context.Background(), g.dir, out, opt)
		if i == 0 && err == nil {
			// Force the restart path through the writer as well.
			var restarts int
			restarts, err = convertSmallBuffers(g.dir, out+"2", opt)
			out += "2"
			if restarts != 1 {
				t.Errorf("small buffers: %d writer restarts, want 1", restarts)
			}
		}
		if err != nil {
			t.Fatalf("case %d: Convert: %v", i, err)
		}
		if !strings.Contains(progress.String(), "matrix: pass 1/") {
			t.Errorf("case %d: progress lines %q", i, progress.String())
		}
		genes := g.keptGenes(opt.AllFeatures)
		want := g.refRows(genes)
		f, err := anndata.Open(out)
		if err != nil {
			t.Fatalf("case %d: reading back %s: %v", i, out, err)
		}
		if f.NObs != g.cfg.cells || f.NVar != st.Genes || f.NNZ != st.NNZ {
			t.Fatalf("case %d: store is %d x %d with %d values; stats %+v", i, f.NObs, f.NVar, f.NNZ, st)
		}
		var got [][]refEntry
		r := f.RowChunks(context.Background(), anndata.StreamOptions{Rows: 1 + rng.IntN(20)})
		for r.Next() {
			c := r.Chunk()
			if c.Start != len(got) {
				t.Fatalf("case %d: chunk starts at %d, want %d", i, c.Start, len(got))
			}
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
			t.Fatalf("case %d: %v", i, err)
		}
		r.Close()
		if err := compareRows(got, want); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		obs, err := f.Obs()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(obs.Index, g.barcodes) {
			t.Fatalf("case %d: obs index %v, want %v", i, obs.Index, g.barcodes)
		}
		vr, err := f.Var()
		if err != nil {
			t.Fatal(err)
		}
		d, _ := Open(g.dir)
		_, wantVar, _, _ := d.Frames(FrameOptions{AllFeatures: opt.AllFeatures})
		if !slices.Equal(vr.Index, wantVar.Index) {
			t.Fatalf("case %d: var index %v, want %v", i, vr.Index, wantVar.Index)
		}
		for _, wc := range wantVar.Columns {
			k := slices.IndexFunc(vr.Columns, func(c anndata.Column) bool { return c.Name == wc.Name })
			if k < 0 {
				t.Fatalf("case %d: var has no column %s", i, wc.Name)
			}
			if g, w := columnStrings(t, vr.Columns[k]), columnStrings(t, wc); !slices.Equal(g, w) {
				t.Fatalf("case %d: var %s = %v, want %v", i, wc.Name, g, w)
			}
		}
	}
}

// convertSmallBuffers is Convert with chunk buffers small enough for the
// streaming pass to send chunks before it finds the file unsorted. It
// returns the number of writer restarts.
func convertSmallBuffers(in, out string, opt ConvertOptions) (int, error) {
	d, err := Open(in)
	if err != nil {
		return 0, err
	}
	obs, vr, genes, err := d.Frames(FrameOptions{AllFeatures: opt.AllFeatures})
	if err != nil {
		return 0, err
	}
	sink := &countRestarts{writerSink: writerSink{path: out, nObs: len(obs.Index), nVar: len(vr.Index), opt: opt.Write}}
	if err := sink.create(); err != nil {
		return 0, err
	}
	_, err = d.Rows(context.Background(), RowsOptions{Genes: genes, chunkEntries: 17, blockSize: 64}, sink)
	if err == nil {
		err = sink.finish(obs, vr)
	}
	if err != nil {
		sink.w.Abort()
	}
	return sink.n, err
}

type countRestarts struct {
	writerSink
	n int
}

func (c *countRestarts) Restart() error { c.n++; return c.writerSink.Restart() }

// TestConvertError: a bad matrix leaves no store behind.
func TestConvertError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "matrix.mtx"), []byte(banner+"3 2 2\n1 1 1\n3 3 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "genes.tsv"), []byte("a\tA\nb\tB\nc\tA\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "barcodes.tsv"), []byte("x\ny\n"), 0o644)
	out := filepath.Join(t.TempDir(), "bad.zarr")
	_, err := Convert(context.Background(), dir, out, ConvertOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 4: cell (column) index 3 exceeds the 2 columns") {
		t.Fatalf("Convert: %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a store was left at %s after the error (%v)", out, serr)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
