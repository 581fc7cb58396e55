package gpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/sparse"
)

// These tests run the reductions and selections through OpenCL (PoCL on a
// machine without a GPU) on shapes the conformance suite does not reach:
// several column tiles, rows of thousands of values, masks of any
// non-zero byte. The conformance suite (backend/opencl) covers the rest.

// randMatrix returns a rows x cols matrix with about density of its
// entries stored in shuffled order, a tenth of its rows empty, and the
// rows listed in long stored in full (long rows).
func randMatrix(rng *rand.Rand, rows, cols int, density float64, long []int) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1), Indices: []int32{}, Data: []float32{}}
	for i := range rows {
		start := len(m.Indices)
		switch {
		case slices.Contains(long, i):
			for j := range cols {
				m.Indices = append(m.Indices, int32(j))
			}
		case rng.IntN(10) == 0:
		default:
			for j := range cols {
				if rng.Float64() < density {
					m.Indices = append(m.Indices, int32(j))
				}
			}
		}
		row := m.Indices[start:]
		rng.Shuffle(len(row), func(a, b int) { row[a], row[b] = row[b], row[a] })
		for range row {
			var v float32
			switch rng.IntN(10) {
			case 0: // a stored zero
			case 1, 2:
				v = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
			default:
				v = float32(1 + rng.IntN(50))
			}
			m.Data = append(m.Data, v)
		}
		m.Indptr[i+1] = int64(len(m.Indices))
	}
	return m
}

func upload(t *testing.T, be *gpu.Backend, m *sparse.CSR) backend.CSR {
	t.Helper()
	d, err := be.Upload(m)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	t.Cleanup(d.Free)
	return d
}

func buf[T float32 | float64 | int32 | int64 | uint8](t *testing.T, be *gpu.Backend, k backend.Kind, x []T) backend.Buffer {
	t.Helper()
	b, err := be.Alloc(k, len(x))
	if err != nil {
		t.Fatalf("Alloc: %v", err)
	}
	t.Cleanup(b.Free)
	if err := be.Write(b, x); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b
}

func read[T float32 | float64 | int32 | int64 | uint8](t *testing.T, be *gpu.Backend, b backend.Buffer) []T {
	t.Helper()
	x := make([]T, b.Len())
	if err := be.Read(x, b); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return x
}

func randKeep(rng *rand.Rand, n int) []uint8 {
	k := make([]uint8, n)
	for i := range k {
		if rng.IntN(3) > 0 {
			k[i] = uint8(1 + rng.IntN(255))
		}
	}
	return k
}

// TestRowStatsLong checks RowStats on long rows, bit for bit against the
// sums in row order that the CPU backend makes.
func TestRowStatsLong(t *testing.T) {
	be := openCL(t)
	rng := rand.New(rand.NewPCG(1, 2))
	h := randMatrix(rng, 1237, 10007, 0.01, []int{0, 5, 1236})
	d := upload(t, be, h)
	out := backend.RowStats{Sum: buf(t, be, backend.Float64, make([]float64, h.Rows)), NNZ: buf(t, be, backend.Int32, make([]int32, h.Rows))}
	if err := be.RowStats(d, out); err != nil {
		t.Fatalf("RowStats: %v", err)
	}
	sum, nnz := read[float64](t, be, out.Sum), read[int32](t, be, out.NNZ)
	for i := range h.Rows {
		var s float64
		var n int32
		for _, v := range h.Data[h.Indptr[i]:h.Indptr[i+1]] {
			s += float64(v)
			if v != 0 {
				n++
			}
		}
		if math.Float64bits(sum[i]) != math.Float64bits(s) || nnz[i] != n {
			t.Fatalf("row %d: sum %.17g, nnz %d; want %.17g, %d", i, sum[i], nnz[i], s, n)
		}
	}
}

// TestColStatsTiles accumulates ColStats over chunks of several column
// tiles (the last one narrow), with long and empty rows and chunks, and
// compares with float64 sums; the counts must be exact, and a second run
// must give the same bits.
func TestColStatsTiles(t *testing.T) {
	be := openCL(t)
	for _, cols := range []int{2049, 4099} {
		for _, opt := range []string{"full", "sum-only"} {
			for _, masked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d/%s/mask=%v", cols, opt, masked), func(t *testing.T) {
					colStatsCase(t, be, cols, opt == "full", masked)
				})
			}
		}
	}
}

