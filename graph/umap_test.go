package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/sparse"
)

func TestFindABParams(t *testing.T) {
	// scipy 1.10.1 curve_fit on umap-learn 0.5.3's find_ab_params target.
	for _, c := range []struct{ spread, minDist, a, b float64 }{
		{1, 0.5, 0.583030020479462, 1.3341669929263487},
		{1, 0.1, 1.5769434601962196, 0.8950608779914887},
		{1, 0.0, 1.9328083975546724, 0.7904949734010681},
		{2, 0.3, 0.3794946888755375, 0.9488152190879922},
		{0.7, 0.05, 3.103285375440221, 0.8646442060583119},
		{1.5, 1.0, 0.10344762204323175, 1.5241634515354772},
	} {
		a, b, err := FindABParams(c.spread, c.minDist)
		if err != nil {
			t.Fatal(err)
		}
		ea, eb := math.Abs(a/c.a-1), math.Abs(b/c.b-1)
		t.Logf("spread %v min_dist %v: a = %.8f (scipy %.8f), b = %.8f (scipy %.8f)", c.spread, c.minDist, a, c.a, b, c.b)
		if ea > 5e-6 || eb > 5e-6 {
			t.Errorf("spread %v min_dist %v: a, b = %v, %v; scipy %v, %v", c.spread, c.minDist, a, b, c.a, c.b)
		}
	}
	if _, _, err := FindABParams(0, 0.5); err == nil {
		t.Error("spread 0: no error")
	}
}

func TestMakeEpochsPerSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	w := make([]float32, 1013)
	for i := range w {
		if i%7 != 3 {
			w[i] = float32(rng.Float64())
		}
	}
	for _, ne := range []int{200, 500, 11} {
		got := MakeEpochsPerSample(w, ne)
		wmax := 0.0
		for _, v := range w {
			wmax = math.Max(wmax, float64(v))
		}
		for i, v := range w {
			want := -1.0
			if v > 0 {
				want = float64(ne) / (float64(ne) * float64(v) / wmax)
			}
			if math.Abs(got[i]-want) > 1e-12*math.Abs(want) {
				t.Fatalf("n_epochs %d, weight %v: %v epochs per sample, want %v", ne, v, got[i], want)
			}
		}
	}
}

// umapBlobLists makes exact kNN lists (self first) of n points in dim
// dimensions drawn around nb Gaussian centres.
func umapBlobLists(rng *rand.Rand, n, dim, nb, k int) ([]float32, []int32, []float32) {
	centres := make([]float64, nb*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 6
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		c := rng.IntN(nb)
		for d := 0; d < dim; d++ {
			x[i*dim+d] = float32(centres[c*dim+d] + rng.NormFloat64())
		}
	}
	idx, dst := umapBruteKNN(x, n, dim, k)
	return x, idx, dst
}

// umapBruteKNN is an exact kNN by brute force, in parallel.
func umapBruteKNN(x []float32, n, dim, k int) ([]int32, []float32) {
	idx := make([]int32, n*k)
	dst := make([]float32, n*k)
	fuzzyParallel(n, 0, func(lo, hi int) {
		top := umapTopK{k: k}
		for i := lo; i < hi; i++ {
			top.reset()
			xi := x[i*dim : (i+1)*dim]
			for j := 0; j < n; j++ {
				xj := x[j*dim : (j+1)*dim]
				var s float32
				for d := range xi {
					t := xi[d] - xj[d]
					s += t * t
				}
				if j == i {
					s = -1 // self first
				}
				top.push(float64(s), int32(j))
			}
			for p := 0; p < k; p++ {
				idx[i*k+p] = top.idx[p]
				dst[i*k+p] = float32(math.Sqrt(math.Max(top.d[p], 0)))
			}
		}
	})
	return idx, dst
}

// umapTopK keeps the k smallest distances seen (insertion into a sorted
// buffer; k is small).
type umapTopK struct {
	k   int
	d   []float64
	idx []int32
}

func (t *umapTopK) reset() { t.d, t.idx = t.d[:0], t.idx[:0] }

func (t *umapTopK) push(d float64, j int32) {
	if len(t.d) == t.k && d >= t.d[t.k-1] {
		return
	}
	if len(t.d) < t.k {
		t.d = append(t.d, 0)
		t.idx = append(t.idx, 0)
	}
	p := len(t.d) - 1
	for p > 0 && t.d[p-1] > d {
		t.d[p], t.idx[p] = t.d[p-1], t.idx[p-1]
		p--
	}
	t.d[p], t.idx[p] = d, j
}

