package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"gonum.org/v1/gonum/blas/blas32"
)

// RunUMAP checks a backend's backend.UMAPOptimizer, and skips when the
// backend lacks it. One backend from newBackend serves every subtest
// (compiling a device's kernels takes seconds); RunUMAP closes it.
//
// The optimizer is stochastic and Hogwild, so it is checked two ways.
// Where the outcome does not depend on the random draws or on the order of
// the updates, against a float64 reference of umap-learn's
// optimize_layout_euclidean (umapReference) at relative 1e-4: edges that
// share no cell, without negative samples (the schedule over many epochs,
// the attractive move of both ends, edges never sampled, heads unsorted
// and sorted, a self-loop); and one edge whose negative samples all land
// on cells at one spot (the repulsive move, clipping, the fixed push of
// coincident cells, the negative schedule). On a real graph (the fuzzy
// kNN graph of 2,000 clustered points, pruned and scheduled as graph.UMAP
// does), by the quality of the result against the reference's from the
// same random start, in 2 and 3 dimensions, and against graph.UMAP's own
// optimizer through UMAPParams.Optimizer: trustworthiness (k = 15) at
// most 0.02 and kNN preservation at most 0.05 below, every coordinate
// finite, and the positive-sample count equal, since the schedule is
// deterministic. Progress must reach the last epoch. Bad shapes are
// refused with backend.ErrShape, leaving the embedding alone.
func RunUMAP(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	runCapability(t, newBackend, []capCase[backend.UMAPOptimizer]{
		{"Attractive", testUMAPAttractive},
		{"Repulsive", testUMAPRepulsive},
		{"Graph", testUMAPGraph},
		{"Degenerate", testUMAPDegenerate},
	})
}

// umapCurveA and umapCurveB are umap-learn's a and b for min_dist 0.5, spread 1 (scanpy's).
const umapCurveA, umapCurveB = 0.583030020479462, 1.3341669929263487

// testUMAPAttractive runs disjoint edges without negative samples: each
// cell moves only through its one edge, so the result is deterministic.
// The edges come in random order, then sorted by head.
func testUMAPAttractive(t *testing.T, opt backend.UMAPOptimizer, rng *rand.Rand) {
	for _, dim := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("dim%d", dim), func(t *testing.T) {
			const n, loop = 1031, 517 // loop: the cell with a self-loop
			perm := rng.Perm(n - 1)
			var head, tail []int32
			var eps []float32
			for q := 0; q+1 < len(perm); q += 2 {
				h, tl := int32(perm[q]), int32(perm[q+1])
				if h >= loop {
					h++
				}
				if tl >= loop {
					tl++
				}
				head, tail = append(head, h), append(tail, tl)
				switch q % 10 {
				case 0:
					eps = append(eps, 1) // every epoch
				case 2:
					eps = append(eps, -1) // never
				default:
					eps = append(eps, float32(1+rng.Float64()*6))
				}
			}
			// A self-loop never moves its cell.
			head, tail, eps = append(head, loop), append(tail, loop), append(eps, 1)
			emb := make([]float32, n*dim)
			for i := range emb {
				emb[i] = float32(rng.Float64() * 10)
			}
			// Half the edges start within a few hundredths of their
			// partner, on the short-range side of the curve.
			for q := range head {
				if q%2 == 1 {
					for d := range dim {
						emb[int(tail[q])*dim+d] = emb[int(head[q])*dim+d] + float32(rng.NormFloat64()*0.03)
					}
				}
			}
			p := backend.UMAPSGD{Dim: dim, NEpochs: 23, A: umapCurveA, B: umapCurveB, Gamma: 1, LearningRate: 0.8, Seed: 3}
			want := umapToF64(emb)
			wantSamples := umapReference(want, n, head, tail, eps, p, nil)
			for _, order := range []string{"random", "sorted"} {
				if order == "sorted" {
					ord := make([]int, len(head))
					for q := range ord {
						ord[q] = q
					}
					slices.SortFunc(ord, func(a, b int) int { return int(head[a]) - int(head[b]) })
					h2, t2, e2 := make([]int32, len(ord)), make([]int32, len(ord)), make([]float32, len(ord))
					for q, o := range ord {
						h2[q], t2[q], e2[q] = head[o], tail[o], eps[o]
					}
					head, tail, eps = h2, t2, e2
				}
				got := slices.Clone(emb)
				samples, err := opt.UMAPOptimize(got, n, head, tail, eps, p)
				if err != nil {
					t.Fatalf("%s order: UMAPOptimize: %v", order, err)
				}
				if samples != wantSamples {
					t.Errorf("%s order: %d positive samples, want %d", order, samples, wantSamples)
				}
				umapCompare(t, got, want, dim)
				for d := range dim {
					if c := loop*dim + d; got[c] != emb[c] {
						t.Errorf("%s order: the self-loop moved its cell from %v to %v", order, emb[c], got[c])
					}
				}
			}
		})
	}
}

