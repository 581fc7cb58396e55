package anndata

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rAnndataScript writes stores with Python's anndata (0.8, the independent
// reference for the on-disk format) and the values they hold as JSON.
const rAnndataScript = `
import json, sys, numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
out = sys.argv[1]
rng = np.random.default_rng(3)
n, m = 301, 71
dense = rng.negative_binomial(1, 0.7, size=(n, m)).astype(np.float32)
dense[rng.random((n, m)) < 0.6] = 0
dense[5] = 0  # an empty row
obs = pd.DataFrame(index=[f"cell-{i}" for i in range(n)])
obs["cat"] = pd.Categorical(rng.choice(["T", "B", "NK", "mono"], n))
obs["ocat"] = pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True)
obs["flag"] = rng.random(n) < 0.5
obs["n_genes"] = rng.integers(0, 5000, n)
obs["frac"] = rng.random(n).astype(np.float32)
vals = rng.integers(0, 50, n).astype(object)
vals[rng.random(n) < 0.2] = None
obs["nint"] = pd.array(vals, dtype="Int64")
bvals = (rng.random(n) < 0.5).astype(object)
bvals[rng.random(n) < 0.2] = None
obs["nbool"] = pd.array(bvals, dtype="boolean")
obs["name"] = [f"s{i}-é" for i in range(n)]
var = pd.DataFrame(index=[f"gene-{j}" for j in range(m)])
var["chrom"] = pd.Categorical(rng.choice([1, 2, 19], m))
var["mean"] = rng.random(m)
ad.AnnData(X=sp.csr_matrix(dense), obs=obs, var=var).write_zarr(out + "/csr.zarr")
ad.AnnData(X=sp.csr_matrix(dense.astype(np.int64)), obs=obs[[]], var=var[[]]).write_zarr(out + "/csr_int.zarr")
ad.AnnData(X=dense.astype(np.float64), obs=obs[[]], var=var[[]]).write_zarr(out + "/dense.zarr")
ad.AnnData(X=sp.csc_matrix(dense), obs=obs[[]], var=var[[]]).write_zarr(out + "/csc.zarr")
def col(s):
    if isinstance(s.dtype, pd.CategoricalDtype):
        return {"codes": s.cat.codes.tolist(), "categories": [str(c) for c in s.cat.categories], "ordered": bool(s.cat.ordered)}
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in s]
json.dump({"X": dense.tolist(),
           "obs_index": list(obs.index), "var_index": list(var.index),
           "obs": {c: col(obs[c]) for c in obs.columns}, "var": {c: col(var[c]) for c in var.columns}},
          open(out + "/expected.json", "w"))
`

func rAnndataPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found")
	}
	cmd := exec.Command(py, "-c", "import anndata, scipy, pandas")
	cmd.Dir = t.TempDir() // keep the repository's sparse/ folder off sys.path
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: python anndata missing (apt-get install python3-anndata): %s", out)
	}
	return py
}

func TestInteropAnndataPython(t *testing.T) {
	py := rAnndataPython(t)
	dir := t.TempDir()
	cmd := exec.Command(py, "-c", rAnndataScript, dir)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var exp struct {
		X        [][]float64
		ObsIndex []string `json:"obs_index"`
		VarIndex []string `json:"var_index"`
		Obs, Var map[string]json.RawMessage
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"csr", "csr_int", "dense"} {
		f, err := Open(filepath.Join(dir, name+".zarr"))
		if err != nil {
			t.Fatal(err)
		}
		if f.NObs != len(exp.X) || f.NVar != len(exp.X[0]) {
			t.Fatalf("%s: %d x %d", name, f.NObs, f.NVar)
		}
		for _, opt := range []StreamOptions{{}, {Rows: 17, Workers: 2}} {
			m := rCollect(t, f, opt)
			for i, row := range exp.X {
				for j, v := range row {
					if got := m.At(i, j); float64(got) != v {
						t.Fatalf("%s: X[%d, %d] = %v, anndata wrote %v", name, i, j, got, v)
					}
				}
			}
		}
	}
	if _, err := Open(filepath.Join(dir, "csc.zarr")); err == nil || !strings.Contains(err.Error(), "csc_matrix") {
		t.Errorf("csc store: %v", err)
	}
	f, _ := Open(filepath.Join(dir, "csr.zarr"))
	for _, fr := range []struct {
		name  string
		read  func() (*Frame, error)
		index []string
		cols  map[string]json.RawMessage
	}{{"obs", f.Obs, exp.ObsIndex, exp.Obs}, {"var", f.Var, exp.VarIndex, exp.Var}} {
		got, err := fr.read()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.Index, ",") != strings.Join(fr.index, ",") {
			t.Fatalf("%s index differs", fr.name)
		}
		if len(got.Columns) != len(fr.cols) {
			t.Fatalf("%s: %d columns, want %d", fr.name, len(got.Columns), len(fr.cols))
		}
		for _, c := range got.Columns {
			if err := rSameColumn(c.Values, fr.cols[c.Name]); err != nil {
				t.Errorf("%s/%s: %v", fr.name, c.Name, err)
			}
		}
	}
}

// rSameColumn compares a column with anndata's values, as JSON.
func rSameColumn(v any, want json.RawMessage) error {
	if c, ok := v.(*Categorical); ok {
		var w struct {
			Codes      []int32
			Categories []string
			Ordered    bool
		}
		if err := json.Unmarshal(want, &w); err != nil {
			return err
		}
		if fmt.Sprint(c.Codes) != fmt.Sprint(w.Codes) || fmt.Sprint(c.Categories) != fmt.Sprint(w.Categories) || c.Ordered != w.Ordered {
			return fmt.Errorf("categorical %v %v %v, want %v %v %v", c.Codes[:5], c.Categories, c.Ordered, w.Codes[:5], w.Categories, w.Ordered)
		}
		return nil
	}
	var w []any
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	got := make([]any, 0, len(w))
	switch x := v.(type) {
	case []bool:
		for _, e := range x {
			got = append(got, e)
		}
	case []string:
		for _, e := range x {
			got = append(got, e)
		}
	case []float32:
		for _, e := range x {
			got = append(got, float64(e))
		}
	case []int64:
		for _, e := range x {
			got = append(got, float64(e))
		}
	case []float64: // also nullable columns: NaN where anndata has None
		for _, e := range x {
			if math.IsNaN(e) {
				got = append(got, nil)
			} else {
				got = append(got, e)
			}
		}
	default:
		return fmt.Errorf("unexpected type %T", v)
	}
	for i := range w {
		if b, ok := w[i].(bool); ok {
			if _, isFloat := got[i].(float64); isFloat { // nullable-boolean as 0/1
				w[i] = map[bool]float64{false: 0, true: 1}[b]
			}
		}
		if got[i] != w[i] {
			return fmt.Errorf("%T: row %d = %v, want %v", v, i, got[i], w[i])
		}
	}
	return nil
}
