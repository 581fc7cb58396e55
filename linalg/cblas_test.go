//go:build (linux || darwin || freebsd) && !nodlopen

package linalg

import (
	"os"
	"strings"
	"testing"
)

// refBLAS is Debian's reference BLAS (package libblas3), installed next
// to OpenBLAS on many systems.
const refBLAS = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"

// TestReferenceBLAS checks that the search refuses the reference BLAS
// (slower than the Go engine) but an explicit path loads it.
func TestReferenceBLAS(t *testing.T) {
	if _, err := os.Stat(refBLAS); err != nil {
		t.Skipf("no reference BLAS at %s (Debian: apt-get install libblas3)", refBLAS)
	}
	_, err := openCBLAS(refBLAS, 0, true)
	if err == nil || !strings.Contains(err.Error(), "not an optimized BLAS") {
		t.Fatalf("search accepted the reference BLAS: err = %v", err)
	}
	b, err := Load(refBLAS, 0)
	if err != nil {
		t.Fatalf("explicit path refused: %v", err)
	}
	if !strings.Contains(b.String(), refBLAS) {
		t.Errorf("String() = %q, want the path", b)
	}
}

func TestQuietThreads(t *testing.T) {
	t.Setenv("GOTO_THREAD_TIMEOUT", "")
	os.Unsetenv("GOTO_THREAD_TIMEOUT")
	t.Setenv("OPENBLAS_THREAD_TIMEOUT", "")
	os.Unsetenv("OPENBLAS_THREAD_TIMEOUT")
	quietThreads()
	if got := os.Getenv("OPENBLAS_THREAD_TIMEOUT"); got != "4" {
		t.Errorf("OPENBLAS_THREAD_TIMEOUT = %q after quietThreads, want 4", got)
	}
	// A user's setting, under either name, stands.
	t.Setenv("OPENBLAS_THREAD_TIMEOUT", "")
	os.Unsetenv("OPENBLAS_THREAD_TIMEOUT")
	t.Setenv("GOTO_THREAD_TIMEOUT", "20")
	quietThreads()
	if got, ok := os.LookupEnv("OPENBLAS_THREAD_TIMEOUT"); ok {
		t.Errorf("OPENBLAS_THREAD_TIMEOUT = %q set over the user's GOTO_THREAD_TIMEOUT", got)
	}
}