// testUMAPRepulsive runs one edge h -> t sampled in the last two of 4
// epochs (with 3 and 2 negative samples at rate 3); every other cell sits
// at one spot, so all negative samples push h the same way, whichever
// cells the device draws. Only a draw of t or h itself (2 in 50,000 cells,
// a fixed draw for a device's fixed generator) would change the outcome.
func testUMAPRepulsive(t *testing.T, opt backend.UMAPOptimizer, rng *rand.Rand) {
	const n = 50_000
	for c, tc := range []struct {
		dim        int
		apart      float64 // distance of h from the spot
		gamma, nsr float64
	}{
		{2, 0.9, 1, 3},
		{2, 0.04, 1, 5},  // clipped repulsion
		{2, 0, 1, 3},     // coincident: the fixed push, then repulsion
		{3, 0.3, 2.5, 7}, // the general path
		{1, 0.2, 0.5, 3},
	} {
		t.Run(fmt.Sprintf("dim%d-case%d", tc.dim, c), func(t *testing.T) {
			dim := tc.dim
			spot := make([]float32, dim)
			for d := range spot {
				spot[d] = float32(2 + rng.Float64()*6)
			}
			emb := make([]float32, n*dim)
			for i := range n {
				copy(emb[i*dim:], spot)
			}
			h, tl := int32(rng.IntN(n)), int32(rng.IntN(n))
			for tl == h {
				tl = int32(rng.IntN(n))
			}
			for d := range dim {
				emb[int(h)*dim+d] += float32(tc.apart * rng.NormFloat64())
			}
			head, tail, eps := []int32{h}, []int32{tl}, []float32{1.37}
			p := backend.UMAPSGD{Dim: dim, NEpochs: 4, A: umapCurveA, B: umapCurveB, Gamma: tc.gamma,
				LearningRate: 1, NegativeSampleRate: int(tc.nsr), Seed: uint64(c) + 11}
			want := umapToF64(emb)
			other := int32((h + 1 + int32(n/2)) % n)
			if other == tl {
				other = (other + 1) % n
			}
			umapReference(want, n, head, tail, eps, p, func() int32 { return other })
			got := slices.Clone(emb)
			if _, err := opt.UMAPOptimize(got, n, head, tail, eps, p); err != nil {
				t.Fatalf("UMAPOptimize: %v", err)
			}
			umapCompare(t, got, want, dim)
		})
	}
}

