package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/sparse"
)

// cpuDevices returns n CPU backends of one thread each: several devices
// without a GPU.
func cpuDevices(n int) []backend.Backend {
	devs := make([]backend.Backend, n)
	for i := range devs {
		devs[i] = cpu.New(1)
	}
	return devs
}

// multiDiff are the largest differences of a several-device run from the
// one-device run.
type multiDiff struct {
	genes, scale, variance, minCorr, minLoadCorr float64
}

// checkMultiDev checks a run on several devices against the one-device
// run: QC, the filter, the gene QC and the highly variable genes
// identical (integer sums exactly), gene means and variances and scale's
// std within 1e-12 relative, the PCA variances within 1e-6 relative and
// each component's scores and loadings correlated at 0.999999 or more
// (with the same sign: the sign rule must decide alike), and each pass's
// chunks all taken.
func checkMultiDev(t *testing.T, got, want *Result, ndev int) multiDiff {
	t.Helper()
	var d multiDiff
	if !slices.Equal(got.Obs.NGenesByCounts, want.Obs.NGenesByCounts) || !slices.Equal(got.Obs.TotalCounts, want.Obs.TotalCounts) {
		t.Errorf("n_genes_by_counts or total_counts differ from one device")
	}
	if !slices.Equal(got.Obs.Keep, want.Obs.Keep) || got.Obs.NKept != want.Obs.NKept {
		t.Errorf("the filter differs from one device: %d kept, want %d", got.Obs.NKept, want.Obs.NKept)
	}
	if !slices.Equal(got.Var.NCellsByCounts, want.Var.NCellsByCounts) || !slices.Equal(got.Var.TotalCounts, want.Var.TotalCounts) {
		t.Errorf("gene QC (n_cells_by_counts, total_counts) differs from one device")
	}
	e1, at1 := maxRelErr(t, "gene means", got.Genes.Mean, want.Genes.Mean)
	e2, at2 := maxRelErr(t, "gene variances", got.Genes.Variance, want.Genes.Variance)
	d.genes = max(e1, e2)
	t.Logf("gene means differ by %.2g (gene %d), variances by %.2g (gene %d)", e1, at1, e2, at2)
	if e1 > 1e-12 || e2 > 1e-12 {
		t.Errorf("gene means/variances differ by %g (gene %d) / %g (gene %d)", e1, at1, e2, at2)
	}
	if !slices.Equal(got.HVGIndex, want.HVGIndex) || !slices.Equal(got.HVG.HighlyVariable, want.HVG.HighlyVariable) {
		t.Fatalf("the highly variable genes differ from one device")
	}
	d.scale, _ = maxRelErr(t, "scale std", got.ScaleStd, want.ScaleStd)
	if d.scale > 1e-12 {
		t.Errorf("scale's std differs by %g", d.scale)
	}
	if got.Report.NNZOut != want.Report.NNZOut || got.Report.CellsOut != want.Report.CellsOut || got.Report.GenesOut != want.Report.GenesOut {
		t.Errorf("output sizes differ: %d x %d, nnz %d; want %d x %d, nnz %d", got.Report.CellsOut, got.Report.GenesOut, got.Report.NNZOut, want.Report.CellsOut, want.Report.GenesOut, want.Report.NNZOut)
	}
	if got.PCA != nil {
		var at int
		d.variance, at = maxRelErr(t, "PCA variance", got.PCA.Variance, want.PCA.Variance)
		if d.variance > 1e-6 {
			t.Errorf("PCA variances differ by %g at component %d", d.variance, at)
		}
		n, p, k := got.Obs.NKept, len(got.HVGIndex), got.PCA.NComps
		if k != want.PCA.NComps {
			t.Fatalf("%d components, want %d", k, want.PCA.NComps)
		}
		d.minCorr, d.minLoadCorr = 1, 1
		for c := range k {
			a, b := make([]float64, n), make([]float64, n)
			for i := range n {
				a[i], b[i] = float64(got.PCA.Scores[i*k+c]), float64(want.PCA.Scores[i*k+c])
			}
			r := pearson(a, b)
			if math.IsNaN(r) || r < d.minCorr {
				d.minCorr = r
			}
			la, lb := make([]float64, p), make([]float64, p)
			for j := range p {
				la[j], lb[j] = got.PCA.Loadings[j*k+c], want.PCA.Loadings[j*k+c]
			}
			if r := pearson(la, lb); math.IsNaN(r) || r < d.minLoadCorr {
				d.minLoadCorr = r
			}
		}
		if !(d.minCorr >= 0.999999) || !(d.minLoadCorr >= 0.999999) {
			t.Errorf("X_pca / PCs: min correlation with one device %.9f / %.9f, want >= 0.999999 (signs included)", d.minCorr, d.minLoadCorr)
		}
	}
	rep := got.Report
	if len(rep.Devices) != ndev {
		t.Fatalf("report has %d devices, want %d", len(rep.Devices), ndev)
	}
	nChunks := chunkCount(rep.CellsIn, rep.ChunkRows)
	for _, pass := range []string{pass1Name, pass2Name} {
		sum := 0
		for _, u := range rep.Devices {
			for _, pu := range u.Passes {
				if pu.Pass == pass {
					sum += pu.Chunks
				}
			}
		}
		if sum != nChunks {
			t.Errorf("%s: the devices took %d chunks, want %d", pass, sum, nChunks)
		}
	}
	return d
}

