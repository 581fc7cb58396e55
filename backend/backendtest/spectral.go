package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/mat"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/sparse"
)

// RunSpectral checks a backend's backend.SpectralEmbedder, and skips when
// the backend lacks it. One backend from newBackend serves every subtest;
// RunSpectral closes it.
//
// Every result is checked for what the interface promises, in float64 on
// the host: n x dim values, columns of unit norm, orthogonal to each other
// and to D^1/2 1 (within 1e-9), and true residuals ||M v - theta v|| within
// the tolerance of theta (1e-6 relative slack) where theta is the returned
// eigenvalue, itself within 1e-12 of v's Rayleigh quotient. Against a
// dense float64 reference (gonum's mat.EigenSym of M), at tolerance 1e-10:
// the largest connected component of the fuzzy graphs (graph.Connectivities)
// of kNN lists of clustered points (n = 23 to 733, k = 4 to 15, dim = 1 to
// 5); a ring (pairs of equal eigenvalues), a path with random weights
// (bipartite: eigenvalues down to -1, which must not be taken for the
// largest), a complete graph (one eigenvalue of multiplicity n - 1: the
// Krylov space is invariant at once), two cliques joined by an edge, and
// graphs of dim + 3 cells (the fewest allowed): the eigenvalues within
// 1e-9, and the subspaces of the leading d vectors, for each d where the
// spectrum has a gap g after the d-th eigenvalue, at a principal angle
// whose sine is within the Davis-Kahan bound 2 sqrt(d) r / g of the true
// residuals r (plus 1e-9). Against graph.HostSpectral at 1e-10, at UMAP's
// tolerance 1e-4, on graphs of 3,001 and 5,003 cells with k = 15 and 30:
// the same checks, with the eigenvalues within the residuals (where the
// spectrum separates them by more than twice the residual). Also: two
// runs give the same bits; an unreachable tolerance is an error wrapping
// backend.ErrSpectralNoConvergence; malformed graphs, dim < 1 and graphs
// of fewer than dim + 3 cells are ErrShape errors, a cell without edges
// and a tolerance that is not positive are errors.
func RunSpectral(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	runCapability(t, newBackend, []capCase[backend.SpectralEmbedder]{
		{"Dense", testSpectralDense},
		{"Structured", testSpectralStructured},
		{"Host", testSpectralHost},
		{"Deterministic", testSpectralDeterministic},
		{"NoConvergence", testSpectralNoConvergence},
		{"Errors", testSpectralErrors},
	})
}

// SpectralGraph returns the largest connected component of the fuzzy
// graph (graph.Connectivities) of the exact kNN lists (k neighbours) of
// SpectralPoints(n, d, seed): one component of n cells, or nearly, with
// clusters (eigenvalues of M near 1).
func SpectralGraph(n, d, k int, seed uint64) (*sparse.CSR, error) {
	nbr, err := knn.Exact(blas32.General{Rows: n, Cols: d, Stride: d, Data: SpectralPoints(n, d, seed)}, k, 0)
	if err != nil {
		return nil, err
	}
	conn, _, err := graph.Connectivities(nbr.Indices, nbr.Distances, n, k)
	if err != nil {
		return nil, err
	}
	return LargestComponent(conn), nil
}

