package anndata

import (
	"context"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// BenchmarkReadX streams the whole of X; its MB/s counts the decoded bytes
// of X/data and X/indices (8 bytes per stored value). Workers follow
// GOMAXPROCS, so -cpu 1,2 compares one core with all.
func BenchmarkReadX(b *testing.B) {
	for _, ds := range []string{"brain10k", "synth5k"} {
		b.Run(ds, func(b *testing.B) {
			f, err := Open(shareddata.Path(b, "data/"+ds+"/"+ds+".zarr"))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(8 * f.NNZ)
			b.ReportAllocs()
			for b.Loop() {
				r := f.RowChunks(context.Background(), StreamOptions{})
				var n int64
				for r.Next() {
					n += r.Chunk().NNZ()
				}
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				r.Close()
				if n != f.NNZ {
					b.Fatalf("streamed %d values, want %d", n, f.NNZ)
				}
			}
		})
	}
}