func colStatsCase(t *testing.T, be *gpu.Backend, cols int, full, masked bool) {
	rng := rand.New(rand.NewPCG(uint64(cols), 3))
	// Row counts that make one row block (3), several (1031) and none (0).
	var chunks []*sparse.CSR
	for _, rows := range []int{3, 1031, 0, 211} {
		chunks = append(chunks, randMatrix(rng, rows, cols, 0.03, []int{1, 700}))
	}
	start := make([]float64, cols)
	for j := range start {
		start[j] = rng.NormFloat64()
	}
	want, wantSq, scale, sqScale := slices.Clone(start), slices.Clone(start), make([]float64, cols), make([]float64, cols)
	startNNZ := make([]int64, cols)
	for j := range cols {
		startNNZ[j] = int64(j % 7)
		scale[j] = math.Abs(start[j])
		sqScale[j] = 2 * math.Abs(start[j])
	}
	run := func() (sum, sq []float64, nnz []int64) {
		acc := backend.ColStats{Sum: buf(t, be, backend.Float64, start)}
		if full {
			acc.SumSq = buf(t, be, backend.Float64, start)
			acc.NNZ = buf(t, be, backend.Int64, startNNZ)
		}
		for _, h := range chunks {
			var mask backend.Buffer
			if masked {
				mask = buf(t, be, backend.Uint8, randKeep(rand.New(rand.NewPCG(uint64(h.Rows), 4)), h.Rows))
			}
			if err := be.ColStats(upload(t, be, h), mask, acc); err != nil {
				t.Fatalf("ColStats: %v", err)
			}
		}
		sum = read[float64](t, be, acc.Sum)
		if full {
			sq, nnz = read[float64](t, be, acc.SumSq), read[int64](t, be, acc.NNZ)
		}
		return sum, sq, nnz
	}
	wantNNZ := slices.Clone(startNNZ)
	for _, h := range chunks {
		keep := randKeep(rand.New(rand.NewPCG(uint64(h.Rows), 4)), h.Rows)
		for i := range h.Rows {
			if masked && keep[i] == 0 {
				continue
			}
			for k := h.Indptr[i]; k < h.Indptr[i+1]; k++ {
				j, v := h.Indices[k], float64(h.Data[k])
				want[j] += v
				wantSq[j] += v * v
				scale[j] += math.Abs(v)
				sqScale[j] += v * v
				if v != 0 {
					wantNNZ[j]++
				}
			}
		}
	}
	sum, sq, nnz := run()
	sum2, sq2, nnz2 := run()
	if !slices.Equal(sum, sum2) || !slices.Equal(sq, sq2) || !slices.Equal(nnz, nnz2) {
		t.Errorf("two runs differ")
	}
	check := func(what string, got, want, scale []float64) {
		t.Helper()
		bad := 0
		for j := range want {
			if math.Abs(got[j]-want[j]) > 1e-12*scale[j] {
				if bad++; bad <= 5 {
					t.Errorf("%s[%d] = %.17g, want %.17g", what, j, got[j], want[j])
				}
			}
		}
	}
	check("Sum", sum, want, scale)
	if full {
		check("SumSq", sq, wantSq, sqScale)
		if !slices.Equal(nnz, wantNNZ) {
			t.Errorf("NNZ differs from the counts")
		}
	}
}

// TestSelectLong selects rows and columns of a wide matrix with long rows
// (several windows of select_cols_fill) and compares with backendtest's
// plain loops.
func TestSelectLong(t *testing.T) {
	be := openCL(t)
	rng := rand.New(rand.NewPCG(5, 6))
	h := randMatrix(rng, 1031, 4099, 0.05, []int{0, 17, 1030})
	d := upload(t, be, h)

	keep := randKeep(rng, h.Rows)
	keep[0], keep[17] = 7, 0
	sel, err := be.SelectRows(d, buf(t, be, backend.Uint8, keep))
	if err != nil {
		t.Fatalf("SelectRows: %v", err)
	}
	same(t, "SelectRows", be, sel, backendtest.RefSelectRows(h, keep))

	newIndex := make([]int32, h.Cols)
	newCols := 0
	for j := range newIndex {
		newIndex[j] = -1
		if rng.IntN(5) > 0 {
			newIndex[j] = int32(newCols)
			newCols++
		}
	}
	perm := rng.Perm(newCols)
	for j, c := range newIndex {
		if c >= 0 {
			newIndex[j] = int32(perm[c])
		}
	}
	sel, err = be.SelectCols(d, buf(t, be, backend.Int32, newIndex), newCols)
	if err != nil {
		t.Fatalf("SelectCols: %v", err)
	}
	same(t, "SelectCols", be, sel, backendtest.RefSelectCols(h, newIndex, newCols))
}

