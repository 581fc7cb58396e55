package mtx

import (
	"context"
	"fmt"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/sparse"
)

// ConvertOptions configures Convert.
type ConvertOptions struct {
	// MemoryBudget bounds the memory of the matrix conversion (see
	// RowsOptions); 0 means DefaultMemoryBudget. The obs and var names are
	// held in memory besides (about 50 bytes per cell and gene).
	MemoryBudget int64
	Workers      int      // parser goroutines; 0 means GOMAXPROCS
	VarNames     VarNames // GeneSymbols (scanpy's default) or GeneIDs
	AllFeatures  bool     // keep non-"Gene Expression" features (scanpy: gex_only=False)
	// Progress, if set, is called as the matrix file is read; ProgressLines
	// makes one that prints lines.
	Progress func(Progress)
	Write    *anndata.WriteOptions // passed to anndata.Create
}

// Convert converts the 10x directory (or matrix file) in to the AnnData
// zarr store out, as scanpy's read_10x_mtx followed by write_zarr would:
// X is cells x genes CSR float32, obs is indexed by barcode, var by gene
// symbol made unique, with gene_ids and feature_types columns. The store
// appears at out only when complete; on error nothing is left there.
func Convert(ctx context.Context, in, out string, opt ConvertOptions) (Stats, error) {
	d, err := Open(in)
	if err != nil {
		return Stats{}, err
	}
	obs, vr, genes, err := d.Frames(FrameOptions{VarNames: opt.VarNames, AllFeatures: opt.AllFeatures})
	if err != nil {
		return Stats{}, err
	}
	sink := &writerSink{path: out, nObs: len(obs.Index), nVar: len(vr.Index), opt: opt.Write}
	if err := sink.create(); err != nil {
		return Stats{}, err
	}
	st, err := d.Rows(ctx, RowsOptions{
		MemoryBudget: opt.MemoryBudget,
		Workers:      opt.Workers,
		Genes:        genes,
		Progress:     opt.Progress,
	}, sink)
	if err == nil {
		err = sink.finish(obs, vr)
	}
	if err != nil {
		sink.w.Abort()
		return st, err
	}
	return st, nil
}

// writerSink appends row chunks to an anndata.Writer.
type writerSink struct {
	path       string
	nObs, nVar int
	opt        *anndata.WriteOptions
	w          *anndata.Writer
}

func (s *writerSink) create() error {
	w, err := anndata.Create(s.path, s.nObs, s.nVar, s.opt)
	if err != nil {
		return fmt.Errorf("creating %s: %w", s.path, err)
	}
	s.w = w
	return nil
}

func (s *writerSink) Rows(start int, m *sparse.CSR) error {
	if err := s.w.AppendX(m); err != nil {
		return fmt.Errorf("writing X rows %d-%d to %s: %w", start, start+m.Rows, s.path, err)
	}
	return nil
}

func (s *writerSink) Restart() error {
	s.w.Abort()
	return s.create()
}

func (s *writerSink) finish(obs, vr *anndata.Frame) error {
	if err := s.w.SetObs(obs); err != nil {
		return fmt.Errorf("writing obs to %s: %w", s.path, err)
	}
	if err := s.w.SetVar(vr); err != nil {
		return fmt.Errorf("writing var to %s: %w", s.path, err)
	}
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", s.path, err)
	}
	return nil
}
