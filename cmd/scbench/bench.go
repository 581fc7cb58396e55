package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scbench/scbench/backend"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/pipeline"
	"github.com/scbench/scbench/synth"
)

const benchDescription = `Reproduces the timings of the rapids-singlecell notebook "out-of-core 1.3M
cells with Dask": runs the workflow of 'scbench run', with its defaults (the
notebook's parameters), on a synthetic store of --cells cells, on each backend
of --backend, and prints a per-step table beside the notebook's published
figures. Each run's output store goes to a temporary folder, removed
afterwards.

The store: --store PATH when it exists (any AnnData zarr store); otherwise
one generated as 'scbench generate --cells N --seed S' would, at --store or,
by default, in --dir under the name synth-<cells>-seed<seed>.zarr, and reused
by later runs (stores appear only when complete, so a present one is whole).

Each run writes OUT/<date>-<backend>-<device>-<cells>.json (e.g.
2026-12-01-cuda-nvidia-h200-1300k.json; "-cold" is added for --cold runs and
"-2", "-3", ... when the name is taken): the run's report (as 'scbench run
--report' writes it), the notebook table, and the machine (host, CPU, memory,
OS, Go version, scbench's git revision), so that results from different
machines line up.

--cold asks the kernel to drop the store's pages from the page cache before
each run (posix_fadvise DONTNEED on every file, Linux only), so that pass 1
reads from the disk; the output says whether it could, and how much of the
store was still cached afterwards.

Examples:

  scbench bench                                   # 1.3M cells, --backend auto
  scbench bench --backend cuda,opencl,cpu --repeat 3
  scbench bench --cells 100000 --until pca --cold
  scbench bench --store brain.zarr --backend opencl --device 1:0

` + backendHelp

