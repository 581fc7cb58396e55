package backendtest

import (
	"math"
	"math/rand/v2"

	"github.com/scbench/scbench/sparse"
)

// values says what a random matrix holds.
type values int

const (
	counts values = iota // positive integers, mostly small, as in a count matrix
	reals                // signed reals over several orders of magnitude
	small                // non-negative reals, some below 2^-29 (Log1p's tiny path)
)

func (v values) String() string {
	return [...]string{"counts", "reals", "small"}[v]
}

// shape is one random-matrix case.
type shape struct {
	rows, cols int
	density    float64 // chance that a (row, column) is stored
	vals       values
	unsorted   bool // shuffle the column indices within rows
}

// randCSR returns a random matrix of the shape. About 15% of its rows are
// empty and 3% are full; 2% of the stored values are explicit zeros; column
// indices within a row are distinct. Unless it has no rows or columns, it
// stores at least one value that is not zero.
func randCSR(rng *rand.Rand, s shape) *sparse.CSR {
	m := &sparse.CSR{Rows: s.rows, Cols: s.cols, Indptr: make([]int64, s.rows+1)}
	for i := 0; i < s.rows; i++ {
		u := rng.Float64()
		start := len(m.Indices)
		switch {
		case u < 0.15:
		case u < 0.18:
			for j := 0; j < s.cols; j++ {
				m.Indices = append(m.Indices, int32(j))
			}
		default:
			for j := 0; j < s.cols; j++ {
				if rng.Float64() < s.density {
					m.Indices = append(m.Indices, int32(j))
				}
			}
		}
		if s.unsorted {
			row := m.Indices[start:]
			rng.Shuffle(len(row), func(a, b int) { row[a], row[b] = row[b], row[a] })
		}
		for range m.Indices[start:] {
			m.Data = append(m.Data, randValue(rng, s.vals))
		}
		m.Indptr[i+1] = int64(len(m.Indices))
	}
	if s.rows > 0 && s.cols > 0 {
		nonzero := false
		for _, v := range m.Data {
			nonzero = nonzero || v != 0
		}
		if !nonzero {
			// Put one value in a row that has none, so rows stay distinct.
			i, j := rng.IntN(s.rows), rng.IntN(s.cols)
			m = withValue(m, i, j, 1)
		}
	}
	if m.Indices == nil {
		m.Indices, m.Data = []int32{}, []float32{}
	}
	return m
}

// withValue returns m with (i, j) set to v, for a matrix with no non-zero
// value (so any entry (i, j) it stores is a zero that can be overwritten).
func withValue(m *sparse.CSR, i, j int, v float32) *sparse.CSR {
	out := &sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: make([]int64, m.Rows+1)}
	for r := 0; r < m.Rows; r++ {
		idx, val := m.Row(r)
		done := false
		for k, c := range idx {
			if r == i && int(c) == j {
				val[k], done = v, true
			}
			out.Indices = append(out.Indices, c)
			out.Data = append(out.Data, val[k])
		}
		if r == i && !done {
			out.Indices = append(out.Indices, int32(j))
			out.Data = append(out.Data, v)
		}
		out.Indptr[r+1] = int64(len(out.Data))
	}
	return out
}

func randValue(rng *rand.Rand, v values) float32 {
	if rng.Float64() < 0.02 {
		return 0
	}
	switch v {
	case counts:
		// Geometric-like: mostly 1-3, now and then in the hundreds.
		return float32(1 + math.Floor(rng.ExpFloat64()*math.Pow(2, float64(rng.IntN(8)))))
	case reals:
		return float32(rng.NormFloat64() * math.Pow(10, 4*rng.Float64()-2))
	default:
		return float32(rng.ExpFloat64() * math.Pow(2, -40*rng.Float64()))
	}
}

// randFloats returns n reals, signed, over a few orders of magnitude.
func randFloats(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * math.Pow(10, 2*rng.Float64()-1)
	}
	return x
}

// randMask returns n flags: all set, none set, or each set with chance 1/2.
func randMask(rng *rand.Rand, n int, how string) []uint8 {
	m := make([]uint8, n)
	for i := range m {
		switch how {
		case "all":
			m[i] = 1
		case "random":
			if rng.IntN(2) == 0 {
				m[i] = uint8(1 + rng.IntN(255)) // any non-zero value keeps
			}
		}
	}
	return m
}
