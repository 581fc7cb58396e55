package knn

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

// randomMatrix returns an n x d matrix (row stride d+pad, the padding
// filled with garbage that must never be read) of Gaussian blobs.
func randomMatrix(rng *rand.Rand, n, d, pad, blobs int) blas32.General {
	stride := d + pad
	x := blas32.General{Rows: n, Cols: d, Stride: stride, Data: make([]float32, n*stride)}
	centers := make([]float64, blobs*d)
	for i := range centers {
		centers[i] = rng.NormFloat64() * 5
	}
	for i := 0; i < n; i++ {
		b := rng.IntN(blobs)
		for k := 0; k < stride; k++ {
			if k >= d {
				x.Data[i*stride+k] = float32(math.NaN())
				continue
			}
			x.Data[i*stride+k] = float32(centers[b*d+k] + rng.NormFloat64())
		}
	}
	return x
}

// bruteForce is the float64 reference: for each query, all points sorted
// by (squared distance, index); with self, the query first.
func bruteForce(x, q blas32.General, k int, self bool) ([]int32, []float64) {
	idx := make([]int32, q.Rows*k)
	dist := make([]float64, q.Rows*k)
	type cand struct {
		d  float64
		id int32
	}
	cands := make([]cand, 0, x.Rows)
	for i := 0; i < q.Rows; i++ {
		cands = cands[:0]
		qi := q.Data[i*q.Stride : i*q.Stride+q.Cols]
		for p := 0; p < x.Rows; p++ {
			if self && p == i {
				continue
			}
			xp := x.Data[p*x.Stride : p*x.Stride+x.Cols]
			var s float64
			for c := range qi {
				t := float64(qi[c]) - float64(xp[c])
				s += t * t
			}
			cands = append(cands, cand{s, int32(p)})
		}
		slices.SortFunc(cands, func(a, b cand) int { return byDistance(a.d, a.id, b.d, b.id) })
		o := 0
		if self {
			idx[i*k], dist[i*k] = int32(i), 0
			o = 1
		}
		for c := o; c < k; c++ {
			idx[i*k+c] = cands[c-o].id
			dist[i*k+c] = math.Sqrt(cands[c-o].d)
		}
	}
	return idx, dist
}

// sameNeighbors requires identical indices and distances within float32
// rounding of the reference.
func sameNeighbors(t *testing.T, what string, got Neighbors, idx []int32, dist []float64) {
	t.Helper()
	if len(got.Indices) != len(idx) || len(got.Distances) != len(dist) {
		t.Fatalf("%s: got %d indices, %d distances; want %d", what, len(got.Indices), len(got.Distances), len(idx))
	}
	for i := range idx {
		if got.Indices[i] != idx[i] {
			t.Fatalf("%s: row %d column %d: index %d, want %d (distance %g, want %g)", what, i/got.K, i%got.K, got.Indices[i], idx[i], got.Distances[i], dist[i])
		}
		if float64(got.Distances[i]) != float64(float32(dist[i])) {
			t.Fatalf("%s: row %d column %d: distance %g, want %g", what, i/got.K, i%got.K, got.Distances[i], dist[i])
		}
	}
}

func TestExactRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, d, k, pad, blobs int }{
		{1, 3, 1, 0, 1},
		{2, 1, 2, 1, 1},
		{2, 50, 1, 0, 1},
		{16, 3, 16, 2, 2},
		{17, 1, 5, 0, 3},
		{97, 50, 15, 7, 4},
		{389, 3, 15, 0, 5},
		{1031, 50, 15, 50, 9},
		{713, 7, 30, 1, 3},
	} {
		x := randomMatrix(rng, tc.n, tc.d, tc.pad, tc.blobs)
		idx, dist := bruteForce(x, x, tc.k, true)
		for _, threads := range []int{1, 3} {
			got, err := Exact(x, tc.k, threads)
			if err != nil {
				t.Fatalf("n=%d d=%d k=%d: %v", tc.n, tc.d, tc.k, err)
			}
			sameNeighbors(t, "Exact", got, idx, dist)
		}
		q := randomMatrix(rng, 1+tc.n/3, tc.d, 1, tc.blobs)
		kk := min(tc.k, tc.n)
		idx, dist = bruteForce(x, q, kk, false)
		got, err := ExactSearch(x, q, kk, 2)
		if err != nil {
			t.Fatal(err)
		}
		sameNeighbors(t, "ExactSearch", got, idx, dist)
	}
}

