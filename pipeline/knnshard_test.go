package pipeline

import (
	"context"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/backend/opencl"
)

// TestNeighborsSharded runs the neighbors step on two contexts of the
// OpenCL device (PoCL in CI), the cells in shares of 700, against one
// context: the same neighbours and connectivities, bit for bit, with the
// refinement and without; and both devices took shares.
func TestNeighborsSharded(t *testing.T) {
	b0, b1 := openCLTwice(t)
	n, comps := 3217, 23
	pca := &PCAResult{NComps: comps, Scores: backendtest.Blobs(n, comps, 31)}
	for _, refine := range []int{0, 2} {
		p := DefaultParams()
		p.NPCs, p.KNNRefine, p.NLists, p.NProbes = 20, refine, 64, 3
		step := func(more []backend.Backend) (*GraphResult, StepTime) {
			r := &runner{ctx: context.Background(), b: b0, more: more, p: p, knnShare: 700, res: &Result{PCA: pca}}
			if err := r.neighbors(); err != nil {
				t.Fatalf("%d devices: %v", 1+len(more), err)
			}
			return r.res.Graph, r.res.Report.Steps[0]
		}
		one, _ := step(nil)
		two, st := step([]backend.Backend{b1})
		if !slices.Equal(one.Neighbors.Indices, two.Neighbors.Indices) || !slices.Equal(one.Neighbors.Distances, two.Neighbors.Distances) {
			t.Fatalf("refine %d: the neighbours on two devices differ from one device's", refine)
		}
		if !slices.Equal(one.Connectivities.Data, two.Connectivities.Data) || !slices.Equal(one.Connectivities.Indices, two.Connectivities.Indices) {
			t.Errorf("refine %d: the connectivities differ", refine)
		}
		s0, s1 := st.Parts["kNN device 0 shares"], st.Parts["kNN device 1 shares"]
		t.Logf("refine %d: %s; shares %v + %v of %d", refine, st.Covers, s0, s1, (n+699)/700)
		if s0+s1 != float64((n+699)/700) || s0 == 0 && s1 == 0 {
			t.Errorf("refine %d: shares taken %v and %v, want %d in all", refine, s0, s1, (n+699)/700)
		}
	}
}

// openCLTwice opens two contexts of the test's OpenCL device (PoCL's in
// CI): two devices without a second GPU. The test is skipped without one.
func openCLTwice(t *testing.T) (backend.Backend, backend.Backend) {
	t.Helper()
	b0 := openCLBackend(t)
	b1, err := opencl.New(envInt("SCBENCH_OPENCL_PLATFORM"), envInt("SCBENCH_OPENCL_DEVICE"))
	if err != nil {
		t.Fatalf("opening the OpenCL device a second time: %v", err)
	}
	t.Cleanup(func() { b1.Close() })
	return b0, b1
}
