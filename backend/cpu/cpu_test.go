package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/sparse"
)

func TestConformance(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend { return New(threads) })
		})
	}
}

func TestUploadShares(t *testing.T) {
	b := New(2)
	m := randMatrix(rand.New(rand.NewPCG(1, 2)), 97, 301, 30)
	d, err := b.Upload(m)
	if err != nil {
		t.Fatal(err)
	}
	if &Slice[float32](d.Data)[0] != &m.Data[0] || &Slice[int32](d.Indices)[0] != &m.Indices[0] || &Slice[int64](d.Indptr)[0] != &m.Indptr[0] {
		t.Errorf("Upload copied the host arrays")
	}
	h, err := b.Download(d)
	if err != nil {
		t.Fatal(err)
	}
	if &h.Data[0] != &m.Data[0] {
		t.Errorf("Download copied the arrays")
	}
	s := []float64{1, 2, 3}
	w := Wrap(s)
	if w.Kind() != backend.Float64 || w.Len() != 3 || &Slice[float64](w)[0] != &s[0] {
		t.Errorf("Wrap: kind %v, len %d, or a copy", w.Kind(), w.Len())
	}
}

func TestSlicePanics(t *testing.T) {
	for name, b := range map[string]backend.Buffer{
		"wrong kind": Wrap([]float32{1}),
		"freed":      func() backend.Buffer { b := Wrap([]float64{1}); b.Free(); return b }(),
		"nil":        nil,
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Slice[float64] did not panic", name)
				}
			}()
			Slice[float64](b)
		}()
	}
}

// TestGramThreadIndependent checks the stronger property GramAccumulate
// has on the CPU: the same bits for every thread count, equal to a plain
// sequential loop (on sorted rows, where the order of additions into each
// element is the row order).
func TestGramThreadIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := randMatrix(rng, 1500, 777, 120)
	d := m.Cols
	plain := plainGram(m, nil, 1)
	for _, threads := range []int{1, 2, 3, 5} {
		b := New(threads)
		dm, err := b.Upload(m)
		if err != nil {
			t.Fatal(err)
		}
		c := backend.Dense{Rows: d, Cols: d, Data: Wrap(make([]float64, d*d))}
		if err := b.GramAccumulate(dm, c); err != nil {
			t.Fatal(err)
		}
		got := Slice[float64](c.Data)
		for j := 0; j < d; j++ {
			for k := j; k < d; k++ {
				if math.Float64bits(got[j*d+k]) != math.Float64bits(plain[j*d+k]) {
					t.Fatalf("threads=%d: C[%d,%d] = %.17g, the sequential loop gives %.17g", threads, j, k, got[j*d+k], plain[j*d+k])
				}
			}
		}
	}
}

// TestLog1p32 checks the fast log1p against float32(math.Log1p) on values
// spread over float32's whole range, counts, and the tiny-value boundary.
func TestLog1p32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var diff, n int
	check := func(x float32) {
		n++
		got, want := log1p32(x), float32(math.Log1p(float64(x)))
		if got == want || math.IsNaN(float64(got)) && math.IsNaN(float64(want)) {
			return
		}
		diff++
		// Only a float32 rounding apart.
		if u := math.Float32bits(got) - math.Float32bits(want); u != 1 && u != math.MaxUint32 {
			t.Errorf("log1p32(%g) = %g, want %g", x, got, want)
		}
	}
	for i := 0; i < 1_000_000; i++ {
		check(math.Float32frombits(rng.Uint32() & 0x7fffffff)) // every non-negative float32, NaN and Inf included
		check(float32(rng.IntN(100000)))
		check(-rng.Float32())
	}
	for x := float32(0x1p-30); x < 0x1p-27; x = math.Nextafter32(x, 1) {
		check(x)
		check(-x)
	}
	for _, x := range []float32{0, float32(math.Copysign(0, -1)), -1, -2, float32(math.Inf(1)), float32(math.Inf(-1))} {
		check(x)
	}
	if diff > n/1_000_000+1 {
		t.Errorf("log1p32 differs from float32(math.Log1p) by one rounding on %d of %d values", diff, n)
	}
	t.Logf("log1p32 differs from float32(math.Log1p) on %d of %d values (by one float32 ulp)", diff, n)
}

// randMatrix returns a rows x cols matrix with about nnz sorted values per
// row, count-like, some rows empty.
func randMatrix(rng *rand.Rand, rows, cols, nnz int) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	p := float64(nnz) / float64(cols)
	for i := 0; i < rows; i++ {
		if rng.IntN(10) > 0 {
			for j := 0; j < cols; j++ {
				if rng.Float64() < p {
					m.Indices = append(m.Indices, int32(j))
					m.Data = append(m.Data, float32(1+rng.IntN(20)))
				}
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

// TestEigSymTopTolInPlace: EigSymTopTol reads only a's upper triangle and
// mirrors it into the lower one in place, giving the bits it gives on the
// whole symmetric matrix, with each residual within tol of its eigenvalue.
func TestEigSymTopTolInPlace(t *testing.T) {
	const n, k, tol = 301, 7, 1e-6
	rng := rand.New(rand.NewPCG(15, 16))
	// A = Q diag(s) Q^T + a little symmetric noise, s spanning decades.
	q := make([]float64, n*n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	full := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			var v float64
			for r := 0; r < 20; r++ {
				v += math.Pow(0.6, float64(r)) * q[r*n+i] * q[r*n+j]
			}
			v += 1e-3 * rng.NormFloat64()
			full[i*n+j], full[j*n+i] = v, v
		}
	}
	upper := slices.Clone(full)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			upper[i*n+j] = rng.NormFloat64() * 1e6 // the lower triangle may hold anything
		}
	}
	b := New(2)
	wantVals, wantVecs, err := b.EigSymTopTol(backend.Dense{Rows: n, Cols: n, Data: Wrap(slices.Clone(full))}, k, tol)
	if err != nil {
		t.Fatal(err)
	}
	vals, vecs, err := b.EigSymTopTol(backend.Dense{Rows: n, Cols: n, Data: Wrap(upper)}, k, tol)
	if err != nil {
		t.Fatal(err)
	}
	if sameBits64(vals, wantVals) != -1 || sameBits64(Slice[float64](vecs.Data), Slice[float64](wantVecs.Data)) != -1 {
		t.Fatalf("eigenpairs from the upper triangle differ from those of the whole matrix: %v vs %v", vals, wantVals)
	}
	if i := sameBits64(upper, full); i != -1 {
		t.Fatalf("after the call a[%d] = %g, want the mirrored matrix's %g", i, upper[i], full[i])
	}
	v := Slice[float64](vecs.Data)
	for c := 0; c < k; c++ {
		var res float64
		for i := 0; i < n; i++ {
			s := -vals[c] * v[i*k+c]
			for j := 0; j < n; j++ {
				s += full[i*n+j] * v[j*k+c]
			}
			res += s * s
		}
		if math.Sqrt(res) > 2*tol*math.Abs(vals[c]) {
			t.Errorf("eigenpair %d: residual %.3g, more than tol %g times |%g|", c, math.Sqrt(res), tol, vals[c])
		}
	}
}