// SpectralPoints returns n points in d dimensions (row-major) drawn from
// 8 overlapping Gaussian blobs (centres at scale 1.5, spreads 0.6 to
// 1.3) of unequal sizes, every tenth point a copy of another.
func SpectralPoints(n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	const nb = 8
	centers := make([]float64, nb*d)
	for i := range centers {
		centers[i] = 1.5 * rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := range n {
		b := int(float64(nb) * rng.Float64() * rng.Float64())
		if i%10 == 9 {
			copy(x[i*d:(i+1)*d], x[rng.IntN(i)*d:])
			continue
		}
		spread := 0.6 + 0.1*float64(b)
		for j := range d {
			x[i*d+j] = float32(centers[b*d+j] + spread*rng.NormFloat64())
		}
	}
	return x
}

// LargestComponent returns the subgraph of g's largest connected
// component (the first of equal ones), its cells in their order.
func LargestComponent(g *sparse.CSR) *sparse.CSR {
	n := g.Rows
	label := make([]int32, n)
	for i := range label {
		label[i] = -1
	}
	var sizes []int
	var stack []int32
	for s := range n {
		if label[s] >= 0 {
			continue
		}
		c := int32(len(sizes))
		label[s] = c
		size := 0
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			cols, _ := g.Row(int(i))
			for _, j := range cols {
				if label[j] < 0 {
					label[j] = c
					stack = append(stack, j)
				}
			}
		}
		sizes = append(sizes, size)
	}
	best := 0
	for c, sz := range sizes {
		if sz > sizes[best] {
			best = c
		}
	}
	local := make([]int32, n)
	var mem []int
	for i, l := range label {
		if int(l) == best {
			local[i] = int32(len(mem))
			mem = append(mem, i)
		}
	}
	out := &sparse.CSR{Rows: len(mem), Cols: len(mem), Indptr: make([]int64, len(mem)+1)}
	for p, i := range mem {
		cols, vals := g.Row(i)
		for q, j := range cols {
			out.Indices = append(out.Indices, local[j])
			out.Data = append(out.Data, vals[q])
		}
		out.Indptr[p+1] = int64(len(out.Indices))
	}
	return out
}

// spectralOperator is M = D^-1/2 W D^-1/2 of a graph, applied in float64,
// with u0 = D^1/2 1 / ||D^1/2 1||.
type spectralOperator struct {
	g        *sparse.CSR
	dinv, u0 []float64
}

func newSpectralOperator(g *sparse.CSR) spectralOperator {
	n := g.Rows
	op := spectralOperator{g: g, dinv: make([]float64, n), u0: make([]float64, n)}
	var total float64
	for i := range n {
		_, vals := g.Row(i)
		var d float64
		for _, v := range vals {
			d += float64(v)
		}
		op.dinv[i] = 1 / math.Sqrt(d)
		op.u0[i] = math.Sqrt(d)
		total += d
	}
	for i := range op.u0 {
		op.u0[i] /= math.Sqrt(total)
	}
	return op
}

func (op spectralOperator) apply(dst, src []float64) {
	for i := range op.g.Rows {
		cols, vals := op.g.Row(i)
		var s float64
		for p, j := range cols {
			s += float64(vals[p]) * op.dinv[j] * src[j]
		}
		dst[i] = op.dinv[i] * s
	}
}

// dense returns M's eigenvalues in descending order without the trivial
// one (the largest, 1) and the matching eigenvectors, n x (n-1).
func (op spectralOperator) dense() ([]float64, *mat.Dense, error) {
	n := op.g.Rows
	m := mat.NewSymDense(n, nil)
	for i := range n {
		cols, vals := op.g.Row(i)
		for p, j := range cols {
			if int(j) >= i {
				m.SetSym(i, int(j), m.At(i, int(j))+float64(vals[p])*op.dinv[i]*op.dinv[j])
			}
		}
	}
	var es mat.EigenSym
	if !es.Factorize(m, true) {
		return nil, nil, errors.New("mat.EigenSym failed")
	}
	asc := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	vals := make([]float64, n-1)
	vecs := mat.NewDense(n, n-1, nil)
	for c := range n - 1 {
		vals[c] = asc[n-2-c]
		for i := range n {
			vecs.Set(i, c, v.At(i, n-2-c))
		}
	}
	return vals, vecs, nil
}

