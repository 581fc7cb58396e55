package pipeline

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNormalizeFactorMatchesFloat32(t *testing.T) {
	// scanpy: counts (float32) / target -> float32; 1 / that -> float32.
	for _, c := range []struct{ total, target float64 }{{7140, 1e4}, {13336, 1e4}, {1, 1e4}, {123457, 1e6}, {3, 7}} {
		q := float32(c.total) / float32(c.target)
		want := float64(float32(1) / q)
		if got := normalizeFactor(c.total, c.target); got != want {
			t.Errorf("normalizeFactor(%v, %v) = %v, want %v", c.total, c.target, got, want)
		}
		// The factor is within float32 rounding of target/total.
		if e := relErr(normalizeFactor(c.total, c.target), c.target/c.total); e > 2e-7 {
			t.Errorf("normalizeFactor(%v, %v) off target/total by %g", c.total, c.target, e)
		}
	}
	if got := normalizeFactor(0, 1e4); got != 1e4 {
		t.Errorf("a cell without counts: factor %v, want 1e4 (scanpy divides by 1)", got)
	}
}

func TestGeneStatsTwoPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const n, p = 1013, 37
	x := make([][]float64, p)
	sum, sumSq := make([]float64, p), make([]float64, p)
	for j := range x {
		x[j] = make([]float64, n)
		for i := range x[j] {
			if rng.IntN(3) == 0 {
				x[j][i] = float64(float32(math.Log1p(rng.ExpFloat64() * 3)))
			}
			if j == 5 {
				x[j][i] = 0.75 // a constant gene
			}
			sum[j] += x[j][i]
			sumSq[j] += x[j][i] * x[j][i]
		}
	}
	g := NewGeneStats(sum, sumSq, n)
	for j := range x {
		var m float64
		for _, v := range x[j] {
			m += v
		}
		m /= n
		var ss float64
		for _, v := range x[j] {
			ss += (v - m) * (v - m)
		}
		want := ss / (n - 1)
		if e := relErr(g.Mean[j], m); e > 1e-13 {
			t.Errorf("gene %d: mean %v, want %v", j, g.Mean[j], m)
		}
		if j == 5 {
			if g.Variance[j] > 1e-15 {
				t.Errorf("constant gene: variance %v", g.Variance[j])
			}
			continue
		}
		if e := relErr(g.Variance[j], want); e > 1e-10 {
			t.Errorf("gene %d: variance %v, want %v (rel %g)", j, g.Variance[j], want, e)
		}
	}
	std := ScaleStd(g.Variance)
	if std[5] != 1 {
		t.Errorf("constant gene's std %v, want 1", std[5])
	}
}

func TestVarQCFormulas(t *testing.T) {
	v := VarQC{NCells: 4, NCellsByCounts: []int64{0, 1, 4}, TotalCounts: []float64{0, 3, 10}}
	if got := v.MeanCounts(); got[1] != 0.75 || got[2] != 2.5 {
		t.Errorf("mean_counts %v", got)
	}
	if got := v.PctDropoutByCounts(); got[0] != 100 || got[1] != 75 || got[2] != 0 {
		t.Errorf("pct_dropout_by_counts %v", got)
	}
	if got := v.Log1pTotalCounts(); got[2] != math.Log1p(10) {
		t.Errorf("log1p_total_counts %v", got)
	}
	p := Params{MinGenes: 2, MaxGenes: 5}
	for n, want := range map[int32]bool{1: false, 2: true, 5: true, 6: false} {
		if p.keep(n) != want {
			t.Errorf("keep(%d) = %v", n, !want)
		}
	}
}
