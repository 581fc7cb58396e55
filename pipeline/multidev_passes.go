package pipeline

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

// The passes of a run on several devices (see multidev.go).

// p1Part is one chunk's per-gene sums of pass 1, read back from its device.
type p1Part struct {
	allSum             []float64
	allNNZ             []int64
	keptSum, keptSumSq []float64
	keptNNZ            []int64
}

// p1Acc are a device's pass 1 accumulators, zeroed for each chunk.
type p1Acc struct {
	all, kept backend.ColStats
	zf        []float64
	zi        []int64
}

func (a *p1Acc) free() {
	for _, buf := range []backend.Buffer{a.all.Sum, a.all.NNZ, a.kept.Sum, a.kept.SumSq, a.kept.NNZ} {
		if buf != nil {
			buf.Free()
		}
	}
}

// holdBudget hands out the memory in which pass 1 keeps chunks for pass 2:
// per device on devices with memory of their own, shared by the devices
// that use host memory.
type holdBudget struct {
	mu   sync.Mutex
	host int64 // left of the host's hold budget
}

// take reserves n bytes for a chunk held on d and reports whether they fit.
func (m *multi) take(h *holdBudget, d *mdev, n int64) bool {
	if !m.pass2Needed {
		return false
	}
	if d.b.Device().Memory > 0 {
		if d.heldBytes+n > d.raw.deviceBudget()/2 {
			return false
		}
		d.heldBytes += n
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n > h.host {
		return false
	}
	h.host -= n
	d.heldBytes += n
	return true
}

// hostHoldBudget is held.go's budget: Options.HoldBudget, or a quarter of
// the memory available, at most holdLimit; negative, none.
func (m *multi) hostHoldBudget() int64 {
	switch b := m.opt.HoldBudget; {
	case b < 0:
		return 0
	case b > 0:
		return b
	}
	return min(memAvailable()/4, holdLimit)
}

func csrDeviceBytes(rows int, nnz int64) int64 { return nnz*8 + int64(rows+1)*8 }

// pass1 is the one-device pass 1 (passes.go) with the chunks spread over
// the devices and the per-gene sums added on the host in chunk order.
func (m *multi) pass1() (err error) {
	r, res := m.runner, m.res
	sw := startWatch()
	nVar := m.nVar
	res.Obs = ObsQC{NGenesByCounts: make([]int32, m.nObs), TotalCounts: make([]float64, m.nObs), Keep: make([]bool, m.nObs)}
	res.Var = VarQC{NCells: m.nObs, NCellsByCounts: make([]int64, nVar), TotalCounts: make([]float64, nVar)}
	normalize := r.until >= StepNormalize
	var sum, sumSq []float64
	if normalize {
		sum, sumSq, r.keptNNZ = make([]float64, nVar), make([]float64, nVar), make([]int64, nVar)
	}
	comb := newInOrder(func(p p1Part) error {
		v := &res.Var
		for j := range nVar {
			v.TotalCounts[j] += p.allSum[j]
			v.NCellsByCounts[j] += p.allNNZ[j]
		}
		if normalize {
			for j := range nVar {
				sum[j] += p.keptSum[j]
				sumSq[j] += p.keptSumSq[j]
				r.keptNNZ[j] += p.keptNNZ[j]
			}
		}
		return nil
	}, nil)

	accs := make([]*p1Acc, len(m.devs))
	defer func() {
		for _, a := range accs {
			if a != nil {
				a.free()
			}
		}
	}()
	for i, d := range m.devs {
		a := &p1Acc{zf: make([]float64, nVar), zi: make([]int64, nVar)}
		accs[i] = a
		alloc := func(k backend.Kind) backend.Buffer {
			if err != nil {
				return nil
			}
			var buf backend.Buffer
			if buf, err = d.b.Alloc(k, nVar); err != nil {
				err = fmt.Errorf("pipeline: %s: device %d (%s): allocating gene statistics: %w", pass1Name, d.i, d.name, err)
			}
			return buf
		}
		a.all.Sum, a.all.NNZ = alloc(backend.Float64), alloc(backend.Int64)
		if normalize {
			a.kept.Sum, a.kept.SumSq, a.kept.NNZ = alloc(backend.Float64), alloc(backend.Float64), alloc(backend.Int64)
		}
		if err != nil {
			return err
		}
	}
	nChunks := chunkCount(m.nObs, m.opt.chunkRows())
	m.heldAt = make([]bool, nChunks)
	hb := &holdBudget{host: m.hostHoldBudget()}
	var nnz atomic.Int64
	err = m.eachChunk(pass1Name, true, nil, func(*mdev) []mjob { return nil }, func(d *mdev, j mjob) error {
		nnz.Add(j.c.NNZ())
		return m.pass1Chunk(d, accs[d.i], hb, j, normalize, comb)
	})
	if err != nil {
		return err
	}
	if err := comb.done(nChunks); err != nil {
		return fmt.Errorf("pipeline: %s: %w", pass1Name, err)
	}
	for _, k := range res.Obs.Keep {
		if k {
			res.Obs.NKept++
		}
	}
	rep := &res.Report
	if rep.NNZIn == 0 {
		rep.NNZIn = nnz.Load()
	}
	for _, d := range m.devs {
		d.use.Held = d.heldBytes
		rep.HeldBytes += d.heldBytes
		if d.heldBytes > 0 && d.b.Device().Memory > 0 {
			rep.HeldOnDevice = true
		}
	}
	if normalize {
		g := NewGeneStats(sum, sumSq, res.Obs.NKept)
		res.Genes = &g
	}
	if r.until >= StepFilter && res.Obs.NKept == 0 {
		return fmt.Errorf("pipeline: no cell of %s has between %d and %d genes (min_genes, max_genes): lower min_genes or raise max_genes", m.in.path(), m.p.MinGenes, m.p.MaxGenes)
	}
	st := sw.step("pass 1", fmt.Sprintf("calculate_qc_metrics, filter, normalize_total, log1p, gene means/variances, on %d devices", len(m.devs)))
	st.Rows, st.NNZ = m.nObs, nnz.Load()
	m.deviceParts(&st, pass1Name)
	rep.Steps = append(rep.Steps, st)
	return nil
}

// pass1Chunk does pass 1's work on chunk j on device d (passes.go's
// pass1Chunk, with the gene sums of the chunk alone read back).
func (m *multi) pass1Chunk(d *mdev, a *p1Acc, hb *holdBudget, j mjob, normalize bool, comb *inOrder[p1Part]) error {
	b, res, c := d.b, m.res, j.c
	mat, err := b.Upload(c.CSR)
	if err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	keep := false // held on the device for pass 2
	defer func() {
		if !keep {
			mat.Free()
		}
	}()
	s, err := d.bufs.get(c.Rows)
	if err != nil {
		return err
	}
	zero := func(acc backend.ColStats) error {
		for _, buf := range []backend.Buffer{acc.Sum, acc.SumSq} {
			if buf != nil {
				if err := b.Write(buf, a.zf); err != nil {
					return fmt.Errorf("zeroing gene sums: %w", err)
				}
			}
		}
		if err := b.Write(acc.NNZ, a.zi); err != nil {
			return fmt.Errorf("zeroing gene counts: %w", err)
		}
		return nil
	}
	if err := zero(a.all); err != nil {
		return err
	}
	if err := b.RowStats(mat, backend.RowStats{Sum: s.rowSum, NNZ: s.rowNNZ}); err != nil {
		return fmt.Errorf("row statistics: %w", err)
	}
	if err := b.ColStats(mat, nil, a.all); err != nil {
		return fmt.Errorf("gene statistics: %w", err)
	}
	tot := res.Obs.TotalCounts[c.Start : c.Start+c.Rows]
	ngenes := res.Obs.NGenesByCounts[c.Start : c.Start+c.Rows]
	if err := b.Read(tot, s.rowSum); err != nil {
		return fmt.Errorf("reading total_counts: %w", err)
	}
	if err := b.Read(ngenes, s.rowNNZ); err != nil {
		return fmt.Errorf("reading n_genes_by_counts: %w", err)
	}
	for i, n := range ngenes {
		k := m.p.keep(n)
		res.Obs.Keep[c.Start+i] = k
		s.hostMask[i] = 0
		if k {
			s.hostMask[i] = 1
		}
		s.hostFactor[i] = normalizeFactor(tot[i], m.p.TargetSum)
	}
	p := p1Part{allSum: make([]float64, m.nVar), allNNZ: make([]int64, m.nVar)}
	if err := b.Read(p.allSum, a.all.Sum); err != nil {
		return fmt.Errorf("reading gene sums: %w", err)
	}
	if err := b.Read(p.allNNZ, a.all.NNZ); err != nil {
		return fmt.Errorf("reading gene counts: %w", err)
	}
	if normalize {
		if err := zero(a.kept); err != nil {
			return err
		}
		if err := b.Write(s.mask, s.hostMask); err != nil {
			return err
		}
		if err := b.Write(s.factor, s.hostFactor); err != nil {
			return err
		}
		if err := b.ScaleRows(mat, s.factor); err != nil {
			return fmt.Errorf("normalize_total: %w", err)
		}
		if err := b.Log1p(mat); err != nil {
			return fmt.Errorf("log1p: %w", err)
		}
		if err := b.ColStats(mat, s.mask, a.kept); err != nil {
			return fmt.Errorf("gene statistics of kept cells: %w", err)
		}
		p.keptSum, p.keptSumSq, p.keptNNZ = make([]float64, m.nVar), make([]float64, m.nVar), make([]int64, m.nVar)
		for _, rd := range []struct {
			dst any
			src backend.Buffer
		}{{p.keptSum, a.kept.Sum}, {p.keptSumSq, a.kept.SumSq}, {p.keptNNZ, a.kept.NNZ}} {
			if err := b.Read(rd.dst, rd.src); err != nil {
				return fmt.Errorf("reading gene statistics of kept cells: %w", err)
			}
		}
	}
	if err := comb.put(j.idx, p); err != nil {
		return err
	}
	if m.take(hb, d, csrDeviceBytes(c.Rows, c.NNZ())) {
		// Held as it is now (normalized and log1p'd when normalize is
		// set). On the CPU backend mat shares c's memory: c is not
		// handed back to the reader.
		d.hold = append(d.hold, mjob{idx: j.idx, start: j.start, rows: j.rows, dev: mat, held: true, slot: len(d.hold)})
		m.heldAt[j.idx] = true
		keep = true
		return nil
	}
	mat.Free()
	keep = true // freed
	j.from.Release(c)
	return nil
}

// zPart is one chunk's column sums and sums of squares of Z.
type zPart struct{ sum, sumSq []float64 }

// xPiece is one chunk's rows of the output's X (nil: none).
type xPiece struct{ m *sparse.CSR }

// pass2 is the one-device pass 2 with the chunks spread over the devices:
// each device first takes the chunks it held since pass 1, then those
// re-read from the store; X goes to the output in input order, Z's
// column sums are added on the host in chunk order, and each device
// accumulates its chunks' ZᵀZ and keeps its chunks of Z.
func (m *multi) pass2() (err error) {
	r, res := m.runner, m.res
	sw := startWatch()
	_, nVar := r.outShape()
	pca := r.until >= StepPCA
	m.keptBefore = make([]int, m.nObs+1)
	for i, k := range res.Obs.Keep {
		m.keptBefore[i+1] = m.keptBefore[i]
		if k {
			m.keptBefore[i+1]++
		}
	}
	var idx []int32
	if r.until >= StepHVG {
		idx = make([]int32, m.nVar)
		for j := range idx {
			idx[j] = -1
		}
		for k, j := range res.HVGIndex {
			idx[j] = int32(k)
		}
	}
	var inv []float64
	if pca {
		inv = make([]float64, nVar)
		for j, s := range res.ScaleStd {
			inv[j] = 1 / s
		}
		res.Report.PCAPath = "covariance"
	}
	for _, d := range m.devs {
		if err := m.pass2Buffers(d, idx, inv, nVar); err != nil {
			return fmt.Errorf("pipeline: %s: device %d (%s): %w", pass2Name, d.i, d.name, err)
		}
	}
	var zSum, zSumSq []float64
	var zc *inOrder[zPart]
	if pca {
		zSum, zSumSq = make([]float64, nVar), make([]float64, nVar)
		zc = newInOrder(func(p zPart) error {
			if p.sum == nil {
				return nil
			}
			for j := range nVar {
				zSum[j] += p.sum[j]
				zSumSq[j] += p.sumSq[j]
			}
			return nil
		}, nil)
	}
	if r.w != nil {
		m.xw = newInOrder(func(x xPiece) error {
			if x.m == nil || x.m.Rows == 0 {
				return nil
			}
			if err := r.w.AppendX(x.m); err != nil {
				return fmt.Errorf("writing X: %w", err)
			}
			return nil
		}, func(x xPiece) xPiece {
			// The chunk waits for those ahead of it: a copy, since its
			// memory may be the device matrix's (the CPU backend), which
			// scale changes next.
			if x.m != nil {
				x.m = x.m.Clone()
			}
			return x
		})
	}
	stream := false
	for _, h := range m.heldAt {
		stream = stream || !h
	}
	var rowsOut, nnzOut atomic.Int64
	err = m.eachChunk(pass2Name, stream, func(i int) bool { return m.heldAt[i] }, func(d *mdev) []mjob {
		return append([]mjob(nil), d.hold...)
	}, func(d *mdev, j mjob) error {
		rows, nnz, err := m.pass2Chunk(d, j, nVar, zc)
		rowsOut.Add(int64(rows))
		nnzOut.Add(nnz)
		return err
	})
	if err != nil {
		return err
	}
	nChunks := len(m.heldAt)
	if m.xw != nil {
		if err := m.xw.done(nChunks); err != nil {
			return fmt.Errorf("pipeline: %s: output X: %w", pass2Name, err)
		}
	}
	nObs, _ := r.outShape()
	if int(rowsOut.Load()) != nObs {
		return fmt.Errorf("pipeline: %s: made %d of %d output rows from %s (did the store change since pass 1?)", pass2Name, rowsOut.Load(), nObs, m.in.path())
	}
	rep := &res.Report
	rep.NNZOut = nnzOut.Load()
	if pca {
		if err := zc.done(nChunks); err != nil {
			return fmt.Errorf("pipeline: %s: statistics of the scaled genes: %w", pass2Name, err)
		}
		for _, d := range m.devs {
			rep.CacheBytes += d.zBytes
			rep.CacheDisk = rep.CacheDisk || d.cache.OnDisk()
			rep.CacheDirect = rep.CacheDirect || d.cache.DirectIO()
			rep.ZOnDevice = rep.ZOnDevice || len(d.zDev) > 0
			d.use.ZBytes, d.use.ZOnDev = d.zBytes, len(d.zDev) > 0
		}
		z := NewGeneStats(zSum, zSumSq, nObs)
		r.z = &z
	}
	pcaWork := ""
	if pca {
		pcaWork = "scale, Z^T Z per device"
	}
	st := sw.step("pass 2", fmt.Sprintf("%s, on %d devices", r.pass2Covers(pcaWork), len(m.devs)))
	st.Rows, st.NNZ = nObs, rep.NNZOut
	m.deviceParts(&st, pass2Name)
	rep.Steps = append(rep.Steps, st)
	return nil
}

// pass2Buffers makes device d's buffers of pass 2.
func (m *multi) pass2Buffers(d *mdev, idx []int32, inv []float64, nVar int) (err error) {
	b := d.b
	if idx != nil {
		if d.newIndex, err = b.Alloc(backend.Int32, len(idx)); err != nil {
			return err
		}
		if err := b.Write(d.newIndex, idx); err != nil {
			return err
		}
	}
	if inv == nil {
		return nil
	}
	if d.invStd, err = allocF64(b, nVar); err != nil {
		return err
	}
	if err := b.Write(d.invStd, inv); err != nil {
		return err
	}
	if d.zSum, err = allocF64(b, nVar); err != nil {
		return err
	}
	if d.zSumSq, err = allocF64(b, nVar); err != nil {
		return err
	}
	buf, err := allocF64(b, nVar*nVar)
	if err != nil {
		return fmt.Errorf("allocating the %d x %d Gram matrix: %w", nVar, nVar, err)
	}
	d.gram = backend.Dense{Rows: nVar, Cols: nVar, Data: buf}
	d.cache = newMatrixCache(max(m.budget()/int64(len(m.devs)), 1), m.opt.TempDir)
	return nil
}

// pass2Chunk does pass 2's work on chunk j on device d and returns the
// output rows and values it made.
func (m *multi) pass2Chunk(d *mdev, j mjob, nVar int, zc *inOrder[zPart]) (int, int64, error) {
	r, b := m.runner, d.b
	tr := &d.raw
	var mat backend.CSR
	if j.held {
		mat = j.dev
		d.hold[j.slot] = mjob{} // taken over
		d.heldBytes -= csrDeviceBytes(mat.Rows, mat.NNZ)
		tr = &d.held
	}
	if r.until < StepFilter {
		// X stays the raw counts.
		h := j.c.CSR
		if j.held {
			var err error
			h, err = b.Download(mat)
			mat.Free()
			if err != nil {
				return 0, 0, fmt.Errorf("downloading: %w", err)
			}
		}
		return h.Rows, h.NNZ(), m.xw.put(j.idx, xPiece{h})
	}
	if !j.held {
		var err error
		if mat, err = b.Upload(j.c.CSR); err != nil {
			return 0, 0, fmt.Errorf("uploading: %w", err)
		}
	}
	t, err := tr.transformDevice(j.start, mat, d.bufs, d.newIndex, nVar)
	if err != nil {
		return 0, 0, err
	}
	if !j.held && r.until >= StepHVG {
		// SelectCols made new arrays: the raw chunk is referred to no more.
		j.from.Release(j.c)
	}
	keep := false // t stays on the device as part of Z
	defer func() {
		if !keep {
			t.Free()
		}
	}()
	if t.Rows == 0 {
		if m.xw != nil {
			if err := m.xw.put(j.idx, xPiece{}); err != nil {
				return 0, 0, err
			}
		}
		if zc != nil {
			return 0, 0, zc.put(j.idx, zPart{})
		}
		return 0, 0, nil
	}
	if m.xw != nil {
		h, err := b.Download(t)
		if err != nil {
			return 0, 0, fmt.Errorf("downloading: %w", err)
		}
		// Written, or copied to wait, before the scaling below.
		if err := m.xw.put(j.idx, xPiece{h}); err != nil {
			return 0, 0, err
		}
	}
	if zc == nil {
		return t.Rows, t.NNZ, nil
	}
	if err := b.ScaleCols(t, d.invStd); err != nil {
		return 0, 0, fmt.Errorf("scale: %w", err)
	}
	zero := make([]float64, nVar)
	for _, buf := range []backend.Buffer{d.zSum, d.zSumSq} {
		if err := b.Write(buf, zero); err != nil {
			return 0, 0, fmt.Errorf("zeroing the statistics of the scaled genes: %w", err)
		}
	}
	if err := b.ColStats(t, nil, backend.ColStats{Sum: d.zSum, SumSq: d.zSumSq}); err != nil {
		return 0, 0, fmt.Errorf("statistics of the scaled genes: %w", err)
	}
	p := zPart{sum: make([]float64, nVar), sumSq: make([]float64, nVar)}
	if err := b.Read(p.sum, d.zSum); err != nil {
		return 0, 0, err
	}
	if err := b.Read(p.sumSq, d.zSumSq); err != nil {
		return 0, 0, err
	}
	if err := zc.put(j.idx, p); err != nil {
		return 0, 0, err
	}
	if err := b.GramAccumulate(t, d.gram); err != nil {
		return 0, 0, fmt.Errorf("the Gram matrix: %w", err)
	}
	kept := m.keptBefore[j.start]
	bytes := csrDeviceBytes(t.Rows, t.NNZ)
	d.zBytes += bytes
	if b.Device().Memory > 0 && d.zDevBytes+d.heldBytes+bytes <= d.raw.deviceBudget() {
		d.zDev = append(d.zDev, zPiece{kept: kept, m: t})
		d.zDevBytes += bytes
		keep = true
		return t.Rows, t.NNZ, nil
	}
	h, err := b.Download(t)
	if err != nil {
		return 0, 0, fmt.Errorf("downloading: %w", err)
	}
	if err := d.cache.Append(h); err != nil {
		return 0, 0, err
	}
	d.zHost = append(d.zHost, zPiece{kept: kept})
	return t.Rows, t.NNZ, nil
}

// pca combines the devices' Gram matrices on the host, solves the
// eigenproblem on devs[0] as the one-device covariance path does, and
// projects each device's chunks of Z (pass 3) on the device.
func (m *multi) pca() error {
	r, res := m.runner, m.res
	d0 := m.devs[0]
	b := d0.b
	sw := startWatch()
	p := len(res.HVGIndex)
	n := res.Obs.NKept
	k, err := r.pcaComps()
	if err != nil {
		return err
	}
	z := r.z

	// ZᵀZ: the devices' matrices added once, in device order, in float64.
	gram := make([]float64, p*p)
	if err := b.Read(gram, d0.gram.Data); err != nil {
		return fmt.Errorf("pipeline: reading the Gram matrix of device 0 (%s): %w", d0.name, err)
	}
	part := make([]float64, p*p)
	for _, d := range m.devs[1:] {
		if err := d.b.Read(part, d.gram.Data); err != nil {
			return fmt.Errorf("pipeline: reading the Gram matrix of device %d (%s): %w", d.i, d.name, err)
		}
		for i, x := range part {
			gram[i] += x
		}
		d.gram.Data.Free()
		d.gram = backend.Dense{}
	}
	part = nil
	if err := b.Write(d0.gram.Data, gram); err != nil {
		return fmt.Errorf("pipeline: writing the Gram matrix to device 0 (%s): %w", d0.name, err)
	}
	gram = nil
	combined := time.Since(sw.wall).Seconds()

	// The covariance and its eigenpairs, in place on devs[0].
	vals, vecs, err := covarianceEigen(b, d0.gram, z.Mean, n, k)
	if err != nil {
		return err
	}
	d0.gram.Data.Free()
	d0.gram = backend.Dense{}
	v := make([]float64, p*k)
	err = b.Read(v, vecs.Data)
	vecs.Data.Free()
	if err != nil {
		return err
	}
	total := totalVariance(z.Variance)
	pr := &PCAResult{NComps: k, Variance: vals, VarianceRatio: make([]float64, k), TotalVariance: total, Loadings: v}
	for c, e := range vals {
		pr.VarianceRatio[c] = e / total
	}
	st := sw.step("pca eigen", "the devices' Z^T Z added on the host; covariance Z^T Z/(n-1) - n/(n-1) mu mu^T, top eigenpairs, on device 0")
	st.Parts = map[string]float64{"combine Gram matrices": combined}
	res.Report.Steps = append(res.Report.Steps, st)

	// Pass 3: X_pca = Z V - 1 (mu_z^T V), each device over its chunks.
	sw = startWatch()
	pr.Scores = make([]float32, n*k)
	var rows atomic.Int64
	errs := make([]error, len(m.devs))
	var wg sync.WaitGroup
	for _, d := range m.devs {
		wg.Go(func() {
			u := d.pass(pass3Name)
			t := time.Now()
			nr, err := m.project(d, z.Mean, v, p, k, pr.Scores)
			u.Seconds += time.Since(t).Seconds()
			u.Chunks += len(d.zDev) + len(d.zHost)
			rows.Add(int64(nr))
			errs[d.i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if int(rows.Load()) != n {
		return fmt.Errorf("pipeline: %s: the devices held %d rows of Z, want %d", pass3Name, rows.Load(), n)
	}
	t := time.Now()
	flipSigns(pr.Scores, n, pr.Loadings, p, k)
	res.PCA = pr
	st = sw.step("pass 3", fmt.Sprintf("X_pca = Z V - 1 (mu_z^T V), on %d devices", len(m.devs)))
	st.Rows = n
	m.deviceParts(&st, pass3Name)
	st.Parts["signs"] = time.Since(t).Seconds()
	res.Report.Steps = append(res.Report.Steps, st)
	return nil
}

// project writes the centred scores of device d's chunks of Z into scores
// (n x k) and returns the rows it did.
func (m *multi) project(d *mdev, mean, v []float64, p, k int, scores []float32) (int, error) {
	b := d.b
	fail := func(z zPiece, rows int, err error) error {
		return fmt.Errorf("pipeline: %s: device %d (%s), kept cells %d-%d: %w", pass3Name, d.i, d.name, z.kept, z.kept+rows, err)
	}
	vecs, off, err := scoreLoadings(b, mean, v, p, k)
	if err != nil {
		return 0, fmt.Errorf("pipeline: %s: device %d (%s): %w", pass3Name, d.i, d.name, err)
	}
	defer vecs.Data.Free()
	out := sizedBuf{b: b, kind: backend.Float32}
	defer out.free()
	var host []float32
	done := 0
	one := func(z zPiece, mat backend.CSR) error {
		buf, err := out.get(mat.Rows * k)
		if err != nil {
			return fail(z, mat.Rows, err)
		}
		if err := b.SpMM(mat, vecs, backend.Dense{Rows: mat.Rows, Cols: k, Data: buf}); err != nil {
			return fail(z, mat.Rows, fmt.Errorf("product Z V: %w", err))
		}
		host = grow(host, mat.Rows*k)
		if err := b.Read(host, buf); err != nil {
			return fail(z, mat.Rows, err)
		}
		centreScores(scores[z.kept*k:(z.kept+mat.Rows)*k], host, off, mat.Rows, k)
		done += mat.Rows
		return m.canceled(pass3Name)
	}
	for _, z := range d.zDev {
		if err := one(z, z.m); err != nil {
			return done, err
		}
	}
	at := 0
	err = d.cache.Each(func(h *sparse.CSR) error {
		z := d.zHost[at]
		at++
		mat, err := b.Upload(h)
		if err != nil {
			return fail(z, h.Rows, err)
		}
		defer mat.Free()
		return one(z, mat)
	})
	return done, err
}