// spectralCheck checks what the interface promises of vecs (n x dim) and
// info at tolerance tol, and returns the columns' true relative
// residuals.
func spectralCheck(t *testing.T, op spectralOperator, vecs []float64, info backend.SpectralResult, dim int, tol float64) []float64 {
	t.Helper()
	n := op.g.Rows
	if len(vecs) != n*dim || len(info.Values) != dim {
		t.Fatalf("%d values and %d eigenvalues, want %d x %d and %d", len(vecs), len(info.Values), n, dim, dim)
	}
	cols := make([][]float64, dim)
	for c := range cols {
		cols[c] = make([]float64, n)
		for i := range n {
			cols[c][i] = vecs[i*dim+c]
		}
	}
	dot := func(x, y []float64) float64 {
		var s float64
		for i := range x {
			s += x[i] * y[i]
		}
		return s
	}
	mv := make([]float64, n)
	res := make([]float64, dim)
	for c, v := range cols {
		if d := math.Abs(dot(v, v) - 1); !(d <= 1e-9) {
			t.Errorf("vector %d: |norm^2 - 1| = %.3g", c, d)
		}
		if d := math.Abs(dot(v, op.u0)); !(d <= 1e-9) {
			t.Errorf("vector %d: <v, u0> = %.3g", c, d)
		}
		for e := range c {
			if d := math.Abs(dot(v, cols[e])); !(d <= 1e-9) {
				t.Errorf("vectors %d and %d: inner product %.3g", e, c, d)
			}
		}
		op.apply(mv, v)
		theta := info.Values[c]
		if rq := dot(v, mv); !(math.Abs(rq-theta) <= 1e-12) {
			t.Errorf("vector %d: eigenvalue %.15g, Rayleigh quotient %.15g", c, theta, rq)
		}
		var r2 float64
		for i := range mv {
			d := mv[i] - theta*v[i]
			r2 += d * d
		}
		res[c] = math.Sqrt(r2) / math.Max(math.Abs(theta), 1e-12)
		if !(res[c] <= tol*(1+1e-6)+1e-14) {
			t.Errorf("vector %d: relative residual %.3g > tolerance %g", c, res[c], tol)
		}
	}
	for c := 1; c < dim; c++ {
		if info.Values[c] > info.Values[c-1] {
			t.Errorf("eigenvalues %v are not descending", info.Values)
		}
	}
	if !(info.Residual <= tol) || info.Matvecs < 0 {
		t.Errorf("info %+v at tolerance %g", info, tol)
	}
	return res
}

// spectralCompare compares vecs and vals (n x dim) with the reference
// eigenpairs refVals (descending, at least dim+1 of them) and refVecs
// (n x len(refVals)) whose own residuals are below refRes: the
// eigenvalues within valTol, or within the residuals when valTol is 0
// (taken where the spectrum has a gap after the value); the subspaces of
// the leading d vectors where the spectrum has a gap after the d-th
// eigenvalue at a principal angle within the Davis-Kahan bound. It
// returns the largest eigenvalue error and principal-angle sine.
func spectralCompare(t *testing.T, vecs, vals []float64, dim int, refVals []float64, refVecs *mat.Dense,
	res []float64, refRes, valTol float64) (worstVal, worstSin float64) {
	t.Helper()
	n, _ := refVecs.Dims()
	rmax := 0.0
	for c := range dim {
		rmax = max(rmax, res[c]*math.Max(math.Abs(vals[c]), 1e-12))
		gap := refVals[c] - refVals[c+1]
		if c > 0 {
			gap = min(gap, refVals[c-1]-refVals[c])
		}
		err := math.Abs(vals[c] - refVals[c])
		worstVal = max(worstVal, err)
		bound := valTol
		if bound == 0 {
			if gap <= 2*rmax {
				continue // a cluster the tolerance does not resolve
			}
			bound = res[c]*math.Abs(vals[c]) + refRes
		}
		if !(err <= bound) {
			t.Errorf("eigenvalue %d: %.15g, reference %.15g: error %.3g > %.3g", c, vals[c], refVals[c], err, bound)
		}
	}
	for d := 1; d <= dim; d++ {
		gap := refVals[d-1] - refVals[d]
		if gap < 1e-6 {
			continue
		}
		// The largest principal angle's sine is the norm of the part of
		// V outside the reference's span: ||V - Vref (Vrefᵀ V)||_2 (no
		// cosine near 1, whose square root would cap the precision at
		// 1e-8).
		e := mat.NewDense(n, d, nil)
		for b := range d {
			for i := range n {
				e.Set(i, b, vecs[i*dim+b])
			}
		}
		for a := range d {
			for b := range d {
				var s float64
				for i := range n {
					s += refVecs.At(i, a) * vecs[i*dim+b]
				}
				for i := range n {
					e.Set(i, b, e.At(i, b)-s*refVecs.At(i, a))
				}
			}
		}
		var svd mat.SVD
		if !svd.Factorize(e, mat.SVDNone) {
			t.Fatalf("SVD of the %d x %d residual failed", n, d)
		}
		sin := svd.Values(nil)[0]
		worstSin = max(worstSin, sin)
		bound := 2*math.Sqrt(float64(d))*(rmax+refRes)/gap + 1e-9
		if !(sin <= bound) {
			t.Errorf("leading %d vectors: principal angle sine %.3g > %.3g (gap %.3g after eigenvalue %d)", d, sin, bound, gap, d)
		}
	}
	return worstVal, worstSin
}