// defaultResultsDir is where bench writes when run from the repository root.
const defaultResultsDir = "bench/results"

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", benchDescription, stderr)
	def := synth.DefaultParams()
	var (
		cells    = fs.Int("cells", def.Cells, "cells of the generated store")
		seed     = fs.Uint64("seed", def.Seed, "seed of the generated store")
		store    = fs.String("store", "", "the input `store`: used when it exists, generated there when not (default: synth-<cells>-seed<seed>.zarr in --dir)")
		dir      = fs.String("dir", "", "`folder` of generated stores (default: scbench in the user cache folder, e.g. ~/.cache/scbench)")
		backends = fs.String("backend", "auto", "comma-separated `list` of backends to run: auto, cuda, opencl, cpu")
		devices  = fs.String("devices", "", devicesHelp)
		device   = fs.String("device", "", "GPU `device` for every GPU backend listed: N, or P:D for OpenCL (default: each backend's first)")
		until    = fs.String("until", "leiden", "stop after this `step`: qc, filter, normalize, hvg, scale, pca, neighbors, umap or leiden")
		out      = fs.String("out", "", "`folder` for the JSON results (default: "+defaultResultsDir+" if it exists here, else the current folder)")
		repeat   = fs.Int("repeat", 1, "runs per backend")
		cold     = fs.Bool("cold", false, "drop the store from the page cache before each run (Linux)")
		threads  = fs.Int("threads", 0, "worker goroutines of the CPU backend and the reader (0: all cores)")
		tmpDir   = fs.String("tmp", "", "`folder` for each run's output store and on-disk cache (default $TMPDIR)")
		quiet    = fs.Bool("quiet", false, "no progress on stderr")
		quality  = fs.Bool("quality", false, "after each run that reaches leiden, measure the results' quality: kNN recall@15 against an exact search for 10,000 random cells (on the device when it can), UMAP trustworthiness and neighbour preservation on a sample, Leiden modularity, and where Leiden ran on a device the host Leiden's partition of the same graph and the adjusted Rand index between the two; into the JSON and the table (not timed)")
		nProbes  = fs.Int("n-probes", 0, "neighbors, ivfflat: lists probed per cell (0: 20, as rapids-singlecell)")
		refine   = fs.Int("knn-refine", pipeline.DefaultParams().KNNRefine, knnRefineHelp)
		umapInit = fs.String("umap-init", "auto", "umap: start `layout`: spectral, random, or auto (spectral below 1,000,000 cells, random from there, as rapids-singlecell)")
		leiden   = fs.String("leiden", "device", "where Leiden runs: device (the backend's own Leiden when it has one, else the host) or host (package graph, leidenalg's sequential phases)")
		write    = fs.Bool("write", false, "also write the output store (to a temporary folder, deleted afterwards); the notebook keeps its results in memory, so by default bench does too")
	)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *leiden != "device" && *leiden != "host" {
		return usageError(fs, "--leiden %q: want device or host", *leiden)
	}
	switch *umapInit {
	case "auto", "spectral", "random":
	default:
		return usageError(fs, "--umap-init %q: want auto, spectral or random", *umapInit)
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected argument %q", fs.Arg(0))
	}
	reqs, err := parseBackendList(*backends, *device)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	step, err := pipeline.ParseStep(*until)
	if err != nil {
		return usageError(fs, "--until: %v", err)
	}
	if *repeat < 1 {
		return usageError(fs, "--repeat %d: need at least 1", *repeat)
	}
	if *cells < 1 {
		return usageError(fs, "--cells %d: need at least 1", *cells)
	}
	outDir, err := resultsDir(*out)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	storePath, err := benchStorePath(*store, *dir, *cells, *seed)
	if err != nil {
		return err
	}

	// The store: reuse or generate.
	generated := false
	if _, err := os.Stat(storePath); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(storePath), 0o755); err != nil {
			return fmt.Errorf("making the store's folder: %w", err)
		}
		fmt.Fprintf(stderr, "generating %s (%d cells, seed %d), once: later runs reuse it\n", storePath, *cells, *seed)
		genArgs := []string{"--out", storePath, "--cells", strconv.Itoa(*cells), "--seed", strconv.FormatUint(*seed, 10)}
		if *threads > 0 {
			genArgs = append(genArgs, "--threads", strconv.Itoa(*threads))
		}
		genErr := io.Writer(stderr)
		if *quiet {
			genErr = io.Discard
		}
		if err := generateCmd(ctx, genArgs, stderr, genErr); err != nil {
			return fmt.Errorf("generating the store: %w", err)
		}
		generated = true
	}
	in, err := anndata.Open(storePath)
	if err != nil {
		return fmt.Errorf("opening the store %s: %w (remove it to have it generated again)", storePath, err)
	}
	if flagSet(fs, "cells") && in.NObs != *cells {
		return usageError(fs, "--store %s holds %d cells, not --cells %d: leave out --cells or choose another --store", storePath, in.NObs, *cells)
	}
	if !generated {
		fmt.Fprintf(stderr, "store %s: %d cells x %d genes, %d non-zeros (reused)\n", storePath, in.NObs, in.NVar, in.NNZ)
	}
	var storeSeed *uint64
	if *store == "" || generated {
		storeSeed = seed
	}

	machine := machineInfo()
	date := time.Now().UTC()
	var results []benchRunSummary
	var failed []string
	opened := map[string]bool{}
	devList, err := parseDeviceList(*devices)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	if devList != nil && *device != "" {
		return usageError(fs, "--device and --devices: give one of them")
	}
	api := systemAPI()
	for _, req := range reqs {
		if devList != nil && req.name != "cpu" {
			req.dev = devList[0]
		}
		c, err := openBackend(api, req, *threads)
		if err != nil {
			fmt.Fprintf(stderr, "scbench bench: %v\n", err)
			failed = append(failed, "--backend "+req.name)
			continue
		}
		c.printChoice(stderr)
		more, err := openMoreDevices(api, c, devList, *device != "")
		if err != nil {
			fmt.Fprintf(stderr, "scbench bench: %v\n", err)
			failed = append(failed, "--backend "+req.name)
			c.Close()
			continue
		}
		for _, m := range more {
			fmt.Fprintln(stderr, "also", m.describe())
		}
		key := c.api + " " + c.label
		if opened[key] { // auto landed on a backend the list names too
			fmt.Fprintf(stderr, "--backend %s: %s was benchmarked already: skipped\n", req.name, strings.TrimSpace(key))
			c.Close()
			continue
		}
		opened[key] = true
		for i := 1; i <= *repeat; i++ {
			br := benchRun{
				ctx: ctx, c: c, store: storePath, step: step, threads: *threads, tmp: *tmpDir, quiet: *quiet, write: *write, hostLeiden: *leiden == "host", quality: *quality, umapInit: *umapInit, nProbes: *nProbes, refine: *refine,
				cold: *cold, run: i, repeat: *repeat, seed: storeSeed, machine: machine, more: more,
			}
			sum, err := br.do(stdout, stderr, outDir, date)
			if err != nil {
				fmt.Fprintf(stderr, "scbench bench: %s run %d: %v\n", c.api, i, err)
				failed = append(failed, fmt.Sprintf("%s run %d", c.api, i))
				if ctx.Err() != nil {
					break
				}
				continue
			}
			results = append(results, sum)
		}
		for _, m := range more {
			m.Close()
		}
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "scbench bench: closing %s: %v\n", c.api, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	printBenchSummary(stdout, results)
	if len(failed) > 0 {
		return fmt.Errorf("not every run succeeded: %s failed (see above)", strings.Join(failed, ", "))
	}
	return nil
}