// testUMAPGraph lays out the kNN graph of clustered points: from a random
// start, against the reference; and through graph.UMAP, with its
// spectral start, against graph.UMAP's own optimizer.
func testUMAPGraph(t *testing.T, opt backend.UMAPOptimizer, rng *rand.Rand) {
	const n, xdim, k, epochs = 2003, 12, 15, 200
	x := make([]float32, n*xdim)
	centres := make([]float64, 9*xdim)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 3
	}
	for i := range n {
		c := rng.IntN(9)
		for d := range xdim {
			x[i*xdim+d] = float32(centres[c*xdim+d] + rng.NormFloat64())
		}
	}
	nb, err := knn.Exact(blas32.General{Rows: n, Cols: xdim, Stride: xdim, Data: x}, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := graph.Connectivities(nb.Indices, nb.Distances, n, k)
	if err != nil {
		t.Fatal(err)
	}
	// graph.UMAP's pruning: edges below max(w) / epochs are dropped.
	var wmax float32
	for _, w := range conn.Data {
		wmax = max(wmax, w)
	}
	var head, tail []int32
	var weights []float32
	for i := range n {
		cols, vals := conn.Row(i)
		for q, w := range vals {
			if float64(w) >= float64(wmax)/epochs && w > 0 {
				head, tail, weights = append(head, int32(i)), append(tail, cols[q]), append(weights, w)
			}
		}
	}
	eps := make([]float32, len(weights))
	for q, v := range graph.MakeEpochsPerSample(weights, epochs) {
		eps[q] = float32(v)
	}
	// check compares the device's layout with the host's.
	check := func(t *testing.T, got, want, start []float32, dim int, samples, wantSamples int64, what string) {
		t.Helper()
		for i, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("coordinate %d is %v", i, v)
			}
		}
		if samples != wantSamples {
			t.Errorf("%d positive samples, want %d (%s)", samples, wantSamples, what)
		}
		trust, pres := umapQuality(x, xdim, [][]float32{got, want, start}, dim, n, 15)
		t.Logf("%d edges, %d samples (%.3f per edge-epoch); trustworthiness %.4f (%s %.4f, start %.4f), kNN preservation %.4f (%s %.4f, start %.4f)",
			len(head), samples, float64(samples)/float64(len(head)*epochs), trust[0], what, trust[1], trust[2], pres[0], what, pres[1], pres[2])
		if trust[1] < 0.9 || trust[1] < trust[2]+0.02 {
			t.Fatalf("%s trustworthiness %.4f from %.4f at the start: the test graph is too easy or too hard", what, trust[1], trust[2])
		}
		if trust[0] < trust[1]-0.02 {
			t.Errorf("trustworthiness %.4f more than 0.02 below the %s's %.4f", trust[0], what, trust[1])
		}
		if pres[0] < pres[1]-0.05 {
			t.Errorf("kNN preservation %.4f more than 0.05 below the %s's %.4f", pres[0], what, pres[1])
		}
	}
	for _, dim := range []int{2, 3} {
		t.Run(fmt.Sprintf("dim%d", dim), func(t *testing.T) {
			start := make([]float32, n*dim)
			for i := range start {
				start[i] = float32(rng.Float64() * 10)
			}
			p := backend.UMAPSGD{Dim: dim, NEpochs: epochs, A: umapCurveA, B: umapCurveB, Gamma: 1,
				LearningRate: 1, NegativeSampleRate: 5, Seed: 7}
			ref := umapToF64(start)
			draw := rand.New(rand.NewPCG(5, 6))
			t0 := time.Now()
			wantSamples := umapReference(ref, n, head, tail, eps, p, func() int32 { return int32(draw.IntN(n)) })
			refEmb := make([]float32, len(ref))
			for i, v := range ref {
				refEmb[i] = float32(v)
			}
			got := slices.Clone(start)
			var calls, last int
			p.Progress = func(done, total int) {
				if done < last || total != epochs {
					t.Errorf("progress %d of %d after %d", done, total, last)
				}
				calls, last = calls+1, done
			}
			t1 := time.Now()
			samples, err := opt.UMAPOptimize(got, n, head, tail, eps, p)
			if err != nil {
				t.Fatalf("UMAPOptimize: %v", err)
			}
			t.Logf("reference %v, device %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
			if calls == 0 || last != epochs {
				t.Errorf("%d progress calls, the last at %d of %d epochs", calls, last, epochs)
			}
			check(t, got, refEmb, start, dim, samples, wantSamples, "reference")
		})
	}
	t.Run("graph.UMAP", func(t *testing.T) {
		up := graph.UMAPParams{NEpochs: epochs, Seed: 12}
		want, wantInfo, err := graph.UMAP(conn, up)
		if err != nil {
			t.Fatalf("graph.UMAP: %v", err)
		}
		up.Optimizer = opt
		got, info, err := graph.UMAP(conn, up)
		if err != nil {
			t.Fatalf("graph.UMAP with the device optimizer: %v", err)
		}
		if info.Init != "spectral" || info.Edges != int64(len(head)) {
			t.Errorf("init %s with %d edges, want spectral with %d", info.Init, info.Edges, len(head))
		}
		// graph.UMAP keeps its start to itself: a random layout is the
		// baseline of check's sanity test.
		start := make([]float32, 2*n)
		for i := range start {
			start[i] = float32(rng.Float64() * 10)
		}
		check(t, got, want, start, 2, info.Samples, wantInfo.Samples, "host optimizer")
	})
}

