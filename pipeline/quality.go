package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/linalg"
	"github.com/scbench/scbench/sparse"
)

// The accuracy of the graph steps at atlas scale, where the O(n^2) checks
// of the tests (every cell against every cell) are out of reach: each
// measure is taken on a random sample of cells, every sampled cell still
// compared with all n cells.
//
//   - Recall: the pipeline's neighbour lists of the sampled cells against
//     their exact lists, from an exact search of the sampled rows against
//     all rows (knn.ExactSearch on the host, or a QuerySearcher on a
//     device): the k-nearest search of knn.Exact, self first, compared as
//     sets, the cell itself included as scanpy's lists include it.
//   - Neighbour preservation: the mean fraction of a sampled cell's TrustK
//     nearest other cells in PCA space that are among its TrustK nearest
//     in the embedding (an exact search in 2-D, cheap).
//   - Trustworthiness (Venna and Kaski; sklearn.manifold.trustworthiness):
//
//     T = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in E_i} max(0, r(i, j) - k)
//
//     with E_i the k nearest of i in the embedding and r(i, j) the rank of
//     j among i's neighbours in PCA space (nearest 1, ties by the smaller
//     index). The sum over all i is estimated by n times the mean over the
//     sampled cells: unbiased, and exact when the sample is every cell.
//     A neighbour that is among i's k nearest in PCA space ranks at most
//     k and costs nothing; for the others the rank is a count of the
//     cells closer to i than j, which needs i's distances to all n cells.
//     Those come from float64 dense products (linalg's Dgemm, 256 sampled
//     cells against 512 cells at a time: |q|^2 + |p|^2 - 2 q.p, of
//     bounded error). A cell is placed among a sampled cell's thresholds
//     (the squared distances of its embedded neighbours) by a table of
//     2,048 buckets of values, built per sampled cell, that gives the
//     rank of a bucket holding no threshold within the error bound: a
//     multiplication, a load and an increment per distance, no branch
//     that mispredicts. The few cells in the other buckets are placed by
//     a binary search, and those within the bound of a threshold by their
//     distance from the differences, so the counts are those of a float64
//     brute force, ties by the smaller index.
//   - Modularity: graph.Modularity of the Leiden labels on the
//     connectivities, resolution 1.
//
// Cost, for s sampled cells, n cells and d = 50 PCs, measured on one core
// of the development machine's AMD EPYC: the exact search (knn's float32
// kernel) 1.6 ns per (sampled cell, cell) pair, the 2-D search 0.25 ns,
// the trustworthiness counts 5.8 ns (3 ns of product, 2.6 of placing).
// At n = 1.3 million and s = 10,000, 1.3e10 pairs: about 20, 3 and 75
// CPU-seconds, some 6 seconds on 16 cores. The device search (KNNQuery of
// the GPU backend) takes only the first part.

// DefaultQualitySample is QualityOptions.Sample's default: the cells
// whose recall, neighbour preservation and trustworthiness are measured.
const DefaultQualitySample = 10000

// DefaultQualityK is the neighbourhood size of trustworthiness and
// neighbour preservation (QualityOptions.TrustK): the 15 of scanpy's
// n_neighbors and of the tests' checks.
const DefaultQualityK = 15

// QuerySearcher finds exact nearest neighbours of chosen rows on a
// device (the GPU backend's KNNQuery). KNNQuery returns, for each row of
// x (n x d, row-major) listed in queries, its k nearest rows of x by
// Euclidean distance, nearest first, in the order of a float64 brute
// force with ties broken by the smaller index, as knn.ExactSearch does:
// indices and distances len(queries) x k, row-major. The query's own row
// is a candidate like any other.
type QuerySearcher interface {
	KNNQuery(x []float32, n, d int, queries []int32, k int) (indices []int32, distances []float32, err error)
}

// QualityOptions configures MeasureQuality. The zero value takes the
// defaults.
type QualityOptions struct {
	// Sample is the number of random cells measured (0:
	// DefaultQualitySample; n or more: every cell).
	Sample int
	// TrustSample is the number of those cells whose trustworthiness is
	// estimated, the first of the sample (0: all of them). It is the most
	// expensive measure; a smaller sample gives a noisier estimate.
	TrustSample int
	// TrustK is the neighbourhood size of trustworthiness and neighbour
	// preservation (0: DefaultQualityK); it must be below n/2, as sklearn
	// requires.
	TrustK int
	// Seed draws the sample.
	Seed uint64
	// Threads is the number of goroutines of the host work (<= 0:
	// GOMAXPROCS).
	Threads int
	// Searcher, when not nil, runs the exact search of the sampled cells
	// (else the host runs knn.ExactSearch). A device search may limit k.
	Searcher QuerySearcher
}

