package backendtest

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/scbench/scbench/backend"
)

func testGram(e *env) {
	for _, cols := range []int{1, 13, 301, 613} {
		for _, vals := range []values{counts, reals} {
			for _, unsorted := range []bool{false, true} {
				name := fmt.Sprintf("%d/%v", cols, vals)
				if unsorted {
					name += "/unsorted"
				}
				e.run(name, func(e *env) { gramCase(e, cols, vals, unsorted) })
			}
		}
	}
}

// gramCase accumulates m^T m over several chunks into a C that starts with
// random values, and compares C's upper triangle with the reference.
func gramCase(e *env, d int, vals values, unsorted bool) {
	init := randFloats(e.rng, d*d)
	want, scale := slices.Clone(init), make([]float64, d*d)
	for i, x := range init {
		scale[i] = math.Abs(x)
	}
	c := e.dense(d, d, init, backend.Float64)
	for _, h := range e.chunks(d, vals, unsorted) {
		refGram(h, want, scale)
		e.check(e.be.GramAccumulate(e.upload(h), c), "GramAccumulate")
	}
	e.sums("upper triangle of C", upper(d, e.f64(c.Data)), upper(d, want), upper(d, scale), 1e-9)
}

// upper returns the upper triangle of the d x d matrix a, row by row.
func upper(d int, a []float64) []float64 {
	var out []float64
	for j := 0; j < d; j++ {
		out = append(out, a[j*d+j:j*d+d]...)
	}
	return out
}

func testSpMM(e *env) {
	for _, s := range shapes {
		for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
			for _, k := range []int{1, 13, 100} {
				if k == 100 && s.rows*s.cols > 100000 {
					continue
				}
				e.run(fmt.Sprintf("%v/%v/k=%d", s, kind, k), func(e *env) { spmmCase(e, s, kind, k) })
			}
		}
	}
}

func spmmCase(e *env, s shape, kind backend.Kind, k int) {
	h := randCSR(e.rng, s)
	bh := randFloats(e.rng, h.Cols*k)
	if kind == backend.Float32 {
		bh = to64(to32(bh)) // what the device holds
	}
	want, scale := refSpMM(h, bh, k)
	stale := make([]float64, h.Rows*k)
	for i := range stale {
		stale[i] = math.NaN() // out is overwritten, never read
	}
	out := e.dense(h.Rows, k, stale, kind)
	e.check(e.be.SpMM(e.upload(h), e.dense(h.Cols, k, bh, kind), out), "SpMM")
	if kind == backend.Float64 {
		e.sums("out", e.f64(out.Data), want, scale, 1e-9)
		return
	}
	// float32: a device may accumulate in float32, with an error of at most
	// (terms+1) roundings of the sum of the terms' magnitudes.
	e.sums("out", to64(e.f32(out.Data)), want, scale, float64(h.Cols+2)*0x1p-24)
}

func testSpMMT(e *env) {
	for _, s := range shapes {
		for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
			for _, k := range []int{1, 8, 13, 100} {
				if k == 100 && s.rows*s.cols > 100000 {
					continue
				}
				e.run(fmt.Sprintf("%v/%v/k=%d", s, kind, k), func(e *env) { spmmtCase(e, s, kind, k) })
			}
		}
	}
	// Several products into the same out (as PCA's matrix-free path
	// does): each overwrites it.
	e.run("reuse", func(e *env) {
		out := e.dense(613, 5, make([]float64, 613*5), backend.Float64)
		for _, rows := range []int{1031, 0, 97} {
			h := randCSR(e.rng, shape{rows: rows, cols: 613, density: 0.1, vals: reals})
			bh := randFloats(e.rng, rows*5)
			want, scale := refSpMMT(h, bh, 5)
			e.check(e.be.SpMMT(e.upload(h), e.dense(rows, 5, bh, backend.Float64), out), "SpMMT")
			e.sums(fmt.Sprintf("out after %d rows", rows), e.f64(out.Data), want, scale, 1e-9)
		}
	})
}