// testUMAPDegenerate checks the refusals and the empty cases.
func testUMAPDegenerate(t *testing.T, opt backend.UMAPOptimizer, rng *rand.Rand) {
	p := backend.UMAPSGD{Dim: 2, NEpochs: 5, A: umapCurveA, B: umapCurveB, Gamma: 1, LearningRate: 1, NegativeSampleRate: 5}
	emb := make([]float32, 14)
	for i := range emb {
		emb[i] = float32(rng.Float64())
	}
	head, tail, eps := []int32{0, 3, 6}, []int32{1, 4, 5}, []float32{1, 2, 1.5}
	for _, c := range []struct {
		name             string
		emb              []float32
		n                int
		head, tail       []int32
		eps              []float32
		dim              int
		wantShape        bool
		epochs, negative int
	}{
		{"short embedding", emb[:13], 7, head, tail, eps, 2, true, 5, 5},
		{"no dimensions", emb, 7, head, tail, eps, 0, true, 5, 5},
		{"short tails", emb, 7, head, tail[:2], eps, 2, true, 5, 5},
		{"short schedule", emb, 7, head, tail, eps[:2], 2, true, 5, 5},
		{"head out of range", emb, 7, []int32{0, 7, 6}, tail, eps, 2, true, 5, 5},
		{"negative tail", emb, 7, head, []int32{1, -1, 5}, eps, 2, true, 5, 5},
		{"negative epochs", emb, 7, head, tail, eps, 2, false, -1, 5},
		{"negative sample rate", emb, 7, head, tail, eps, 2, false, 5, -2},
	} {
		q := p
		q.Dim, q.NEpochs, q.NegativeSampleRate = c.dim, c.epochs, c.negative
		got := slices.Clone(c.emb)
		_, err := opt.UMAPOptimize(got, c.n, c.head, c.tail, c.eps, q)
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.wantShape && !errors.Is(err, backend.ErrShape):
			t.Errorf("%s: error %v does not wrap backend.ErrShape", c.name, err)
		}
		if !slices.Equal(got, c.emb) {
			t.Errorf("%s: the embedding changed", c.name)
		}
	}
	// Nothing to do: no epochs, no edges, no cells.
	for _, c := range []struct {
		name       string
		n, epochs  int
		head, tail []int32
		eps        []float32
	}{
		{"no epochs", 7, 0, head, tail, eps},
		{"no edges", 7, 5, nil, nil, nil},
		{"no cells", 0, 5, nil, nil, nil},
	} {
		q := p
		q.NEpochs = c.epochs
		got := slices.Clone(emb[:c.n*2])
		samples, err := opt.UMAPOptimize(got, c.n, c.head, c.tail, c.eps, q)
		if err != nil || samples != 0 || !slices.Equal(got, emb[:c.n*2]) {
			t.Errorf("%s: %d samples, error %v, embedding changed: %v", c.name, samples, err, !slices.Equal(got, emb[:c.n*2]))
		}
	}
}