// resultsDir returns --out, or its default, checked to be a folder.
func resultsDir(out string) (string, error) {
	if out == "" {
		if st, err := os.Stat(defaultResultsDir); err == nil && st.IsDir() {
			return defaultResultsDir, nil
		}
		return ".", nil
	}
	st, err := os.Stat(out)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("--out %s: not a folder (create it first)", out)
	}
	return out, nil
}

// benchStorePath is --store, or the generated store's default path.
func benchStorePath(store, dir string, cells int, seed uint64) (string, error) {
	if store != "" {
		return store, nil
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("finding the user cache folder for the generated store: %w (set --dir or --store)", err)
		}
		dir = filepath.Join(cache, "scbench")
	}
	return filepath.Join(dir, fmt.Sprintf("synth-%d-seed%d.zarr", cells, seed)), nil
}

// benchRun is one run of the workflow on one backend.
type benchRun struct {
	ctx         context.Context
	c           *chosen
	store       string
	step        pipeline.Step
	threads     int
	tmp         string
	write       bool      // write the output store, as run does
	hostLeiden  bool      // --leiden host
	quality     bool      // --quality
	umapInit    string    // --umap-init
	nProbes     int       // --n-probes
	refine      int       // --knn-refine
	more        []*chosen // --devices: the devices beside c
	quiet, cold bool
	run, repeat int
	seed        *uint64
	machine     machine
}

// benchResult is the JSON file of one run.
type benchResult struct {
	Format   string     `json:"format"` // "scbench-bench/1"
	Date     string     `json:"date"`   // start of the run, RFC 3339, UTC
	Backend  string     `json:"backend"`
	Device   string     `json:"device"`
	DeviceID string     `json:"device_id,omitempty"` // what --device takes
	GPU      deviceJSON `json:"gpu,omitzero"`
	// Libraries are the GPU API's libraries as its probe found them.
	Libraries []libraryJSON `json:"libraries,omitempty"`
	Store     string        `json:"store"`
	Cells     int           `json:"cells"`
	Seed      *uint64       `json:"seed,omitempty"` // of the generated store
	Run       int           `json:"run"`            // 1 .. repeat
	Repeat    int           `json:"repeat"`
	Cold      bool          `json:"cold"`
	// ColdNote says what dropping the page cache did.
	ColdNote string           `json:"cold_note,omitempty"`
	Notebook []notebookRow    `json:"notebook"`
	Machine  machine          `json:"machine"`
	Report   *pipeline.Report `json:"report"`
	// Quality is --quality's measurement of the results.
	Quality *pipeline.Quality `json:"quality,omitempty"`
}

