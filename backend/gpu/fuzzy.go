package gpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// The fuzzy simplicial set (kernels/fuzzy.cl): backend.FuzzyGraphBuilder.
//
// The lists go to the device once. A work-item per row computes rho and
// sigma (the graph package's bisection, in float64, step for step), the
// memberships w and the distances, sorts them by column by insertion
// (k values) and packs them, in the lists' padded n x k layout. wᵀ is
// built by a counting sort: integer atomics count each column's
// memberships, select_scan turns the counts into row pointers, atomics
// hand out slots in each row of wᵀ, and a rank among the row's sources
// (distinct rows of w) puts each entry at its place, so that wᵀ is the
// canonical transpose whatever the order of the atomics. Each row of the
// union w + wᵀ - w∘wᵀ is then a merge of two sorted lists, counted,
// scanned (select_scan) and written; the distances are packed with the
// same scan. Everything but the atomics' order is fixed, and the atomics
// place nothing: two runs give the same bits.
//
// The backend's Transpose is not used for wᵀ: it is made for a few
// thousand columns (PCA's Z), cutting the columns into tiles of 3,072 that
// each re-read the whole matrix, and walking each row block's rows one
// barrier at a time; a kNN graph of 1.3M cells would make 424 tiles of 3
// row blocks of 433,000 rows each. The counting sort reads the lists a
// few times.
//
// # Cost at 1.3 million cells, k = 15
//
// In: 156 MB of lists (about 15 ms over PCIe). The bisection: at most 64
// steps of 14 float64 exponentials a row, about 1.2e9 exponentials, a few
// ms of the H200's float64 units. Every other kernel reads or writes the
// lists' 20M slots a few times (hundreds of MB, well under 1 ms at 4
// TB/s, though per-row kernels read their rows uncoalesced); fuzzy_trank
// reads, per membership, the sources of its column: 14 on average, the
// square of the in-degree summed over the cells in all (hubs of a few
// hundred in-edges are common on kNN graphs; thousands of identical cells
// would make a hub of thousands). The three scans over 1.3M counts run on
// one work-group each (a fraction of a ms). Out: the connectivities
// (about 20 entries a row, 8 bytes each) and distances, about 370 MB
// (about 40 ms over PCIe), into host arrays the Go runtime zeroes first.

// fuzzySumGroups is the number of work-groups of fuzzy_sum (the partial
// sums of the distances that fuzzy_sum_final adds).
const fuzzySumGroups = 512

// fuzzySumLocal is FUZZY_SUM_LOCAL, the sums' largest work-group.
const fuzzySumLocal = 256

var _ backend.FuzzyGraphBuilder = (*Backend)(nil)

// Connectivities returns scanpy's connectivities and distances graphs of
// the kNN lists (n x k, row-major, each cell first at distance 0, -1 for
// a missing neighbour) as graph.Connectivities does: see
// backend.FuzzyGraphBuilder.
func (be *Backend) Connectivities(indices []int32, dists []float32, n, k int) (conn, dist *sparse.CSR, err error) {
	if err := fuzzyShape(len(indices), len(dists), n, k); err != nil {
		return nil, nil, fmt.Errorf("gpu: Connectivities: %w", err)
	}
	if n == 0 {
		return sparse.NewCSR(0, 0, 0), sparse.NewCSR(0, 0, 0), nil
	}
	r := &knnRun{be: be} // the allocations, freed together
	defer r.free()
	conn, dist, err = r.fuzzy(indices, dists, n, k)
	if err != nil {
		return nil, nil, fmt.Errorf("gpu: Connectivities: %w", err)
	}
	return conn, dist, nil
}

// fuzzyShape checks the lists' lengths against n and k.
func fuzzyShape(ni, nd, n, k int) error {
	if n < 0 || k < 1 || n > math.MaxInt32 {
		return fmt.Errorf("%w: n = %d cells, k = %d neighbours (want n >= 0 within int32, k >= 1)", backend.ErrShape, n, k)
	}
	if int64(n)*int64(k) != int64(ni) || ni != nd {
		return fmt.Errorf("%w: %d indices and %d distances for %d cells x %d neighbours (want %d each)",
			backend.ErrShape, ni, nd, n, k, int64(n)*int64(k))
	}
	return nil
}