func umapToF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// umapCompare checks got against the float64 reference at relative 1e-4
// (of the coordinate, or of 1 for small ones).
func umapCompare(t *testing.T, got []float32, want []float64, dim int) {
	t.Helper()
	bad := 0
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-4*max(1, math.Abs(w))) {
			if bad++; bad <= 5 {
				t.Errorf("cell %d coordinate %d: %v, want %v", i/dim, i%dim, got[i], w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d coordinates differ", bad)
	}
}

// umapReference is umap-learn's optimize_layout_euclidean with
// move_other, single-threaded, in float64 but for the schedules, which are
// float32 as the devices keep them (so that the same edges are due in the
// same epochs). draw returns a negative sample's cell; nil skips negative
// samples. It returns the number of positive samples.
func umapReference(emb []float64, n int, head, tail []int32, eps []float32, p backend.UMAPSGD, draw func() int32) int64 {
	dim, m := p.Dim, len(head)
	a, b, gamma := p.A, p.B, p.Gamma
	nsr := float32(p.NegativeSampleRate)
	next := slices.Clone(eps)
	nextNeg := make([]float32, m)
	for q, e := range eps {
		nextNeg[q] = e / nsr
	}
	clip := func(v float64) float64 { return max(-4, min(4, v)) }
	var samples int64
	for epoch := range p.NEpochs {
		ep := float32(epoch)
		alpha := p.LearningRate * (1 - float64(epoch)/float64(p.NEpochs))
		for q := range m {
			if !(eps[q] > 0) || next[q] > ep {
				continue
			}
			samples++
			j, k := int(head[q]), int(tail[q])
			cur, oth := emb[j*dim:(j+1)*dim], emb[k*dim:(k+1)*dim]
			var d2 float64
			for d := range cur {
				d2 += (cur[d] - oth[d]) * (cur[d] - oth[d])
			}
			if d2 > 0 {
				l := math.Log(d2) // math.Pow is most of the reference's time
				gc := -2 * a * b * math.Exp((b-1)*l) / (a*math.Exp(b*l) + 1)
				for d := range cur {
					g := clip(gc*(cur[d]-oth[d])) * alpha
					cur[d] += g
					oth[d] -= g
				}
			}
			next[q] += eps[q]
			if draw == nil || nsr == 0 {
				continue
			}
			epsNeg := eps[q] / nsr
			neg := int((ep - nextNeg[q]) / epsNeg)
			for range neg {
				c := int(draw())
				if c == j {
					continue
				}
				oth := emb[c*dim : (c+1)*dim]
				var d2 float64
				for d := range cur {
					d2 += (cur[d] - oth[d]) * (cur[d] - oth[d])
				}
				if d2 == 0 {
					for d := range cur {
						cur[d] += 4 * alpha
					}
					continue
				}
				gc := 2 * gamma * b / ((0.001 + d2) * (a*math.Exp(b*math.Log(d2)) + 1))
				for d := range cur {
					cur[d] += clip(gc*(cur[d]-oth[d])) * alpha
				}
			}
			nextNeg[q] += float32(neg) * epsNeg
		}
	}
	return samples
}

// umapQuality returns, for each embedding (n x edim), sklearn's
// trustworthiness with k neighbours against x (n x xdim),
//
//	T = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in N_emb(i)} max(0, r(i, j) - k)
//
// with r(i, j) the rank of j among i's neighbours in x (nearest = 1), and
// the mean fraction of each cell's k nearest in x that are among its k
// nearest in the embedding. Plainly: each cell's distances in x sorted,
// its k nearest in each embedding by insertion.
func umapQuality(x []float32, xdim int, embs [][]float32, edim, n, k int) (trust, pres []float64) {
	type nd struct {
		d float64
		j int
	}
	less := func(a, b nd) bool { return a.d < b.d || a.d == b.d && a.j < b.j }
	trust, pres = make([]float64, len(embs)), make([]float64, len(embs))
	rank := make([]int, n)
	row := make([]nd, 0, n)
	top := make([]nd, 0, k+1)
	for i := range n {
		row = row[:0]
		for j := range n {
			if j != i {
				var s float64
				for d := range xdim {
					t := float64(x[i*xdim+d] - x[j*xdim+d])
					s += t * t
				}
				row = append(row, nd{s, j})
			}
		}
		slices.SortFunc(row, func(a, b nd) int {
			if less(a, b) {
				return -1
			}
			return 1
		})
		for r, e := range row {
			rank[e.j] = r + 1
		}
		for e, emb := range embs {
			top = top[:0]
			for j := range n {
				if j == i {
					continue
				}
				var s float64
				for d := range edim {
					t := float64(emb[i*edim+d] - emb[j*edim+d])
					s += t * t
				}
				c := nd{s, j}
				if len(top) == k && !less(c, top[k-1]) {
					continue
				}
				if len(top) < k {
					top = append(top, c)
				}
				p := len(top) - 1
				for p > 0 && less(c, top[p-1]) {
					top[p] = top[p-1]
					p--
				}
				top[p] = c
			}
			for _, nb := range top {
				if r := rank[nb.j]; r > k {
					trust[e] += float64(r - k)
				} else {
					pres[e]++
				}
			}
		}
	}
	nf, kf := float64(n), float64(k)
	for e := range embs {
		trust[e] = 1 - trust[e]*2/(nf*kf*(2*nf-3*kf-1))
		pres[e] /= nf * kf
	}
	return trust, pres
}
