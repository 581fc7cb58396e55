package gpu

import (
	"fmt"
	"math"

	"github.com/scbench/scbench/backend"
)

// The per-row and per-column reductions (kernels/stats.cl).

const (
	// statsTile is the columns a ColStats work-group owns (STATS_TILE).
	statsTile = 2048
	// statsLocal is the ColStats work-group size: enough work-items per
	// row that a typical row (2,000 values over 28,000 genes) is one or
	// two strides.
	statsLocal = 256
	// statsGroups is the number of ColStats work-groups aimed at: several
	// per multiprocessor of a large GPU (132 on an H100), so that while
	// some wait at a row's barrier, others read.
	statsGroups = 1024
	// statsMaxBlocks bounds the row blocks, statsMinBlockRows makes each
	// hold a few rows at least, and statsMaxPartial bounds the partials
	// (3 float64 per row block and column: 48 MiB).
	statsMaxBlocks    = 256
	statsMinBlockRows = 64
	statsMaxPartial   = 1 << 21
)

// colStatsBlocks returns the column tiles and row blocks ColStats splits a
// rows x cols matrix into. It depends on the shape only, never on the
// device, so the order of the additions (and so the bits) does not either.
func colStatsBlocks(rows, cols int) (tiles, blocks int) {
	tiles = (cols + statsTile - 1) / statsTile
	blocks = (statsGroups + tiles - 1) / tiles
	blocks = min(blocks, statsMaxBlocks, (rows+statsMinBlockRows-1)/statsMinBlockRows, statsMaxPartial/max(cols, 1))
	return tiles, max(blocks, 1)
}

// checkInt32 returns an ErrShape error when n, a size a kernel takes as an
// int32, does not fit one.
func checkInt32(what string, n int) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("%w: %s is %d, beyond the kernels' int32 range", backend.ErrShape, what, n)
	}
	return nil
}

// RowStats writes each row's sum (in float64, adding the row's values in
// order, as the CPU backend does: the same bits) and count of stored
// values that are not zero.
func (be *Backend) RowStats(m backend.CSR, out backend.RowStats) error {
	indptr, _, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: RowStats: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return fmt.Errorf("gpu: RowStats: %w", err)
	}
	sum, err := be.memOf("RowStats.Sum", out.Sum, backend.Float64, m.Rows)
	if err != nil {
		return fmt.Errorf("gpu: RowStats: %w", err)
	}
	nnz, err := be.memOf("RowStats.NNZ", out.NNZ, backend.Int32, m.Rows)
	if err != nil {
		return fmt.Errorf("gpu: RowStats: %w", err)
	}
	if err := be.launch1D("row_stats", int64(m.Rows), localSize, int32(m.Rows), indptr, data, sum, nnz); err != nil {
		return fmt.Errorf("gpu: RowStats: %w", err)
	}
	return nil
}

// ColStats adds each column's sum, sum of squares and count of non-zero
// values over the rows that mask keeps into acc.
//
// The columns are split into tiles of statsTile and the rows into blocks
// of consecutive rows (colStatsBlocks); a work-group sums one tile over
// one block in row order, and a second kernel adds the blocks' partial
// sums into acc in block order. The result depends only on the operands.
func (be *Backend) ColStats(m backend.CSR, mask backend.Buffer, acc backend.ColStats) error {
	indptr, indices, data, err := be.csrMems("matrix", m)
	if err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	if err := checkInt32("the row count", m.Rows); err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	if err := checkInt32("the column count", m.Cols); err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	maskMem, hasMask := indptr, int32(0) // a placeholder when there is no mask
	if mask != nil {
		if maskMem, err = be.memOf("mask", mask, backend.Uint8, m.Rows); err != nil {
			return fmt.Errorf("gpu: ColStats: %w", err)
		}
		hasMask = 1
	}
	sum, err := be.memOf("ColStats.Sum", acc.Sum, backend.Float64, m.Cols)
	if err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	// The accumulators not wanted are given as sum, which the kernels
	// then do not touch through them.
	sumSq, nnz, want := sum, sum, int32(0)
	if acc.SumSq != nil {
		if sumSq, err = be.memOf("ColStats.SumSq", acc.SumSq, backend.Float64, m.Cols); err != nil {
			return fmt.Errorf("gpu: ColStats: %w", err)
		}
		want |= 1
	}
	if acc.NNZ != nil {
		if nnz, err = be.memOf("ColStats.NNZ", acc.NNZ, backend.Int64, m.Cols); err != nil {
			return fmt.Errorf("gpu: ColStats: %w", err)
		}
		want |= 2
	}
	if m.Rows == 0 || m.Cols == 0 {
		return nil
	}

	tiles, blocks := colStatsBlocks(m.Rows, m.Cols)
	local := min(statsLocal, be.rt.MaxLocal())
	groups := [3]int{tiles, blocks, 1}
	rows, cols := int32(m.Rows), int32(m.Cols)
	if blocks == 1 {
		if err := be.launch("col_stats_add", groups, [3]int{local, 1, 1},
			rows, cols, indptr, indices, data, maskMem, hasMask, sum, sumSq, nnz, want); err != nil {
			return fmt.Errorf("gpu: ColStats: %w", err)
		}
		return nil
	}
	part, err := be.rt.Alloc(3 * int64(blocks) * int64(m.Cols) * 8)
	if err != nil {
		return fmt.Errorf("gpu: ColStats: allocating %d x %d partial sums: %w", blocks, m.Cols, err)
	}
	// Freed once the kernels are queued: OpenCL defers a release until
	// the queued work using it is done, and CUDA's free waits for it.
	defer be.rt.Free(part)
	if err := be.launch("col_stats_part", groups, [3]int{local, 1, 1},
		rows, cols, indptr, indices, data, maskMem, hasMask, part); err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	if err := be.launch1D("col_stats_reduce", int64(m.Cols), localSize,
		cols, int32(blocks), part, sum, sumSq, nnz, want); err != nil {
		return fmt.Errorf("gpu: ColStats: %w", err)
	}
	return nil
}