// fuzzyBadEntry returns the error about the first malformed entry of the
// lists, worded as the graph package words it (fuzzy_rows only counts
// them).
func fuzzyBadEntry(indices []int32, dists []float32, n, k int) error {
	for p, j := range indices {
		if j < -1 || int(j) >= n {
			return fmt.Errorf("%w: cell %d, neighbour %d has index %d, outside [0, %d) (-1 marks a missing one)",
				backend.ErrShape, p/k, p%k, j, n)
		}
	}
	for p, d := range dists {
		if !(d >= 0) || math.IsInf(float64(d), 1) {
			return fmt.Errorf("%w: cell %d, neighbour %d has distance %v (want finite and >= 0)", backend.ErrShape, p/k, p%k, d)
		}
	}
	return fmt.Errorf("%w: the device found a malformed entry that the host does not", backend.ErrShape)
}

// fuzzy runs the kernels for n >= 1 cells.
func (r *knnRun) fuzzy(indices []int32, dists []float32, n, k int) (conn, dist *sparse.CSR, err error) {
	be := r.be
	nk := n * k
	n32, k32 := int32(n), int32(k)
	idx, err := r.upload("the neighbour indices", backend.Int32, asBytes(indices), nk)
	if err != nil {
		return nil, nil, err
	}
	dst, err := r.upload("the neighbour distances", backend.Float32, asBytes(dists), nk)
	if err != nil {
		return nil, nil, err
	}

	// The sum of all distances, in a fixed order.
	total, err := r.alloc("the distance sums", backend.Float64, fuzzySumGroups+1)
	if err != nil {
		return nil, nil, err
	}
	sl := 1
	for sl*2 <= min(fuzzySumLocal, be.rt.MaxLocal()) {
		sl *= 2
	}
	if err := be.launch("fuzzy_sum", [3]int{fuzzySumGroups, 1, 1}, [3]int{sl, 1, 1}, int64(nk), dst, total); err != nil {
		return nil, nil, err
	}
	if err := be.launch("fuzzy_sum_final", [3]int{1, 1, 1}, [3]int{sl, 1, 1}, int32(fuzzySumGroups), total); err != nil {
		return nil, nil, err
	}

	// Rows: rho, sigma, memberships and distances, sorted and packed.
	var wcol, wval, dcol, dval, wcnt, cnt Mem
	for _, a := range []struct {
		m    *Mem
		what string
		k    backend.Kind
		n    int
	}{
		{&wcol, "the membership columns", backend.Int32, nk},
		{&wval, "the memberships", backend.Float32, nk},
		{&dcol, "the distance columns", backend.Int32, nk},
		{&dval, "the distances", backend.Float32, nk},
		{&wcnt, "the membership counts", backend.Int32, n},
		// The union's then the distances' row lengths, each scanned
		// into row pointers: written in full.
		{&cnt, "the row lengths", backend.Int64, 2 * (n + 1)},
	} {
		if *a.m, err = r.alloc(a.what, a.k, a.n); err != nil {
			return nil, nil, err
		}
	}
	bad, err := r.zeroed("the input check", backend.Int32, 1)
	if err != nil {
		return nil, nil, err
	}
	if err := be.launch1D("fuzzy_rows", int64(n), localSize, n32, k32, math.Log2(float64(k)), idx, dst, total,
		wcol, wval, dcol, dval, wcnt, cnt, bad); err != nil {
		return nil, nil, err
	}
	r.release(idx)
	r.release(dst)
	r.release(total)

	// wᵀ: counts, row pointers, slots, ranks.
	tptr, err := r.zeroed("the transpose's row pointers", backend.Int64, n+1)
	if err != nil {
		return nil, nil, err
	}
	if err := be.launch1D("fuzzy_tcount", int64(nk), localSize, n32, k32, wcol, wcnt, tptr); err != nil {
		return nil, nil, err
	}
	if err := be.launch("select_scan", [3]int{1, 1, 1}, [3]int{be.scanLocal(), 1, 1}, int64(n), tptr); err != nil {
		return nil, nil, err
	}
	cursor, err := r.zeroed("the transpose's slot counters", backend.Int32, n)
	if err != nil {
		return nil, nil, err
	}
	var tsrc, tcol, tval Mem
	for _, a := range []struct {
		m    *Mem
		what string
		k    backend.Kind
	}{
		{&tsrc, "the transpose's slots", backend.Int32},
		{&tcol, "the transpose's columns", backend.Int32},
		{&tval, "the transpose's values", backend.Float32},
	} {
		// At most nk memberships: no count needs reading back.
		if *a.m, err = r.alloc(a.what, a.k, nk); err != nil {
			return nil, nil, err
		}
	}
	if err := be.launch1D("fuzzy_tslot", int64(nk), localSize, n32, k32, wcol, wcnt, tptr, cursor, tsrc); err != nil {
		return nil, nil, err
	}
	if err := be.launch1D("fuzzy_trank", int64(nk), localSize, n32, k32, wcol, wval, wcnt, tptr, tsrc,
		tcol, tval); err != nil {
		return nil, nil, err
	}
	r.release(cursor)
	r.release(tsrc)

	// The union's row lengths; both halves of cnt scanned into row
	// pointers.
	if err := be.launch1D("fuzzy_union_count", int64(n), localSize, n32, k32, wcol, wval, wcnt, tptr,
		tcol, tval, cnt); err != nil {
		return nil, nil, err
	}
	if err := be.launch("select_scan", [3]int{2, 1, 1}, [3]int{be.scanLocal(), 1, 1}, int64(n), cnt); err != nil {
		return nil, nil, err
	}
	var nbad [1]int32
	if err := be.rt.ToHost(asBytes(nbad[:]), bad, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the input check: %w", err)
	}
	if nbad[0] != 0 {
		return nil, nil, fuzzyBadEntry(indices, dists, n, k)
	}
	conn = &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	dist = &sparse.CSR{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	if err := be.rt.ToHost(asBytes(conn.Indptr), cnt, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the connectivities' row pointers: %w", err)
	}
	if err := be.rt.ToHost(asBytes(dist.Indptr), cnt, int64(n+1)*8); err != nil {
		return nil, nil, fmt.Errorf("reading the distances' row pointers: %w", err)
	}

	// The outputs, all written before any is read back.
	outs := []struct {
		what   string
		m      *sparse.CSR
		oi, ov Mem
	}{{what: "connectivities", m: conn}, {what: "distances", m: dist}}
	for c := range outs {
		o := &outs[c]
		nnz := o.m.Indptr[n]
		o.m.Indices = make([]int32, nnz)
		o.m.Data = make([]float32, nnz)
		if o.oi, err = r.alloc("the "+o.what+"' indices", backend.Int32, int(nnz)); err != nil {
			return nil, nil, err
		}
		if o.ov, err = r.alloc("the "+o.what+"' values", backend.Float32, int(nnz)); err != nil {
			return nil, nil, err
		}
	}
	if err := be.launch1D("fuzzy_union_fill", int64(n), localSize, n32, k32, wcol, wval, wcnt, tptr,
		tcol, tval, cnt, outs[0].oi, outs[0].ov); err != nil {
		return nil, nil, err
	}
	if err := be.launch1D("fuzzy_dist_fill", int64(n), localSize, n32, k32, dcol, dval, cnt,
		outs[1].oi, outs[1].ov); err != nil {
		return nil, nil, err
	}
	for _, o := range outs {
		if len(o.m.Indices) == 0 {
			continue
		}
		if err := be.rt.ToHost(asBytes(o.m.Indices), o.oi, 0); err != nil {
			return nil, nil, fmt.Errorf("reading the %s' indices: %w", o.what, err)
		}
		if err := be.rt.ToHost(asBytes(o.m.Data), o.ov, 0); err != nil {
			return nil, nil, fmt.Errorf("reading the %s' values: %w", o.what, err)
		}
	}
	return conn, dist, nil
}
