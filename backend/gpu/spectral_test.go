package gpu_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/sparse"
)

// TestSpectral runs the SpectralEmbedder conformance tests through OpenCL:
// eigenvalues and subspaces against dense and host references, graphs of
// 4 to 5,003 cells, degenerate, bipartite and invariant spectra;
// determinism; errors.
func TestSpectral(t *testing.T) {
	backendtest.RunSpectral(t, openCLSuite)
}

// TestSpectralGroupSize checks that the work-group size the device allows
// does not change the bits: spec_dots's sums depend on its rows per group
// alone, spec_reduce's group size is a constant.
func TestSpectralGroupSize(t *testing.T) {
	g, err := backendtest.SpectralGraph(2311, 9, 15, 5)
	if err != nil {
		t.Fatal(err)
	}
	want, winfo, err := openCL(t).SpectralEigenmap(g, 3, 7, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	got, ginfo, err := openCLGroups(t, 64).SpectralEigenmap(g, 3, 7, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(ginfo.Values, winfo.Values) {
		t.Errorf("work-groups of 64 and of the device's size give different bits (%d and %d products)", ginfo.Matvecs, winfo.Matvecs)
	}
	t.Logf("%d cells: %d products, %d restarts, eigenvalues %v", g.Rows, winfo.Matvecs, winfo.Restarts, winfo.Values)
}

// BenchmarkSpectral times the spectral initialization's eigenproblem
// (2 vectors, tolerance 1e-4) on the device and with the host's solver
// (graph.HostSpectral), on the pruned fuzzy graph (200 epochs' pruning,
// as UMAP prunes it) of host IVF-Flat lists (k = 15) of
// $SCBENCH_BENCH_ROWS points (default 20,000) from
// backendtest.SpectralPoints in 10 dimensions, its largest component. It
// reports ms per solve on each side and the products.
func BenchmarkSpectral(b *testing.B) {
	n := benchRows(b, 20000)
	const d, k = 10, 15
	be := openCL(b)
	x := backendtest.SpectralPoints(n, d, 3)
	ix, err := knn.BuildIVFFlat(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, knn.IVFFlatParams{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	nb, err := ix.SearchSelf(k, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	backendtest.FillMissing(nb.Indices, nb.Distances, k)
	conn, _, err := graph.Connectivities(nb.Indices, nb.Distances, n, k)
	if err != nil {
		b.Fatal(err)
	}
	g := backendtest.LargestComponent(spectralPrune(conn, 200))
	var dev, host time.Duration
	var dm, hm int
	var dv, hv []float64
	for b.Loop() {
		start := time.Now()
		_, info, err := be.SpectralEigenmap(g, 2, 1, 1e-4)
		if err != nil {
			b.Fatal(err)
		}
		dev += time.Since(start)
		dm, dv = info.Matvecs, info.Values
		start = time.Now()
		_, info, err = graph.HostSpectral{}.SpectralEigenmap(g, 2, 1, 1e-4)
		if err != nil {
			b.Fatal(err)
		}
		host += time.Since(start)
		hm, hv = info.Matvecs, info.Values
	}
	b.ReportMetric(float64(dev.Milliseconds())/float64(b.N), "device-ms/op")
	b.ReportMetric(float64(host.Milliseconds())/float64(b.N), "host-ms/op")
	b.ReportMetric(float64(dm), "device-products")
	b.ReportMetric(float64(hm), "host-products")
	b.Logf("%d of %d cells, %d entries on %s: eigenvalues %v, host %v", g.Rows, n, g.NNZ(), be.Device().Name, dv, hv)
}

// spectralPrune drops the entries below max / nEpochs, as graph.UMAP does.
func spectralPrune(g *sparse.CSR, nEpochs int) *sparse.CSR {
	var wmax float32
	for _, w := range g.Data {
		wmax = max(wmax, w)
	}
	thr := float64(wmax) / float64(nEpochs)
	out := &sparse.CSR{Rows: g.Rows, Cols: g.Cols, Indptr: make([]int64, g.Rows+1)}
	for i := range g.Rows {
		cols, vals := g.Row(i)
		for q, w := range vals {
			if float64(w) >= thr && w > 0 && !math.IsNaN(float64(w)) {
				out.Indices = append(out.Indices, cols[q])
				out.Data = append(out.Data, w)
			}
		}
		out.Indptr[i+1] = int64(len(out.Indices))
	}
	return out
}
