package pipeline

// Two ways to the eigenvectors of the covariance C of the scaled HVG
// matrix Z (n cells x d genes, nnz stored values).
//
// Covariance: pass 2 accumulates the Gram matrix ZᵀZ (about the sum over
// cells of nnz_i²/2 multiply-adds, at least nnz²/(2n)), PCA turns it into C
// and block Lanczos multiplies C, dense, d² multiply-adds per vector,
// reading its 8d² bytes from memory for each block.
//
// Matrix-free: Lanczos applies C V = (Zᵀ(Z V) - n mu (muᵀV))/(n-1) with two
// sparse products over the cached Z (SpMM, SpMMT), 2*nnz multiply-adds per
// vector, and pass 2 forms no Gram matrix. It needs Z at hand for every
// product: only when the cache holds Z in memory.
//
// Measured on 2 Zen 4 cores (see bench/results): a sparse multiply-add of
// the two products costs about 1.5 times one of the dense product (which
// is bound by memory bandwidth: 0.06 ns per multiply-add at d = 5,000),
// and one of the Gram accumulation about 5 times. A solve for k components
// takes about 7k products (688-1040 for k = 100 on the shared data sets).
// So the matrix-free path is taken when
//
//	1.5 * 2nnz * 7k < d² * 7k + 5 * nnz²/(2n)
//
// with nnz known before pass 2 from pass 1's per-gene counts over the kept
// cells. synth5k (n 4,891, d 5,000, nnz 1.16e6) goes matrix-free (3.5e6
// against 2.5e7 per product); 100,000 synthetic cells (nnz 3.8e7) and
// brain10k (d = 300: its covariance fits in cache) form the covariance.

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/linalg"
	"github.com/scbench/scbench/sparse"
)

const (
	// Costs relative to a multiply-add of the dense covariance product.
	sparseCost = 1.5
	gramCost   = 5.0
	// productsPerComp is the number of matrix-vector products of a solve
	// per component.
	productsPerComp = 7
)

// Lanczos settings of the PCA eigensolve. pcaTol is the residual relative
// to each eigenvalue, ||C v - lambda v|| <= pcaTol*lambda. It bounds each
// variance's relative error by 1e-3; in practice the error is about the
// residual's square over the relative gap to the next eigenvalue: 1e-6 to
// 1e-5 on the shared data, where the tests allow 1e-3 of variance_ratio,
// and the scores of the first 50 components correlate with scanpy's to
// 1 - 1e-8. A residual of 1e-4 costs 8% more products, 1e-7 of the
// largest eigenvalue (EigSymTop's) twice as many at 100,000 cells.
const (
	pcaTol       = 1e-3
	pcaBlockSize = 8
	pcaSeed      = 0x5cbe
)

// eigSymTopTol is implemented by backends whose EigSymTop can stop at a
// residual relative to each eigenvalue (the CPU backend); the covariance
// path asks them for pcaTol. Others run EigSymTop, converged further.
// EigSymTopTol may overwrite a's lower triangle (the CPU backend mirrors
// the upper one into it rather than into a copy); gram's is scratch.
type eigSymTopTol interface {
	EigSymTopTol(a backend.Dense, k int, tol float64) ([]float64, backend.Dense, error)
}

