package gpu_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/knn"
)

// TestKNN runs the NeighborSearcher conformance tests through OpenCL.
func TestKNN(t *testing.T) {
	backendtest.RunKNN(t, openCLSuite)
}

// TestKNNMatchesExact compares the exact search with knn.Exact: the same
// indices and the same distances.
func TestKNNMatchesExact(t *testing.T) {
	be := openCL(t)
	for _, tc := range []struct{ n, d, k int }{{3001, 50, 15}, {777, 13, 15}, {777, 13, 1}, {1000, 30, 65}} {
		t.Run(fmt.Sprintf("%dx%d_k%d", tc.n, tc.d, tc.k), func(t *testing.T) {
			x := backendtest.Blobs(tc.n, tc.d, uint64(tc.n+tc.k))
			idx, dist, err := be.KNN(x, tc.n, tc.d, tc.k, backend.KNNParams{Method: "exact"})
			if err != nil {
				t.Fatal(err)
			}
			ex, err := knn.Exact(blas32.General{Rows: tc.n, Cols: tc.d, Stride: tc.d, Data: x}, tc.k, 0)
			if err != nil {
				t.Fatal(err)
			}
			for e := range ex.Indices {
				if idx[e] != ex.Indices[e] || dist[e] != ex.Distances[e] {
					t.Fatalf("row %d neighbour %d: %d at %g, knn.Exact has %d at %g", e/tc.k, e%tc.k, idx[e], dist[e], ex.Indices[e], ex.Distances[e])
				}
			}
		})
	}
}