func spmmtCase(e *env, s shape, kind backend.Kind, k int) {
	h := randCSR(e.rng, s)
	bh := randFloats(e.rng, h.Rows*k)
	if kind == backend.Float32 {
		bh = to64(to32(bh)) // what the device holds
	}
	want, scale := refSpMMT(h, bh, k)
	stale := make([]float64, h.Cols*k)
	for i := range stale {
		stale[i] = math.NaN() // out is overwritten, never read
	}
	out := e.dense(h.Cols, k, stale, kind)
	e.check(e.be.SpMMT(e.upload(h), e.dense(h.Rows, k, bh, kind), out), "SpMMT")
	if kind == backend.Float64 {
		e.sums("out", e.f64(out.Data), want, scale, 1e-9)
		return
	}
	// float32: accumulation in float32 is allowed, as for SpMM.
	e.sums("out", to64(e.f32(out.Data)), want, scale, float64(h.Rows+2)*0x1p-24)
}

func testGemm(e *env) {
	sizes := [][3]int{{1, 1, 1}, {7, 13, 5}, {97, 31, 64}, {0, 3, 2}, {3, 0, 2}, {3, 4, 0}, {130, 70, 301}}
	for _, sz := range sizes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float64{0, 0.75} {
					name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/beta=%v", sz[0], sz[1], sz[2], tA, tB, beta)
					e.run(name, func(e *env) { gemmCase(e, sz[0], sz[1], sz[2], tA, tB, beta) })
				}
			}
		}
	}
}

func gemmCase(e *env, m, n, k int, tA, tB bool, beta float64) {
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	a, b := randFloats(e.rng, ar*ac), randFloats(e.rng, br*bc)
	c := randFloats(e.rng, m*n)
	if beta == 0 {
		for i := range c {
			c[i] = math.NaN() // beta == 0: c is not read
		}
	}
	alpha := 1 + e.rng.Float64()
	want, scale := refGemm(tA, tB, alpha, a, ar, ac, b, br, bc, beta, c)
	cd := e.dense(m, n, c, backend.Float64)
	e.check(e.be.Gemm(tA, tB, alpha, e.dense(ar, ac, a, backend.Float64), e.dense(br, bc, b, backend.Float64), beta, cd), "Gemm")
	e.sums("C", e.f64(cd.Data), want, scale, 1e-9)
}

func testEigSymTop(e *env) {
	cases := []struct {
		name    string
		n, k    int
		leading []float64 // the spectrum's largest values; the rest lie in [lo, 1]
		lo      float64
	}{
		{"1x1", 1, 1, []float64{5}, 0},
		{"1x1-negative", 1, 1, []float64{-3}, 0},
		{"7x7-all", 7, 7, []float64{100, 60, 35, 20, 12, 7, 3}, 0},
		{"7x7-none", 7, 0, []float64{100, 60}, 0},
		{"50x50", 50, 5, []float64{100, 60, 35, 20, 12}, 0},
		{"301x301", 301, 10, []float64{1000, 700, 500, 350, 250, 170, 120, 80, 50, 30}, 0},
		// The k largest are the algebraically largest, not the largest in
		// magnitude: -80 is not among them.
		{"60x60-indefinite", 60, 3, []float64{50, 30, 20, -80}, -1},
	}
	for _, tc := range cases {
		e.run(tc.name, func(e *env) { eigCase(e, tc.n, tc.k, tc.leading, tc.lo) })
	}
}