// logDevices logs each device's share.
func logDevices(t *testing.T, res *Result) {
	t.Helper()
	for _, u := range res.Report.Devices {
		var per []string
		for _, p := range u.Passes {
			per = append(per, fmt.Sprintf("%s: %d chunks %.3f s", strings.SplitN(p.Pass, ":", 2)[0], p.Chunks, p.Seconds))
		}
		t.Logf("  device %d (%s): %d chunks, %.3f s busy [%s], held %d B, Z %d B", u.Index, u.Backend, u.Chunks, u.Seconds, strings.Join(per, "; "), u.Held, u.ZBytes)
	}
}

// TestMultiDevGenerated runs QC through PCA on generated counts in
// chunks of an awkward height (several chunks and a short last one), on
// 2 and 3 CPU devices, with and without holding pass 1's chunks, writing
// the output store, and checks results and store against one device's.
func TestMultiDevGenerated(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(71, 72)), 2345, 913)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 311, 13
	p.NPCs = 10
	src := &memSource{name: "generated", x: x}
	dir := t.TempDir()
	for _, hold := range []int64{0, -1} {
		opt := Options{Until: StepPCA, ChunkRows: 317, HoldBudget: hold}
		oneOut := filepath.Join(dir, fmt.Sprintf("one-%d.zarr", -hold))
		one, err := run(context.Background(), cpu.New(1), src, oneOut, p, withPath(opt, "covariance"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ndev := range []int{2, 3} {
			t.Run(fmt.Sprintf("hold=%v/devices=%d", hold == 0, ndev), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("multi-%d-%d.zarr", -hold, ndev))
				res, err := runDevices(context.Background(), cpuDevices(ndev), src, out, p, opt)
				if err != nil {
					t.Fatal(err)
				}
				d := checkMultiDev(t, res, one, ndev)
				t.Logf("%d devices: genes %.2g, std %.2g, variance %.2g, min corr scores %.9f loadings %.9f; held %d B", ndev, d.genes, d.scale, d.variance, d.minCorr, d.minLoadCorr, res.Report.HeldBytes)
				if (hold == 0) != (res.Report.HeldBytes > 0) {
					t.Errorf("hold budget %d: held %d bytes", hold, res.Report.HeldBytes)
				}
				logDevices(t, res)
				sameStore(t, out, oneOut)
			})
		}
	}
}

