package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend/cpu"
)

// TestPCAPaths runs both PCA paths on data large enough for the Lanczos
// solver (300 genes, 12 components) and compares them with the dense
// reference and with each other: variances to the pipeline's documented
// accuracy (pcaTol relative), and the scores of the leading components.
func TestPCAPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	x := randomCounts(rng, 1500, 700)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 300, 12
	p.NPCs = min(p.NPCs, p.NComps)
	ref := runDense(t, x, p)
	results := map[string]*Result{}
	for _, path := range []string{"covariance", "matrix-free"} {
		src := &memSource{name: "random", x: x}
		res, err := run(context.Background(), cpu.New(2), src, "", p, Options{Until: StepPCA, ChunkRows: 211, pcaPath: path})
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.PCAPath != path {
			t.Fatalf("forced %s, report says %q", path, res.Report.PCAPath)
		}
		results[path] = res
		pr := res.PCA
		if e, at := maxRelErr(t, "variance", pr.Variance, ref.varPC); e > pcaTol {
			t.Errorf("%s: variance off by %g at %d (pcaTol %g)", path, e, at, pcaTol)
		}
		n, k := ref.nKept, pr.NComps
		// The three group components stand well apart from the noise:
		// their scores must match.
		for c := range 3 {
			got, want := make([]float64, n), make([]float64, n)
			for i := range n {
				got[i], want[i] = float64(pr.Scores[i*k+c]), ref.scores.At(i, c)
			}
			if r := math.Abs(pearson(got, want)); r < 0.99999 {
				t.Errorf("%s: component %d: |correlation| with the dense SVD %v", path, c, r)
			}
		}
	}
	a, b := results["covariance"].PCA, results["matrix-free"].PCA
	if e, at := maxRelErr(t, "variance", a.Variance, b.Variance); e > 2*pcaTol {
		t.Errorf("the paths' variances differ by %g at %d", e, at)
	}
	if a.TotalVariance != b.TotalVariance {
		t.Errorf("total variance: covariance path %v, matrix-free %v", a.TotalVariance, b.TotalVariance)
	}
}

// TestPCAPathRule checks the cost rule on the shapes of the shared data:
// synth5k's goes matrix-free, 100,000 cells and brain10k's small gene set
// form the covariance, and a cache on disk never goes matrix-free.
func TestPCAPathRule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, d, k int
		nnz     int64
		budget  int64
		want    bool
	}{
		{"synth5k", 4891, 5000, 100, 1164036, 1 << 34, true},
		{"synth100k", 97337, 5000, 100, 38276188, 1 << 34, false},
		{"brain10k", 9889, 300, 50, 245257, 1 << 34, false},
		{"synth5k, cache on disk", 4891, 5000, 100, 1164036, 1 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{nObs: tc.n, nVar: tc.d, p: Params{NComps: tc.k}, opt: Options{CacheBudget: tc.budget}, res: &Result{}}
			r.res.Obs.NKept = tc.n
			r.res.HVGIndex = make([]int, tc.d)
			r.keptNNZ = make([]int64, tc.d)
			for j := range tc.d {
				r.res.HVGIndex[j] = j
				r.keptNNZ[j] = tc.nnz / int64(tc.d)
			}
			r.keptNNZ[0] += tc.nnz % int64(tc.d)
			if got := r.choosePCAPath(); got != tc.want {
				t.Errorf("matrix-free = %v, want %v (report %q)", got, tc.want, r.res.Report.PCAPath)
			}
		})
	}
}

// TestHeldChunks checks that pass 2 on the chunks held from pass 1 gives
// the same bits as pass 2 re-reading the store, for both PCA paths and
// with an output store (which pass 2 writes).
func TestHeldChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	x := randomCounts(rng, 1111, 523)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 300, 217, 7
	p.NPCs = min(p.NPCs, p.NComps)
	chunks := int64(chunkCount(x.Rows, 97))
	decoded := x.NNZ()*8 + (int64(x.Rows)+chunks)*8
	for _, path := range []string{"covariance", "matrix-free"} {
		var runs [2]*Result
		for h, budget := range []int64{decoded, decoded - 1} { // held; re-read (one byte short)
			src := &memSource{name: "random", x: x}
			out := t.TempDir() + "/out.zarr"
			res, err := run(context.Background(), cpu.New(2), src, out, p, Options{Until: StepPCA, ChunkRows: 97, HoldBudget: budget, pcaPath: path})
			if err != nil {
				t.Fatal(err)
			}
			if held := res.Report.HeldBytes > 0; held != (h == 0) {
				t.Fatalf("%s, budget %d: held %d bytes", path, budget, res.Report.HeldBytes)
			}
			if res.Report.CacheDisk || res.Report.PCAPath != path {
				t.Fatalf("%s, budget %d: cache on disk %v, path %s", path, budget, res.Report.CacheDisk, res.Report.PCAPath)
			}
			runs[h] = res
		}
		a, b := runs[0], runs[1]
		same := func(what string, x, y any) {
			if fmt.Sprint(x) != fmt.Sprint(y) {
				t.Errorf("%s: %s differs between held and re-read chunks", path, what)
			}
		}
		same("HVG", a.HVGIndex, b.HVGIndex)
		same("NNZOut", a.Report.NNZOut, b.Report.NNZOut)
		if !slices.Equal(a.PCA.Scores, b.PCA.Scores) || !slices.Equal(a.PCA.Loadings, b.PCA.Loadings) || !slices.Equal(a.PCA.Variance, b.PCA.Variance) {
			t.Errorf("%s: PCA differs between held and re-read chunks", path)
		}
	}
}

// TestMatrixFreeOnDisk: when the cache of Z ends up on disk anyway, the
// matrix-free eigensolve re-reads it for every product, and says so in
// the report. Its result agrees with the one from memory to the solver's
// tolerance, not bit for bit: from memory the CPU backend applies Zᵀ as
// the product with a transpose, in float32.
func TestMatrixFreeOnDisk(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	x := randomCounts(rng, 901, 433)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 300, 201, 9
	p.NPCs = min(p.NPCs, p.NComps)
	var runs [2]*Result
	for i, o := range []Options{
		{Until: StepPCA, ChunkRows: 131, pcaPath: "matrix-free"},
		{Until: StepPCA, ChunkRows: 131, pcaPath: "matrix-free, on disk", CacheBudget: 1, TempDir: t.TempDir()},
	} {
		res, err := run(context.Background(), cpu.New(2), &memSource{name: "random", x: x}, "", p, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.PCAPath != "matrix-free" || res.Report.CacheDisk != (i == 1) {
			t.Fatalf("run %d: path %q, cache on disk %v", i, res.Report.PCAPath, res.Report.CacheDisk)
		}
		runs[i] = res
	}
	if len(runs[1].Report.Warnings) == 0 {
		t.Error("no warning about the on-disk cache")
	}
	checkPCAAgree(t, runs[0], runs[1])
}