// Quality holds the graph steps' accuracy measured by MeasureQuality.
type Quality struct {
	Cells   int `json:"cells"`   // n
	Queries int `json:"queries"` // sampled cells
	// K is the length of the neighbour lists compared (self included).
	K int `json:"k"`
	// RecallAtK is the fraction of the sampled cells' exact K nearest
	// (self included) that their lists hold.
	RecallAtK float64 `json:"recall_at_k"`
	// ExactOn is where the exact search ran: "host" or "device".
	ExactOn string `json:"exact_on"`
	// TrustCells sampled cells estimate Trustworthiness, with TrustK
	// neighbours.
	TrustCells      int     `json:"trust_cells"`
	TrustK          int     `json:"trust_k"`
	Trustworthiness float64 `json:"trustworthiness"`
	// NeighbourPreservation is the mean fraction of a sampled cell's
	// TrustK nearest other cells in PCA space that are among its TrustK
	// nearest in the embedding.
	NeighbourPreservation float64 `json:"neighbour_preservation"`
	// Modularity is graph.Modularity of the labels on the connectivities
	// at resolution 1.
	Modularity float64 `json:"modularity"`
	// Seconds is the wall time of the measurement; the parts are the
	// exact search, the 2-D search of the embedding and the
	// trustworthiness counts.
	Seconds          float64 `json:"seconds"`
	ExactSeconds     float64 `json:"exact_seconds"`
	EmbeddingSeconds float64 `json:"embedding_seconds"`
	TrustSeconds     float64 `json:"trust_seconds"`
	// LeidenHost compares a device's Leiden partition with the host's
	// (Result.CompareHostLeiden); nil when not measured.
	LeidenHost *LeidenAgreement `json:"leiden_host,omitempty"`
}

// LeidenAgreement compares the run's Leiden partition with package
// graph's Leiden (leidenalg's sequential phases) on the same graph with
// the same resolution and seed.
type LeidenAgreement struct {
	ARI        float64 `json:"ari"` // adjusted Rand index of the two partitions
	Clusters   int     `json:"clusters"`
	Modularity float64 `json:"modularity"`
	Seconds    float64 `json:"seconds"` // the host Leiden's wall time
}

// CompareHostLeiden runs the host Leiden on the run's connectivities and
// compares its partition with the run's. It is how a device's Leiden,
// whose parallel phases find another partition of the same quality, is
// checked against the sequential one.
func (res *Result) CompareHostLeiden() (LeidenAgreement, error) {
	g := res.Graph
	if g == nil || g.Leiden == nil || g.Connectivities == nil {
		return LeidenAgreement{}, fmt.Errorf("pipeline: comparing Leiden partitions: the run has no Leiden result")
	}
	start := time.Now()
	labels, info, err := graph.Leiden(g.Connectivities, hostLeidenParams(res.Report.Params))
	if err != nil {
		return LeidenAgreement{}, fmt.Errorf("pipeline: comparing Leiden partitions: %w", err)
	}
	return LeidenAgreement{ARI: graph.AdjustedRandIndex(g.Leiden, labels), Clusters: info.Clusters,
		Modularity: info.Modularity, Seconds: time.Since(start).Seconds()}, nil
}

// Quality measures the graph steps' results of res with MeasureQuality:
// the neighbour lists, UMAP and Leiden labels against X_pca[:, :n_pcs].
func (res *Result) Quality(opt QualityOptions) (Quality, error) {
	g, pca := res.Graph, res.PCA
	if pca == nil || g == nil || g.UMAP == nil || g.Leiden == nil || g.Connectivities == nil {
		return Quality{}, fmt.Errorf("pipeline: quality: needs the pca, neighbors, umap and leiden steps' results")
	}
	n := len(pca.Scores) / max(pca.NComps, 1)
	return MeasureQuality(pca.Scores, n, res.Report.Params.NPCs, pca.NComps, g.Neighbors, g.UMAP, g.Connectivities, g.Leiden, opt)
}

