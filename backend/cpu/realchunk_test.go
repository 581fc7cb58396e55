package cpu

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/sparse"
)

// BenchmarkGramRealChunk runs GramAccumulateOrdered on the first row
// chunk (20,000 rows) of a real HVG matrix, the columns in increasing
// order of density as PCA orders them, with the model's split between
// sparse and dense tiles and with the last 0 to 5 column blocks dense.
// SCBENCH_GRAM_STORE names the store: the X of `scbench run --until pca
// --out` (the filtered, normalized, log1p, HVG-subset matrix) is the
// matrix whose Gram matrix the covariance path accumulates.
func BenchmarkGramRealChunk(b *testing.B) {
	path := os.Getenv("SCBENCH_GRAM_STORE")
	if path == "" {
		b.Skip("SCBENCH_GRAM_STORE is not set: no real HVG matrix to run on")
	}
	h, err := firstChunk(path, 20000)
	if err != nil {
		b.Fatal(err)
	}
	rank := densityRank(h)
	nb := (h.Cols + gramBlock - 1) / gramBlock
	for _, threads := range benchThreadSettings {
		b.Run(threadName(threads)+"/model", func(b *testing.B) { benchGram(b, threads, h, rank) })
		for dense := range 6 {
			b.Run(fmt.Sprintf("%s/dense-blocks=%d", threadName(threads), dense), func(b *testing.B) { benchGramFixed(b, threads, h, rank, nb-dense) })
		}
	}
}

// firstChunk reads the first rows of the store's X.
func firstChunk(path string, rows int) (*sparse.CSR, error) {
	f, err := anndata.Open(path)
	if err != nil {
		return nil, err
	}
	r := f.RowChunks(context.Background(), anndata.StreamOptions{Rows: rows})
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: X has no rows", path)
	}
	return r.Chunk().CSR.Clone(), nil
}
