package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/cputime"
	"github.com/scbench/scbench/sparse"
)

// The benchmarks run on chunks shaped like the 1.3M-cell atlas's: 20,000
// cells of 27,998 genes with ~2,000 values each (the raw counts), and of
// the 5,000 highly variable genes with ~1,000 values each (PCA's input).
// Run them with -benchtime=1x or 3x: GramAccumulate takes seconds.

var (
	benchOnce            sync.Once
	benchFull, benchHVG  *sparse.CSR
	benchThreadSettings  = []int{1, 0}
	benchRows            = 20000
	benchGenes, benchHVs = 27998, 5000
)

func benchData() {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(7, 8))
		benchFull = sparseRand(rng, benchRows, benchGenes, 2000)
		benchHVG = sparseRand(rng, benchRows, benchHVs, 1000)
	})
}

// sparseRand returns a rows x cols matrix with about nnz values per row,
// at sorted random columns (gaps drawn from an exponential distribution),
// with count-like values.
func sparseRand(rng *rand.Rand, rows, cols, nnz int) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	m.Indices = make([]int32, 0, rows*nnz*11/10)
	m.Data = make([]float32, 0, rows*nnz*11/10)
	gap := float64(cols) / float64(nnz)
	for i := 0; i < rows; i++ {
		for j := int(rng.ExpFloat64() * gap); j < cols; j += 1 + int(rng.ExpFloat64()*(gap-1)+0.5) {
			m.Indices = append(m.Indices, int32(j))
			m.Data = append(m.Data, float32(1+rng.IntN(30)))
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

func threadName(t int) string {
	if t == 0 {
		t = runtime.GOMAXPROCS(0)
	}
	return fmt.Sprintf("threads=%d", t)
}

func BenchmarkGramAccumulate(b *testing.B) {
	benchData()
	for _, threads := range benchThreadSettings {
		b.Run(threadName(threads), func(b *testing.B) { benchGram(b, threads, benchHVG, nil) })
	}
}

// benchGram times GramAccumulateOrdered of h with rank (nil: the work of
// GramAccumulate) on threads workers.
func benchGram(b *testing.B, threads int, h *sparse.CSR, rank []int32) {
	benchGramFixed(b, threads, h, rank, -1)
}

// benchGramFixed is benchGram with the number of sparse blocks fixed at
// nbs (negative: the model's choice).
func benchGramFixed(b *testing.B, threads int, h *sparse.CSR, rank []int32, nbs int) {
	be := New(threads)
	be.gram.fixed, be.gram.nbs = nbs >= 0, nbs
	m, err := be.Upload(h)
	if err != nil {
		b.Fatal(err)
	}
	d := h.Cols
	c := backend.Dense{Rows: d, Cols: d, Data: Wrap(make([]float64, d*d))}
	start, cpu0 := time.Now(), cputime.Seconds()
	for b.Loop() {
		if err := be.GramAccumulateOrdered(m, c, rank); err != nil {
			b.Fatal(err)
		}
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	cpu := (cputime.Seconds() - cpu0) / float64(b.N)
	pairs := gramPairs(h)
	b.ReportMetric(pairs/sec, "pairs/s")
	b.ReportMetric(pairs/cpu, "pairs/cpu-s")
	b.ReportMetric(sec, "s/chunk")
	b.ReportMetric(float64(h.NNZ())/float64(h.Rows), "nnz/row")
}

// gramPairs is the number of products GramAccumulate makes of h: n(n+1)/2
// for a row of n values.
func gramPairs(h *sparse.CSR) float64 {
	var pairs float64
	for i := 0; i < h.Rows; i++ {
		n := float64(h.Indptr[i+1] - h.Indptr[i])
		pairs += n * (n + 1) / 2
	}
	return pairs
}

func BenchmarkSpMM(b *testing.B) {
	benchData()
	const k = 100
	for _, kind := range []backend.Kind{backend.Float64, backend.Float32} {
		for _, threads := range benchThreadSettings {
			b.Run(kind.String()+"/"+threadName(threads), func(b *testing.B) {
				be := New(threads)
				m, err := be.Upload(benchHVG)
				if err != nil {
					b.Fatal(err)
				}
				// B filled with values: left untouched, its pages would all
				// be the kernel's one zero page, always in cache.
				bd, _ := be.Alloc(kind, m.Cols*k)
				rng := rand.New(rand.NewPCG(19, 20))
				var fill any
				if kind == backend.Float64 {
					v := make([]float64, m.Cols*k)
					for i := range v {
						v[i] = rng.NormFloat64()
					}
					fill = v
				} else {
					v := make([]float32, m.Cols*k)
					for i := range v {
						v[i] = float32(rng.NormFloat64())
					}
					fill = v
				}
				if err := be.Write(bd, fill); err != nil {
					b.Fatal(err)
				}
				out, _ := be.Alloc(kind, m.Rows*k)
				start, cpu0 := time.Now(), cputime.Seconds()
				for b.Loop() {
					err := be.SpMM(m, backend.Dense{Rows: m.Cols, Cols: k, Data: bd}, backend.Dense{Rows: m.Rows, Cols: k, Data: out})
					if err != nil {
						b.Fatal(err)
					}
				}
				sec := time.Since(start).Seconds() / float64(b.N)
				cpu := (cputime.Seconds() - cpu0) / float64(b.N)
				b.ReportMetric(float64(m.NNZ)*k/sec, "madd/s")
				b.ReportMetric(float64(m.NNZ)*k/cpu, "madd/cpu-s")
			})
		}
	}
}

// benchElementwise runs op on the full-gene chunk and reports the rate in
// bytes of Data and Indices (8 per value) through b.SetBytes, and per
// second of CPU time (which, on a shared machine, says more than the wall
// clock about what the code would do on idle cores).
func benchElementwise(b *testing.B, op func(be *Backend, m backend.CSR) error) {
	benchData()
	for _, threads := range benchThreadSettings {
		b.Run(threadName(threads), func(b *testing.B) {
			be := New(threads)
			m, err := be.Upload(benchFull)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(8 * m.NNZ)
			cpu0 := cputime.Seconds()
			for b.Loop() {
				if err := op(be, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(8*m.NNZ)*float64(b.N)/(cputime.Seconds()-cpu0)/1e9, "GB/cpu-s")
		})
	}
}

func BenchmarkColStats(b *testing.B) {
	benchElementwise(b, func(be *Backend, m backend.CSR) error {
		acc := backend.ColStats{Sum: Wrap(make([]float64, m.Cols)), SumSq: Wrap(make([]float64, m.Cols)), NNZ: Wrap(make([]int64, m.Cols))}
		return be.ColStats(m, nil, acc)
	})
}

func BenchmarkRowStats(b *testing.B) {
	benchElementwise(b, func(be *Backend, m backend.CSR) error {
		return be.RowStats(m, backend.RowStats{Sum: Wrap(make([]float64, m.Rows)), NNZ: Wrap(make([]int32, m.Rows))})
	})
}

func BenchmarkLog1p(b *testing.B) {
	// Each iteration takes the log of the last one's output; the values stay
	// well above Log1p's tiny-value shortcut for hundreds of iterations.
	benchElementwise(b, func(be *Backend, m backend.CSR) error { return be.Log1p(m) })
}

func BenchmarkScaleRows(b *testing.B) {
	f := make([]float64, benchRows)
	for i := range f {
		f[i] = 1 + float64(i%3-1)*1e-3
	}
	benchElementwise(b, func(be *Backend, m backend.CSR) error { return be.ScaleRows(m, Wrap(f)) })
}

func BenchmarkScaleCols(b *testing.B) {
	f := make([]float64, benchGenes)
	for i := range f {
		f[i] = 1 + float64(i%3-1)*1e-3
	}
	benchElementwise(b, func(be *Backend, m backend.CSR) error { return be.ScaleCols(m, Wrap(f)) })
}

// skewedHVG returns a rows x cols matrix whose columns have the densities
// of the 100,000-cell synthetic set's HVG matrix (a 19,484-cell chunk of
// it: quantiles 10% 0.1%, 50% 2.4%, 90% 22.6%, 99% 53%, largest 76%;
// about 390 values a row), interpolated in log density, with rows of
// independent draws and count-like values, in the order of a random
// permutation of the columns (genes are not sorted by density).
func skewedHVG(rng *rand.Rand, rows, cols int) *sparse.CSR {
	q := [][2]float64{{0, 0.0002}, {0.1, 0.001}, {0.5, 0.024}, {0.9, 0.226}, {0.99, 0.534}, {1, 0.76}}
	dens := make([]float64, cols)
	for j, p := range rng.Perm(cols) {
		u := (float64(p) + 0.5) / float64(cols)
		for s := 1; s < len(q); s++ {
			if u <= q[s][0] {
				t := (u - q[s-1][0]) / (q[s][0] - q[s-1][0])
				dens[j] = math.Exp(math.Log(q[s-1][1]) + t*(math.Log(q[s][1])-math.Log(q[s-1][1])))
				break
			}
		}
	}
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := 0; i < rows; i++ {
		for j, p := range dens {
			if rng.Float64() < p {
				m.Indices = append(m.Indices, int32(j))
				m.Data = append(m.Data, float32(1+rng.IntN(30)))
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

// BenchmarkGramAccumulateOrdered runs GramAccumulate on skewedHVG's
// matrix with the columns as they are and in increasing order of density
// (GramAccumulateOrdered, as PCA's covariance path calls it), the latter
// also with the split between sparse and dense tiles fixed (the leading
// 20, 19, 18 or 17 of the 20 column blocks sparse).
func BenchmarkGramAccumulateOrdered(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	h := skewedHVG(rng, benchRows, benchHVs)
	rank := densityRank(h)
	for _, threads := range benchThreadSettings {
		b.Run(threadName(threads)+"/as-is", func(b *testing.B) { benchGram(b, threads, h, nil) })
		b.Run(threadName(threads)+"/ascending-density", func(b *testing.B) { benchGram(b, threads, h, rank) })
		for _, nbs := range []int{20, 19, 18, 17} {
			b.Run(fmt.Sprintf("%s/ascending-density/sparse-blocks=%d", threadName(threads), nbs), func(b *testing.B) { benchGramFixed(b, threads, h, rank, nbs) })
		}
	}
}

// densityRank numbers h's columns in increasing order of their value
// counts (ties in column order), as PCA's covariance path orders the
// genes for GramAccumulateOrdered.
func densityRank(h *sparse.CSR) []int32 {
	cnt := make([]int, h.Cols)
	for _, c := range h.Indices {
		cnt[c]++
	}
	order := make([]int, h.Cols)
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(x, y int) int { return cnt[x] - cnt[y] })
	rank := make([]int32, h.Cols)
	for r, j := range order {
		rank[j] = int32(r)
	}
	return rank
}

// BenchmarkGramDenseCols times the dense tiles' kernel on a slab of 256
// rows of a dense block (512 KiB, in L2) and rows of a 256-row tile of a
// 5,000-column C, for rows of C with 4, 12, 40 and 128 values in the slab
// (gene densities of about 2%, 5%, 16% and 50%), full and part-width
// blocks, with each assembly kernel that the CPU runs.
func BenchmarkGramDenseCols(b *testing.B) {
	const d = 5000
	ks := simdKernels()
	if ks == nil {
		b.Skip("no assembly kernels on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	c := make([]float64, gramBlock*d)
	x := make([]float64, gramSlab*gramBlock)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for _, set := range gramKernelSets() {
		if !set.ok {
			continue
		}
		kern := *ks
		kern.gram = set.gram
		benchGramDenseCols(b, set.name, &kern, rng, c, x)
	}
}

func benchGramDenseCols(b *testing.B, name string, ks *rowKernels, rng *rand.Rand, c, x []float64) {
	const d = 5000
	for _, w := range []int{256, 136} {
		for _, n := range []int{4, 12, 40, 128} {
			const sets = 64
			rows, vals := make([][]uint8, sets), make([][]float64, sets)
			for s := range rows {
				for _, r := range rng.Perm(gramSlab)[:n] {
					rows[s] = append(rows[s], uint8(r))
					vals[s] = append(vals[s], rng.NormFloat64())
				}
				slices.Sort(rows[s])
			}
			b.Run(fmt.Sprintf("%s/width=%d/values=%d", name, w, n), func(b *testing.B) {
				i := 0
				for b.Loop() {
					at := (i % gramBlock) * d
					ks.gramDense(rows[i%sets], vals[i%sets], c[at:at+w], x)
					i++
				}
				b.ReportMetric(float64(b.N*n*w)/b.Elapsed().Seconds(), "products/s")
			})
		}
	}
}

// BenchmarkSelectNormalize runs pass 2's fused kernel on a chunk of counts
// shaped like the 1.3M-cell atlas's (2,000 values a row over 27,998 genes),
// keeping 97% of the rows and 5,000 random genes, with normalize_total,
// log1p and the scale's column factors, reusing the output's arrays as
// pass 2 does.
func BenchmarkSelectNormalize(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 18))
	counts := sparseRand(rng, benchRows, benchGenes, 2000)
	newIndex := make([]int32, benchGenes)
	for j := range newIndex {
		newIndex[j] = -1
	}
	for k, j := range rng.Perm(benchGenes)[:benchHVs] {
		newIndex[j] = int32(k)
	}
	keep := make([]bool, benchRows)
	var rowFactor []float64
	for i := range keep {
		keep[i] = rng.IntN(100) >= 3
		if keep[i] {
			rowFactor = append(rowFactor, 1e4/(1500+1000*rng.Float64()))
		}
	}
	colFactor := make([]float64, benchHVs)
	for j := range colFactor {
		colFactor[j] = 0.5 + rng.Float64()
	}
	for _, threads := range benchThreadSettings {
		b.Run(threadName(threads), func(b *testing.B) {
			be := New(threads)
			m, err := be.Upload(counts)
			if err != nil {
				b.Fatal(err)
			}
			var reuse *sparse.CSR
			b.SetBytes(8 * m.NNZ)
			for b.Loop() {
				out, err := be.SelectNormalize(m, newIndex, benchHVs, keep, rowFactor, colFactor, reuse)
				if err != nil {
					b.Fatal(err)
				}
				if reuse, err = be.Download(out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
