package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/sparse"
)

// deviceLike is the CPU backend dressed as a device with memory of its
// own, so that the pipeline keeps data "on the device" (resident.go).
// Upload copies, as a GPU's does (the CPU backend's shares the caller's
// arrays, which the reader may reuse).
type deviceLike struct {
	*cpu.Backend
	mem int64
}

func (d *deviceLike) Device() backend.Device {
	dev := d.Backend.Device()
	dev.Memory = d.mem
	return dev
}

func (d *deviceLike) Upload(m *sparse.CSR) (backend.CSR, error) {
	c := &sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: slices.Clone(m.Indptr), Indices: slices.Clone(m.Indices), Data: slices.Clone(m.Data)}
	return d.Backend.Upload(c)
}

// concatBackend adds ConcatRows.
type concatBackend struct{ *deviceLike }

func (d concatBackend) ConcatRows(ms []backend.CSR) (backend.CSR, error) {
	out := &sparse.CSR{Cols: ms[0].Cols, Indptr: []int64{0}}
	for _, m := range ms {
		h, err := d.Download(m)
		if err != nil {
			return backend.CSR{}, err
		}
		base := out.Indptr[len(out.Indptr)-1]
		for _, p := range h.Indptr[1:] {
			out.Indptr = append(out.Indptr, base+p)
		}
		out.Indices = append(out.Indices, h.Indices...)
		out.Data = append(out.Data, h.Data...)
		out.Rows += h.Rows
		m.Free()
	}
	return d.Backend.Upload(out)
}

// TestDeviceResident runs the pipeline on a backend with device memory:
// pass 1's chunks and Z stay on the device and PCA goes matrix-free over
// them, with the results of the host run: identical QC, HVG and output
// sizes, and the PCA within the solver's tolerance.
func TestDeviceResident(t *testing.T) {
	s := newPCASetup(t, 47, 1203, 611, 300, 203, 9, 101)
	host := s.host
	for _, concat := range []bool{false, true} {
		t.Run(fmt.Sprintf("concat=%v", concat), func(t *testing.T) {
			dl := &deviceLike{Backend: cpu.New(2), mem: 1 << 30}
			var b backend.Backend = dl
			if concat {
				b = concatBackend{dl}
			}
			res := s.run(t, b)
			rep := res.Report
			if !rep.HeldOnDevice || !rep.ZOnDevice || rep.PCAPath != "matrix-free" {
				t.Fatalf("held on device %v, Z on device %v, path %q; want true, true, matrix-free", rep.HeldOnDevice, rep.ZOnDevice, rep.PCAPath)
			}
			if !slices.Equal(res.Obs.TotalCounts, host.Obs.TotalCounts) || !slices.Equal(res.Obs.Keep, host.Obs.Keep) {
				t.Errorf("QC or filter differ from the host run")
			}
			if !slices.Equal(res.HVGIndex, host.HVGIndex) || rep.NNZOut != host.Report.NNZOut {
				t.Errorf("HVG or output size differ from the host run: nnz %d, want %d", rep.NNZOut, host.Report.NNZOut)
			}
			samePCA(t, res, host, "the host run")
		})
	}
	t.Run("too small", func(t *testing.T) {
		res := s.run(t, &deviceLike{Backend: cpu.New(2), mem: 1 << 10})
		if res.Report.HeldOnDevice || res.Report.ZOnDevice {
			t.Errorf("a 1 KiB device held data: %+v", res.Report)
		}
	})
}

// pcaSetup is random counts, parameters that stop after PCA, and the host
// run's result (the CPU backend, matrix-free), to set a run on a device
// against.
type pcaSetup struct {
	x    *sparse.CSR
	p    Params
	opt  Options
	host *Result
}

