package pipeline

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/shareddata"
)

// runReference runs the workflow on a shared dataset with its reference
// parameters, writing nothing.
func runReference(t testing.TB, dataset string, chunkRows int) (*Result, *anndata.File) {
	t.Helper()
	return runReferenceOn(t, testBackend(t), dataset, Options{ChunkRows: chunkRows})
}

// runReferenceOn runs the workflow on a shared dataset on backend b.
func runReferenceOn(t testing.TB, b backend.Backend, dataset string, opt Options) (*Result, *anndata.File) {
	t.Helper()
	p, _ := refParams(t, dataset)
	f, err := anndata.Open(shareddata.Path(t, "data/"+dataset+"/"+dataset+".zarr"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), b, f, "", p, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res, f
}

// TestAccuracyOpenCL runs QC through PCA of brain10k on the OpenCL backend
// (PoCL in CI, a CPU OpenCL device: the GPU kernels, checked without a
// GPU) against scanpy's results. SCBENCH_TEST_BACKEND=opencl runs the
// whole of TestAccuracyAgainstScanpy on it.
func TestAccuracyOpenCL(t *testing.T) {
	b := openCLBackend(t)
	for _, ds := range []string{"brain10k", "synth5k"} {
		t.Run(ds, func(t *testing.T) {
			if ds == "synth5k" && testing.Short() {
				t.Skip("SKIP: -short: synth5k's eigenproblem takes seconds")
			}
			res, f := runReferenceOn(t, b, ds, Options{ChunkRows: 3001, Until: StepPCA})
			_, nPCs := refParams(t, ds)
			checkQC(t, ds, res)
			checkHVG(t, ds, res)
			checkScale(t, ds, res, f)
			checkPCA(t, ds, res, nPCs)
			t.Logf("%s on %s: %.2f s, Z on the device %v", ds, res.Report.Device, res.Report.Seconds, res.Report.ZOnDevice)
		})
	}
}

// TestAccuracyAgainstScanpy compares every step with scanpy 1.9.6's results
// on the shared datasets.
func TestAccuracyAgainstScanpy(t *testing.T) {
	for _, ds := range []string{"brain10k", "synth5k"} {
		t.Run(ds, func(t *testing.T) {
			if ds == "synth5k" && testing.Short() {
				t.Skip("SKIP: -short: synth5k's 5,000 x 5,000 eigenproblem takes seconds")
			}
			// An awkward chunk height, so that chunk boundaries fall anywhere.
			res, f := runReference(t, ds, 3001)
			_, nPCs := refParams(t, ds)
			checkQC(t, ds, res)
			checkHVG(t, ds, res)
			checkScale(t, ds, res, f)
			checkPCA(t, ds, res, nPCs)
			checkGraph(t, ds, res, nPCs)
			t.Logf("%s: %d -> %d cells, %d -> %d genes, %.2f s", ds, res.Report.CellsIn, res.Report.CellsOut, res.Report.GenesIn, res.Report.GenesOut, res.Report.Seconds)
		})
	}
}

func checkQC(t *testing.T, ds string, res *Result) {
	t.Helper()
	obs := readRefCSV(t, refFile(t, ds, "obs_qc.csv.gz"))
	o := res.Obs
	ngenes := make([]float64, len(o.NGenesByCounts))
	for i, n := range o.NGenesByCounts {
		ngenes[i] = float64(n)
	}
	for _, c := range []struct {
		name string
		got  []float64
	}{
		{"n_genes_by_counts", ngenes},
		{"total_counts", o.TotalCounts},
		{"log1p_n_genes_by_counts", o.Log1pNGenesByCounts()},
		{"log1p_total_counts", o.Log1pTotalCounts()},
	} {
		e, at := maxRelErr(t, c.name, c.got, obs.col(t, c.name))
		if e > 1e-6 {
			t.Errorf("obs %s: relative error %g at cell %d (limit 1e-6)", c.name, e, at)
		}
		t.Logf("obs %-24s max rel err %.2g", c.name, e)
	}
	kept := obs.col(t, "kept")
	diff := 0
	for i, k := range o.Keep {
		if k != (kept[i] == 1) {
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("kept mask differs for %d cells", diff)
	}

	vq := readRefCSV(t, refFile(t, ds, "var_qc.csv.gz"))
	v := res.Var
	ncells := make([]float64, len(v.NCellsByCounts))
	for j, n := range v.NCellsByCounts {
		ncells[j] = float64(n)
	}
	for _, c := range []struct {
		name string
		got  []float64
	}{
		{"n_cells_by_counts", ncells},
		{"mean_counts", v.MeanCounts()},
		{"log1p_mean_counts", v.Log1pMeanCounts()},
		{"pct_dropout_by_counts", v.PctDropoutByCounts()},
		{"total_counts", v.TotalCounts},
		{"log1p_total_counts", v.Log1pTotalCounts()},
	} {
		e, at := maxRelErr(t, c.name, c.got, vq.col(t, c.name))
		if e > 1e-6 {
			t.Errorf("var %s: relative error %g at gene %d (limit 1e-6)", c.name, e, at)
		}
		t.Logf("var %-24s max rel err %.2g", c.name, e)
	}
}

func checkHVG(t *testing.T, ds string, res *Result) {
	t.Helper()
	ref := readRefCSV(t, refFile(t, ds, "hvg.csv.gz"))
	h := res.HVG
	for _, c := range []struct {
		name string
		got  []float64
	}{{"means", h.Means}, {"dispersions", h.Dispersions}} {
		e, at := maxRelErr(t, c.name, c.got, ref.col(t, c.name))
		if e > 1e-4 {
			t.Errorf("hvg %s: relative error %g at gene %d (limit 1e-4)", c.name, e, at)
		}
		t.Logf("hvg %-24s max rel err %.2g", c.name, e)
	}
	compareHVG(t, h, ref)
}

func checkScale(t *testing.T, ds string, res *Result, f *anndata.File) {
	t.Helper()
	ref := readRefCSV(t, refFile(t, ds, "scale.csv.gz"))
	if ref.rows != len(res.ScaleStd) {
		t.Fatalf("%d scaled genes, reference %d", len(res.ScaleStd), ref.rows)
	}
	if vr, err := f.Var(); err == nil && len(vr.Index) == f.NVar {
		for k, j := range res.HVGIndex {
			if vr.Index[j] != ref.strs["gene"][k] {
				t.Fatalf("scaled gene %d is %q, reference %q", k, vr.Index[j], ref.strs["gene"][k])
			}
		}
	} else {
		t.Logf("var index not checked: %v", err)
	}
	e, at := maxRelErr(t, "std", res.ScaleStd, ref.col(t, "std"))
	if e > 1e-4 {
		t.Errorf("scale std: relative error %g at gene %d (limit 1e-4)", e, at)
	}
	t.Logf("scale std                    max rel err %.2g", e)
}

func checkPCA(t *testing.T, ds string, res *Result, nPCs int) {
	t.Helper()
	variance, ratio := refPCA(t, ds)
	pr := res.PCA
	if pr.NComps != len(ratio) {
		t.Fatalf("%d components, reference %d", pr.NComps, len(ratio))
	}
	e, at := maxRelErr(t, "variance_ratio", pr.VarianceRatio, ratio)
	if e > 1e-3 {
		t.Errorf("variance_ratio: relative error %g at component %d (limit 1e-3)", e, at)
	}
	ev, _ := maxRelErr(t, "variance", pr.Variance, variance)
	t.Logf("pca variance_ratio max rel err %.2g (variance %.2g)", e, ev)

	ref := readRefCSV(t, refFile(t, ds, "X_pca.csv.gz"))
	n, k := res.Obs.NKept, pr.NComps
	if ref.rows != n {
		t.Fatalf("%d cells with scores, reference %d", n, ref.rows)
	}
	worst := 1.0
	for c := range min(20, nPCs, k) {
		want := ref.col(t, "PC"+strconv.Itoa(c+1))
		got := make([]float64, n)
		for i := range n {
			got[i] = float64(pr.Scores[i*k+c])
		}
		r := math.Abs(pearson(got, want))
		worst = math.Min(worst, r)
		if r < 0.999 {
			t.Errorf("PC%d: |correlation| with scanpy %.6f (limit 0.999)", c+1, r)
		}
	}
	t.Logf("X_pca: min |correlation| over the first %d components %.6f", min(20, nPCs, k), worst)
}
