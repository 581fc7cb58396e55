package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/scbench/scbench/backend"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/pipeline"
	"github.com/scbench/scbench/synth"
)

const runDescription = `Runs the rapids-singlecell notebook "out-of-core 1.3M cells with Dask" on an
AnnData zarr store, out of core, with scanpy 1.9.6's semantics:

  calculate_qc_metrics(percent_top=None, log1p=True)
  keep cells with --min-genes <= n_genes_by_counts <= --max-genes
  normalize_total(--target-sum); log1p
  highly_variable_genes(flavor="cell_ranger", --n-top-genes); subset
  scale(zero_center=False)
  pca(--n-comps)
  neighbors(--n-neighbors, --n-pcs)      kNN by --knn ivfflat (default) or exact
  umap()                                 min_dist 0.5, spread 1, 200/500 epochs
  leiden(--resolution)
  sc.pl.umap(color="leiden")             umap.png beside the output store

The store is streamed in chunks of --chunk-rows cells, three times: pass 1
computes the QC columns and the gene statistics, pass 2 re-reads it to make
the filtered, normalized matrix of the highly variable genes and its Gram
matrix, and pass 3 projects that matrix onto the principal components. The
graph steps then run on X_pca in memory.

The output store (--out) holds the kept cells and the highly variable genes.
X is the normalized, log1p'd matrix (sparse; the scaled data is
X / var["std"]); obs and var carry scanpy's QC and HVG columns and
obs["leiden"]; obsm["X_pca"], obsm["X_umap"], varm["PCs"],
obsp["connectivities"], obsp["distances"] and uns["pca"], uns["neighbors"],
uns["umap"], uns["leiden"] are scanpy's. Open it with anndata.read_zarr(path)
in Python; scanpy's plotting and tools work on it.

Without --input, about 20,000 cells of synthetic data are generated into a
temporary folder first (see 'scbench generate').

Per-step times (wall and CPU, like a notebook's %%time) go to stderr at the
end, and progress while the passes run. The backend and device chosen are
printed first and recorded in the report.

Examples:

  scbench run                                           # on generated data
  scbench run --input brain.zarr --out brain.pp.zarr --report report.json
  scbench run --input big.zarr --until hvg              # stop after HVG selection
  scbench run --input brain10k.zarr --min-genes 20 --n-top-genes 300 --n-comps 50 --n-pcs 30
  scbench run --input big.zarr --backend cuda --device 1   # the second NVIDIA GPU
  scbench run --input big.zarr --backend opencl --device 0:1

` + backendHelp

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "[flags]", runDescription, stderr)
	def := pipeline.DefaultParams()
	var (
		input     = fs.String("input", "", "AnnData zarr `store` to read (raw counts, cells x genes); none: generate synthetic data")
		out       = fs.String("out", "", "output `store` (default <input>.scbench.zarr, or scbench-out.zarr for generated data); \"-\" writes nothing")
		bk        = fs.String("backend", "auto", "compute `backend`: auto, cuda, opencl or cpu (see above)")
		device    = fs.String("device", "", "GPU `device`: N (CUDA; OpenCL: the Nth device across platforms) or P:D (OpenCL platform P, device D); default the first GPU")
		devices   = fs.String("devices", "", devicesHelp)
		threads   = fs.Int("threads", 0, "worker goroutines of the backend and the reader (0: all cores)")
		chunkRows = fs.Int("chunk-rows", defaultChunkRows, "cells per chunk streamed from the store")
		minGenes  = fs.Int("min-genes", def.MinGenes, "keep cells with at least this many genes (n_genes_by_counts)")
		maxGenes  = fs.Int("max-genes", def.MaxGenes, "keep cells with at most this many genes")
		targetSum = fs.Float64("target-sum", def.TargetSum, "normalize_total: counts per cell after normalization")
		nTop      = fs.Int("n-top-genes", def.NTopGenes, "highly_variable_genes: number of genes to select (flavor cell_ranger)")
		nComps    = fs.Int("n-comps", def.NComps, "pca: number of principal components")
		until     = fs.String("until", "leiden", "stop after this `step` and write what exists: qc, filter, normalize, hvg, scale, pca, neighbors, umap or leiden")
		nNeigh    = fs.Int("n-neighbors", def.NNeighbors, "neighbors: number of nearest neighbours, the cell itself included")
		nPCs      = fs.Int("n-pcs", def.NPCs, "neighbors: principal components the kNN search uses")
		knnMethod = fs.String("knn", def.KNN, "neighbors: kNN `method`, ivfflat (approximate, as the notebook's cuVS) or exact")
		nLists    = fs.Int("n-lists", 0, "neighbors, ivfflat: inverted lists (0: 2 * next power of two of sqrt(cells), as rapids-singlecell)")
		nProbes   = fs.Int("n-probes", 0, "neighbors, ivfflat: lists probed per cell (0: 20, as rapids-singlecell)")
		knnRefine = fs.Int("knn-refine", def.KNNRefine, knnRefineHelp)
		resol     = fs.Float64("resolution", def.Resolution, "leiden: resolution (larger gives more clusters)")
		umapInit  = fs.String("umap-init", "auto", "umap: start `layout`: spectral, random, or auto (spectral below 1,000,000 cells, random from there, as rapids-singlecell)")
		leiden    = fs.String("leiden", "device", "leiden: where it runs: device (the backend's own Leiden when it has one: parallel phases, another partition of the same quality) or host (package graph, leidenalg's sequential phases)")
		seed      = fs.Uint64("random-state", 0, "seed of the IVF-Flat training, UMAP and Leiden (scanpy's random_state)")
		picture   = fs.String("picture", "", "path of the UMAP picture coloured by cluster (default: umap.png beside the output store; \"-\": none)")
		report    = fs.String("report", "", "write a JSON report (per-step seconds, device, sizes, bytes read, peak memory) to this `file`")
		memory    = fs.String("memory", "auto", "the run's memory `budget`, e.g. 8GiB: the Go heap's soft limit during the passes (the garbage collector works harder as the heap nears it; set it below what the run needs and it collects all the time), and pass 1 keeps its decoded chunks for pass 2 (saving a second read of the store) only within it, less 1 GiB of working buffers; \"off\": no limit, and pass 1 keeps up to a quarter of the available memory (at most 4 GiB); auto: "+defaultMemory+" on the CPU backend, off on a GPU (which holds the data itself)")
		cacheMem  = fs.String("cache-mem", defaultCacheMem, "memory for the HVG matrix between passes 2 and 3, e.g. 8GiB; beyond it the matrix goes to a temporary file in --tmp, written and read back with direct I/O (bypassing the page cache) where the file system allows")
		tmpDir    = fs.String("tmp", "", "`folder` for temporary files: generated input, the on-disk cache (default $TMPDIR)")
		synCells  = fs.Int("synth-cells", 20000, "cells to generate when there is no --input")
		quiet     = fs.Bool("quiet", false, "no progress or timing table on stderr")
		cpuProf   = fs.String("cpuprofile", "", "write a Go CPU profile of the run to this `file` (for 'go tool pprof')")
	)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected argument %q (the input is given with --input)", fs.Arg(0))
	}
	p := pipeline.Params{MinGenes: *minGenes, MaxGenes: *maxGenes, TargetSum: *targetSum, NTopGenes: *nTop, NComps: *nComps,
		NNeighbors: *nNeigh, NPCs: *nPCs, KNN: *knnMethod, NLists: *nLists, NProbes: *nProbes, KNNRefine: *knnRefine, Resolution: *resol, RandomState: *seed, UMAPInit: *umapInit}
	if *nComps < def.NPCs && !flagSet(fs, "n-pcs") {
		p.NPCs = *nComps // scanpy uses every component when there are fewer than n_pcs
	}
	if err := p.Validate(); err != nil {
		return usageError(fs, "%v", err)
	}
	step, err := pipeline.ParseStep(*until)
	if err != nil {
		return usageError(fs, "--until: %v", err)
	}
	if *leiden != "device" && *leiden != "host" {
		return usageError(fs, "--leiden %q: want device or host", *leiden)
	}
	if *chunkRows < 1 {
		return usageError(fs, "--chunk-rows %d: need at least 1", *chunkRows)
	}
	var budget int64
	if *cacheMem != "" {
		if budget, err = parseSize(*cacheMem); err != nil {
			return usageError(fs, "--cache-mem: %v", err)
		}
	}
	var memLimit int64
	if *memory != "off" && *memory != "auto" {
		if memLimit, err = parseSize(*memory); err != nil || memLimit <= 0 {
			return usageError(fs, "--memory %q: want a size such as 3GiB, auto or off", *memory)
		}
	}
	req, err := parseBackend(*bk, *device)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	devList, err := parseDeviceList(*devices)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	if devList != nil {
		if *device != "" {
			return usageError(fs, "--device and --devices: give one of them")
		}
		req.dev = devList[0]
	}
	api := systemAPI()
	b, err := openBackend(api, req, *threads)
	if err != nil {
		return err
	}
	defer b.Close()
	if !*quiet {
		b.printChoice(stderr)
	}
	if *memory == "auto" && b.Device().Backend == "cpu" {
		memLimit, _ = parseSize(defaultMemory)
	}
	more, err := openMoreDevices(api, b, devList, *device != "")
	if err != nil {
		return err
	}
	devs := []backend.Backend{b.Backend}
	for _, c := range more {
		defer c.Close()
		devs = append(devs, c.Backend)
		if !*quiet {
			fmt.Fprintln(stderr, "also", c.describe())
		}
	}

	// The input: a store, or generated data in a temporary folder.
	inPath := *input
	if inPath == "" {
		dir, err := os.MkdirTemp(*tmpDir, "scbench-run-*")
		if err != nil {
			return fmt.Errorf("making a temporary folder for generated data: %w (set --tmp)", err)
		}
		defer os.RemoveAll(dir)
		inPath = filepath.Join(dir, "synthetic.zarr")
		sp := synth.DefaultParams()
		sp.Cells = *synCells
		if *threads > 0 {
			sp.Workers = *threads
		}
		fmt.Fprintf(stderr, "no --input: generating %d synthetic cells x %d genes into %s (removed afterwards)\n", sp.Cells, sp.Genes, inPath)
		var onGen func(done, total int)
		if !*quiet {
			gp := newProgress(stderr, "generate", "cells")
			onGen = func(done, total int) { gp.update(int64(done), int64(total)) }
		}
		if _, err := synth.Generate(ctx, inPath, sp, onGen); err != nil {
			return fmt.Errorf("generating synthetic data: %w", err)
		}
	}
	outPath, err := outputPath(*out, *input)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	if outPath != "" {
		// Fail now, not after the first pass over the data.
		if st, err := os.Stat(filepath.Dir(outPath)); err != nil || !st.IsDir() {
			return usageError(fs, "--out %s: its folder %s does not exist (create it first)", outPath, filepath.Dir(outPath))
		}
	}

	in, err := anndata.Open(inPath)
	if err != nil {
		return fmt.Errorf("opening --input %s: %w (it must be an AnnData zarr store with X as a csr_matrix or dense array; 'scbench convert' makes one from 10x files, 'scbench info' describes one)", inPath, err)
	}

	pr := newProgressPrinter(stderr, *quiet)
	pic := *picture
	switch {
	case pic == "-" || (pic == "" && outPath == ""):
		pic = ""
	case pic == "":
		pic = filepath.Join(filepath.Dir(outPath), "umap.png")
	}
	opt := pipeline.Options{
		Picture:     pic,
		Until:       step,
		ChunkRows:   *chunkRows,
		CacheBudget: budget,
		HoldBudget:  holdBudget(memLimit),
		TempDir:     *tmpDir,
		ReadWorkers: *threads,
		OnProgress:  pr.update,
		HostLeiden:  *leiden == "host",
	}
	if memLimit > 0 {
		// Go's limit covers its own memory only (not OpenBLAS's buffers,
		// nor what the runtime has yet to hand back): aim a little lower.
		// It covers the passes, the out-of-core part: the graph steps
		// after them hold their data in memory whatever the budget, and a
		// heap above the limit would have the collector run all the time.
		prev := debug.SetMemoryLimit(memLimit / 10 * 9)
		defer debug.SetMemoryLimit(prev)
		opt.OnProgress = func(p pipeline.Progress) {
			if strings.HasPrefix(p.Pass, "pass 3") && p.Done == p.Total {
				debug.SetMemoryLimit(prev)
			}
			pr.update(p)
		}
	}
	if *cpuProf != "" {
		pf, err := os.Create(*cpuProf)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, runErr := pipeline.RunDevices(ctx, devs, in, outPath, p, opt)
	pr.finish()
	if res != nil {
		rep := &res.Report
		if *input == "" {
			rep.Input = "(generated) " + rep.Input
		}
		if !*quiet {
			fmt.Fprintln(stderr)
			if err := rep.WriteTable(stderr); err != nil {
				return err
			}
		}
		if *report != "" {
			if err := writeReport(*report, rep); err != nil {
				if runErr == nil {
					runErr = err
				}
			}
		}
	}
	if runErr != nil {
		return runErr
	}
	if outPath != "" {
		fmt.Fprintf(stdout, "wrote %s: %d cells x %d genes (until %s)\n", outPath, res.Report.CellsOut, res.Report.GenesOut, step)
		if pic != "" && step >= pipeline.StepLeiden {
			fmt.Fprintf(stdout, "wrote %s\n", pic)
		}
	} else {
		fmt.Fprintf(stdout, "done (nothing written): %d cells x %d genes (until %s)\n", res.Report.CellsOut, res.Report.GenesOut, step)
	}
	return nil
}

