// Package shareddata locates the project's shared datasets and scanpy
// reference results for tests and benchmarks.
//
// They live in a folder named shared beside the checkout (../shared from the
// module root), or wherever SCBENCH_SHARED points. They are never copied into
// the repository, so every test that needs them skips, with a message that
// says where it looked, when they are absent.
//
// The readers (ReadCSV, ReadFloats, ReadTriplets, ListsFromDistances) turn
// the references' gzip CSV tables and (row, col, value) graphs into the
// forms the tests compare against, failing the test where a file is
// malformed.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the shared folder, or "" when it cannot be found.
func Root() string {
	if d := os.Getenv("SCBENCH_SHARED"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			cand := filepath.Join(dir, "..", "shared")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Path returns the path of rel (slash-separated, relative to the shared
// folder) and skips the test when it does not exist.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	root := Root()
	if root == "" {
		tb.Skip("SKIP: shared datasets not found (looked for ../shared beside the module root; set SCBENCH_SHARED to override)")
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("SKIP: shared dataset %s not found: %v", p, err)
	}
	return p
}
