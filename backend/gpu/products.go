package gpu

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// The sparse products (kernels/products.cl): SpMM, SpMMT, GramAccumulate.

const (
	// spmmtAcc, spmmtBStage are SPMMT_ACC and SPMMT_BSTAGE: the float64
	// accumulators of a SpMMT work-group (columns of the tile times
	// output columns) and the most output columns one group takes.
	spmmtAcc    = 4096
	spmmtBStage = 512
	// spmmtLocal is the SpMMT work-group size: a row of a few hundred
	// values is one or two strides.
	spmmtLocal = 256
	// spmmtGroups is the number of work-groups aimed at (several per
	// multiprocessor of a large GPU, so that while some wait at a row's
	// barrier or for a window's loads, others work); spmmtMaxBlocks and
	// spmmtMinBlockRows bound the row blocks, spmmtMaxPartial the float64
	// partials (32 MiB).
	spmmtGroups       = 1024
	spmmtMaxBlocks    = 256
	spmmtMinBlockRows = 64
	spmmtMaxPartial   = 1 << 22
)

// spmmtSplit returns how SpMMT cuts out = mᵀb for an m of rows x cols with
// nnz values and b of k columns: output columns per group kc, matrix
// columns per tile w, tiles, chunks of output columns, row blocks and rows
// per block. It depends on the shape only, never on the device, so the
// order of the additions (and so the bits) does not either. The partials
// of the row blocks are kept below a quarter of the matrix's bytes.
func spmmtSplit(rows, cols, k int, nnz int64) (kc, w, tiles, chunks, blocks, blockRows int) {
	kc = min(k, spmmtBStage)
	w = spmmtAcc / kc
	tiles = (cols + w - 1) / w
	chunks = (k + kc - 1) / kc
	out := int64(cols) * int64(k)
	blocks = (spmmtGroups + tiles*chunks - 1) / (tiles * chunks)
	blocks = int(min(int64(blocks), spmmtMaxBlocks, int64((rows+spmmtMinBlockRows-1)/spmmtMinBlockRows),
		spmmtMaxPartial/out, nnz/(4*out)))
	blocks = max(blocks, 1)
	blockRows = (rows + blocks - 1) / blocks
	blocks = (rows + blockRows - 1) / blockRows
	return kc, w, tiles, chunks, blocks, blockRows
}

// denseOperands checks the dense operands of a sparse product: b and out
// of one float kind, each with Rows*Cols elements. It returns their
// allocations and whether they are float32.
func (be *Backend) denseOperands(b, out backend.Dense) (bm, om Mem, is32 int32, err error) {
	if b.Data == nil || out.Data == nil {
		return nil, nil, 0, fmt.Errorf("%w: nil dense data", backend.ErrShape)
	}
	kind := b.Data.Kind()
	if kind != backend.Float64 && kind != backend.Float32 {
		return nil, nil, 0, fmt.Errorf("%w: B is %v, want float64 or float32", backend.ErrShape, kind)
	}
	if bm, err = be.memOf("B.Data", b.Data, kind, b.Rows*b.Cols); err != nil {
		return nil, nil, 0, err
	}
	if om, err = be.memOf("out.Data", out.Data, kind, out.Rows*out.Cols); err != nil {
		return nil, nil, 0, err
	}
	if kind == backend.Float32 {
		is32 = 1
	}
	return bm, om, is32, nil
}

// checkSizes returns an ErrShape error when a product's sizes do not fit
// the kernels' int32 arguments.
func checkSizes(rows, cols, k int) error {
	if err := checkInt32("the row count", rows); err != nil {
		return err
	}
	if err := checkInt32("the column count", cols); err != nil {
		return err
	}
	return checkInt32("k", k)
}

// spmmLongLocal is SPMM_LONG_LOCAL, spmm_long's work-group size: a
// constant, so that its order of additions does not depend on the device.
// spmmLongMean is the mean row length from which SpMM gives each row a
// work-group (spmm_long) rather than a work-item per element of out
// (spmm_rows), and spmmLongCols the most column lanes of spmm_long.
const (
	spmmLongLocal = 256
	// Measured on the H200 (k = 8): Z of 1.27M rows of 382 values takes
	// 1.1 ms a product with spmm_rows and 9.6 ms with spmm_long, whose
	// group of 256 mostly idles on such rows; Zᵀ (5,000 rows of 97,000)
	// needs spmm_long.
	spmmLongMean = 2048
	spmmLongCols = 8
)

// spmmLongLanes returns spmm_long's column lanes for k output columns: the
// least power of two at or above min(k, spmmLongCols). It depends on k
// alone, so the bits do too.
func spmmLongLanes(k int) int {
	kc := 1
	for kc < min(k, spmmLongCols) {
		kc *= 2
	}
	return kc
}

// spmmLong reports whether SpMM takes spmm_long for m and k columns: rows
// of spmmLongMean values or more on average, and a device that runs
// work-groups of spmmLongLocal.
func (be *Backend) spmmLong(m backend.CSR, k int) bool {
	return m.Rows > 0 && k > 0 && m.NNZ >= spmmLongMean*int64(m.Rows) && be.rt.MaxLocal() >= spmmLongLocal
}

