package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	plain := make([]float64, d*d)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for p, j := range idx {
			for q := p; q < len(idx); q++ {
				plain[int(j)*d+int(idx[q])] += float64(val[p]) * float64(val[q])
			}
		}
	}
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
