package gpu_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/knn"
)

// bruteQuery is the float64 reference of KNNQuery: for each query row,
// every row of x sorted by squared distance (differences of the float32
// coordinates, summed in float64), ties by the smaller index, the first k.
func bruteQuery(x []float32, n, d int, queries []int32, k int) ([]int32, []float64) {
	idx := make([]int32, len(queries)*k)
	dist := make([]float64, len(queries)*k)
	order := make([]int32, n)
	d2 := make([]float64, n)
	for r, q := range queries {
		for j := range n {
			s := 0.0
			for c := range d {
				e := float64(x[int(q)*d+c]) - float64(x[j*d+c])
				s += e * e
			}
			d2[j], order[j] = s, int32(j)
		}
		slices.SortFunc(order, func(a, b int32) int {
			if c := cmp.Compare(d2[a], d2[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for c := range k {
			idx[r*k+c] = order[c]
			dist[r*k+c] = math.Sqrt(d2[order[c]])
		}
	}
	return idx, dist
}

// TestKNNQuery compares the device's exact search of chosen rows with a
// float64 brute force and with knn.ExactSearch, on clustered data of
// awkward sizes, with duplicated rows (a query whose twin has a smaller
// index comes second) and with repeated queries.
func TestKNNQuery(t *testing.T) {
	be := openCL(t)
	for _, tc := range []struct{ n, d, nq, k int }{
		{3001, 50, 157, 15},
		{777, 13, 777, 64},
		{1000, 30, 33, 16},
		{97, 3, 5, 1},
		{41, 7, 40, 41 - 5},
	} {
		t.Run(fmt.Sprintf("%dx%d_q%d_k%d", tc.n, tc.d, tc.nq, tc.k), func(t *testing.T) {
			x := backendtest.Blobs(tc.n, tc.d, uint64(tc.n+tc.k))
			rng := rand.New(rand.NewPCG(uint64(tc.nq), 3))
			// Rows 2m+1 copy rows 2m for the first tenth of the rows.
			for m := 0; 2*m+1 < tc.n/10; m++ {
				copy(x[(2*m+1)*tc.d:(2*m+2)*tc.d], x[2*m*tc.d:(2*m+1)*tc.d])
			}
			queries := make([]int32, tc.nq)
			for i := range queries {
				queries[i] = int32(rng.IntN(tc.n))
			}
			queries[0] = 1 // a duplicate of row 0
			if tc.nq > 2 {
				queries[2] = queries[1]
			}
			start := time.Now()
			idx, dist, err := be.KNNQuery(x, tc.n, tc.d, queries, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d queries over %d x %d points: %.3f s", tc.nq, tc.n, tc.d, time.Since(start).Seconds())
			want, wantDist := bruteQuery(x, tc.n, tc.d, queries, tc.k)
			for e := range want {
				if idx[e] != want[e] {
					t.Fatalf("query %d (row %d) neighbour %d: %d, brute force %d", e/tc.k, queries[e/tc.k], e%tc.k, idx[e], want[e])
				}
				if float64(dist[e]) != float64(float32(wantDist[e])) {
					t.Fatalf("query %d neighbour %d: distance %g, brute force %g", e/tc.k, e%tc.k, dist[e], wantDist[e])
				}
			}
			if tc.k > 1 && (idx[0] != 0 || idx[1] != 1) {
				t.Errorf("row 1, a copy of row 0: neighbours %v, want 0 then 1", idx[:2])
			}
			qx := make([]float32, tc.nq*tc.d)
			for i, q := range queries {
				copy(qx[i*tc.d:(i+1)*tc.d], x[int(q)*tc.d:int(q+1)*tc.d])
			}
			host, err := knn.ExactSearch(blas32.General{Rows: tc.n, Cols: tc.d, Stride: tc.d, Data: x},
				blas32.General{Rows: tc.nq, Cols: tc.d, Stride: tc.d, Data: qx}, tc.k, 0)
			if err != nil {
				t.Fatal(err)
			}
			for e := range host.Indices {
				if idx[e] != host.Indices[e] || dist[e] != host.Distances[e] {
					t.Fatalf("query %d neighbour %d: %d at %g, knn.ExactSearch %d at %g", e/tc.k, e%tc.k, idx[e], dist[e], host.Indices[e], host.Distances[e])
				}
			}
		})
	}
}

// TestKNNQueryErrors checks that bad shapes and queries are refused.
func TestKNNQueryErrors(t *testing.T) {
	be := openCL(t)
	x := backendtest.Blobs(50, 4, 1)
	for _, tc := range []struct {
		name    string
		x       []float32
		n, d, k int
		q       []int32
		shape   bool
	}{
		{"short x", x[:199], 50, 4, 3, []int32{0}, true},
		{"k zero", x, 50, 4, 0, []int32{0}, true},
		{"k over n", x, 50, 4, 51, []int32{0}, true},
		{"k over the device limit", backendtest.Blobs(100, 4, 1), 100, 4, 65, []int32{0}, false},
		{"query negative", x, 50, 4, 3, []int32{3, -1}, true},
		{"query past n", x, 50, 4, 3, []int32{50}, true},
		{"no points", nil, 0, 4, 1, nil, true},
	} {
		_, _, err := be.KNNQuery(tc.x, tc.n, tc.d, tc.q, tc.k)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, backend.ErrShape) != tc.shape {
			t.Errorf("%s: %v (wraps ErrShape: %v, want %v)", tc.name, err, !tc.shape, tc.shape)
		}
	}
	bad := slices.Clone(x)
	bad[77] = float32(math.NaN())
	if _, _, err := be.KNNQuery(bad, 50, 4, []int32{1}, 3); err == nil {
		t.Error("NaN coordinates: no error")
	}
	idx, dist, err := be.KNNQuery(x, 50, 4, nil, 3)
	if err != nil || len(idx) != 0 || len(dist) != 0 {
		t.Errorf("no queries: %d indices, %d distances, %v", len(idx), len(dist), err)
	}
}