func same(t *testing.T, what string, be *gpu.Backend, d backend.CSR, want *sparse.CSR) {
	t.Helper()
	defer d.Free()
	got, err := be.Download(d)
	if err != nil {
		t.Fatalf("%s: Download: %v", what, err)
	}
	if got.Rows != want.Rows || got.Cols != want.Cols || !slices.Equal(got.Indptr, want.Indptr) ||
		!slices.Equal(got.Indices, want.Indices) || !slices.Equal(got.Data, want.Data) {
		t.Fatalf("%s: got a %d x %d matrix with %d values, want %d x %d with %d, or they differ",
			what, got.Rows, got.Cols, got.NNZ(), want.Rows, want.Cols, want.NNZ())
	}
}

// TestSelectColsBadIndex checks that a newIndex out of range or with a
// repeated index is refused with ErrShape, as the CPU backend does.
func TestSelectColsBadIndex(t *testing.T) {
	be := openCL(t)
	rng := rand.New(rand.NewPCG(7, 8))
	d := upload(t, be, randMatrix(rng, 37, 11, 0.3, nil))
	for _, c := range []struct {
		name     string
		newIndex []int32
		newCols  int
	}{
		{"out of range", []int32{0, 1, 2, 3, -1, -1, -1, -1, -1, -1, 4}, 4},
		{"repeated", []int32{0, 1, 2, 3, -1, -1, -1, -1, -1, 1, -1}, 4},
		{"no columns", []int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, -1}, 0},
	} {
		_, err := be.SelectCols(d, buf(t, be, backend.Int32, c.newIndex), c.newCols)
		if !errors.Is(err, backend.ErrShape) {
			t.Errorf("%s: got error %v, want one wrapping backend.ErrShape", c.name, err)
		}
	}
}

// BenchmarkChunk times the operations on a chunk of the 1.3M-cell data
// set's shape: 20,000 rows of about 2,000 values over 28,000 genes.
func BenchmarkChunk(b *testing.B) {
	be := openCL(b)
	rng := rand.New(rand.NewPCG(9, 10))
	const rows, cols = 20000, 28000
	h := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := range rows {
		for j := rng.IntN(28); j < cols; j += 1 + rng.IntN(27) {
			h.Indices = append(h.Indices, int32(j))
			h.Data = append(h.Data, float32(1+rng.IntN(50)))
		}
		h.Indptr[i+1] = int64(len(h.Indices))
	}
	d, err := be.Upload(h)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Free()
	alloc := func(k backend.Kind, n int) backend.Buffer {
		x, err := be.Alloc(k, n)
		if err != nil {
			b.Fatal(err)
		}
		return x
	}
	keep := alloc(backend.Uint8, rows)
	if err := be.Write(keep, randKeep(rng, rows)); err != nil {
		b.Fatal(err)
	}
	newIndex := make([]int32, cols)
	for j := range newIndex {
		newIndex[j] = -1
		if j%6 == 0 {
			newIndex[j] = int32(j / 6)
		}
	}
	ni := alloc(backend.Int32, cols)
	if err := be.Write(ni, newIndex); err != nil {
		b.Fatal(err)
	}
	sync := func() {
		if err := be.Runtime().Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("RowStats", func(b *testing.B) {
		out := backend.RowStats{Sum: alloc(backend.Float64, rows), NNZ: alloc(backend.Int32, rows)}
		for b.Loop() {
			if err := be.RowStats(d, out); err != nil {
				b.Fatal(err)
			}
			sync()
		}
	})
	b.Run("ColStats", func(b *testing.B) {
		acc := backend.ColStats{Sum: alloc(backend.Float64, cols), SumSq: alloc(backend.Float64, cols), NNZ: alloc(backend.Int64, cols)}
		for b.Loop() {
			if err := be.ColStats(d, keep, acc); err != nil {
				b.Fatal(err)
			}
			sync()
		}
	})
	b.Run("SelectRows", func(b *testing.B) {
		for b.Loop() {
			s, err := be.SelectRows(d, keep)
			if err != nil {
				b.Fatal(err)
			}
			sync()
			s.Free()
		}
	})
	b.Run("SelectCols", func(b *testing.B) {
		for b.Loop() {
			s, err := be.SelectCols(d, ni, (cols+5)/6)
			if err != nil {
				b.Fatal(err)
			}
			sync()
			s.Free()
		}
	})
}
