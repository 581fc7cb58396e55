package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// TestGramDenseTiles runs GramAccumulate and GramAccumulateOrdered with
// every split between sparse and dense tiles that matters (all dense, one
// sparse block, all but one, all sparse), with each assembly kernel that
// the CPU runs (AVX2, AVX-512) and with the Go one, on awkward shapes
// (block widths that leave groups of 8 and 4 columns and a Go remainder),
// against a plain sequential loop. On rows without repeated columns the
// products are exact and every element receives them in row order, so the
// bits must match; with repeated columns (summed first) only to rounding.
func TestGramDenseTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		name              string
		rows, cols, nnz   int
		repeats, permuted bool
	}{
		{"777 columns", 1500, 777, 120, false, false},
		{"777 columns, ordered", 1500, 777, 120, false, true},
		{"300 columns (thin bands)", 300, 300, 250, false, true},
		{"one row", 1, 600, 400, false, false},
		{"1000 columns, sparse", 2000, 1000, 60, false, true},
		{"repeated columns", 400, 530, 90, true, true},
	}
	// The Go kernel, and each assembly one that this CPU runs.
	kernels := []gramKernelSet{{name: "go"}}
	for _, ks := range gramKernelSets() {
		if !ks.ok {
			t.Logf("the %s dense Gram kernel is not tested: this CPU lacks its instructions", ks.name)
			continue
		}
		kernels = append(kernels, ks)
	}
	for _, tc := range cases {
		m := gramTestMatrix(rng, tc.rows, tc.cols, tc.nnz, tc.repeats)
		d := m.Cols
		var rank []int32
		if tc.permuted {
			rank = make([]int32, d)
			for j, r := range rng.Perm(d) {
				rank[j] = int32(r)
			}
		}
		want := plainGram(m, rank, 2)
		nb := (d + gramBlock - 1) / gramBlock
		for _, ks := range kernels {
			for _, threads := range []int{1, 3} {
				for _, nbs := range []int{0, 1, nb - 1, nb} {
					b := New(threads)
					if ks.gram == nil {
						b.kern = nil
					} else {
						kern := *b.kern
						kern.gram = ks.gram
						b.kern = &kern
					}
					b.gram.fixed, b.gram.nbs = true, nbs
					dm, err := b.Upload(m)
					if err != nil {
						t.Fatal(err)
					}
					c := backend.Dense{Rows: d, Cols: d, Data: Wrap(make([]float64, d*d))}
					// Twice: the second call adds onto the first.
					for range 2 {
						if err := b.GramAccumulateOrdered(dm, c, rank); err != nil {
							t.Fatal(err)
						}
					}
					got := Slice[float64](c.Data)
					for j := 0; j < d; j++ {
						for k := j; k < d; k++ {
							g, w := got[j*d+k], want[j*d+k]
							if tc.repeats && math.Abs(g-w) <= 1e-12*(1+math.Abs(w)) || math.Float64bits(g) == math.Float64bits(w) {
								continue
							}
							t.Fatalf("%s, %s kernel, %d threads, %d of %d blocks sparse: C[%d,%d] = %.17g, want %.17g", tc.name, ks.name, threads, nbs, nb, j, k, g, w)
						}
					}
				}
			}
		}
	}
}

// gramTestMatrix returns a rows x cols matrix of about nnz values a row
// (normal, non-integer, of both signs; a tenth of the rows empty), the
// columns of each row increasing unless repeats, which puts some rows'
// values in random order with repeated columns.
func gramTestMatrix(rng *rand.Rand, rows, cols, nnz int, repeats bool) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	p := float64(nnz) / float64(cols)
	for i := 0; i < rows; i++ {
		if rng.IntN(10) > 0 {
			if repeats && rng.IntN(2) == 0 {
				for range rng.IntN(2 * nnz) {
					m.Indices = append(m.Indices, int32(rng.IntN(cols)))
					m.Data = append(m.Data, float32(rng.NormFloat64()))
				}
			} else {
				for j := 0; j < cols; j++ {
					if rng.Float64() < p {
						m.Indices = append(m.Indices, int32(j))
						m.Data = append(m.Data, float32(rng.NormFloat64()))
					}
				}
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

// plainGram is m^T m's upper triangle (columns renumbered by rank when it
// is not nil) added reps times over, by a sequential loop over the rows;
// repeated columns add their products like any others.
func plainGram(m *sparse.CSR, rank []int32, reps int) []float64 {
	d := m.Cols
	c := make([]float64, d*d)
	for range reps {
		for i := 0; i < m.Rows; i++ {
			idx, val := m.Row(i)
			for p, j := range idx {
				for q, k := range idx {
					a, b := j, k
					if rank != nil {
						a, b = rank[a], rank[b]
					}
					if a <= b {
						c[int(a)*d+int(b)] += float64(val[p]) * float64(val[q])
					}
				}
			}
		}
	}
	return c
}