// TestMultiDevUneven runs many small chunks on a slow and a fast device,
// holding a part of pass 1's chunks only (pass 2 takes those from their
// devices and re-reads the others), so that chunks finish far out of
// order: results and store as one device's.
func TestMultiDevUneven(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(79, 80)), 2345, 513)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 300, 201, 9
	p.NPCs = 8
	src := &memSource{name: "generated", x: x}
	decoded := csrDeviceBytes(x.Rows, x.NNZ())
	opt := Options{Until: StepPCA, ChunkRows: 37, HoldBudget: decoded / 3}
	dir := t.TempDir()
	one, err := run(context.Background(), cpu.New(1), src, filepath.Join(dir, "one.zarr"), p, withPath(opt, "covariance"))
	if err != nil {
		t.Fatal(err)
	}
	devs := []backend.Backend{slow{Backend: cpu.New(1), delay: 3 * time.Millisecond}, cpu.New(1), cpu.New(1)}
	res, err := runDevices(context.Background(), devs, src, filepath.Join(dir, "three.zarr"), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	d := checkMultiDev(t, res, one, 3)
	t.Logf("3 devices, %d chunks, held %d of %d bytes: variance %.2g, min corr %.9f", chunkCount(x.Rows, 37), res.Report.HeldBytes, decoded, d.variance, d.minCorr)
	logDevices(t, res)
	if res.Report.HeldBytes == 0 || res.Report.HeldBytes > decoded/3 {
		t.Errorf("held %d bytes, want some and at most %d", res.Report.HeldBytes, decoded/3)
	}
	sameStore(t, filepath.Join(dir, "three.zarr"), filepath.Join(dir, "one.zarr"))
}

