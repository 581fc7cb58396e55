package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scbench/scbench/sparse"
)

func TestSpectralLanczos(t *testing.T) {
	// The Lanczos eigenvectors of a kNN graph of blobs against a dense
	// eigendecomposition (gonum), and their residuals.
	rng := rand.New(rand.NewPCG(9, 9))
	n, k := 731, 10
	_, idx, dst := umapBlobLists(rng, n, 6, 3, k)
	// A few long-range edges keep the blobs in one component.
	for i := 0; i < 20; i++ {
		idx[i*k+k-1] = int32(rng.IntN(n))
	}
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, nc := spectralComponents(conn); nc != 1 {
		t.Fatalf("%d components, want 1", nc)
	}
	dim := 2
	dinv, u0 := spectralTestDegrees(conn)
	op := func(dst, src []float64) {
		for i := 0; i < n; i++ {
			cols, vals := conn.Row(i)
			var s float64
			for p, j := range cols {
				s += float64(vals[p]) * dinv[j] * src[j]
			}
			dst[i] = dinv[i] * s
		}
	}
	vals, vecs, mv, res, err := spectralLanczos(n, op, u0, dim, 24, 1e-8, 5000, rand.New(rand.NewPCG(1, 1)), 0)
	if err != nil {
		t.Fatal(err)
	}
	dense, _ := spectralDense(conn, dinv, dim)
	// Dense eigenvalues for comparison.
	mv2 := make([]float64, n)
	for d := 0; d < dim; d++ {
		v := vecs[d]
		op(mv2, v)
		var nrm, dot0, r float64
		for i := range v {
			nrm += v[i] * v[i]
			dot0 += v[i] * u0[i]
			r += (mv2[i] - vals[d]*v[i]) * (mv2[i] - vals[d]*v[i])
		}
		// Same eigenvector as the dense solver up to sign.
		var dot float64
		for i := range v {
			dot += v[i] * dense[i*dim+d]
		}
		t.Logf("eigenvalue %d: %.10f (1 - lambda_L), residual %.2g, |<v, dense>| = %.10f, <v, u0> = %.2g", d, vals[d], math.Sqrt(r), math.Abs(dot), dot0)
		if math.Abs(nrm-1) > 1e-10 || math.Abs(dot0) > 1e-10 || math.Sqrt(r) > 1e-7 {
			t.Errorf("vector %d: norm^2 %v, <v, u0> %v, residual %v", d, nrm, dot0, math.Sqrt(r))
		}
		if math.Abs(math.Abs(dot)-1) > 1e-6 {
			t.Errorf("vector %d: |<lanczos, dense>| = %v, want 1", d, math.Abs(dot))
		}
	}
	var cross float64
	for i := range vecs[0] {
		cross += vecs[0][i] * vecs[1][i]
	}
	if math.Abs(cross) > 1e-10 {
		t.Errorf("<v0, v1> = %v", cross)
	}
	t.Logf("%d products, relative residual %.2g", mv, res)
}

func spectralTestDegrees(g *sparse.CSR) (dinv, u0 []float64) {
	n := g.Rows
	dinv = make([]float64, n)
	u0 = make([]float64, n)
	var tot float64
	for i := 0; i < n; i++ {
		_, vals := g.Row(i)
		var s float64
		for _, v := range vals {
			s += float64(v)
		}
		dinv[i] = 1 / math.Sqrt(s)
		u0[i] = math.Sqrt(s)
		tot += s
	}
	for i := range u0 {
		u0[i] /= math.Sqrt(tot)
	}
	return dinv, u0
}

func TestSpectralLanczosNoConvergence(t *testing.T) {
	// Too few products: the solver must say so (UMAP then starts from a
	// random layout and records why in UMAPInfo.Note).
	rng := rand.New(rand.NewPCG(2, 3))
	n, k := 613, 9
	_, idx, dst := umapBlobLists(rng, n, 5, 2, k)
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	dinv, u0 := spectralTestDegrees(conn)
	op := func(dst, src []float64) {
		for i := 0; i < n; i++ {
			cols, vals := conn.Row(i)
			var s float64
			for p, j := range cols {
				s += float64(vals[p]) * dinv[j] * src[j]
			}
			dst[i] = dinv[i] * s
		}
	}
	_, _, mv, _, err := spectralLanczos(n, op, u0, 2, 12, 1e-12, 12, rand.New(rand.NewPCG(1, 1)), 1)
	if !errors.Is(err, errSpectralNoConvergence) {
		t.Fatalf("after %d products: error %v, want errSpectralNoConvergence", mv, err)
	}
	t.Log(err)
}
