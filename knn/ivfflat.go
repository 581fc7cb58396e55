package knn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas32"
)

// IVFFlatParams configures an IVF-Flat index. Zero fields take the
// defaults of rapids-singlecell's ivfflat neighbours
// (preprocessing/_neighbors/_algorithms/_ivfflat.py and
// _helper.__init__._compute_nlist) where it sets them, of cuVS otherwise.
type IVFFlatParams struct {
	// NLists is the number of inverted lists (k-means centres). Default:
	// 2 * 2^ceil(log2(sqrt(n))), rapids-singlecell's _compute_nlist
	// (1,024 lists at 100,000 cells, 4,096 at 1.3 million).
	NLists int
	// NProbes is the number of nearest lists a query scans when Search is
	// given nProbes <= 0. Default 20, rapids-singlecell's n_probes.
	NProbes int
	// TrainSample is the number of rows k-means trains on. Default:
	// min(n, 64*NLists). cuVS trains on half the rows
	// (kmeans_trainset_fraction 0.5), faiss on at most 256 rows per list;
	// 64 per list keeps training a fraction of the search cost on a CPU,
	// and recall does not improve with more (on 100,000 clustered points:
	// 0.959 with 65,536 rows, 0.959 with 50,000 and 20 iterations).
	TrainSample int
	// KMeansIters is the number of Lloyd iterations of each level of the
	// training (see kmeans.go; the final pass over all centres adds 2).
	// Default 5. cuVS uses 20; recall is flat beyond a few (on 300,000
	// clustered points, 2,048 lists: recall@15 0.907 after 5 and after 10
	// flat iterations; on 100,000 points 0.958 after 5, 0.959 after 10
	// and 20).
	KMeansIters int
	// Seed seeds the training sample and the initial centres; an index is
	// a deterministic function of the data and the parameters.
	Seed uint64
	// Threads is the number of goroutines of the build; <= 0 means
	// GOMAXPROCS.
	Threads int
}

// Default parameter values.
const (
	DefaultNProbes     = 20
	DefaultKMeansIters = 5
	trainPerList       = 64
)

// DefaultNLists returns rapids-singlecell's default number of lists for n
// points: twice the power of two at or above sqrt(n).
func DefaultNLists(n int) int {
	if n <= 1 {
		return 2
	}
	return 2 << max(0, int(math.Ceil(math.Log2(math.Sqrt(float64(n))))))
}

// withDefaults fills the zero fields for n points and clamps NLists to n.
func (p IVFFlatParams) withDefaults(n int) IVFFlatParams {
	if p.NLists <= 0 {
		p.NLists = DefaultNLists(n)
	}
	p.NLists = max(1, min(p.NLists, n))
	if p.NProbes <= 0 {
		p.NProbes = DefaultNProbes
	}
	p.NProbes = min(p.NProbes, p.NLists)
	if p.TrainSample <= 0 {
		p.TrainSample = min(n, trainPerList*p.NLists)
	}
	p.TrainSample = max(p.NLists, min(p.TrainSample, n))
	if p.KMeansIters <= 0 {
		p.KMeansIters = DefaultKMeansIters
	}
	return p
}

// IVFFlat is an inverted-file index with uncompressed vectors, shaped like
// faiss's IndexIVFFlat and cuVS's ivf_flat: a k-means coarse quantizer and,
// per centre, the list of points nearest to it, stored contiguously.
// Search probes each query's nProbes nearest lists and ranks their points
// exactly. An IVFFlat is read-only after BuildIVFFlat and safe for
// concurrent searches.
type IVFFlat struct {
	params    IVFFlatParams
	n, d      int
	centroids blas32.General
	coarse    *coarse
	lists     *pointSet // the points, one list per centre
	slot      []int32   // slot in lists of each point
	probes    []int32   // each point's params.NProbes nearest lists, for SearchSelf
}

