package pipeline

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/sparse"
)

// qualityData is a random problem for MeasureQuality: n cells in blobs,
// x n x stride of which the first d are the PCs, the exact neighbour
// lists (k, self first), a noisy 2-D projection as the embedding, the
// fuzzy graph of the lists and the blob of each cell as labels. The
// first rows come in identical pairs, in PCA space and in the embedding.
type qualityData struct {
	n, d, stride, k int
	x               []float32
	nb              knn.Neighbors
	emb             []float32
	conn            *sparse.CSR
	labels          []int32
}

func newQualityData(t *testing.T, n, d, stride, k int, seed uint64, coarse bool) *qualityData {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	const blobs = 7
	centres := make([]float64, blobs*d)
	for i := range centres {
		centres[i] = 4 * rng.NormFloat64()
	}
	q := &qualityData{n: n, d: d, stride: stride, k: k}
	q.x = make([]float32, n*stride)
	q.labels = make([]int32, n)
	q.emb = make([]float32, 2*n)
	for i := range n {
		b := rng.IntN(blobs)
		q.labels[i] = int32(b)
		for c := range stride {
			v := rng.NormFloat64()
			if c < d {
				v += centres[b*d+c]
			}
			q.x[i*stride+c] = float32(v)
		}
		for c := range 2 {
			q.emb[2*i+c] = q.x[i*stride+c] + float32(1.5*rng.NormFloat64())
		}
	}
	if coarse {
		// Coordinates on a coarse grid: distances tie everywhere.
		for i := range q.x {
			q.x[i] = float32(math.Round(float64(q.x[i]) / 3))
		}
		for i := range q.emb {
			q.emb[i] = float32(math.Round(float64(q.emb[i]) / 2))
		}
	}
	for m := 0; 2*m+1 < n/12; m++ {
		copy(q.x[(2*m+1)*stride:(2*m+2)*stride], q.x[2*m*stride:(2*m+1)*stride])
		copy(q.emb[2*(2*m+1):2*(2*m+2)], q.emb[2*(2*m):2*(2*m+1)])
		q.labels[2*m+1] = q.labels[2*m]
	}
	var err error
	q.nb, err = knn.Exact(blas32.General{Rows: n, Cols: d, Stride: stride, Data: q.x}, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	q.conn, _, err = graph.Connectivities(q.nb.Indices, q.nb.Distances, n, k)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func (q *qualityData) measure(t *testing.T, nb knn.Neighbors, opt QualityOptions) Quality {
	t.Helper()
	got, err := MeasureQuality(q.x, q.n, q.d, q.stride, nb, q.emb, q.conn, q.labels, opt)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// sortedOthers returns every cell but i by dist, then index: the
// float64 brute force's order.
func sortedOthers(dist []float64, i int) []int32 {
	o := make([]int32, 0, len(dist)-1)
	for j := range dist {
		if j != i {
			o = append(o, int32(j))
		}
	}
	slices.SortFunc(o, func(a, b int32) int {
		if c := cmp.Compare(dist[a], dist[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return o
}

// refQuality is the direct float64 reference over the given cells:
// recall of nb against the exact lists (self first, K), neighbour
// preservation and the trustworthiness estimate 1 - 2/(k (2n - 3k - 1))
// times the mean penalty, each cell's PCA ranks from a full sort of its
// distances to all n cells.
func (q *qualityData) refQuality(cells []int32, nb knn.Neighbors, kt int) (recall, trust, pres float64) {
	n := q.n
	dx, de := make([]float64, n), make([]float64, n)
	hits, kept := 0, 0
	penalty := 0.0
	for _, ci := range cells {
		i := int(ci)
		for j := range n {
			s := 0.0
			for c := range q.d {
				e := float64(q.x[i*q.stride+c]) - float64(q.x[j*q.stride+c])
				s += e * e
			}
			dx[j] = s
			ex, ey := float64(q.emb[2*i])-float64(q.emb[2*j]), float64(q.emb[2*i+1])-float64(q.emb[2*j+1])
			de[j] = ex*ex + ey*ey
		}
		high, low := sortedOthers(dx, i), sortedOthers(de, i)
		exact := append([]int32{ci}, high[:nb.K-1]...)
		got, _ := nb.Row(i)
		for _, j := range exact {
			if slices.Contains(got, j) {
				hits++
			}
		}
		for _, j := range low[:kt] {
			if slices.Contains(high[:kt], j) {
				kept++
			}
			rank := slices.Index(high, j) + 1
			penalty += float64(max(0, rank-kt))
		}
	}
	s, nf, kf := float64(len(cells)), float64(n), float64(kt)
	recall = float64(hits) / (s * float64(nb.K))
	trust = 1 - 2/(kf*(2*nf-3*kf-1))*penalty/s
	return recall, trust, float64(kept) / (s * kf)
}

func allCells(n int) []int32 {
	c := make([]int32, n)
	for i := range c {
		c[i] = int32(i)
	}
	return c
}

// TestMeasureQualityExact compares every measure over all cells with the
// float64 brute force, on awkward sizes with duplicated cells: recall 1
// for exact lists and the reference's value for damaged ones,
// trustworthiness and preservation equal to the reference (sklearn's
// formula), the modularity equal to graph.Modularity; results do not
// depend on the thread count.
func TestMeasureQualityExact(t *testing.T) {
	for _, tc := range []struct {
		n, d, stride, k, kt int
		coarse              bool
	}{
		{523, 17, 23, 15, 15, false},
		{301, 50, 50, 15, 15, false},
		{97, 5, 6, 31, 7, false},
		{409, 6, 7, 15, 15, true},
		{301, 9, 9, 15, 131, false},
		{83, 3, 3, 5, 40, true},
	} {
		q := newQualityData(t, tc.n, tc.d, tc.stride, tc.k, uint64(tc.n), tc.coarse)
		opt := QualityOptions{Sample: tc.n + 5, TrustK: tc.kt, Threads: 3}
		got := q.measure(t, q.nb, opt)
		_, trust, pres := q.refQuality(allCells(tc.n), q.nb, tc.kt)
		t.Logf("n %d d %d k %d coarse %v: recall %.4f, trustworthiness %.6f, preservation %.4f, modularity %.4f", tc.n, tc.d, tc.kt, tc.coarse, got.RecallAtK, got.Trustworthiness, got.NeighbourPreservation, got.Modularity)
		if got.Queries != tc.n || got.TrustCells != tc.n || got.K != tc.k || got.TrustK != tc.kt || got.ExactOn != "host" {
			t.Errorf("sizes %+v", got)
		}
		if got.RecallAtK != 1 {
			t.Errorf("recall of the exact lists %v, want 1", got.RecallAtK)
		}
		if math.Abs(got.Trustworthiness-trust) > 1e-12 || math.Abs(got.NeighbourPreservation-pres) > 1e-12 {
			t.Errorf("trustworthiness %.15f, preservation %.15f; reference %.15f, %.15f", got.Trustworthiness, got.NeighbourPreservation, trust, pres)
		}
		if trust > 0.999 || trust < 0.5 {
			t.Errorf("trustworthiness %v: the test embedding should be imperfect", trust)
		}
		if want := graph.Modularity(q.conn, q.labels, 1); got.Modularity != want {
			t.Errorf("modularity %v, graph.Modularity %v", got.Modularity, want)
		}

		// Damaged lists: a third of the neighbours replaced by random
		// cells or left empty.
		bad := q.nb
		bad.Indices = slices.Clone(q.nb.Indices)
		rng := rand.New(rand.NewPCG(3, 4))
		for e := range bad.Indices {
			switch rng.IntN(6) {
			case 0:
				bad.Indices[e] = int32(rng.IntN(tc.n))
			case 1:
				bad.Indices[e] = -1
			}
		}
		opt.Threads = 1
		one := q.measure(t, bad, opt)
		recall, _, _ := q.refQuality(allCells(tc.n), bad, tc.kt)
		if one.RecallAtK != recall || recall > 0.8 {
			t.Errorf("recall of damaged lists %v, reference %v", one.RecallAtK, recall)
		}
		if one.Trustworthiness != got.Trustworthiness || one.NeighbourPreservation != got.NeighbourPreservation {
			t.Errorf("1 thread: trustworthiness %v, preservation %v; 3 threads %v, %v", one.Trustworthiness, one.NeighbourPreservation, got.Trustworthiness, got.NeighbourPreservation)
		}
	}
}

// TestMeasureQualitySampled checks the sampled estimates: the cells are
// those of qualitySample, distinct, and every measure is the reference's
// over them; a smaller trustworthiness sample is the sample's first
// cells.
func TestMeasureQualitySampled(t *testing.T) {
	q := newQualityData(t, 2003, 21, 21, 15, 5, false)
	opt := QualityOptions{Sample: 301, TrustSample: 127, Seed: 9}
	got := q.measure(t, q.nb, opt)
	sample := qualitySample(q.n, 301, 127, 9)
	if c := slices.Clone(sample); len(slices.Compact(slices.Sorted(slices.Values(c)))) != 301 {
		t.Fatalf("the sample repeats cells")
	}
	recall, _, pres := q.refQuality(sample, q.nb, 15)
	_, trust, _ := q.refQuality(sample[:127], q.nb, 15)
	if got.Queries != 301 || got.TrustCells != 127 || got.RecallAtK != recall {
		t.Errorf("%d cells, %d for trustworthiness, recall %v (reference %v)", got.Queries, got.TrustCells, got.RecallAtK, recall)
	}
	if math.Abs(got.Trustworthiness-trust) > 1e-12 || math.Abs(got.NeighbourPreservation-pres) > 1e-12 {
		t.Errorf("trustworthiness %.15f, preservation %.15f; reference %.15f, %.15f", got.Trustworthiness, got.NeighbourPreservation, trust, pres)
	}
	full := q.measure(t, q.nb, QualityOptions{Sample: q.n})
	t.Logf("sampled trustworthiness %.4f (127 cells), all %d cells %.4f; preservation %.4f (301), %.4f", got.Trustworthiness, q.n, full.Trustworthiness, got.NeighbourPreservation, full.NeighbourPreservation)
	if other := q.measure(t, q.nb, QualityOptions{Sample: 301, TrustSample: 127, Seed: 10}); other.Trustworthiness == got.Trustworthiness {
		t.Errorf("seeds 9 and 10 gave the same trustworthiness %v", got.Trustworthiness)
	}
}

// hostSearcher is a QuerySearcher on the host (knn.ExactSearch) that
// counts its calls.
type hostSearcher struct{ calls int }

func (h *hostSearcher) KNNQuery(x []float32, n, d int, queries []int32, k int) ([]int32, []float32, error) {
	h.calls++
	qs := make([]float32, len(queries)*d)
	for r, i := range queries {
		copy(qs[r*d:(r+1)*d], x[int(i)*d:int(i+1)*d])
	}
	nb, err := knn.ExactSearch(blas32.General{Rows: n, Cols: d, Stride: d, Data: x}, blas32.General{Rows: len(queries), Cols: d, Stride: d, Data: qs}, k, 1)
	return nb.Indices, nb.Distances, err
}

// TestMeasureQualitySearcher runs the exact search through a
// QuerySearcher, on the host and on the OpenCL device (PoCL, when
// present): the measures are the host's.
func TestMeasureQualitySearcher(t *testing.T) {
	q := newQualityData(t, 1201, 19, 24, 15, 8, false)
	opt := QualityOptions{Sample: 333, Seed: 2}
	want := q.measure(t, q.nb, opt)
	h := &hostSearcher{}
	opt.Searcher = h
	got := q.measure(t, q.nb, opt)
	if h.calls != 1 || got.ExactOn != "device" {
		t.Errorf("%d calls of the searcher, exact search on the %s", h.calls, got.ExactOn)
	}
	same := func(what string, got Quality) {
		if got.RecallAtK != want.RecallAtK || got.Trustworthiness != want.Trustworthiness || got.NeighbourPreservation != want.NeighbourPreservation {
			t.Errorf("%s: recall %v, trustworthiness %v, preservation %v; host %v, %v, %v", what, got.RecallAtK, got.Trustworthiness, got.NeighbourPreservation,
				want.RecallAtK, want.Trustworthiness, want.NeighbourPreservation)
		}
	}
	same("host searcher", got)
	be := openCLBackend(t)
	qs, ok := be.(QuerySearcher)
	if !ok {
		t.Skipf("SKIP: the OpenCL backend %T has no KNNQuery", be)
	}
	opt.Searcher = qs
	dev := q.measure(t, q.nb, opt)
	same("OpenCL", dev)
	t.Logf("OpenCL's exact search of %d cells: %.3f s (host %.3f s)", dev.Queries, dev.ExactSeconds, want.ExactSeconds)
}

// TestMeasureQualityErrors checks that malformed inputs are refused.
func TestMeasureQualityErrors(t *testing.T) {
	q := newQualityData(t, 61, 4, 5, 5, 1, false)
	short := q.nb
	short.Indices = short.Indices[:10]
	neg := slices.Clone(q.labels)
	neg[3] = -1
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"short X_pca", func() error {
			_, err := MeasureQuality(q.x[:100], q.n, q.d, q.stride, q.nb, q.emb, q.conn, q.labels, QualityOptions{})
			return err
		}},
		{"stride below the PCs", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.d-1, q.nb, q.emb, q.conn, q.labels, QualityOptions{})
			return err
		}},
		{"short lists", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.stride, short, q.emb, q.conn, q.labels, QualityOptions{})
			return err
		}},
		{"short embedding", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.stride, q.nb, q.emb[2:], q.conn, q.labels, QualityOptions{})
			return err
		}},
		{"no graph", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.stride, q.nb, q.emb, nil, q.labels, QualityOptions{})
			return err
		}},
		{"negative label", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.stride, q.nb, q.emb, q.conn, neg, QualityOptions{})
			return err
		}},
		{"k of n/2", func() error {
			_, err := MeasureQuality(q.x, q.n, q.d, q.stride, q.nb, q.emb, q.conn, q.labels, QualityOptions{TrustK: 31})
			return err
		}},
		{"no result", func() error {
			_, err := (&Result{}).Quality(QualityOptions{})
			return err
		}},
	} {
		if tc.call() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestMeasureQualityReference measures scanpy's own results on the
// shared references (its exact lists, UMAP, connectivities and Leiden
// labels on its X_pca): the exact lists have recall 1 up to float32
// near-ties, and the trustworthiness estimated on 2,000 cells is within
// 0.01 of the one over every cell.
func TestMeasureQualityReference(t *testing.T) {
	for _, ds := range []string{"synth5k", "brain10k"} {
		t.Run(ds, func(t *testing.T) {
			_, nPCs := refParams(t, ds)
			pcs := readRefCSV(t, refFile(t, ds, "X_pca.csv.gz"))
			n := pcs.rows
			x := make([]float32, n*nPCs)
			for c := range nPCs {
				col := pcs.col(t, "PC"+strconv.Itoa(c+1))
				for i := range n {
					x[i*nPCs+c] = float32(col[i])
				}
			}
			lists := readRefCSV(t, refFile(t, ds, "knn_exact.csv.gz"))
			k := len(lists.cols)
			nb := knn.Neighbors{N: n, K: k, Indices: make([]int32, n*k)}
			for c := range k {
				col := lists.col(t, "n"+strconv.Itoa(c))
				for i := range n {
					nb.Indices[i*k+c] = int32(col[i])
				}
			}
			um := readRefCSV(t, refFile(t, ds, "umap.csv.gz"))
			emb := make([]float32, 2*n)
			for i := range n {
				emb[2*i], emb[2*i+1] = float32(um.col(t, "UMAP1")[i]), float32(um.col(t, "UMAP2")[i])
			}
			conn := shareddata.ReadTriplets(t, refFile(t, ds, "connectivities.csv.gz"))
			if conn.Rows != n {
				t.Fatalf("connectivities of %d cells, X_pca %d", conn.Rows, n)
			}
			ld := readRefCSV(t, refFile(t, ds, "leiden.csv.gz")).col(t, "leiden")
			labels := make([]int32, n)
			for i, v := range ld {
				labels[i] = int32(v)
			}

			start := time.Now()
			all, err := MeasureQuality(x, n, nPCs, nPCs, nb, emb, conn, labels, QualityOptions{Sample: n})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, all %d cells (%.2f s): recall@%d %.5f, trustworthiness %.4f, preservation %.4f, modularity %.4f",
				ds, n, time.Since(start).Seconds(), k, all.RecallAtK, all.Trustworthiness, all.NeighbourPreservation, all.Modularity)
			sampled, err := MeasureQuality(x, n, nPCs, nPCs, nb, emb, conn, labels, QualityOptions{Sample: 2000, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, 2,000 cells (%.2f s): recall@%d %.5f, trustworthiness %.4f, preservation %.4f",
				ds, sampled.Seconds, k, sampled.RecallAtK, sampled.Trustworthiness, sampled.NeighbourPreservation)
			if all.RecallAtK < 0.999 {
				t.Errorf("recall of scanpy's exact lists %.5f < 0.999", all.RecallAtK)
			}
			if d := math.Abs(sampled.Trustworthiness - all.Trustworthiness); d > 0.01 {
				t.Errorf("sampled trustworthiness %.4f, all cells %.4f: %.4f apart", sampled.Trustworthiness, all.Trustworthiness, d)
			}
			if d := math.Abs(sampled.NeighbourPreservation - all.NeighbourPreservation); d > 0.02 {
				t.Errorf("sampled preservation %.4f, all cells %.4f: %.4f apart", sampled.NeighbourPreservation, all.NeighbourPreservation, d)
			}
			if want := graph.Modularity(conn, labels, 1); all.Modularity != want || want < 0.3 {
				t.Errorf("modularity %v, graph.Modularity %v", all.Modularity, want)
			}
		})
	}
}

// TestRankTable checks the trustworthiness counts' rank tables: a value
// whose bucket is not ambiguous has no threshold within the error bound
// sl, and the bucket's rank is the number of thresholds at most v + sl;
// values at the thresholds, at sl from them and at the buckets' edges
// included, and thresholds that tie or lie within sl of each other.
func TestRankTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 20 {
		m := 1 + rng.IntN(15)
		sl := math.Pow(10, -float64(1+rng.IntN(8)))
		thr := make([]float64, m)
		for e := range thr {
			thr[e] = 100 * rng.Float64()
		}
		if m > 2 {
			thr[1] = thr[0]
			thr[2] = thr[0] + sl*rng.Float64()
		}
		slices.Sort(thr)
		if trial%4 == 0 {
			// No error bound, and thresholds at a bucket's edge.
			sl = 0
			m = 15
			thr = append(thr, make([]float64, m-len(thr))...)
			for e := range thr {
				thr[e] = 100 * rng.Float64()
			}
			slices.Sort(thr)
			edge := math.Floor(thr[3]*trustBuckets/thr[m-1]) / (trustBuckets / thr[m-1])
			thr[3], thr[4], thr[5] = math.Nextafter(edge, 0), edge, math.Nextafter(edge, math.Inf(1))
			slices.Sort(thr)
		}
		w := &trustWorker{tj: &trustJob{pMax: 5000}, np: 16}
		tab := make([]uint8, trustBuckets+2)
		qn := 900.0
		scale := w.table(thr, qn, sl, tab)
		if scale == 0 {
			t.Fatalf("trial %d: no table", trial)
		}
		var vs []float64
		for _, th := range thr {
			for _, f := range []float64{0, 0.5, 1 - 1e-9, 1, 1 + 1e-9, 2} {
				vs = append(vs, th-f*sl, th+f*sl)
			}
		}
		for b := range trustBuckets + 2 {
			edge := float64(b) / scale
			vs = append(vs, edge, math.Nextafter(edge, 0), math.Nextafter(edge, math.Inf(1)), edge-sl, edge+sl)
		}
		for range 5000 {
			vs = append(vs, -sl+(2*thr[m-1]+3*sl)*rng.Float64())
		}
		vs = append(vs, qn+w.tj.pMax+2*(thr[m-1]+sl+1)) // the cell itself
		amb := 0
		for _, v := range vs {
			e := tab[bucket(v, scale)]
			if e == ambiguous {
				amb++
				continue
			}
			below := 0
			for _, th := range thr {
				if math.Abs(th-v) <= sl {
					t.Fatalf("trial %d: v = %v has threshold %v within sl = %g, but bucket %d ranks it %d", trial, v, th, sl, bucket(v, scale), e)
				}
				if th <= v+sl {
					below++
				}
			}
			if min(int(e), m) != below {
				t.Fatalf("trial %d: v = %v in bucket %d of rank %d, %d thresholds at most v + sl", trial, v, bucket(v, scale), e, below)
			}
		}
		if amb > len(vs)/2 {
			t.Errorf("trial %d: %d of %d values ambiguous", trial, amb, len(vs))
		}
	}
	// No table where the values would not fit an int, nor for 255
	// thresholds or more.
	w := &trustWorker{tj: &trustJob{pMax: 1e300}, np: 16}
	if s := w.table([]float64{1e-300}, 1, 0, make([]uint8, trustBuckets+2)); s != 0 {
		t.Errorf("scale %v for values beyond the int range", s)
	}
	w = &trustWorker{tj: &trustJob{pMax: 1}, np: 256}
	if s := w.table([]float64{1, 2}, 1, 0, make([]uint8, trustBuckets+2)); s != 0 {
		t.Errorf("scale %v for 256 slots", s)
	}
}