// umapQuality returns, for each embedding, sklearn's trustworthiness
// (Venna & Kaski) with k neighbours against x (n x dim) and the mean
// fraction of each cell's k nearest in x that are among its k nearest in
// the embedding:
//
//	T = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in N_emb(i)} max(0, r(i, j) - k)
//
// with r(i, j) the rank of j among i's neighbours in x (nearest = 1).
func umapQuality(x []float64, n, dim int, embs [][]float32, k int) (trust, pres []float64) {
	ne := len(embs)
	penalty := make([]float64, ne*n)
	kept := make([]float64, ne*n)
	fuzzyParallel(n, 0, func(lo, hi int) {
		dx := make([]float64, n)
		mark := make([]int32, n) // mark[j] == i: j is among i's k nearest in x
		for j := range mark {
			mark[j] = -1
		}
		topX := umapTopK{k: k}
		topE := umapTopK{k: k}
		var thr []float64
		var cnt []int
		for i := lo; i < hi; i++ {
			topX.reset()
			xi := x[i*dim : (i+1)*dim]
			for j := 0; j < n; j++ {
				xj := x[j*dim : (j+1)*dim]
				xj = xj[:len(xi)]
				var s0, s1 float64
				d := 0
				for ; d+2 <= len(xi); d += 2 {
					t0, t1 := xi[d]-xj[d], xi[d+1]-xj[d+1]
					s0 += t0 * t0
					s1 += t1 * t1
				}
				for ; d < len(xi); d++ {
					t := xi[d] - xj[d]
					s0 += t * t
				}
				s := s0 + s1
				dx[j] = s
				if j != i {
					topX.push(s, int32(j))
				}
			}
			for _, j := range topX.idx {
				mark[j] = int32(i)
			}
			for e, emb := range embs {
				topE.reset()
				ex, ey := emb[2*i], emb[2*i+1]
				for j := 0; j < n; j++ {
					if j == i {
						continue
					}
					dxe, dye := float64(emb[2*j]-ex), float64(emb[2*j+1]-ey)
					topE.push(dxe*dxe+dye*dye, int32(j))
				}
				// Ranks in x of the embedded neighbours outside x's top k:
				// count the cells closer than each by one pass over dx.
				thr = thr[:0]
				hits := 0
				for _, j := range topE.idx {
					if mark[j] == int32(i) {
						hits++
					} else {
						thr = append(thr, dx[j])
					}
				}
				kept[e*n+i] = float64(hits) / float64(k)
				if len(thr) == 0 {
					continue
				}
				slices.Sort(thr)
				cnt = append(cnt[:0], make([]int, len(thr)+1)...)
				top := thr[len(thr)-1]
				for j := 0; j < n; j++ {
					if j == i || dx[j] >= top {
						continue // closer than none of the thresholds
					}
					// First threshold > dx[j]: j is closer than thr[q]
					// exactly when p <= q.
					p, _ := slices.BinarySearch(thr, dx[j])
					for p < len(thr) && thr[p] == dx[j] {
						p++
					}
					cnt[p]++
				}
				below := 0
				for q := range thr {
					below += cnt[q] // cells strictly closer than thr[q]
					rank := below + 1
					if rank > k {
						penalty[e*n+i] += float64(rank - k)
					}
				}
			}
		}
	})
	trust = make([]float64, ne)
	pres = make([]float64, ne)
	for e := 0; e < ne; e++ {
		var s, p float64
		for i := 0; i < n; i++ {
			s += penalty[e*n+i]
			p += kept[e*n+i]
		}
		nf, kf := float64(n), float64(k)
		trust[e] = 1 - s*2/(nf*kf*(2*nf-3*kf-1))
		pres[e] = p / nf
	}
	return trust, pres
}

