package gpu

import "testing"

// TestSpMMTSplit checks the split of SpMMT's work: every column in a tile
// and every output column in a chunk, the accumulators and staged rows of b
// within the kernel's LOCAL arrays, at least one row block and none empty,
// the partials within their bounds, and enough groups for a large GPU on
// the PCA's shapes.
func TestSpMMTSplit(t *testing.T) {
	for _, c := range []struct {
		rows, cols, k int
		nnz           int64
		minGroups     int
	}{
		{1_265_792, 5000, 8, 483_843_551, 1000}, // PCA's matrix-free product at 1.3M cells
		{1_265_792, 5000, 16, 483_843_551, 1000},
		{20000, 5000, 8, 7_645_000, 300}, // one 20,000-row chunk of it
		{1, 1, 1, 1, 1},
		{1031, 613, 13, 63_000, 2},
		{97, 301, 100, 3000, 8},
		{5, 7, 600, 20, 2},      // more output columns than a group takes
		{3, 4099, 1, 12_000, 2}, // more columns than a tile
		{100_000, 13, 1, 10, 1}, // almost empty: the partials would outweigh the matrix
	} {
		kc, w, tiles, chunks, blocks, blockRows := spmmtSplit(c.rows, c.cols, c.k, c.nnz)
		out := int64(c.cols) * int64(c.k)
		switch {
		case kc < 1 || kc > spmmtBStage || kc*w > spmmtAcc || w < 1:
			t.Errorf("%+v: %d output columns x %d columns a group", c, kc, w)
		case tiles*w < c.cols || (tiles-1)*w >= c.cols || chunks*kc < c.k || (chunks-1)*kc >= c.k:
			t.Errorf("%+v: %d tiles of %d columns, %d chunks of %d", c, tiles, w, chunks, kc)
		case blocks < 1 || blockRows < 1 || blocks*blockRows < c.rows || (blocks-1)*blockRows >= c.rows:
			t.Errorf("%+v: %d row blocks of %d rows", c, blocks, blockRows)
		case blocks > 1 && (int64(blocks)*out > spmmtMaxPartial || int64(blocks)*out > c.nnz/4):
			t.Errorf("%+v: %d row blocks make %d partials", c, blocks, int64(blocks)*out)
		case tiles*chunks*blocks < c.minGroups:
			t.Errorf("%+v: %d x %d x %d groups, want at least %d", c, tiles, chunks, blocks, c.minGroups)
		}
	}
}

// TestGramBlockRows checks that GramAccumulate's dense block stays within
// its bound and holds a few rows at least.
func TestGramBlockRows(t *testing.T) {
	for _, d := range []int{1, 13, 613, 5000, 28000, 3_000_000} {
		rb := gramBlockRows(d)
		if rb < 16 || rb > gramMaxRows || rb > 16 && rb*d > gramDense {
			t.Errorf("%d columns: %d rows a block", d, rb)
		}
	}
}
