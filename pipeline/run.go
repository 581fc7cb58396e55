package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
)

// Result holds everything a run computed, in memory, whether or not it was
// written to a store. Fields of steps after Options.Until are nil.
type Result struct {
	Obs ObsQC // every input cell
	Var VarQC // every input gene

	// Genes are the mean and unbiased variance of every input gene over
	// the kept cells after normalize_total and log1p (HVG's input).
	Genes *GeneStats
	// HVG is the cell_ranger table over every input gene.
	HVG *HVG
	// HVGIndex are the input indices of the selected genes: the output's
	// genes, in input order.
	HVGIndex []int
	// ScaleMean and ScaleStd are scale's var columns "mean" and "std" for
	// the selected genes; X / ScaleStd is the scaled matrix.
	ScaleMean, ScaleStd []float64
	PCA                 *PCAResult
	Graph               *GraphResult // neighbors, umap, leiden

	Report Report
}

// PCAResult is pca(n_comps, zero_center=True) of the scaled HVG matrix.
type PCAResult struct {
	NComps        int
	Variance      []float64 // eigenvalues of the covariance (ddof=1)
	VarianceRatio []float64 // Variance / total variance of the scaled data
	TotalVariance float64
	// Loadings are varm["PCs"]: len(HVGIndex) x NComps, row-major.
	Loadings []float64
	// Scores are obsm["X_pca"]: kept cells x NComps, row-major.
	Scores []float32
}

// Run runs the workflow on the opened store in with backend b, as
// described in the package documentation, and writes the result to the
// AnnData zarr store out (nothing is written when out is ""). It returns
// what it computed, with a report, also when writing fails.
func Run(ctx context.Context, b backend.Backend, in *anndata.File, out string, p Params, opt Options) (*Result, error) {
	return run(ctx, b, fileSource{in}, out, p, opt)
}

// source is what a run reads: the shape, row chunks of X, obs and var.
// *anndata.File provides it; tests use matrices in memory.
type source interface {
	path() string
	shape() (nObs, nVar int, nnz int64)
	chunks(ctx context.Context, opt anndata.StreamOptions) chunkIter
	obs() (*anndata.Frame, error)
	vars() (*anndata.Frame, error)
	// storedBytes is the size of X in the store (0 when unknown).
	storedBytes() int64
}

// chunkIter is anndata.ChunkReader's interface.
type chunkIter interface {
	Next() bool
	Chunk() anndata.Chunk
	// Release hands a chunk's memory back for a later chunk: only once
	// nothing refers to it (the CPU backend's Upload shares it).
	Release(anndata.Chunk)
	Err() error
	Close() error
}

type fileSource struct{ f *anndata.File }

func (s fileSource) path() string                  { return s.f.Path }
func (s fileSource) shape() (int, int, int64)      { return s.f.NObs, s.f.NVar, s.f.NNZ }
func (s fileSource) obs() (*anndata.Frame, error)  { return s.f.Obs() }
func (s fileSource) vars() (*anndata.Frame, error) { return s.f.Var() }
func (s fileSource) storedBytes() int64            { return storedBytes(filepath.Join(s.f.Path, "X")) }
func (s fileSource) chunks(ctx context.Context, opt anndata.StreamOptions) chunkIter {
	return s.f.RowChunks(ctx, opt)
}

func run(ctx context.Context, b backend.Backend, src source, out string, p Params, opt Options) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	nObs, nVar, nnz := src.shape()
	if nObs == 0 || nVar == 0 {
		return nil, fmt.Errorf("pipeline: %s holds %d cells x %d genes: nothing to do", src.path(), nObs, nVar)
	}
	r := &runner{ctx: ctx, b: b, in: src, nObs: nObs, nVar: nVar, p: p, opt: opt, until: opt.until(), res: &Result{}}
	r.startReport(b.Device(), b.Device().Name, out, nnz)
	start := time.Now()
	err := r.run(out)
	rep := &r.res.Report
	rep.Seconds = time.Since(start).Seconds()
	rep.PeakRSS = PeakRSS()
	if pm, ok := b.(interface{ PeakMemory() int64 }); ok {
		rep.PeakDeviceBytes = pm.PeakMemory()
	}
	return r.res, err
}