// covarianceEigen turns the Gram matrix gram (p x p, on b) of n cells with
// column means mean into their covariance C = Z^T Z/(n-1) - n/(n-1) mu
// mu^T, in place, and returns its k leading eigenpairs (EigSymTopTol with
// pcaTol where b has it). The caller frees gram and vecs.
func covarianceEigen(b backend.Backend, gram backend.Dense, mean []float64, n, k int) ([]float64, backend.Dense, error) {
	p := gram.Rows
	mu, err := allocF64(b, p)
	if err != nil {
		return nil, backend.Dense{}, err
	}
	defer mu.Free()
	if err := b.Write(mu, mean); err != nil {
		return nil, backend.Dense{}, err
	}
	M := backend.Dense{Rows: p, Cols: 1, Data: mu}
	alpha, beta := covarianceUpdate(n)
	if err := b.Gemm(false, true, alpha, M, M, beta, gram); err != nil {
		return nil, backend.Dense{}, fmt.Errorf("pipeline: centring the covariance: %w", err)
	}
	eig := b.EigSymTop
	if bt, ok := b.(eigSymTopTol); ok {
		eig = func(a backend.Dense, k int) ([]float64, backend.Dense, error) { return bt.EigSymTopTol(a, k, pcaTol) }
	}
	vals, vecs, err := eig(gram, k)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("pipeline: eigenvectors of the %d x %d covariance: %w", p, p, err)
	}
	return vals, vecs, nil
}

// gramOrder returns the numbering of the HVG genes (hvg[j] the input gene
// of Z's column j) for a backend.GramOrderer: increasing non-zero count
// over the kept cells (nnz), ties in Z's order. The CPU backend's Gram
// scatter runs 15-40% faster so (see backend/cpu's GramAccumulateOrdered);
// GramUnorder puts the matrix back in Z's order before the eigensolve.
func gramOrder(hvg []int, nnz []int64) []int32 {
	order := make([]int, len(hvg))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(nnz[hvg[a]], nnz[hvg[b]]) })
	rank := make([]int32, len(hvg))
	for r, j := range order {
		rank[j] = int32(r)
	}
	return rank
}

// fastGram is implemented by backends whose GramAccumulate runs on a
// vendor BLAS (backend/gpu with cuBLAS).
type fastGram interface {
	GramIsFast() bool
}

// choosePCAPath decides, before pass 2, between the two paths (see above)
// and records the choice in the report: matrix-free when the HVG matrix
// will be cached in memory and its products are cheaper.
func (r *runner) choosePCAPath() bool {
	var nnz int64
	for _, j := range r.res.HVGIndex {
		nnz += r.keptNNZ[j]
	}
	n, d := float64(r.res.Obs.NKept), float64(len(r.res.HVGIndex))
	k := float64(min(r.p.NComps, r.res.Obs.NKept-1, len(r.res.HVGIndex)-1))
	chunks := int64(chunkCount(r.nObs, r.opt.chunkRows()))
	inMemory := nnz*8+(int64(r.res.Obs.NKept)+chunks)*8 <= r.budget()
	products := productsPerComp * max(k, 1)
	free := sparseCost * 2 * float64(nnz) * products
	dense := d*d*products + gramCost*float64(nnz)*float64(nnz)/(2*max(n, 1))
	mf := inMemory && free < dense
	if r.zResident {
		// Z on a GPU: its products run at memory bandwidth, but a solve
		// takes hundreds of them, latency-bound on Zᵀ's random reads. With
		// a vendor BLAS the Gram matrix costs one pass of dense rank-k
		// updates at the float64 peak (d²n multiply-adds: 3e13 at 1.3M
		// cells, under a second on an H100) and the solve then works on
		// the d x d covariance in device memory: that is faster. Without
		// one (GramAccumulate on the own kernel) the products win.
		mf = true
		if g, ok := r.b.(fastGram); ok && g.GramIsFast() {
			mf = false
		}
	}
	switch r.opt.pcaPath {
	case "covariance":
		mf = false
	case "matrix-free":
		mf = inMemory || r.zResident
	case "matrix-free, on disk": // the fallback of eigenMatrixFree
		mf = true
	}
	r.res.Report.PCAPath = "covariance"
	if mf {
		r.res.Report.PCAPath = "matrix-free"
	}
	return mf
}

