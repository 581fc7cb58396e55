package cpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// TestProductKernels compares the assembly row kernels of SpMM and SpMMT
// (when the CPU has them) with the Go loops of a backend without them, on
// widths that use every panel size and a Go tail (k = 1..37), and rows of
// 0 to 9 values (the unrolled loops' remainders).
func TestProductKernels(t *testing.T) {
	simd := New(2)
	if simd.kern == nil {
		t.Skip("SKIP: no AVX2+FMA kernels on this CPU or build (noasm): the conformance suite covers the Go loops")
	}
	plain := New(2)
	plain.kern = nil
	rng := rand.New(rand.NewPCG(5, 6))
	m := randMatrix(rng, 300, 211, 5)
	// Rows with 0..9 values at the front.
	for i := 0; i < 10; i++ {
		n := int(m.Indptr[i+1] - m.Indptr[i])
		if n > i {
			m.Indices = append(m.Indices[:m.Indptr[i]+int64(i)], m.Indices[m.Indptr[i+1]:]...)
			m.Data = append(m.Data[:m.Indptr[i]+int64(i)], m.Data[m.Indptr[i+1]:]...)
			for r := i + 1; r <= m.Rows; r++ {
				m.Indptr[r] -= int64(n - i)
			}
		}
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// Wide products on a larger matrix.
	big := randMatrix(rng, 3001, 211, 30)
	type tc struct {
		m *sparse.CSR
		k int
	}
	var cases []tc
	for _, k := range []int{1, 3, 4, 5, 8, 12, 13, 16, 20, 24, 28, 29, 37} {
		cases = append(cases, tc{m, k})
	}
	cases = append(cases, tc{big, 17}, tc{big, 100})
	for _, c := range cases {
		m, k := c.m, c.k
		b := make([]float64, m.Cols*k)
		bt := make([]float64, m.Rows*k)
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		for i := range bt {
			bt[i] = rng.NormFloat64()
		}
		run := func(be *Backend) (spmm, spmmt []float64) {
			dm, err := be.Upload(m)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float64, m.Rows*k)
			outT := make([]float64, m.Cols*k)
			if err := be.SpMM(dm, backend.Dense{Rows: m.Cols, Cols: k, Data: Wrap(b)}, backend.Dense{Rows: m.Rows, Cols: k, Data: Wrap(out)}); err != nil {
				t.Fatal(err)
			}
			if err := be.SpMMT(dm, backend.Dense{Rows: m.Rows, Cols: k, Data: Wrap(bt)}, backend.Dense{Rows: m.Cols, Cols: k, Data: Wrap(outT)}); err != nil {
				t.Fatal(err)
			}
			return out, outT
		}
		s1, t1 := run(simd)
		s2, t2 := run(plain)
		// The kernels fuse multiply and add and sum in another order:
		// agreement to a few roundings of the terms' magnitudes.
		for i := range s1 {
			if math.Abs(s1[i]-s2[i]) > 1e-12*(1+math.Abs(s2[i])) {
				t.Fatalf("k=%d: SpMM element %d: kernel %.17g, Go %.17g", k, i, s1[i], s2[i])
			}
		}
		for i := range t1 {
			if math.Abs(t1[i]-t2[i]) > 1e-12*(1+math.Abs(t2[i])) {
				t.Fatalf("k=%d: SpMMT element %d: kernel %.17g, Go %.17g", k, i, t1[i], t2[i])
			}
		}
	}
}

// TestProductsBadIndex: a column index outside the matrix (Upload does
// not check them) is an ErrShape error, not a write out of bounds.
func TestProductsBadIndex(t *testing.T) {
	for _, be := range []*Backend{New(1), New(2)} {
		for _, kinds := range []bool{true, false} {
			if !kinds {
				be.kern = nil
			}
			m := randMatrix(rand.New(rand.NewPCG(7, 8)), 50, 40, 6)
			for _, bad := range []int32{40, -1} {
				m.Indices[len(m.Indices)/2] = bad
				dm, err := be.Upload(m)
				if err != nil {
					t.Fatal(err)
				}
				const k = 8
				f := func(n int) backend.Buffer { return Wrap(make([]float64, n)) }
				err = be.SpMM(dm, backend.Dense{Rows: 40, Cols: k, Data: f(40 * k)}, backend.Dense{Rows: 50, Cols: k, Data: f(50 * k)})
				if !errors.Is(err, backend.ErrShape) {
					t.Errorf("SpMM with column index %d: err = %v, want ErrShape", bad, err)
				}
				err = be.SpMMT(dm, backend.Dense{Rows: 50, Cols: k, Data: f(50 * k)}, backend.Dense{Rows: 40, Cols: k, Data: f(40 * k)})
				if !errors.Is(err, backend.ErrShape) {
					t.Errorf("SpMMT with column index %d: err = %v, want ErrShape", bad, err)
				}
			}
		}
	}
}