func TestUMAPQualityMetric(t *testing.T) {
	// Against a plain O(n^2 log n) trustworthiness on a small awkward set.
	rng := rand.New(rand.NewPCG(1, 2))
	n, dim, k := 157, 5, 7
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	emb := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		emb[2*i] = float32(x[i*dim] + 0.3*rng.NormFloat64())
		emb[2*i+1] = float32(x[i*dim+1] + 0.3*rng.NormFloat64())
	}
	trust, _ := umapQuality(x, n, dim, [][]float32{emb}, k)
	var s float64
	for i := 0; i < n; i++ {
		ordX := make([]int, 0, n)
		ordE := make([]int, 0, n)
		for j := 0; j < n; j++ {
			if j != i {
				ordX = append(ordX, j)
				ordE = append(ordE, j)
			}
		}
		dX := func(j int) float64 {
			var s float64
			for d := 0; d < dim; d++ {
				s += (x[i*dim+d] - x[j*dim+d]) * (x[i*dim+d] - x[j*dim+d])
			}
			return s
		}
		dE := func(j int) float64 {
			a, b := float64(emb[2*i]-emb[2*j]), float64(emb[2*i+1]-emb[2*j+1])
			return a*a + b*b
		}
		slices.SortFunc(ordX, func(a, b int) int { return umapCmp(dX(a), dX(b)) })
		slices.SortFunc(ordE, func(a, b int) int { return umapCmp(dE(a), dE(b)) })
		rank := map[int]int{}
		for r, j := range ordX {
			rank[j] = r + 1
		}
		for _, j := range ordE[:k] {
			s += math.Max(0, float64(rank[j]-k))
		}
	}
	want := 1 - s*2/(float64(n*k)*(2*float64(n)-3*float64(k)-1))
	if math.Abs(trust[0]-want) > 1e-12 {
		t.Fatalf("trustworthiness %v, plain formula %v", trust[0], want)
	}
	t.Logf("trustworthiness %.4f", want)
}

func umapCmp(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestUMAPComponents(t *testing.T) {
	// Three far-apart blobs give three components: each must be laid out
	// apart from the others, and the embedding must keep blobs together.
	rng := rand.New(rand.NewPCG(4, 4))
	n, dim, k := 1501, 8, 12
	x, idx, dst := umapBlobLists(rng, n, dim, 3, k)
	_ = x
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	labels, nc := spectralComponents(conn)
	emb, info, err := UMAP(conn, UMAPParams{NEpochs: 100, Threads: umapTestThreads})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d components, info %+v", nc, info)
	if info.Init != "spectral" || info.Components != nc {
		t.Errorf("init %q with %d components, want spectral with %d", info.Init, info.Components, nc)
	}
	// Every cell's nearest embedded neighbour lies in its own component.
	bad := 0
	for i := 0; i < n; i++ {
		best, bj := math.Inf(1), -1
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			dx, dy := float64(emb[2*i]-emb[2*j]), float64(emb[2*i+1]-emb[2*j+1])
			if d := dx*dx + dy*dy; d < best {
				best, bj = d, j
			}
		}
		if labels[bj] != labels[i] {
			bad++
		}
	}
	if bad > n/100 {
		t.Errorf("%d of %d cells have their nearest embedded neighbour in another component", bad, n)
	}
	for _, v := range emb {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite coordinate")
		}
	}
	// Three dimensions take the generic update path: blobs stay apart.
	emb3, info3, err := UMAP(conn, UMAPParams{NComponents: 3, NEpochs: 100, Threads: umapTestThreads})
	if err != nil || len(emb3) != 3*n {
		t.Fatalf("3-D: %d coordinates, %v", len(emb3), err)
	}
	bad = 0
	for i := 0; i < n; i++ {
		best, bj := math.Inf(1), -1
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var d float64
			for c := 0; c < 3; c++ {
				t := float64(emb3[3*i+c] - emb3[3*j+c])
				d += t * t
			}
			if d < best {
				best, bj = d, j
			}
		}
		if labels[bj] != labels[i] {
			bad++
		}
	}
	if bad > n/100 || info3.Init != "spectral" {
		t.Errorf("3-D: %d of %d nearest neighbours across components, init %s", bad, n, info3.Init)
	}
}

func TestUMAPRandomInitRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, k := 333, 8
	_, idx, dst := umapBlobLists(rng, n, 4, 2, k)
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	emb1, info, err := UMAP(conn, UMAPParams{NEpochs: 30, RandomInitCells: 300, Seed: 3, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Init != "random" || info.Note == "" {
		t.Errorf("333 cells with RandomInitCells 300: init %q, note %q", info.Init, info.Note)
	}
	emb2, _, _ := UMAP(conn, UMAPParams{NEpochs: 30, RandomInitCells: 300, Seed: 3, Threads: 1})
	if !slices.Equal(emb1, emb2) {
		t.Error("single-threaded UMAP is not reproducible")
	}
	_, info, _ = UMAP(conn, UMAPParams{NEpochs: 30, Threads: 1})
	if info.Init != "spectral" {
		t.Errorf("default: init %q (%s)", info.Init, info.Note)
	}
	// Degenerate graphs: no cells, isolated cells.
	for _, m := range []int{0, 1, 7} {
		g := sparse.NewCSR(m, m, 0)
		emb, info, err := UMAP(g, UMAPParams{Threads: 1})
		if err != nil || len(emb) != 2*m {
			t.Fatalf("%d isolated cells: %d coordinates, %v", m, len(emb), err)
		}
		for _, v := range emb {
			if !(v >= 0 && v <= 10) {
				t.Fatalf("%d isolated cells: coordinate %v outside [0, 10]", m, v)
			}
		}
		if m > 0 && info.Components != m {
			t.Errorf("%d isolated cells: %d components", m, info.Components)
		}
	}
	if _, _, err := UMAP(conn, UMAPParams{Init: "pca"}); err == nil {
		t.Error("init pca: no error")
	}
}

// umapRefData holds one reference dataset, loaded once per test binary.
type umapRefData struct {
	conn   *sparse.CSR
	dist   *sparse.CSR
	xpca   []float64
	npcs   int
	refEmb []float32
}

var umapRefCache sync.Map

func umapLoadRef(t *testing.T, ds string) *umapRefData {
	if v, ok := umapRefCache.Load(ds); ok {
		return v.(*umapRefData)
	}
	r := &umapRefData{
		conn: shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/connectivities.csv.gz")),
		dist: shareddata.ReadTriplets(t, shareddata.Path(t, "reference/"+ds+"/distances.csv.gz")),
	}
	rows := shareddata.ReadFloats(t, shareddata.Path(t, "reference/"+ds+"/X_pca.csv.gz"))
	r.npcs = len(rows[0])
	for _, row := range rows {
		r.xpca = append(r.xpca, row...)
	}
	for _, row := range shareddata.ReadFloats(t, shareddata.Path(t, "reference/"+ds+"/umap.csv.gz")) {
		r.refEmb = append(r.refEmb, float32(row[0]), float32(row[1]))
	}
	umapRefCache.Store(ds, r)
	return r
}

func TestUMAPScanpy(t *testing.T) {
	for _, ds := range []string{"synth5k", "brain10k"} {
		t.Run(ds, func(t *testing.T) {
			r := umapLoadRef(t, ds)
			n := r.conn.Rows
			if len(r.refEmb) != 2*n || len(r.xpca) != n*r.npcs {
				t.Fatalf("reference sizes: %d cells, %d umap rows, %d x_pca values", n, len(r.refEmb)/2, len(r.xpca))
			}
			// From Connectivities on scanpy's neighbour lists: the whole path.
			idx, dst, k := shareddata.ListsFromDistances(t, r.dist)
			conn, _, err := Connectivities(idx, dst, n, k)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			emb, info, err := UMAP(conn, UMAPParams{Threads: umapTestThreads})
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			t.Logf("%s: %d cells, %d edges, %d epochs, %d samples, init %s (%d components, %d products, residual %.2g) %s; %v",
				ds, n, info.Edges, info.NEpochs, info.Samples, info.Init, info.Components, info.EigenMatvecs, info.EigenResidual, info.Note, elapsed.Round(time.Millisecond))
			if info.Init != "spectral" {
				t.Errorf("init %s, want spectral", info.Init)
			}
			start = time.Now()
			trust, pres := umapQuality(r.xpca, n, r.npcs, [][]float32{emb, r.refEmb}, 15)
			t.Logf("quality measures: %v", time.Since(start).Round(time.Millisecond))
			t.Logf("%s: trustworthiness %.4f (scanpy %.4f), kNN preservation %.4f (scanpy %.4f)", ds, trust[0], trust[1], pres[0], pres[1])
			if trust[0] < trust[1]-0.02 {
				t.Errorf("trustworthiness %.4f more than 0.02 below scanpy's %.4f", trust[0], trust[1])
			}
			if pres[0] < pres[1]-0.05 {
				t.Errorf("kNN preservation %.4f more than 0.05 below scanpy's %.4f", pres[0], pres[1])
			}
		})
	}
}

func TestUMAPGradTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, c := range [][3]float64{{0.583030020479462, 1.3341669929263487, 1}, {1.9328083975546724, 0.7904949734010681, 2.5}} {
		g := newUMAPGrad(c[0], c[1], c[2])
		var worstA, worstR float64
		for range 200000 {
			d2 := float32(math.Exp(rng.Float64()*70 - 35))
			x := float64(d2)
			pb := math.Pow(x, c[1])
			wantA := -2 * c[0] * c[1] * pb / (x * (c[0]*pb + 1))
			wantR := 2 * c[2] * c[1] / ((0.001 + x) * (c[0]*pb + 1))
			worstA = max(worstA, math.Abs(float64(g.attractive(d2))/wantA-1))
			worstR = max(worstR, math.Abs(float64(g.repulsive(d2))/wantR-1))
		}
		// Outside the table: exact.
		for _, d2 := range []float32{1e-20, 1e20, math.SmallestNonzeroFloat32} {
			if got, want := g.repulsive(d2), float32(g.repExact(float64(d2))); got != want {
				t.Errorf("repulsive(%g) = %g, want %g", d2, got, want)
			}
		}
		t.Logf("a %.3f b %.3f: max relative error attractive %.2g, repulsive %.2g", c[0], c[1], worstA, worstR)
		if worstA > 1e-4 || worstR > 1e-4 {
			t.Errorf("table error %.2g, %.2g > 1e-4", worstA, worstR)
		}
	}
}

