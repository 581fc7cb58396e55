package pipeline

import (
	"fmt"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

const (
	pass1Name = "pass 1: qc, filter, normalize, log1p, gene statistics"
	pass2Name = "pass 2: filter, normalize, log1p, HVG subset, Gram matrix"
	pass3Name = "pass 3: PCA scores"
)

// pass1 streams the raw store once and computes the QC columns of cells and
// genes, the filter mask and, over the kept cells after normalize_total and
// log1p, every gene's sum and sum of squares.
func (r *runner) pass1() (err error) {
	b := r.b
	sw := startWatch()
	res := r.res
	res.Obs = ObsQC{NGenesByCounts: make([]int32, r.nObs), TotalCounts: make([]float64, r.nObs), Keep: make([]bool, r.nObs)}

	normalize := r.until >= StepNormalize
	var all, kept backend.ColStats
	defer func() {
		for _, buf := range []backend.Buffer{all.Sum, all.NNZ, kept.Sum, kept.SumSq, kept.NNZ} {
			if buf != nil {
				buf.Free()
			}
		}
	}()
	if all.Sum, err = allocF64(b, r.nVar); err != nil {
		return err
	}
	if all.NNZ, err = b.Alloc(backend.Int64, r.nVar); err != nil {
		return err
	}
	if normalize {
		if kept.Sum, err = allocF64(b, r.nVar); err != nil {
			return err
		}
		if kept.SumSq, err = allocF64(b, r.nVar); err != nil {
			return err
		}
		// Each gene's non-zero count over the kept cells: the size of the
		// HVG matrix, known before pass 2 makes it (see pcaPath).
		if kept.NNZ, err = b.Alloc(backend.Int64, r.nVar); err != nil {
			return err
		}
	}
	r.holdChunks()
	bufs := &bufCache{b: b}
	defer bufs.free()

	total := chunkCount(r.nObs, r.opt.chunkRows())
	start := time.Now()
	chunks := r.stream()
	defer chunks.Close()
	next, done := 0, 0
	var nnz int64
	// Where pass 1's time goes: waiting for the reader's next chunk, and
	// the chunk's work (its upload included).
	pt := newPartTimer(b)
	waitFrom := time.Now()
	for chunks.Next() {
		pt.parts["waiting for the reader"] += time.Since(waitFrom).Seconds()
		c := chunks.Chunk()
		if err := r.checkChunk(c, next); err != nil {
			return err
		}
		nnz += c.NNZ()
		if err := pt.time("chunk work", func() error { return r.pass1Chunk(c, bufs, all, kept, normalize) }); err != nil {
			return err
		}
		next += c.Rows
		if r.held == nil {
			// Nothing refers to the chunk any more (held on a device, it
			// is a copy): the reader decodes a later chunk into it rather
			// than allocating and zeroing another.
			chunks.Release(c)
		}
		waitFrom = time.Now()
		done++
		r.progress(pass1Name, done, total, next, start)
		if err := r.canceled(pass1Name); err != nil {
			return err
		}
	}
	if err := chunks.Err(); err != nil {
		return fmt.Errorf("pipeline: %s: %w", pass1Name, err)
	}
	if next != r.nObs {
		return fmt.Errorf("pipeline: %s: the store %s ended after %d of its %d rows", pass1Name, r.in.path(), next, r.nObs)
	}
	if r.res.Report.NNZIn == 0 {
		r.res.Report.NNZIn = nnz
	}

	res.Var = VarQC{NCells: r.nObs, NCellsByCounts: make([]int64, r.nVar), TotalCounts: make([]float64, r.nVar)}
	if err := b.Read(res.Var.TotalCounts, all.Sum); err != nil {
		return err
	}
	if err := b.Read(res.Var.NCellsByCounts, all.NNZ); err != nil {
		return err
	}
	if normalize {
		sum, sumSq := make([]float64, r.nVar), make([]float64, r.nVar)
		if err := b.Read(sum, kept.Sum); err != nil {
			return err
		}
		if err := b.Read(sumSq, kept.SumSq); err != nil {
			return err
		}
		r.keptNNZ = make([]int64, r.nVar)
		if err := b.Read(r.keptNNZ, kept.NNZ); err != nil {
			return err
		}
		g := NewGeneStats(sum, sumSq, res.Obs.NKept)
		res.Genes = &g
	}
	if r.until >= StepFilter && res.Obs.NKept == 0 {
		return fmt.Errorf("pipeline: no cell of %s has between %d and %d genes (min_genes, max_genes): lower min_genes or raise max_genes", r.in.path(), r.p.MinGenes, r.p.MaxGenes)
	}
	st := sw.step("pass 1", "calculate_qc_metrics, filter, normalize_total, log1p, gene means/variances")
	st.Rows, st.NNZ = next, nnz
	st.Parts = pt.parts
	r.res.Report.Steps = append(r.res.Report.Steps, st)
	return nil
}

// fusedPasses is implemented by backends (the CPU one) that do the
// per-chunk work of passes 1 and 2 in one sweep over a chunk rather than
// one per operation, with the same results bit for bit (see
// backend/cpu/fused.go).
type fusedPasses interface {
	// QCNormalizeLog1p is RowStats, then, with the factor and keep flag
	// that decide returns for each row, ColStats(all), ScaleRows, Log1p
	// (stored into m when write is set) and ColStats(kept) over the kept
	// rows; without kept.Sum, RowStats and ColStats(all) only.
	QCNormalizeLog1p(m backend.CSR, decide func(sum float64, nnz int32) (factor float64, keep bool), rowSum []float64, rowNNZ []int32, keep []bool, all, kept backend.ColStats, write bool) error
	// SelectNormalize is SelectCols, SelectRows, then ScaleRows and Log1p
	// when rowFactor is set and ScaleCols when colFactor is set.
	// Its arrays are reuse's where they are large enough.
	SelectNormalize(m backend.CSR, newIndex []int32, newCols int, keep []bool, rowFactor, colFactor []float64, reuse *sparse.CSR) (backend.CSR, error)
}

// pass1Chunk does pass 1's work on one chunk.
func (r *runner) pass1Chunk(c anndata.Chunk, bufs *bufCache, all, kept backend.ColStats, normalize bool) error {
	b, res := r.b, r.res
	m, err := b.Upload(c.CSR)
	if err != nil {
		return r.chunkErr(c, "uploading", err)
	}
	if fb, ok := b.(fusedPasses); ok && r.devHeld == nil {
		defer m.Free()
		return r.pass1Fused(fb, c, m, all, kept, normalize)
	}
	keep := false // m is held on the device for pass 2
	defer func() {
		if !keep {
			m.Free()
		}
	}()
	s, err := bufs.get(c.Rows)
	if err != nil {
		return err
	}
	if err := b.RowStats(m, backend.RowStats{Sum: s.rowSum, NNZ: s.rowNNZ}); err != nil {
		return r.chunkErr(c, "row statistics", err)
	}
	if err := b.ColStats(m, nil, all); err != nil {
		return r.chunkErr(c, "gene statistics", err)
	}
	tot := res.Obs.TotalCounts[c.Start : c.Start+c.Rows]
	ngenes := res.Obs.NGenesByCounts[c.Start : c.Start+c.Rows]
	if err := b.Read(tot, s.rowSum); err != nil {
		return err
	}
	if err := b.Read(ngenes, s.rowNNZ); err != nil {
		return err
	}
	for i, n := range ngenes {
		k := r.p.keep(n)
		res.Obs.Keep[c.Start+i] = k
		s.hostMask[i] = 0
		if k {
			s.hostMask[i] = 1
			res.Obs.NKept++
		}
		s.hostFactor[i] = normalizeFactor(tot[i], r.p.TargetSum)
	}
	if normalize {
		if err := b.Write(s.mask, s.hostMask); err != nil {
			return err
		}
		if err := b.Write(s.factor, s.hostFactor); err != nil {
			return err
		}
		if err := b.ScaleRows(m, s.factor); err != nil {
			return r.chunkErr(c, "normalize_total", err)
		}
		if err := b.Log1p(m); err != nil {
			return r.chunkErr(c, "log1p", err)
		}
		if err := b.ColStats(m, s.mask, kept); err != nil {
			return r.chunkErr(c, "gene statistics of kept cells", err)
		}
	}
	if r.devHeld != nil {
		r.devHeld = append(r.devHeld, devChunk{start: c.Start, m: m})
		keep = true
		return nil
	}
	if r.held != nil {
		// What pass 2 would re-read and redo: the chunk as it is now
		// (normalized and log1p'd when normalize is set).
		h, err := b.Download(m)
		if err != nil {
			return r.chunkErr(c, "downloading", err)
		}
		r.held = append(r.held, anndata.Chunk{Start: c.Start, CSR: h})
	}
	return nil
}

// pass1Fused is pass1Chunk on a backend with fused kernels: one sweep over
// the chunk, the per-cell results written straight into res.Obs.
func (r *runner) pass1Fused(fb fusedPasses, c anndata.Chunk, m backend.CSR, all, kept backend.ColStats, normalize bool) error {
	res := r.res
	tot := res.Obs.TotalCounts[c.Start : c.Start+c.Rows]
	ngenes := res.Obs.NGenesByCounts[c.Start : c.Start+c.Rows]
	keep := res.Obs.Keep[c.Start : c.Start+c.Rows]
	target := r.p.TargetSum
	decide := func(sum float64, nnz int32) (float64, bool) {
		return normalizeFactor(sum, target), r.p.keep(nnz)
	}
	if !normalize {
		kept = backend.ColStats{}
	}
	// Pass 2 re-reads the store unless the chunk is held: only then are
	// the normalized values needed after the gene statistics.
	write := normalize && r.held != nil
	if err := fb.QCNormalizeLog1p(m, decide, tot, ngenes, keep, all, kept, write); err != nil {
		return r.chunkErr(c, "qc, normalize_total, log1p and gene statistics", err)
	}
	res.Obs.NKept += rowsKept(keep)
	if r.held != nil {
		h, err := r.b.Download(m)
		if err != nil {
			return r.chunkErr(c, "downloading", err)
		}
		r.held = append(r.held, anndata.Chunk{Start: c.Start, CSR: h})
	}
	return nil
}

// selectGenes runs cell_ranger's selection on the host.
func (r *runner) selectGenes() error {
	g := r.res.Genes
	if g.N < 2 {
		return fmt.Errorf("pipeline: highly_variable_genes needs at least 2 kept cells, have %d", g.N)
	}
	h, err := HighlyVariableCellRanger(g.Mean, g.Variance, r.p.NTopGenes)
	if err != nil {
		return err
	}
	r.res.HVG = h
	r.res.HVGIndex = h.Selected()
	for _, w := range h.Warnings {
		r.warn("highly_variable_genes: %s", w)
	}
	return nil
}

// pass2 streams the raw store again and re-does filter, normalize_total and
// log1p on the kept cells restricted to the selected genes (cheaper than
// keeping every gene between the passes), and appends the result to the
// output's X. For PCA it then scales the chunk's columns by 1/std on the
// device (scale(zero_center=False)), adds the scaled chunk's column sums,
// sums of squares and Z^T Z to float64 accumulators, and keeps the scaled
// chunk in the cache for pass 3.
func (r *runner) pass2() (err error) {
	b, res := r.b, r.res
	sw := startWatch()
	_, nVar := r.outShape()
	pca := r.until >= StepPCA

	var newIndex, invStd backend.Buffer
	var fz fusedPass2
	defer func() {
		for _, buf := range []backend.Buffer{newIndex, invStd, r.zStats.Sum, r.zStats.SumSq} {
			if buf != nil {
				buf.Free()
			}
		}
		r.zStats = backend.ColStats{}
	}()
	if r.until >= StepHVG {
		idx := make([]int32, r.nVar)
		for j := range idx {
			idx[j] = -1
		}
		for k, j := range res.HVGIndex {
			idx[j] = int32(k)
		}
		if newIndex, err = b.Alloc(backend.Int32, r.nVar); err != nil {
			return err
		}
		if err := b.Write(newIndex, idx); err != nil {
			return err
		}
		if fb, ok := b.(fusedPasses); ok {
			fz = fusedPass2{fb: fb, newIndex: idx}
		}
	}
	if pca {
		inv := make([]float64, nVar)
		for j, s := range res.ScaleStd {
			inv[j] = 1 / s
		}
		if invStd, err = allocF64(b, nVar); err != nil {
			return err
		}
		if err := b.Write(invStd, inv); err != nil {
			return err
		}
		if fz.fb != nil && r.w == nil {
			// Nothing writes X: scale's 1/std can be applied as the chunk
			// is made.
			fz.invStd = inv
		}
		if r.zStats.Sum, err = allocF64(b, nVar); err != nil {
			return err
		}
		if r.zStats.SumSq, err = allocF64(b, nVar); err != nil {
			return err
		}
		var zNNZ int64
		for _, j := range res.HVGIndex {
			zNNZ += r.keptNNZ[j]
		}
		chunks := int64(chunkCount(r.nObs, r.opt.chunkRows()))
		r.cache = newMatrixCache(r.budget(), r.opt.TempDir)
		r.cache.expect(zNNZ*8 + (int64(res.Obs.NKept)+chunks)*8)
		r.zResident = r.zOnDevice(zNNZ)
		r.res.Report.ZOnDevice = r.zResident
		r.matrixFree = r.choosePCAPath()
		if !r.matrixFree {
			buf, err := allocF64(b, nVar*nVar)
			if err != nil {
				return fmt.Errorf("pipeline: allocating the %d x %d Gram matrix: %w", nVar, nVar, err)
			}
			r.gram = backend.Dense{Rows: nVar, Cols: nVar, Data: buf}
			if _, ok := b.(backend.GramOrderer); ok {
				r.gramRank = gramOrder(res.HVGIndex, r.keptNNZ)
			}
		}
	}
	bufs := &bufCache{b: b}
	defer bufs.free()

	total := chunkCount(r.nObs, r.opt.chunkRows())
	start := time.Now()
	next, done, rowsOut := 0, 0, 0
	var nnzOut int64
	if r.devHeld != nil {
		// Pass 1's chunks, on the device: each is handed over and dropped.
		for i := range r.devHeld {
			dc := r.devHeld[i]
			r.devHeld[i] = devChunk{}
			if dc.start != next {
				dc.m.Free()
				return fmt.Errorf("pipeline: %s: held chunk starts at row %d, want %d", pass2Name, dc.start, next)
			}
			rows, nnz, err := r.pass2Device(dc.start, dc.m, bufs, newIndex, invStd, nVar)
			if err != nil {
				return err
			}
			next += rows
			done++
			rowsOut += rowsKept(r.res.Obs.Keep[dc.start : dc.start+rows])
			nnzOut += nnz
			r.progress(pass2Name, done, total, next, start)
			if err := r.canceled(pass2Name); err != nil {
				return err
			}
		}
		r.devHeld = nil
		return r.pass2Done(sw, next, rowsOut, nnzOut, pca)
	}
	var chunks chunkIter
	if r.held != nil {
		chunks = &heldChunks{held: r.held, at: -1}
		r.held = nil // heldChunks drops each chunk once it is used
	} else {
		chunks = r.stream()
	}
	defer chunks.Close()
	for chunks.Next() {
		c := chunks.Chunk()
		if err := r.checkChunk(c, next); err != nil {
			return err
		}
		rows, nnz, err := r.pass2Chunk(c, bufs, newIndex, invStd, nVar, &fz)
		if err != nil {
			return err
		}
		next += c.Rows
		if r.until >= StepHVG {
			// SelectCols made new arrays and the writer copies: the raw
			// chunk is referred to no more.
			chunks.Release(c)
		}
		done++
		rowsOut += rows
		nnzOut += nnz
		r.progress(pass2Name, done, total, next, start)
		if err := r.canceled(pass2Name); err != nil {
			return err
		}
	}
	if err := chunks.Err(); err != nil {
		return fmt.Errorf("pipeline: %s: %w", pass2Name, err)
	}
	return r.pass2Done(sw, next, rowsOut, nnzOut, pca)
}

// rowsKept counts the kept cells of a chunk.
func rowsKept(keep []bool) int {
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	return n
}

// pass2Done checks pass 2's counts, reads Z's column statistics and
// records the step.
func (r *runner) pass2Done(sw stopwatch, next, rowsOut int, nnzOut int64, pca bool) error {
	b, res := r.b, r.res
	nObs, nVar := r.outShape()
	if next != r.nObs || rowsOut != nObs {
		return fmt.Errorf("pipeline: %s: read %d of %d rows of %s and made %d of %d output rows (did the store change since pass 1?)", pass2Name, next, r.nObs, r.in.path(), rowsOut, nObs)
	}
	res.Report.NNZOut = nnzOut
	if pca {
		res.Report.CacheBytes = r.cache.bytes
		res.Report.CacheDisk = r.cache.OnDisk()
		res.Report.CacheDirect = r.cache.DirectIO()
		if r.zResident {
			for _, m := range r.zDev {
				res.Report.CacheBytes += m.NNZ*8 + int64(m.Rows+1)*8
			}
			if err := r.joinZ(); err != nil {
				return err
			}
		}
		sum, sumSq := make([]float64, nVar), make([]float64, nVar)
		if err := b.Read(sum, r.zStats.Sum); err != nil {
			return err
		}
		if err := b.Read(sumSq, r.zStats.SumSq); err != nil {
			return err
		}
		z := NewGeneStats(sum, sumSq, rowsOut)
		r.z = &z
	}
	pcaWork := ""
	switch {
	case pca && r.matrixFree:
		pcaWork = "scale"
	case pca:
		pcaWork = "scale, Z^T Z"
	}
	st := sw.step("pass 2", r.pass2Covers(pcaWork))
	st.Rows, st.NNZ = rowsOut, nnzOut
	res.Report.Steps = append(res.Report.Steps, st)
	return nil
}

// pass2Chunk does pass 2's work on one chunk and returns the rows and
// values it output.
func (r *runner) pass2Chunk(c anndata.Chunk, bufs *bufCache, newIndex, invStd backend.Buffer, nVar int, fz *fusedPass2) (int, int64, error) {
	if r.until < StepFilter {
		// X stays the raw counts (the writer copies them).
		if err := r.w.AppendX(c.CSR); err != nil {
			return 0, 0, r.chunkErr(c, "writing X", err)
		}
		return c.Rows, c.NNZ(), nil
	}
	if fz.fb != nil {
		m, err := r.transformFused(c, nVar, fz)
		if err != nil {
			return 0, 0, r.chunkErr(c, pass2Name, err)
		}
		return r.pass2Matrix(c.Start, c.Rows, m, invStd, fz)
	}
	m, err := r.transform(c.Start, c.CSR, bufs, newIndex, nVar)
	if err != nil {
		return 0, 0, r.chunkErr(c, pass2Name, err)
	}
	return r.pass2Matrix(c.Start, c.Rows, m, invStd, nil)
}

// fusedPass2 is what pass 2 needs to make a chunk with the backend's fused
// kernel (fb nil: the separate operations): the host copies of the new
// gene indices and of scale's 1/std (nil when the writer needs X before
// scaling).
type fusedPass2 struct {
	fb       fusedPasses
	newIndex []int32
	invStd   []float64
	factor   []float64 // scratch: the kept rows' normalize_total factors
	// spare is the last chunk made, once the cache has written it to its
	// file and nothing refers to it: the next chunk is made in its arrays.
	spare *sparse.CSR
}

// transformFused is transform in one sweep (fusedPasses.SelectNormalize),
// the columns scaled too when fz.invStd is set.
func (r *runner) transformFused(c anndata.Chunk, nVar int, fz *fusedPass2) (backend.CSR, error) {
	res := r.res
	m, err := r.b.Upload(c.CSR)
	if err != nil {
		return backend.CSR{}, err
	}
	defer m.Free()
	keep := res.Obs.Keep[c.Start : c.Start+c.Rows]
	var factor []float64
	if !r.heldNormalized {
		fz.factor = fz.factor[:0]
		for i, k := range keep {
			if k {
				fz.factor = append(fz.factor, normalizeFactor(res.Obs.TotalCounts[c.Start+i], r.p.TargetSum))
			}
		}
		factor = fz.factor
	}
	spare := fz.spare
	fz.spare = nil
	return fz.fb.SelectNormalize(m, fz.newIndex, nVar, keep, factor, fz.invStd, spare)
}

// pass2Device does pass 2's work on a chunk held on the device since pass
// 1 (normalized and log1p'd), which it takes over, and returns the chunk's
// input rows and the values it output.
func (r *runner) pass2Device(start int, raw backend.CSR, bufs *bufCache, newIndex, invStd backend.Buffer, nVar int) (int, int64, error) {
	rows := raw.Rows
	m, err := r.transformDevice(start, raw, bufs, newIndex, nVar)
	if err != nil {
		return 0, 0, r.rowsErr(start, rows, pass2Name, err)
	}
	_, nnz, err := r.pass2Matrix(start, rows, m, invStd, nil)
	return rows, nnz, err
}

// pass2Matrix writes a transformed chunk m (input rows start to
// start+inRows) to the output store, scales it, adds its statistics and
// keeps it for PCA, and returns its rows and values. It takes m over. fz
// is set when m comes from transformFused: m is scaled already when
// fz.invStd is set, and its arrays go to fz.spare once the cache is done
// with them.
func (r *runner) pass2Matrix(start, inRows int, m backend.CSR, invStd backend.Buffer, fz *fusedPass2) (int, int64, error) {
	scaled := fz != nil && fz.invStd != nil
	b := r.b
	c := anndata.Chunk{Start: start, CSR: &sparse.CSR{Rows: inRows}} // for messages
	keep := false                                                    // m stays on the device as part of Z
	defer func() {
		if !keep {
			m.Free()
		}
	}()
	if m.Rows == 0 {
		return 0, 0, nil
	}
	if r.w != nil {
		h, err := b.Download(m)
		if err != nil {
			return 0, 0, r.chunkErr(c, "downloading", err)
		}
		// AppendX copies the values before it returns, so the in-place
		// scaling below cannot reach the store (the CPU backend's Download
		// shares memory with m).
		if err := r.w.AppendX(h); err != nil {
			return 0, 0, r.chunkErr(c, "writing X", err)
		}
	}
	if r.until >= StepPCA {
		if !scaled {
			if err := b.ScaleCols(m, invStd); err != nil {
				return 0, 0, r.chunkErr(c, "scale", err)
			}
		}
		if err := b.ColStats(m, nil, r.zStats); err != nil {
			return 0, 0, r.chunkErr(c, "statistics of the scaled genes", err)
		}
		if !r.matrixFree {
			var err error
			if g, ok := b.(backend.GramOrderer); ok && r.gramRank != nil {
				err = g.GramAccumulateOrdered(m, r.gram, r.gramRank)
			} else {
				err = b.GramAccumulate(m, r.gram)
			}
			if err != nil {
				return 0, 0, r.chunkErr(c, "Gram matrix", err)
			}
		}
		if r.zResident {
			r.zDev = append(r.zDev, m)
			keep = true
			return m.Rows, m.NNZ, nil
		}
		h, err := b.Download(m)
		if err != nil {
			return 0, 0, r.chunkErr(c, "downloading", err)
		}
		if err := r.cache.Append(h); err != nil {
			return 0, 0, err
		}
		if fz != nil && r.cache.OnDisk() && r.w == nil {
			// Written to the file: h (m's arrays, on a host backend) is
			// free for the next chunk. (The writer, where there is one,
			// copies too, but keep it simple: reuse only without one.)
			fz.spare = h
		}
	}
	return m.Rows, m.NNZ, nil
}

// transform filters, subsets, normalizes and log1p's a raw chunk starting at
// input row start, as far as r.until asks, and returns the device matrix.
// A chunk held from pass 1 (r.heldNormalized) is normalized and log1p'd
// already: the same operations on the same values, so the result has the
// same bits as from a re-read chunk.
func (r *runner) transform(start int, raw *sparse.CSR, bufs *bufCache, newIndex backend.Buffer, nVar int) (out backend.CSR, err error) {
	b := r.b
	m, err := b.Upload(raw)
	if err != nil {
		return backend.CSR{}, err
	}
	return r.transformDevice(start, m, bufs, newIndex, nVar)
}

// transformDevice is transform on a chunk already on the device, which it
// takes over: m is freed unless it is the result.
func (r *runner) transformDevice(start int, m backend.CSR, bufs *bufCache, newIndex backend.Buffer, nVar int) (out backend.CSR, err error) {
	b, res := r.b, r.res
	rows := m.Rows
	s, err := bufs.get(rows)
	if err != nil {
		m.Free()
		return backend.CSR{}, err
	}
	kept := 0
	for i := range rows {
		s.hostMask[i] = 0
		if res.Obs.Keep[start+i] {
			s.hostMask[i] = 1
			// The factors of the kept rows are gathered at the front.
			s.hostFactor[kept] = normalizeFactor(res.Obs.TotalCounts[start+i], r.p.TargetSum)
			kept++
		}
	}
	// cur is the latest matrix; the ones before it are freed as it
	// replaces them, it is freed itself on error.
	cur := m
	defer func() {
		if err != nil {
			cur.Free()
		}
		if cur != m {
			m.Free()
		}
	}()
	replace := func(next backend.CSR) {
		if cur != m {
			cur.Free()
		}
		cur = next
	}
	// Subset the genes first: it leaves a fraction of the values for
	// SelectRows to copy. A chunk whose cells are all kept skips SelectRows.
	if newIndex != nil {
		next, err := b.SelectCols(cur, newIndex, nVar)
		if err != nil {
			return backend.CSR{}, err
		}
		replace(next)
	}
	if kept < rows {
		if err := b.Write(s.mask, s.hostMask); err != nil {
			return backend.CSR{}, err
		}
		next, err := b.SelectRows(cur, s.mask)
		if err != nil {
			return backend.CSR{}, err
		}
		replace(next)
		if cur.Rows != kept {
			return backend.CSR{}, fmt.Errorf("SelectRows kept %d rows, want %d", cur.Rows, kept)
		}
	}
	if r.until >= StepNormalize && kept > 0 && !r.heldNormalized {
		f, err := bufs.kept.get(kept)
		if err != nil {
			return backend.CSR{}, err
		}
		if err := b.Write(f, s.hostFactor[:kept]); err != nil {
			return backend.CSR{}, err
		}
		if err := b.ScaleRows(cur, f); err != nil {
			return backend.CSR{}, err
		}
		if err := b.Log1p(cur); err != nil {
			return backend.CSR{}, err
		}
	}
	return cur, nil
}

// pca finds the leading eigenpairs of the scaled data's covariance and
// projects the cached scaled matrix onto them (pass 3).
func (r *runner) pca() error {
	b, res := r.b, r.res
	sw := startWatch()
	p := len(res.HVGIndex)
	n := res.Obs.NKept
	k, err := r.pcaComps()
	if err != nil {
		return err
	}
	z := r.z

	var vals, v []float64
	var vecs backend.Dense
	if r.matrixFree {
		if vals, v, err = r.eigenMatrixFree(k); err != nil {
			return err
		}
		buf, err := allocF64(b, p*k)
		if err != nil {
			return err
		}
		vecs = backend.Dense{Rows: p, Cols: k, Data: buf}
		if err := b.Write(buf, v); err != nil {
			buf.Free()
			return err
		}
	} else {
		if g, ok := b.(backend.GramOrderer); ok && r.gramRank != nil {
			if err := g.GramUnorder(r.gram, r.gramRank); err != nil {
				return fmt.Errorf("pipeline: the Gram matrix back in gene order: %w", err)
			}
		}
		if vals, vecs, err = covarianceEigen(b, r.gram, z.Mean, n, k); err != nil {
			return err
		}
		r.gram.Data.Free()
		r.gram = backend.Dense{}
		v = make([]float64, p*k)
		if err := b.Read(v, vecs.Data); err != nil {
			vecs.Data.Free()
			return err
		}
	}
	defer vecs.Data.Free()
	total := totalVariance(z.Variance)
	pr := &PCAResult{NComps: k, Variance: vals, VarianceRatio: make([]float64, k), TotalVariance: total, Loadings: v}
	for c, e := range vals {
		pr.VarianceRatio[c] = e / total
	}
	covers := "covariance Z^T Z/(n-1) - n/(n-1) mu mu^T, top eigenpairs"
	if r.matrixFree {
		covers = "top eigenpairs of (Z^T Z - n mu mu^T)/(n-1), applied through the cached Z"
	}
	st := sw.step("pca eigen", covers)
	st.Parts = r.pcaParts
	res.Report.Steps = append(res.Report.Steps, st)

	// Pass 3: X_pca = Z V - 1 (mu_z^T V).
	sw = startWatch()
	v32, off, err := scoreLoadings(b, z.Mean, v, p, k)
	if err != nil {
		return err
	}
	defer v32.Data.Free()
	pr.Scores = make([]float32, n*k)
	out := sizedBuf{b: b, kind: backend.Float32}
	defer out.free()
	var host []float32
	row, done := 0, 0
	nChunks := len(r.cache.mem) + r.cache.disk
	start := time.Now()
	pt := newPartTimer(b)
	project := func(m backend.CSR) error {
		scores, err := out.get(m.Rows * k)
		if err != nil {
			return err
		}
		host = grow(host, m.Rows*k)
		if err := pt.time("Z V", func() error { return b.SpMM(m, v32, backend.Dense{Rows: m.Rows, Cols: k, Data: scores}) }); err != nil {
			return fmt.Errorf("pipeline: %s, rows %d-%d of the kept cells: %w", pass3Name, row, row+m.Rows, err)
		}
		if err := pt.time("read", func() error { return b.Read(host, scores) }); err != nil {
			return err
		}
		t := time.Now()
		centreScores(pr.Scores[row*k:(row+m.Rows)*k], host, off, m.Rows, k)
		pt.parts["centre"] += time.Since(t).Seconds()
		row += m.Rows
		done++
		r.progress(pass3Name, done, nChunks, row, start)
		return r.canceled(pass3Name)
	}
	if r.zResident {
		nChunks = len(r.zDev)
		for _, m := range r.zDev {
			if err = project(m); err != nil {
				break
			}
		}
	} else {
		err = r.cache.Each(func(h *sparse.CSR) error {
			m, err := b.Upload(h)
			if err != nil {
				return err
			}
			defer m.Free()
			return project(m)
		})
	}
	if err != nil {
		return err
	}
	if row != n {
		return fmt.Errorf("pipeline: %s: the cache held %d rows, want %d", pass3Name, row, n)
	}
	// Once read, the file says whether it stayed direct (a slow disk turns
	// direct I/O off after its first writes).
	res.Report.CacheDirect = r.cache.DirectIO()
	t := time.Now()
	flipSigns(pr.Scores, n, pr.Loadings, p, k)
	pt.parts["signs"] = time.Since(t).Seconds()
	res.PCA = pr
	st = sw.step("pass 3", "X_pca = Z V - 1 (mu_z^T V)")
	st.Rows = n
	st.Parts = pt.parts
	res.Report.Steps = append(res.Report.Steps, st)
	return nil
}

// pass2Covers describes what pass 2 did for the report: pcaWork is its
// part of PCA ("" when the run stops before PCA), then the steps it ran
// before it and the writing of X.
func (r *runner) pass2Covers(pcaWork string) string {
	switch {
	case pcaWork != "":
		covers := "filter, normalize_total, log1p, HVG subset, " + pcaWork
		if r.w != nil {
			covers += ", write X"
		}
		return covers
	case r.until >= StepHVG:
		return "filter, normalize_total, log1p, HVG subset, write X"
	case r.until >= StepNormalize:
		return "filter, normalize_total, log1p, write X"
	case r.until >= StepFilter:
		return "filter, write X"
	}
	return "write X"
}
