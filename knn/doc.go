// Package knn finds the k nearest neighbours of every cell in PCA space,
// the input of scanpy's neighbors(n_neighbors=15, n_pcs=50): for each
// cell, itself first at distance 0, then its k-1 nearest other cells by
// Euclidean distance, nearest first.
//
// # Data
//
// Points and queries are gonum's row-major blas32.General (element (i, j)
// at Data[i*Stride+j]); Columns(x, nPCs) views the first n_pcs columns of
// an n x n_comps X_pca in place. Results are a Neighbors value: N x K
// row-major Indices (int32) and Distances (float32, Euclidean, not
// squared), each row sorted by distance with ties broken by the smaller
// index. Coordinates must be finite.
//
// # Exact search
//
// Exact (every row against every row, self first) and ExactSearch
// (queries against points) compute squared distances as
// ||q||^2 + ||p||^2 - 2 q.p with a register-tiled float32 micro-kernel
// (kernel.go): 6 queries by 16 points per call, both packed k-major,
// AVX2+FMA assembly on amd64 (chosen by CPUID; the build tag noasm
// removes it), portable Go elsewhere. Points are packed once into
// 16-point panels; each goroutine takes a unit of 384 queries and sweeps
// the panels in L2-sized chunks, every 6-query tile of the unit over each
// chunk, so the points stream from memory n/384 times. The kernel also
// compares each value with its query's threshold (the worst of its
// bounded max-heap) and returns a bit mask of those that pass; only they
// reach Go.
//
// The float32 expansion loses digits to cancellation, so ranking is made
// exact in two steps (search.go). A first pass ranks by the kernel's
// values and keeps 4 candidates more than asked; they are then re-ranked
// by float64 distance (exact differences of the float32 coordinates,
// summed in a fixed order on every machine, sqdist64Go) and accepted only
// when provably right: the kernel's error is bounded (slackCoef), so if
// the k-th float64 distance lies below the worst kept float32 value minus
// that bound, no point left out can reach it. The few queries that fail
// (near-ties at the boundary, duplicated points) are searched again,
// re-ranking every candidate in float64 as it comes. The answer is
// exactly that of a float64 brute force, recall 1.0, whatever the thread
// count; with duplicated points the query itself still comes first.
//
// Cost: n^2 d multiply-adds, 5e11 at n = 100,000, d = 50 (about 11
// CPU-seconds on the development machine's AMD EPYC). Quadratic: it is
// the reference and the small-data path, not the atlas path.
//
// # IVF-Flat
//
// IVFFlat is the inverted-file index of faiss's IndexIVFFlat and cuVS's
// ivf_flat, which rapids-singlecell's neighbors(algorithm="ivfflat")
// calls: a k-means coarse quantizer and one list per centre holding the
// full vectors of the points nearest to it, a reordered copy of the data
// with the original ids, stored contiguously per list (in the kernel's
// 16-point panels, as cuVS interleaves groups of 32, and row by row for
// re-ranking). BuildIVFFlat trains and fills the index; Search finds, for
// each query, its nProbes nearest centres (an exact search against the
// centres) and the exact k nearest among the points of those lists.
// SearchSelf does this for the indexed points themselves, self first,
// reusing the coarse search the build already made.
//
// Training (kmeans.go) is Lloyd's k-means on a sample, in two levels as
// cuVS's balanced hierarchical k-means when there are 256 lists or more:
// about sqrt(nLists) mesoclusters, fine clusters inside each in
// proportion to its size, then 2 iterations of all centres over the whole
// sample; empty and tiny clusters are re-seeded by splitting the largest,
// as faiss does, so no list is many times the mean. The coarse search
// (coarse.go) scans the centres grouped by mesocluster, the query's
// nearest group first, so its heap holds good centres early and few
// others pass the kernel's threshold.
//
// Queries are processed grouped by their nearest list: a unit is up to
// 192 queries sharing it, and the unit scans each list that any of them
// probes once, for all of them together, through the same micro-kernel
// (a small dense product per list rather than one query at a time).
// Lists come in the order of their mean probe rank, so thresholds tighten
// early.
//
// Defaults (IVFFlatParams) follow rapids-singlecell: NLists = 2 *
// 2^ceil(log2(sqrt(n))) (its _compute_nlist in
// preprocessing/_neighbors/_helper: 256 lists for 4,097 to 16,384 cells,
// 1,024 at 100,000, 4,096 at 1.3 million) and NProbes = 20 (its n_probes
// in _algorithms/_ivfflat.py); KMeansIters and TrainSample are CPU
// choices documented on the fields. An index is a deterministic function
// of the data, the parameters and Seed; results never depend on the
// thread count.
//
// Memory: the index holds the data twice (panels and rows: 2 n d float32,
// 520 MB at 1.3 million cells and 50 PCs) plus each point's NProbes
// nearest lists (4 n NProbes bytes, 100 MB) for SearchSelf.
//
// Recall depends on the data: with the defaults it is 1.0 on the
// reference datasets (synth5k, brain10k), 0.958 on 100,000 points of
// 50-dimensional Gaussian blobs and 0.84 on 1.3 million of them, where
// 40 probes give 0.95 (see the benchmarks).
//
// # Refinement
//
// Refine (refine.go) improves an approximate self search by rounds of
// NN-descent's local join: a point's new neighbours are the nearest among
// its neighbours, the nearest points that list it, and the neighbours of
// both. Two rounds lift recall@15 on the generated 1.3M-cell atlas's PCs
// from 0.899 to 0.955 with the default probes (the pipeline's default);
// on 100,000 blob points one round goes from 0.958 to 0.986 for about 14
// microseconds of one core a point.
//
// # References
//
// Lloyd, Least squares quantization in PCM, IEEE Trans. Inf. Theory 28
// (1982). Jégou, Douze and Schmid, Product quantization for nearest
// neighbor search, IEEE TPAMI 33 (2011), on the inverted file. Dong,
// Moses and Li, Efficient k-nearest neighbor graph construction for
// generic similarity measures, WWW 2011, on the local join. Goto and
// van de Geijn, Anatomy of high-performance matrix multiplication, ACM
// TOMS 34 (2008), for the packed register tile.
package knn
