package anndata

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/sparse"
)

// rReadCSVColumns reads the named columns of a gzip CSV with a header.
func rReadCSVColumns(t *testing.T, path string, names ...string) [][]float64 {
	t.Helper()
	header, recs := shareddata.ReadCSV(t, path)
	out := make([][]float64, len(names))
	for k, name := range names {
		col := -1
		for i, h := range header {
			if h == name {
				col = i
			}
		}
		if col < 0 {
			t.Fatalf("%s has no column %s", path, name)
		}
		for _, rec := range recs {
			v, err := strconv.ParseFloat(rec[col], 64)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// Per-gene totals and cell counts over a streamed X equal scanpy's
// calculate_qc_metrics.
func TestSharedGeneTotals(t *testing.T) {
	for _, ds := range []struct {
		name             string
		cells, genes     int
		nnz              int64
		codec            string
		rows             int
		workers, prefetc int
	}{
		{"brain10k", 10000, 1000, 691914, "blosc(lz4, clevel 5, shuffle)", 0, 0, 0},
		{"synth5k", 5000, 27998, 10479255, "blosc(zstd, clevel 3, shuffle)", 333, 2, 1},
	} {
		t.Run(ds.name, func(t *testing.T) {
			f, err := Open(shareddata.Path(t, "data/"+ds.name+"/"+ds.name+".zarr"))
			if err != nil {
				t.Fatal(err)
			}
			if f.NObs != ds.cells || f.NVar != ds.genes || f.NNZ != ds.nnz || f.ZarrFormat != 2 || f.XEncoding != "csr_matrix" {
				t.Fatalf("file %+v", f)
			}
			ref := rReadCSVColumns(t, shareddata.Path(t, "reference/"+ds.name+"/var_qc.csv.gz"), "total_counts", "n_cells_by_counts")
			total := make([]float64, f.NVar)
			cells := make([]float64, f.NVar)
			r := f.RowChunks(context.Background(), StreamOptions{Rows: ds.rows, Workers: ds.workers, Prefetch: ds.prefetc})
			defer r.Close()
			for r.Next() {
				c := r.Chunk()
				for k, j := range c.Indices {
					total[j] += float64(c.Data[k])
					if c.Data[k] > 0 {
						cells[j]++
					}
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			for j := range total {
				if math.Abs(total[j]-ref[0][j]) > 1e-6*math.Max(1, math.Abs(ref[0][j])) {
					t.Fatalf("gene %d: total %v, scanpy %v", j, total[j], ref[0][j])
				}
				if cells[j] != ref[1][j] {
					t.Fatalf("gene %d: %v cells, scanpy %v", j, cells[j], ref[1][j])
				}
			}
			in, err := f.Info()
			if err != nil {
				t.Fatal(err)
			}
			if in.X[0].Codec != ds.codec || in.X[0].Name != "X/data" || in.X[0].DType != "<f4" {
				t.Errorf("info X: %+v", in.X)
			}
		})
	}
}

func TestSharedSynth5kObs(t *testing.T) {
	f, err := Open(shareddata.Path(t, "data/synth5k/synth5k.zarr"))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := f.Obs()
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Index) != 5000 || len(obs.Columns) != 1 || obs.Columns[0].Name != "truth" {
		t.Fatalf("obs: %d names, columns %v", len(obs.Index), obs.Columns)
	}
	truth, ok := obs.Columns[0].Values.([]int32)
	if !ok {
		t.Fatalf("truth is %T, want []int32 (stored <i4)", obs.Columns[0].Values)
	}
	seen := map[int32]int{}
	for _, v := range truth {
		seen[v]++
		if v < 0 || v >= 40 {
			t.Fatalf("truth label %d outside the 40 cell types", v)
		}
	}
	// zarr-python reads 39 distinct labels (one of the 40 types drew no
	// cells).
	if len(seen) != 39 {
		t.Errorf("truth has %d distinct labels, want 39", len(seen))
	}
	in, err := f.Info()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Obs) != 1 || in.Obs[0] != (ColumnInfo{Name: "truth", Kind: KindNumeric, DType: "<i4"}) {
		t.Errorf("info obs: %+v", in.Obs)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"cells":5000`, `"genes":27998`, `"nnz":10479255`, `"zarr_format":2`, `"x_encoding":"csr_matrix"`, `"codec":"blosc(zstd, clevel 3, shuffle)"`, `"kind":"numeric"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("info JSON lacks %s: %s", key, b)
		}
	}
	if s := in.String(); !strings.Contains(s, "5000 cells x 27998 genes") || !strings.Contains(s, "truth: numeric <i4") {
		t.Errorf("info text:\n%s", s)
	}
}

// rStreamAll streams the whole of X in one chunk.
func rStreamAll(t *testing.T, f *File) *sparse.CSR {
	t.Helper()
	return rCollect(t, f, StreamOptions{Rows: f.NObs})
}

// The Zarr format 3 stores, plain and sharded, read exactly as the format
// 2 store; awkward row chunk sizes give exactly the one-chunk result.
func TestSharedBrain10kV3AndChunkSizes(t *testing.T) {
	v2, err := Open(shareddata.Path(t, "data/brain10k/brain10k.zarr"))
	if err != nil {
		t.Fatal(err)
	}
	want := rStreamAll(t, v2)
	for _, opt := range []StreamOptions{{Rows: 1}, {Rows: 7, Workers: 3}, {Rows: 997, Prefetch: 1}, {Rows: 20000}, {Rows: 4999, Workers: 1}} {
		rSameCSR(t, "brain10k rows", rCollect(t, v2, opt), want)
	}
	wantObs, err := v2.Obs()
	if err != nil {
		t.Fatal(err)
	}
	wantVar, err := v2.Var()
	if err != nil {
		t.Fatal(err)
	}
	if len(wantVar.Columns) != 1 || wantVar.Columns[0].Name != "gene_ids" {
		t.Fatalf("var columns %v", wantVar.Columns)
	}
	for _, p := range []string{"data/brain10k-v3/brain10k-v3.zarr", "data/brain10k-v3/brain10k-v3-sharded.zarr"} {
		f, err := Open(shareddata.Path(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if f.ZarrFormat != 3 || f.NObs != v2.NObs || f.NVar != v2.NVar || f.NNZ != v2.NNZ {
			t.Fatalf("%s: %+v", p, f)
		}
		for _, opt := range []StreamOptions{{}, {Rows: 7}, {Rows: 997, Workers: 1}} {
			rSameCSR(t, p, rCollect(t, f, opt), want)
		}
		obs, err := f.Obs()
		if err != nil {
			t.Fatal(err)
		}
		vr, err := f.Var()
		if err != nil {
			t.Fatal(err)
		}
		for _, pair := range [][2]*Frame{{obs, wantObs}, {vr, wantVar}} {
			got, w := pair[0], pair[1]
			if strings.Join(got.Index, "\x00") != strings.Join(w.Index, "\x00") || len(got.Columns) != len(w.Columns) {
				t.Fatalf("%s: frames differ", p)
			}
			for i := range got.Columns {
				g, ok1 := got.Columns[i].Values.([]string)
				ww, ok2 := w.Columns[i].Values.([]string)
				if !ok1 || !ok2 || strings.Join(g, "\x00") != strings.Join(ww, "\x00") {
					t.Fatalf("%s: column %s differs", p, got.Columns[i].Name)
				}
			}
		}
		in, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p, "sharded") {
			if in.X[0].Codec != "sharding_indexed[bytes+gzip(level 5)]" || in.X[0].InnerChunks[0] != 50000 || in.X[0].Chunks[0] != 400000 {
				t.Errorf("%s info: %+v", p, in.X[0])
			}
		} else if in.X[0].Codec != "bytes+gzip(level 5)" {
			t.Errorf("%s info: %+v", p, in.X[0])
		}
	}
}
