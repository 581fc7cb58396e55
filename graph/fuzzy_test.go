package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/sparse"
)

// fuzzyTestLists makes random kNN lists for n points in 3-D: the exact k
// nearest, self first, with a few exact duplicates of other points so
// that some rows hold several zero distances.
func fuzzyTestLists(rng *rand.Rand, n, k int) ([]int32, []float32) {
	x := make([]float64, 3*n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for range n / 10 { // duplicates
		i, j := rng.IntN(n), rng.IntN(n)
		copy(x[3*i:3*i+3], x[3*j:3*j+3])
	}
	idx := make([]int32, n*k)
	dst := make([]float32, n*k)
	type cand struct {
		j int32
		d float64
	}
	c := make([]cand, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for d := 0; d < 3; d++ {
				t := x[3*i+d] - x[3*j+d]
				s += t * t
			}
			c[j] = cand{int32(j), math.Sqrt(s)}
		}
		// Self first even when a duplicate ties it at 0.
		c[i].d = -1
		slices.SortStableFunc(c, func(a, b cand) int {
			if a.d < b.d {
				return -1
			}
			if a.d > b.d {
				return 1
			}
			return 0
		})
		for p := 0; p < k; p++ {
			idx[i*k+p] = c[p].j
			dst[i*k+p] = float32(max(c[p].d, 0))
		}
	}
	return idx, dst
}

// fuzzyDenseReference writes the paper's formulas out plainly, in float64,
// on dense n x n matrices.
func fuzzyDenseReference(idx []int32, dst []float32, n, k int) (conn, dist [][]float64) {
	target := math.Log2(float64(k))
	var meanAll float64
	for _, d := range dst {
		meanAll += float64(d)
	}
	meanAll /= float64(n * k)
	a := make([][]float64, n)
	dist = make([][]float64, n)
	for i := 0; i < n; i++ {
		a[i] = make([]float64, n)
		dist[i] = make([]float64, n)
		d := make([]float64, k)
		for p := range d {
			d[p] = float64(dst[i*k+p])
		}
		rho := 0.0
		for _, v := range d {
			if v > 0 {
				rho = v
				break
			}
		}
		f := func(sigma float64) float64 {
			s := 0.0
			for _, v := range d[1:] {
				s += math.Exp(-math.Max(0, v-rho) / sigma)
			}
			return s
		}
		lo, hi, sigma := 0.0, math.Inf(1), 1.0
		for it := 0; it < 64 && math.Abs(f(sigma)-target) >= 1e-5; it++ {
			if f(sigma) > target {
				hi = sigma
			} else {
				lo = sigma
			}
			if math.IsInf(hi, 1) {
				sigma = 2 * lo
			} else {
				sigma = (lo + hi) / 2
			}
		}
		mean := meanAll
		if rho > 0 {
			mean = 0
			for _, v := range d {
				mean += v / float64(k)
			}
		}
		sigma = math.Max(sigma, 1e-3*mean)
		for p := 0; p < k; p++ {
			j := int(idx[i*k+p])
			if j == i {
				continue
			}
			w := 1.0
			if d[p] > rho {
				w = math.Exp(-(d[p] - rho) / sigma)
			}
			a[i][j] += w
			dist[i][j] += d[p]
		}
	}
	conn = make([][]float64, n)
	for i := range conn {
		conn[i] = make([]float64, n)
		for j := range conn[i] {
			conn[i][j] = a[i][j] + a[j][i] - a[i][j]*a[j][i]
		}
	}
	return conn, dist
}

func fuzzyCompareDense(t *testing.T, name string, got *sparse.CSR, want [][]float64, rel float64) {
	t.Helper()
	if err := got.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n := len(want)
	worst := 0.0
	for i := 0; i < n; i++ {
		cols, vals := got.Row(i)
		if !slices.IsSorted(cols) {
			t.Fatalf("%s: row %d columns not sorted: %v", name, i, cols)
		}
		nz := 0
		for _, w := range want[i] {
			if w != 0 {
				nz++
			}
		}
		if nz != len(cols) {
			t.Fatalf("%s: row %d has %d entries, want %d", name, i, len(cols), nz)
		}
		for p, j := range cols {
			w := want[i][j]
			e := math.Abs(float64(vals[p])-w) / math.Abs(w)
			worst = max(worst, e)
			if !(e <= rel) {
				t.Fatalf("%s[%d, %d] = %v, want %v (relative error %.2g)", name, i, j, vals[p], w, e)
			}
		}
	}
	t.Logf("%s: max relative error %.3g", name, worst)
}

func TestConnectivitiesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, c := range []struct{ n, k int }{{37, 5}, {211, 15}, {150, 30}, {9, 2}} {
		idx, dst := fuzzyTestLists(rng, c.n, c.k)
		conn, dist, err := Connectivities(idx, dst, c.n, c.k)
		if err != nil {
			t.Fatal(err)
		}
		wantConn, wantDist := fuzzyDenseReference(idx, dst, c.n, c.k)
		fuzzyCompareDense(t, "conn", conn, wantConn, 1e-4)
		fuzzyCompareDense(t, "dist", dist, wantDist, 1e-6)
	}
}

func TestConnectivitiesErrors(t *testing.T) {
	if _, _, err := Connectivities([]int32{0, 1, 1}, []float32{0, 1, 0}, 2, 2); err == nil {
		t.Error("short lists: no error")
	}
	if _, _, err := Connectivities([]int32{0, 5, 1, 0}, []float32{0, 1, 0, 1}, 2, 2); err == nil {
		t.Error("index out of range: no error")
	}
	if _, _, err := Connectivities([]int32{0, 1, 1, 0}, []float32{0, float32(math.NaN()), 0, 1}, 2, 2); err == nil {
		t.Error("NaN distance: no error")
	}
}

func TestSmoothKNNDistLocalConnectivity(t *testing.T) {
	// rho interpolates between the non-zero distances.
	d := []float32{0, 0, 1, 2, 4, 8}
	for _, c := range []struct{ lc, rho float64 }{{1, 1}, {1.5, 1.5}, {2, 2}, {0.5, 0.5}, {0, 0}, {9, 8}} {
		_, rho, err := SmoothKNNDist(d, 1, 6, c.lc)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rho[0]-c.rho) > 1e-12 {
			t.Errorf("local connectivity %v: rho = %v, want %v", c.lc, rho[0], c.rho)
		}
	}
}

func TestConnectivitiesScanpy(t *testing.T) {
	for _, ds := range []string{"synth5k", "brain10k"} {
		t.Run(ds, func(t *testing.T) {
			refDist := shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/distances.csv.gz"))
			refConn := shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/connectivities.csv.gz"))
			idx, dst, k := shareddata.ListsFromDistances(t, refDist)
			conn, dist, err := Connectivities(idx, dst, refDist.Rows, k)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want *sparse.CSR
			}{{"connectivities", conn, refConn}, {"distances", dist, refDist}} {
				if c.got.Rows != c.want.Rows || c.got.NNZ() != c.want.NNZ() {
					t.Fatalf("%s: %d rows, %d entries; scanpy has %d rows, %d entries",
						c.name, c.got.Rows, c.got.NNZ(), c.want.Rows, c.want.NNZ())
				}
				worst := 0.0
				for p := range c.want.Data {
					if c.got.Indices[p] != c.want.Indices[p] {
						t.Fatalf("%s: sparsity pattern differs at entry %d (column %d, scanpy %d)",
							c.name, p, c.got.Indices[p], c.want.Indices[p])
					}
					w := float64(c.want.Data[p])
					e := math.Abs(float64(c.got.Data[p])-w) / math.Abs(w)
					worst = max(worst, e)
				}
				if !slices.Equal(c.got.Indptr, c.want.Indptr) {
					t.Fatalf("%s: row pointers differ", c.name)
				}
				t.Logf("%s %s: %d cells, %d entries, max relative error %.3g", ds, c.name, c.got.Rows, c.got.NNZ(), worst)
				if worst > 1e-4 {
					t.Errorf("%s %s: max relative error %.3g > 1e-4", ds, c.name, worst)
				}
			}
		})
	}
}
