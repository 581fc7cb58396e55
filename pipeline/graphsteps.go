package pipeline

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/graph"
	"github.com/scbench/scbench/knn"
	"github.com/scbench/scbench/plot"
	"github.com/scbench/scbench/sparse"
)

// GraphResult holds the graph steps' results: scanpy's neighbors, umap and
// leiden on X_pca[:, :n_pcs].
type GraphResult struct {
	Neighbors knn.Neighbors
	// Connectivities and Distances are obsp["connectivities"] and
	// obsp["distances"] (kept cells x kept cells).
	Connectivities, Distances *sparse.CSR
	UMAP                      []float32 // obsm["X_umap"], kept cells x 2
	UMAPInfo                  graph.UMAPInfo
	Leiden                    []int32 // obs["leiden"] codes, 0 the largest cluster
	LeidenInfo                graph.LeidenInfo
	LeidenOn                  string // where Leiden ran: "host" or the backend's name
}

// neighbors runs scanpy's neighbors(n_neighbors, n_pcs): the kNN search
// (exact or IVF-Flat) on the first n_pcs scores, then umap-learn's fuzzy
// simplicial set.
func (r *runner) neighbors() error {
	pca := r.res.PCA
	n := len(pca.Scores) / pca.NComps
	p := r.p
	if p.NPCs > pca.NComps {
		return fmt.Errorf("pipeline: neighbors: n_pcs %d exceeds the %d principal components computed (raise --n-comps or lower --n-pcs)", p.NPCs, pca.NComps)
	}
	k := min(p.NNeighbors, n)
	if k < 1 {
		return fmt.Errorf("pipeline: neighbors: no cells left after the filter")
	}
	x := knn.Columns(blas32.General{Rows: n, Cols: pca.NComps, Stride: pca.NComps, Data: pca.Scores}, p.NPCs)
	g := &GraphResult{}
	r.res.Graph = g
	sw := startWatch()
	var err error
	where := "host"
	var knnParts map[string]float64
	if sh := r.shardedSearchers(); sh != nil && p.KNN == "ivfflat" {
		where = fmt.Sprintf("%d %s devices", len(sh), r.b.Device().Backend)
		g.Neighbors, knnParts, err = r.shardedKNN(sh, pca, n, k)
	} else if ns, ok := r.b.(backend.NeighborSearcher); ok && (p.KNN == "exact" || p.KNN == "ivfflat") {
		where = r.b.Device().Backend
		g.Neighbors = knn.Neighbors{N: n, K: k}
		g.Neighbors.Indices, g.Neighbors.Distances, err = ns.KNN(packPCs(pca, n, p.NPCs), n, p.NPCs, k,
			backend.KNNParams{Method: p.KNN, NLists: p.NLists, NProbes: p.NProbes, Seed: p.RandomState, Refine: p.KNNRefine})
	} else {
		g.Neighbors, err = r.hostKNN(x, k)
	}
	if err != nil {
		return fmt.Errorf("pipeline: neighbors: %w", err)
	}
	knnSeconds := time.Since(sw.wall).Seconds()
	nb := g.Neighbors
	fillMissing(nb)
	fuzzyWhere := "host"
	if fb, ok := r.b.(backend.FuzzyGraphBuilder); ok {
		fuzzyWhere = r.b.Device().Backend
		g.Connectivities, g.Distances, err = fb.Connectivities(nb.Indices, nb.Distances, nb.N, nb.K)
	} else {
		g.Connectivities, g.Distances, err = graph.Connectivities(nb.Indices, nb.Distances, nb.N, nb.K)
	}
	if err != nil {
		return fmt.Errorf("pipeline: neighbors: %w", err)
	}
	method := p.KNN
	if p.KNN == "ivfflat" && p.KNNRefine > 0 {
		method = fmt.Sprintf("ivfflat+%d refinement round(s)", p.KNNRefine)
	}
	st := sw.step("neighbors",
		fmt.Sprintf("neighbors(n_neighbors=%d, n_pcs=%d): %s kNN on the %s (%.3f s), fuzzy simplicial set on the %s", k, p.NPCs, method, where, knnSeconds, fuzzyWhere))
	st.Parts = map[string]float64{"kNN": knnSeconds, "fuzzy simplicial set": st.Seconds - knnSeconds}
	maps.Copy(st.Parts, knnParts)
	r.res.Report.Steps = append(r.res.Report.Steps, st)
	return nil
}

