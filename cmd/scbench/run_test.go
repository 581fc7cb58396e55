package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/pipeline"
)

// TestRunBrain10k runs the command on the shared brain10k store with the
// reference's parameters, checks the report and opens the output with
// Python's anndata.
func TestRunBrain10k(t *testing.T) {
	in := shareddata.Path(t, "data/brain10k/brain10k.zarr")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.zarr")
	rep := filepath.Join(dir, "report.json")
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), []string{"run", "--input", in, "--out", out, "--report", rep,
		"--min-genes", "20", "--n-top-genes", "300", "--n-comps", "50", "--n-pcs", "30", "--chunk-rows", "3333"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"pass 1", "pass 2", "pass 3", "neighbors", "umap", "leiden", "picture", "wall s", "peak memory"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	var r pipeline.Report
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.CellsIn != 10000 || r.CellsOut != 9889 || r.GenesIn != 1000 || r.GenesOut != 300 || r.NComps != 50 {
		t.Errorf("report: cells %d -> %d, genes %d -> %d, %d comps; want 10000 -> 9889, 1000 -> 300, 50",
			r.CellsIn, r.CellsOut, r.GenesIn, r.GenesOut, r.NComps)
	}
	if r.Backend != "cpu" || r.BytesRead <= 0 || r.PeakRSS <= 0 || r.NNZIn != 691914 || len(r.Steps) < 4 {
		t.Errorf("report: %+v", r)
	}

	if img, err := os.ReadFile(filepath.Join(dir, "umap.png")); err != nil || len(img) < 1000 {
		t.Errorf("no UMAP picture beside the output: %v", err)
	}

	pythonCheck(t, dir, out, `
a = anndata.read_zarr(path)
assert a.shape == (9889, 300), a.shape
assert a.obsm["X_pca"].shape == (9889, 50)
assert a.varm["PCs"].shape == (300, 50)
assert set(["highly_variable", "means", "dispersions", "dispersions_norm", "mean", "std", "n_cells_by_counts"]) <= set(a.var.columns)
assert set(["n_genes_by_counts", "total_counts"]) <= set(a.obs.columns)
assert len(a.uns["pca"]["variance_ratio"]) == 50
assert a.obsm["X_umap"].shape == (9889, 2)
assert a.obsp["connectivities"].shape == (9889, 9889) and a.obsp["distances"].shape == (9889, 9889)
assert a.obs["leiden"].dtype.name == "category" and 10 <= len(a.obs["leiden"].cat.categories) <= 40
assert a.uns["neighbors"]["params"]["n_neighbors"] == 15 and a.uns["neighbors"]["params"]["n_pcs"] == 30
assert a.uns["neighbors"]["connectivities_key"] == "connectivities"
# scipy's graph routines (scanpy's neighbors runs connected_components)
# take only int32 index arrays: both must be int32, as scipy writes them.
import scipy.sparse.csgraph as cg
for m in (a.X, a.obsp["connectivities"], a.obsp["distances"]):
    assert m.indices.dtype.name == "int32" and m.indptr.dtype.name == "int32", (m.indices.dtype, m.indptr.dtype)
assert cg.connected_components(a.obsp["connectivities"])[0] >= 1
`)
	t.Run("scanpy", func(t *testing.T) { scanpyCheck(t, dir, out) })
}

// scanpyScript opens a finished run's store with scanpy and runs its
// plotting, and the tools that read the neighbour graph, on it.
const scanpyScript = `
import sys, os, warnings
warnings.filterwarnings("ignore")
import matplotlib
matplotlib.use("Agg")
import scanpy as sc, anndata
a = anndata.read_zarr(sys.argv[1])
sc.settings.figdir = sys.argv[2]
sc.pl.umap(a, color="leiden", save="_leiden.png", show=False)
sc.pl.pca(a, color="leiden", save="_leiden.png", show=False)
sc.pl.pca_variance_ratio(a, n_pcs=30, save=".png", show=False)
sc.pl.violin(a, ["n_genes_by_counts", "total_counts"], save="_qc.png", show=False)
sc.tl.paga(a, groups="leiden")
sc.pl.paga(a, save=".png", show=False)
sc.tl.leiden(a, key_added="leiden_scanpy", random_state=0)
for f in ["umap_leiden.png", "pca_leiden.png", "pca_variance_ratio.png", "violin_qc.png", "paga.png"]:
    assert os.path.getsize(os.path.join(sys.argv[2], f)) > 1000, f
print("scanpy", sc.__version__, "clusters", a.obs["leiden_scanpy"].nunique(), "ok")
`

