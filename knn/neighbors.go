package knn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas32"
)

// Neighbors holds the k nearest neighbours of N queries, row-major: the
// neighbours of query i are Indices[i*K:(i+1)*K], nearest first, at the
// Euclidean distances Distances[i*K:(i+1)*K]. Ties are broken by the
// smaller index. In a self search (Exact, IVFFlat.SearchSelf) each row
// starts with the query itself at distance 0, as scanpy stores it.
type Neighbors struct {
	N, K      int
	Indices   []int32
	Distances []float32
}

// Row returns the indices and distances of query i.
func (nb Neighbors) Row(i int) ([]int32, []float32) {
	return nb.Indices[i*nb.K : (i+1)*nb.K], nb.Distances[i*nb.K : (i+1)*nb.K]
}

func newNeighbors(n, k int) Neighbors {
	return Neighbors{N: n, K: k, Indices: make([]int32, n*k), Distances: make([]float32, n*k)}
}

// checkMatrix validates a row-major float32 matrix given as points or
// queries (name says which) and rejects NaN and Inf, which have no place
// in a distance order.
func checkMatrix(name string, x blas32.General) error {
	if x.Rows < 0 || x.Cols < 0 {
		return fmt.Errorf("knn: %s is %d x %d: negative dimension", name, x.Rows, x.Cols)
	}
	if x.Rows > math.MaxInt32 {
		return fmt.Errorf("knn: %s has %d rows; indices are int32", name, x.Rows)
	}
	if x.Rows == 0 {
		return nil
	}
	if x.Cols == 0 {
		return fmt.Errorf("knn: %s have %d rows and no columns", name, x.Rows)
	}
	if x.Stride < max(x.Cols, 1) {
		return fmt.Errorf("knn: %s is %d x %d with stride %d: the stride must be at least the column count", name, x.Rows, x.Cols, x.Stride)
	}
	if need := (x.Rows-1)*x.Stride + x.Cols; len(x.Data) < need {
		return fmt.Errorf("knn: %s is %d x %d with stride %d: needs %d values, Data has %d", name, x.Rows, x.Cols, x.Stride, need, len(x.Data))
	}
	for i := 0; i < x.Rows; i++ {
		for jj, v := range x.Data[i*x.Stride : i*x.Stride+x.Cols] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("knn: %s row %d column %d is %v: coordinates must be finite", name, i, jj, v)
			}
		}
	}
	return nil
}

// Columns returns the view of the first n columns of x (for example the
// first n_pcs columns of an n x n_comps X_pca).
func Columns(x blas32.General, n int) blas32.General {
	if n < 0 || n > x.Cols {
		panic(fmt.Sprintf("knn: Columns(%d) of a matrix with %d columns", n, x.Cols))
	}
	return blas32.General{Rows: x.Rows, Cols: n, Stride: x.Stride, Data: x.Data}
}

// rowLoader returns a query loader reading the rows of x.
func rowLoader(x blas32.General) func(i int, dst []float32) {
	return func(i int, dst []float32) {
		copy(dst[:x.Cols], x.Data[i*x.Stride:i*x.Stride+x.Cols])
	}
}

// exactUnit is the number of queries of an exact-search unit: every
// query of a unit reuses each cached chunk of points, so larger units
// mean fewer passes over the points (n/exactUnit of them).
const exactUnit = 64 * tileRows

// Exact returns the exact k nearest neighbours of every row of x among
// the rows of x: each row's own index first at distance 0 (even when a
// duplicate point ties with it), then the k-1 nearest other rows by
// Euclidean distance, ties broken by the smaller index. The order is that
// of squared distances computed in float64 from the float32 coordinates,
// the same as a float64 brute force. k must be in [1, x.Rows]. threads <=
// 0 uses GOMAXPROCS goroutines; results do not depend on it.
func Exact(x blas32.General, k, threads int) (Neighbors, error) {
	if err := checkMatrix("points", x); err != nil {
		return Neighbors{}, err
	}
	if k < 1 || k > x.Rows {
		return Neighbors{}, fmt.Errorf("knn: Exact with k = %d over %d points: k must be between 1 and the number of points (itself included)", k, x.Rows)
	}
	nb := newNeighbors(x.Rows, k)
	j := &job{
		ps:      newPointSet(x, nil, nil),
		load:    rowLoader(x),
		self:    true,
		heapK:   k - 1,
		order:   identity(x.Rows),
		units:   chunkUnits(x.Rows, exactUnit),
		threads: threads,
		outK:    k,
		outIdx:  nb.Indices,
		outDist: nb.Distances,
	}
	j.run()
	return nb, nil
}

// ExactSearch returns the exact k nearest rows of x for every row of
// queries, nearest first, ties broken by the smaller index; no point is
// treated as a query's self. k must be in [1, x.Rows].
func ExactSearch(x, queries blas32.General, k, threads int) (Neighbors, error) {
	if err := checkMatrix("points", x); err != nil {
		return Neighbors{}, err
	}
	if err := checkMatrix("queries", queries); err != nil {
		return Neighbors{}, err
	}
	if queries.Cols != x.Cols {
		return Neighbors{}, fmt.Errorf("knn: queries have %d columns, points %d", queries.Cols, x.Cols)
	}
	if k < 1 || k > x.Rows {
		return Neighbors{}, fmt.Errorf("knn: ExactSearch with k = %d over %d points: k must be between 1 and the number of points", k, x.Rows)
	}
	nb := newNeighbors(queries.Rows, k)
	exactSearch(newPointSet(x, nil, nil), queries.Rows, rowLoader(queries), k, threads, nb.Indices, nb.Distances)
	return nb, nil
}

// exactSearch runs a non-self exact search of nq queries against every
// list of ps; dist may be nil.
func exactSearch(ps *pointSet, nq int, load func(int, []float32), k, threads int, idx []int32, dist []float32) {
	j := &job{
		ps:      ps,
		load:    load,
		heapK:   k,
		order:   identity(nq),
		units:   chunkUnits(nq, exactUnit),
		threads: threads,
		outK:    k,
		outIdx:  idx,
		outDist: dist,
	}
	j.run()
}