// benchRunSummary is one line of the closing summary.
type benchRunSummary struct {
	backend, device, file string
	run                   int
	cold                  bool
	qcPCA, graph, whole   float64 // -1 when not reached
	wall                  float64
}

func (br *benchRun) do(stdout, stderr io.Writer, outDir string, date time.Time) (benchRunSummary, error) {
	res := benchResult{
		Format: "scbench-bench/1", Date: time.Now().UTC().Format(time.RFC3339),
		Backend: br.c.api, Device: br.c.Device().Name, DeviceID: br.c.label,
		Store: br.store, Seed: br.seed, Run: br.run, Repeat: br.repeat, Cold: br.cold, Machine: br.machine,
	}
	if br.c.info != nil {
		res.GPU = deviceInfoJSON(br.c.label, br.c.info.Index, *br.c.info)
	}
	if br.c.probe != nil {
		res.Libraries = librariesJSON(br.c.probe.Libraries)
	}
	if br.cold {
		res.ColdNote = dropCache(br.store)
		fmt.Fprintf(stderr, "--cold: %s\n", res.ColdNote)
	}

	in, err := anndata.Open(br.store)
	if err != nil {
		return benchRunSummary{}, err
	}
	res.Cells = in.NObs
	tmp, err := os.MkdirTemp(br.tmp, "scbench-bench-*")
	if err != nil {
		return benchRunSummary{}, fmt.Errorf("making a temporary folder for the output: %w (set --tmp)", err)
	}
	defer os.RemoveAll(tmp)
	outStore := ""
	if br.write {
		outStore = filepath.Join(tmp, "out.zarr")
	}
	budget, err := parseSize(defaultCacheMem)
	if err != nil {
		return benchRunSummary{}, err
	}
	pr := newProgressPrinter(stderr, br.quiet)
	opt := pipeline.Options{
		Picture:     filepath.Join(tmp, "umap.png"),
		Until:       br.step,
		ChunkRows:   defaultChunkRows,
		CacheBudget: budget,
		TempDir:     tmp,
		ReadWorkers: br.threads,
		OnProgress:  pr.update,
		HostLeiden:  br.hostLeiden,
	}
	fmt.Fprintf(stderr, "run %d of %d: %s on %s, %d cells, until %s\n", br.run, br.repeat, br.c.api, br.c.Device().Name, in.NObs, br.step)
	params := pipeline.DefaultParams()
	params.UMAPInit, params.NProbes, params.KNNRefine = br.umapInit, br.nProbes, br.refine
	devs := []backend.Backend{br.c.Backend}
	for _, m := range br.more {
		devs = append(devs, m.Backend)
	}
	r, runErr := pipeline.RunDevices(br.ctx, devs, in, outStore, params, opt)
	pr.finish()
	if runErr != nil {
		return benchRunSummary{}, runErr
	}
	rep := &r.Report
	res.Report = rep
	res.Notebook = notebookTable(rep, br.step)
	if br.quality && br.step >= pipeline.StepLeiden {
		opt := pipeline.QualityOptions{Seed: 1}
		if qs, ok := br.c.Backend.(pipeline.QuerySearcher); ok {
			opt.Searcher = qs
		}
		fmt.Fprintf(stderr, "measuring the results' quality\n")
		q, err := r.Quality(opt)
		if err != nil {
			return benchRunSummary{}, fmt.Errorf("--quality: %w", err)
		}
		if g := r.Graph; g != nil && g.LeidenOn != "host" {
			fmt.Fprintf(stderr, "running the host Leiden on the same graph for the partitions' agreement\n")
			la, err := r.CompareHostLeiden()
			if err != nil {
				return benchRunSummary{}, fmt.Errorf("--quality: %w", err)
			}
			q.LeidenHost = &la
		}
		res.Quality = &q
	}

	slug := deviceSlug(rep.Device)
	if len(br.more) > 0 {
		slug += fmt.Sprintf("-x%d", len(br.more)+1) // several devices
	}
	name, err := resultName(outDir, date, br.c.api, slug, in.NObs, br.cold)
	if err != nil {
		return benchRunSummary{}, err
	}
	if err := writeJSONFile(name, res); err != nil {
		return benchRunSummary{}, err
	}

	cache := "warm page cache"
	if br.cold {
		cache = "cold page cache"
	}
	fmt.Fprintf(stdout, "\n%s, %s: %d cells, run %d of %d, %s\n\n", rep.Backend, rep.Device, rep.CellsIn, br.run, br.repeat, cache)
	printNotebookTable(stdout, res.Notebook, rep)
	if q := res.Quality; q != nil {
		fmt.Fprintf(stdout, "quality: kNN recall@%d %.4f (%d cells against an exact search on the %s), UMAP trustworthiness %.4f and neighbour preservation %.4f (%d cells), Leiden modularity %.4f; %.1f s\n",
			q.K, q.RecallAtK, q.Queries, q.ExactOn, q.Trustworthiness, q.NeighbourPreservation, q.TrustCells, q.Modularity, q.Seconds)
		if la := q.LeidenHost; la != nil {
			fmt.Fprintf(stdout, "leiden: the host's partition of the same graph has %d clusters, modularity %.4f (%.1f s); adjusted Rand index against this run's %.4f\n",
				la.Clusters, la.Modularity, la.Seconds, la.ARI)
		}
	}
	fmt.Fprintf(stdout, "wrote %s\n", name)

	sum := benchRunSummary{backend: rep.Backend, device: rep.Device, file: name, run: br.run, cold: br.cold,
		qcPCA: -1, graph: -1, whole: -1, wall: rep.Seconds}
	for _, row := range res.Notebook {
		if row.Seconds == nil {
			continue
		}
		switch row.Step {
		case "QC through PCA":
			sum.qcPCA = *row.Seconds
		case "whole run":
			sum.whole = *row.Seconds
		}
	}
	if sum.whole >= 0 && sum.qcPCA >= 0 {
		sum.graph = sum.whole - sum.qcPCA
	}
	return sum, nil
}

