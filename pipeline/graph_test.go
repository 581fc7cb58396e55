package pipeline

import (
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/scbench/scbench/graph"
)

// checkGraph holds the graph steps to the bars of the graph-steps issue,
// against scanpy's results on the same dataset: IVF-Flat recall@15 against
// the exact lists >= 0.95; Leiden's modularity at least the reference
// partition's (on scbench's graph) minus 0.01, its ARI against scanpy's
// labels >= 0.9 on synth5k and >= 0.55 on brain10k, and a cluster count
// within 30% of scanpy's; UMAP trustworthiness within 0.02 and 15-NN
// preservation within 0.05 of scanpy's embedding.
func checkGraph(t *testing.T, ds string, res *Result, nPCs int) {
	g := res.Graph
	if g == nil || g.Connectivities == nil || g.UMAP == nil || g.Leiden == nil {
		t.Fatalf("%s: the graph steps did not run", ds)
	}
	n := g.Neighbors.N
	k := g.Neighbors.K

	// kNN recall against the exact lists on scanpy's X_pca.
	exact := readRefCSV(t, refFile(t, ds, "knn_exact.csv.gz"))
	hits := 0
	for i := 0; i < n; i++ {
		want := map[int32]bool{}
		for c := 0; c < k; c++ {
			want[int32(exact.cols["n"+strconv.Itoa(c)][i])] = true
		}
		idx, _ := g.Neighbors.Row(i)
		for _, j := range idx {
			if want[j] {
				hits++
			}
		}
	}
	recall := float64(hits) / float64(n*k)
	t.Logf("%s: %s recall@%d against scanpy's exact lists: %.4f", ds, res.Report.Params.KNN, k, recall)
	if recall < 0.95 {
		t.Errorf("%s: kNN recall %.4f < 0.95", ds, recall)
	}

	// Leiden.
	ref := readRefCSV(t, refFile(t, ds, "leiden.csv.gz")).col(t, "leiden")
	refLabels := make([]int32, len(ref))
	refK := 0
	for i, v := range ref {
		refLabels[i] = int32(v)
		refK = max(refK, int(v)+1)
	}
	ours := graph.Modularity(g.Connectivities, g.Leiden, res.Report.Params.Resolution)
	theirs := graph.Modularity(g.Connectivities, refLabels, res.Report.Params.Resolution)
	ari := graph.AdjustedRandIndex(g.Leiden, refLabels)
	t.Logf("%s: leiden %d clusters (scanpy %d), modularity %.4f (scanpy's partition on our graph %.4f), ARI %.3f",
		ds, g.LeidenInfo.Clusters, refK, ours, theirs, ari)
	if ours < theirs-0.01 {
		t.Errorf("%s: modularity %.4f below the reference partition's %.4f - 0.01", ds, ours, theirs)
	}
	minARI := 0.55
	if ds == "synth5k" {
		minARI = 0.9
	}
	if ari < minARI {
		t.Errorf("%s: ARI %.3f < %.2f", ds, ari, minARI)
	}
	if d := math.Abs(float64(g.LeidenInfo.Clusters-refK)) / float64(refK); d > 0.3 {
		t.Errorf("%s: %d clusters, scanpy %d: more than 30%% apart", ds, g.LeidenInfo.Clusters, refK)
	}

	// UMAP, judged against X_pca[:, :n_pcs] like scanpy's embedding.
	um := readRefCSV(t, refFile(t, ds, "umap.csv.gz"))
	refXY := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		refXY[2*i], refXY[2*i+1] = float32(um.cols["UMAP1"][i]), float32(um.cols["UMAP2"][i])
	}
	pca := res.PCA
	high := make([]float32, n*nPCs)
	for i := 0; i < n; i++ {
		copy(high[i*nPCs:(i+1)*nPCs], pca.Scores[i*pca.NComps:i*pca.NComps+nPCs])
	}
	tw, pres := embeddingQuality(high, nPCs, g.UMAP, n, 15)
	twRef, presRef := embeddingQuality(high, nPCs, refXY, n, 15)
	t.Logf("%s: UMAP trustworthiness %.4f (scanpy %.4f), 15-NN preservation %.4f (scanpy %.4f)", ds, tw, twRef, pres, presRef)
	if tw < twRef-0.02 {
		t.Errorf("%s: trustworthiness %.4f more than 0.02 below scanpy's %.4f", ds, tw, twRef)
	}
	if pres < presRef-0.05 {
		t.Errorf("%s: neighbour preservation %.4f more than 0.05 below scanpy's %.4f", ds, pres, presRef)
	}
}

// sqDists writes the squared distances from point i to every point of x
// (n points of dimension d) into out, in float64.
func sqDists(x []float32, d, i int, out []float64) {
	xi := x[i*d : (i+1)*d]
	for j := range out {
		xj := x[j*d : (j+1)*d]
		s := 0.0
		for c, v := range xi {
			e := float64(v) - float64(xj[c])
			s += e * e
		}
		out[j] = s
	}
}

// nearest returns the k nearest points to i by dist, i excluded, ties by index.
func nearest(dist []float64, i, k int) []int {
	idx := make([]int, 0, len(dist)-1)
	for j := range dist {
		if j != i {
			idx = append(idx, j)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		if dist[idx[a]] != dist[idx[b]] {
			return dist[idx[a]] < dist[idx[b]]
		}
		return idx[a] < idx[b]
	})
	return idx[:k]
}

// embeddingQuality returns sklearn's trustworthiness of the 2-D embedding
// xy with respect to the points high (n x d), and the mean fraction of
// each point's k nearest neighbours in high that stay among its k nearest
// in the embedding. Points are split over goroutines.
func embeddingQuality(high []float32, d int, xy []float32, n, k int) (trust, preserved float64) {
	workers := runtime.GOMAXPROCS(0)
	pen := make([]float64, workers)
	kept := make([]int, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			dh, dl := make([]float64, n), make([]float64, n)
			for i := w; i < n; i += workers {
				sqDists(high, d, i, dh)
				sqDists(xy, 2, i, dl)
				inHigh := map[int]bool{}
				for _, j := range nearest(dh, i, k) {
					inHigh[j] = true
				}
				for _, j := range nearest(dl, i, k) {
					if inHigh[j] {
						kept[w]++
						continue
					}
					// j's rank among i's neighbours in high (1-based).
					rank := 1
					for m, v := range dh {
						if m != i && (v < dh[j] || (v == dh[j] && m < j)) {
							rank++
						}
					}
					pen[w] += float64(rank - k)
				}
			}
		}(w)
	}
	wg.Wait()
	var penalty float64
	var keptAll int
	for w := range pen {
		penalty += pen[w]
		keptAll += kept[w]
	}
	nf, kf := float64(n), float64(k)
	trust = 1 - 2/(nf*kf*(2*nf-3*kf-1))*penalty
	return trust, float64(keptAll) / (nf * kf)
}
