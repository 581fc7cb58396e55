package pipeline

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/internal/shareddata"
)

// scanpySeconds reads timings.json and returns scanpy's seconds for the
// steps scbench's preprocessing covers (qc through pca).
func scanpySeconds(b testing.TB, dataset string) float64 {
	path := shareddata.Path(b, "reference/"+dataset+"/timings.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var tj struct {
		Seconds map[string]float64 `json:"seconds"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	var s float64
	for _, k := range []string{"qc", "normalize_log1p", "hvg", "scale", "pca"} {
		s += tj.Seconds[k]
	}
	return s
}

// benchmarkDataset times the whole preprocessing (no output store) and
// reports cells/s and the speed-up over scanpy's timings.json.
func benchmarkDataset(b *testing.B, dataset string) {
	p, _ := refParams(b, dataset)
	f, err := anndata.Open(shareddata.Path(b, "data/"+dataset+"/"+dataset+".zarr"))
	if err != nil {
		b.Fatal(err)
	}
	scanpy := scanpySeconds(b, dataset)
	be := cpu.New(0)
	var last *Result
	b.ResetTimer()
	for b.Loop() {
		res, err := Run(context.Background(), be, f, "", p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		last = res
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(f.NObs)/sec, "cells/s")
	b.ReportMetric(float64(f.NNZ)/sec/1e6, "Mnnz/s")
	b.ReportMetric(scanpy/sec, "x_scanpy")
	for _, s := range last.Report.Steps {
		b.ReportMetric(s.Seconds*1e3, strings.ReplaceAll(s.Name, " ", "_")+"_ms")
	}
}

func BenchmarkBrain10k(b *testing.B) { benchmarkDataset(b, "brain10k") }
func BenchmarkSynth5k(b *testing.B)  { benchmarkDataset(b, "synth5k") }

// BenchmarkHVG times the host-side cell_ranger selection on 28,000 genes.
func BenchmarkHVG(b *testing.B) {
	rng := rand.New(rand.NewPCG(61, 62))
	mean, variance := randomStats(rng, 27998)
	for b.Loop() {
		if _, err := HighlyVariableCellRanger(mean, variance, 5000); err != nil {
			b.Fatal(err)
		}
	}
}