func testSpectralDense(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	for _, c := range []struct{ n, d, k, dim int }{
		{23, 3, 4, 2}, {137, 5, 6, 3}, {401, 8, 10, 1}, {613, 6, 15, 5}, {733, 10, 12, 2},
	} {
		t.Run(fmt.Sprintf("n%d_k%d_dim%d", c.n, c.k, c.dim), func(t *testing.T) {
			g, err := SpectralGraph(c.n, c.d, c.k, rng.Uint64())
			if err != nil {
				t.Fatal(err)
			}
			spectralAgainstDense(t, se, g, c.dim, rng.Uint64())
		})
	}
}

// spectralAgainstDense runs se on g at tolerance 1e-10 and compares with
// the dense reference.
func spectralAgainstDense(t *testing.T, se backend.SpectralEmbedder, g *sparse.CSR, dim int, seed uint64) {
	t.Helper()
	const tol = 1e-10
	op := newSpectralOperator(g)
	refVals, refVecs, err := op.dense()
	if err != nil {
		t.Fatal(err)
	}
	vecs, info, err := se.SpectralEigenmap(g, dim, seed, tol)
	if err != nil {
		t.Fatalf("%d cells, %d entries, dim %d: %v", g.Rows, g.NNZ(), dim, err)
	}
	res := spectralCheck(t, op, vecs, info, dim, tol)
	if t.Failed() {
		return
	}
	if len(refVals) <= dim {
		t.Fatalf("%d cells cannot have %d non-trivial eigenvectors and one more", g.Rows, dim)
	}
	wv, ws := spectralCompare(t, vecs, info.Values, dim, refVals, refVecs, res, 1e-13, 1e-9)
	t.Logf("%d cells, %d entries, dim %d: %d products, %d restarts, residual %.2g; eigenvalues %.6g..., max error %.2g, principal angle sine %.2g",
		g.Rows, g.NNZ(), dim, info.Matvecs, info.Restarts, info.Residual, info.Values[0], wv, ws)
}

// spectralFromEdges returns the symmetric graph of n cells with the
// weighted edges (i, j, w), i != j, summing repeats.
func spectralFromEdges(n int, edges [][3]float64) *sparse.CSR {
	rows := make([]map[int32]float32, n)
	for i := range rows {
		rows[i] = map[int32]float32{}
	}
	for _, e := range edges {
		i, j, w := int32(e[0]), int32(e[1]), float32(e[2])
		rows[i][j] += w
		rows[j][i] += w
	}
	g := &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	for i, r := range rows {
		cols := make([]int32, 0, len(r))
		for j := range r {
			cols = append(cols, j)
		}
		slices.Sort(cols)
		for _, j := range cols {
			g.Indices = append(g.Indices, j)
			g.Data = append(g.Data, r[j])
		}
		g.Indptr[i+1] = int64(len(g.Indices))
	}
	return g
}

