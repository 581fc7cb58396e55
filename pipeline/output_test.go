package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend/cpu"
)

// pythonAnndata returns /usr/bin/python3 when it can import anndata, and
// skips the test otherwise.
func pythonAnndata(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found")
	}
	// -I: the repository root has a folder named sparse that would shadow
	// Python's sparse module.
	if out, err := exec.Command(py, "-I", "-c", "import anndata").CombinedOutput(); err != nil {
		t.Skipf("SKIP: python3 cannot import anndata (apt-get install python3-anndata): %v: %s", err, out)
	}
	return py
}

// describeStore is a Python script that opens a store with anndata and
// prints what it holds as JSON.
const describeStore = `
import sys, json, anndata, numpy as np, scipy.sparse as sp
for path in sys.argv[1:]:
  a = anndata.read_zarr(path)
  X = a.X
  out = {
    "shape": list(a.shape),
    "x_sparse": bool(sp.issparse(X)),
    "x_sum": float(X.sum()),
    "obs_names": [str(x) for x in a.obs_names[:3]],
    "obs": sorted(a.obs.columns), "var": sorted(a.var.columns),
    "obsm": sorted(a.obsm.keys()), "varm": sorted(a.varm.keys()), "uns": sorted(a.uns.keys()),
  }
  if "X_pca" in a.obsm:
    out["X_pca"] = list(a.obsm["X_pca"].shape) + [str(a.obsm["X_pca"].dtype)]
    out["X_pca_00"] = float(a.obsm["X_pca"][0, 0])
    out["PCs"] = list(a.varm["PCs"].shape)
    out["variance_ratio"] = [float(v) for v in a.uns["pca"]["variance_ratio"]]
    out["zero_center"] = bool(a.uns["pca"]["params"]["zero_center"])
  if "hvg" in a.uns:
    out["flavor"] = str(a.uns["hvg"]["flavor"])
    out["n_hv"] = int(a.var["highly_variable"].sum())
  if "truth" in a.obs:
    out["truth"] = [str(x) for x in a.obs["truth"][:3]]
  print(json.dumps(out))
`

type storeDescription struct {
	Shape         []int     `json:"shape"`
	XSparse       bool      `json:"x_sparse"`
	XSum          float64   `json:"x_sum"`
	ObsNames      []string  `json:"obs_names"`
	Obs           []string  `json:"obs"`
	VarCols       []string  `json:"var"`
	Obsm          []string  `json:"obsm"`
	Varm          []string  `json:"varm"`
	Uns           []string  `json:"uns"`
	XPCA          []any     `json:"X_pca"`
	XPCA00        float64   `json:"X_pca_00"`
	PCs           []int     `json:"PCs"`
	VarianceRatio []float64 `json:"variance_ratio"`
	ZeroCenter    bool      `json:"zero_center"`
	Flavor        string    `json:"flavor"`
	NHV           int       `json:"n_hv"`
	Truth         []string  `json:"truth"`
}

// describe opens the stores with Python's anndata (one interpreter: its
// start takes seconds) and returns what each holds.
func describe(t *testing.T, py string, stores []string) []storeDescription {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-I", "-c", describeStore}, stores...)...)
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python anndata could not read the stores %v: %v\n%s", stores, err, stderr.String())
	}
	var ds []storeDescription
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var d storeDescription
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("python output %q: %v", line, err)
		}
		ds = append(ds, d)
	}
	if len(ds) != len(stores) {
		t.Fatalf("python described %d of %d stores: %s", len(ds), len(stores), out)
	}
	return ds
}

