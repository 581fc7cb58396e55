package pipeline

import (
	"fmt"
	"strings"
	"time"
)

// Params are the workflow's parameters, named as scanpy names them. The
// defaults are the notebook's ("out-of-core 1.3M cells with Dask").
type Params struct {
	MinGenes  int     `json:"min_genes"`   // keep cells with n_genes_by_counts >= MinGenes (default 200)
	MaxGenes  int     `json:"max_genes"`   // ... and n_genes_by_counts <= MaxGenes (default 10,000)
	TargetSum float64 `json:"target_sum"`  // normalize_total(target_sum) (default 10,000)
	NTopGenes int     `json:"n_top_genes"` // highly_variable_genes(n_top_genes, flavor="cell_ranger") (default 5,000)
	NComps    int     `json:"n_comps"`     // pca(n_comps) (default 100)

	NNeighbors int    `json:"n_neighbors"` // neighbors(n_neighbors) (default 15)
	NPCs       int    `json:"n_pcs"`       // neighbors(n_pcs): PCs the kNN search uses (default 50)
	KNN        string `json:"knn"`         // "ivfflat" (the notebook's cuVS IVF-Flat, default) or "exact"
	NLists     int    `json:"n_lists"`     // IVF-Flat lists; 0: 2 * next power of two of sqrt(n), as rapids-singlecell
	NProbes    int    `json:"n_probes"`    // IVF-Flat lists probed per query; 0: 20, as rapids-singlecell
	// KNNRefine is the number of rounds of neighbour-of-neighbour
	// refinement after the IVF-Flat search (knn.Refine): each cell's
	// neighbours become the nearest of its neighbours, the nearest cells
	// that list it, and their neighbours. DefaultParams sets 2: at 1.3M
	// cells with the notebook's 4,096 lists and 20 probes recall@15 goes
	// from 0.899 to 0.947 after one round and 0.955 after two, for about
	// 0.13 s a round on an H200. 0: the search's lists as they are
	// (rapids-singlecell's result).
	KNNRefine   int     `json:"knn_refine"`
	Resolution  float64 `json:"resolution"`   // leiden(resolution) (default 1)
	RandomState uint64  `json:"random_state"` // seed of IVF-Flat training, UMAP and Leiden (scanpy's random_state, default 0)
	// UMAPInit is umap's start: "spectral" (scanpy's default), "random",
	// or "" (auto): spectral below 1,000,000 cells, random from there, as
	// rapids-singlecell switches.
	UMAPInit string `json:"umap_init,omitempty"`
}

// DefaultParams returns the notebook's parameters.
func DefaultParams() Params {
	return Params{MinGenes: 200, MaxGenes: 10000, TargetSum: 1e4, NTopGenes: 5000, NComps: 100,
		NNeighbors: 15, NPCs: 50, KNN: "ivfflat", KNNRefine: 2, Resolution: 1}
}

