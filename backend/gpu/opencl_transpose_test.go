package gpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cuda"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/sparse"
)

// These tests run Transpose and SpMM's long-row kernel through OpenCL
// (PoCL on a machine without a GPU) on shapes beyond the conformance
// suite's: two column tiles over hundreds of row blocks, work-groups of
// other sizes, and every column-lane configuration of spmm_long. The
// helpers openCL, openCLGroups and benchRows are device_test.go's;
// randMatrix, upload, buf, read, denseBuf, readDense, staleDense,
// randDense, refProduct, checkClose and sortRows are opencl_stats_test.go's
// and opencl_products_test.go's.

// hostTranspose returns mᵀ, each row in increasing row order of m.
func hostTranspose(m *sparse.CSR) *sparse.CSR {
	out := &sparse.CSR{Rows: m.Cols, Cols: m.Rows, Indptr: make([]int64, m.Cols+1)}
	for i := 0; i < m.Rows; i++ {
		idx, _ := m.Row(i)
		for _, j := range idx {
			out.Indptr[j+1]++
		}
	}
	for j := 0; j < m.Cols; j++ {
		out.Indptr[j+1] += out.Indptr[j]
	}
	out.Indices = make([]int32, m.NNZ())
	out.Data = make([]float32, m.NNZ())
	pos := slices.Clone(out.Indptr[:m.Cols])
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, j := range idx {
			out.Indices[pos[j]] = int32(i)
			out.Data[pos[j]] = val[k]
			pos[j]++
		}
	}
	return out
}

// sameMatrix checks that got and want hold the same arrays, bit for bit.
func sameMatrix(t *testing.T, what string, got, want *sparse.CSR) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols || !slices.Equal(got.Indptr, want.Indptr) {
		t.Fatalf("%s: %d x %d with %d values (or other row pointers), want %d x %d with %d",
			what, got.Rows, got.Cols, got.NNZ(), want.Rows, want.Cols, want.NNZ())
	}
	for k := range want.Indices {
		if got.Indices[k] != want.Indices[k] || math.Float32bits(got.Data[k]) != math.Float32bits(want.Data[k]) {
			t.Fatalf("%s: entry %d is (%d, %g), want (%d, %g)", what, k, got.Indices[k], got.Data[k], want.Indices[k], want.Data[k])
		}
	}
}

// TestTransposeBlocks transposes matrices that Transpose splits into two
// column tiles and hundreds of row blocks, with work-groups of 256, 61
// and 1 work-items: the same arrays as the host's transpose every time.
func TestTransposeBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 23))
	cases := []*sparse.CSR{
		randMatrix(rng, 20011, 5003, 0.01, []int{0, 7777, 20010}), // 2 tiles x 313 row blocks
		randMatrix(rng, 4099, 3073, 0.02, nil),                    // 2 tiles (1,537 and 1,536 columns) x 65 row blocks
		randMatrix(rng, 67, 9001, 0.3, []int{5, 66}),              // 3 tiles x 2 row blocks
	}
	sortRows(cases[1], true) // half the rows sorted
	for _, local := range []int{256, 61, 1} {
		be := openCLGroups(t, local)
		for c, h := range cases {
			if local == 1 && c == 0 {
				continue // 20,011 rows one work-item at a time: slow on PoCL, and case 2 has the tiles
			}
			t.Run(fmt.Sprintf("local=%d/%dx%d", local, h.Rows, h.Cols), func(t *testing.T) {
				mt, err := be.Transpose(upload(t, be, h))
				if err != nil {
					t.Fatalf("Transpose: %v", err)
				}
				t.Cleanup(mt.Free)
				got, err := be.Download(mt)
				if err != nil {
					t.Fatalf("Download: %v", err)
				}
				sameMatrix(t, "Transpose", got, hostTranspose(h))
			})
		}
	}
}