func eigCase(e *env, n, k int, leading []float64, lo float64) {
	// A = Q diag(spectrum) Q^T with Q a random orthogonal matrix.
	spec := make([]float64, n)
	for i := range spec {
		if i < len(leading) {
			spec[i] = leading[i]
		} else {
			spec[i] = lo + (1-lo)*e.rng.Float64()
		}
	}
	var qr mat.QR
	qr.Factorize(mat.NewDense(n, n, randFloats(e.rng, n*n)))
	var q mat.Dense
	qr.QTo(&q)
	var a mat.Dense
	a.Mul(&q, mat.NewDiagDense(n, spec))
	a.Mul(&a, q.T())
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (a.At(i, j)+a.At(j, i))/2)
		}
	}
	// The backend sees the upper triangle, and NaN below it.
	host := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			host[i*n+j] = math.NaN()
			if j >= i {
				host[i*n+j] = sym.At(i, j)
			}
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		e.t.Fatal("reference eigendecomposition failed")
	}
	refVals := es.Values(nil) // ascending
	var refVecs mat.Dense
	es.VectorsTo(&refVecs)
	norm := math.Max(math.Abs(refVals[0]), math.Abs(refVals[n-1]))

	ad := e.dense(n, n, host, backend.Float64)
	vals, vecs, err := e.be.EigSymTop(ad, k)
	e.check(err, "EigSymTop")
	if after := e.f64(ad.Data); !sameBits(after, host) {
		e.t.Errorf("EigSymTop changed its input")
	}
	if len(vals) != k || vecs.Rows != n || vecs.Cols != k || vecs.Data == nil || vecs.Data.Kind() != backend.Float64 || vecs.Data.Len() != n*k {
		e.t.Fatalf("EigSymTop(%d) returned %d values and a %d x %d matrix", k, len(vals), vecs.Rows, vecs.Cols)
	}
	v := e.f64(vecs.Data)
	for j := 0; j < k; j++ {
		want := refVals[n-1-j]
		if math.Abs(vals[j]-want) > 1e-8*norm {
			e.t.Errorf("eigenvalue %d = %.15g, want %.15g", j, vals[j], want)
		}
		col := make([]float64, n)
		var nrm, dot float64
		for i := range col {
			col[i] = v[i*k+j]
			nrm += col[i] * col[i]
			dot += col[i] * refVecs.At(i, n-1-j)
		}
		if math.Abs(math.Sqrt(nrm)-1) > 1e-8 {
			e.t.Errorf("eigenvector %d has norm %.15g", j, math.Sqrt(nrm))
		}
		if math.Abs(dot) < 1-1e-6 {
			e.t.Errorf("eigenvector %d: |cos| with the reference = %.12g", j, math.Abs(dot))
		}
		// A v = lambda v, from the upper triangle alone.
		var res float64
		for i := 0; i < n; i++ {
			var s float64
			for l := 0; l < n; l++ {
				s += sym.At(i, l) * col[l]
			}
			res = math.Max(res, math.Abs(s-vals[j]*col[i]))
		}
		if res > 1e-8*norm {
			e.t.Errorf("eigenpair %d: |A v - lambda v| = %.3g", j, res)
		}
		at := 0
		for i := range col {
			if math.Abs(col[i]) > math.Abs(col[at]) {
				at = i
			}
		}
		if col[at] <= 0 {
			e.t.Errorf("eigenvector %d: its largest-magnitude component %d is %g, not positive", j, at, col[at])
		}
	}
}