// notebookRow is one row of the notebook's table with our seconds beside.
type notebookRow struct {
	Step     string   `json:"step"`
	Seconds  *float64 `json:"seconds"` // null when the run stopped before it
	Notebook float64  `json:"notebook_seconds"`
	// From are the report's steps whose wall seconds make the row.
	From []string `json:"from"`
}

// notebookRows are the published rapids-singlecell figures for 1.3M cells
// (QC through PCA on two GPUs with Dask) and the report steps that cover
// the same work; need is the last step a run must reach for the row.
var notebookRows = []struct {
	step    string
	seconds float64
	from    []string
	need    pipeline.Step
}{
	{"QC", 7.4, []string{"pass 1"}, pipeline.StepQC},
	{"HVG", 6.0, []string{"hvg"}, pipeline.StepHVG},
	{"scale", 6.0, []string{"pass 2"}, pipeline.StepPCA},
	{"PCA", 14.5, []string{"pca eigen", "pass 3"}, pipeline.StepPCA},
	{"QC through PCA", 34.4, []string{"pass 1", "hvg", "pass 2", "pca eigen", "pass 3"}, pipeline.StepPCA},
	{"neighbors", 2.13, []string{"neighbors"}, pipeline.StepNeighbors},
	{"UMAP", 0.80, []string{"umap"}, pipeline.StepUMAP},
	{"Leiden", 2.86, []string{"leiden"}, pipeline.StepLeiden},
	{"whole run", 40.19, []string{"pass 1", "hvg", "pass 2", "pca eigen", "pass 3", "neighbors", "umap", "leiden"}, pipeline.StepLeiden},
}