// startReport fills the report's description of the run: the backend and
// its device (named deviceName), the input and output, the parameters and
// the input's size.
func (r *runner) startReport(dev backend.Device, deviceName, out string, nnz int64) {
	r.res.Report = Report{
		Backend:   dev.Backend,
		Device:    deviceName,
		Threads:   dev.Threads,
		Input:     r.in.path(),
		Output:    out,
		Params:    r.p,
		Until:     r.until.String(),
		ChunkRows: r.opt.chunkRows(),
		CellsIn:   r.nObs,
		GenesIn:   r.nVar,
		NNZIn:     nnz,
	}
	r.xBytes = r.in.storedBytes()
}

type runner struct {
	ctx    context.Context
	b      backend.Backend
	in     source
	nObs   int
	nVar   int
	p      Params
	opt    Options
	until  Step
	res    *Result
	xBytes int64 // compressed bytes of X in the store

	// more are the devices beside b (RunDevices): the kNN search is
	// shared with them (knnshard.go), in shares of knnShare cells (0:
	// knnShareCells; tests make it small).
	more     []backend.Backend
	knnShare int

	// pass2Needed: pass 2 will run (an output store, or PCA).
	pass2Needed bool
	// held are pass 1's chunks kept for pass 2 (nil: pass 2 re-reads the
	// store), normalized and log1p'd when heldNormalized; see held.go.
	held           []anndata.Chunk
	heldNormalized bool
	// devHeld are pass 1's chunks kept on a GPU for pass 2, and zDev the
	// scaled HVG matrix kept there for PCA (resident.go); zResident is
	// set before pass 2 when Z stays on the device.
	devHeld   []devChunk
	zDev      []backend.CSR
	zResident bool
	// keptNNZ is each input gene's non-zero count over the kept cells.
	keptNNZ []int64
	// matrixFree: PCA applies the covariance through the cached Z instead
	// of forming it (see pcapath.go); pass 2 then skips the Gram matrix.
	matrixFree bool
	// pcaParts are the timed parts of the eigensolve (matrix-free path).
	pcaParts map[string]float64

	w     *anndata.Writer
	cache *matrixCache  // the scaled HVG matrix Z, pass 2 to pass 3
	gram  backend.Dense // Z^T Z, then the covariance
	// gramRank numbers the HVG genes in the Gram matrix (nil: as in Z),
	// where the backend is a backend.GramOrderer: see gramOrder.
	gramRank []int32
	zStats   backend.ColStats // column sums and sums of squares of Z
	z        *GeneStats       // mean and variance of Z's columns
}

func (r *runner) warn(format string, a ...any) {
	r.res.Report.Warnings = append(r.res.Report.Warnings, fmt.Sprintf(format, a...))
}

func (r *runner) run(out string) (err error) {
	defer func() {
		r.freeDevice()
		if r.cache != nil {
			if cerr := r.cache.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}
		if r.gram.Data != nil {
			r.gram.Data.Free()
		}
		if err != nil && r.w != nil {
			r.w.Abort()
		}
	}()

	return r.steps(out, passes{r.pass1, r.pass2, r.pca})
}

// passes are the data passes of a run: on one device (runner's) or on
// several (multi's); the steps around them are the same.
type passes struct {
	pass1, pass2, pca func() error
}