// TestOutputOpensInPython runs every --until on a small in-memory dataset
// with obs columns, writes the store and opens it with Python's anndata.
func TestOutputOpensInPython(t *testing.T) {
	py := pythonAnndata(t)
	rng := rand.New(rand.NewPCG(51, 52))
	x := randomCounts(rng, 433, 157)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps, p.NPCs = 15, 120, 37, 7, 7
	names := make([]string, x.Rows)
	truth := &anndata.Categorical{Codes: make([]int32, x.Rows), Categories: []string{"a", "b", "c"}}
	for i := range names {
		names[i] = fmt.Sprintf("cell%04d", i)
		truth.Codes[i] = int32(i % 3)
	}
	genes := make([]string, x.Cols)
	for j := range genes {
		genes[j] = fmt.Sprintf("g%d", j)
	}
	src := &memSource{name: "random", x: x,
		obsFrame: &anndata.Frame{IndexName: "_index", Index: names, Columns: []anndata.Column{{Name: "truth", Values: truth}}},
		varFrame: &anndata.Frame{IndexName: "_index", Index: genes},
	}
	qcObs := []string{"log1p_n_genes_by_counts", "log1p_total_counts", "n_genes_by_counts", "total_counts", "truth"}
	dir := t.TempDir()
	var stores []string
	var results []*Result
	for step := StepQC; step <= StepPCA; step++ {
		out := filepath.Join(dir, step.String()+".zarr")
		res, err := run(context.Background(), cpu.New(2), src, out, p, Options{Until: step, ChunkRows: 50})
		if err != nil {
			t.Fatalf("until %s: %v", step, err)
		}
		stores = append(stores, out)
		results = append(results, res)
	}
	descs := describe(t, py, stores)
	for step := StepQC; step <= StepPCA; step++ {
		t.Run(step.String(), func(t *testing.T) {
			res, d := results[step-StepQC], descs[step-StepQC]
			if d.Shape[0] != res.Report.CellsOut || d.Shape[1] != res.Report.GenesOut {
				t.Errorf("shape %v, report says %d x %d", d.Shape, res.Report.CellsOut, res.Report.GenesOut)
			}
			if fmt.Sprint(d.Obs) != fmt.Sprint(qcObs) {
				t.Errorf("obs columns %v, want %v", d.Obs, qcObs)
			}
			if !d.XSparse {
				t.Error("X is not sparse")
			}
			wantCells, wantGenes := x.Rows, x.Cols
			if step >= StepFilter {
				wantCells = res.Obs.NKept
				if d.ObsNames[0] != names[firstKept(res.Obs.Keep)] {
					t.Errorf("first obs name %q, want %q", d.ObsNames[0], names[firstKept(res.Obs.Keep)])
				}
			}
			if step >= StepHVG {
				wantGenes = len(res.HVGIndex)
				if d.Flavor != "cell_ranger" || d.NHV != wantGenes {
					t.Errorf("hvg flavor %q, %d highly variable of %d genes", d.Flavor, d.NHV, wantGenes)
				}
			}
			if d.Shape[0] != wantCells || d.Shape[1] != wantGenes {
				t.Errorf("shape %v, want %d x %d", d.Shape, wantCells, wantGenes)
			}
			if step < StepNormalize {
				var sum float64
				for i, k := range res.Obs.Keep {
					if k || step < StepFilter {
						sum += res.Obs.TotalCounts[i]
					}
				}
				if relErr(d.XSum, sum) > 1e-6 {
					t.Errorf("X sums to %v, want the raw counts' %v", d.XSum, sum)
				}
			}
			if step >= StepScale && !contains(d.VarCols, "std") {
				t.Errorf("var lacks std: %v", d.VarCols)
			}
			if step == StepPCA {
				k := res.PCA.NComps
				if len(d.XPCA) != 3 || int(d.XPCA[0].(float64)) != wantCells || int(d.XPCA[1].(float64)) != k || d.XPCA[2] != "float32" {
					t.Errorf("X_pca %v, want %d x %d float32", d.XPCA, wantCells, k)
				}
				if d.XPCA00 != float64(res.PCA.Scores[0]) {
					t.Errorf("X_pca[0,0] %v, want %v", d.XPCA00, res.PCA.Scores[0])
				}
				if fmt.Sprint(d.PCs) != fmt.Sprint([]int{wantGenes, k}) {
					t.Errorf("PCs %v", d.PCs)
				}
				if !d.ZeroCenter || len(d.VarianceRatio) != k || d.VarianceRatio[0] != res.PCA.VarianceRatio[0] {
					t.Errorf("uns pca: zero_center %v, variance_ratio %v", d.ZeroCenter, d.VarianceRatio)
				}
				for _, key := range []string{"hvg", "log1p", "pca"} {
					if !contains(d.Uns, key) {
						t.Errorf("uns lacks %q: %v", key, d.Uns)
					}
				}
				for _, col := range []string{"n_cells_by_counts", "mean_counts", "log1p_mean_counts", "pct_dropout_by_counts", "total_counts", "log1p_total_counts", "highly_variable", "means", "dispersions", "dispersions_norm", "mean", "std"} {
					if !contains(d.VarCols, col) {
						t.Errorf("var lacks %q: %v", col, d.VarCols)
					}
				}
			}
		})
	}
}

func firstKept(keep []bool) int {
	for i, k := range keep {
		if k {
			return i
		}
	}
	return -1
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
