package zarr

import "errors"

// Errors returned by this package wrap one of these, so callers can tell the
// kinds apart with errors.Is; the message around it names the file, array
// and chunk.
var (
	// ErrNotZarr: the path has no .zgroup, .zarray or zarr.json.
	ErrNotZarr = errors.New("not a zarr store (no .zgroup/.zarray/zarr.json)")
	// ErrNotFound: no group or array at the key.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported: a codec, data type or layout this package does not read.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidMetadata: metadata that is not valid JSON or breaks the spec.
	ErrInvalidMetadata = errors.New("invalid metadata")
	// ErrCorrupt: a chunk that does not decode, or decodes to the wrong size.
	ErrCorrupt = errors.New("corrupt chunk")
	// ErrChecksum: a crc32c checksum that does not match its data.
	ErrChecksum = errors.New("checksum mismatch")
)