// TestSpMMLongRows runs SpMM on matrices that take spmm_long, with k
// reaching every column-lane configuration (1, 2, 4, 8 lanes) and several
// chunks of 8 columns, rows of every length modulo the entry lanes' stride
// (and empty ones), sorted and shuffled: against the float64 reference,
// the same bits twice, and within the reference's tolerance of spmm_rows
// (work-groups of at most 128, where SpMM falls back to it).
func TestSpMMLongRows(t *testing.T) {
	be := openCL(t)
	small := openCLGroups(t, 128)
	rng := rand.New(rand.NewPCG(29, 31))
	h := randMatrix(rng, 41, 9001, 0.4, []int{3, 40})
	// Short rows too: the mean stays above spmm_long's threshold.
	for i, n := range []int{1, 5, 255, 1023, 1025} {
		row := 10 + i
		setRowLength(h, row, n, rng)
	}
	for _, order := range []string{"shuffled", "sorted"} {
		if order == "sorted" {
			sortRows(h, false)
		}
		m := upload(t, be, h)
		ms := upload(t, small, h)
		for _, k := range []int{1, 2, 3, 4, 5, 8, 13, 17} {
			for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
				f32 := kind == backend.Float32
				t.Run(fmt.Sprintf("%s/k=%d/%v", order, k, kind), func(t *testing.T) {
					if !be.SpMMTakesLongRows(m, k) || small.SpMMTakesLongRows(ms, k) {
						t.Fatalf("spmm_long taken: %v with groups of 256, %v with groups of 128; want true, false",
							be.SpMMTakesLongRows(m, k), small.SpMMTakesLongRows(ms, k))
					}
					bh := randDense(rng, h.Cols*k, f32)
					want, scale := refProduct(h, bh, k, false)
					var first []float64
					for run := range 2 {
						out := staleDense(t, be, h.Rows, k, kind)
						if err := be.SpMM(m, denseBuf(t, be, h.Cols, k, bh, kind), out); err != nil {
							t.Fatalf("SpMM: %v", err)
						}
						got := readDense(t, be, out)
						if run == 0 {
							first = got
							checkClose(t, "SpMM", got, want, scale, f32)
						} else if !slices.EqualFunc(got, first, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
							t.Errorf("SpMM: two runs differ")
						}
					}
					out := staleDense(t, small, h.Rows, k, kind)
					if err := small.SpMM(ms, denseBuf(t, small, h.Cols, k, bh, kind), out); err != nil {
						t.Fatalf("SpMM with groups of 128: %v", err)
					}
					checkClose(t, "SpMM with groups of 128", readDense(t, small, out), want, scale, f32)
				})
			}
		}
	}
}

// setRowLength replaces row i of m by n entries in random distinct
// columns (m.Cols >= n).
func setRowLength(m *sparse.CSR, i, n int, rng *rand.Rand) {
	lo, hi := m.Indptr[i], m.Indptr[i+1]
	cols := rng.Perm(m.Cols)[:n]
	idx := make([]int32, n)
	val := make([]float32, n)
	for q, j := range cols {
		idx[q] = int32(j)
		val[q] = float32(1 + rng.IntN(9))
	}
	m.Indices = slices.Concat(m.Indices[:lo], idx, m.Indices[hi:])
	m.Data = slices.Concat(m.Data[:lo], val, m.Data[hi:])
	d := int64(n) - (hi - lo)
	for r := i + 1; r <= m.Rows; r++ {
		m.Indptr[r] += d
	}
}