// BuildIVFFlat trains the coarse quantizer on a sample of the rows of x
// and fills the lists with every row (faiss's train then add). The index
// copies what it needs; x may change afterwards.
func BuildIVFFlat(x blas32.General, params IVFFlatParams) (*IVFFlat, error) {
	if err := checkMatrix("points", x); err != nil {
		return nil, err
	}
	if x.Rows == 0 {
		return nil, fmt.Errorf("knn: BuildIVFFlat over 0 points")
	}
	p := params.withDefaults(x.Rows)
	n, d := x.Rows, x.Cols
	rng := rand.New(rand.NewPCG(p.Seed, 0x6a09e667f3bcc909))
	sample := sampleRows(n, p.TrainSample, rng)
	ts := blas32.General{Rows: len(sample), Cols: d, Stride: d, Data: make([]float32, len(sample)*d)}
	for i, r := range sample {
		copy(ts.Data[i*d:i*d+d], x.Data[int(r)*x.Stride:int(r)*x.Stride+d])
	}
	cent, meso := trainCentres(ts, p.NLists, p.KMeansIters, rng, p.Threads)
	ix := &IVFFlat{params: p, n: n, d: d, centroids: cent, coarse: newCoarse(cent, meso, p.Threads)}

	// Each point's nearest lists: the first is its list, all of them are
	// kept for SearchSelf.
	ix.probes = make([]int32, n*p.NProbes)
	ix.coarse.search(n, rowLoader(x), p.NProbes, p.Threads, ix.probes)
	members, bounds := groupByList(ix.probes, p.NProbes, p.NLists)
	ix.lists = newPointSet(x, members, bounds)
	ix.slot = make([]int32, n)
	for s, id := range ix.lists.ids {
		if id >= 0 {
			ix.slot[id] = int32(s)
		}
	}
	return ix, nil
}

// groupByList returns the queries ordered by their first probe (a
// counting sort, stable in query order) and the list boundaries in that
// order.
func groupByList(probes []int32, stride, nLists int) ([]int32, []int) {
	n := len(probes) / stride
	bounds := make([]int, nLists+1)
	for i := 0; i < n; i++ {
		bounds[probes[i*stride]+1]++
	}
	for l := 0; l < nLists; l++ {
		bounds[l+1] += bounds[l]
	}
	pos := append([]int(nil), bounds[:nLists]...)
	members := make([]int32, n)
	for i := 0; i < n; i++ {
		l := probes[i*stride]
		members[pos[l]] = int32(i)
		pos[l]++
	}
	return members, bounds
}

// ivfUnit is the most queries of one search unit: a unit is the queries
// whose nearest list is the same (or a slice of them), and shares the
// lists they probe.
const ivfUnit = 32 * tileRows

// unitsOf splits the list boundaries into units of at most size queries.
func unitsOf(bounds []int, size int) []int {
	units := []int{0}
	for l := 0; l+1 < len(bounds); l++ {
		for s := bounds[l] + size; s < bounds[l+1]; s += size {
			units = append(units, s)
		}
		if bounds[l+1] > units[len(units)-1] {
			units = append(units, bounds[l+1])
		}
	}
	return units
}

// Params returns the parameters the index was built with, defaults filled.
func (ix *IVFFlat) Params() IVFFlatParams { return ix.params }

// Len returns the number of indexed points.
func (ix *IVFFlat) Len() int { return ix.n }

// Centroids returns the coarse quantizer's centres, NLists x d. The
// matrix belongs to the index.
func (ix *IVFFlat) Centroids() blas32.General { return ix.centroids }

// ListSizes returns the number of points in each list.
func (ix *IVFFlat) ListSizes() []int {
	sizes := make([]int, ix.lists.lists())
	for l := range sizes {
		for s := ix.lists.start[l] * panelWidth; s < ix.lists.start[l+1]*panelWidth; s++ {
			if ix.lists.ids[s] >= 0 {
				sizes[l]++
			}
		}
	}
	return sizes
}