// steps runs the workflow up to r.until with the given passes: pass 1,
// HVG, scale's statistics, pass 2 (and the output's X), PCA, the graph
// steps, the output store's annotations and the picture.
func (r *runner) steps(out string, ps passes) (err error) {
	rep := &r.res.Report
	r.pass2Needed = out != "" || r.until >= StepPCA
	if err := ps.pass1(); err != nil {
		return err
	}
	collectChunks()
	if r.until >= StepHVG {
		sw := startWatch()
		if err := r.selectGenes(); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, sw.step("hvg", "highly_variable_genes(flavor=cell_ranger) on the host"))
	}
	if r.until >= StepScale {
		g := r.res.Genes
		r.res.ScaleMean = make([]float64, len(r.res.HVGIndex))
		variance := make([]float64, len(r.res.HVGIndex))
		for k, j := range r.res.HVGIndex {
			r.res.ScaleMean[k] = g.Mean[j]
			variance[k] = g.Variance[j]
		}
		r.res.ScaleStd = ScaleStd(variance)
	}

	nObs, nVar := r.outShape()
	rep.CellsOut, rep.GenesOut = nObs, nVar
	if out != "" {
		r.w, err = anndata.Create(out, nObs, nVar, nil)
		if err != nil {
			return fmt.Errorf("pipeline: creating the output store: %w", err)
		}
	}
	if r.w != nil || r.until >= StepPCA {
		if err := ps.pass2(); err != nil {
			return err
		}
		collectChunks()
	}
	if r.until >= StepPCA {
		if err := ps.pca(); err != nil {
			return err
		}
	}
	for _, st := range []struct {
		step Step
		run  func() error
	}{{StepNeighbors, r.neighbors}, {StepUMAP, r.umap}, {StepLeiden, r.leiden}} {
		if r.until >= st.step {
			if err := st.run(); err != nil {
				return err
			}
		}
	}
	if r.w != nil {
		sw := startWatch()
		if err := r.writeAnnotations(); err != nil {
			return err
		}
		if err := r.w.Close(); err != nil {
			r.w = nil // a failed Close has removed the temporary store
			return fmt.Errorf("pipeline: finishing the output store %s: %w", out, err)
		}
		r.w = nil
		rep.Steps = append(rep.Steps, sw.step("write", "obs, var, obsm, varm, obsp, uns; close the store"))
	}
	if r.until >= StepLeiden && r.opt.Picture != "" {
		sw := startWatch()
		if err := r.res.UMAPPicture(r.opt.Picture); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, sw.step("picture", "sc.pl.umap(color=\"leiden\") as "+r.opt.Picture))
	}
	return nil
}

// collectChunks runs the garbage collector at the end of a pass. The
// pass's chunk buffers (hundreds of megabytes) became garbage when its
// reader closed; left to the next collection, they would still be held
// when the next step makes its own large buffers, which would then come
// fresh from the OS, each page faulted in and zeroed by the kernel (about
// 0.35 s a GiB on one core of the development VM; the eigensolve's float32
// copy of a 5,000-gene covariance took 170 ms instead of 32). Collected,
// their memory is reused. The heap holds few pointers, so a collection
// takes a millisecond or two.
func collectChunks() {
	runtime.GC()
}

// outShape is the shape of X in the output: every cell and gene after qc,
// the kept cells after the filter, and the selected genes after hvg.
func (r *runner) outShape() (int, int) {
	nObs, nVar := r.nObs, r.nVar
	if r.until >= StepFilter {
		nObs = r.res.Obs.NKept
	}
	if r.until >= StepHVG {
		nVar = len(r.res.HVGIndex)
	}
	return nObs, nVar
}

// bufSet holds the per-row device buffers of a chunk of a given height.
type bufSet struct {
	rows           int
	rowSum, factor backend.Buffer // Float64
	rowNNZ         backend.Buffer // Int32
	mask           backend.Buffer // Uint8
	hostSum        []float64
	hostNNZ        []int32
	hostMask       []uint8
	hostFactor     []float64
}

func (s *bufSet) free() {
	for _, b := range []backend.Buffer{s.rowSum, s.factor, s.rowNNZ, s.mask} {
		if b != nil {
			b.Free()
		}
	}
}

// bufCache keeps one bufSet per chunk height: all chunks but the last have
// the same height, so there are at most two.
type bufCache struct {
	b    backend.Backend
	sets map[int]*bufSet
	kept sizedBuf // Float64 factors of the kept rows of a chunk (pass 2)
}

