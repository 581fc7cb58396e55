package backend

import "github.com/scbench/scbench/sparse"

// The graph steps' operations on a device. They are optional: a backend
// that lacks them leaves the step to the host packages knn and graph, and
// the pipeline says so in its report. Unlike the preprocessing operations
// they take and return host memory: their inputs (X_pca, the edge list)
// and outputs (the neighbour lists, the embedding) are small next to the
// work done on them, and the host needs them anyway.

// KNNParams selects and configures a neighbour search.
type KNNParams struct {
	// Method is "exact" (brute force) or "ivfflat".
	Method string
	// IVF-Flat: as knn.IVFFlatParams; zero fields take its defaults
	// (rapids-singlecell's: 2*2^ceil(log2(sqrt(n))) lists, 20 probes).
	NLists, NProbes, TrainSample, KMeansIters int
	// Seed makes the IVF-Flat training deterministic.
	Seed uint64
	// Refine is the number of rounds of neighbour-of-neighbour
	// refinement after an IVF-Flat search, as knn.Refine defines them
	// (the same candidates, ranked by float64 distance); 0: none. The
	// exact method ignores it.
	Refine int
}

// NeighborSearcher finds nearest neighbours on a device.
type NeighborSearcher interface {
	// KNN returns, for each of the n rows of x (row-major, n x d), its k
	// nearest rows of x by Euclidean distance, the row itself first at
	// distance 0, nearest first, ties broken by the smaller index: the
	// layout of knn.Neighbors (indices and distances n*k, row-major). An
	// approximate method may return fewer than k true neighbours of a
	// row; slots it cannot fill hold index -1 and distance +Inf.
	KNN(x []float32, n, d, k int, p KNNParams) (indices []int32, distances []float32, err error)
}

// IVFIndex is an IVF-Flat index in host memory, built on one device and
// searched on others (ShardedNeighborSearcher): the N indexed points
// sorted by list, each with its row in the caller's matrix and its
// NProbes nearest lists (its own first), and the lists' offsets into the
// sorted order.
type IVFIndex struct {
	N, D, NLists, NProbes int
	Points                []float32 // N x D, row-major, sorted by list
	IDs                   []int32   // the caller's row of each sorted point
	Probes                []int32   // N x NProbes
	Offsets               []int32   // NLists+1: list l is the points Offsets[l] to Offsets[l+1]-1
}

// ShardedNeighborSearcher splits NeighborSearcher.KNN's IVF-Flat self
// search over several devices: one builds the index, each searches a
// share of the indexed points (the same index on every device, so the
// shares' rows are those of one device's search), and one refines the
// whole lists. BuildIVF then SearchIVF over [0, N) then RefineKNN give
// KNN's result with the same parameters.
type ShardedNeighborSearcher interface {
	// BuildIVF trains and fills the index of the n rows of x (n x d,
	// row-major) with p's IVF-Flat parameters.
	BuildIVF(x []float32, n, d int, p KNNParams) (*IVFIndex, error)
	// SearchIVF loads ix on the device, then, for each share [lo, hi)
	// that next hands out until it says !ok, searches the sorted points
	// lo to hi-1 of ix for their k nearest indexed points, each itself
	// first, and writes each one's row (row ix.IDs[s] for sorted point s)
	// of idx and dist (ix.N x k, row-major); other rows are left as they
	// are. next is called from SearchIVF's goroutine only.
	SearchIVF(ix *IVFIndex, k int, next func() (lo, hi int, ok bool), idx []int32, dist []float32) error
	// RefineKNN runs rounds of knn.Refine's refinement over the N x k
	// lists idx and dist of ix's points, in place.
	RefineKNN(ix *IVFIndex, k, rounds int, idx []int32, dist []float32) error
}

// UMAPSGD is what the UMAP optimizer needs besides the edges.
type UMAPSGD struct {
	Dim                int     // embedding dimensions
	NEpochs            int     // epochs to run
	A, B               float64 // the target curve
	Gamma              float64 // repulsion strength
	LearningRate       float64 // initial alpha, decayed linearly to 0
	NegativeSampleRate int
	Seed               uint64
	// Progress, when not nil, is called from the calling goroutine with
	// the epochs done (at least every few epochs, and at the end).
	Progress func(done, total int)
}

// UMAPOptimizer runs UMAP's stochastic gradient descent on a device:
// umap-learn's optimize_layout_euclidean over the directed edges
// head[q] -> tail[q], edge q sampled every epochsPerSample[q] epochs (<= 0:
// never), negative samples drawn uniformly, gradients clipped to [-4, 4].
// emb (n x p.Dim, row-major) holds the start and receives the result.
// It returns the number of positive samples drawn.
type UMAPOptimizer interface {
	UMAPOptimize(emb []float32, n int, head, tail []int32, epochsPerSample []float32, p UMAPSGD) (int64, error)
}

// FuzzyGraphBuilder builds scanpy's connectivities and distances graphs
// from kNN lists on a device, with graph.Connectivities's contract:
// indices and dists are n x k, row-major, each row sorted by distance with
// the cell itself first at distance 0, an index of -1 marking a missing
// neighbour (its distance finite, as the pipeline fills it); conn is the
// fuzzy union of the per-cell memberships (umap-learn's
// fuzzy_simplicial_set with local_connectivity 1 and set_op_mix_ratio 1),
// dist holds each cell's non-self neighbour distances. Both are n x n
// host matrices laid out as graph.Connectivities lays them out: rows
// sorted by column, duplicate entries of a list summed, zeros dropped, so
// that Indptr and Indices are the same and the values agree within float32
// rounding. Malformed lists (lengths other than n*k, k < 1, an index
// outside [-1, n), a distance negative, NaN or infinite) are an error
// wrapping ErrShape.
type FuzzyGraphBuilder interface {
	Connectivities(indices []int32, dists []float32, n, k int) (conn, dist *sparse.CSR, err error)
}