// scanpyCheck runs scanpyScript on the store at path. Debian packages no
// scanpy: the test runs where SCBENCH_SCANPY is a PYTHONPATH under which
// /usr/bin/python3 imports it (a scanpy source tree with Debian's
// python3-matplotlib, -seaborn, -sklearn, -statsmodels, -numba, -natsort,
// -igraph and -leidenalg; bench/results/2026-12-04-scanpy-plotting.md says
// how it was set up), and says SKIP elsewhere.
func scanpyCheck(t *testing.T, dir, path string) {
	pypath := os.Getenv("SCBENCH_SCANPY")
	if pypath == "" {
		t.Skip("SKIP: SCBENCH_SCANPY is not set (a PYTHONPATH under which /usr/bin/python3 imports scanpy; Debian has no python3-scanpy)")
	}
	figs := filepath.Join(dir, "figures")
	cmd := exec.Command("/usr/bin/python3", "-c", scanpyScript, path, figs)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pypath, "MPLCONFIGDIR="+filepath.Join(dir, "mpl"), "NUMBA_CACHE_DIR="+filepath.Join(dir, "numba"))
	o, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(o), " ok") {
		t.Fatalf("scanpy on %s (PYTHONPATH=%s): %v\n%s", path, pypath, err, o)
	}
	t.Logf("%s", strings.TrimSpace(string(o)))
}

func TestRunRefusals(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "in.zarr")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, ".zgroup"), []byte(`{"zarr_format": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notStore := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notStore, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--input", store, "--out", store}, 2, "is the input store"},
		{[]string{"run", "--input", store, "--out", notStore}, 2, "is not a zarr store"},
		{[]string{"run", "--backend", "cpu", "--device", "1"}, 2, "no devices"},
		{[]string{"run", "--backend", "opencl", "--device", "one"}, 2, "want N or P:D"},
		{[]string{"run", "--backend", "tpu"}, 2, "unknown backend"},
		{[]string{"run", "--until", "tsne"}, 2, "unknown step"},
		{[]string{"run", "--input", store, "--out", filepath.Join(dir, "no", "such", "out.zarr")}, 2, "does not exist"},
		{[]string{"run", "--min-genes", "300", "--max-genes", "100"}, 2, "max_genes"},
		{[]string{"run", "--cache-mem", "lots"}, 2, "not a size"},
		{[]string{"run", "--input", filepath.Join(dir, "missing.zarr"), "--out", "-"}, 1, "missing.zarr"},
	} {
		var stdout, stderr bytes.Buffer
		code := dispatch(context.Background(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

func TestRunGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: generates data")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "gen.zarr")
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), []string{"run", "--synth-cells", "1500", "--tmp", dir, "--out", out,
		"--n-top-genes", "500", "--n-comps", "20", "--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no --input: generating 1500") {
		t.Errorf("stderr does not say data was generated: %q", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, ".zgroup")); err != nil {
		t.Errorf("no output store: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "scbench-run-*"))
	if len(left) != 0 {
		t.Errorf("temporary input left behind: %v", left)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "8GiB": 8 << 30, "2GB": 2e9, "1e9": 1e9, "3 g": 3 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseSize("-1"); err == nil {
		t.Error("parseSize(-1) succeeded")
	}
}

// TestHoldBudget: what pass 1 may keep under --memory, after 1 GiB of
// working buffers; nothing without a budget, never when none is left.
func TestHoldBudget(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct{ mem, want int64 }{
		{0, 0},
		{3 * gib, 2 * gib},
		{8 * gib, 7 * gib},
		{gib, -1},
		{gib + gib/2, gib / 2},
	} {
		if got := holdBudget(c.mem); got != c.want {
			t.Errorf("holdBudget(%d) = %d, want %d", c.mem, got, c.want)
		}
	}
}
