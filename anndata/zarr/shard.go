package zarr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// shardIndex is the decoded index of one shard of a sharding_indexed array:
// an (offset, nbytes) pair per inner chunk, in C order of the inner chunks.
type shardIndex struct {
	entries []uint64 // nil when the shard file does not exist
	size    int64    // shard file size
}

// emptyInner marks an inner chunk that was never written.
const emptyInner = math.MaxUint64

// shardIndexFor returns the (cached) index of the shard stored at key.
// Indexes are small (16 bytes per inner chunk), so every shard read once
// stays cached for the life of the Array.
func (a *Array) shardIndexFor(key string) (*shardIndex, error) {
	a.shardMu.Lock()
	si, ok := a.shardIdx[key]
	a.shardMu.Unlock()
	if ok {
		return si, nil
	}
	si, err := a.loadShardIndex(key)
	if err != nil {
		return nil, err
	}
	a.shardMu.Lock()
	a.shardIdx[key] = si
	a.shardMu.Unlock()
	return si, nil
}

func (a *Array) loadShardIndex(key string) (*shardIndex, error) {
	sh := a.m.shard
	f, err := os.Open(filepath.Join(a.Path, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return &shardIndex{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("zarr: %s: %w", a.where(key), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("zarr: %s: %w", a.where(key), err)
	}
	size := st.Size()
	if size < sh.indexSize {
		return nil, fmt.Errorf("zarr: %s: %w: shard of %d bytes is shorter than its %d-byte index: truncated shard", a.where(key), ErrCorrupt, size, sh.indexSize)
	}
	at := int64(0)
	if sh.atEnd {
		at = size - sh.indexSize
	}
	b := make([]byte, sh.indexSize)
	if _, err := f.ReadAt(b, at); err != nil {
		return nil, fmt.Errorf("zarr: %s: reading the shard index: %w", a.where(key), err)
	}
	if sh.indexCRC {
		body := b[:len(b)-4]
		want := binary.LittleEndian.Uint32(b[len(b)-4:])
		if got := crc32.Checksum(body, castagnoli); got != want {
			return nil, fmt.Errorf("zarr: %s: %w: shard index crc32c is %08x, stored %08x", a.where(key), ErrChecksum, got, want)
		}
	}
	si := &shardIndex{entries: make([]uint64, 2*sh.nInner), size: size}
	for i := range si.entries {
		if sh.indexBig {
			si.entries[i] = binary.BigEndian.Uint64(b[8*i:])
		} else {
			si.entries[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
	}
	for i := 0; i < len(si.entries); i += 2 {
		off, n := si.entries[i], si.entries[i+1]
		if off == emptyInner && n == emptyInner {
			continue
		}
		if off > uint64(size) || n > uint64(size)-off {
			return nil, fmt.Errorf("zarr: %s: %w: shard index entry %d (offset %d, %d bytes) lies outside the %d-byte shard", a.where(key), ErrCorrupt, i/2, off, n, size)
		}
	}
	return si, nil
}

// rawInner reads the stored bytes of the inner chunk with (global) inner
// grid coordinates u, reading only those bytes of its shard.
func (a *Array) rawInner(u []int64, buf *[]byte) ([]byte, string, error) {
	sh := a.m.shard
	var tmp [8]int64
	sidx := tmp[:0]
	local := int64(0)
	for k, v := range u {
		sidx = append(sidx, v/sh.perShard[k])
		local = local*sh.perShard[k] + v%sh.perShard[k]
	}
	key := a.chunkKey(sidx)
	loc := fmt.Sprintf("%s inner chunk %d", a.where(key), local)
	si, err := a.shardIndexFor(key)
	if err != nil {
		return nil, loc, err
	}
	if si.entries == nil {
		return nil, loc, nil
	}
	off, n := si.entries[2*local], si.entries[2*local+1]
	if off == emptyInner && n == emptyInner {
		return nil, loc, nil
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	f, err := os.Open(filepath.Join(a.Path, filepath.FromSlash(key)))
	if err != nil {
		return nil, loc, fmt.Errorf("zarr: %s: %w", a.where(key), err)
	}
	defer f.Close()
	if _, err := f.ReadAt(b, int64(off)); err != nil && !(err == io.EOF && len(b) == 0) {
		return nil, loc, fmt.Errorf("zarr: %s: reading inner chunk %d (bytes %d..%d): %w", a.where(key), local, off, off+n, err)
	}
	return b, loc, nil
}