// packPCs returns the first nPCs scores of the n cells, n x nPCs
// row-major, as the device searches take them.
func packPCs(pca *PCAResult, n, nPCs int) []float32 {
	packed := make([]float32, n*nPCs)
	for i := range n {
		copy(packed[i*nPCs:(i+1)*nPCs], pca.Scores[i*pca.NComps:i*pca.NComps+nPCs])
	}
	return packed
}

// hostKNN runs the kNN search of x with package knn.
func (r *runner) hostKNN(x blas32.General, k int) (nb knn.Neighbors, err error) {
	p := r.p
	switch p.KNN {
	case "exact":
		nb, err = knn.Exact(x, k, 0)
	case "ivfflat":
		var ix *knn.IVFFlat
		ix, err = knn.BuildIVFFlat(x, knn.IVFFlatParams{NLists: p.NLists, NProbes: p.NProbes, Seed: p.RandomState})
		if err == nil {
			nb, err = ix.SearchSelf(k, p.NProbes, 0)
		}
		if err == nil && p.KNNRefine > 0 {
			nb, err = knn.Refine(x, nb, p.KNNRefine, 0)
		}
	default:
		err = fmt.Errorf("unknown kNN method %q (want exact or ivfflat)", p.KNN)
	}
	return nb, err
}

// fillMissing gives the neighbours an approximate search could not fill
// (index -1, distance +Inf: fewer than k points in the probed lists) the
// row's largest finite distance, which the fuzzy set skips with the index.
func fillMissing(nb knn.Neighbors) {
	for i := 0; i < nb.N; i++ {
		idx, d := nb.Row(i)
		far := float32(0)
		for j, v := range d {
			if idx[j] >= 0 && !math.IsInf(float64(v), 0) {
				far = max(far, v)
			}
		}
		for j := range d {
			if idx[j] < 0 {
				d[j] = far
			}
		}
	}
}

// umap runs scanpy's tl.umap with its defaults on the connectivities.
func (r *runner) umap() error {
	g := r.res.Graph
	pca := r.res.PCA
	sw := startWatch()
	up := graph.UMAPParams{Seed: r.p.RandomState, Coords: pca.Scores, CoordsDim: pca.NComps}
	switch r.p.UMAPInit {
	case "spectral":
		up.RandomInitCells = -1 // at any size
	case "random":
		up.Init = "random"
	}
	n := g.Connectivities.Rows
	start := sw.wall
	up.Progress = func(done, total int) {
		if r.opt.OnProgress != nil {
			r.opt.OnProgress(Progress{Pass: "umap", Done: done, Total: total, Unit: "epochs", Rows: n, Elapsed: time.Since(start)})
		}
	}
	where := "host"
	if o, ok := r.b.(backend.UMAPOptimizer); ok {
		up.Optimizer = o
		where = r.b.Device().Backend
	}
	if se, ok := r.b.(backend.SpectralEmbedder); ok {
		up.Spectral = se
	}
	var err error
	g.UMAP, g.UMAPInfo, err = graph.UMAP(g.Connectivities, up)
	if err != nil {
		return fmt.Errorf("pipeline: umap: %w", err)
	}
	if g.UMAPInfo.Note != "" {
		r.warn("umap: %s", g.UMAPInfo.Note)
	}
	info := g.UMAPInfo
	st := sw.step("umap",
		fmt.Sprintf("umap(min_dist=0.5): %d epochs, %s init%s, a=%.4f b=%.4f, optimized on the %s", info.NEpochs, info.Init, eigenOn(info.EigenSolver), info.A, info.B, where))
	tm := info.Times
	st.Parts = map[string]float64{"prune": tm.Prune, "init": tm.Init, "schedule": tm.Schedule, "optimizer": tm.Optimize}
	r.res.Report.Steps = append(r.res.Report.Steps, st)
	return nil
}

