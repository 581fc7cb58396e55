package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/backend"
)

// umapHostOptimizer is a backend.UMAPOptimizer that records its input and
// runs the host optimizer single-threaded.
type umapHostOptimizer struct {
	head, tail []int32
	emb, eps   []float32
	n          int
	p          backend.UMAPSGD
	err        error // returned instead of optimizing, when set
}

func (o *umapHostOptimizer) UMAPOptimize(emb []float32, n int, head, tail []int32, eps []float32, p backend.UMAPSGD) (int64, error) {
	o.emb, o.n, o.head, o.tail, o.eps, o.p = slices.Clone(emb), n, slices.Clone(head), slices.Clone(tail), slices.Clone(eps), p
	if o.err != nil {
		return 0, o.err
	}
	e := &umapEdges{head: head, tail: tail, eps: eps}
	up := UMAPParams{NegativeSampleRate: p.NegativeSampleRate, LearningRate: p.LearningRate,
		RepulsionStrength: p.Gamma, Seed: p.Seed, Threads: 1, Progress: p.Progress}
	return umapOptimize(emb, p.Dim, e, p.NEpochs, n, up, p.A, p.B), nil
}

func TestUMAPOptimizerHook(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	n, k := 419, 9
	_, idx, dst := umapBlobLists(rng, n, 6, 3, k)
	conn, _, err := Connectivities(idx, dst, n, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, dim := range []int{2, 3} {
		p := UMAPParams{NComponents: dim, NEpochs: 37, Seed: 5, Threads: 1, RepulsionStrength: 1.5, LearningRate: 0.9}
		want, wantInfo, err := UMAP(conn, p)
		if err != nil {
			t.Fatal(err)
		}
		// The hook sees the host's edges, schedule, start and parameters:
		// running the host optimizer through it gives the same bits.
		o := &umapHostOptimizer{}
		p.Optimizer = o
		progress := 0
		p.Progress = func(done, total int) { progress = done }
		got, info, err := UMAP(conn, p)
		if err != nil {
			t.Fatal(err)
		}
		info.Times, wantInfo.Times = UMAPTimes{}, UMAPTimes{} // timings differ
		if !slices.Equal(got, want) || info != wantInfo {
			t.Errorf("%d-D: through the hook: info %+v, host %+v; same layout %v", dim, info, wantInfo, slices.Equal(got, want))
		}
		sgd := o.p
		sgd.Progress = nil
		wantSGD := backend.UMAPSGD{Dim: dim, NEpochs: 37, A: wantInfo.A, B: wantInfo.B, Gamma: 1.5, LearningRate: 0.9, NegativeSampleRate: 5, Seed: 5}
		if fmt.Sprintf("%+v", sgd) != fmt.Sprintf("%+v", wantSGD) || o.n != n || int64(len(o.head)) != info.Edges || progress != 37 {
			t.Errorf("%d-D: hook got %+v for %d cells, %d edges, progress %d; want %+v, %d, %d, 37", dim, sgd, o.n, len(o.head), progress, wantSGD, n, info.Edges)
		}
		if !slices.IsSorted(o.head) {
			t.Errorf("%d-D: the edges are not in row order", dim)
		}
		for i, v := range o.emb {
			if !(v >= 0 && v <= 10) {
				t.Fatalf("%d-D: start coordinate %d is %v, outside [0, 10]", dim, i, v)
			}
		}
	}
	// An optimizer's error is UMAP's.
	bad := errors.New("device lost")
	if _, _, err := UMAP(conn, UMAPParams{NEpochs: 5, Optimizer: &umapHostOptimizer{err: bad}}); !errors.Is(err, bad) {
		t.Errorf("failing optimizer: error %v", err)
	}
}
