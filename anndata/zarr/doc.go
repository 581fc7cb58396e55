// Package zarr reads Zarr stores, format 2 and format 3, from a directory:
// the on-disk layer under AnnData's .zarr files.
//
// # Layout
//
// Open opens a store's root group and detects its format: a format 2 store
// has .zgroup, .zarray and .zattrs files (and, when written by anndata,
// consolidated metadata in .zmetadata, which is used when present); a format
// 3 store has one zarr.json per group and array. Group.Array opens an array;
// opening reads metadata only.
//
// An array is cut into chunks on a regular grid, one file per chunk. Format
// 3 arrays may instead store shards (sharding_indexed): one file per outer
// chunk holding independently compressed inner chunks and an index of their
// (offset, length) pairs. The unit of decoding in this package is the
// smallest independently decoded piece: the chunk, or the inner chunk of a
// shard. NumChunks and ChunkRange count those units along axis 0, so that a
// caller can decode them in parallel with ReadRange and never reads more of
// a shard than the inner chunks it needs (with ReadAt; shard indexes are
// cached per Array).
//
// Decoding a unit runs the codec chain backwards: read the file (or the
// byte range of the shard) into a pooled buffer; undo the bytes-to-bytes
// codecs (blosc, zstd, gzip, zlib, numcodecs lz4, crc32c), the last of them
// writing straight into the caller's slice when the stored element type
// matches it and the unit lies wholly inside the requested range; then
// byte-swap big-endian data and undo transposes (v3 transpose, v2 order
// "F"). Missing chunk files and empty inner chunks read as the fill value.
// Buffers come from per-Array sync.Pools and compressors' decoders from
// package-level pools, so decoding billions of values allocates per chunk,
// never per element, and every method is safe to call from many goroutines.
//
// # Supported
//
// Data types: bool, int8-64, uint8-64, float32, float64 in either byte
// order; strings as numpy object arrays with the vlen-utf8 filter (v2) or
// the v3 string type with the vlen-utf8 codec; fixed-width numpy |S and <U.
// ReadRange converts between numeric types (for example int32 counts read
// into []float32) and reports values the destination cannot hold.
//
// Errors name the array, the chunk and its file, and wrap one of the
// package's sentinel errors (ErrNotZarr, ErrNotFound, ErrUnsupported,
// ErrInvalidMetadata, ErrCorrupt, ErrChecksum). Unsupported codecs and data
// types are rejected by name, with the list of supported ones.
//
// Writing is in the write*.go files of this package.
package zarr