// leiden runs scanpy's tl.leiden(resolution) on the connectivities.
func (r *runner) leiden() error {
	g := r.res.Graph
	sw := startWatch()
	where := "host"
	var err error
	if cd, ok := r.b.(backend.CommunityDetector); ok && !r.opt.HostLeiden {
		// The device's Leiden: parallel phases, so its partition agrees
		// with the host's by quality and ARI, not label for label.
		where = r.b.Device().Backend
		var info backend.LeidenResult
		g.Leiden, info, err = cd.Leiden(g.Connectivities, backend.LeidenSpec{Resolution: r.p.Resolution, Seed: r.p.RandomState})
		g.LeidenInfo = graph.LeidenInfo{Iterations: info.Iterations, Levels: info.Levels, Moves: int(info.Moves),
			Clusters: info.Clusters, Modularity: info.Modularity}
	} else {
		g.Leiden, g.LeidenInfo, err = graph.Leiden(g.Connectivities, hostLeidenParams(r.p))
	}
	if err != nil {
		return fmt.Errorf("pipeline: leiden: %w", err)
	}
	li := g.LeidenInfo
	g.LeidenOn = where
	r.res.Report.Steps = append(r.res.Report.Steps, sw.step("leiden",
		fmt.Sprintf("leiden(resolution=%g) on the %s: %d clusters, modularity %.4f", r.p.Resolution, where, li.Clusters, li.Modularity)))
	return nil
}

// hostLeidenParams are package graph's Leiden parameters for the run's:
// scanpy's defaults with its resolution and random_state.
func hostLeidenParams(p Params) graph.LeidenParams {
	lp := graph.DefaultLeidenParams()
	lp.Resolution, lp.Seed = p.Resolution, p.RandomState
	return lp
}

// leidenNames are the categories of obs["leiden"]: "0", "1", ... as
// scanpy names them.
func leidenNames(clusters int) []string {
	names := make([]string, clusters)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// writeGraph writes obsp, obsm["X_umap"] and the uns entries of the graph
// steps under scanpy's names, so that scanpy.pl and scanpy.tl work on the
// output.
func (r *runner) writeGraph(uns map[string]any) error {
	g := r.res.Graph
	if g == nil {
		return nil
	}
	p := r.p
	if g.Connectivities != nil {
		for name, m := range map[string]*sparse.CSR{"connectivities": g.Connectivities, "distances": g.Distances} {
			if err := r.w.SetObsp(name, m); err != nil {
				return fmt.Errorf("pipeline: writing obsp %s: %w", name, err)
			}
		}
		uns["neighbors"] = map[string]any{
			"connectivities_key": "connectivities",
			"distances_key":      "distances",
			"params": map[string]any{
				"n_neighbors":  int64(g.Neighbors.K),
				"n_pcs":        int64(p.NPCs),
				"method":       "umap",
				"metric":       "euclidean",
				"random_state": int64(p.RandomState),
				"knn":          p.KNN,
			},
		}
	}
	if g.UMAP != nil {
		n := len(g.UMAP) / 2
		if err := r.w.SetObsm("X_umap", blas32.General{Rows: n, Cols: 2, Stride: 2, Data: g.UMAP}); err != nil {
			return fmt.Errorf("pipeline: writing obsm X_umap: %w", err)
		}
		uns["umap"] = map[string]any{"params": map[string]any{"a": g.UMAPInfo.A, "b": g.UMAPInfo.B}}
	}
	if g.Leiden != nil {
		uns["leiden"] = map[string]any{"params": map[string]any{
			"resolution":   p.Resolution,
			"random_state": int64(p.RandomState),
			"n_iterations": int64(-1),
		}}
	}
	return nil
}

// UMAPPicture draws the UMAP coloured by Leiden cluster, as
// sc.pl.umap(adata, color="leiden") shows it, and writes it as a PNG at
// path. It needs the umap and leiden steps' results.
func (res *Result) UMAPPicture(path string) error {
	g := res.Graph
	if g == nil || g.UMAP == nil || g.Leiden == nil {
		return fmt.Errorf("pipeline: the UMAP picture needs the umap and leiden steps")
	}
	img, err := plot.Scatter(g.UMAP, g.Leiden, leidenNames(g.LeidenInfo.Clusters), plot.ScatterOptions{Title: "leiden"})
	if err != nil {
		return fmt.Errorf("pipeline: drawing %s: %w", path, err)
	}
	if err := plot.WritePNG(path, img); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	return nil
}

// eigenOn says where the spectral initialization's eigensolver ran.
func eigenOn(solver string) string {
	if solver == "" {
		return ""
	}
	return " (eigenvectors on the " + solver + ")"
}