func testSpectralStructured(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	t.Run("Ring", func(t *testing.T) {
		// Eigenvalues cos(2 pi j / n), each but the first twice.
		const n = 50
		var e [][3]float64
		for i := range n {
			e = append(e, [3]float64{float64(i), float64((i + 1) % n), 1})
		}
		spectralAgainstDense(t, se, spectralFromEdges(n, e), 2, rng.Uint64())
	})
	t.Run("Path", func(t *testing.T) {
		// Bipartite: the spectrum is symmetric, down to -1.
		const n = 61
		var e [][3]float64
		for i := range n - 1 {
			e = append(e, [3]float64{float64(i), float64(i + 1), 0.5 + rng.Float64()})
		}
		spectralAgainstDense(t, se, spectralFromEdges(n, e), 3, rng.Uint64())
	})
	t.Run("Complete", func(t *testing.T) {
		// M = (J - I) / (n - 1) on the complement of 1: every vector is
		// an eigenvector, of eigenvalue -1 / (n - 1).
		const n = 29
		var e [][3]float64
		for i := range n {
			for j := i + 1; j < n; j++ {
				e = append(e, [3]float64{float64(i), float64(j), 1})
			}
		}
		g := spectralFromEdges(n, e)
		vecs, info, err := se.SpectralEigenmap(g, 2, rng.Uint64(), 1e-10)
		if err != nil {
			t.Fatal(err)
		}
		spectralCheck(t, newSpectralOperator(g), vecs, info, 2, 1e-10)
		for _, v := range info.Values {
			if math.Abs(v+1.0/(n-1)) > 1e-12 {
				t.Errorf("eigenvalues %v, want -1/%d twice", info.Values, n-1)
			}
		}
		t.Logf("%d products, %d restarts, eigenvalues %v", info.Matvecs, info.Restarts, info.Values)
	})
	t.Run("Cliques", func(t *testing.T) {
		// Two cliques of 17 joined by one edge: one eigenvalue near 1.
		const h = 17
		var e [][3]float64
		for c := range 2 {
			for i := range h {
				for j := i + 1; j < h; j++ {
					e = append(e, [3]float64{float64(c*h + i), float64(c*h + j), 0.5 + rng.Float64()})
				}
			}
		}
		e = append(e, [3]float64{0, h, 0.3})
		spectralAgainstDense(t, se, spectralFromEdges(2*h, e), 1, rng.Uint64())
	})
	for _, dim := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("Fewest_dim%d", dim), func(t *testing.T) {
			// dim + 3 cells, every pair joined with a random weight.
			n := dim + 3
			var e [][3]float64
			for i := range n {
				for j := i + 1; j < n; j++ {
					e = append(e, [3]float64{float64(i), float64(j), 0.1 + rng.Float64()})
				}
			}
			spectralAgainstDense(t, se, spectralFromEdges(n, e), dim, rng.Uint64())
		})
	}
}

func testSpectralHost(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	const tol = 1e-4
	for _, c := range []struct{ n, d, k, dim int }{{3001, 10, 15, 2}, {5003, 12, 30, 3}} {
		t.Run(fmt.Sprintf("n%d_k%d_dim%d", c.n, c.k, c.dim), func(t *testing.T) {
			g, err := SpectralGraph(c.n, c.d, c.k, rng.Uint64())
			if err != nil {
				t.Fatal(err)
			}
			op := newSpectralOperator(g)
			// The reference: the host's Lanczos at 1e-10, with dim + 3
			// vectors to see the gaps past the last one.
			start := time.Now()
			refFlat, ref, err := graph.HostSpectral{}.SpectralEigenmap(g, c.dim+3, 1, 1e-10)
			if err != nil {
				t.Fatal(err)
			}
			hostTime := time.Since(start)
			refVecs := mat.NewDense(g.Rows, c.dim+3, refFlat)
			start = time.Now()
			vecs, info, err := se.SpectralEigenmap(g, c.dim, rng.Uint64(), tol)
			if err != nil {
				t.Fatal(err)
			}
			devTime := time.Since(start)
			res := spectralCheck(t, op, vecs, info, c.dim, tol)
			if t.Failed() {
				return
			}
			wv, ws := spectralCompare(t, vecs, info.Values, c.dim, ref.Values, refVecs, res, 1e-10, 0)
			t.Logf("%d cells, %d entries: %d products, %d restarts, residual %.2g, %v (host at 1e-10: %d products, %v); eigenvalues %v (host %v): max error %.2g, principal angle sine %.2g",
				g.Rows, g.NNZ(), info.Matvecs, info.Restarts, info.Residual, devTime.Round(time.Millisecond), ref.Matvecs,
				hostTime.Round(time.Millisecond), info.Values, ref.Values[:c.dim], wv, ws)
		})
	}
}