// notebookFootnote says how the report's steps map onto the notebook's rows.
const notebookFootnote = `How the rows map: scbench streams the store in passes that fuse the
notebook's steps, so only "QC through PCA" and the graph steps compare like
with like. QC = pass 1, which also filters, normalizes, log1p's and gathers
the per-gene statistics (in the notebook normalize and log1p sit in the HVG
cell); HVG = the cell_ranger selection on the host only; scale = pass 2,
which subsets the highly variable genes, scales, and accumulates Z^T Z
(the first half of PCA; a GPU without a vendor BLAS keeps Z for the
matrix-free eigensolve instead), and with --write writes X of the output store; PCA = the
eigensolve and pass 3 (X_pca). "whole run" adds these rows (the notebook's 40.2 s is its
step times added up); writing obs/var/obsm and the UMAP picture are left out
of it but in the run's wall time. The notebook ran QC through PCA on two GPUs
with Dask, the graph steps on one; scbench uses one device throughout.`

// notebookTable maps a report onto the notebook's rows.
func notebookTable(rep *pipeline.Report, until pipeline.Step) []notebookRow {
	secs := map[string]float64{}
	for _, s := range rep.Steps {
		secs[s.Name] += s.Seconds
	}
	rows := make([]notebookRow, len(notebookRows))
	for i, nr := range notebookRows {
		rows[i] = notebookRow{Step: nr.step, Notebook: nr.seconds, From: nr.from}
		if until < nr.need {
			continue
		}
		total, ok := 0.0, true
		for _, f := range nr.from {
			v, have := secs[f]
			ok = ok && have
			total += v
		}
		if ok {
			rows[i].Seconds = &total
		}
	}
	return rows
}

// printNotebookTable prints the rows like the notebook's timings, with the
// ratio to the published figure.
func printNotebookTable(w io.Writer, rows []notebookRow, rep *pipeline.Report) {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-16s %11s %11s  %-14s %s\n", "step", "scbench s", "notebook s", "vs notebook", "scbench steps")
	for _, r := range rows {
		ours, vs := "-", ""
		if r.Seconds != nil {
			ours = fmt.Sprintf("%.2f", *r.Seconds)
			vs = speedup(*r.Seconds, r.Notebook)
		}
		from := strings.Join(r.From, " + ")
		if len(r.From) > 2 {
			from = r.From[0] + " .. " + r.From[len(r.From)-1]
		}
		fmt.Fprintf(bw, "%-16s %11s %11.2f  %-14s %s\n", r.Step, ours, r.Notebook, vs, from)
	}
	fmt.Fprintf(bw, "run wall time, writing and picture included: %.2f s; peak memory %s; %s read\n",
		rep.Seconds, pipeline.FormatBytes(rep.PeakRSS), pipeline.FormatBytes(rep.BytesRead))
	for _, m := range rep.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", m)
	}
	bw.Flush()
}

// speedup says how ours compares with the notebook's seconds.
func speedup(ours, theirs float64) string {
	switch {
	case ours <= 0 || theirs <= 0:
		return ""
	case ours <= theirs:
		return fmt.Sprintf("%.1fx faster", theirs/ours)
	}
	return fmt.Sprintf("%.1fx slower", ours/theirs)
}

