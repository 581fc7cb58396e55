package main

import (
	"flag"
	"fmt"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/anndata/zarr"
)

// compressions are the --compression choices of commands that write stores.
var compressions = map[string]zarr.Compressor{
	"lz4":  {ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1},  // anndata's default: fastest to read
	"zstd": {ID: "blosc", CName: "zstd", CLevel: 3, Shuffle: 1}, // about 25% smaller, slower to read
	"none": {},
}

// compressionFlag registers --compression on fs; the returned function
// gives the write options it selects.
func compressionFlag(fs *flag.FlagSet) func() (*anndata.WriteOptions, error) {
	name := fs.String("compression", "lz4", "codec of the written store: lz4 (Blosc-lz4, anndata's default, fastest to read), zstd (Blosc-zstd, smaller) or none")
	return func() (*anndata.WriteOptions, error) {
		c, ok := compressions[*name]
		if !ok {
			return nil, fmt.Errorf("unknown --compression %q: want lz4, zstd or none", *name)
		}
		return &anndata.WriteOptions{Compressor: &c}, nil
	}
}