// Duplicated points tie at distance 0: the query itself still comes
// first, then its copies by index.
func TestExactDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := randomMatrix(rng, 40, 5, 0, 2)
	n := 123
	x := blas32.General{Rows: n, Cols: 5, Stride: 5, Data: make([]float32, n*5)}
	for i := 0; i < n; i++ {
		copy(x.Data[i*5:i*5+5], base.Data[(i%40)*5:(i%40)*5+5])
	}
	got, err := Exact(x, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	idx, dist := bruteForce(x, x, 6, true)
	sameNeighbors(t, "Exact duplicates", got, idx, dist)
	ids, ds := got.Row(45) // copies of row 5: 5, 45, 85
	if want := []int32{45, 5, 85}; !slices.Equal(ids[:3], want) || ds[1] != 0 || ds[2] != 0 {
		t.Errorf("row 45 starts %v at %v, want %v at 0", ids[:3], ds[:3], want)
	}
	// All points identical: every row is itself then the smallest indices.
	same := blas32.General{Rows: 9, Cols: 3, Stride: 3, Data: slices.Repeat([]float32{1.5, -2, 7}, 9)}
	got, err = Exact(same, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ = got.Row(2)
	if want := []int32{2, 0, 1, 3}; !slices.Equal(ids, want) {
		t.Errorf("identical points: row 2 is %v, want %v", ids, want)
	}
}

func TestExactErrors(t *testing.T) {
	x := blas32.General{Rows: 3, Cols: 2, Stride: 2, Data: []float32{0, 1, 2, 3, 4, 5}}
	for _, k := range []int{0, 4} {
		if _, err := Exact(x, k, 1); err == nil {
			t.Errorf("k=%d over 3 points: no error", k)
		}
	}
	bad := x
	bad.Data = []float32{0, 1, 2, float32(math.NaN()), 4, 5}
	if _, err := Exact(bad, 2, 1); err == nil {
		t.Error("NaN coordinate: no error")
	}
	if _, err := Exact(blas32.General{Rows: 2, Stride: 1, Data: []float32{0, 0}}, 1, 1); err == nil {
		t.Error("no columns: no error")
	}
	short := x
	short.Data = x.Data[:5]
	if _, err := Exact(short, 2, 1); err == nil {
		t.Error("short Data: no error")
	}
}

// The assembly kernel must agree with the portable one.
func TestKernel(t *testing.T) {
	if kernelName == "go" {
		t.Skip("SKIP: no assembly kernel on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kc := range []int{1, 2, 3, 17, 50, 101} {
		a := make([]float32, kc*tileRows)
		b := make([]float32, kc*panelWidth)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		pn := make([]float32, panelWidth)
		for i := range pn {
			pn[i] = float32(rng.Float64() * 10)
		}
		qn := []float32{1, 2, 3, 4, 5, 6}
		var c1, c2 [tileRows * panelWidth]float32
		for _, thr := range [][]float32{
			{-1e30, -1e30, -1e30, -1e30, -1e30, -1e30},
			{-1e30, -1e30, -1e30, -1e30, -1e30, 1e30},
			{1e30, -1e30, -1e30, -1e30, -1e30, -1e30},
			{1e30, 1e30, 1e30, 1e30, 1e30, 1e30},
			{5, 6, 7, 8, 9, 10},
		} {
			lo1, hi1 := kernelGo(kc, a, b, pn, qn, thr, c1[:])
			lo2, hi2 := kernel(kc, a, b, pn, qn, thr, c2[:])
			if lo1 != lo2 || hi1 != hi2 {
				t.Errorf("kc=%d thr=%v: mask %#x %#x, portable kernel %#x %#x", kc, thr, hi2, lo2, hi1, lo1)
			}
			for i := range c1 {
				if d := math.Abs(float64(c1[i] - c2[i])); d > 1e-4*(1+math.Abs(float64(c1[i]))) {
					t.Fatalf("kc=%d: c[%d] = %g, portable kernel %g", kc, i, c2[i], c1[i])
				}
			}
		}
	}
}

// The assembly distance must equal the portable one bit for bit, and
// both must be within rounding of a sequential float64 sum.
func TestSqdist(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{0, 1, 3, 7, 8, 9, 16, 30, 50, 101} {
		for trial := 0; trial < 20; trial++ {
			q := make([]float32, d)
			p := make([]float32, d+3)
			for i := range q {
				q[i] = float32(rng.NormFloat64() * 10)
				p[i] = float32(rng.NormFloat64() * 10)
			}
			var ref float64
			for i := range q {
				t := float64(q[i]) - float64(p[i])
				ref += t * t
			}
			got, asm := sqdist64Go(q, p), sqdist(q, p)
			if got != asm {
				t.Fatalf("d=%d: %s kernel %v, portable %v", d, kernelName, asm, got)
			}
			if math.Abs(got-ref) > 1e-14*ref {
				t.Fatalf("d=%d: %v, sequential sum %v", d, got, ref)
			}
		}
	}
}

// byDistance orders (distance, index) pairs: nearer first, ties by the
// smaller index.
func byDistance[F float32 | float64](ad F, ai int32, bd F, bi int32) int {
	if c := cmp.Compare(ad, bd); c != 0 {
		return c
	}
	return cmp.Compare(ai, bi)
}
