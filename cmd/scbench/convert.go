package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/scbench/scbench/anndata/mtx"
)

func convertCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", "[flags] IN OUT.zarr",
		`Converts a 10x Genomics Matrix Market directory (matrix.mtx[.gz] with
features.tsv[.gz] or genes.tsv, and barcodes.tsv[.gz]) into an AnnData zarr
store, as scanpy's read_10x_mtx followed by write_zarr would: X is cells x genes
(CSR, float32), obs is indexed by barcode, var by gene symbol made unique, with
gene_ids and feature_types columns. IN may also name the matrix file itself.

Memory stays within --memory whatever the size of the matrix: a file sorted by
cell (as 10x writes them) is streamed in one pass; an unsorted one takes as
many passes as the budget needs. The store appears at OUT only when complete.

Example:

	scbench convert filtered_feature_bc_matrix/ pbmc.zarr`, stderr)
	memory := fs.Int64("memory", 0, "memory budget in MiB for the conversion (0: the default, about 2 GiB)")
	geneIDs := fs.Bool("gene-ids", false, "index var by gene id instead of gene symbol (scanpy: var_names='gene_ids')")
	all := fs.Bool("all-features", false, "keep features that are not 'Gene Expression' (scanpy: gex_only=False)")
	threads := fs.Int("threads", 0, "parsing goroutines (0: all cores)")
	writeOpts := compressionFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError(fs, "want IN and OUT.zarr, got %d arguments", fs.NArg())
	}
	opt := mtx.ConvertOptions{
		MemoryBudget: *memory << 20,
		Workers:      *threads,
		AllFeatures:  *all,
		Progress:     mtx.ProgressLines(stderr, "convert", time.Second),
	}
	var err error
	if opt.Write, err = writeOpts(); err != nil {
		return usageError(fs, "%v", err)
	}
	if *geneIDs {
		opt.VarNames = mtx.GeneIDs
	}
	st, err := mtx.Convert(ctx, fs.Arg(0), fs.Arg(1), opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d cells x %d genes, %d non-zeros (%d duplicates summed), %d pass(es) over %.1f MB of text, in %.1f s\n",
		fs.Arg(1), st.Cells, st.Genes, st.NNZ, st.Duplicates, st.Passes, float64(st.TextBytes)/1e6, st.Elapsed.Seconds())
	return nil
}