// newPCASetup makes rows x cols counts from seed, keeping cells of 15 to
// maxGenes genes and nTop genes, with nComps components and chunks of
// chunkRows rows, and runs them on the host.
func newPCASetup(t *testing.T, seed uint64, rows, cols, maxGenes, nTop, nComps, chunkRows int) *pcaSetup {
	t.Helper()
	s := &pcaSetup{x: randomCounts(rand.New(rand.NewPCG(seed, seed+1)), rows, cols), p: DefaultParams()}
	s.p.MinGenes, s.p.MaxGenes, s.p.NTopGenes, s.p.NComps = 15, maxGenes, nTop, nComps
	s.p.NPCs = min(s.p.NPCs, s.p.NComps)
	s.opt = Options{Until: StepPCA, ChunkRows: chunkRows}
	host, err := run(context.Background(), cpu.New(2), &memSource{name: "random", x: s.x}, "", s.p, withPath(s.opt, "matrix-free"))
	if err != nil {
		t.Fatal(err)
	}
	s.host = host
	return s
}

// run runs the setup on b.
func (s *pcaSetup) run(t *testing.T, b backend.Backend) *Result {
	t.Helper()
	res, err := run(context.Background(), b, &memSource{name: "random", x: s.x}, "", s.p, s.opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func withPath(o Options, path string) Options {
	o.pcaPath = path
	return o
}

// TestOpenCLMatchesCPU runs QC through PCA on the OpenCL backend (PoCL in
// CI) and on the CPU backend: QC, the filter and HVG identical, the PCA
// within float32 rounding and the solver's tolerance.
func TestOpenCLMatchesCPU(t *testing.T) {
	gpu := openCLBackend(t)
	s := newPCASetup(t, 49, 1777, 743, 400, 251, 11, 313)
	res, host := s.run(t, gpu), s.host
	rep := res.Report
	t.Logf("device %s: held on device %v, Z on device %v, path %s, peak device memory %d", rep.Device, rep.HeldOnDevice, rep.ZOnDevice, rep.PCAPath, rep.PeakDeviceBytes)
	if !rep.ZOnDevice || rep.PeakDeviceBytes <= 0 {
		t.Errorf("Z on device %v, peak device memory %d", rep.ZOnDevice, rep.PeakDeviceBytes)
	}
	if !slices.Equal(res.Obs.TotalCounts, host.Obs.TotalCounts) || !slices.Equal(res.Obs.NGenesByCounts, host.Obs.NGenesByCounts) || !slices.Equal(res.Obs.Keep, host.Obs.Keep) {
		t.Errorf("QC or filter differ from the CPU backend")
	}
	if !slices.Equal(res.Var.NCellsByCounts, host.Var.NCellsByCounts) {
		t.Errorf("gene QC differs from the CPU backend")
	}
	if e, at := maxRelErr(t, "gene total_counts", res.Var.TotalCounts, host.Var.TotalCounts); e > 1e-12 {
		t.Errorf("gene total_counts differ by %g at %d", e, at)
	}
	if !slices.Equal(res.HVGIndex, host.HVGIndex) || rep.NNZOut != host.Report.NNZOut {
		t.Errorf("HVG or output size differ from the CPU backend")
	}
	samePCA(t, res, host, "the CPU backend")
}

// samePCA checks res's PCA against host's (what names host in the
// messages): the variances within the solver's tolerance, the first three
// components' scores correlated at 0.9999 or more.
func samePCA(t *testing.T, res, host *Result, what string) {
	t.Helper()
	if e, at := maxRelErr(t, "variance", res.PCA.Variance, host.PCA.Variance); e > 2*pcaTol {
		t.Errorf("variance differs from %s by %g at %d", what, e, at)
	}
	n, k := res.Obs.NKept, res.PCA.NComps
	for c := range 3 {
		a, b := make([]float64, n), make([]float64, n)
		for i := range n {
			a[i], b[i] = float64(res.PCA.Scores[i*k+c]), float64(host.PCA.Scores[i*k+c])
		}
		if r := pearson(a, b); r < 0.9999 || math.IsNaN(r) {
			t.Errorf("component %d: correlation with %s %v", c, what, r)
		}
	}
}