func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// testShapes checks that operands whose shapes or kinds disagree are
// refused with an ErrShape error.
func testShapes(e *env) {
	h := randCSR(e.rng, shape{rows: 97, cols: 13, density: 0.3, vals: counts})
	m := e.upload(h)
	r, c := h.Rows, h.Cols
	f64 := func(n int) backend.Buffer { return e.alloc(backend.Float64, n) }
	f32 := func(n int) backend.Buffer { return e.alloc(backend.Float32, n) }
	u8 := func(n int) backend.Buffer { return e.alloc(backend.Uint8, n) }
	i32 := func(n int) backend.Buffer { return e.alloc(backend.Int32, n) }
	i64 := func(n int) backend.Buffer { return e.alloc(backend.Int64, n) }

	badNNZ := m
	badNNZ.NNZ--
	e.wantShape(e.be.RowStats(badNNZ, backend.RowStats{Sum: f64(r), NNZ: i32(r)}), "RowStats of a CSR whose NNZ disagrees with its buffers")
	badRows := m
	badRows.Rows++
	e.wantShape(e.be.Log1p(badRows), "Log1p of a CSR whose Rows disagrees with Indptr")
	badKind := m
	badKind.Data = f64(int(m.NNZ))
	e.wantShape(e.be.Log1p(badKind), "Log1p of a CSR with float64 Data")

	e.wantShape(e.be.RowStats(m, backend.RowStats{Sum: f64(r + 1), NNZ: i32(r)}), "RowStats: Sum too long")
	e.wantShape(e.be.RowStats(m, backend.RowStats{Sum: f64(r), NNZ: i64(r)}), "RowStats: NNZ of int64")
	e.wantShape(e.be.RowStats(m, backend.RowStats{Sum: f32(r), NNZ: i32(r)}), "RowStats: Sum of float32")

	e.wantShape(e.be.ColStats(m, nil, backend.ColStats{Sum: f64(c - 1)}), "ColStats: Sum too short")
	e.wantShape(e.be.ColStats(m, nil, backend.ColStats{Sum: f64(c), SumSq: f64(c + 1)}), "ColStats: SumSq too long")
	e.wantShape(e.be.ColStats(m, nil, backend.ColStats{Sum: f64(c), NNZ: i32(c)}), "ColStats: NNZ of int32")
	e.wantShape(e.be.ColStats(m, u8(r-1), backend.ColStats{Sum: f64(c)}), "ColStats: mask too short")
	e.wantShape(e.be.ColStats(m, f32(r), backend.ColStats{Sum: f64(c)}), "ColStats: mask of float32")

	e.wantShape(e.be.ScaleRows(m, f64(c)), "ScaleRows: factors per column")
	e.wantShape(e.be.ScaleRows(m, f32(r)), "ScaleRows: float32 factors")
	e.wantShape(e.be.ScaleCols(m, f64(r)), "ScaleCols: factors per row")

	_, err := e.be.SelectRows(m, u8(r+1))
	e.wantShape(err, "SelectRows: keep too long")
	_, err = e.be.SelectRows(m, i32(r))
	e.wantShape(err, "SelectRows: keep of int32")
	_, err = e.be.SelectCols(m, i32(c-1), 3)
	e.wantShape(err, "SelectCols: newIndex too short")
	_, err = e.be.SelectCols(m, i64(c), 3)
	e.wantShape(err, "SelectCols: newIndex of int64")
	_, err = e.be.SelectCols(m, i32(c), -1)
	e.wantShape(err, "SelectCols: negative newCols")

	e.wantShape(e.be.GramAccumulate(m, backend.Dense{Rows: c, Cols: c + 1, Data: f64(c * (c + 1))}), "GramAccumulate: C not square")
	e.wantShape(e.be.GramAccumulate(m, backend.Dense{Rows: c, Cols: c, Data: f64(c*c - 1)}), "GramAccumulate: C's data too short")
	e.wantShape(e.be.GramAccumulate(m, backend.Dense{Rows: c, Cols: c, Data: f32(c * c)}), "GramAccumulate: float32 C")

	const k = 3
	e.wantShape(e.be.SpMM(m, backend.Dense{Rows: c + 1, Cols: k, Data: f64((c + 1) * k)}, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}), "SpMM: B has too many rows")
	e.wantShape(e.be.SpMM(m, backend.Dense{Rows: c, Cols: k, Data: f64(c * k)}, backend.Dense{Rows: r, Cols: k + 1, Data: f64(r * (k + 1))}), "SpMM: out too wide")
	e.wantShape(e.be.SpMM(m, backend.Dense{Rows: c, Cols: k, Data: f32(c * k)}, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}), "SpMM: float32 B into float64 out")
	e.wantShape(e.be.SpMM(m, backend.Dense{Rows: c, Cols: k, Data: i32(c * k)}, backend.Dense{Rows: r, Cols: k, Data: i32(r * k)}), "SpMM: int32 operands")
	e.wantShape(e.be.SpMM(m, backend.Dense{Rows: c, Cols: k, Data: f64(c*k - 1)}, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}), "SpMM: B's data too short")

	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: r + 1, Cols: k, Data: f64((r + 1) * k)}, backend.Dense{Rows: c, Cols: k, Data: f64(c * k)}), "SpMMT: B has too many rows")
	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: c, Cols: k, Data: f64(c * k)}, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}), "SpMMT: B and out swapped")
	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}, backend.Dense{Rows: c, Cols: k + 1, Data: f64(c * (k + 1))}), "SpMMT: out too wide")
	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: r, Cols: k, Data: f32(r * k)}, backend.Dense{Rows: c, Cols: k, Data: f64(c * k)}), "SpMMT: float32 B into float64 out")
	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: r, Cols: k, Data: i32(r * k)}, backend.Dense{Rows: c, Cols: k, Data: i32(c * k)}), "SpMMT: int32 operands")
	e.wantShape(e.be.SpMMT(m, backend.Dense{Rows: r, Cols: k, Data: f64(r * k)}, backend.Dense{Rows: c, Cols: k, Data: f64(c*k - 1)}), "SpMMT: out's data too short")

	dense := func(rows, cols int) backend.Dense {
		return backend.Dense{Rows: rows, Cols: cols, Data: f64(rows * cols)}
	}
	e.wantShape(e.be.Gemm(false, false, 1, dense(3, 4), dense(5, 2), 0, dense(3, 2)), "Gemm: inner sizes differ")
	e.wantShape(e.be.Gemm(true, false, 1, dense(3, 4), dense(3, 2), 0, dense(3, 2)), "Gemm: C has the wrong rows for A^T")
	e.wantShape(e.be.Gemm(false, true, 1, dense(3, 4), dense(2, 4), 0, dense(3, 4)), "Gemm: C has the wrong columns for B^T")
	e.wantShape(e.be.Gemm(false, false, 1, dense(3, 4), dense(4, 2), 0, backend.Dense{Rows: 3, Cols: 2, Data: f32(6)}), "Gemm: float32 C")

	_, _, err = e.be.EigSymTop(dense(3, 4), 1)
	e.wantShape(err, "EigSymTop: not square")
	_, _, err = e.be.EigSymTop(dense(3, 3), 4)
	e.wantShape(err, "EigSymTop: k > n")
	_, _, err = e.be.EigSymTop(dense(3, 3), -1)
	e.wantShape(err, "EigSymTop: k < 0")
	_, _, err = e.be.EigSymTop(backend.Dense{Rows: 3, Cols: 3, Data: f64(8)}, 1)
	e.wantShape(err, "EigSymTop: data too short")
}