// zLike returns a rows x cols matrix shaped like PCA's scaled HVG matrix Z:
// sorted rows, column j stored with probability 0.01 to 0.142 (7.6% on
// average, ~380 values a row at 5,000 columns; like highly variable genes,
// some columns much denser than others), signed values. Rows are made in
// parallel, each from its own seed, so the matrix depends on rows and
// cols only.
func zLike(rows, cols int) *sparse.CSR {
	thr := make([]uint32, cols)
	for j := range thr {
		p := 0.01 + 0.132*float64((j*7919)%cols)/float64(cols)
		thr[j] = uint32(p * (1 << 32))
	}
	parts := min(runtime.GOMAXPROCS(0), max(1, rows/1000))
	idx := make([][]int32, parts)
	val := make([][]float32, parts)
	lens := make([]int64, rows)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			r0, r1 := rows*p/parts, rows*(p+1)/parts
			for i := r0; i < r1; i++ {
				rng := rand.New(rand.NewPCG(uint64(i), 0x2a))
				n := len(idx[p])
				for j := range cols {
					if rng.Uint32() < thr[j] {
						idx[p] = append(idx[p], int32(j))
						val[p] = append(val[p], float32(rng.NormFloat64()))
					}
				}
				lens[i] = int64(len(idx[p]) - n)
			}
		})
	}
	wg.Wait()
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i, n := range lens {
		m.Indptr[i+1] = m.Indptr[i] + n
	}
	m.Indices = slices.Concat(idx...)
	m.Data = slices.Concat(val...)
	return m
}

// benchDense returns a rows x cols float64 matrix on be, freed when the
// benchmark ends.
func benchDense(b *testing.B, be *gpu.Backend, rows, cols int) backend.Dense {
	buf, err := be.Alloc(backend.Float64, rows*cols)
	if err != nil {
		b.Fatalf("Alloc: %v", err)
	}
	b.Cleanup(buf.Free)
	return backend.Dense{Rows: rows, Cols: cols, Data: buf}
}

