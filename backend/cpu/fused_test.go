package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/cputime"
	"github.com/scbench/scbench/sparse"
)

// awkwardCounts returns a rows x cols matrix of mostly small counts, with
// the values the log1p memo must not take for counts: counts of 256 and
// more, fractions, explicit zeros and -0, tiny values; some rows empty.
func awkwardCounts(rng *rand.Rand, rows, cols, nnz int) *sparse.CSR {
	m := randMatrix(rng, rows, cols, nnz)
	negZero := float32(math.Copysign(0, -1))
	for k := range m.Data {
		switch rng.IntN(40) {
		case 0:
			m.Data[k] = float32(256 + rng.IntN(2000))
		case 1:
			m.Data[k] = float32(rng.IntN(300)) + 0.5
		case 2:
			m.Data[k] = 0
		case 3:
			m.Data[k] = negZero
		case 4:
			m.Data[k] = 0x1p-12 * float32(1+rng.IntN(8))
		case 5:
			m.Data[k] = float32(rng.IntN(3))
		}
	}
	return m
}

// fractions replaces three values in four by values that are not counts.
func fractions(rng *rand.Rand, m *sparse.CSR) {
	for k := range m.Data {
		if rng.IntN(4) > 0 {
			m.Data[k] = rng.Float32() * 50
		}
	}
}

func cloneCSR(m *sparse.CSR) *sparse.CSR {
	return &sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: slices.Clone(m.Indptr), Indices: slices.Clone(m.Indices), Data: slices.Clone(m.Data)}
}

func sameBits32(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func sameBits64(a, b []float64) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// decideFor is the pipeline's rule: factor target/total (in float32, as
// normalize_total), kept when the row has between lo and hi values.
func decideFor(lo, hi int32) func(sum float64, nnz int32) (float64, bool) {
	return func(sum float64, nnz int32) (float64, bool) {
		c := float32(sum)
		if c == 0 {
			c = 1
		}
		c /= 1e4
		return float64(1 / c), nnz >= lo && nnz <= hi
	}
}

// TestQCNormalizeLog1p checks the fused pass-1 kernel against the separate
// operations (the same bits) and against a float64 reference.
func TestQCNormalizeLog1p(t *testing.T) {
	// 900 values a row: rows with more than memoSize values that are not
	// counts (see fractions), which stop using the memo.
	for _, tc := range []struct{ rows, cols, nnz int }{{1, 7, 3}, {37, 1013, 90}, {613, 2999, 250}, {2047, 301, 40}, {67, 2999, 900}} {
		for _, threads := range []int{1, 2, 3} {
			for _, write := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%d/threads=%d/write=%v", tc.rows, tc.cols, threads, write), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(tc.rows), uint64(threads)))
					raw := awkwardCounts(rng, tc.rows, tc.cols, tc.nnz)
					if tc.nnz >= 900 {
						fractions(rng, raw)
					}
					testQCNormalizeLog1p(t, New(threads), raw, decideFor(int32(tc.nnz/3), int32(tc.nnz*11/10)), write)
				})
			}
		}
	}
}