// MeasureQuality measures, on a random sample of cells (see the options),
// the recall of the neighbour lists nb (n x K, self first, as the
// pipeline's neighbors step leaves them) against the exact lists in the
// first nPCs columns of x (n rows of stride values: X_pca), the
// trustworthiness and neighbour preservation of the 2-D embedding emb (n
// x 2, row-major) against the same space, and the modularity of labels
// on conn (exact, every cell). A neighbour index of -1 (a slot an
// approximate search left empty) matches nothing.
func MeasureQuality(x []float32, n, nPCs, stride int, nb knn.Neighbors, emb []float32, conn *sparse.CSR, labels []int32, opt QualityOptions) (Quality, error) {
	start := time.Now()
	kt := cmp.Or(opt.TrustK, DefaultQualityK)
	if err := checkQuality(x, n, nPCs, stride, nb, emb, conn, labels, kt); err != nil {
		return Quality{}, fmt.Errorf("pipeline: quality: %w", err)
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	s := min(cmp.Or(opt.Sample, DefaultQualitySample), n)
	if s < 1 {
		return Quality{}, fmt.Errorf("pipeline: quality: sample of %d cells", s)
	}
	ts := min(cmp.Or(opt.TrustSample, s), s)
	if ts < 1 {
		return Quality{}, fmt.Errorf("pipeline: quality: trustworthiness sample of %d cells", ts)
	}
	sample := qualitySample(n, s, ts, opt.Seed)
	q := Quality{Cells: n, Queries: s, K: nb.K, TrustCells: ts, TrustK: kt, ExactOn: "host"}

	// The exact lists of the sampled cells, self first: enough for the
	// recall (nb.K) and for the PCA neighbourhoods (kt others).
	ka := max(nb.K, kt+1)
	t0 := time.Now()
	xv := blas32.General{Rows: n, Cols: nPCs, Stride: stride, Data: x}
	var exact []int32
	var err error
	if opt.Searcher != nil {
		q.ExactOn = "device"
		exact, err = deviceQuery(opt.Searcher, xv, sample, ka)
	} else {
		exact, err = hostQuery(xv, sample, ka, threads)
	}
	if err != nil {
		return Quality{}, fmt.Errorf("pipeline: quality: the exact search on the %s: %w", q.ExactOn, err)
	}
	q.ExactSeconds = time.Since(t0).Seconds()
	hits := 0
	for r, i := range sample {
		got := nb.Indices[int(i)*nb.K : (int(i)+1)*nb.K]
		for _, j := range exact[r*ka : r*ka+nb.K] {
			if slices.Contains(got, j) {
				hits++
			}
		}
	}
	q.RecallAtK = float64(hits) / float64(s*nb.K)

	// The embedding's neighbourhoods, and preservation.
	t0 = time.Now()
	near, err := hostQuery(blas32.General{Rows: n, Cols: 2, Stride: 2, Data: emb}, sample, kt+1, threads)
	if err != nil {
		return Quality{}, fmt.Errorf("pipeline: quality: the embedding's neighbours: %w", err)
	}
	q.EmbeddingSeconds = time.Since(t0).Seconds()
	kept := 0
	for r := range sample {
		high := exact[r*ka+1 : r*ka+1+kt]
		for _, j := range near[r*(kt+1)+1 : (r+1)*(kt+1)] {
			if slices.Contains(high, j) {
				kept++
			}
		}
	}
	q.NeighbourPreservation = float64(kept) / float64(s*kt)

	// Trustworthiness: the PCA ranks of the embedded neighbours that are
	// not among the kt nearest in PCA space.
	t0 = time.Now()
	tj := &trustJob{x: xv, kt: kt, threads: threads}
	for r, i := range sample[:ts] {
		tj.add(i, exact[r*ka+1:r*ka+1+kt], near[r*(kt+1)+1:(r+1)*(kt+1)])
	}
	penalty := tj.run()
	nf, kf := float64(n), float64(kt)
	q.Trustworthiness = 1 - 2/(kf*(2*nf-3*kf-1))*penalty/float64(ts)
	q.TrustSeconds = time.Since(t0).Seconds()

	q.Modularity = graph.Modularity(conn, labels, 1)
	q.Seconds = time.Since(start).Seconds()
	return q, nil
}

// checkQuality checks MeasureQuality's shapes.
func checkQuality(x []float32, n, nPCs, stride int, nb knn.Neighbors, emb []float32, conn *sparse.CSR, labels []int32, kt int) error {
	switch {
	case n < 1 || n > math.MaxInt32:
		return fmt.Errorf("%d cells", n)
	case nPCs < 1 || stride < nPCs:
		return fmt.Errorf("%d PCs in rows of stride %d", nPCs, stride)
	case len(x) < (n-1)*stride+nPCs:
		return fmt.Errorf("%d cells x %d PCs of stride %d need %d values, X_pca has %d", n, nPCs, stride, (n-1)*stride+nPCs, len(x))
	case nb.N != n || nb.K < 1 || nb.K > n || len(nb.Indices) != n*nb.K:
		return fmt.Errorf("neighbour lists of %d cells x %d (%d indices) for %d cells", nb.N, nb.K, len(nb.Indices), n)
	case len(emb) != 2*n:
		return fmt.Errorf("embedding of %d values for %d cells in 2-D", len(emb), n)
	case conn == nil || conn.Rows != n || conn.Cols != n:
		return fmt.Errorf("connectivities missing or not %d x %d", n, n)
	case len(labels) != n:
		return fmt.Errorf("%d labels for %d cells", len(labels), n)
	case kt < 1 || 2*kt >= n:
		return fmt.Errorf("trustworthiness with %d neighbours of %d cells: want 1 <= k < n/2", kt, n)
	}
	for i, c := range labels {
		if c < 0 {
			return fmt.Errorf("label %d of cell %d is negative", c, i)
		}
	}
	return nil
}

// qualitySample returns s distinct random cells of n: the first ts (the
// trustworthiness sample) in increasing order, then the others in
// increasing order. Every cell when s == n.
func qualitySample(n, s, ts int, seed uint64) []int32 {
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	if s < n {
		// A partial Fisher-Yates shuffle.
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		for i := range s {
			j := i + rng.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	sample := perm[:s:s]
	slices.Sort(sample[:ts])
	slices.Sort(sample[ts:])
	return sample
}

// selfFirst rewrites the rows of res (an exact search of each sampled
// cell against all cells, k wide, the cell itself a candidate) to the
// layout of knn.Exact: the cell first, then its nearest other cells.
func selfFirst(idx []int32, sample []int32, k int) {
	for r, i := range sample {
		row := idx[r*k : (r+1)*k]
		at := slices.Index(row, i)
		if at < 0 {
			at = k - 1 // duplicates fill the row: drop the last
		}
		copy(row[1:at+1], row[:at])
		row[0] = i
	}
}

// hostQuery returns the exact k nearest cells of each sampled row of x
// (knn.ExactSearch), the cell itself first.
func hostQuery(x blas32.General, sample []int32, k, threads int) ([]int32, error) {
	d := x.Cols
	qs := make([]float32, len(sample)*d)
	for r, i := range sample {
		copy(qs[r*d:(r+1)*d], x.Data[int(i)*x.Stride:int(i)*x.Stride+d])
	}
	res, err := knn.ExactSearch(x, blas32.General{Rows: len(sample), Cols: d, Stride: d, Data: qs}, k, threads)
	if err != nil {
		return nil, err
	}
	selfFirst(res.Indices, sample, k)
	return res.Indices, nil
}

// deviceQuery is hostQuery through a QuerySearcher.
func deviceQuery(qs QuerySearcher, x blas32.General, sample []int32, k int) ([]int32, error) {
	n, d := x.Rows, x.Cols
	packed := x.Data[:n*d]
	if x.Stride != d {
		packed = make([]float32, n*d)
		for i := range n {
			copy(packed[i*d:(i+1)*d], x.Data[i*x.Stride:i*x.Stride+d])
		}
	}
	idx, _, err := qs.KNNQuery(packed, n, d, sample, k)
	if err != nil {
		return nil, err
	}
	if len(idx) != len(sample)*k {
		return nil, fmt.Errorf("KNNQuery returned %d indices for %d queries x %d", len(idx), len(sample), k)
	}
	for _, j := range idx {
		if j < 0 || int(j) >= n {
			return nil, fmt.Errorf("KNNQuery returned neighbour %d of %d cells", j, n)
		}
	}
	selfFirst(idx, sample, k)
	return idx, nil
}

// The trustworthiness counts' blocking: trustUnit sampled cells (the rows
// of a product) against trustPanel cells at a time.
const (
	trustUnit  = 256
	trustPanel = 512
)

// trustJob counts, for sampled cells, how many cells are closer in PCA
// space than each of their embedded neighbours that are not among their
// kt nearest, and sums max(0, rank - kt).
type trustJob struct {
	x       blas32.General
	kt      int
	threads int
	// Query u is cell cell[u] with thresholds (squared distances, in
	// increasing order, ties by id) thr[off[u]:off[u+1]] of the cells
	// tid[off[u]:off[u+1]].
	cell []int32
	off  []int
	thr  []float64
	tid  []int32
	pn   []float64 // squared norms of the cells
	pMax float64
	coef float64 // the expansion's error bound, relative to |q|^2 + |p|^2
	// padTo is the smallest power of two above every query's number of
	// thresholds.
	padTo int
}

// dist2 is the squared distance of cells i and j in float64, from the
// differences of their coordinates, summed in order: the reference order.
func dist2(x blas32.General, i, j int) float64 {
	a := x.Data[i*x.Stride : i*x.Stride+x.Cols]
	b := x.Data[j*x.Stride : j*x.Stride+x.Cols]
	s := 0.0
	for c, v := range a {
		e := float64(v) - float64(b[c])
		s += e * e
	}
	return s
}

// add queues cell i, whose kt nearest in PCA space are high and in the
// embedding emb; a cell whose embedded neighbours are all in high costs
// nothing and is not queued.
func (tj *trustJob) add(i int32, high, emb []int32) {
	if len(tj.off) == 0 {
		tj.off = append(tj.off, 0)
	}
	m := len(tj.thr)
	for _, j := range emb {
		if !slices.Contains(high, j) {
			tj.thr = append(tj.thr, dist2(tj.x, int(i), int(j)))
			tj.tid = append(tj.tid, j)
		}
	}
	if len(tj.thr) == m {
		return
	}
	t, id := tj.thr[m:], tj.tid[m:]
	for a := 1; a < len(t); a++ { // insertion sort by (distance, id)
		for b := a; b > 0 && (t[b-1] > t[b] || t[b-1] == t[b] && id[b-1] > id[b]); b-- {
			t[b-1], t[b] = t[b], t[b-1]
			id[b-1], id[b] = id[b], id[b-1]
		}
	}
	tj.cell = append(tj.cell, i)
	tj.off = append(tj.off, len(tj.thr))
}

// run counts and returns the sum of the penalties, added in query order.
func (tj *trustJob) run() float64 {
	nq := len(tj.cell)
	if nq == 0 {
		return 0
	}
	x := tj.x
	n, d := x.Rows, x.Cols
	tj.pn = make([]float64, n)
	for i := range n {
		s := 0.0
		for _, v := range x.Data[i*x.Stride : i*x.Stride+d] {
			s += float64(v) * float64(v)
		}
		tj.pn[i] = s
		tj.pMax = max(tj.pMax, s)
	}
	// The products of float32 coordinates are exact in float64; |q|^2,
	// |p|^2 and q.p carry at most d roundings each, |q|^2 + |p|^2 - 2 q.p
	// two more: its error is below (2d + 4) u (|q|^2 + |p|^2), u = 2^-53.
	// The direct sum's is below (d + 3) u times the distance, itself at
	// most 2 (|q|^2 + |p|^2). Twice the sum of the two bounds leaves room
	// for the terms of higher order.
	tj.coef = float64(2*(4*d+10)) * 0x1p-53
	tj.padTo = 1
	for q := range nq {
		for tj.padTo <= tj.off[q+1]-tj.off[q] {
			tj.padTo *= 2
		}
	}
	// Units small enough to keep every goroutine busy, large enough for
	// the product.
	unit := min(trustUnit, max(48, (nq+4*tj.threads-1)/(4*tj.threads)))
	units := (nq + unit - 1) / unit
	pen := make([]float64, nq)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(tj.threads, units) {
		wg.Go(func() {
			w := newTrustWorker(tj, unit)
			for {
				u := int(next.Add(1) - 1)
				if u >= units {
					return
				}
				w.unit(u*unit, min(nq, (u+1)*unit), pen)
			}
		})
	}
	wg.Wait()
	total := 0.0
	for _, p := range pen {
		total += p
	}
	return total
}

// trustWorker holds one goroutine's buffers.
type trustWorker struct {
	tj   *trustJob
	blas linalg.BLAS
	a, b []float64 // the unit's cells and a panel of cells, float64
	c    []float64 // their products, unit x panel
	qn   []float64
	// Per unit query, np slots (np = tj.padTo): pad, its thresholds
	// padded with +Inf; diff, the cells surely closer than threshold e
	// and every later one, added at e (a difference array); counts, the
	// cells found closer than threshold e by their direct distance.
	np     int
	pad    []float64
	diff   []int64
	counts []int64
	// tab is, per unit query, the rank of each bucket of values (see
	// row), scale the buckets per unit of squared distance.
	tab   []uint8
	scale []float64
	amb   []int32 // a row's cells that place leaves to the slow path
}

func newTrustWorker(tj *trustJob, unit int) *trustWorker {
	d, np := tj.x.Cols, tj.padTo
	return &trustWorker{
		tj:     tj,
		blas:   linalg.NewGo(1),
		a:      make([]float64, unit*d),
		b:      make([]float64, trustPanel*d),
		c:      make([]float64, unit*trustPanel),
		qn:     make([]float64, unit),
		np:     np,
		pad:    make([]float64, unit*np),
		diff:   make([]int64, unit*np),
		counts: make([]int64, unit*np),
		tab:    make([]uint8, unit*(trustBuckets+2)),
		scale:  make([]float64, unit),
	}
}

// unit counts for queries q0 to q1 and writes their penalties into pen.
func (w *trustWorker) unit(q0, q1 int, pen []float64) {
	tj := w.tj
	x := tj.x
	n, d, np := x.Rows, x.Cols, w.np
	m := q1 - q0
	clear(w.diff)
	clear(w.counts)
	for r := range m {
		i := int(tj.cell[q0+r])
		for c, v := range x.Data[i*x.Stride : i*x.Stride+d] {
			w.a[r*d+c] = float64(v)
		}
		w.qn[r] = tj.pn[i]
		tp := w.pad[r*np : (r+1)*np]
		k := copy(tp, tj.thr[tj.off[q0+r]:tj.off[q0+r+1]])
		for e := k; e < np; e++ {
			tp[e] = math.Inf(1)
		}
		w.scale[r] = w.table(tp[:k], w.qn[r], tj.coef*(w.qn[r]+tj.pMax), w.tab[r*(trustBuckets+2):(r+1)*(trustBuckets+2)])
	}
	a := blas64.General{Rows: m, Cols: d, Stride: d, Data: w.a}
	for p0 := 0; p0 < n; p0 += trustPanel {
		pw := min(trustPanel, n-p0)
		for l := range pw {
			for c, v := range x.Data[(p0+l)*x.Stride : (p0+l)*x.Stride+d] {
				w.b[l*d+c] = float64(v)
			}
		}
		w.blas.Dgemm(blas.NoTrans, blas.Trans, 1, a, blas64.General{Rows: pw, Cols: d, Stride: d, Data: w.b},
			0, blas64.General{Rows: m, Cols: pw, Stride: pw, Data: w.c})
		for r := range m {
			w.row(q0+r, r, p0, w.c[r*pw:(r+1)*pw])
		}
	}
	for r := range m {
		q := q0 + r
		df, cnt := w.diff[r*np:(r+1)*np], w.counts[r*np:(r+1)*np]
		run := int64(0)
		p := 0.0
		for e := range tj.off[q+1] - tj.off[q] {
			run += df[e]
			rank := 1 + run + cnt[e]
			p += float64(max(0, rank-int64(tj.kt)))
		}
		pen[q] = p
	}
}

// trustBuckets is the number of buckets of a query's rank table.
const trustBuckets = 2048

// ambiguous marks a bucket of a rank table that holds a threshold.
const ambiguous = 0xff

// table fills tab, the rank table of a query with thresholds t (np
// slots of diff) and error bound sl, and returns its scale. Bucket b <
// trustBuckets holds the values v in [b, b+1) / scale, those up to top,
// the largest threshold plus sl; tab[b] is the number of thresholds at
// most v + sl for every v of buckets b-1 to b+1 (so that a rounding of v *
// scale one bucket off does not matter) when no threshold lies within sl
// of them, else ambiguous. Bucket trustBuckets, just above top, is
// ambiguous; the last, every value beyond, counts at slot np-1, which
// the penalties ignore. Where the values would not fit an int, or diff
// has more slots than a uint8 numbers, every bucket is ambiguous (scale
// 0): all cells take the binary search.
func (w *trustWorker) table(t []float64, qn, sl float64, tab []uint8) float64 {
	top := t[len(t)-1] + sl
	// Every value, the cell itself's (row) included, must give a finite
	// v * scale well inside the int range.
	if !(top > 0) || w.np > ambiguous || !((qn+w.tj.pMax+top+1)*4*trustBuckets/top < 0x1p62) {
		for b := range tab {
			tab[b] = ambiguous
		}
		return 0
	}
	nb := len(tab) - 2
	scale := float64(nb) / top
	e := 0
	for b := range nb {
		lo, hi := float64(b-1)/scale-sl, float64(b+2)/scale+sl
		for e < len(t) && t[e] < lo {
			e++
		}
		if e < len(t) && t[e] <= hi {
			tab[b] = ambiguous
		} else {
			tab[b] = uint8(e)
		}
	}
	tab[nb] = ambiguous
	tab[nb+1] = uint8(w.np - 1)
	return scale
}

// row counts, for query q (row r of the unit), the cells p0 on whose
// products with it are c. A cell is surely closer than the thresholds
// above v + sl, v its expanded value and sl the expansion's error bound,
// and diff counts it so, at the rank of v + sl among the thresholds: the
// rank table gives it (place), or where v's bucket holds a threshold a
// binary search. A cell with a threshold within sl of v is closer or not
// than that threshold by its direct distance.
func (w *trustWorker) row(q, r, p0 int, c []float64) {
	tj := w.tj
	np := w.np
	t, id := tj.thr[tj.off[q]:tj.off[q+1]], tj.tid[tj.off[q]:tj.off[q+1]]
	tp := w.pad[r*np : (r+1)*np]
	df, cnt := w.diff[r*np:(r+1)*np], w.counts[r*np:(r+1)*np]
	qn := w.qn[r]
	cell := int(tj.cell[q])
	sl := tj.coef * (qn + tj.pMax)
	if self := cell - p0; self >= 0 && self < len(c) {
		// The cell itself: a value beyond every threshold.
		c[self] = -(t[len(t)-1] + sl + 1)
	}
	pn := tj.pn[p0 : p0+len(c)]
	w.amb = place(c, pn, qn, w.scale[r], w.tab[r*(trustBuckets+2):(r+1)*(trustBuckets+2)], df, w.amb[:0])
	for _, l := range w.amb {
		v := qn + pn[l] - 2*c[l]
		e1 := rankOf(tp, v+sl)
		df[e1]++
		if e1 == 0 || tp[e1-1] < v-sl {
			continue
		}
		// Counted as closer than t[e1:] only: decide the thresholds
		// within sl of v by the direct distance.
		e0 := e1 - 1
		for e0 > 0 && tp[e0-1] >= v-sl {
			e0--
		}
		dd := dist2(tj.x, cell, p0+int(l))
		for e := e0; e < e1; e++ {
			if dd < t[e] || dd == t[e] && int32(p0+int(l)) < id[e] {
				cnt[e]++
			}
		}
	}
}

// place adds to df, for each cell l, one at the rank in tab of the
// bucket of its value v = qn + pn[l] - 2 c[l], and appends to amb the
// cells whose bucket is ambiguous. Branch-free but for those.
func place(c, pn []float64, qn, scale float64, tab []uint8, df []int64, amb []int32) []int32 {
	pn = pn[:len(c)]
	tab = tab[:trustBuckets+2]
	for l, dot := range c {
		v := qn + pn[l] - 2*dot
		e := tab[bucket(v, scale)]
		if e == ambiguous {
			amb = append(amb, int32(l))
			continue
		}
		df[e]++
	}
	return amb
}

// bucket returns the bucket of a rank table of value v,
// min(max(int(v*scale), 0), trustBuckets+1), without the branches of min
// and max, which mispredict in place (table makes sure that v*scale fits
// an int).
func bucket(v, scale float64) int {
	b := int(v * scale)
	b &^= b >> 63
	o := b - (trustBuckets + 1)
	return trustBuckets + 1 + o&(o>>63)
}

// atMost is 1 when t <= v, else 0, without a branch: the sign of v - t
// (+0 when equal; -Inf when t is +Inf).
func atMost(t, v float64) int { return 1 - int(math.Float64bits(v-t)>>63) }

// rankOf returns how many of the thresholds tp (sorted, a power of two
// long, +Inf last) are at most v: a branch-free binary search.
func rankOf(tp []float64, v float64) int {
	e := 0
	for step := len(tp) >> 1; step > 0; step >>= 1 {
		e += step * atMost(tp[e+step-1], v)
	}
	return e
}
