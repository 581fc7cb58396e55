package synth

import (
	"context"
	"runtime"
	"testing"

	"github.com/scbench/scbench/sparse"
)

// BenchmarkGenerateChunk measures generation on one goroutine at the
// default (1.3M-cell brain) parameters.
func BenchmarkGenerateChunk(b *testing.B) {
	m, err := NewModel(DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	const rows = 2000
	s := newSampler(m)
	var nnz int64
	x := s.chunk(0, rows) // warm: later chunks reuse its memory, as in Stream
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.chunkInto(x, i*rows, rows)
		nnz += x.NNZ()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*rows)/sec, "cells/s")
	b.ReportMetric(float64(nnz)/sec, "nnz/s")
}

// BenchmarkStream measures generation on GOMAXPROCS goroutines, in order,
// without writing.
func BenchmarkStream(b *testing.B) {
	p := DefaultParams()
	p.Cells = 40_000 * runtime.GOMAXPROCS(0)
	m, err := NewModel(p)
	if err != nil {
		b.Fatal(err)
	}
	var nnz int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := m.Stream(context.Background(), func(_ int, x *sparse.CSR) error {
			nnz += x.NNZ()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*p.Cells)/sec, "cells/s")
	b.ReportMetric(float64(nnz)/sec, "nnz/s")
}

// BenchmarkNewModel measures building the default model, mostly solving
// for the spread of gene expression.
func BenchmarkNewModel(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := NewModel(DefaultParams()); err != nil {
			b.Fatal(err)
		}
	}
}