// SpMM computes out = m * b in float64 (rounded once for float32). On a
// matrix whose rows hold spmmLongMean values or more on average (Zᵀ of the
// PCA), each row gets a work-group (spmm_long: the group's entry lanes
// split the row, and a tree in a fixed order adds their sums); otherwise
// each element of out gets a work-item, adding its row's terms in storage
// order (spmm_rows). The choice and the split depend on the shape only
// (and the device only where it cannot run groups of 256), so the bits
// depend on the operands only. Column indices outside the matrix
// contribute nothing (the CPU backend reports them; checking here would
// cost a read back per product).
func (be *Backend) SpMM(m backend.CSR, b backend.Dense, out backend.Dense) error {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: SpMM: %w", err)
	}
	k := b.Cols
	if b.Rows != m.Cols || out.Rows != m.Rows || out.Cols != k || k < 0 {
		return fmt.Errorf("gpu: SpMM: %w: %d x %d matrix times %d x %d into %d x %d", backend.ErrShape,
			m.Rows, m.Cols, b.Rows, b.Cols, out.Rows, out.Cols)
	}
	bm, om, is32, err := be.denseOperands(b, out)
	if err != nil {
		return fmt.Errorf("gpu: SpMM: %w", err)
	}
	if err := checkSizes(m.Rows, m.Cols, k); err != nil {
		return fmt.Errorf("gpu: SpMM: %w", err)
	}
	if be.spmmLong(m, k) {
		if err := be.launch("spmm_long", [3]int{m.Rows, 1, 1}, [3]int{spmmLongLocal, 1, 1},
			int32(m.Rows), int32(m.Cols), int32(k), int32(spmmLongLanes(k)),
			indptr, indices, data, bm, bm, om, om, is32); err != nil {
			return fmt.Errorf("gpu: SpMM: %w", err)
		}
		return nil
	}
	n := int64(m.Rows) * int64(k)
	if err := be.launch1D("spmm_rows", n, localSize, int32(m.Rows), int32(m.Cols), int32(k),
		indptr, indices, data, bm, bm, om, om, is32); err != nil {
		return fmt.Errorf("gpu: SpMM: %w", err)
	}
	return nil
}

// SpMMT computes out = mᵀ * b (kernels/products.cl explains the tiling):
// with several column tiles a first kernel finds each row's segment in
// each tile; work-groups sum tiles of out over blocks of rows, each
// accumulator in row order, and a last kernel adds the blocks' partials
// in block order. The split depends on the shape only (spmmtSplit), so
// the bits depend on the operands only. Column indices outside the matrix
// contribute nothing.
func (be *Backend) SpMMT(m backend.CSR, b backend.Dense, out backend.Dense) error {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: SpMMT: %w", err)
	}
	k := b.Cols
	if b.Rows != m.Rows || out.Rows != m.Cols || out.Cols != k || k < 0 {
		return fmt.Errorf("gpu: SpMMT: %w: transpose of a %d x %d matrix times %d x %d into %d x %d", backend.ErrShape,
			m.Rows, m.Cols, b.Rows, b.Cols, out.Rows, out.Cols)
	}
	bm, om, is32, err := be.denseOperands(b, out)
	if err != nil {
		return fmt.Errorf("gpu: SpMMT: %w", err)
	}
	if err := checkSizes(m.Rows, m.Cols, k); err != nil {
		return fmt.Errorf("gpu: SpMMT: %w", err)
	}
	n := int64(m.Cols) * int64(k)
	if n == 0 {
		return nil
	}
	if m.NNZ == 0 {
		if err := be.rt.Zero(om, 0, n*int64(out.Data.Kind().Size())); err != nil {
			return fmt.Errorf("gpu: SpMMT: %w", err)
		}
		return nil
	}
	kc, w, tiles, chunks, blocks, blockRows := spmmtSplit(m.Rows, m.Cols, k, m.NNZ)
	// With several tiles, each row's segment in each tile (a placeholder
	// with one).
	seg, hasSeg := indptr, int32(0)
	if tiles > 1 {
		sb, err := be.allocRaw(backend.Int32, tiles*m.Rows)
		if err != nil {
			return fmt.Errorf("gpu: SpMMT: row segments: %w", err)
		}
		defer sb.Free()
		seg = sb.mem
		hasSeg = 1
		if err := be.launch1D("spmmt_segments", int64(m.Rows), localSize, int32(m.Rows), int32(w), int32(tiles),
			indptr, indices, seg); err != nil {
			return fmt.Errorf("gpu: SpMMT: %w", err)
		}
	}
	groups := [3]int{tiles * chunks, blocks, 1}
	local := [3]int{min(spmmtLocal, be.rt.MaxLocal()), 1, 1}
	args := []any{int32(m.Rows), int32(m.Cols), int32(k), int32(kc), int32(w), int32(tiles), int32(blockRows),
		indptr, indices, data, seg, hasSeg, bm, bm, is32}
	if blocks == 1 {
		args = append(args, om, om, om, int32(1))
		if err := be.launch("spmmt_tiles", groups, local, args...); err != nil {
			return fmt.Errorf("gpu: SpMMT: %w", err)
		}
		return nil
	}
	pb, err := be.allocRaw(backend.Float64, blocks*int(n))
	if err != nil {
		return fmt.Errorf("gpu: SpMMT: partial sums: %w", err)
	}
	// Scratch is freed once the kernels are queued: OpenCL defers a
	// release until the queued work using it is done, and CUDA's free
	// waits for it.
	defer pb.Free()
	part := pb.mem
	args = append(args, part, om, om, int32(0))
	if err := be.launch("spmmt_tiles", groups, local, args...); err != nil {
		return fmt.Errorf("gpu: SpMMT: %w", err)
	}
	if err := be.launch1D("spmmt_reduce", n, localSize, n, int32(blocks), part, om, om, is32); err != nil {
		return fmt.Errorf("gpu: SpMMT: %w", err)
	}
	return nil
}