func testQCNormalizeLog1p(t *testing.T, b *Backend, raw *sparse.CSR, decide func(float64, int32) (float64, bool), write bool) {
	t.Helper()
	n, d := raw.Rows, raw.Cols
	stats := func(sumSq bool) backend.ColStats {
		s := backend.ColStats{Sum: Wrap(make([]float64, d)), NNZ: Wrap(make([]int64, d))}
		if sumSq {
			s.SumSq = Wrap(make([]float64, d))
		}
		// Not zero, as the pipeline's accumulators after a first chunk.
		for j := range d {
			Slice[float64](s.Sum)[j] = float64(j) * 0.25
		}
		return s
	}

	// The separate operations.
	sep := cloneCSR(raw)
	m, _ := b.Upload(sep)
	rs := backend.RowStats{Sum: Wrap(make([]float64, n)), NNZ: Wrap(make([]int32, n))}
	if err := b.RowStats(m, rs); err != nil {
		t.Fatal(err)
	}
	wantAll, wantKept := stats(false), stats(true)
	if err := b.ColStats(m, nil, wantAll); err != nil {
		t.Fatal(err)
	}
	factor, mask := make([]float64, n), make([]uint8, n)
	wantKeep := make([]bool, n)
	for i := range n {
		f, k := decide(Slice[float64](rs.Sum)[i], Slice[int32](rs.NNZ)[i])
		factor[i], wantKeep[i] = f, k
		if k {
			mask[i] = 1
		}
	}
	if err := b.ScaleRows(m, Wrap(factor)); err != nil {
		t.Fatal(err)
	}
	if err := b.Log1p(m); err != nil {
		t.Fatal(err)
	}
	if err := b.ColStats(m, Wrap(mask), wantKept); err != nil {
		t.Fatal(err)
	}

	// Fused.
	fz := cloneCSR(raw)
	fm, _ := b.Upload(fz)
	rowSum, rowNNZ, keep := make([]float64, n), make([]int32, n), make([]bool, n)
	all, kept := stats(false), stats(true)
	if err := b.QCNormalizeLog1p(fm, decide, rowSum, rowNNZ, keep, all, kept, write); err != nil {
		t.Fatal(err)
	}
	if i := sameBits64(rowSum, Slice[float64](rs.Sum)); i >= 0 {
		t.Errorf("row sum %d: %g, RowStats %g", i, rowSum[i], Slice[float64](rs.Sum)[i])
	}
	if !slices.Equal(rowNNZ, Slice[int32](rs.NNZ)) || !slices.Equal(keep, wantKeep) {
		t.Errorf("row counts or keep flags differ from RowStats'")
	}
	for name, pair := range map[string][2]backend.ColStats{"all": {all, wantAll}, "kept": {kept, wantKept}} {
		got, want := pair[0], pair[1]
		if i := sameBits64(Slice[float64](got.Sum), Slice[float64](want.Sum)); i >= 0 {
			t.Errorf("%s: sum of column %d: %.17g, ColStats %.17g", name, i, Slice[float64](got.Sum)[i], Slice[float64](want.Sum)[i])
		}
		if got.SumSq != nil {
			if i := sameBits64(Slice[float64](got.SumSq), Slice[float64](want.SumSq)); i >= 0 {
				t.Errorf("%s: sum of squares of column %d differs", name, i)
			}
		}
		if !slices.Equal(Slice[int64](got.NNZ), Slice[int64](want.NNZ)) {
			t.Errorf("%s: column counts differ", name)
		}
	}
	if write {
		if i := sameBits32(fz.Data, sep.Data); i >= 0 {
			t.Errorf("value %d: %g, ScaleRows and Log1p give %g", i, fz.Data[i], sep.Data[i])
		}
	} else if i := sameBits32(fz.Data, raw.Data); i >= 0 {
		t.Errorf("value %d changed without write", i)
	}

	// Against float64: sums of log1p(x*f) over the kept rows.
	refSum := make([]float64, d)
	for j := range d {
		refSum[j] = float64(j) * 0.25
	}
	for i := range n {
		if !keep[i] {
			continue
		}
		f, _ := decide(rowSum[i], rowNNZ[i])
		idx, val := raw.Row(i)
		for q, c := range idx {
			refSum[c] += math.Log1p(float64(float32(float64(val[q]) * f)))
		}
	}
	for j, s := range Slice[float64](kept.Sum) {
		if math.Abs(s-refSum[j]) > 1e-6*(1+math.Abs(refSum[j])) {
			t.Fatalf("kept sum of column %d: %g, float64 reference %g", j, s, refSum[j])
		}
	}
}

