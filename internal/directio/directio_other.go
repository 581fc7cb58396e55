//go:build !linux

package directio

import "os"

// openDirect returns nil: direct I/O is used on Linux only.
func openDirect(string) *os.File { return nil }

// clearDirect does nothing: no file is opened for direct I/O here.
func clearDirect(*os.File) error { return nil }
