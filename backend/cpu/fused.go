package cpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// Fused kernels for package pipeline's passes, not part of
// backend.Backend (the pipeline uses them when the backend has them).
//
// Pass 1 runs RowStats, ColStats, ScaleRows, Log1p and ColStats again on
// every chunk of raw counts: five sweeps over a few hundred megabytes that
// no cache holds. QCNormalizeLog1p does the same work row by row, the row
// in L1 between the steps, in one sweep over the chunk; pass 2's
// SelectCols, SelectRows, ScaleRows and Log1p (and ScaleCols) become one
// sweep too (SelectNormalize). Both give the same bits as the separate
// operations: the same float64 sums in the same order, over the same
// split of the rows between workers, and the same per-value arithmetic.
//
// Log1p of a normalized count. A row's values are counts times the row's
// factor f, and a row of 2,000 counts holds a few dozen distinct small
// integers: log1p(float32(c*f)) is computed once per row and count
// (logMemo) rather than once per value, which made Log1p the costliest
// per-value step of pass 1.

// memoSize bounds the counts that logMemo caches: 1 to memoSize-1.
const memoSize = 256

// logMemo caches log1p32(float32(float64(c) * f)) for one row's factor f
// and integer values c in [1, memoSize). An entry is valid when its tag
// equals gen, so starting a row costs an increment, not a clear.
type logMemo struct {
	gen uint32
	e   [memoSize]struct {
		tag uint32
		val float32
	}
}

// reset starts a new row.
func (m *logMemo) reset() {
	m.gen++
	if m.gen == 0 { // wrapped: old tags could match again
		clear(m.e[:])
		m.gen = 1
	}
}

// The lookup, inlined by hand in the loops (as a method it is over the
// compiler's inlining budget), is
//
//	if c := uint8(int(v)); m.e[c].tag == m.gen && float32(c) == v { y = m.e[c].val } else { y = m.miss(v, f) }
//
// float32(c) == v holds exactly when v is the integer c in [0, 256) or -0,
// whatever int(v) gives for a v out of range (it is
// implementation-defined). Entry 0 is never valid (miss does not fill
// it), which keeps 0 and -0, whose log1p differ in sign, apart.

// A row of values that are not counts (data normalized already) would
// miss on every value and pay a call more than Log1p does: after
// memoSize misses in a row the loops compute the rest of the row
// directly (normLog1p), with the same bits.

// normLog1p returns log1p32(float32(float64(v) * f)) with Log1p's inlined
// common case.
func normLog1p(v float32, f float64) float32 {
	x := float32(float64(v) * f)
	if x >= 0x1p-8 && x <= math.MaxFloat32 {
		return logTable(1 + float64(x))
	}
	return log1p32(x)
}

// miss returns log1p32(float32(float64(v) * f)), f the factor of the row
// since the last reset, and keeps it when v is a count.
//
//go:noinline
func (m *logMemo) miss(v float32, f float64) float32 {
	y := log1p32(float32(float64(v) * f))
	if c := uint8(int(v)); c != 0 && float32(c) == v {
		m.e[c].tag, m.e[c].val = m.gen, y
	}
	return y
}

// fusedAcc is one worker's sums for one column: over all rows (the raw
// values) and over the kept rows (the transformed values). At 28,000
// genes, 32 bytes a column keep a worker's sums (900 KB) in a 1 MB L2
// cache; with 64-bit counts and the raw values' sum of squares (48 bytes)
// they did not, and the sweep ran at half the speed. A worker's count
// covers at most its rows of one chunk, hence int32.
type fusedAcc struct {
	sum, keptSum, keptSumSq float64
	nnz, keptNNZ            int32
}

