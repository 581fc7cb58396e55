package pipeline

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestCovarianceAlgebra checks the rank-one centring of the Gram matrix and
// the score offset against forming the centred matrix.
func TestCovarianceAlgebra(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n, p, k = 347, 23, 5
	z := mat.NewDense(n, p, nil)
	for i := range n {
		for j := range p {
			if rng.IntN(4) == 0 {
				z.Set(i, j, math.Log1p(rng.ExpFloat64()*2)*3)
			}
		}
	}
	sum, sumSq := make([]float64, p), make([]float64, p)
	for j := range p {
		for i := range n {
			v := z.At(i, j)
			sum[j] += v
			sumSq[j] += v * v
		}
	}
	g := NewGeneStats(sum, sumSq, n)

	// C = alpha mu mu^T + beta Z^T Z, as the Gemm in pca does it.
	var gram mat.Dense
	gram.Mul(z.T(), z)
	alpha, beta := covarianceUpdate(n)
	mu := mat.NewDense(p, 1, g.Mean)
	var outer mat.Dense
	outer.Mul(mu, mu.T())
	var cov mat.Dense
	cov.Scale(beta, &gram)
	outer.Scale(alpha, &outer)
	cov.Add(&cov, &outer)

	zc := mat.NewDense(n, p, nil)
	for i := range n {
		for j := range p {
			zc.Set(i, j, z.At(i, j)-g.Mean[j])
		}
	}
	var want mat.Dense
	want.Mul(zc.T(), zc)
	want.Scale(1/float64(n-1), &want)
	var trace float64
	for i := range p {
		trace += want.At(i, i)
		for j := range p {
			if d := math.Abs(cov.At(i, j) - want.At(i, j)); d > 1e-12 {
				t.Fatalf("cov[%d,%d] = %v, want %v", i, j, cov.At(i, j), want.At(i, j))
			}
		}
	}
	if e := relErr(totalVariance(g.Variance), trace); e > 1e-12 {
		t.Errorf("total variance %v, trace %v", totalVariance(g.Variance), trace)
	}

	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(p, cov.RawMatrix().Data), true) {
		t.Fatal("eigen failed")
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	v := make([]float64, p*k)
	for j := range p {
		for c := range k {
			v[j*k+c] = vecs.At(j, p-1-c) // gonum sorts ascending
		}
	}
	off := scoreOffset(g.Mean, v, p, k)
	var zv, zcv mat.Dense
	zv.Mul(z, mat.NewDense(p, k, v))
	zcv.Mul(zc, mat.NewDense(p, k, v))
	vals := es.Values(nil)
	for c := range k {
		var ss float64
		for i := range n {
			got := zv.At(i, c) - off[c]
			if d := math.Abs(got - zcv.At(i, c)); d > 1e-10 {
				t.Fatalf("score[%d,%d] = %v, want %v", i, c, got, zcv.At(i, c))
			}
			ss += got * got
		}
		// The variance of each score column is its eigenvalue.
		if e := relErr(ss/float64(n-1), vals[p-1-c]); e > 1e-10 {
			t.Errorf("component %d: score variance %v, eigenvalue %v", c, ss/float64(n-1), vals[p-1-c])
		}
	}
}

func TestFlipSigns(t *testing.T) {
	// Two components; component 0's largest |score| is negative (-5), so it
	// flips; component 1's is positive (4) and stays. A tie in magnitude
	// is decided by the first cell, as numpy's argmax does.
	scores := []float32{
		1, 4,
		-5, -4,
		2, 1,
	}
	loadings := []float64{0.6, -0.8, 0.8, 0.6}
	flipSigns(scores, 3, loadings, 2, 2)
	want := []float32{-1, 4, 5, -4, -2, 1}
	for i := range want {
		if scores[i] != want[i] {
			t.Fatalf("scores %v, want %v", scores, want)
		}
	}
	if loadings[0] != -0.6 || loadings[2] != -0.8 || loadings[1] != -0.8 || loadings[3] != 0.6 {
		t.Errorf("loadings %v", loadings)
	}
}

// TestFlipSignsBlocks checks the row-block version against a plain loop
// on enough rows to be cut into blocks, with ties in magnitude placed in
// different blocks (the first cell must still win).
func TestFlipSignsBlocks(t *testing.T) {
	const n, k, p = 200_003, 5, 7
	rng := rand.New(rand.NewPCG(9, 10))
	scores := make([]float32, n*k)
	for i := range scores {
		scores[i] = float32(rng.NormFloat64())
	}
	for c := range k {
		// The largest magnitude twice per component, the first
		// occurrence negative for even components.
		i1, i2 := 1_000+c*17, n-1_000-c*31
		v := float32(100 + c)
		if c%2 == 0 {
			scores[i1*k+c], scores[i2*k+c] = -v, v
		} else {
			scores[i1*k+c], scores[i2*k+c] = v, -v
		}
	}
	loadings := make([]float64, p*k)
	for i := range loadings {
		loadings[i] = rng.NormFloat64()
	}
	wantS, wantL := append([]float32(nil), scores...), append([]float64(nil), loadings...)
	for c := range k {
		arg, best := 0, float32(-1)
		for i := range n {
			if a := abs32(wantS[i*k+c]); a > best {
				arg, best = i, a
			}
		}
		if wantS[arg*k+c] < 0 {
			for i := range n {
				wantS[i*k+c] = -wantS[i*k+c]
			}
			for j := range p {
				wantL[j*k+c] = -wantL[j*k+c]
			}
		}
	}
	flipSigns(scores, n, loadings, p, k)
	for i := range scores {
		if scores[i] != wantS[i] {
			t.Fatalf("scores[%d] = %v, want %v", i, scores[i], wantS[i])
		}
	}
	for i := range loadings {
		if loadings[i] != wantL[i] {
			t.Fatalf("loadings[%d] = %v, want %v", i, loadings[i], wantL[i])
		}
	}
	if nb := len(rowBlocks(n, k)); runtime.GOMAXPROCS(0) > 1 && nb < 2 {
		t.Errorf("%d rows in %d block(s)", n, nb)
	}
}

func TestClampComps(t *testing.T) {
	if k, msg := clampComps(50, 1000, 300); k != 50 || msg != "" {
		t.Errorf("clampComps(50, 1000, 300) = %d, %q", k, msg)
	}
	if k, msg := clampComps(100, 1000, 60); k != 59 || msg == "" {
		t.Errorf("clampComps(100, 1000, 60) = %d, %q", k, msg)
	}
}