// benchBackend returns a GPU backend through api ("cuda": device
// $SCBENCH_CUDA_DEVICE or 0; "opencl": openCL's), or skips.
func benchBackend(b *testing.B, api string) *gpu.Backend {
	b.Helper()
	if api == "opencl" {
		return openCL(b)
	}
	d := 0
	if s := os.Getenv("SCBENCH_CUDA_DEVICE"); s != "" {
		d, _ = strconv.Atoi(s)
	}
	be, err := cuda.New(d)
	if err != nil {
		b.Skipf("no CUDA device %d: %v", d, err)
	}
	b.Cleanup(func() {
		if err := be.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	return be
}

// BenchmarkTransposeProducts times PCA's matrix-free product ZᵀZV through
// the transpose: Transpose(Z) once, then per product SpMM(Z, V) and
// SpMM(Zᵀ, ZV), next to SpMMT(Z, ZV), on a Z-like matrix (zLike) of
// $SCBENCH_BENCH_ROWS rows (default 20,000: one chunk; 1265792 is the
// 1.3M-cell Z) x 5,000 columns, k = 8 float64 vectors, on CUDA and on
// OpenCL where they are. It reports ms per operation (ms/op) and logs how
// far SpMM(Zᵀ, ZV) is from SpMMT(Z, ZV).
//
// Floors at 1.3M cells (4.84e8 values), as bytes over ~4 TB/s of H200
// memory bandwidth:
//
//	Transpose      read Z's indices twice (two column tiles) and values
//	               twice, 7.7 GB; write Zᵀ, 3.9 GB; counts 2.6e6 x 8 B
//	               (scanned on one multiprocessor): ~3 ms, and each
//	               work-group waits a memory latency per row (1,024
//	               groups of ~2,500 rows): a few ms. Once per matrix.
//	SpMM(Z, V)     indices + values 3.87 GB, out 81 MB (V, 320 KB, stays
//	               in cache): 3.96 GB, 0.99 ms.
//	SpMM(Zᵀ, ZV)   indices + values 3.87 GB, ZV 81 MB, out 320 KB: 3.95
//	               GB, 0.99 ms. But every value gathers a row of ZV (64
//	               B): 31 GB through L2 (ZV is larger than the H200's 50
//	               MB L2, and each row of Zᵀ sweeps all of it): at ~5-7
//	               TB/s of L2 bandwidth, 5 ms or so.
//	per product    2 ms at the floor; ~6 ms if the gathers bind (SpMMT's
//	               row walk: 75 ms measured).
func BenchmarkTransposeProducts(b *testing.B) {
	rows := benchRows(b, 20000)
	const cols, k = 5000, 8
	start := time.Now()
	h := zLike(rows, cols)
	b.Logf("Z: %d x %d, %d values (%.1f a row), made in %v", rows, cols, h.NNZ(), float64(h.NNZ())/float64(rows), time.Since(start).Round(time.Millisecond))
	rng := rand.New(rand.NewPCG(3, 4))
	vh := randDense(rng, cols*k, false)
	for _, api := range []string{"cuda", "opencl"} {
		b.Run(api, func(b *testing.B) {
			be := benchBackend(b, api)
			wait := func() {
				if err := be.Sync(); err != nil {
					b.Fatalf("Sync: %v", err)
				}
			}
			m, err := be.Upload(h)
			if err != nil {
				b.Fatalf("Upload: %v", err)
			}
			defer m.Free()
			t0 := time.Now()
			mt, err := be.Transpose(m)
			if err != nil {
				b.Fatalf("Transpose: %v", err)
			}
			defer mt.Free()
			wait()
			b.Logf("%s: first Transpose %.2f ms (with the kernels' first launch); SpMM(Zᵀ) takes spmm_long: %v",
				be.Device().Name, float64(time.Since(t0).Microseconds())/1000, be.SpMMTakesLongRows(mt, k))
			v, zv := benchDense(b, be, cols, k), benchDense(b, be, rows, k)
			out, outT := benchDense(b, be, cols, k), benchDense(b, be, cols, k)
			if err := be.Write(v.Data, vh); err != nil {
				b.Fatalf("Write: %v", err)
			}
			// The transposed product against SpMMT, once.
			if err := be.SpMM(m, v, zv); err != nil {
				b.Fatalf("SpMM: %v", err)
			}
			if err := be.SpMM(mt, zv, out); err != nil {
				b.Fatalf("SpMM(Zᵀ): %v", err)
			}
			if err := be.SpMMT(m, zv, outT); err != nil {
				b.Fatalf("SpMMT: %v", err)
			}
			got, want := make([]float64, cols*k), make([]float64, cols*k)
			if err := be.Read(got, out.Data); err != nil {
				b.Fatalf("Read: %v", err)
			}
			if err := be.Read(want, outT.Data); err != nil {
				b.Fatalf("Read: %v", err)
			}
			var diff, norm float64
			for i := range got {
				diff = max(diff, math.Abs(got[i]-want[i]))
				norm = max(norm, math.Abs(want[i]))
			}
			b.Logf("max |SpMM(Zᵀ, ZV) - SpMMT(Z, ZV)| = %.3g, relative to max |SpMMT| %.3g", diff, diff/norm)
			// Both sum ~97,000 terms a element in float64, in different
			// orders.
			if !(diff <= 1e-8*norm) {
				b.Errorf("SpMM(Zᵀ, ZV) and SpMMT(Z, ZV) differ by %.3g (max |SpMMT| %.3g)", diff, norm)
			}
			for _, op := range []string{"Transpose", "SpMM(Z,V)", "SpMM(Zt,ZV)", "product", "SpMMT(Z,ZV)"} {
				b.Run(op, func(b *testing.B) {
					t0 := time.Now()
					for range b.N {
						var err error
						switch op {
						case "Transpose":
							var again backend.CSR
							if again, err = be.Transpose(m); err == nil {
								again.Free()
							}
						case "SpMM(Z,V)":
							err = be.SpMM(m, v, zv)
						case "SpMM(Zt,ZV)":
							err = be.SpMM(mt, zv, out)
						case "product":
							if err = be.SpMM(m, v, zv); err == nil {
								err = be.SpMM(mt, zv, out)
							}
						case "SpMMT(Z,ZV)":
							err = be.SpMMT(m, zv, outT)
						}
						if err != nil {
							b.Fatalf("%s: %v", op, err)
						}
						wait()
					}
					b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(b.N), "ms/op")
				})
			}
		})
	}
}
