package pipeline

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cpu"
)

// TestCompareBackendsOnStore runs QC through PCA on the store that
// SCBENCH_COMPARE_STORE names (the 1.3M-cell store on the GPU machine) with
// the CPU backend and with the backend of SCBENCH_TEST_BACKEND, and checks
// that they agree: QC, the filter and the highly variable genes identical,
// gene sums within 1e-12, the PCA variances within twice the solver's
// tolerance and the scores of the first 20 components correlated to
// 0.9999. It skips without the variable: it is the device run's check
// (bench/gpu/run.sh), too large for CI.
func TestCompareBackendsOnStore(t *testing.T) {
	path := os.Getenv("SCBENCH_COMPARE_STORE")
	if path == "" {
		t.Skip("SKIP: set SCBENCH_COMPARE_STORE to a store (and SCBENCH_TEST_BACKEND to the backend to compare with the CPU's)")
	}
	other := testBackend(t)
	runOn := func(name string, b backend.Backend) *Result {
		f, err := anndata.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := Run(context.Background(), b, f, "", DefaultParams(), Options{Until: StepPCA})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s (%s): %.1f s, %d -> %d cells, PCA path %s", name, res.Report.Device, time.Since(start).Seconds(), res.Report.CellsIn, res.Report.CellsOut, res.Report.PCAPath)
		return res
	}
	host := runOn("cpu", cpu.New(0))
	dev := runOn(other.Device().Backend, other)

	if !slices.Equal(dev.Obs.NGenesByCounts, host.Obs.NGenesByCounts) || !slices.Equal(dev.Obs.Keep, host.Obs.Keep) {
		t.Errorf("n_genes_by_counts or the filter differ")
	}
	if e, at := maxRelErr(t, "total_counts", dev.Obs.TotalCounts, host.Obs.TotalCounts); e > 1e-12 {
		t.Errorf("obs total_counts differ by %g at cell %d", e, at)
	}
	if !slices.Equal(dev.Var.NCellsByCounts, host.Var.NCellsByCounts) {
		t.Errorf("n_cells_by_counts differ")
	}
	if e, at := maxRelErr(t, "var total_counts", dev.Var.TotalCounts, host.Var.TotalCounts); e > 1e-12 {
		t.Errorf("var total_counts differ by %g at gene %d", e, at)
	}
	if !slices.Equal(dev.HVGIndex, host.HVGIndex) {
		t.Errorf("the highly variable genes differ")
	}
	checkPCAAgree(t, dev, host)
}
