package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/sparse"
	"gonum.org/v1/gonum/mat"
)

// memSource serves a matrix in memory as a store would: every chunk is a
// fresh copy (the passes change chunks in place).
type memSource struct {
	name     string
	x        *sparse.CSR
	obsFrame *anndata.Frame
	varFrame *anndata.Frame
}

func (s *memSource) path() string                  { return s.name }
func (s *memSource) shape() (int, int, int64)      { return s.x.Rows, s.x.Cols, s.x.NNZ() }
func (s *memSource) obs() (*anndata.Frame, error)  { return s.obsFrame, nil }
func (s *memSource) vars() (*anndata.Frame, error) { return s.varFrame, nil }
func (s *memSource) storedBytes() int64            { return csrBytes(s.x) }
func (s *memSource) chunks(ctx context.Context, opt anndata.StreamOptions) chunkIter {
	return &memChunks{x: s.x, rows: opt.Rows, at: -1}
}

type memChunks struct {
	x    *sparse.CSR
	rows int
	at   int
	next int
}

func (c *memChunks) Next() bool {
	if c.next >= c.x.Rows {
		return false
	}
	c.at = c.next
	c.next = min(c.next+c.rows, c.x.Rows)
	return true
}

func (c *memChunks) Chunk() anndata.Chunk {
	return anndata.Chunk{Start: c.at, CSR: c.x.RowView(c.at, c.next).Clone()}
}
func (c *memChunks) Err() error            { return nil }
func (c *memChunks) Release(anndata.Chunk) {}
func (c *memChunks) Close() error          { return nil }

