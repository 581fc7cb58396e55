package pipeline

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/knn"
)

// The IVF-Flat search on several devices (RunDevices): devs[0] builds the
// index and hands it to the host; every device then takes shares of the
// cells, in the index's sorted order, one after the other as it finishes
// the last (a device that is faster, or less busy, takes more), and
// searches them against the whole index, which it uploads once
// (ShardedNeighborSearcher.SearchIVF pulls the shares); devs[0]
// refines the whole lists at the end. The cells of a share are the
// index's own rows, so each row is the one-device search's, bit for bit,
// whatever the devices and shares.

// knnShareCells is the size of a kNN share: large enough that a device
// spends its time searching rather than starting (each share is one
// search launch over its cells), small enough that the shares even out
// the devices' speeds (1.3M cells make 80 shares).
const knnShareCells = 1 << 14

// shardedSearchers returns the run's devices as ShardedNeighborSearchers
// when there are several and every one has it, else nil.
func (r *runner) shardedSearchers() []backend.ShardedNeighborSearcher {
	if len(r.more) == 0 {
		return nil
	}
	var sh []backend.ShardedNeighborSearcher
	for _, b := range append([]backend.Backend{r.b}, r.more...) {
		s, ok := b.(backend.ShardedNeighborSearcher)
		if !ok {
			return nil
		}
		sh = append(sh, s)
	}
	return sh
}

// shardedKNN runs the IVF-Flat self search of the first n_pcs scores of
// the n cells over the devices sh (sh[0] is the run's device) and
// returns the k neighbours of each, with the report's parts: the build,
// the search, the refinement, and each device's shares and busy seconds.
func (r *runner) shardedKNN(sh []backend.ShardedNeighborSearcher, pca *PCAResult, n, k int) (knn.Neighbors, map[string]float64, error) {
	p := r.p
	parts := map[string]float64{}
	t0 := time.Now()
	ix, err := sh[0].BuildIVF(packPCs(pca, n, p.NPCs), n, p.NPCs,
		backend.KNNParams{Method: "ivfflat", NLists: p.NLists, NProbes: p.NProbes, Seed: p.RandomState})
	if err != nil {
		return knn.Neighbors{}, nil, fmt.Errorf("building the IVF-Flat index on device 0: %w", err)
	}
	parts["kNN index build"] = time.Since(t0).Seconds()

	t1 := time.Now()
	nb := knn.Neighbors{N: n, K: k, Indices: make([]int32, n*k), Distances: make([]float32, n*k)}
	size := knnShareCells
	if r.knnShare > 0 {
		size = r.knnShare
	}
	shares := (n + size - 1) / size
	var handed atomic.Int64
	errs := make([]error, len(sh))
	taken := make([]int, len(sh))
	busy := make([]float64, len(sh))
	var wg sync.WaitGroup
	for d, s := range sh {
		wg.Go(func() {
			start := time.Now()
			defer func() { busy[d] = time.Since(start).Seconds() }()
			next := func() (lo, hi int, ok bool) {
				share := int(handed.Add(1) - 1)
				if share >= shares || r.ctx.Err() != nil {
					return 0, 0, false
				}
				taken[d]++
				return share * size, min(n, (share+1)*size), true
			}
			// Rows of different shares are disjoint: the devices write
			// nb's rows without a lock.
			if err := s.SearchIVF(ix, k, next, nb.Indices, nb.Distances); err != nil {
				errs[d] = fmt.Errorf("device %d: %w", d, err)
				handed.Store(int64(shares)) // the others stop too
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return knn.Neighbors{}, nil, fmt.Errorf("IVF-Flat search: %w", err)
		}
	}
	if err := r.ctx.Err(); err != nil {
		return knn.Neighbors{}, nil, err
	}
	parts["kNN search"] = time.Since(t1).Seconds()
	for d := range sh {
		parts[fmt.Sprintf("kNN device %d shares", d)] = float64(taken[d])
		parts[fmt.Sprintf("kNN device %d busy", d)] = busy[d]
	}

	t2 := time.Now()
	if err := sh[0].RefineKNN(ix, k, p.KNNRefine, nb.Indices, nb.Distances); err != nil {
		return knn.Neighbors{}, nil, fmt.Errorf("refining the neighbours on device 0: %w", err)
	}
	parts["kNN refinement"] = time.Since(t2).Seconds()
	return nb, parts, nil
}