// TestUMAPPruneAndEdgesBlocks checks the row-block versions of the pruning
// and the schedules against one block and against MakeEpochsPerSample, on
// a graph with empty rows and rows of very different lengths.
func TestUMAPPruneAndEdgesBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const n = 30_011
	g := sparse.NewCSR(n, n, 0)
	for i := range n {
		deg := rng.IntN(12)
		if i%97 == 0 {
			deg = 0
		}
		if i%1009 == 0 {
			deg = 400
		}
		for range deg {
			g.Indices = append(g.Indices, int32(rng.IntN(n)))
			w := float32(rng.Float64())
			if rng.IntN(10) == 0 {
				w = 1e-4 // below max/200: pruned
			}
			g.Data = append(g.Data, w)
		}
		g.Indptr[i+1] = int64(len(g.Data))
	}
	one := mustPrune(t, g, 200, 1)
	many := mustPrune(t, g, 200, 7)
	if len(rowBlocks(g, 7)) < 2 {
		t.Fatalf("%d entries in one block", g.NNZ())
	}
	if !slices.Equal(one.Indptr, many.Indptr) || !slices.Equal(one.Indices, many.Indices) || !slices.Equal(one.Data, many.Data) {
		t.Fatal("pruning differs between 1 and 7 blocks")
	}
	if one.NNZ() == 0 || one.NNZ() == g.NNZ() {
		t.Fatalf("pruning kept %d of %d entries", one.NNZ(), g.NNZ())
	}
	e1, e7 := newUMAPEdges(one, 200, 1), newUMAPEdges(one, 200, 7)
	want := MakeEpochsPerSample(one.Data, 200)
	for q := range want {
		if e1.eps[q] != float32(want[q]) || e7.eps[q] != e1.eps[q] || e1.head[q] != e7.head[q] {
			t.Fatalf("edge %d: eps %v / %v, want %v; head %d / %d", q, e1.eps[q], e7.eps[q], want[q], e1.head[q], e7.head[q])
		}
	}
	for i := range n {
		for q := one.Indptr[i]; q < one.Indptr[i+1]; q++ {
			if e7.head[q] != int32(i) {
				t.Fatalf("edge %d: head %d, want %d", q, e7.head[q], i)
			}
		}
	}
}

// mustPrune is umapPrune for graphs whose weights are valid.
func mustPrune(tb testing.TB, g *sparse.CSR, nEpochs, threads int) *sparse.CSR {
	tb.Helper()
	out, err := umapPrune(g, nEpochs, threads)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestUMAPBadWeights: a NaN, negative or infinite weight, anywhere in a
// graph large enough to be checked in several blocks, is an error
// wrapping ErrUMAPInput.
func TestUMAPBadWeights(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), -0.5, float32(math.Inf(1))} {
		n := 40_000
		g := sparse.NewCSR(n, n, 0)
		for i := range n {
			a, b := (i+1)%n, (i+7)%n
			g.Indices = append(g.Indices, int32(min(a, b)), int32(max(a, b)))
			g.Data = append(g.Data, 0.5, 0.25)
			g.Indptr[i+1] = int64(len(g.Data))
		}
		g.Data[len(g.Data)-3] = bad
		if _, _, err := UMAP(g, UMAPParams{Init: "random", NEpochs: 1, Threads: 4}); !errors.Is(err, ErrUMAPInput) {
			t.Errorf("weight %v: error %v, want ErrUMAPInput", bad, err)
		}
	}
}
