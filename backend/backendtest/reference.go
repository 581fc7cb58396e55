package backendtest

import (
	"math"

	"github.com/scbench/scbench/sparse"
)

// The references below are the plainest loops over a host matrix, in
// float64. Each returns, next to the result, the sum of the absolute
// values of the terms that went into every element, which scales the
// rounding error that a different order of additions may make.

func refRowStats(m *sparse.CSR) (sum, scale []float64, nnz []int32) {
	sum, scale, nnz = make([]float64, m.Rows), make([]float64, m.Rows), make([]int32, m.Rows)
	for i := 0; i < m.Rows; i++ {
		_, val := m.Row(i)
		for _, v := range val {
			sum[i] += float64(v)
			scale[i] += math.Abs(float64(v))
			if v != 0 {
				nnz[i]++
			}
		}
	}
	return sum, scale, nnz
}

type colStats struct {
	sum, sumSq, scale []float64
	nnz               []int64
}

func newColStats(n int) colStats {
	return colStats{make([]float64, n), make([]float64, n), make([]float64, n), make([]int64, n)}
}

// add adds m's rows that mask keeps (all when mask is nil) into c.
func (c colStats) add(m *sparse.CSR, mask []uint8) {
	for i := 0; i < m.Rows; i++ {
		if mask != nil && mask[i] == 0 {
			continue
		}
		idx, val := m.Row(i)
		for k, j := range idx {
			v := float64(val[k])
			c.sum[j] += v
			c.sumSq[j] += v * v
			c.scale[j] += math.Abs(v)
			if v != 0 {
				c.nnz[j]++
			}
		}
	}
}

// refGram adds m^T m into the upper triangle of the d x d matrix c, and the
// absolute values of the products into scale.
func refGram(m *sparse.CSR, c, scale []float64) {
	d := m.Cols
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for p, j := range idx {
			for q, k := range idx {
				if j > k {
					continue
				}
				x := float64(val[p]) * float64(val[q])
				c[int(j)*d+int(k)] += x
				scale[int(j)*d+int(k)] += math.Abs(x)
			}
		}
	}
}

// refSpMM returns m * b (b is m.Cols x k, row-major) and the scales.
func refSpMM(m *sparse.CSR, b []float64, k int) (out, scale []float64) {
	out, scale = make([]float64, m.Rows*k), make([]float64, m.Rows*k)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for p, c := range idx {
			for j := 0; j < k; j++ {
				x := float64(val[p]) * b[int(c)*k+j]
				out[i*k+j] += x
				scale[i*k+j] += math.Abs(x)
			}
		}
	}
	return out, scale
}

// refSpMMT returns mᵀ * b (b is m.Rows x k, row-major) and the scales.
func refSpMMT(m *sparse.CSR, b []float64, k int) (out, scale []float64) {
	out, scale = make([]float64, m.Cols*k), make([]float64, m.Cols*k)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for p, c := range idx {
			for j := 0; j < k; j++ {
				x := float64(val[p]) * b[i*k+j]
				out[int(c)*k+j] += x
				scale[int(c)*k+j] += math.Abs(x)
			}
		}
	}
	return out, scale
}

// refGemm returns alpha*op(a)*op(b) + beta*c (beta == 0 ignores c) and the
// scales; a is ar x ac, b is br x bc, c is m x n.
func refGemm(tA, tB bool, alpha float64, a []float64, ar, ac int, b []float64, br, bc int, beta float64, c []float64) (out, scale []float64) {
	at := func(i, l int) float64 {
		if tA {
			return a[l*ac+i]
		}
		return a[i*ac+l]
	}
	bt := func(l, j int) float64 {
		if tB {
			return b[j*bc+l]
		}
		return b[l*bc+j]
	}
	m, k := ar, ac
	if tA {
		m, k = ac, ar
	}
	n := bc
	if tB {
		n = br
	}
	out, scale = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sc float64
			for l := 0; l < k; l++ {
				x := at(i, l) * bt(l, j)
				s += x
				sc += math.Abs(x)
			}
			out[i*n+j] = alpha * s
			scale[i*n+j] = math.Abs(alpha) * sc
			if beta != 0 {
				out[i*n+j] += beta * c[i*n+j]
				scale[i*n+j] += math.Abs(beta * c[i*n+j])
			}
		}
	}
	return out, scale
}

// RefSelectRows returns the rows of m that keep keeps. It and
// RefSelectCols serve the backends' own tests too.
func RefSelectRows(m *sparse.CSR, keep []uint8) *sparse.CSR {
	out := &sparse.CSR{Cols: m.Cols, Indptr: []int64{0}, Indices: []int32{}, Data: []float32{}}
	for i := 0; i < m.Rows; i++ {
		if keep[i] == 0 {
			continue
		}
		idx, val := m.Row(i)
		out.Indices = append(out.Indices, idx...)
		out.Data = append(out.Data, val...)
		out.Indptr = append(out.Indptr, int64(len(out.Data)))
		out.Rows++
	}
	return out
}

// RefSelectCols returns m restricted to the columns with newIndex >= 0,
// renumbered, entries in their order within each row.
func RefSelectCols(m *sparse.CSR, newIndex []int32, newCols int) *sparse.CSR {
	out := &sparse.CSR{Rows: m.Rows, Cols: newCols, Indptr: []int64{0}, Indices: []int32{}, Data: []float32{}}
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, c := range idx {
			if t := newIndex[c]; t >= 0 {
				out.Indices = append(out.Indices, t)
				out.Data = append(out.Data, val[k])
			}
		}
		out.Indptr = append(out.Indptr, int64(len(out.Data)))
	}
	return out
}
