package backend

import "github.com/scbench/scbench/sparse"

// LeidenSpec configures CommunityDetector.Leiden. The zero value is not
// useful: Resolution 0 puts every connected component in one cluster;
// scanpy's defaults are Resolution 1 and Seed 0.
type LeidenSpec struct {
	// Resolution is gamma in leidenalg's RBConfiguration quality (the
	// modularity of graph.Modularity): larger values give more, smaller
	// clusters.
	Resolution float64
	// Seed drives the random choices; the labels depend on it and on the
	// graph only, never on the device's scheduling.
	Seed uint64
	// MaxLevels bounds the aggregation levels of one pass; 0: no bound (a
	// pass ends when a level no longer shrinks the graph).
	MaxLevels int
	// MaxPasses bounds the passes, each starting from the previous one's
	// partition (scanpy's n_iterations); 0: the implementation's default,
	// which repeats passes while they improve the modularity noticeably
	// (scanpy's n_iterations = -1 repeats until nothing changes).
	MaxPasses int
}

// LeidenResult reports what Leiden did.
type LeidenResult struct {
	Iterations int     // passes run
	Levels     int     // levels summed over the passes
	Sweeps     int     // local-moving sweeps summed over levels and passes
	Moves      int64   // node moves of the local moving, summed
	Clusters   int     // clusters in the result
	Modularity float64 // graph.Modularity of the result at Resolution (as the device sums it)
}

// CommunityDetector clusters a graph on a device with the Leiden
// algorithm (Traag, Waltman and van Eck 2019) and leidenalg's
// RBConfiguration quality, as graph.Leiden does on the host; the device's
// parallel phases make other choices than the host's sequential ones, so
// the partitions agree by quality and adjusted Rand index, not label for
// label.
//
// g is the symmetric weighted adjacency matrix (n x n, every undirected
// edge stored in both directions as scanpy's connectivities, a diagonal
// entry a self loop counted once; symmetry is not checked), with finite
// non-negative weights. labels holds one cluster per node, numbered by
// decreasing size (0 the largest; ties to the cluster holding the smaller
// node), as graph.Leiden numbers them. A malformed matrix (not square,
// inconsistent row pointers, an index out of range, a negative, NaN or
// infinite weight) or a negative resolution is an error wrapping
// ErrShape.
type CommunityDetector interface {
	Leiden(g *sparse.CSR, p LeidenSpec) (labels []int32, info LeidenResult, err error)
}