// eigenMatrixFree returns the k leading eigenpairs of the covariance of the
// cached Z, with the products on the device: vals and the d x k row-major
// loadings.
func (r *runner) eigenMatrixFree(k int) ([]float64, []float64, error) {
	b, z := r.b, r.z
	n, d := r.res.Obs.NKept, len(r.res.HVGIndex)
	// The chunks of Z, uploaded once (the CPU backend shares their
	// memory). Should the cache have gone to disk after all (choosePCAPath
	// estimates its size from the non-zero counts; explicit zeros in the
	// store make it larger), every product re-reads it: slower, not wrong.
	var mats []backend.CSR
	defer func() {
		for _, m := range mats {
			m.Free()
		}
	}()
	each := func(fn func(c int, m backend.CSR) error) error {
		for c, m := range mats {
			if err := fn(c, m); err != nil {
				return err
			}
		}
		return nil
	}
	if r.zResident {
		each = func(fn func(c int, m backend.CSR) error) error {
			for c, m := range r.zDev {
				if err := fn(c, m); err != nil {
					return err
				}
			}
			return nil
		}
	} else if r.cache.OnDisk() {
		r.warn("pca: the HVG matrix (%s) went to disk although its estimate fit the cache budget: the matrix-free eigensolve re-reads it for every product (raise the cache budget)", FormatBytes(r.cache.bytes))
		each = func(fn func(c int, m backend.CSR) error) error {
			c := 0
			return r.cache.Each(func(h *sparse.CSR) error {
				m, err := b.Upload(h)
				if err != nil {
					return err
				}
				defer m.Free()
				c++
				return fn(c-1, m)
			})
		}
	} else {
		err := r.cache.Each(func(h *sparse.CSR) error {
			m, err := b.Upload(h)
			if err != nil {
				return err
			}
			mats = append(mats, m)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	pt := newPartTimer(b)
	// With Z held (on the device, or uploaded in memory) by a backend that
	// can transpose it, Zᵀ is formed once and applied as SpMM(Zᵀ, ·): a
	// row-parallel product, many times faster on a GPU than SpMMT's walk
	// over Z's rows (see backend.Transposer), and on the CPU it lets both
	// products run on the float32 SpMM kernels.
	held, room := r.zDev, r.deviceBudget()
	if !r.zResident {
		held = nil
		if b.Device().Memory == 0 { // a host backend: mats share the cache's memory
			held, room = mats, r.cache.budget // mats is nil when the cache went to disk
		}
	}
	var zT []backend.CSR
	defer func() {
		for _, m := range zT {
			m.Free()
		}
	}()
	if tr, ok := b.(backend.Transposer); ok && held != nil && 2*r.res.Report.CacheBytes <= room {
		err := pt.time("transpose", func() error {
			for _, m := range held {
				t, err := tr.Transpose(m)
				if err != nil {
					return err
				}
				zT = append(zT, t)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("pipeline: transposing the scaled HVG matrix on the device: %w", err)
		}
	}
	// On that path the vectors cross to the device in float32: half the
	// bytes of the products' random reads of Z V, and a relative
	// perturbation of the operator of about 1e-7 (the GPU kernels sum in
	// float64) to 1e-6 (the CPU's sum in float32, over a few hundred
	// values a row), far below the solver's tolerance (pcaTol).
	single := zT != nil
	kind := backend.Float64
	if single {
		kind = backend.Float32
	}
	var h32 []float32
	write := func(buf backend.Buffer, vs []float64) error {
		if !single {
			return b.Write(buf, vs)
		}
		h32 = grow(h32, len(vs))
		for i, x := range vs {
			h32[i] = float32(x)
		}
		return b.Write(buf, h32[:len(vs)])
	}
	read := func(dst []float64, buf backend.Buffer) error {
		if !single {
			return b.Read(dst, buf)
		}
		h32 = grow(h32, len(dst))
		if err := b.Read(h32[:len(dst)], buf); err != nil {
			return err
		}
		for i, x := range h32[:len(dst)] {
			dst[i] = float64(x)
		}
		return nil
	}
	bs := pcaBlockSize
	in, err := b.Alloc(kind, d*bs)
	if err != nil {
		return nil, nil, err
	}
	defer in.Free()
	out, err := b.Alloc(kind, d*bs)
	if err != nil {
		return nil, nil, err
	}
	defer out.Free()
	mid := map[int]backend.Buffer{} // Z V of a chunk, by element count
	defer func() {
		for _, buf := range mid {
			buf.Free()
		}
	}()
	host := make([]float64, d*bs)
	part := make([]float64, d*bs)
	muV := make([]float64, bs)
	fn := float64(n)
	products := 0
	apply := func(dst, src blas64.General) error {
		w := src.Cols
		vs := src.Data[:d*w]
		if src.Stride != w { // a strided view: pack it for the device
			for i := 0; i < d; i++ {
				copy(host[i*w:(i+1)*w], src.Data[i*src.Stride:i*src.Stride+w])
			}
			vs = host[:d*w]
		}
		if err := write(in, vs); err != nil {
			return err
		}
		vin := backend.Dense{Rows: d, Cols: w, Data: in}
		vout := backend.Dense{Rows: d, Cols: w, Data: out}
		acc := dst.Data[:d*w]
		products++
		err := each(func(c int, m backend.CSR) error {
			buf, ok := mid[m.Rows*w]
			if !ok {
				var err error
				if buf, err = b.Alloc(kind, m.Rows*w); err != nil {
					return err
				}
				mid[m.Rows*w] = buf
			}
			zv := backend.Dense{Rows: m.Rows, Cols: w, Data: buf}
			if err := pt.time("Z V", func() error { return b.SpMM(m, vin, zv) }); err != nil {
				return fmt.Errorf("product Z V, chunk %d of the HVG matrix: %w", c, err)
			}
			if err := pt.time("Zᵀ(Z V)", func() error {
				if zT != nil {
					return b.SpMM(zT[c], zv, vout)
				}
				return b.SpMMT(m, zv, vout)
			}); err != nil {
				return fmt.Errorf("product Zᵀ(Z V), chunk %d of the HVG matrix: %w", c, err)
			}
			if c == 0 {
				return pt.time("read", func() error { return read(acc, out) })
			}
			if err := pt.time("read", func() error { return read(part[:d*w], out) }); err != nil {
				return err
			}
			for i, x := range part[:d*w] {
				acc[i] += x
			}
			return nil
		})
		if err != nil {
			return err
		}
		// C V = (Zᵀ Z V - n mu (muᵀ V)) / (n-1).
		mv := muV[:w]
		clear(mv)
		for i := 0; i < d; i++ {
			m := z.Mean[i]
			for j, x := range vs[i*w : (i+1)*w] {
				mv[j] += m * x
			}
		}
		s := 1 / (fn - 1)
		for i := 0; i < d; i++ {
			m := fn * z.Mean[i]
			row := acc[i*w : (i+1)*w]
			for j := range row {
				row[j] = (row[j] - m*mv[j]) * s
			}
		}
		return nil
	}
	if r.cache.rows == 0 && len(r.zDev) == 0 {
		return nil, nil, fmt.Errorf("pipeline: matrix-free PCA: the HVG matrix is empty")
	}
	start := time.Now()
	vals, vecs, err := linalg.EigSymTopOp(d, apply, k, &linalg.EigOptions{
		Tol: pcaTol, Relative: true, BlockSize: bs, Seed: pcaSeed, BLAS: linalg.NewGo(0),
	})
	pt.parts["all"] = time.Since(start).Seconds()
	pt.parts["block products"] = float64(products)
	r.pcaParts = pt.parts
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: eigenvectors of the %d x %d covariance (matrix-free): %w", d, d, err)
	}
	v := make([]float64, d*k)
	for i := 0; i < d; i++ {
		copy(v[i*k:(i+1)*k], vecs.Data[i*vecs.Stride:i*vecs.Stride+k])
	}
	return vals, v, nil
}