// randomCounts makes UMI-like counts: genes with log-normal rates, cells
// with log-normal sizes, a few near-empty and a few huge cells, a gene
// that is never detected and one detected everywhere, and a structure of
// three cell groups with their own marker genes so that PCA has signal.
func randomCounts(rng *rand.Rand, n, p int) *sparse.CSR {
	rate := make([]float64, p)
	for j := range rate {
		rate[j] = math.Exp(rng.NormFloat64()*1.3 - 2.5)
	}
	rate[3] = 0
	rate[p-2] = 40
	m := &sparse.CSR{Rows: n, Cols: p, Indptr: make([]int64, n+1)}
	for i := range n {
		size := math.Exp(rng.NormFloat64() * 0.5)
		switch i % 97 {
		case 5:
			size = 0.02 // filtered by min_genes
		case 50:
			size = 30 // filtered by max_genes
		}
		group := i % 3
		for j := range p {
			lam := rate[j] * size
			if j%17 == group && j%17 < 3 {
				lam *= 8
			}
			if lam == 0 {
				continue
			}
			k := poisson(rng, lam)
			if k > 0 {
				m.Indices = append(m.Indices, int32(j))
				m.Data = append(m.Data, float32(k))
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

func poisson(rng *rand.Rand, lam float64) int {
	if lam > 30 {
		return max(0, int(math.Round(lam+math.Sqrt(lam)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// denseReference runs the workflow on a dense copy of x in float64, the
// plain way: form every matrix, SVD of the centred scaled data.
type denseReference struct {
	nGenes  []int32
	total   []float64
	keep    []bool
	mean    []float64
	varr    []float64
	hvg     *HVG
	std     []float64
	varPC   []float64
	ratio   []float64
	scores  *mat.Dense // kept x k
	nKept   int
	genesIn []int
}

func runDense(t *testing.T, x *sparse.CSR, p Params) *denseReference {
	t.Helper()
	n, g := x.Rows, x.Cols
	ref := &denseReference{nGenes: make([]int32, n), total: make([]float64, n), keep: make([]bool, n)}
	var rows [][]float64
	for i := range n {
		row := make([]float64, g)
		idx, val := x.Row(i)
		for k, j := range idx {
			row[j] = float64(val[k])
		}
		for _, v := range row {
			if v != 0 {
				ref.nGenes[i]++
			}
			ref.total[i] += v
		}
		ref.keep[i] = int(ref.nGenes[i]) >= p.MinGenes && int(ref.nGenes[i]) <= p.MaxGenes
		if !ref.keep[i] {
			continue
		}
		// normalize_total in float32 as scanpy, then float32 log1p.
		f := float32(1) / (float32(ref.total[i]) / float32(p.TargetSum))
		for j, v := range row {
			row[j] = float64(float32(math.Log1p(float64(float32(v) * f))))
		}
		rows = append(rows, row)
	}
	nk := len(rows)
	ref.nKept = nk
	ref.mean, ref.varr = make([]float64, g), make([]float64, g)
	for j := range g {
		var s float64
		for _, r := range rows {
			s += r[j]
		}
		m := s / float64(nk)
		var ss float64
		for _, r := range rows {
			ss += (r[j] - m) * (r[j] - m)
		}
		ref.mean[j], ref.varr[j] = m, ss/float64(nk-1)
	}
	h, err := HighlyVariableCellRanger(ref.mean, ref.varr, p.NTopGenes)
	if err != nil {
		t.Fatal(err)
	}
	ref.hvg = h
	sel := h.Selected()
	ref.genesIn = sel
	q := len(sel)
	ref.std = make([]float64, q)
	// scale(zero_center=False) as scanpy does it: float32(x * (1/std)).
	z := mat.NewDense(nk, q, nil)
	for c, j := range sel {
		s := math.Sqrt(ref.varr[j])
		if s == 0 {
			s = 1
		}
		ref.std[c] = s
		var m float64
		for i, r := range rows {
			v := float64(float32(r[j] * (1 / s)))
			z.Set(i, c, v)
			m += v
		}
		m /= float64(nk)
		for i := range rows {
			z.Set(i, c, z.At(i, c)-m)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(z, mat.SVDThin) {
		t.Fatal("SVD failed")
	}
	sv := svd.Values(nil)
	var u mat.Dense
	svd.UTo(&u)
	k := p.NComps
	var total float64
	for c := range q {
		var ss float64
		for i := range nk {
			ss += z.At(i, c) * z.At(i, c)
		}
		total += ss / float64(nk-1)
	}
	ref.scores = mat.NewDense(nk, k, nil)
	for c := range k {
		v := sv[c] * sv[c] / float64(nk-1)
		ref.varPC = append(ref.varPC, v)
		ref.ratio = append(ref.ratio, v/total)
		for i := range nk {
			ref.scores.Set(i, c, u.At(i, c)*sv[c])
		}
	}
	return ref
}

func TestRunAgainstDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	x := randomCounts(rng, 1237, 311)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps, p.NPCs = 15, 120, 61, 9, 9
	ref := runDense(t, x, p)
	if ref.nKept == x.Rows || ref.nKept < x.Rows/2 {
		t.Fatalf("test data: %d of %d cells kept; want some filtered", ref.nKept, x.Rows)
	}
	for _, budget := range []int64{1 << 40, 1} { // in memory, then on disk
		t.Run(fmt.Sprintf("cache budget %d", budget), func(t *testing.T) {
			src := &memSource{name: "random", x: x}
			res, err := run(context.Background(), cpu.New(2), src, "", p, Options{ChunkRows: 97, CacheBudget: budget, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.CacheDisk != (budget == 1) {
				t.Errorf("cache on disk: %v with budget %d", res.Report.CacheDisk, budget)
			}
			if res.Report.CacheDirect && !res.Report.CacheDisk {
				t.Error("the report says direct I/O without a cache file")
			}
			t.Logf("cache on disk %v, direct I/O %v", res.Report.CacheDisk, res.Report.CacheDirect)
			checkAgainstDense(t, res, ref)
		})
	}
}

func checkAgainstDense(t *testing.T, res *Result, ref *denseReference) {
	t.Helper()
	for i := range ref.keep {
		if res.Obs.NGenesByCounts[i] != ref.nGenes[i] || res.Obs.TotalCounts[i] != ref.total[i] || res.Obs.Keep[i] != ref.keep[i] {
			t.Fatalf("cell %d: genes %d total %v keep %v; want %d %v %v", i, res.Obs.NGenesByCounts[i], res.Obs.TotalCounts[i], res.Obs.Keep[i], ref.nGenes[i], ref.total[i], ref.keep[i])
		}
	}
	if e, at := maxRelErr(t, "mean", res.Genes.Mean, ref.mean); e > 1e-12 {
		t.Errorf("gene means off by %g at %d", e, at)
	}
	if e, at := maxRelErr(t, "variance", res.Genes.Variance, ref.varr); e > 1e-9 {
		t.Errorf("gene variances off by %g at %d", e, at)
	}
	if fmt.Sprint(res.HVGIndex) != fmt.Sprint(ref.genesIn) {
		t.Fatalf("HVG %v, want %v", res.HVGIndex, ref.genesIn)
	}
	if e, at := maxRelErr(t, "std", res.ScaleStd, ref.std); e > 1e-9 {
		t.Errorf("std off by %g at %d", e, at)
	}
	pr := res.PCA
	if e, at := maxRelErr(t, "variance", pr.Variance, ref.varPC); e > 1e-9 {
		t.Errorf("PCA variance off by %g at %d: %v vs %v", e, at, pr.Variance, ref.varPC)
	}
	if e, at := maxRelErr(t, "variance_ratio", pr.VarianceRatio, ref.ratio); e > 1e-9 {
		t.Errorf("variance_ratio off by %g at %d", e, at)
	}
	n, k := ref.nKept, pr.NComps
	for c := range k {
		got, want := make([]float64, n), make([]float64, n)
		for i := range n {
			got[i], want[i] = float64(pr.Scores[i*k+c]), ref.scores.At(i, c)
		}
		if r := math.Abs(pearson(got, want)); r < 0.99999 {
			t.Errorf("component %d: |correlation| %v", c, r)
		}
		// svd_flip(u): the largest |score| is positive.
		best := 0
		for i := range n {
			if math.Abs(got[i]) > math.Abs(got[best]) {
				best = i
			}
		}
		if got[best] < 0 {
			t.Errorf("component %d: largest score %v is negative", c, got[best])
		}
		// Same scale: the scores are the centred data times unit vectors.
		var a, b float64
		for i := range n {
			a += got[i] * got[i]
			b += want[i] * want[i]
		}
		if e := relErr(math.Sqrt(a), math.Sqrt(b)); e > 1e-5 {
			t.Errorf("component %d: score norm %v, want %v", c, math.Sqrt(a), math.Sqrt(b))
		}
	}
}
