package backendtest

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// transposeShapes are the Transpose cases beyond shapes: rows of
// thousands of values over more columns than a GPU tile takes (3,072),
// thousands of rows of a few columns (many row blocks), and a matrix with
// no rows.
var transposeShapes = []shape{
	{rows: 3, cols: 7001, density: 0.7, vals: reals, unsorted: true},
	{rows: 5, cols: 3079, density: 0.9, vals: counts},
	{rows: 20011, cols: 5, density: 0.4, vals: reals},
	{rows: 4099, cols: 61, density: 0.3, vals: counts, unsorted: true},
	{rows: 0, cols: 7, density: 0.5, vals: reals},
}

// testTranspose checks backend.Transposer, where the backend has it: the
// result against the host transpose exactly (row pointers, indices and
// value bits: each row of the result in increasing row order, whatever
// the order of m's rows), m left as it was, the transpose of the
// transpose, two runs giving the same arrays, and column indices outside
// the matrix refused.
func testTranspose(e *env) {
	tr, ok := e.be.(backend.Transposer)
	if !ok {
		e.t.Skipf("the %s backend has no Transposer", e.be.Device().Backend)
	}
	for _, s := range append(append([]shape(nil), shapes...), transposeShapes...) {
		e.run(s.String(), func(e *env) {
			h := randCSR(e.rng, s)
			m := e.upload(h)
			defer m.Free()
			mt := e.transpose(tr, m)
			defer mt.Free()
			e.sameCSR("Transpose", e.download(mt), refTranspose(h))
			e.sameCSR("the matrix after Transpose", e.download(m), h)
			mtt := e.transpose(tr, mt)
			defer mtt.Free()
			e.sameCSR("the transpose of the transpose", e.download(mtt), sortedRows(h))
		})
	}
	e.run("twice", func(e *env) {
		h := randCSR(e.rng, shape{rows: 3001, cols: 3089, density: 0.05, vals: reals, unsorted: true})
		m := e.upload(h)
		defer m.Free()
		a, b := e.transpose(tr, m), e.transpose(tr, m)
		defer a.Free()
		defer b.Free()
		e.sameCSR("the second Transpose", e.download(b), e.download(a))
	})
	e.run("bad-index", func(e *env) {
		for _, bad := range []int32{13, -1, math.MaxInt32} {
			h := randCSR(e.rng, shape{rows: 97, cols: 13, density: 0.3, vals: counts})
			h.Indices[len(h.Indices)/2] = bad
			m, err := e.be.Upload(h)
			e.check(err, "Upload")
			_, err = tr.Transpose(m)
			e.wantShape(err, fmt.Sprintf("Transpose of a matrix with column index %d of 13", bad))
			m.Free()
		}
	})
	e.run("freed", func(e *env) {
		m := e.upload(randCSR(e.rng, shape{rows: 7, cols: 13, density: 0.4, vals: counts}))
		m.Free()
		if _, err := tr.Transpose(m); err == nil {
			e.t.Errorf("Transpose of a freed matrix: no error")
		}
	})
}

// transpose returns tr.Transpose(m) after checking its shape.
func (e *env) transpose(tr backend.Transposer, m backend.CSR) backend.CSR {
	e.t.Helper()
	mt, err := tr.Transpose(m)
	e.check(err, "Transpose")
	if mt.Rows != m.Cols || mt.Cols != m.Rows || mt.NNZ != m.NNZ {
		e.t.Fatalf("Transpose of %d x %d with %d values gave %d x %d with %d", m.Rows, m.Cols, m.NNZ, mt.Rows, mt.Cols, mt.NNZ)
	}
	return mt
}

// refTranspose returns mᵀ, each row (a column of m) in increasing row
// order of m.
func refTranspose(m *sparse.CSR) *sparse.CSR {
	out := &sparse.CSR{Rows: m.Cols, Cols: m.Rows, Indptr: make([]int64, m.Cols+1), Indices: []int32{}, Data: []float32{}}
	cols := make([][]int32, m.Cols)
	vals := make([][]float32, m.Cols)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, j := range idx {
			cols[j] = append(cols[j], int32(i))
			vals[j] = append(vals[j], val[k])
		}
	}
	for j := range cols {
		out.Indices = append(out.Indices, cols[j]...)
		out.Data = append(out.Data, vals[j]...)
		out.Indptr[j+1] = int64(len(out.Data))
	}
	return out
}

// sortedRows returns m with each row's entries in increasing column order.
func sortedRows(m *sparse.CSR) *sparse.CSR {
	return refTranspose(refTranspose(m))
}

// testSpMMLong checks SpMM on matrices whose rows hold thousands of
// values (the transposed matrix of PCA's eigensolve: a GPU gives each row
// a work-group), and SpMM on a transpose against SpMMT on the matrix.
func testSpMMLong(e *env) {
	for _, s := range []shape{
		{rows: 37, cols: 20011, density: 0.6, vals: reals},
		{rows: 11, cols: 12007, density: 0.9, vals: counts, unsorted: true},
		{rows: 301, cols: 1031, density: 0.5, vals: reals, unsorted: true},
	} {
		for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
			for _, k := range []int{1, 8, 13} {
				e.run(fmt.Sprintf("%v/%v/k=%d", s, kind, k), func(e *env) { spmmCase(e, s, kind, k) })
			}
		}
	}
	tr, ok := e.be.(backend.Transposer)
	if !ok {
		return
	}
	// A 3001 x 613 matrix at 40% density: its transpose has rows of about
	// 1,000 values.
	for _, k := range []int{1, 8, 13} {
		e.run(fmt.Sprintf("transpose/k=%d", k), func(e *env) {
			h := randCSR(e.rng, shape{rows: 3001, cols: 613, density: 0.4, vals: reals, unsorted: true})
			bh := randFloats(e.rng, h.Rows*k)
			want, scale := refSpMMT(h, bh, k)
			m := e.upload(h)
			defer m.Free()
			mt := e.transpose(tr, m)
			defer mt.Free()
			out := e.dense(h.Cols, k, make([]float64, h.Cols*k), backend.Float64)
			e.check(e.be.SpMM(mt, e.dense(h.Rows, k, bh, backend.Float64), out), "SpMM")
			e.sums("SpMM(mᵀ, b)", e.f64(out.Data), want, scale, 1e-9)
		})
	}
}
