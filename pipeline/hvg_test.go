package pipeline

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHVGOnReferenceStats feeds scanpy's own means and dispersions to
// HighlyVariableCellRanger and compares the rest of its table.
func TestHVGOnReferenceStats(t *testing.T) {
	for _, ds := range []string{"brain10k", "synth5k"} {
		t.Run(ds, func(t *testing.T) {
			p, _ := refParams(t, ds)
			ref := readRefCSV(t, refFile(t, ds, "hvg.csv.gz"))
			means, disp := ref.col(t, "means"), ref.col(t, "dispersions")
			variance := make([]float64, len(means))
			for j := range means {
				variance[j] = disp[j] * means[j]
			}
			h, err := HighlyVariableCellRanger(means, variance, p.NTopGenes)
			if err != nil {
				t.Fatal(err)
			}
			if ds == "brain10k" && len(h.BinEdges) == 21 {
				t.Errorf("brain10k: expected coinciding bin edges to be dropped, have all 21: %v", h.BinEdges)
			}
			compareHVG(t, h, ref)
		})
	}
}

// compareHVG checks an HVG table against hvg.csv.gz: the same selected
// set, dispersions_norm within 1e-3 where finite and NaN where the
// reference's is.
func compareHVG(t *testing.T, h *HVG, ref *refTable) {
	t.Helper()
	wantHV, wantNorm := ref.col(t, "highly_variable"), ref.col(t, "dispersions_norm")
	if len(h.HighlyVariable) != len(wantHV) {
		t.Fatalf("%d genes, reference %d", len(h.HighlyVariable), len(wantHV))
	}
	diff, nsel := 0, 0
	for j, hv := range h.HighlyVariable {
		if hv {
			nsel++
		}
		if hv != (wantHV[j] == 1) {
			diff++
			if diff <= 5 {
				t.Errorf("gene %d: highly_variable %v, reference %v (dispersions_norm %v, reference %v, cut-off %v)", j, hv, wantHV[j] == 1, h.DispersionsNorm[j], wantNorm[j], h.CutOff)
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d genes differ in highly_variable", diff)
	}
	worst := 0.0
	for j, d := range h.DispersionsNorm {
		w := wantNorm[j]
		if math.IsNaN(w) != math.IsNaN(d) {
			t.Errorf("gene %d: dispersions_norm %v, reference %v", j, d, w)
			continue
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		worst = math.Max(worst, math.Abs(d-w))
	}
	if worst > 1e-3 {
		t.Errorf("dispersions_norm differs by up to %g (limit 1e-3)", worst)
	}
	t.Logf("%d genes selected, %d bins, cut-off %.6g; max |dispersions_norm - reference| %.2g", nsel, len(h.BinEdges)-1, h.CutOff, worst)
}

func TestHVGEdgeCases(t *testing.T) {
	t.Run("zero means", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		mean, variance := randomStats(rng, 61)
		mean[0], mean[1], mean[5] = 0, 0, 0
		variance[0], variance[1], variance[5] = 0, 0, 0
		h, err := HighlyVariableCellRanger(mean, variance, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range []int{0, 1, 5} {
			if h.Means[j] != 1e-12 || h.Dispersions[j] != 0 {
				t.Errorf("zero gene %d: mean %v dispersion %v, want 1e-12 and 0", j, h.Means[j], h.Dispersions[j])
			}
			if h.HighlyVariable[j] {
				t.Errorf("zero gene %d selected", j)
			}
		}
		if n := len(h.Selected()); n < 3 {
			t.Errorf("selected %d genes, want at least 3", n)
		}
	})
	t.Run("single-gene bins are NaN", func(t *testing.T) {
		// 7 genes with distinct means: the 20 percentile bins hold at most
		// one gene each, so every MAD is 0 and every norm 0/0.
		mean := []float64{1, 2, 3, 4, 5, 6, 7}
		variance := []float64{1, 5, 2, 8, 3, 3, 1}
		_, err := HighlyVariableCellRanger(mean, variance, 2)
		if err != ErrNoDispersions {
			t.Fatalf("err = %v, want ErrNoDispersions", err)
		}
	})
	t.Run("NaN variance poisons its bin", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		n := 203
		mean, variance := randomStats(rng, n)
		variance[17] = math.NaN()
		h, err := HighlyVariableCellRanger(mean, variance, 20)
		if err != nil {
			t.Fatal(err)
		}
		b := binOf(h, h.Means[17])
		nanCount := 0
		for j := range mean {
			if binOf(h, h.Means[j]) == b {
				if !math.IsNaN(h.DispersionsNorm[j]) {
					t.Errorf("gene %d shares a bin with a NaN dispersion but has norm %v", j, h.DispersionsNorm[j])
				}
				if h.HighlyVariable[j] {
					t.Errorf("gene %d with NaN norm selected", j)
				}
				nanCount++
			}
		}
		if nanCount < 2 {
			t.Errorf("bin of gene 17 holds %d genes", nanCount)
		}
	})
	t.Run("n_top_genes above the genes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		mean, variance := randomStats(rng, 97)
		h, err := HighlyVariableCellRanger(mean, variance, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Warnings) == 0 {
			t.Error("no warning")
		}
		// Every gene with a norm is selected; those without count as 0,
		// which passes the cut-off (the smallest norm) when it is negative.
		nan := 0
		for j, hv := range h.HighlyVariable {
			d := h.DispersionsNorm[j]
			if math.IsNaN(d) {
				nan++
				if hv != (h.CutOff <= 0) {
					t.Errorf("gene %d with NaN norm: selected %v, cut-off %v", j, hv, h.CutOff)
				}
			} else if !hv {
				t.Errorf("gene %d with norm %v not selected", j, d)
			}
		}
		if h.NTop != len(mean)-nan || nan == 0 {
			t.Errorf("NTop %d, want %d genes with a norm (and some without: %d)", h.NTop, len(mean)-nan, nan)
		}
	})
	t.Run("ties select more", func(t *testing.T) {
		// Two genes of identical mean and variance tie at the cut-off.
		rng := rand.New(rand.NewPCG(7, 8))
		mean, variance := randomStats(rng, 150)
		h0, err := HighlyVariableCellRanger(mean, variance, 10)
		if err != nil {
			t.Fatal(err)
		}
		top := -1
		for j, d := range h0.DispersionsNorm {
			if d == h0.CutOff {
				top = j
			}
		}
		mean = append(mean, mean[top])
		variance = append(variance, variance[top])
		h, err := HighlyVariableCellRanger(mean, variance, 10)
		if err != nil {
			t.Fatal(err)
		}
		if h.DispersionsNorm[top] != h.DispersionsNorm[len(mean)-1] {
			t.Fatalf("twins differ: %v %v", h.DispersionsNorm[top], h.DispersionsNorm[len(mean)-1])
		}
		if h.HighlyVariable[top] != h.HighlyVariable[len(mean)-1] {
			t.Errorf("twin genes not selected alike")
		}
	})
	t.Run("infinite norms", func(t *testing.T) {
		// A bin where most genes share one dispersion has MAD 0: the others
		// get ±Inf, and +Inf is selected (nan_to_num turns it into MaxFloat64).
		n := 200
		mean := make([]float64, n)
		variance := make([]float64, n)
		for j := range mean {
			mean[j] = 1 + float64(j)
			variance[j] = mean[j] * 2 // dispersion 2 everywhere
		}
		variance[150] = mean[150] * 7
		variance[60] = mean[60] * 0.5
		h, err := HighlyVariableCellRanger(mean, variance, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsInf(h.DispersionsNorm[150], 1) || !math.IsInf(h.DispersionsNorm[60], -1) {
			t.Errorf("norms %v %v, want +Inf and -Inf", h.DispersionsNorm[150], h.DispersionsNorm[60])
		}
		if !math.IsInf(h.CutOff, 1) {
			t.Errorf("cut-off %v, want +Inf", h.CutOff)
		}
		// numpy: nan_to_num(inf) = 1.8e308 < inf, so nothing passes.
		if got := h.Selected(); len(got) != 0 {
			t.Errorf("selected %v, want none (as numpy compares nan_to_num(+inf) >= +inf)", got)
		}
		// The only norms that are not NaN are +Inf and -Inf, so asking for
		// two puts the cut-off at -Inf, which every gene passes (NaN counts
		// as 0).
		h, err = HighlyVariableCellRanger(mean, variance, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(h.Selected()); got != n {
			t.Errorf("n_top_genes 2: selected %d genes, want all %d", got, n)
		}
	})
}

func binOf(h *HVG, m float64) int {
	for b := 0; b+1 < len(h.BinEdges); b++ {
		if m > h.BinEdges[b] && m <= h.BinEdges[b+1] {
			return b
		}
	}
	return -1
}

// randomStats makes gene means and variances like log-normalized data:
// means spread over decades, a tenth of them zero, some repeated.
func randomStats(rng *rand.Rand, n int) (mean, variance []float64) {
	mean = make([]float64, n)
	variance = make([]float64, n)
	for j := range mean {
		switch {
		case rng.IntN(10) == 0:
			mean[j], variance[j] = 0, 0
		case j > 0 && rng.IntN(15) == 0:
			mean[j] = mean[j-1]
			variance[j] = mean[j] * (0.5 + rng.Float64())
		default:
			mean[j] = math.Exp(rng.NormFloat64()*1.5 - 2)
			variance[j] = mean[j] * math.Exp(rng.NormFloat64()*0.4)
		}
	}
	return mean, variance
}

func TestPercentileMedianMAD(t *testing.T) {
	a := []float64{1, 2, 3, 4}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {10, 1.3}, {50, 2.5}, {95, 3.85}, {100, 4}} {
		if got := percentileLinear(a, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile(%v, %v) = %v, want %v", a, c.q, got, c.want)
		}
	}
	if got := percentileLinear([]float64{7}, 35); got != 7 {
		t.Errorf("percentile of one value = %v", got)
	}
	if got := median([]float64{5, 1, 3, 2}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
	if got := median([]float64{5, math.NaN(), 3}); !math.IsNaN(got) {
		t.Errorf("median with NaN = %v, want NaN", got)
	}
	if got := nanMedian([]float64{5, math.NaN(), 3}); got != 4 {
		t.Errorf("nanMedian = %v, want 4", got)
	}
	// |x - 3| = 2 1 0 1 97: median 1, divided by Phi^-1(3/4).
	if got, want := madStatsmodels([]float64{1, 2, 3, 4, 100}), 1/0.6744897501960817; math.Abs(got-want) > 1e-15 {
		t.Errorf("mad = %v, want %v", got, want)
	}
	if got := madStatsmodels(nil); !math.IsNaN(got) {
		t.Errorf("mad of nothing = %v, want NaN", got)
	}
}

// hvgPython is scanpy 1.9.6's cell_ranger selection written with numpy and
// pandas (statsmodels' mad inlined), with duplicates="drop".
const hvgPython = `
import sys, numpy as np, pandas as pd
d = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
mean, var, n_top = d[:, 0].copy(), d[:, 1].copy(), int(sys.argv[2])
mean[mean == 0] = 1e-12
disp = var / mean
df = pd.DataFrame({"means": mean, "dispersions": disp})
df["mean_bin"] = pd.cut(df["means"], np.r_[-np.inf, np.percentile(df["means"], np.arange(10, 105, 5)), np.inf], duplicates="drop")
g = df.groupby("mean_bin")["dispersions"]
med = g.median()
def mad(a):
    a = np.asarray(a, dtype=float)
    if not a.size:
        return np.nan
    return np.median(np.abs(a - np.median(a)) / 0.6744897501960817)
with np.errstate(all="ignore"):
    madb = g.apply(mad)
    df["dispersions_norm"] = (df["dispersions"].values - med[df["mean_bin"].values].values) / madb[df["mean_bin"].values].values
dn = df["dispersions_norm"].values
s = dn[~np.isnan(dn)]
s[::-1].sort()
n_top = min(n_top, len(mean), s.size)
cut = s[n_top - 1]
hv = np.nan_to_num(df["dispersions_norm"].values) >= cut
for a, b, c, h in zip(df["means"], df["dispersions"], df["dispersions_norm"], hv):
    print(repr(float(a)), repr(float(b)), repr(float(c)), int(h))
`

// TestHVGAgainstPandas compares HighlyVariableCellRanger with a numpy and
// pandas transcription of scanpy's code on random gene statistics of
// awkward sizes.
func TestHVGAgainstPandas(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found")
	}
	dir := t.TempDir()
	if out, err := exec.Command(py, "-I", "-c", "import numpy, pandas").CombinedOutput(); err != nil {
		t.Skipf("SKIP: numpy/pandas not importable: %v: %s", err, out)
	}
	script := filepath.Join(dir, "hvg.py")
	if err := os.WriteFile(script, []byte(hvgPython), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ n, top int }{{23, 5}, {301, 40}, {1777, 250}, {5003, 1999}, {64, 64}} {
		mean, variance := randomStats(rng, c.n)
		if c.n == 1777 {
			// A third of the genes without counts: coinciding bin edges.
			for j := 0; j < c.n; j += 3 {
				mean[j], variance[j] = 0, 0
			}
		}
		var buf bytes.Buffer
		for j := range mean {
			fmt.Fprintf(&buf, "%s,%s\n", strconv.FormatFloat(mean[j], 'g', -1, 64), strconv.FormatFloat(variance[j], 'g', -1, 64))
		}
		in := filepath.Join(dir, fmt.Sprintf("stats%d.csv", c.n))
		if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, "-I", script, in, strconv.Itoa(c.top))
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v", err)
		}
		h, err := HighlyVariableCellRanger(mean, variance, c.top)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != c.n {
			t.Fatalf("python printed %d lines for %d genes", len(lines), c.n)
		}
		bad := 0
		for j, line := range lines {
			f := strings.Fields(line)
			dn, _ := strconv.ParseFloat(f[2], 64)
			hv := f[3] == "1"
			same := dn == h.DispersionsNorm[j] || (math.IsNaN(dn) && math.IsNaN(h.DispersionsNorm[j])) || math.Abs(dn-h.DispersionsNorm[j]) <= 1e-12*math.Abs(dn)
			if !same || hv != h.HighlyVariable[j] {
				bad++
				if bad <= 3 {
					t.Errorf("n=%d gene %d: norm %v hv %v, pandas %v %v", c.n, j, h.DispersionsNorm[j], h.HighlyVariable[j], dn, hv)
				}
			}
		}
		if bad > 0 {
			t.Errorf("n=%d: %d genes differ from pandas", c.n, bad)
		}
	}
}
