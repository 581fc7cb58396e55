// Package anndata reads and writes AnnData stores in zarr (the .zarr layout
// that anndata >= 0.8 writes, Zarr format 2 or 3), out of core.
//
// # Layout on disk
//
// The root group has encoding-type "anndata". X is a csr_matrix group
// (arrays data, indices, indptr and a shape attribute) or a dense 2-D
// array; obs and var are dataframe groups whose _index attribute names the
// index array and whose column-order lists the columns. A column is a
// numeric or bool array, a string-array, a categorical group (codes and
// categories), or a nullable-integer, nullable-boolean or
// nullable-string-array group (values and mask). anndata 0.7 categoricals
// (codes with a "categories" attribute naming a __categories array) and
// 0.7 sparse attributes (h5sparse_format) are read too. X stored as
// csc_matrix is refused with the conversion to make: scbench streams rows.
//
// # Reading
//
// Open reads metadata only and checks that X, obs and var agree on shapes.
// Obs and Var load the dataframes (small: one entry per cell or gene).
// RowChunks streams X as CSR row chunks without ever holding the whole
// matrix: it reads X/indptr once (NObs+1 integers), then for each chunk of
// rows decodes only the zarr chunks of X/data and X/indices that overlap
// the chunk's values, in parallel on a pool of workers, ahead of the
// consumer. Zarr chunks that straddle two row chunks are decoded once and
// shared. Every chunk is checked (column indices in range; indptr monotone
// and consistent with the number of values) and errors name the rows. A
// consumer done with a chunk may hand it back (ChunkReader.Release) for a
// later chunk to be decoded into, which saves allocating and zeroing
// hundreds of megabytes per chunk.
// Info summarizes a store for `scbench info`.
//
// Values of X are read as float32 and column indices as int32, whatever
// their stored numeric types (counts stored as integers included).
//
// Writing (Create, Writer) lives in the write*.go files.
package anndata
