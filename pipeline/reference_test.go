package pipeline

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// refTable is a CSV of the scanpy reference: named float64 columns (NaN
// where the cell is empty or "nan") and the raw strings of each column.
type refTable struct {
	cols map[string][]float64
	strs map[string][]string
	rows int
}

func readRefCSV(t testing.TB, path string) *refTable {
	t.Helper()
	head, recs := shareddata.ReadCSV(t, path)
	tb := &refTable{cols: map[string][]float64{}, strs: map[string][]string{}, rows: len(recs)}
	for c, name := range head {
		vals := make([]float64, tb.rows)
		strs := make([]string, tb.rows)
		for i, rec := range recs {
			s := rec[c]
			strs[i] = s
			switch strings.ToLower(s) {
			case "", "nan":
				vals[i] = math.NaN()
			default:
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					v = math.NaN()
				}
				vals[i] = v
			}
		}
		tb.cols[name] = vals
		tb.strs[name] = strs
	}
	return tb
}

func (tb *refTable) col(t testing.TB, name string) []float64 {
	t.Helper()
	v, ok := tb.cols[name]
	if !ok {
		t.Fatalf("reference table has no column %q", name)
	}
	return v
}

// refParams reads a reference's params.json.
func refParams(t testing.TB, dataset string) (Params, int) {
	t.Helper()
	path := shareddata.Path(t, "reference/"+dataset+"/params.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		MinGenes  int     `json:"min_genes"`
		MaxGenes  int     `json:"max_genes"`
		TargetSum float64 `json:"target_sum"`
		NTopGenes int     `json:"n_top_genes"`
		NComps    int     `json:"n_comps"`
		NPCs      int     `json:"n_pcs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.TargetSum, p.NTopGenes, p.NComps = raw.MinGenes, raw.MaxGenes, raw.TargetSum, raw.NTopGenes, raw.NComps
	p.NPCs = raw.NPCs
	return p, raw.NPCs
}

// refPCA reads a reference's pca.json.
func refPCA(t testing.TB, dataset string) (variance, ratio []float64) {
	t.Helper()
	path := shareddata.Path(t, "reference/"+dataset+"/pca.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Variance      []float64 `json:"variance"`
		VarianceRatio []float64 `json:"variance_ratio"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw.Variance, raw.VarianceRatio
}

func refFile(t testing.TB, dataset, name string) string {
	return shareddata.Path(t, filepath.ToSlash(filepath.Join("reference", dataset, name)))
}

// relErr is |a-b| / max(|b|, tiny).
func relErr(a, b float64) float64 {
	d := math.Abs(a - b)
	if d == 0 {
		return 0
	}
	return d / math.Max(math.Abs(b), 1e-300)
}

// maxRelErr compares got with want element by element, treating two NaNs
// as equal, and returns the largest relative error and where it is.
func maxRelErr(t testing.TB, what string, got, want []float64) (float64, int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference has %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		g, w := got[i], want[i]
		if math.IsNaN(g) || math.IsNaN(w) {
			if math.IsNaN(g) != math.IsNaN(w) {
				t.Errorf("%s[%d] = %v, reference %v", what, i, g, w)
			}
			continue
		}
		if e := relErr(g, w); e > worst {
			worst, at = e, i
		}
	}
	return worst, at
}

// checkPCAAgree checks that two runs' PCAs agree as two solves to pcaTol
// may: variances within 2 pcaTol relative, the first 20 components'
// scores correlated to 0.9999 or more. It logs both figures.
func checkPCAAgree(t *testing.T, a, b *Result) {
	t.Helper()
	e, at := maxRelErr(t, "variance", a.PCA.Variance, b.PCA.Variance)
	t.Logf("PCA variance: max relative difference %.2g (component %d)", e, at)
	if e > 2*pcaTol {
		t.Errorf("PCA variances differ by %g at component %d (limit %g)", e, at, 2*pcaTol)
	}
	n, k := a.Obs.NKept, a.PCA.NComps
	worst := 1.0
	for c := range min(20, k) {
		x, y := make([]float64, n), make([]float64, n)
		for i := range n {
			x[i], y[i] = float64(a.PCA.Scores[i*k+c]), float64(b.PCA.Scores[i*k+c])
		}
		r := pearson(x, y)
		if math.IsNaN(r) {
			r = 0
		}
		worst = min(worst, r)
	}
	t.Logf("X_pca: min correlation over the first 20 components %.6f", worst)
	if worst < 0.9999 {
		t.Errorf("X_pca scores differ: min correlation %.6f over the first 20 components", worst)
	}
}

// pearson returns the correlation of x and y.
func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}
