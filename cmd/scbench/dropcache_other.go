//go:build !(linux && (amd64 || arm64))

package main

import (
	"fmt"
	"runtime"
)

// dropStoreCache is Linux-only (posix_fadvise through its system call).
func dropStoreCache(string) (cacheDrop, error) {
	return cacheDrop{}, fmt.Errorf("not supported on %s/%s (Linux on amd64 or arm64 only)", runtime.GOOS, runtime.GOARCH)
}