// printBenchSummary prints one line per run and the footnote.
func printBenchSummary(w io.Writer, runs []benchRunSummary) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n\n", notebookFootnote)
	if len(runs) < 2 {
		return
	}
	fmt.Fprintf(w, "%-7s %-28s %4s %5s %11s %9s %11s %9s\n", "backend", "device", "run", "cache", "QC..PCA s", "graph s", "whole run s", "wall s")
	sec := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, r := range runs {
		cache := "warm"
		if r.cold {
			cache = "cold"
		}
		dev := r.device
		if len(dev) > 28 {
			dev = dev[:27] + "~"
		}
		fmt.Fprintf(w, "%-7s %-28s %4d %5s %11s %9s %11s %9.2f\n", r.backend, dev, r.run, cache, sec(r.qcPCA), sec(r.graph), sec(r.whole), r.wall)
	}
}

// resultName picks OUT/<date>-<backend>-<device>-<cells>[-cold][-N].json,
// never an existing file's name.
func resultName(dir string, date time.Time, api, slug string, cells int, cold bool) (string, error) {
	base := fmt.Sprintf("%s-%s-%s-%s", date.Format("2006-01-02"), api, slug, cellsTag(cells))
	if cold {
		base += "-cold"
	}
	for n := 1; n < 10000; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		p := filepath.Join(dir, name+".json")
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free result name for %s in %s", base, dir)
}

// cellsTag writes a cell count as the result notes do: 1300k, 100k, 1500.
func cellsTag(cells int) string {
	if cells >= 1000 && cells%1000 == 0 {
		return fmt.Sprintf("%dk", cells/1000)
	}
	return strconv.Itoa(cells)
}

// deviceSlug makes a file-name part of a device name: "NVIDIA H200" ->
// "nvidia-h200", "2 CPU cores (AMD EPYC 7B13)" -> "2-cpu-cores-amd-epyc-7b13".
func deviceSlug(name string) string {
	s := strings.ToLower(name)
	for _, junk := range []string{"(r)", "(tm)", "(c)"} {
		s = strings.ReplaceAll(s, junk, "")
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := b.String()
	const maxLen = 48
	if len(out) > maxLen {
		out = out[:maxLen]
		if i := strings.LastIndexByte(out, '-'); i > 0 {
			out = out[:i]
		}
	}
	if out == "" {
		return "device"
	}
	return out
}

// writeJSONFile writes v as indented JSON, atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the result: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the result: %w", err)
	}
	return nil
}

// machine describes the host a result came from.
type machine struct {
	Hostname    string `json:"hostname"`
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel,omitempty"`
	GoVersion   string `json:"go_version"`
	// Revision is scbench's git commit, with "+modified" for a dirty tree,
	// from the binary's build information ("" when built without it, as
	// test binaries are).
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revision_time,omitempty"`
}

func machineInfo() machine {
	m := machine{Cores: runtime.NumCPU(), MemoryBytes: hostMemory(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: cpuModelName()}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS += ", " + strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				m.Revision = s.Value
			case "vcs.time":
				m.RevisionTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && m.Revision != "" {
			m.Revision += "+modified"
		}
	}
	return m
}

// cpuModelName is /proc/cpuinfo's "model name" ("" when unknown).
func cpuModelName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// hostMemory is MemTotal of /proc/meminfo in bytes (0 when unknown).
func hostMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// dropCache asks the kernel to forget the store's pages and says what
// happened.
func dropCache(store string) string {
	st, err := dropStoreCache(store)
	if err != nil {
		return fmt.Sprintf("could not drop the page cache: %v", err)
	}
	s := fmt.Sprintf("dropped the page cache of %s (%s, posix_fadvise DONTNEED)", plural(st.files, "file"), pipeline.FormatBytes(st.bytes))
	if st.residentAfter >= 0 && st.bytes > 0 {
		s += fmt.Sprintf("; %.1f%% of the store was cached before, %.1f%% after",
			100*float64(st.residentBefore)/float64(st.bytes), 100*float64(st.residentAfter)/float64(st.bytes))
	}
	return s
}

// cacheDrop is what dropStoreCache did.
type cacheDrop struct {
	files                         int
	bytes                         int64
	residentBefore, residentAfter int64 // bytes in the page cache; -1 when unknown
}
