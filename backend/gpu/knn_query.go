package gpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
)

// KNNQuery returns the exact k nearest rows of x (n x d, row-major) to
// each of the rows of x listed in queries: indices and Euclidean
// distances, len(queries) x k, row-major, nearest first, in the order of
// a float64 brute force with ties broken by the smaller index, as
// knn.ExactSearch computes it. No row is treated as a query's self: the
// query's own row is a candidate like any other, so it comes first at
// distance 0 unless a duplicate with a smaller index ties with it.
//
// It is the exact reference of a sampled recall measurement (package
// pipeline's QuerySearcher): the queries are gathered on the device from
// the uploaded points and knn_scan, the kernel of the exact search, ranks
// all n points for them (32 queries a work-group, each group sweeping
// every point). k may be at most 64; the coordinates must be finite.
func (be *Backend) KNNQuery(x []float32, n, d int, queries []int32, k int) ([]int32, []float32, error) {
	if err := checkKNNQuery(len(x), n, d, queries, k); err != nil {
		return nil, nil, fmt.Errorf("gpu: KNNQuery: %w", err)
	}
	if ml := be.rt.MaxLocal(); ml < knnLocal {
		return nil, nil, fmt.Errorf("gpu: KNNQuery: the device takes work-groups of at most %d, the search needs %d", ml, knnLocal)
	}
	nq := len(queries)
	idx := make([]int32, nq*k)
	dist := make([]float32, nq*k)
	if nq == 0 {
		return idx, dist, nil
	}
	r := &knnRun{be: be}
	defer r.free()
	if err := r.query(x[:n*d], n, d, queries, k, idx, dist); err != nil {
		return nil, nil, fmt.Errorf("gpu: KNNQuery: %w", err)
	}
	return idx, dist, nil
}

// checkKNNQuery checks KNNQuery's shapes.
func checkKNNQuery(lenX, n, d int, queries []int32, k int) error {
	if err := checkPoints(lenX, n, d); err != nil {
		return err
	}
	if k < 1 || k > n {
		return fmt.Errorf("%w: k = %d over %d points: k must be between 1 and the number of points", backend.ErrShape, k, n)
	}
	if k > knnKMax {
		return fmt.Errorf("k = %d: the device search keeps at most %d neighbours", k, knnKMax)
	}
	if len(queries) > math.MaxInt32/max(k, d) {
		return fmt.Errorf("%w: %d queries of %d neighbours and %d coordinates overflow int32 offsets", backend.ErrShape, len(queries), k, d)
	}
	for i, q := range queries {
		if q < 0 || int(q) >= n {
			return fmt.Errorf("%w: query %d is row %d of %d", backend.ErrShape, i, q, n)
		}
	}
	return nil
}

// query uploads x, gathers the query rows on the device and runs one
// non-self knn_scan of them against every point, writing the results
// into idx and dist (len(queries) x k).
func (r *knnRun) query(x []float32, n, d int, queries []int32, k int, idx []int32, dist []float32) error {
	be := r.be
	xm, _, err := r.prepare(x, n*d)
	if err != nil {
		return err
	}
	nq := len(queries)
	qi, err := r.upload("the query rows", backend.Int32, asBytes(queries), nq)
	if err != nil {
		return err
	}
	qm, err := r.alloc("the queries", backend.Float32, nq*d)
	if err != nil {
		return err
	}
	if err := r.gather(nq, d, qi, xm, qm); err != nil {
		return fmt.Errorf("gathering the queries: %w", err)
	}
	oi, err := r.alloc("the neighbour indices", backend.Int32, nq*k)
	if err != nil {
		return err
	}
	od, err := r.alloc("the neighbour distances", backend.Float32, nq*k)
	if err != nil {
		return err
	}
	// Without self and query ids, knn_scan writes query slot s's row at
	// s*k and ranks the query's own row like any other point.
	if err := r.scan(scanJob{nq: nq, d: d, k: k, q: qm, p: xm, np: n, outIdx: oi, outDist: od}); err != nil {
		return err
	}
	if err := be.rt.ToHost(asBytes(idx), oi, 0); err != nil {
		return fmt.Errorf("reading the neighbour indices: %w", err)
	}
	if err := be.rt.ToHost(asBytes(dist), od, 0); err != nil {
		return fmt.Errorf("reading the neighbour distances: %w", err)
	}
	return nil
}