// sameStore checks that two output stores hold the same files with the
// same bytes, but for the PCA's (obsm, varm, uns: their last bits may
// differ, checked on the results) and uns["scbench"]'s device.
func sameStore(t *testing.T, got, want string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			rel, _ := filepath.Rel(root, path)
			m[filepath.ToSlash(rel)] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	g, w := files(got), files(want)
	if len(g) != len(w) {
		t.Errorf("output store has %d files, one device's %d", len(g), len(w))
	}
	same := 0
	for name, wb := range w {
		gb, ok := g[name]
		if !ok {
			t.Errorf("output store lacks %s", name)
			continue
		}
		top := strings.SplitN(name, "/", 2)[0]
		if top == "obsm" || top == "varm" || top == "uns" || strings.HasPrefix(name, ".zmetadata") || strings.HasPrefix(name, "zarr.json") {
			continue
		}
		if !bytes.Equal(gb, wb) {
			t.Errorf("output store's %s differs from one device's", name)
			continue
		}
		same++
	}
	if !slices.ContainsFunc(slices.Collect(mapKeys(w)), func(s string) bool { return strings.HasPrefix(s, "X/") }) {
		t.Errorf("the one-device store has no X")
	}
	t.Logf("output store: %d files, %d compared byte for byte (X, obs, var)", len(w), same)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestMultiDevShared runs the shared data sets on 2 and 3 CPU devices
// against one device.
func TestMultiDevShared(t *testing.T) {
	for _, tc := range []struct {
		ds    string
		chunk int
	}{{"brain10k", 2011}, {"synth5k", 1237}} {
		t.Run(tc.ds, func(t *testing.T) {
			if tc.ds == "synth5k" && testing.Short() {
				t.Skip("SKIP: -short: synth5k's 5,000 x 5,000 eigenproblem takes seconds")
			}
			p, _ := refParams(t, tc.ds)
			f, err := anndata.Open(shareddata.Path(t, "data/"+tc.ds+"/"+tc.ds+".zarr"))
			if err != nil {
				t.Fatal(err)
			}
			opt := Options{Until: StepPCA, ChunkRows: tc.chunk}
			start := time.Now()
			one, err := Run(context.Background(), cpu.New(1), f, "", p, withPath(opt, "covariance"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("one device: %.2f s", time.Since(start).Seconds())
			for _, ndev := range []int{2, 3} {
				start := time.Now()
				res, err := RunDevices(context.Background(), cpuDevices(ndev), f, "", p, opt)
				if err != nil {
					t.Fatal(err)
				}
				d := checkMultiDev(t, res, one, ndev)
				t.Logf("%d devices: %.2f s; genes %.2g, std %.2g, variance %.2g, min corr scores %.9f loadings %.9f", ndev, time.Since(start).Seconds(), d.genes, d.scale, d.variance, d.minCorr, d.minLoadCorr)
				logDevices(t, res)
			}
		})
	}
}

// TestMultiDevOpenCL runs QC through PCA on two contexts of the OpenCL
// device (PoCL in CI) against one context.
func TestMultiDevOpenCL(t *testing.T) {
	b0, b1 := openCLTwice(t)
	x := randomCounts(rand.New(rand.NewPCG(73, 74)), 1777, 743)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 251, 11
	p.NPCs = 10
	src := &memSource{name: "generated", x: x}
	opt := Options{Until: StepPCA, ChunkRows: 313}
	one, err := run(context.Background(), b0, src, "", p, withPath(opt, "covariance"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runDevices(context.Background(), []backend.Backend{b0, b1}, src, "", p, opt)
	if err != nil {
		t.Fatal(err)
	}
	d := checkMultiDev(t, res, one, 2)
	t.Logf("2 OpenCL contexts (%s): genes %.2g, std %.2g, variance %.2g, min corr scores %.9f loadings %.9f; held on device %v, Z on device %v", res.Report.Device, d.genes, d.scale, d.variance, d.minCorr, d.minLoadCorr, res.Report.HeldOnDevice, res.Report.ZOnDevice)
	logDevices(t, res)
	if !res.Report.HeldOnDevice || !res.Report.ZOnDevice {
		t.Errorf("pass 1's chunks held on the devices %v, Z there %v: want both", res.Report.HeldOnDevice, res.Report.ZOnDevice)
	}
}

// TestMultiDevGraph runs the whole workflow on 2 CPU devices: the graph
// steps on device 0 after the PCA of both, with Leiden's clusters
// matching one device's (ARI >= 0.95).
func TestMultiDevGraph(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(75, 76)), 1501, 611)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 203, 12
	p.NPCs, p.KNN = 10, "exact"
	src := &memSource{name: "generated", x: x}
	opt := Options{ChunkRows: 211}
	dir := t.TempDir()
	one, err := run(context.Background(), cpu.New(1), src, filepath.Join(dir, "one.zarr"), p, withPath(opt, "covariance"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runDevices(context.Background(), cpuDevices(2), src, filepath.Join(dir, "two.zarr"), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkMultiDev(t, res, one, 2)
	if res.Graph == nil || res.Graph.Leiden == nil || len(res.Graph.UMAP) != 2*res.Obs.NKept {
		t.Fatalf("graph steps missing: %+v", res.Graph)
	}
	ari := graph.AdjustedRandIndex(res.Graph.Leiden, one.Graph.Leiden)
	t.Logf("Leiden: %d clusters (one device %d), ARI %.4f", res.Graph.LeidenInfo.Clusters, one.Graph.LeidenInfo.Clusters, ari)
	if ari < 0.95 {
		t.Errorf("Leiden ARI against one device %.4f < 0.95", ari)
	}
	if _, err := os.Stat(filepath.Join(dir, "two.zarr", "obsp")); err != nil {
		t.Errorf("the output store has no obsp: %v", err)
	}
}

// failing is a CPU device whose second ScaleCols fails: in pass 2, once
// the output store has rows.
type failing struct {
	*cpu.Backend
	calls int
}

func (f *failing) ScaleCols(m backend.CSR, s backend.Buffer) error {
	f.calls++
	if f.calls == 2 {
		return errors.New("injected device fault")
	}
	return f.Backend.ScaleCols(m, s)
}

// slow is a CPU device that takes its time over uploads (20 ms unless
// delay says otherwise), so that the other devices surely take chunks.
type slow struct {
	*cpu.Backend
	delay time.Duration
}

func (s slow) Upload(m *sparse.CSR) (backend.CSR, error) {
	if s.delay == 0 {
		s.delay = 20 * time.Millisecond
	}
	time.Sleep(s.delay)
	return s.Backend.Upload(m)
}

// TestMultiDevFailure checks that a device failing mid-run makes the run
// fail with an error naming the device and the chunk, and leaves no
// output store, not even a half-written one.
func TestMultiDevFailure(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(77, 78)), 1203, 411)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 151, 7
	p.NPCs = 5
	dir := t.TempDir()
	out := filepath.Join(dir, "out.zarr")
	bad := &failing{Backend: cpu.New(1)}
	_, err := runDevices(context.Background(), []backend.Backend{slow{Backend: cpu.New(1)}, bad}, &memSource{name: "generated", x: x}, out, p, Options{Until: StepPCA, ChunkRows: 173})
	if err == nil {
		t.Fatal("a failing device: no error")
	}
	t.Logf("error: %v", err)
	msg := err.Error()
	for _, want := range []string{"pass 2", "device 1", "chunk ", "rows ", "scale", "injected device fault"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if bad.calls < 2 {
		t.Errorf("the failing device scaled %d chunks, want 2", bad.calls)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("a failed run left %v in the output's folder", names)
	}
}

// TestMultiDevCanceled cancels a run on several devices after its first
// chunk: the error wraps the context's, and no output store is left.
func TestMultiDevCanceled(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(81, 82)), 1203, 411)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 400, 151, 7
	p.NPCs = 5
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt := Options{Until: StepPCA, ChunkRows: 101, OnProgress: func(pr Progress) {
		if pr.Pass == pass2Name {
			cancel()
		}
	}}
	_, err := runDevices(ctx, cpuDevices(2), &memSource{name: "generated", x: x}, filepath.Join(dir, "out.zarr"), p, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled in pass 2: error %v, want one wrapping context.Canceled", err)
	}
	t.Logf("error: %v", err)
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a canceled run left %d entries in the output's folder", len(left))
	}
}

// TestMultiDevUntil stops runs on 2 devices after each step before PCA,
// with chunks held and re-read, and checks the stores against one
// device's, byte for byte.
func TestMultiDevUntil(t *testing.T) {
	x := randomCounts(rand.New(rand.NewPCG(83, 84)), 1111, 377)
	p := DefaultParams()
	p.MinGenes, p.MaxGenes, p.NTopGenes, p.NComps = 15, 300, 121, 7
	p.NPCs = 5
	src := &memSource{name: "generated", x: x}
	dir := t.TempDir()
	for _, until := range []Step{StepQC, StepFilter, StepNormalize, StepHVG, StepScale} {
		for _, hold := range []int64{0, -1} {
			t.Run(fmt.Sprintf("%s/hold=%v", until, hold == 0), func(t *testing.T) {
				opt := Options{Until: until, ChunkRows: 149, HoldBudget: hold}
				oneOut := filepath.Join(dir, fmt.Sprintf("one-%s-%d.zarr", until, -hold))
				one, err := run(context.Background(), cpu.New(1), src, oneOut, p, opt)
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, fmt.Sprintf("two-%s-%d.zarr", until, -hold))
				res, err := runDevices(context.Background(), cpuDevices(2), src, out, p, opt)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(res.Obs.TotalCounts, one.Obs.TotalCounts) || !slices.Equal(res.Var.TotalCounts, one.Var.TotalCounts) || res.Report.NNZOut != one.Report.NNZOut {
					t.Errorf("QC or output size differ from one device")
				}
				sameStore(t, out, oneOut)
			})
		}
	}
}
