//go:build linux && (amd64 || arm64)

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// posixFadvDontNeed is POSIX_FADV_DONTNEED on Linux.
const posixFadvDontNeed = 4

// dropStoreCache writes back and drops the page cache of every file under
// store with posix_fadvise(DONTNEED), and measures with mincore how much of
// the store was cached before and after. The kernel drops clean pages that
// no process maps; it needs no privileges.
func dropStoreCache(store string) (cacheDrop, error) {
	st := cacheDrop{}
	var before, after int64
	measured := true
	err := filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		b, ok := resident(f, info.Size())
		measured = measured && ok
		before += b
		// Dirty pages are not dropped: write them back first (a freshly
		// generated store may still have some).
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", path, err)
		}
		if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, posixFadvDontNeed, 0, 0); e != 0 {
			return fmt.Errorf("posix_fadvise(%s, POSIX_FADV_DONTNEED): %w", path, e)
		}
		b, ok = resident(f, info.Size())
		measured = measured && ok
		after += b
		st.files++
		st.bytes += info.Size()
		return nil
	})
	st.residentBefore, st.residentAfter = before, after
	if !measured {
		st.residentBefore, st.residentAfter = -1, -1
	}
	return st, err
}

// resident returns the bytes of f in the page cache, by mincore on a
// read-only mapping.
func resident(f *os.File, size int64) (int64, bool) {
	if size == 0 {
		return 0, true
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return 0, false
	}
	defer syscall.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (size+page-1)/page)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(size), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, false
	}
	var n int64
	for i, v := range vec {
		if v&1 != 0 {
			n += min(page, size-int64(i)*page)
		}
	}
	return n, true
}
