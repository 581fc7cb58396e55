package gpu

import "testing"

// TestColStatsBlocks checks the split of ColStats's work: every column in
// a tile, at least one block, none empty, the partials within their bound,
// and enough groups for a large GPU on a typical chunk.
func TestColStatsBlocks(t *testing.T) {
	for _, c := range []struct{ rows, cols, minGroups int }{
		{20000, 28000, 1000}, // a chunk of the 1.3M-cell data set
		{20000, 2000, 256},   // the same after selecting genes
		{1, 1, 1},
		{63, 4099, 3},
		{1031, 13, 17},
		{7, 3_000_000, 1465},
	} {
		tiles, blocks := colStatsBlocks(c.rows, c.cols)
		switch {
		case tiles*statsTile < c.cols || (tiles-1)*statsTile >= c.cols:
			t.Errorf("%d x %d: %d tiles of %d columns", c.rows, c.cols, tiles, statsTile)
		case blocks < 1 || blocks > statsMaxBlocks || blocks > 1 && (blocks-1)*statsMinBlockRows >= c.rows:
			t.Errorf("%d x %d: %d row blocks", c.rows, c.cols, blocks)
		case blocks > 1 && blocks*c.cols > statsMaxPartial:
			t.Errorf("%d x %d: %d row blocks make %d partials", c.rows, c.cols, blocks, blocks*c.cols)
		case tiles*blocks < c.minGroups:
			t.Errorf("%d x %d: %d x %d groups, want at least %d", c.rows, c.cols, tiles, blocks, c.minGroups)
		}
	}
}
