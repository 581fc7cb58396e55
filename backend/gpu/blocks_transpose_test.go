package gpu

import "testing"

// TestTransposeSplit checks Transpose's split: every column in a tile of
// at most transposeTile columns and none empty, every row in a row block
// and none empty, the counts within their bound, and enough work-groups
// for a large GPU on the PCA's shape.
func TestTransposeSplit(t *testing.T) {
	for _, c := range []struct {
		rows, cols, minGroups int
	}{
		{1_265_792, 5000, 1000}, // Z of PCA's eigensolve at 1.3M cells
		{20000, 5000, 300},
		{5000, 1_265_792, 400}, // Zᵀ: many tiles
		{1, 1, 1},
		{1031, 613, 17},
		{3, 7001, 3},
		{20011, 5, 313},
		{100, 3072, 2},
		{100, 3073, 2},
	} {
		w, tiles, blocks, rb := transposeSplit(c.rows, c.cols)
		switch {
		case w < 1 || w > transposeTile || tiles*w < c.cols || (tiles-1)*w >= c.cols:
			t.Errorf("%+v: %d tiles of %d columns", c, tiles, w)
		case blocks < 1 || rb < 1 || blocks*rb < c.rows || (blocks-1)*rb >= c.rows:
			t.Errorf("%+v: %d row blocks of %d rows", c, blocks, rb)
		case blocks > 1 && c.cols*blocks > transposeMaxCounts:
			t.Errorf("%+v: %d row blocks make %d counts", c, blocks, c.cols*blocks)
		case blocks > 65535:
			t.Errorf("%+v: %d row blocks exceed CUDA's grid", c, blocks)
		case tiles*blocks < c.minGroups:
			t.Errorf("%+v: %d x %d groups, want at least %d", c, tiles, blocks, c.minGroups)
		}
	}
}

// TestSpMMLongLanes checks spmm_long's column lanes: a power of two that
// divides the work-group, at most spmmLongCols, and at least k up to it.
func TestSpMMLongLanes(t *testing.T) {
	for k := 1; k <= 40; k++ {
		kc := spmmLongLanes(k)
		if kc&(kc-1) != 0 || spmmLongLocal%kc != 0 || kc > spmmLongCols || kc < min(k, spmmLongCols) || kc >= 2*k {
			t.Errorf("k = %d: %d column lanes", k, kc)
		}
	}
}