// The defaults of run, which bench uses too.
const (
	defaultChunkRows = 20000
	defaultCacheMem  = "1GiB"
	// defaultMemory is --memory auto's budget on the CPU backend: issue
	// 4's target for the 1.3M-cell preprocessing (the notebook's machine
	// has far more; a laptop does not). A GPU run keeps its data on the
	// device and is not limited: its host buffers (pinned staging, the
	// graph steps' arrays) would make a 3 GiB heap limit collect all the
	// time.
	defaultMemory = "3GiB"
)

// outputPath returns where to write: the flag's value, or a default beside
// the input. It refuses the input itself and paths that hold something
// other than a zarr store.
func outputPath(out, input string) (string, error) {
	switch {
	case out == "-":
		return "", nil
	case out == "" && input == "":
		out = "scbench-out.zarr"
	case out == "":
		out = strings.TrimSuffix(filepath.Clean(input), ".zarr") + ".scbench.zarr"
	}
	if input != "" && samePath(out, input) {
		return "", fmt.Errorf("--out %s is the input store: choose another path", out)
	}
	if st, err := os.Stat(out); err == nil {
		if !st.IsDir() || !isZarr(out) {
			return "", fmt.Errorf("--out %s exists and is not a zarr store: remove it or choose another path", out)
		}
	}
	return out, nil
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	if aa == bb {
		return true
	}
	sa, err1 := os.Stat(aa)
	sb, err2 := os.Stat(bb)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func isZarr(dir string) bool {
	for _, f := range []string{".zgroup", "zarr.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// holdBudget is the most that pass 1 may keep for pass 2 under the memory
// budget memLimit (0: none; Options.HoldBudget's default then applies):
// what is left after 1 GiB of working buffers (the chunks being read and
// worked on, the Gram matrix), or never (-1). The cache's budget is not
// taken off: pass 2 lets go of each held chunk as it moves the chunk's HVG
// part into the cache, so the two never hold the data at once. (At
// 100,000 cells, 1.6 GB held under a 3 GiB budget peaked at 2.6 GB and saved
// pass 2 a second decode of the store.)
func holdBudget(memLimit int64) int64 {
	if memLimit <= 0 {
		return 0
	}
	if h := memLimit - 1<<30; h > 0 {
		return h
	}
	return -1
}

// parseSize parses a byte count with an optional unit: 512MiB, 8GiB, 2GB, 1e9.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}}
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB, 8GiB)", s)
	}
	return int64(v * mult), nil
}