// TestKNNIVFFlat checks the device IVF-Flat at its defaults against
// knn.Exact on clustered data, and the balance of its lists: none more
// than 8 times the mean (knn's bound).
func TestKNNIVFFlat(t *testing.T) {
	be := openCL(t)
	for _, tc := range []struct{ n, d int }{{4099, 50}, {12007, 30}} {
		t.Run(fmt.Sprintf("%dx%d", tc.n, tc.d), func(t *testing.T) {
			const k = 15
			x := backendtest.Blobs(tc.n, tc.d, 3)
			p := backend.KNNParams{Method: "ivfflat", Seed: 1}
			sizes, err := be.KNNListSizes(x, tc.n, tc.d, p)
			if err != nil {
				t.Fatal(err)
			}
			total, largest := 0, int32(0)
			for _, s := range sizes {
				total += int(s)
				largest = max(largest, s)
			}
			mean := float64(total) / float64(len(sizes))
			if total != tc.n || float64(largest) > 8*mean {
				t.Errorf("%d lists hold %d points, the largest %d (mean %.1f)", len(sizes), total, largest, mean)
			}
			start := time.Now()
			idx, _, err := be.KNN(x, tc.n, tc.d, k, p)
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			ex, err := knn.Exact(blas32.General{Rows: tc.n, Cols: tc.d, Stride: tc.d, Data: x}, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			r := recallOf(idx, ex.Indices, tc.n, k)
			t.Logf("%d x %d blobs: %d lists (largest %d, mean %.1f), recall@%d %.4f in %v", tc.n, tc.d, len(sizes), largest, mean, k, r, elapsed)
			if r < 0.95 {
				t.Errorf("recall@%d = %.4f, want >= 0.95", k, r)
			}
		})
	}
}

// TestKNNIVFFlatProbes checks the IVF-Flat search against a host search
// of the device index: each point's neighbours are the exact nearest
// points of the lists it probes, itself first, and each point's first
// probe is its own list.
func TestKNNIVFFlatProbes(t *testing.T) {
	be := openCL(t)
	for _, tc := range []struct{ n, d, k, lists, probes int }{
		{2111, 20, 15, 37, 3},
		{1500, 7, 30, 100, 1},
		{997, 50, 12, 64, 64},
		{3001, 16, 65, 200, 9},
	} {
		t.Run(fmt.Sprintf("%dx%d_k%d_lists%d_probes%d", tc.n, tc.d, tc.k, tc.lists, tc.probes), func(t *testing.T) {
			n, d, k := tc.n, tc.d, tc.k
			x := backendtest.Blobs(n, d, uint64(n))
			p := backend.KNNParams{Method: "ivfflat", NLists: tc.lists, NProbes: tc.probes, Seed: 3}
			lists, probes, err := be.KNNLists(x, n, d, p)
			if err != nil {
				t.Fatal(err)
			}
			idx, dist, err := be.KNN(x, n, d, k, p)
			if err != nil {
				t.Fatal(err)
			}
			type cand struct {
				d2 float64
				id int32
			}
			var cands []cand
			for i := range n {
				if !slices.Contains(lists[probes[i][0]], int32(i)) {
					t.Fatalf("point %d is not in its first probe's list %d", i, probes[i][0])
				}
				cands = cands[:0]
				for _, l := range probes[i] {
					for _, j := range lists[l] {
						if int(j) != i {
							cands = append(cands, cand{backendtest.Dist2(x, d, i, int(j)), j})
						}
					}
				}
				slices.SortFunc(cands, func(a, b cand) int {
					if c := cmp.Compare(a.d2, b.d2); c != 0 {
						return c
					}
					return cmp.Compare(a.id, b.id)
				})
				for c := range k {
					wantID, wantD := int32(i), float32(0)
					if c > 0 && c-1 < len(cands) {
						wantID, wantD = cands[c-1].id, float32(math.Sqrt(cands[c-1].d2))
					} else if c > 0 {
						wantID, wantD = -1, float32(math.Inf(1))
					}
					if idx[i*k+c] != wantID || dist[i*k+c] != wantD {
						t.Fatalf("point %d neighbour %d: %d at %g, want %d at %g", i, c, idx[i*k+c], dist[i*k+c], wantID, wantD)
					}
				}
			}
		})
	}
}

// recallOf returns the fraction of ref's neighbours that got holds.
func recallOf(got, ref []int32, n, k int) float64 {
	hits := 0
	for i := range n {
		in := map[int32]bool{}
		for _, id := range got[i*k : (i+1)*k] {
			in[id] = true
		}
		for _, id := range ref[i*k : (i+1)*k] {
			if in[id] {
				hits++
			}
		}
	}
	return float64(hits) / float64(n*k)
}

// TestKNNBrain10k searches the brain10k reference's X_pca (its first
// n_pcs columns) and compares with scanpy's exact neighbours: recall 1
// for the exact search, at least 0.95 for IVF-Flat. A reference neighbour
// missed counts as found when it ties with the row's k-th distance
// (within 1e-5 relative), as in knn's reference test.
func TestKNNBrain10k(t *testing.T) {
	dir := shareddata.Path(t, "reference/brain10k")
	b, err := os.ReadFile(filepath.Join(dir, "params.json"))
	if err != nil {
		t.Fatal(err)
	}
	var prm struct {
		NPCs       int `json:"n_pcs"`
		NNeighbors int `json:"n_neighbors"`
	}
	if err := json.Unmarshal(b, &prm); err != nil {
		t.Fatalf("%s/params.json: %v", dir, err)
	}
	pca := shareddata.ReadFloats(t, filepath.Join(dir, "X_pca.csv.gz"))
	ref := shareddata.ReadFloats(t, filepath.Join(dir, "knn_exact.csv.gz"))
	n, d, k := len(pca), prm.NPCs, prm.NNeighbors
	if len(ref) != n || len(ref[0]) != k || len(pca[0]) < d {
		t.Fatalf("X_pca is %d x %d and knn_exact %d x %d; want n_pcs %d, n_neighbors %d", n, len(pca[0]), len(ref), len(ref[0]), d, k)
	}
	x := make([]float32, n*d)
	for i, row := range pca {
		for j := range d {
			x[i*d+j] = float32(row[j])
		}
	}
	be := openCL(t)
	for _, tc := range []struct {
		method string
		want   float64
	}{{"exact", 1}, {"ivfflat", 0.95}} {
		start := time.Now()
		idx, dist, err := be.KNN(x, n, d, k, backend.KNNParams{Method: tc.method})
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		hits := 0
		for i, row := range ref {
			got := idx[i*k : (i+1)*k]
			kth := float64(dist[(i+1)*k-1])
			for _, v := range row {
				id := int32(v)
				found := false
				for _, g := range got {
					found = found || g == id
				}
				if found || distance(x, d, i, int(id)) <= kth*(1+1e-5) {
					hits++
				}
			}
		}
		r := float64(hits) / float64(n*k)
		t.Logf("brain10k, %d cells x %d PCs: %s recall@%d %.4f in %v", n, d, tc.method, k, r, elapsed)
		if r < tc.want {
			t.Errorf("%s recall@%d = %.4f, want >= %g", tc.method, k, r, tc.want)
		}
	}
}

func distance(x []float32, d, i, j int) float64 { return math.Sqrt(backendtest.Dist2(x, d, i, j)) }

// BenchmarkKNN times IVF-Flat (build and search, defaults, k = 15) and,
// below 200,000 points, the exact search, over $SCBENCH_BENCH_ROWS points
// (default 20,000; 1306127 is the atlas) of 50-dimensional blobs, with
// the recall of 1,000 sampled points against knn.ExactSearch. The
// floor at 1.3M points is in knn.go.
func BenchmarkKNN(b *testing.B) {
	n := benchRows(b, 20000)
	const d, k = 50, 15
	x := backendtest.Blobs(n, d, 2)
	be := openCL(b)
	methods := []string{"ivfflat"}
	if n < 200000 {
		methods = append(methods, "exact")
	}
	for _, m := range methods {
		b.Run(m, func(b *testing.B) {
			var idx []int32
			for b.Loop() {
				var err error
				if idx, _, err = be.KNN(x, n, d, k, backend.KNNParams{Method: m}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
			b.ReportMetric(sampledRecall(b, x, n, d, k, idx), "recall")
		})
	}
}

// sampledRecall returns the recall of idx on 1,000 random points against
// knn.ExactSearch (which finds the point itself at distance 0 too).
func sampledRecall(b *testing.B, x []float32, n, d, k int, idx []int32) float64 {
	rng := rand.New(rand.NewPCG(3, 3))
	const m = 1000
	q := make([]float32, m*d)
	rows := make([]int, m)
	for s := range rows {
		rows[s] = rng.IntN(n)
		copy(q[s*d:(s+1)*d], x[rows[s]*d:])
	}
	ex, err := knn.ExactSearch(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, blas32.General{Rows: m, Cols: d, Stride: d, Data: q}, k, 0)
	if err != nil {
		b.Fatal(err)
	}
	hits := 0
	for s, i := range rows {
		got := idx[i*k : (i+1)*k]
		for _, want := range ex.Indices[s*k : (s+1)*k] {
			for _, g := range got {
				if g == want {
					hits++
					break
				}
			}
		}
	}
	return float64(hits) / float64(m*k)
}

// TestShardedKNN runs the ShardedNeighborSearcher conformance tests on two
// contexts of the OpenCL device.
func TestShardedKNN(t *testing.T) {
	backendtest.RunShardedKNN(t, openCLSuite)
}