// QCNormalizeLog1p is pass 1's work on a chunk of raw counts m, in one
// sweep. For each row i it writes the row's sum and count of non-zero
// values to rowSum[i] and rowNNZ[i] (RowStats), asks decide for the row's
// normalize_total factor and whether the row is kept (keep[i]), and adds
// the raw values to all (ColStats without a mask). When kept.Sum is not
// nil it also transforms the values, x -> log1p(float32(x * factor)) as
// ScaleRows and Log1p do, and adds the transformed values of the kept rows
// to kept (ColStats with the keep mask); write stores the transformed
// values into m, else m is left as it is. decide is called from several
// goroutines at once.
//
// The results are those of RowStats, ColStats(all), ScaleRows, Log1p and
// ColStats(kept), bit for bit, for the same thread count.
func (b *Backend) QCNormalizeLog1p(m backend.CSR, decide func(sum float64, nnz int32) (factor float64, keep bool), rowSum []float64, rowNNZ []int32, keep []bool, all, kept backend.ColStats, write bool) error {
	h, err := view("matrix", m)
	if err != nil {
		return fmt.Errorf("cpu: QCNormalizeLog1p: %w", err)
	}
	if len(rowSum) != h.Rows || len(rowNNZ) != h.Rows || len(keep) != h.Rows {
		return fmt.Errorf("%w: cpu: QCNormalizeLog1p: row outputs of %d, %d and %d elements, want %d", backend.ErrShape, len(rowSum), len(rowNNZ), len(keep), h.Rows)
	}
	if h.Rows > math.MaxInt32 {
		return fmt.Errorf("%w: cpu: QCNormalizeLog1p: %d rows, at most 2^31-1", backend.ErrShape, h.Rows)
	}
	if all.SumSq != nil {
		return fmt.Errorf("%w: cpu: QCNormalizeLog1p: all.SumSq is not computed (pass nil)", backend.ErrShape)
	}
	n := h.Cols
	as, err := colStatsSlices("all", all, n)
	if err != nil {
		return fmt.Errorf("cpu: QCNormalizeLog1p: %w", err)
	}
	normalize := kept.Sum != nil
	var ks colStatsOut
	if normalize {
		if ks, err = colStatsSlices("kept", kept, n); err != nil {
			return fmt.Errorf("cpu: QCNormalizeLog1p: %w", err)
		}
	}
	if h.Rows == 0 {
		return nil
	}
	// The split of ColStats, so that each worker's sums, and their
	// total, are ColStats' own.
	bounds := b.splitRows(h.Indptr)
	parts := len(bounds) - 1
	if cap(b.fusedAcc) < parts*n {
		b.fusedAcc = make([]fusedAcc, parts*n)
	}
	acc := b.fusedAcc[:parts*n]
	clear(acc)
	parallel(parts, func(p int) {
		a := acc[p*n : p*n+n]
		var memo logMemo
		for i := bounds[p]; i < bounds[p+1]; i++ {
			lo, hi := h.Indptr[i], h.Indptr[i+1]
			idx := h.Indices[lo:hi]
			val := h.Data[lo:hi]
			val = val[:len(idx)]
			var s float64
			var cnt int32
			for _, v := range val {
				s += float64(v)
				if v != 0 {
					cnt++
				}
			}
			rowSum[i], rowNNZ[i] = s, cnt
			f, k := decide(s, cnt)
			keep[i] = k
			if !normalize || (!k && !write) {
				for q, c := range idx {
					v := val[q]
					x := &a[c]
					x.sum += float64(v)
					if v != 0 {
						x.nnz++
					}
				}
				continue
			}
			memo.reset()
			gen, misses := memo.gen, 0
			for q, c := range idx {
				v := val[q]
				x := &a[c]
				x.sum += float64(v)
				if v != 0 {
					x.nnz++
				}
				var y float32
				if u := uint8(int(v)); memo.e[u].tag == gen && float32(u) == v {
					y = memo.e[u].val
				} else if misses < memoSize {
					y = memo.miss(v, f)
					misses++
				} else {
					y = normLog1p(v, f)
				}
				if write {
					val[q] = y
				}
				if k {
					fy := float64(y)
					x.keptSum += fy
					x.keptSumSq += fy * fy
					if y != 0 {
						x.keptNNZ++
					}
				}
			}
		}
	})
	// Add the workers' sums in worker order, split by columns (ColStats'
	// order).
	cb := b.splitRange(n, int64(parts))
	parallel(len(cb)-1, func(q int) {
		for p := 0; p < parts; p++ {
			a := acc[p*n : p*n+n]
			for j := cb[q]; j < cb[q+1]; j++ {
				x := &a[j]
				as.add(j, x.sum, 0, int64(x.nnz))
				if normalize {
					ks.add(j, x.keptSum, x.keptSumSq, int64(x.keptNNZ))
				}
			}
		}
	})
	return nil
}

// reuseSlice returns s with length n, or a new slice (with an eighth of
// headroom, for a next chunk a little larger) when s is too short. The
// contents are not zeroed.
func reuseSlice[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/8)
}

// colStatsOut are the host slices of a backend.ColStats (SumSq and NNZ
// may be nil).
type colStatsOut struct {
	sum, sumSq []float64
	nnz        []int64
}

func colStatsSlices(name string, s backend.ColStats, n int) (colStatsOut, error) {
	var o colStatsOut
	var err error
	if o.sum, err = slice[float64](name+".Sum", s.Sum, n); err != nil {
		return o, err
	}
	if o.sumSq, err = optSlice[float64](name+".SumSq", s.SumSq, n); err != nil {
		return o, err
	}
	if o.nnz, err = optSlice[int64](name+".NNZ", s.NNZ, n); err != nil {
		return o, err
	}
	return o, nil
}

func (o colStatsOut) add(j int, sum, sumSq float64, nnz int64) {
	o.sum[j] += sum
	if o.sumSq != nil {
		o.sumSq[j] += sumSq
	}
	if o.nnz != nil {
		o.nnz[j] += nnz
	}
}

