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
	m := shortRowsMatrix(t, rng)
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

// shortRowsMatrix returns a random 300 x 211 matrix whose first rows have
// 0 to 9 values (the unrolled loops' remainders).
func shortRowsMatrix(t *testing.T, rng *rand.Rand) *sparse.CSR {
	t.Helper()
	m := randMatrix(rng, 300, 211, 5)
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
	return m
}

// TestSpMM32Kernels checks each float32 SpMM kernel set the CPU runs
// against a float64 product of the same float32 operands, on widths that
// use every panel and a Go tail, rows of 0 to 9 values and long ones. The
// kernels sum in float32: the bound is (terms+2) roundings of the sum of
// the terms' magnitudes, the conformance suite's.
func TestSpMM32Kernels(t *testing.T) {
	sets := spmm32KernelSets()
	if len(sets) == 0 {
		t.Skip("SKIP: no assembly kernels on this architecture or build (noasm): the conformance suite covers the Go loop")
	}
	rng := rand.New(rand.NewPCG(25, 26))
	short := shortRowsMatrix(t, rng)
	big := randMatrix(rng, 1501, 2111, 300)
	for _, set := range sets {
		if !set.ok {
			t.Logf("%s kernels: this CPU does not run them; untested here", set.name)
			continue
		}
		be := New(2)
		be.kern = &rowKernels{name: set.name, spmm32: set.ks}
		for _, m := range []*sparse.CSR{short, big} {
			for _, k := range []int{1, 3, 4, 5, 8, 12, 16, 17, 28, 32, 36, 48, 64, 100, 101, 124} {
				b := make([]float32, m.Cols*k)
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				dm, err := be.Upload(m)
				if err != nil {
					t.Fatal(err)
				}
				out := make([]float32, m.Rows*k)
				for i := range out {
					out[i] = float32(math.NaN()) // overwritten, never read
				}
				if err := be.SpMM(dm, backend.Dense{Rows: m.Cols, Cols: k, Data: Wrap(b)}, backend.Dense{Rows: m.Rows, Cols: k, Data: Wrap(out)}); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < m.Rows; i++ {
					lo, hi := m.Indptr[i], m.Indptr[i+1]
					for j := 0; j < k; j++ {
						want, mag := 0.0, 0.0
						for q := lo; q < hi; q++ {
							v := float64(m.Data[q]) * float64(b[int(m.Indices[q])*k+j])
							want += v
							mag += math.Abs(v)
						}
						got := float64(out[i*k+j])
						if math.Abs(got-want) > float64(hi-lo+2)*0x1p-24*mag || math.IsNaN(got) {
							t.Fatalf("%s, %d x %d, k = %d: out[%d, %d] = %v, want %v", set.name, m.Rows, m.Cols, k, i, j, got, want)
						}
					}
				}
			}
		}
		t.Logf("%s kernels checked", set.name)
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
				f32 := func(n int) backend.Buffer { return Wrap(make([]float32, n)) }
				err = be.SpMM(dm, backend.Dense{Rows: 40, Cols: k, Data: f32(40 * k)}, backend.Dense{Rows: 50, Cols: k, Data: f32(50 * k)})
				if !errors.Is(err, backend.ErrShape) {
					t.Errorf("float32 SpMM with column index %d: err = %v, want ErrShape", bad, err)
				}
				err = be.SpMMT(dm, backend.Dense{Rows: 50, Cols: k, Data: f(50 * k)}, backend.Dense{Rows: 40, Cols: k, Data: f(40 * k)})
				if !errors.Is(err, backend.ErrShape) {
					t.Errorf("SpMMT with column index %d: err = %v, want ErrShape", bad, err)
				}
			}
		}
	}
}