func testSpectralDeterministic(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	g, err := SpectralGraph(1511, 7, 12, rng.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	seed := rng.Uint64()
	v1, i1, err := se.SpectralEigenmap(g, 2, seed, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	v2, i2, err := se.SpectralEigenmap(g, 2, seed, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v1, v2) || !slices.Equal(i1.Values, i2.Values) || i1.Matvecs != i2.Matvecs {
		t.Errorf("two runs with seed %d differ: %d and %d products", seed, i1.Matvecs, i2.Matvecs)
	}
	// Another seed: another start, still a valid result.
	v3, i3, err := se.SpectralEigenmap(g, 2, seed+1, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	spectralCheck(t, newSpectralOperator(g), v3, i3, 2, 1e-4)
	if slices.Equal(v1, v3) {
		t.Error("seeds s and s+1 give the same bits")
	}
}

func testSpectralNoConvergence(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	g, err := SpectralGraph(401, 6, 8, rng.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	_, info, err := se.SpectralEigenmap(g, 2, rng.Uint64(), 1e-300)
	if !errors.Is(err, backend.ErrSpectralNoConvergence) {
		t.Fatalf("tolerance 1e-300: error %v, want ErrSpectralNoConvergence", err)
	}
	t.Logf("after %d products: %v", info.Matvecs, err)
}

func testSpectralErrors(t *testing.T, se backend.SpectralEmbedder, rng *rand.Rand) {
	g, err := SpectralGraph(97, 4, 6, rng.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	bad := *g
	bad.Indices = slices.Clone(g.Indices)
	bad.Indices[5] = int32(g.Rows)
	rect := *g
	rect.Cols++
	// A cell without edges: row 0 emptied (its column entries stay).
	lonely := &sparse.CSR{Rows: g.Rows, Cols: g.Cols, Indptr: slices.Clone(g.Indptr)}
	skip := g.Indptr[1]
	lonely.Indices = slices.Clone(g.Indices[skip:])
	lonely.Data = slices.Clone(g.Data[skip:])
	for i := range lonely.Indptr {
		lonely.Indptr[i] = max(0, lonely.Indptr[i]-skip)
	}
	tiny := spectralFromEdges(4, [][3]float64{{0, 1, 1}, {1, 2, 1}, {2, 3, 1}, {3, 0, 1}})
	for _, c := range []struct {
		name  string
		g     *sparse.CSR
		dim   int
		tol   float64
		shape bool // the error must wrap ErrShape
	}{
		{"nil", nil, 2, 1e-4, true},
		{"index outside", &bad, 2, 1e-4, true},
		{"not square", &rect, 2, 1e-4, true},
		{"dim 0", g, 0, 1e-4, true},
		{"4 cells for dim 2", tiny, 2, 1e-4, true},
		{"cell without edges", lonely, 2, 1e-4, false},
		{"tolerance 0", g, 2, 0, false},
		{"tolerance NaN", g, 2, math.NaN(), false},
	} {
		_, _, err := se.SpectralEigenmap(c.g, c.dim, 1, c.tol)
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.shape && !errors.Is(err, backend.ErrShape):
			t.Errorf("%s: error %v, want ErrShape", c.name, err)
		default:
			t.Logf("%s: %v", c.name, err)
		}
	}
}