// SelectNormalize is pass 2's work on a chunk of raw counts m, in one
// sweep: it returns the rows i with keep[i] (in order) restricted to the
// columns j with newIndex[j] >= 0, renumbered to newIndex[j] (as
// SelectCols and SelectRows), as a new matrix with newCols columns and
// arrays of its own. With rowFactor (one factor per kept row, in order)
// the values are normalized and log1p'd, x -> log1p(float32(x * factor)),
// as ScaleRows and Log1p do; with colFactor (newCols factors) they are
// then scaled by column as ScaleCols does. The bits are those of the
// separate operations. The kept columns must map to distinct indices below
// newCols (not checked here: SelectCols checks it).
//
// The result's arrays are those of reuse where they are large enough
// (reuse may be nil): a caller done with an earlier result hands it back,
// which saves the page faults of fresh memory (at 1.3M cells, a million
// of them, 4 GB, a tenth of pass 2's CPU time).
func (b *Backend) SelectNormalize(m backend.CSR, newIndex []int32, newCols int, keep []bool, rowFactor, colFactor []float64, reuse *sparse.CSR) (backend.CSR, error) {
	h, err := view("matrix", m)
	if err != nil {
		return backend.CSR{}, fmt.Errorf("cpu: SelectNormalize: %w", err)
	}
	if len(newIndex) != h.Cols || len(keep) != h.Rows || (colFactor != nil && len(colFactor) != newCols) {
		return backend.CSR{}, fmt.Errorf("%w: cpu: SelectNormalize: %d new indices, %d row flags, %d column factors for a %d x %d matrix to %d columns", backend.ErrShape, len(newIndex), len(keep), len(colFactor), h.Rows, h.Cols, newCols)
	}
	for j, t := range newIndex {
		if t >= int32(newCols) {
			return backend.CSR{}, fmt.Errorf("%w: cpu: SelectNormalize: newIndex[%d] = %d is out of [0, %d)", backend.ErrShape, j, t, newCols)
		}
	}
	// src[r] is the input row of output row r.
	src := make([]int, 0, h.Rows)
	for i, k := range keep {
		if k {
			src = append(src, i)
		}
	}
	rows := len(src)
	if rowFactor != nil && len(rowFactor) != rows {
		return backend.CSR{}, fmt.Errorf("%w: cpu: SelectNormalize: %d row factors for %d kept rows", backend.ErrShape, len(rowFactor), rows)
	}
	// Split the output rows by their input work (their values before
	// the selection), then count the kept values of each row.
	inPtr := make([]int64, rows+1)
	for r, i := range src {
		inPtr[r+1] = inPtr[r] + h.Indptr[i+1] - h.Indptr[i]
	}
	bounds := b.splitRows(inPtr)
	parts := len(bounds) - 1
	if reuse == nil {
		reuse = &sparse.CSR{}
	}
	ptr := reuseSlice(reuse.Indptr, rows+1)
	ptr[0] = 0
	parallel(parts, func(p int) {
		for r := bounds[p]; r < bounds[p+1]; r++ {
			i := src[r]
			var n int64
			for _, c := range h.Indices[h.Indptr[i]:h.Indptr[i+1]] {
				n += int64(^uint32(newIndex[c]) >> 31) // 1 when kept (>= 0)
			}
			ptr[r+1] = n
		}
	})
	for r := range rows {
		ptr[r+1] += ptr[r]
	}
	nnz := ptr[rows]
	// One spare slot, as in SelectCols: every value is written at the next
	// output position and only kept ones advance it; the last row of a
	// worker's range is copied with a branch instead.
	idx, data := reuseSlice(reuse.Indices[:cap(reuse.Indices)], int(nnz+1)), reuseSlice(reuse.Data[:cap(reuse.Data)], int(nnz+1))
	out := &sparse.CSR{Rows: rows, Cols: newCols, Indptr: ptr, Indices: idx[:nnz:nnz], Data: data[:nnz:nnz]}
	parallel(parts, func(p int) {
		var memo logMemo
		for r := bounds[p]; r < bounds[p+1]; r++ {
			i := src[r]
			o := ptr[r]
			lo, hi := h.Indptr[i], h.Indptr[i+1]
			cols := h.Indices[lo:hi]
			val := h.Data[lo:hi]
			val = val[:len(cols)]
			if r == bounds[p+1]-1 {
				for k, c := range cols {
					if t := newIndex[c]; t >= 0 {
						idx[o] = t
						data[o] = val[k]
						o++
					}
				}
			} else {
				for k, c := range cols {
					t := newIndex[c]
					idx[o] = t
					data[o] = val[k]
					o += int64(^uint32(t) >> 31)
				}
			}
			// Transform the row while it is in L1. (The spare write past
			// it, into the next row's first slot, is overwritten when that
			// row is copied.)
			vs := data[ptr[r]:ptr[r+1]]
			if rowFactor != nil {
				memo.reset()
				f, gen, misses := rowFactor[r], memo.gen, 0
				for k, v := range vs {
					if u := uint8(int(v)); memo.e[u].tag == gen && float32(u) == v {
						vs[k] = memo.e[u].val
					} else if misses < memoSize {
						vs[k] = memo.miss(v, f)
						misses++
					} else {
						vs[k] = normLog1p(v, f)
					}
				}
			}
			if colFactor != nil {
				cs := idx[ptr[r]:ptr[r+1]]
				cs = cs[:len(vs)]
				for k, c := range cs {
					vs[k] = float32(float64(vs[k]) * colFactor[c])
				}
			}
		}
	})
	return b.Upload(out)
}