// testDeterministic runs the accumulating operations twice on the same
// operands and checks that the results agree bit for bit.
func testDeterministic(e *env) {
	h := randCSR(e.rng, shape{rows: 1031, cols: 613, density: 0.1, vals: reals})
	twice := func(what string, f func() []float64) {
		e.t.Helper()
		if a, b := f(), f(); !sameBits(a, b) {
			e.t.Errorf("%s: two runs on the same operands differ", what)
		}
	}
	twice("RowStats", func() []float64 {
		out := backend.RowStats{Sum: e.alloc(backend.Float64, h.Rows), NNZ: e.alloc(backend.Int32, h.Rows)}
		e.check(e.be.RowStats(e.upload(h), out), "RowStats")
		return e.f64(out.Sum)
	})
	twice("ColStats", func() []float64 {
		acc := backend.ColStats{Sum: e.alloc(backend.Float64, h.Cols), SumSq: e.alloc(backend.Float64, h.Cols)}
		e.check(e.be.ColStats(e.upload(h), nil, acc), "ColStats")
		return append(e.f64(acc.Sum), e.f64(acc.SumSq)...)
	})
	twice("GramAccumulate", func() []float64 {
		c := e.dense(h.Cols, h.Cols, make([]float64, h.Cols*h.Cols), backend.Float64)
		e.check(e.be.GramAccumulate(e.upload(h), c), "GramAccumulate")
		return e.f64(c.Data)
	})
	bh := randFloats(e.rng, h.Cols*13)
	for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
		twice("SpMM/"+kind.String(), func() []float64 {
			out := e.dense(h.Rows, 13, make([]float64, h.Rows*13), kind)
			e.check(e.be.SpMM(e.upload(h), e.dense(h.Cols, 13, bh, kind), out), "SpMM")
			if kind == backend.Float32 {
				return to64(e.f32(out.Data))
			}
			return e.f64(out.Data)
		})
	}
	bt := randFloats(e.rng, h.Rows*13)
	for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
		twice("SpMMT/"+kind.String(), func() []float64 {
			out := e.dense(h.Cols, 13, make([]float64, h.Cols*13), kind)
			e.check(e.be.SpMMT(e.upload(h), e.dense(h.Rows, 13, bt, kind), out), "SpMMT")
			if kind == backend.Float32 {
				return to64(e.f32(out.Data))
			}
			return e.f64(out.Data)
		})
	}
	a := randFloats(e.rng, 200*150)
	twice("Gemm", func() []float64 {
		c := e.dense(150, 150, make([]float64, 150*150), backend.Float64)
		ad := e.dense(200, 150, a, backend.Float64)
		e.check(e.be.Gemm(true, false, 1, ad, ad, 0, c), "Gemm")
		return e.f64(c.Data)
	})
}
