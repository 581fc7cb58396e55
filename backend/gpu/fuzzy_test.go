package gpu_test

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/backend/cuda"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/sparse"
)

// TestFuzzy runs the FuzzyGraphBuilder conformance tests through OpenCL:
// graph.Connectivities's structure and values on exact and IVF-Flat
// lists of 1 to 3,001 cells, k = 1, 2 and 15, with missing neighbours,
// repeats, identical points and hubs; determinism; errors.
func TestFuzzy(t *testing.T) {
	backendtest.RunFuzzy(t, openCLSuite)
}

// TestFuzzyDeviceKNN builds the graphs from the device's own IVF-Flat
// lists, short ones included (+Inf at index -1, filled as the pipeline
// fills them): graph.Connectivities's structure, values within 1e-5.
func TestFuzzyDeviceKNN(t *testing.T) {
	be := openCL(t)
	const n, d, k = 4099, 20, 15
	x := backendtest.Blobs(n, d, 13)
	idx, dist, err := be.KNN(x, n, d, k, backend.KNNParams{Method: "ivfflat", NLists: 400, NProbes: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	missing := backendtest.CountMissing(idx)
	if missing == 0 {
		t.Fatalf("no missing neighbour with 400 lists of 4,099 points and 1 probe: the test needs some")
	}
	backendtest.FillMissing(idx, dist, k)
	conn, dst, err := be.Connectivities(idx, dist, n, k)
	if err != nil {
		t.Fatal(err)
	}
	worst := backendtest.CompareFuzzy(t, idx, dist, n, k, conn, dst, 1e-5)
	t.Logf("%d missing neighbours; %d connectivities within %.2g of graph.Connectivities", missing, conn.NNZ(), worst)
}

// TestFuzzyScanpy rebuilds the kNN lists of brain10k (and synth5k) from
// scanpy's distances graph, as graph's tests do, and compares the device's
// graphs with scanpy's (the same entries, values within 1e-4, graph's
// bound) and with graph.Connectivities (values within 1e-5).
func TestFuzzyScanpy(t *testing.T) {
	be := openCL(t)
	for _, ds := range []string{"brain10k", "synth5k"} {
		t.Run(ds, func(t *testing.T) {
			refDist := shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/distances.csv.gz"))
			refConn := shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/connectivities.csv.gz"))
			n := max(refDist.Rows, refConn.Rows)
			refDist.Rows, refDist.Cols, refConn.Rows, refConn.Cols = n, n, n, n
			for len(refDist.Indptr) < n+1 {
				refDist.Indptr = append(refDist.Indptr, refDist.Indptr[len(refDist.Indptr)-1])
			}
			for len(refConn.Indptr) < n+1 {
				refConn.Indptr = append(refConn.Indptr, refConn.Indptr[len(refConn.Indptr)-1])
			}
			idx, dist, k := shareddata.ListsFromDistances(t, refDist)
			start := time.Now()
			conn, dst, err := be.Connectivities(idx, dist, n, k)
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			backendtest.CompareFuzzy(t, idx, dist, n, k, conn, dst, 1e-5)
			for _, c := range []struct {
				name      string
				got, want *sparse.CSR
			}{{"connectivities", conn, refConn}, {"distances", dst, refDist}} {
				if !slices.Equal(c.got.Indptr, c.want.Indptr) || !slices.Equal(c.got.Indices, c.want.Indices) {
					t.Fatalf("%s: %d entries, other rows or columns than scanpy's %d", c.name, c.got.NNZ(), c.want.NNZ())
				}
				worst := 0.0
				for p, w := range c.want.Data {
					worst = max(worst, math.Abs(float64(c.got.Data[p])-float64(w))/math.Abs(float64(w)))
				}
				t.Logf("%s %s: %d cells, %d entries, max relative error %.3g against scanpy (%v)", ds, c.name, n, c.got.NNZ(), worst, elapsed)
				if !(worst <= 1e-4) {
					t.Errorf("%s %s: max relative error %.3g > 1e-4", ds, c.name, worst)
				}
			}
		})
	}
}

// fuzzyBenchLists returns IVF-Flat's lists (defaults, k neighbours) of n
// blobs in d dimensions, searched on CUDA device $SCBENCH_CUDA_DEVICE (or
// 0), else on OpenCL (openCLTry's device), else on the host.
func fuzzyBenchLists(b *testing.B, n, d, k int) ([]int32, []float32) {
	x := backendtest.Blobs(n, d, 1)
	p := backend.KNNParams{Method: "ivfflat", Seed: 1}
	dev := 0
	if s := os.Getenv("SCBENCH_CUDA_DEVICE"); s != "" {
		dev, _ = strconv.Atoi(s)
	}
	var be *gpu.Backend
	if c, err := cuda.New(dev); err == nil {
		be = c
	} else if o, err := openCLTry(nil); err == nil {
		be = o
	}
	if be == nil {
		ix, err := knn.BuildIVFFlat(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, knn.IVFFlatParams{Seed: 1})
		if err != nil {
			b.Fatalf("knn.BuildIVFFlat: %v", err)
		}
		nb, err := ix.SearchSelf(k, 0, 0)
		if err != nil {
			b.Fatalf("SearchSelf: %v", err)
		}
		return nb.Indices, nb.Distances
	}
	defer be.Close()
	idx, dist, err := be.KNN(x, n, d, k, p)
	if err != nil {
		b.Fatalf("KNN on %s: %v", be.Device().Name, err)
	}
	return idx, dist
}

// BenchmarkFuzzy times the fuzzy simplicial set of $SCBENCH_BENCH_ROWS
// cells (default 20,000; 1306127 is the atlas), k = 15, on CUDA and on
// OpenCL where they are, next to graph.Connectivities on the host, and
// the backend's general Transpose of a matrix of the memberships' shape
// (the distances graph), which the device version does not use (see
// fuzzy.go). The lists are IVF-Flat's at its defaults on 50-dimensional
// blobs (fuzzyBenchLists); their distances are filled as the pipeline
// fills them. It reports ms per operation and logs how
// far the device's connectivities are from the host's.
func BenchmarkFuzzy(b *testing.B) {
	n := benchRows(b, 20000)
	const d, k = 50, 15
	start := time.Now()
	idx, dist := fuzzyBenchLists(b, n, d, k)
	backendtest.FillMissing(idx, dist, k)
	b.Logf("%d cells, k = %d: lists made in %v", n, k, time.Since(start).Round(time.Millisecond))

	hostConn, hostDist, err := graph.Connectivities(idx, dist, n, k)
	if err != nil {
		b.Fatalf("graph.Connectivities: %v", err)
	}
	b.Run("host", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := graph.Connectivities(idx, dist, n, k); err != nil {
				b.Fatalf("graph.Connectivities: %v", err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
	for _, api := range []string{"cuda", "opencl"} {
		b.Run(api, func(b *testing.B) {
			be := benchBackend(b, api)
			conn, dst, err := be.Connectivities(idx, dist, n, k)
			if err != nil {
				b.Fatalf("Connectivities: %v", err)
			}
			worst := backendtest.CompareFuzzy(b, idx, dist, n, k, conn, dst, 1e-5)
			b.Logf("%s: %d connectivities, %d distances; host %d and %d; within %.2g of the host",
				api, conn.NNZ(), dst.NNZ(), hostConn.NNZ(), hostDist.NNZ(), worst)
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := be.Connectivities(idx, dist, n, k); err != nil {
					b.Fatalf("Connectivities: %v", err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
		b.Run(fmt.Sprintf("%s-transpose", api), func(b *testing.B) {
			be := benchBackend(b, api)
			m, err := be.Upload(hostDist)
			if err != nil {
				b.Fatalf("Upload: %v", err)
			}
			defer m.Free()
			for b.Loop() {
				mt, err := be.Transpose(m)
				if err != nil {
					b.Fatalf("Transpose: %v", err)
				}
				if err := be.Sync(); err != nil {
					b.Fatalf("Sync: %v", err)
				}
				mt.Free()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}

// TestFuzzyGroupSize runs the graphs with work-groups of at most 64 (the
// scans and the distance sum take what the device allows): the same
// structure as graph.Connectivities, values within 1e-5.
func TestFuzzyGroupSize(t *testing.T) {
	be := openCLGroups(t, 64)
	const n, k = 3001, 15
	idx, dist, err := backendtest.FuzzyLists(n, 9, k, "ivfflat", 25, 17)
	if err != nil {
		t.Fatal(err)
	}
	conn, dst, err := be.Connectivities(idx, dist, n, k)
	if err != nil {
		t.Fatal(err)
	}
	backendtest.CompareFuzzy(t, idx, dist, n, k, conn, dst, 1e-5)
}