// TestQCNormalizeLog1pNoNormalize checks the kernel without kept: RowStats
// and ColStats(all) only, m unchanged.
func TestQCNormalizeLog1pNoNormalize(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	raw := awkwardCounts(rng, 211, 517, 60)
	b := New(3)
	m, _ := b.Upload(cloneCSR(raw))
	all := backend.ColStats{Sum: Wrap(make([]float64, raw.Cols)), NNZ: Wrap(make([]int64, raw.Cols))}
	n := raw.Rows
	if err := b.QCNormalizeLog1p(m, decideFor(10, 100), make([]float64, n), make([]int32, n), make([]bool, n), all, backend.ColStats{}, true); err != nil {
		t.Fatal(err)
	}
	want := backend.ColStats{Sum: Wrap(make([]float64, raw.Cols)), NNZ: Wrap(make([]int64, raw.Cols))}
	rm, _ := b.Upload(raw)
	if err := b.ColStats(rm, nil, want); err != nil {
		t.Fatal(err)
	}
	if i := sameBits64(Slice[float64](all.Sum), Slice[float64](want.Sum)); i >= 0 {
		t.Errorf("sum of column %d differs from ColStats'", i)
	}
	if i := sameBits32(Slice[float32](m.Data), raw.Data); i >= 0 {
		t.Errorf("value %d changed", i)
	}
	bad := backend.ColStats{Sum: all.Sum, SumSq: Wrap(make([]float64, raw.Cols))}
	if err := b.QCNormalizeLog1p(m, decideFor(10, 100), make([]float64, n), make([]int32, n), make([]bool, n), bad, backend.ColStats{}, false); err == nil {
		t.Errorf("all.SumSq: no error")
	}
}

// TestSelectNormalize checks the fused pass-2 kernel against SelectCols,
// SelectRows, ScaleRows, Log1p and ScaleCols (the same bits) and a float64
// reference.
func TestSelectNormalize(t *testing.T) {
	for _, tc := range []struct{ rows, cols, keepCols, nnz int }{{1, 5, 2, 3}, {53, 1013, 211, 90}, {997, 2999, 613, 300}, {41, 2999, 2500, 900}} {
		for _, threads := range []int{1, 2, 3} {
			for _, mode := range []string{"select", "normalize", "scale"} {
				t.Run(fmt.Sprintf("%dx%d/threads=%d/%s", tc.rows, tc.cols, threads, mode), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(tc.cols), uint64(threads)))
					raw := awkwardCounts(rng, tc.rows, tc.cols, tc.nnz)
					if tc.nnz >= 900 {
						fractions(rng, raw)
					}
					testSelectNormalize(t, rng, New(threads), raw, tc.keepCols, mode)
				})
			}
		}
	}
}

