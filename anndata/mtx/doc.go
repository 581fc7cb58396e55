// Package mtx reads 10x Genomics Matrix Market directories (matrix.mtx[.gz],
// features.tsv[.gz] or genes.tsv[.gz], barcodes.tsv[.gz]) and converts them
// to AnnData zarr stores, as scanpy's read_10x_mtx followed by write_zarr
// would, out of core.
//
// # Orientation and names
//
// A 10x matrix stores genes as rows and cells as columns; the AnnData X is
// the transpose, cells x genes, CSR float32. obs is indexed by barcode.
// var is indexed by gene symbol made unique as anndata's
// var_names_make_unique does ("-1", "-2", ... for later repeats), with
// gene_ids and, for features.tsv, feature_types columns; only "Gene
// Expression" features are kept unless AllFeatures is set (scanpy's
// gex_only=True). String columns with repeated values become categoricals,
// as anndata does on writing.
//
// Values follow scipy's mmread followed by astype(float32): integer fields
// are read as int64, real fields as float64 (correctly rounded), then
// converted; pattern entries are 1. Entries repeating a (gene, cell) are
// summed in file order, explicit zeros are kept, and each row's genes are
// sorted, as scipy's coo->csr conversion does. Symmetric and
// skew-symmetric files (square only) stand for both triangles.
//
// # Passes and memory
//
// A 1.3M-cell matrix has 2.6e9 entries, about 40 GB of text, so the
// matrix never sits in memory. Every pass over the file runs a pipeline: one
// goroutine decompresses (klauspost/compress/gzip) and cuts the text into
// blocks of about 1 MiB at line ends, Workers goroutines parse blocks with a
// hand-written scanner (no per-token allocation), and the calling goroutine
// takes the parsed blocks in file order. Errors name the file and line.
//
// Pass 1 streams: 10x files are sorted by column, that is by cell, so the
// rows before the current cell are complete. Entries go into a chunk
// buffer; when it fills, its complete rows are handed to the sink on a
// goroutine of its own while a second buffer fills. When every cell came in
// order, this single pass is the whole conversion.
//
// When a cell comes after a later one, the streaming pass stops (and, if
// chunks already went out, the sink is told to restart). Pass 2 counts the
// entries of each cell over the whole file, validating it. The cells are
// then cut into blocks whose entries fit one buffer, and each block takes
// one more pass, which skips other cells' entries before parsing their
// values and places its own at their final offsets; rows are then sorted
// and summed in parallel. An unsorted file thus costs part of pass 1, the
// counting pass and one pass per block: with the default 2 GiB budget a
// block holds about 115M entries, so a shuffled 2.6e9-entry file takes 23
// block passes. Stats.Passes reports the count. (10x writes sorted files;
// spilling blocks to temporary files would be the way to go if unsorted
// atlases turn up.)
//
// The memory budget (RowsOptions.MemoryBudget, 2 GiB by default) covers:
// the (2*Workers+2) blocks in flight, each 1 MiB of text and its parsed
// entries (12 bytes per entry, about as much again for 10x lines of 12 to
// 16 bytes; more for shorter lines), 2 MiB of file readers, 8 bytes per
// cell of counts and 4 per gene of gene map, and the chunk buffers (8 bytes
// per entry and a row pointer per 4 entries): two buffers of a third of
// the rest each when streaming, one of two thirds when not. The last third
// is left for the sink (anndata.Writer holds the row pointers, 8 bytes per
// cell, and a few compressed chunks). Buffers are sized to the file, so
// small files take little. Blocks, readers and chunk buffers are reused
// from pass to pass and the entry slices are sized once, so the heap holds
// little garbage beyond the live buffers. One bound can be exceeded: a
// single cell with more distinct genes than half a buffer holds, which
// needs a budget of a few bytes per gene to happen.
//
// Rows and its RowSink are the conversion without the writer; Convert
// connects them to anndata.Writer.
package mtx
