package backendtest

import (
	"fmt"
	"math"
	"slices"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// testGramOrdered checks backend.GramOrderer, where the backend has it:
// over several chunks (empty ones, one row, sorted and unsorted rows, rows
// that repeat a column), C[rank[j], rank[k]] against the float64 reference
// of the renumbered matrix, for a random permutation, the reversal and the
// identity; nil rank as GramAccumulate; and ranks that are not
// permutations refused with ErrShape; then GramUnorder's matrix in m's
// numbering, both triangles.
func testGramOrdered(e *env) {
	g, ok := e.be.(backend.GramOrderer)
	if !ok {
		e.t.Skipf("the %s backend has no GramOrderer", e.be.Device().Backend)
	}
	for _, d := range []int{1, 13, 301, 613} {
		for _, order := range []string{"random", "reversed", "identity", "nil"} {
			for _, unsorted := range []bool{false, true} {
				name := fmt.Sprintf("%d/%s", d, order)
				if unsorted {
					name += "/unsorted"
				}
				e.run(name, func(e *env) { gramOrderedCase(e, g, d, order, unsorted) })
			}
		}
	}
	e.run("not-a-permutation", func(e *env) {
		const d = 7
		m := e.upload(randCSR(e.rng, shape{rows: 5, cols: d, density: 0.5, vals: counts}))
		defer m.Free()
		c := e.dense(d, d, make([]float64, d*d), backend.Float64)
		for _, rank := range [][]int32{{0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5, 5}, {0, 1, 2, 3, 4, 5, 7}, {-1, 1, 2, 3, 4, 5, 6}} {
			e.wantShape(g.GramAccumulateOrdered(m, c, rank), fmt.Sprintf("GramAccumulateOrdered with rank %v", rank))
			e.wantShape(g.GramUnorder(c, rank), fmt.Sprintf("GramUnorder with rank %v", rank))
		}
		e.wantShape(g.GramUnorder(e.dense(d, d-1, make([]float64, d*(d-1)), backend.Float64), nil), "GramUnorder of a 7 x 6 matrix")
	})
}

func gramOrderedCase(e *env, g backend.GramOrderer, d int, order string, unsorted bool) {
	var rank []int32
	switch order {
	case "random":
		rank = make([]int32, d)
		for j, p := range e.rng.Perm(d) {
			rank[j] = int32(p)
		}
	case "reversed", "identity":
		rank = make([]int32, d)
		for j := range rank {
			rank[j] = int32(j)
			if order == "reversed" {
				rank[j] = int32(d - 1 - j)
			}
		}
	}
	init := randFloats(e.rng, d*d)
	want, scale := slices.Clone(init), make([]float64, d*d)
	for i, x := range init {
		scale[i] = math.Abs(x)
	}
	c := e.dense(d, d, init, backend.Float64)
	chunks := e.chunks(d, reals, unsorted)
	chunks = append(chunks, withRepeats(chunks[3]))
	for _, h := range chunks {
		refGram(renumber(h, rank), want, scale)
		e.check(g.GramAccumulateOrdered(e.upload(h), c, rank), "GramAccumulateOrdered")
	}
	e.sums("upper triangle of C in the new numbering", upper(d, e.f64(c.Data)), upper(d, want), upper(d, scale), 1e-9)

	// Back in m's numbering: C[j, k] is the new numbering's upper-triangle
	// element of j and k, in both triangles.
	e.check(g.GramUnorder(c, rank), "GramUnorder")
	got := e.f64(c.Data)
	var gu, w, s []float64
	for j := 0; j < d; j++ {
		for k := 0; k < d; k++ {
			a, b := j, k
			if rank != nil {
				a, b = int(rank[j]), int(rank[k])
			}
			if a > b {
				a, b = b, a
			}
			if rank == nil && j > k {
				continue // nil rank: only the upper triangle is promised
			}
			gu = append(gu, got[j*d+k])
			w = append(w, want[a*d+b])
			s = append(s, scale[a*d+b])
		}
	}
	e.sums("C after GramUnorder", gu, w, s, 1e-9)
}

// renumber returns h with column j renamed rank[j] (h itself for nil
// rank); rows keep their order of entries.
func renumber(h *sparse.CSR, rank []int32) *sparse.CSR {
	if rank == nil {
		return h
	}
	out := &sparse.CSR{Rows: h.Rows, Cols: h.Cols, Indptr: h.Indptr, Data: h.Data, Indices: make([]int32, len(h.Indices))}
	for q, c := range h.Indices {
		out.Indices[q] = rank[c]
	}
	return out
}

// withRepeats returns a copy of h in which every third row with two or
// more entries repeats its first column in place of its second.
func withRepeats(h *sparse.CSR) *sparse.CSR {
	out := &sparse.CSR{Rows: h.Rows, Cols: h.Cols, Indptr: h.Indptr, Data: h.Data, Indices: slices.Clone(h.Indices)}
	for i := 0; i < h.Rows; i += 3 {
		lo, hi := h.Indptr[i], h.Indptr[i+1]
		if hi-lo >= 2 {
			out.Indices[lo+1] = out.Indices[lo]
		}
	}
	return out
}