func testSelectNormalize(t *testing.T, rng *rand.Rand, b *Backend, raw *sparse.CSR, p int, mode string) {
	t.Helper()
	newIndex := make([]int32, raw.Cols)
	for j := range newIndex {
		newIndex[j] = -1
	}
	for k, j := range rng.Perm(raw.Cols)[:p] {
		newIndex[j] = int32(k)
	}
	keep, mask := make([]bool, raw.Rows), make([]uint8, raw.Rows)
	var rowFactor []float64
	for i := range keep {
		if rng.IntN(7) > 0 {
			keep[i], mask[i] = true, 1
			rowFactor = append(rowFactor, 0.5+rng.Float64()*3)
		}
	}
	var colFactor []float64
	for range p {
		colFactor = append(colFactor, 0.1+rng.Float64())
	}
	if mode == "select" {
		rowFactor, colFactor = nil, nil
	} else if mode == "normalize" {
		colFactor = nil
	}

	m, _ := b.Upload(cloneCSR(raw))
	// Into the arrays of an earlier result, with garbage in them.
	reuse := &sparse.CSR{Indptr: make([]int64, 3), Indices: make([]int32, 5, raw.NNZ()+8), Data: make([]float32, 7, raw.NNZ()+8)}
	for k := range reuse.Data[:cap(reuse.Data)] {
		reuse.Data[:cap(reuse.Data)][k] = -7
	}
	if rng.IntN(2) == 0 {
		reuse = nil
	}
	got, err := b.SelectNormalize(m, newIndex, p, keep, rowFactor, colFactor, reuse)
	if err != nil {
		t.Fatal(err)
	}
	gh, _ := b.Download(got)
	if err := gh.Validate(); err != nil {
		t.Fatal(err)
	}

	sc, err := b.SelectCols(m, Wrap(newIndex), p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.SelectRows(sc, Wrap(mask))
	if err != nil {
		t.Fatal(err)
	}
	if rowFactor != nil {
		if err := b.ScaleRows(want, Wrap(rowFactor)); err != nil {
			t.Fatal(err)
		}
		if err := b.Log1p(want); err != nil {
			t.Fatal(err)
		}
	}
	if colFactor != nil {
		if err := b.ScaleCols(want, Wrap(colFactor)); err != nil {
			t.Fatal(err)
		}
	}
	wh, _ := b.Download(want)
	if gh.Rows != wh.Rows || gh.Cols != wh.Cols || !slices.Equal(gh.Indptr, wh.Indptr) || !slices.Equal(gh.Indices, wh.Indices) {
		t.Fatalf("structure differs: %d x %d, %d values; want %d x %d, %d values", gh.Rows, gh.Cols, gh.NNZ(), wh.Rows, wh.Cols, wh.NNZ())
	}
	if i := sameBits32(gh.Data, wh.Data); i >= 0 {
		t.Fatalf("value %d: %g, the separate operations give %g", i, gh.Data[i], wh.Data[i])
	}

	// float64 reference, value by value.
	r := 0
	for i := range raw.Rows {
		if !keep[i] {
			continue
		}
		idx, val := raw.Row(i)
		oi, ov := gh.Row(r)
		q := 0
		for k, c := range idx {
			if newIndex[c] < 0 {
				continue
			}
			x := float64(val[k])
			if rowFactor != nil {
				x = math.Log1p(float64(float32(x * rowFactor[r])))
			}
			if colFactor != nil {
				x *= colFactor[newIndex[c]]
			}
			if oi[q] != newIndex[c] || math.Abs(float64(ov[q])-x) > 1e-6*math.Abs(x) {
				t.Fatalf("row %d: value %d is %d:%g, want %d:%g", r, q, oi[q], ov[q], newIndex[c], x)
			}
			q++
		}
		r++
	}
}

// BenchmarkQCNormalizeLog1p runs pass 1's fused kernel on the full-gene
// chunk of counts (compare the sum of RowStats, ColStats twice, ScaleRows
// and Log1p), and on the same chunk with values that are not counts (the
// memo of log1p's values then misses).
func BenchmarkQCNormalizeLog1p(b *testing.B) {
	// benchFull's shape, made afresh: the Log1p and ScaleRows benchmarks
	// change benchFull in place.
	counts := sparseRand(rand.New(rand.NewPCG(7, 9)), benchRows, benchGenes, 2000)
	fractions := cloneCSR(counts)
	for k := range fractions.Data {
		fractions.Data[k] += 0.37
	}
	all := backend.ColStats{Sum: Wrap(make([]float64, benchGenes)), NNZ: Wrap(make([]int64, benchGenes))}
	kept := backend.ColStats{Sum: Wrap(make([]float64, benchGenes)), SumSq: Wrap(make([]float64, benchGenes)), NNZ: Wrap(make([]int64, benchGenes))}
	rowSum, rowNNZ, keep := make([]float64, benchRows), make([]int32, benchRows), make([]bool, benchRows)
	for _, data := range []struct {
		name string
		m    *sparse.CSR
	}{{"counts", counts}, {"fractions", fractions}} {
		for _, threads := range benchThreadSettings {
			b.Run(data.name+"/"+threadName(threads), func(b *testing.B) {
				be := New(threads)
				m, err := be.Upload(data.m)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(8 * m.NNZ)
				cpu0 := cputime.Seconds()
				for b.Loop() {
					if err := be.QCNormalizeLog1p(m, decideFor(200, 10000), rowSum, rowNNZ, keep, all, kept, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(8*m.NNZ)*float64(b.N)/(cputime.Seconds()-cpu0)/1e9, "GB/cpu-s")
			})
		}
	}
}
