package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/anndata/zarr"
	"github.com/scbench/scbench/internal/cputime"
	"github.com/scbench/scbench/synth"
)

// BenchmarkReadX streams X of a generated store in 20,000-row chunks and
// reports decompressed MB/s of data and indices (8 bytes per non-zero).
// Run with -cpu 1,2 for single-core and all-core rates. SCBENCH_READ_CELLS
// sets the store's size (default 50,000 cells); the stores are generated
// once per run into a temporary folder.
func BenchmarkReadX(b *testing.B) {
	cells := 50_000
	if s := os.Getenv("SCBENCH_READ_CELLS"); s != "" {
		if _, err := fmt.Sscan(s, &cells); err != nil {
			b.Fatalf("SCBENCH_READ_CELLS=%q: %v", s, err)
		}
	}
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		comp zarr.Compressor
	}{
		{"blosc-lz4", zarr.Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1}},
		{"blosc-zstd", zarr.Compressor{ID: "blosc", CName: "zstd", CLevel: 3, Shuffle: 1}},
	} {
		path := filepath.Join(dir, c.name+".zarr")
		p := synth.DefaultParams()
		p.Cells = cells
		p.Write = &anndata.WriteOptions{Compressor: &c.comp}
		st, err := synth.Generate(context.Background(), path, p, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(st.NNZ * 8)
			for b.Loop() {
				readAll(b, path, false)
			}
		})
	}
}

// readAll streams X of the store at path in 20,000-row chunks, handing
// each chunk back to the reader when release is set.
func readAll(b *testing.B, path string, release bool) {
	f, err := anndata.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	r := f.RowChunks(context.Background(), anndata.StreamOptions{Rows: 20_000})
	defer r.Close()
	var nnz int64
	for r.Next() {
		c := r.Chunk()
		nnz += c.NNZ()
		if release {
			r.Release(c)
		}
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	if nnz != f.NNZ {
		b.Fatalf("read %d non-zeros, store has %d", nnz, f.NNZ)
	}
}

// BenchmarkReadStore streams X of the store at $SCBENCH_READ_STORE (skipped
// when unset) with the pipeline's reader settings (20,000-row chunks,
// GOMAXPROCS workers) and reports, besides MB/s of wall time, the CPU time
// the process spent per decoded GB (user+system, from getrusage) and the
// decoded GB/s per CPU-second. The consumer only counts values, so the CPU
// time is the reader's. "keep" drops each chunk, as pass 1 of the pipeline
// does; "release" hands each back to the reader (ChunkReader.Release).
func BenchmarkReadStore(b *testing.B) {
	path := os.Getenv("SCBENCH_READ_STORE")
	if path == "" {
		b.Skip("SCBENCH_READ_STORE is not set: it names the store to stream")
	}
	f, err := anndata.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	decoded := 8 * f.NNZ
	for _, release := range []bool{false, true} {
		name := "keep"
		if release {
			name = "release"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(decoded)
			b.ReportAllocs()
			cpu0, ok := cputime.Process()
			for b.Loop() {
				readAll(b, path, release)
			}
			if cpu1, ok1 := cputime.Process(); ok && ok1 {
				gb := float64(decoded) * float64(b.N) / 1e9
				cpu := (cpu1 - cpu0).Seconds()
				b.ReportMetric(cpu/gb, "cpu-s/GB")
				b.ReportMetric(gb/cpu, "GB/cpu-s")
			}
		})
	}
}
