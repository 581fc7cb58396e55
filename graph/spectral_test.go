package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/internal/opencltest"
	"github.com/scbench/scbench/internal/shareddata"
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
	dense, _, _ := spectralDense(conn, dinv, dim)
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

// spectralRecorder is a backend.SpectralEmbedder that records its calls
// and answers with the host's solver, or with err.
type spectralRecorder struct {
	sizes []int
	seeds []uint64
	tols  []float64
	err   error
	short bool // answer with one value too few
}

func (r *spectralRecorder) SpectralEigenmap(g *sparse.CSR, dim int, seed uint64, tol float64) ([]float64, backend.SpectralResult, error) {
	r.sizes = append(r.sizes, g.Rows)
	r.seeds = append(r.seeds, seed)
	r.tols = append(r.tols, tol)
	if r.err != nil {
		return nil, backend.SpectralResult{Matvecs: 7}, r.err
	}
	if _, nc := spectralComponents(g); nc != 1 {
		return nil, backend.SpectralResult{}, fmt.Errorf("%d components", nc)
	}
	vec, res, err := HostSpectral{Threads: 1}.SpectralEigenmap(g, dim, seed, tol)
	if r.short {
		vec = vec[1:]
	}
	return vec, res, err
}

func TestSpectralEmbedderHook(t *testing.T) {
	// Three blobs of about 500 cells (three components, each solved
	// iteratively) and one of 60 (solved densely, never by the device).
	rng := rand.New(rand.NewPCG(4, 4))
	n, k := 1501, 12
	_, idx, dst := umapBlobLists(rng, n, 8, 3, k)
	small := 60
	_, sidx, sdst := umapBlobLists(rng, small, 8, 1, k)
	for p := range sidx {
		idx = append(idx, sidx[p]+int32(n))
	}
	dst = append(dst, sdst...)
	n += small
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	p := UMAPParams{NEpochs: 20, Seed: 9, Threads: 1}
	want, wantInfo, err := UMAP(conn, p)
	if err != nil {
		t.Fatal(err)
	}
	if wantInfo.EigenSolver != "host" || wantInfo.Components != 4 || wantInfo.Init != "spectral" {
		t.Fatalf("host: %+v, want a spectral init on the host over 4 components", wantInfo)
	}

	// The device's vectors are used for the three large components.
	rec := &spectralRecorder{}
	p.Spectral = rec
	got, info, err := UMAP(conn, p)
	if err != nil {
		t.Fatal(err)
	}
	if info.EigenSolver != "device" || info.Init != "spectral" || info.Note != "" || len(rec.sizes) != 3 {
		t.Errorf("device: %+v after %d calls, want spectral init on the device, 3 calls", info, len(rec.sizes))
	}
	for c, sz := range rec.sizes {
		if sz <= spectralDenseLimit || sz >= n-small || rec.tols[c] != spectralTol {
			t.Errorf("call %d: %d cells, tolerance %g", c, sz, rec.tols[c])
		}
	}
	if len(rec.seeds) == 3 && (rec.seeds[0] == rec.seeds[1] || rec.seeds[1] == rec.seeds[2]) {
		t.Errorf("seeds %v: want one per component", rec.seeds)
	}
	if slices.Equal(got, want) {
		t.Error("the device's vectors (another random start) give the host's layout bit for bit")
	}
	again, _, _ := UMAP(conn, p)
	if !slices.Equal(got, again) {
		t.Error("UMAP with the device embedder is not reproducible")
	}

	// A failing device falls back to the host, whose random stream it has
	// not touched: the host's layout, bit for bit.
	for _, bad := range []*spectralRecorder{
		{err: fmt.Errorf("device lost: %w", backend.ErrSpectralNoConvergence)},
		{short: true},
	} {
		p.Spectral = bad
		got, info, err := UMAP(conn, p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || info.EigenSolver != "host" || info.Init != "spectral" || len(bad.sizes) != 3 ||
			!strings.Contains(info.Note, "component 2") {
			t.Errorf("failing device: same layout %v, info %+v", slices.Equal(got, want), info)
		}
		t.Logf("note: %s", info.Note)
	}
}

func TestHostSpectral(t *testing.T) {
	// The host solver behind the interface: against the dense solver on a
	// kNN graph of 733 cells (the Lanczos path) at tolerance 1e-10, and
	// its errors.
	rng := rand.New(rand.NewPCG(3, 3))
	n, k := 733, 10
	_, idx, dst := umapBlobLists(rng, n, 5, 1, k)
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, nc := spectralComponents(conn); nc != 1 {
		t.Fatalf("%d components", nc)
	}
	const dim = 3
	vec, res, err := HostSpectral{}.SpectralEigenmap(conn, dim, 5, 1e-10)
	if err != nil {
		t.Fatal(err)
	}
	dinv, _ := spectralTestDegrees(conn)
	dense, vals, _ := spectralDense(conn, dinv, dim)
	for d := 0; d < dim; d++ {
		var dot float64
		for i := 0; i < n; i++ {
			dot += vec[i*dim+d] * dense[i*dim+d]
		}
		if math.Abs(res.Values[d]-vals[d]) > 1e-12 || math.Abs(math.Abs(dot)-1) > 1e-8 {
			t.Errorf("vector %d: eigenvalue %.15g, dense %.15g; |<v, dense>| = %.12f", d, res.Values[d], vals[d], math.Abs(dot))
		}
	}
	if res.Matvecs == 0 || !(res.Residual <= 1e-10) {
		t.Errorf("result %+v", res)
	}
	t.Logf("%d products, residual %.2g, eigenvalues %v", res.Matvecs, res.Residual, res.Values)
	for _, c := range []struct {
		g   *sparse.CSR
		dim int
		tol float64
	}{{nil, 2, 1e-4}, {conn, 0, 1e-4}, {sparse.NewCSR(4, 4, 0), 2, 1e-4}, {conn, 2, 0}} {
		if _, _, err := (HostSpectral{}).SpectralEigenmap(c.g, c.dim, 1, c.tol); err == nil {
			t.Errorf("dim %d, tolerance %g: no error", c.dim, c.tol)
		}
	}
	if _, _, err := (HostSpectral{}).SpectralEigenmap(conn, 2, 1, 1e-300); !errors.Is(err, backend.ErrSpectralNoConvergence) {
		t.Errorf("tolerance 1e-300: error %v, want ErrSpectralNoConvergence", err)
	}
}

// spectralOpenCL returns a GPU backend on opencltest's OpenCL device
// (PoCL's on a machine without a GPU), closed when the test ends; the
// test is skipped without one, or fails where SCBENCH_REQUIRE_OPENCL=1.
func spectralOpenCL(t *testing.T) *gpu.Backend {
	t.Helper()
	be := opencltest.Open(t, nil)
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return be
}

func TestUMAPScanpyDeviceSpectral(t *testing.T) {
	// The spectral start's eigenproblem on the GPU backend (through
	// OpenCL) on scanpy's graphs: the host's eigenvalues within the
	// tolerance; and UMAP with it on synth5k: TestUMAPScanpy's quality
	// bars.
	be := spectralOpenCL(t)
	for _, ds := range []string{"synth5k", "brain10k"} {
		t.Run(ds, func(t *testing.T) {
			r := umapLoadRef(t, ds)
			n := r.conn.Rows
			idx, dst, k := shareddata.ListsFromDistances(t, r.dist)
			conn, _, err := Connectivities(idx, dst, n, k)
			if err != nil {
				t.Fatal(err)
			}
			// The eigenproblem alone, on the pruned graph's largest
			// component, on the device and on the host.
			sub := mustPrune(t, conn, UMAPDefaultEpochs(n), 1)
			labels, nc := spectralComponents(sub)
			var mem []int32
			local := make([]int32, n)
			for i, l := range labels {
				if l == 0 {
					local[i] = int32(len(mem))
					mem = append(mem, int32(i))
				}
			}
			sub = spectralSubgraph(sub, mem, local)
			start := time.Now()
			_, dres, err := be.SpectralEigenmap(sub, 2, 1, spectralTol)
			if err != nil {
				t.Fatal(err)
			}
			devTime := time.Since(start)
			start = time.Now()
			_, hres, err := HostSpectral{}.SpectralEigenmap(sub, 2, 1, spectralTol)
			if err != nil {
				t.Fatal(err)
			}
			hostTime := time.Since(start)
			t.Logf("%s: component 0 of %d: %d of %d cells; device %d products, %d restarts, residual %.2g, %v; host %d products, residual %.2g, %v; eigenvalues %v, host %v",
				ds, nc, len(mem), n, dres.Matvecs, dres.Restarts, dres.Residual, devTime.Round(time.Millisecond),
				hres.Matvecs, hres.Residual, hostTime.Round(time.Millisecond), dres.Values, hres.Values)
			for d, v := range dres.Values {
				if e := math.Abs(v - hres.Values[d]); e > spectralTol*math.Abs(v) {
					t.Errorf("eigenvalue %d: device %.10f, host %.10f", d, v, hres.Values[d])
				}
			}

			if ds != "synth5k" {
				return // the layout's quality: TestUMAPScanpy's bars on one set
			}
			emb, info, err := UMAP(conn, UMAPParams{Threads: umapTestThreads, Spectral: be})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: init %s on the %s (%d components, %d products, residual %.2g) %s",
				ds, info.Init, info.EigenSolver, info.Components, info.EigenMatvecs, info.EigenResidual, info.Note)
			if info.Init != "spectral" || info.EigenSolver != "device" {
				t.Errorf("init %s on the %q, want spectral on the device", info.Init, info.EigenSolver)
			}
			trust, pres := umapQuality(r.xpca, n, r.npcs, [][]float32{emb, r.refEmb}, 15)
			t.Logf("%s: trustworthiness %.4f (scanpy %.4f), kNN preservation %.4f (scanpy %.4f)", ds, trust[0], trust[1], pres[0], pres[1])
			if trust[0] < trust[1]-0.02 {
				t.Errorf("trustworthiness %.4f more than 0.02 below scanpy's %.4f", trust[0], trust[1])
			}
			if pres[0] < pres[1]-0.05 {
				t.Errorf("kNN preservation %.4f more than 0.05 below scanpy's %.4f", pres[0], pres[1])
			}
		})
	}
}