func (ix *IVFFlat) checkSearch(k, nProbes int) (int, error) {
	if nProbes <= 0 {
		nProbes = ix.params.NProbes
	}
	nProbes = min(nProbes, ix.params.NLists)
	if k < 1 || k > ix.n {
		return 0, fmt.Errorf("knn: IVF-Flat search with k = %d over %d points: k must be between 1 and the number of points", k, ix.n)
	}
	return nProbes, nil
}

// Search returns approximately the k nearest indexed points of every row
// of queries: the exact k nearest among the points of the query's
// nProbes nearest lists (nProbes <= 0: Params().NProbes), nearest first,
// ties broken by the smaller index. A row whose probed lists hold fewer
// than k points ends in index -1 at distance +Inf. Queries are searched in
// parallel on threads goroutines (<= 0: GOMAXPROCS); results do not depend
// on it.
func (ix *IVFFlat) Search(queries blas32.General, k, nProbes, threads int) (Neighbors, error) {
	if err := checkMatrix("queries", queries); err != nil {
		return Neighbors{}, err
	}
	if queries.Cols != ix.d {
		return Neighbors{}, fmt.Errorf("knn: queries have %d columns, the index %d", queries.Cols, ix.d)
	}
	nProbes, err := ix.checkSearch(k, nProbes)
	if err != nil {
		return Neighbors{}, err
	}
	nq := queries.Rows
	load := rowLoader(queries)
	probes := make([]int32, nq*nProbes)
	ix.coarse.search(nq, load, nProbes, threads, probes)
	nb := newNeighbors(nq, k)
	ix.search(nq, load, false, k, probes, nProbes, threads, nb)
	return nb, nil
}

// SearchSelf returns approximately the k nearest neighbours of every
// indexed point among the indexed points, as scanpy's neighbors stores
// them: the point itself first at distance 0, then the k-1 nearest others
// found in its nProbes nearest lists (nProbes <= 0: Params().NProbes).
// The coarse search done by BuildIVFFlat is reused when nProbes <=
// Params().NProbes.
func (ix *IVFFlat) SearchSelf(k, nProbes, threads int) (Neighbors, error) {
	nProbes, err := ix.checkSearch(k, nProbes)
	if err != nil {
		return Neighbors{}, err
	}
	load := func(i int, dst []float32) { ix.lists.vector(int(ix.slot[i]), dst) }
	var probes []int32
	if nProbes <= ix.params.NProbes {
		probes = ix.probes
		if nProbes < ix.params.NProbes {
			probes = make([]int32, ix.n*nProbes)
			for i := 0; i < ix.n; i++ {
				copy(probes[i*nProbes:(i+1)*nProbes], ix.probes[i*ix.params.NProbes:])
			}
		}
	} else {
		probes = make([]int32, ix.n*nProbes)
		ix.coarse.search(ix.n, load, nProbes, threads, probes)
	}
	nb := newNeighbors(ix.n, k)
	ix.search(ix.n, load, true, k, probes, nProbes, threads, nb)
	return nb, nil
}

// search runs the fine search given each query's probes.
func (ix *IVFFlat) search(nq int, load func(int, []float32), self bool, k int, probes []int32, nProbes, threads int, nb Neighbors) {
	order, bounds := groupByList(probes, nProbes, ix.params.NLists)
	heapK := k
	if self {
		heapK = k - 1
	}
	j := &job{
		ps:      ix.lists,
		load:    load,
		self:    self,
		heapK:   heapK,
		probes:  func(q int32) []int32 { return probes[int(q)*nProbes : int(q)*nProbes+nProbes] },
		order:   order,
		units:   unitsOf(bounds, ivfUnit),
		threads: threads,
		outK:    k,
		outIdx:  nb.Indices,
		outDist: nb.Distances,
	}
	j.run()
}