// gramDense bounds the densified rows of GramAccumulate (float64
// elements: 128 MiB); gramMaxRows bounds the rows of a block.
const (
	gramDense   = 1 << 24
	gramMaxRows = 8192

	// With a vendor BLAS: 512 MiB of dense rows, up to 32,768 of them.
	gramDenseBLAS   = 1 << 26
	gramMaxRowsBLAS = 1 << 15
)

// gramBlockRows returns the rows GramAccumulate densifies at a time for
// cols columns: a function of the shape only, so the bits are too.
func gramBlockRows(cols int) int {
	return max(16, min(gramMaxRows, gramDense/max(cols, 1)))
}

// GramAccumulate adds mᵀm into c's upper triangle: blocks of rows are
// written into a zeroed dense float64 matrix D (one writer per element)
// and C += DᵀD runs as a symmetric rank-k update on the vendor BLAS when
// the runtime has one (GramIsFast; the dense product wastes the zeros but
// runs at the float64 peak, far above any sparse kernel), otherwise as the
// own Gemm kernel over the tiles of C's upper triangle, each element of C
// summing its block's terms in row order. Both are deterministic for a
// given device and shape. The products of float32 values are exact in float64. Column
// indices outside the matrix contribute nothing.
func (be *Backend) GramAccumulate(m backend.CSR, c backend.Dense) error {
	return be.gramAccumulate(m, c, 0)
}

// gramAccumulate is GramAccumulate densifying rb rows at a time (0:
// gramBlockRows's).
func (be *Backend) gramAccumulate(m backend.CSR, c backend.Dense, rb int) error {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: GramAccumulate: %w", err)
	}
	d := m.Cols
	if c.Rows != d || c.Cols != d {
		return fmt.Errorf("gpu: GramAccumulate: %w: C is %d x %d, want %d x %d", backend.ErrShape, c.Rows, c.Cols, d, d)
	}
	cm, err := be.memOf("C.Data", c.Data, backend.Float64, d*d)
	if err != nil {
		return fmt.Errorf("gpu: GramAccumulate: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return fmt.Errorf("gpu: GramAccumulate: %w", err)
	}
	if err := checkInt32("the column count", d); err != nil {
		return fmt.Errorf("gpu: GramAccumulate: %w", err)
	}
	if m.NNZ == 0 || d == 0 {
		return nil
	}
	if rb <= 0 {
		rb = gramBlockRows(d)
		if be.blas != nil {
			// Larger blocks: the rank-k update runs near the device's
			// peak only when k is large.
			rb = max(16, min(gramMaxRowsBLAS, gramDenseBLAS/max(d, 1)))
		}
	}
	rb = min(rb, m.Rows)
	db, err := be.Alloc(backend.Float64, rb*d)
	if err != nil {
		return fmt.Errorf("gpu: GramAccumulate: dense rows: %w", err)
	}
	defer db.Free()
	dense := db.(*buffer).mem
	for r0 := 0; r0 < m.Rows; r0 += rb {
		n := min(rb, m.Rows-r0)
		scatter := func(clear int32) error {
			return be.launch1D("gram_scatter", int64(n), localSize, int32(r0), int32(n), int32(d),
				indptr, indices, data, dense, clear)
		}
		if err := scatter(0); err != nil {
			return fmt.Errorf("gpu: GramAccumulate: %w", err)
		}
		if be.blas != nil {
			if err := be.blas.Syrk64(d, n, 1, dense, d, 1, cm, d); err != nil {
				return fmt.Errorf("gpu: GramAccumulate: %w", err)
			}
		} else {
			g := gemmOp{transA: true, alpha: 1, a: dense, ar: n, ac: d, b: dense, br: n, bc: d, beta: 1, c: cm, upper: true}
			if err := be.gemm(g); err != nil {
				return fmt.Errorf("gpu: GramAccumulate: %w", err)
			}
		}
		if r0+n < m.Rows {
			if err := scatter(1); err != nil {
				return fmt.Errorf("gpu: GramAccumulate: %w", err)
			}
		}
	}
	return nil
}