func (c *bufCache) get(rows int) (*bufSet, error) {
	if c.kept.b == nil {
		c.kept = sizedBuf{b: c.b, kind: backend.Float64}
	}
	if s, ok := c.sets[rows]; ok {
		return s, nil
	}
	if c.sets == nil {
		c.sets = map[int]*bufSet{}
	}
	s := &bufSet{rows: rows}
	var err error
	alloc := func(k backend.Kind) backend.Buffer {
		if err != nil {
			return nil
		}
		var buf backend.Buffer
		buf, err = c.b.Alloc(k, rows)
		return buf
	}
	s.rowSum, s.factor = alloc(backend.Float64), alloc(backend.Float64)
	s.rowNNZ, s.mask = alloc(backend.Int32), alloc(backend.Uint8)
	if err != nil {
		s.free()
		return nil, err
	}
	s.hostSum, s.hostNNZ = make([]float64, rows), make([]int32, rows)
	s.hostMask, s.hostFactor = make([]uint8, rows), make([]float64, rows)
	c.sets[rows] = s
	return s, nil
}

func (c *bufCache) free() {
	for _, s := range c.sets {
		s.free()
	}
	c.sets = nil
	c.kept.free()
}

// sizedBuf is a device buffer whose length follows what the current chunk
// needs: it is reallocated only when that changes.
type sizedBuf struct {
	b    backend.Backend
	kind backend.Kind
	buf  backend.Buffer
}

func (s *sizedBuf) get(n int) (backend.Buffer, error) {
	if s.buf != nil && s.buf.Len() == n {
		return s.buf, nil
	}
	s.free()
	buf, err := s.b.Alloc(s.kind, n)
	if err != nil {
		return nil, err
	}
	s.buf = buf
	return buf, nil
}

func (s *sizedBuf) free() {
	if s.buf != nil {
		s.buf.Free()
		s.buf = nil
	}
}

// allocF64 allocates and zeroes a Float64 accumulator.
func allocF64(b backend.Backend, n int) (backend.Buffer, error) { return b.Alloc(backend.Float64, n) }

// progress reports a chunk done.
func (r *runner) progress(pass string, done, total, rows int, start time.Time) {
	if r.opt.OnProgress != nil {
		r.opt.OnProgress(Progress{Pass: pass, Done: done, Total: total, Rows: rows, Elapsed: time.Since(start)})
	}
}

// chunkCount is the number of chunks of the given height over n rows.
func chunkCount(n, rows int) int { return (n + rows - 1) / rows }

// stream opens a chunked read of the input's X.
func (r *runner) stream() chunkIter {
	r.res.Report.BytesRead += r.xBytes
	return r.in.chunks(r.ctx, anndata.StreamOptions{Rows: r.opt.chunkRows(), Workers: r.opt.ReadWorkers})
}

// chunkErr wraps an error of chunk c of the input.
func (r *runner) chunkErr(c anndata.Chunk, what string, err error) error {
	return fmt.Errorf("pipeline: %s, rows %d-%d of %s: %w", what, c.Start, c.Start+c.Rows, r.in.path(), err)
}

// checkChunk guards against a reader that skips or repeats rows.
func (r *runner) checkChunk(c anndata.Chunk, next int) error {
	if c.CSR == nil || c.Start != next || c.Start+c.Rows > r.nObs || c.Cols != r.nVar {
		var rows, cols int
		if c.CSR != nil {
			rows, cols = c.Rows, c.Cols
		}
		return fmt.Errorf("pipeline: reading %s: got a chunk of %d x %d at row %d, want row %d of %d x %d", r.in.path(), rows, cols, c.Start, next, r.nObs, r.nVar)
	}
	return nil
}

// storedBytes sums the sizes of the files under dir (the X arrays).
func storedBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n
}

// errCanceled wraps the context's error with where the run stopped.
func (r *runner) canceled(pass string) error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("pipeline: %s: %w", pass, err)
	}
	return nil
}

// rowsErr is chunkErr for a chunk known by its rows.
func (r *runner) rowsErr(start, rows int, what string, err error) error {
	return fmt.Errorf("pipeline: %s, rows %d-%d of %s: %w", what, start, start+rows, r.in.path(), err)
}
