package gpu

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sort"
	"strings"
)

//go:embed kernels/*.h kernels/*.cl
var kernelFiles embed.FS

// Source returns the complete kernel source for a dialect: its prelude,
// then every kernels/*.cl file in name order. It is what Backend compiles
// and what the CUDA backend's embedded PTX is generated from.
func Source(d Dialect) string {
	var sb strings.Builder
	prelude := "kernels/prelude_opencl.h"
	if d == CUDA {
		prelude = "kernels/prelude_cuda.h"
	}
	sb.Write(mustRead(prelude))
	names, err := fs.Glob(kernelFiles, "kernels/*.cl")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	for _, n := range names {
		sb.WriteString("\n// ---- " + n + "\n")
		sb.Write(mustRead(n))
	}
	return sb.String()
}

// SourceHash is the hex SHA-256 of Source(d): the key of compiled-kernel
// caches and of the CUDA backend's embedded PTX.
func SourceHash(d Dialect) string {
	h := sha256.Sum256([]byte(Source(d)))
	return hex.EncodeToString(h[:])
}

func mustRead(name string) []byte {
	b, err := kernelFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}