func writeReport(path string, rep *pipeline.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing --report: %w", err)
	}
	return nil
}

// progressPrinter shows how far each pass has got: on a terminal one line
// rewritten in place, elsewhere a line every few seconds and at the end of
// each pass.
type progressPrinter struct {
	w     io.Writer
	off   bool
	tty   bool
	last  time.Time
	open  bool // a \r line is showing
	every time.Duration
}

func newProgressPrinter(w io.Writer, quiet bool) *progressPrinter {
	p := &progressPrinter{w: w, off: quiet, every: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, 200*time.Millisecond
		}
	}
	return p
}

func (p *progressPrinter) update(pr pipeline.Progress) {
	if p.off {
		return
	}
	end := pr.Done == pr.Total
	if !end && time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	rate := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		rate = float64(pr.Rows) / s
	}
	line := fmt.Sprintf("%s: %d/%d chunks, %d cells, %.0f cells/s, %.1f s", pr.Pass, pr.Done, pr.Total, pr.Rows, rate, pr.Elapsed.Seconds())
	if pr.Unit != "" {
		line = fmt.Sprintf("%s: %d/%d %s, %d cells, %.1f s", pr.Pass, pr.Done, pr.Total, pr.Unit, pr.Rows, pr.Elapsed.Seconds())
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.open = !end
		if end {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progressPrinter) finish() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// knnRefineHelp documents --knn-refine for run and bench.
const knnRefineHelp = "neighbors, ivfflat: `rounds` of refinement after the search (each cell's neighbours become the nearest among its neighbours, the cells that list it, and their neighbours; at 1.3M cells recall@15 goes from 0.899 to 0.947 after one round, 0.955 after two); 0: the search's lists as rapids-singlecell returns them"
