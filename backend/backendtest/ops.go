package backendtest

import (
	"fmt"
	"math"
	"slices"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

func testRowStats(e *env) {
	for _, s := range shapes {
		e.run(s.String(), func(e *env) {
			h := randCSR(e.rng, s)
			d := e.upload(h)
			out := backend.RowStats{Sum: e.alloc(backend.Float64, h.Rows), NNZ: e.alloc(backend.Int32, h.Rows)}
			// Stale contents are overwritten, not added to.
			e.check(e.be.Write(out.Sum, randFloats(e.rng, h.Rows)), "Write")
			e.check(e.be.RowStats(d, out), "RowStats")
			sum, scale, nnz := refRowStats(h)
			e.sums("Sum", e.f64(out.Sum), sum, scale, 1e-9)
			if got := e.i32(out.NNZ); !slices.Equal(got, nnz) {
				e.t.Errorf("NNZ = %v, want %v", head(got), head(nnz))
			}
		})
	}
}

// head returns at most the first 20 elements of s, for messages.
func head[T any](s []T) []T {
	return s[:min(len(s), 20)]
}

func testColStats(e *env) {
	for _, cols := range []int{1, 13, 301} {
		for _, vals := range []values{counts, reals} {
			for _, how := range []string{"nil", "all", "none", "random"} {
				for _, opt := range []string{"full", "sum-only"} {
					name := fmt.Sprintf("%d/%v/mask-%s/%s", cols, vals, how, opt)
					e.run(name, func(e *env) { colStatsCase(e, cols, vals, how, opt == "full") })
				}
			}
		}
	}
}

// colStatsCase accumulates ColStats over several chunks into accumulators
// that start non-zero, and compares with the reference.
func colStatsCase(e *env, cols int, vals values, how string, full bool) {
	want := newColStats(cols)
	init := randFloats(e.rng, cols)
	initSq := randFloats(e.rng, cols)
	initNNZ := make([]int64, cols)
	for j := range initNNZ {
		initNNZ[j] = int64(e.rng.IntN(1000))
	}
	copy(want.sum, init)
	copy(want.sumSq, initSq)
	copy(want.nnz, initNNZ)
	for j := range cols {
		want.scale[j] = math.Abs(init[j]) + math.Abs(initSq[j])
	}
	acc := backend.ColStats{Sum: e.buf(slices.Clone(init))}
	if full {
		acc.SumSq = e.buf(slices.Clone(initSq))
		acc.NNZ = e.buf(slices.Clone(initNNZ))
	}
	for _, h := range e.chunks(cols, vals, true) {
		var mask backend.Buffer
		var m []uint8
		if how != "nil" {
			m = randMask(e.rng, h.Rows, how)
			mask = e.buf(m)
		}
		want.add(h, m)
		e.check(e.be.ColStats(e.upload(h), mask, acc), "ColStats")
	}
	e.sums("Sum", e.f64(acc.Sum), want.sum, want.scale, 1e-9)
	if full {
		// The squares' scale: the sum of squares is a sum of non-negative
		// terms, so its own value (plus the start) bounds it.
		sqScale := make([]float64, cols)
		for j := range sqScale {
			sqScale[j] = math.Abs(want.sumSq[j]) + 2*math.Abs(initSq[j])
		}
		e.sums("SumSq", e.f64(acc.SumSq), want.sumSq, sqScale, 1e-9)
		if got := e.i64(acc.NNZ); !slices.Equal(got, want.nnz) {
			e.t.Errorf("NNZ = %v, want %v", head(got), head(want.nnz))
		}
	}
}

// transformCase uploads a random matrix of shape s, applies op to it, and
// checks the values against want (computed from the host values) and that
// the structure did not change.
func transformCase(e *env, s shape, op func(d backend.CSR, h *sparse.CSR) error, want func(h *sparse.CSR, k int, v float32) float64) {
	h := randCSR(e.rng, s)
	d := e.upload(h)
	e.check(op(d, h), "operation")
	got := e.download(d)
	w := make([]float64, len(h.Data))
	for i := 0; i < h.Rows; i++ {
		for k := h.Indptr[i]; k < h.Indptr[i+1]; k++ {
			w[k] = want(h, int(k), h.Data[k])
		}
	}
	if !slices.Equal(got.Indptr, h.Indptr) || !slices.Equal(got.Indices, h.Indices) {
		e.t.Fatalf("the operation changed the matrix's structure")
	}
	e.elementwise("Data", got.Data, w)
}

func testScaleRows(e *env) {
	for _, s := range shapes {
		e.run(s.String(), func(e *env) {
			f := randFloats(e.rng, s.rows)
			var row []int // row of each stored value
			transformCase(e, s, func(d backend.CSR, h *sparse.CSR) error {
				row = make([]int, h.NNZ())
				for i := 0; i < h.Rows; i++ {
					for k := h.Indptr[i]; k < h.Indptr[i+1]; k++ {
						row[k] = i
					}
				}
				return e.be.ScaleRows(d, e.buf(f))
			}, func(h *sparse.CSR, k int, v float32) float64 {
				return float64(v) * f[row[k]]
			})
		})
	}
}

func testScaleCols(e *env) {
	for _, s := range shapes {
		e.run(s.String(), func(e *env) {
			f := randFloats(e.rng, s.cols)
			transformCase(e, s, func(d backend.CSR, h *sparse.CSR) error {
				return e.be.ScaleCols(d, e.buf(f))
			}, func(h *sparse.CSR, k int, v float32) float64 {
				return float64(v) * f[h.Indices[k]]
			})
		})
	}
}

func testLog1p(e *env) {
	for _, s := range shapes {
		for _, vals := range []values{counts, small} {
			s.vals = vals
			e.run(s.String(), func(e *env) {
				transformCase(e, s, func(d backend.CSR, h *sparse.CSR) error {
					return e.be.Log1p(d)
				}, func(h *sparse.CSR, k int, v float32) float64 {
					return math.Log1p(float64(v))
				})
			})
		}
	}
	// Values that are not counts: in (-1, 0), large, and the edges.
	e.run("edges", func(e *env) {
		vals := []float32{0, -0.5, -0.999999, 1e-30, -1e-30, 0x1p-29, 0x1p-28, 1e-7, 0.5, 1, 3, 1e6, 3e38, float32(math.Inf(1)), -1}
		h := &sparse.CSR{Rows: 1, Cols: len(vals), Indptr: []int64{0, int64(len(vals))}, Data: vals}
		for j := range vals {
			h.Indices = append(h.Indices, int32(j))
		}
		d := e.upload(h)
		e.check(e.be.Log1p(d), "Log1p")
		w := make([]float64, len(vals))
		for k, v := range vals {
			w[k] = math.Log1p(float64(v))
		}
		e.elementwise("Data", e.download(d).Data, w)
	})
}

func testSelectRows(e *env) {
	for _, s := range shapes {
		for _, how := range []string{"all", "none", "random"} {
			e.run(s.String()+"/"+how, func(e *env) {
				h := randCSR(e.rng, s)
				keep := randMask(e.rng, h.Rows, how)
				d := e.upload(h)
				sel, err := e.be.SelectRows(d, e.buf(keep))
				e.check(err, "SelectRows")
				want := RefSelectRows(h, keep)
				e.sameCSR("SelectRows", e.download(sel), want)
				// The selection has memory of its own.
				e.check(e.be.Log1p(d), "Log1p")
				e.sameCSR("SelectRows after changing its input", e.download(sel), want)
				sel.Free()
			})
		}
	}
}

func testSelectCols(e *env) {
	for _, s := range shapes {
		for _, how := range []string{"none", "all", "subset", "permuted-subset"} {
			e.run(s.String()+"/"+how, func(e *env) {
				h := randCSR(e.rng, s)
				newIndex := make([]int32, h.Cols)
				newCols := 0
				switch how {
				case "none":
					for j := range newIndex {
						newIndex[j] = -1
					}
				case "all":
					for j := range newIndex {
						newIndex[j] = int32(j)
					}
					newCols = h.Cols
				default:
					for j := range newIndex {
						newIndex[j] = -1
						if e.rng.IntN(3) > 0 {
							newIndex[j] = int32(newCols)
							newCols++
						}
					}
					if how == "permuted-subset" {
						perm := e.rng.Perm(newCols)
						for j, t := range newIndex {
							if t >= 0 {
								newIndex[j] = int32(perm[t])
							}
						}
					}
				}
				d := e.upload(h)
				sel, err := e.be.SelectCols(d, e.buf(newIndex), newCols)
				e.check(err, "SelectCols")
				want := RefSelectCols(h, newIndex, newCols)
				e.sameCSR("SelectCols", e.download(sel), want)
				e.check(e.be.Log1p(d), "Log1p")
				e.sameCSR("SelectCols after changing its input", e.download(sel), want)
				sel.Free()
			})
		}
	}
}