// Validate reports parameters that scanpy would reject or that make the
// workflow meaningless.
func (p Params) Validate() error {
	var bad []string
	if p.MinGenes < 0 {
		bad = append(bad, fmt.Sprintf("min_genes %d is negative", p.MinGenes))
	}
	if p.MaxGenes < p.MinGenes {
		bad = append(bad, fmt.Sprintf("max_genes %d is below min_genes %d", p.MaxGenes, p.MinGenes))
	}
	if !(p.TargetSum > 0) {
		bad = append(bad, fmt.Sprintf("target_sum %g is not positive", p.TargetSum))
	}
	if p.NTopGenes < 1 {
		bad = append(bad, fmt.Sprintf("n_top_genes %d is not positive", p.NTopGenes))
	}
	if p.NComps < 1 {
		bad = append(bad, fmt.Sprintf("n_comps %d is not positive", p.NComps))
	}
	if p.NNeighbors < 2 {
		bad = append(bad, fmt.Sprintf("n_neighbors %d is below 2", p.NNeighbors))
	}
	if p.NPCs < 1 || p.NPCs > p.NComps {
		bad = append(bad, fmt.Sprintf("n_pcs %d is not in [1, n_comps %d]", p.NPCs, p.NComps))
	}
	if p.UMAPInit != "" && p.UMAPInit != "auto" && p.UMAPInit != "spectral" && p.UMAPInit != "random" {
		bad = append(bad, fmt.Sprintf("umap init %q is not auto, spectral or random", p.UMAPInit))
	}
	if p.KNN != "ivfflat" && p.KNN != "exact" {
		bad = append(bad, fmt.Sprintf("knn %q is neither ivfflat nor exact", p.KNN))
	}
	if p.NLists < 0 || p.NProbes < 0 || p.KNNRefine < 0 {
		bad = append(bad, fmt.Sprintf("n_lists %d, n_probes %d and knn_refine %d must not be negative", p.NLists, p.NProbes, p.KNNRefine))
	}
	if !(p.Resolution >= 0) {
		bad = append(bad, fmt.Sprintf("resolution %g is negative", p.Resolution))
	}
	if bad != nil {
		return fmt.Errorf("pipeline: bad parameters: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Step is a step of the workflow; Run can stop after any of them.
type Step int

const (
	StepQC        Step = iota + 1 // calculate_qc_metrics
	StepFilter                    // the min_genes/max_genes cell filter
	StepNormalize                 // normalize_total and log1p
	StepHVG                       // highly_variable_genes and the subset
	StepScale                     // scale(zero_center=False)
	StepPCA                       // pca
	StepNeighbors                 // neighbors: kNN and connectivities
	StepUMAP                      // umap
	StepLeiden                    // leiden, and the UMAP picture
)

var stepNames = [...]string{StepQC: "qc", StepFilter: "filter", StepNormalize: "normalize", StepHVG: "hvg", StepScale: "scale", StepPCA: "pca", StepNeighbors: "neighbors", StepUMAP: "umap", StepLeiden: "leiden"}

func (s Step) String() string {
	if s >= StepQC && s <= StepLeiden {
		return stepNames[s]
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// ParseStep parses a step name: qc, filter, normalize, hvg, scale, pca,
// neighbors, umap or leiden.
func ParseStep(name string) (Step, error) {
	for s := StepQC; s <= StepLeiden; s++ {
		if stepNames[s] == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown step %q (want one of qc, filter, normalize, hvg, scale, pca, neighbors, umap, leiden)", name)
}

// Progress describes how far a pass over the data has got.
type Progress struct {
	Pass        string // e.g. "pass 1: qc, normalize, log1p, gene statistics"
	Done, Total int    // chunks, or the units Unit names
	Unit        string // what Done and Total count: "" for chunks of cells, "epochs" for UMAP
	Rows        int    // rows (cells) done
	Elapsed     time.Duration
}

// Options configure how Run works; none of them changes the results but
// HostLeiden (another partition of the same quality).
type Options struct {
	// Until stops after this step (0 means StepLeiden, the whole workflow)
	// and writes what exists.
	Until Step
	// ChunkRows is the number of cells per chunk streamed from the store
	// (0 means 20,000, the notebook's chunk size).
	ChunkRows int
	// CacheBudget is the most bytes the filtered, HVG-subset matrix may
	// take in memory between passes 2 and 3; beyond it the matrix goes to
	// a file in TempDir. 0 means half of the memory available.
	CacheBudget int64
	// HoldBudget is the most bytes of the decoded store (8 per stored
	// value) that pass 1 may keep in memory for pass 2, which then needs
	// not read and decode the store again (see held.go). 0 means a quarter
	// of the memory available, at most 4 GiB; negative, never.
	HoldBudget int64
	// DeviceBudget is the most bytes of a GPU's memory that data kept
	// between passes may take there (see resident.go): pass 1's chunks for
	// pass 2, and the scaled HVG matrix for PCA. 0 means 60% of the
	// device's memory; negative, never (the host keeps them, as on the
	// CPU backend). It does not apply to the CPU backend.
	DeviceBudget int64
	// TempDir holds the on-disk cache ("" means os.TempDir()).
	TempDir string
	// ReadWorkers is the number of decoding goroutines of the reader (0:
	// GOMAXPROCS).
	ReadWorkers int
	// Picture, when not empty, is the path of the PNG that the leiden step
	// draws: the UMAP coloured by cluster (Result.UMAPPicture).
	Picture string
	// OnProgress, when not nil, is called after every chunk of every pass.
	OnProgress func(Progress)
	// HostLeiden runs Leiden on the host (package graph, leidenalg's
	// sequential phases) even when the backend has a device Leiden
	// (backend.CommunityDetector), whose parallel phases find another
	// partition of about the same quality.
	HostLeiden bool

	// pcaPath forces PCA's path in tests: "covariance", "matrix-free" (when
	// the cache is in memory) or "matrix-free, on disk" (also when it is
	// not); "": the cost rule of pcapath.go.
	pcaPath string
}

func (o Options) until() Step {
	if o.Until == 0 {
		return StepLeiden
	}
	return o.Until
}

func (o Options) chunkRows() int {
	if o.ChunkRows <= 0 {
		return 20000
	}
	return o.ChunkRows
}
