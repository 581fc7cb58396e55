//go:build (linux || darwin || freebsd) && !nodlopen

package linalg

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/ebitengine/purego"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// CBLAS enum values (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
	cblasUpper    = 121
	cblasLower    = 122
)

// cblasNames are tried in order by Load(""). libblas.so.3 is last and
// must prove it is an optimized library (see optimizedMarkers): the
// reference BLAS is slower than the Go engine.
var cblasNames = map[string][]string{
	"linux":   {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"},
	"freebsd": {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"},
	"darwin": {
		"libopenblas.0.dylib", "libopenblas.dylib",
		"/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
		"/usr/local/opt/openblas/lib/libopenblas.dylib",
	},
}

// optimizedMarkers are symbols only optimized BLAS libraries export.
var optimizedMarkers = []string{
	"openblas_get_config",      // OpenBLAS
	"bli_info_get_version_str", // BLIS
	"MKL_Get_Version_String",   // MKL
}

// CBLAS is a CBLAS shared library (OpenBLAS, BLIS, MKL) called through
// purego, without cgo. It uses the LP64 interface (32-bit ints); calls
// whose sizes do not fit panic.
type CBLAS struct {
	path    string
	config  string
	threads int

	dgemm func(order, tA, tB, m, n, k int32, alpha float64, a *float64, lda int32, b *float64, ldb int32, beta float64, c *float64, ldc int32)
	dsyrk func(order, uplo, t, n, k int32, alpha float64, a *float64, lda int32, beta float64, c *float64, ldc int32)
}

func searchCBLAS(threads int) (BLAS, error) {
	var errs []error
	for _, name := range cblasNames[runtime.GOOS] {
		b, err := openCBLAS(name, threads, strings.HasPrefix(name, "libblas"))
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("linalg: no CBLAS library names known for %s", runtime.GOOS)
	}
	return nil, errors.Join(errs...)
}

// openCBLAS loads the library at path. With needOptimized, a library that
// exports none of optimizedMarkers is rejected.
func openCBLAS(path string, threads int, needOptimized bool) (BLAS, error) {
	quietThreads()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("linalg: load CBLAS %s: %w", path, err)
	}
	fail := func(err error) (BLAS, error) {
		_ = purego.Dlclose(h)
		return nil, err
	}
	if needOptimized {
		found := false
		for _, m := range optimizedMarkers {
			if _, err := purego.Dlsym(h, m); err == nil {
				found = true
				break
			}
		}
		if !found {
			return fail(fmt.Errorf("linalg: %s is not an optimized BLAS (it exports none of %s); install OpenBLAS (Debian: libopenblas0-pthread) or set %s", path, strings.Join(optimizedMarkers, ", "), EnvBLAS))
		}
	}
	b := &CBLAS{path: path}
	for _, f := range []struct {
		name string
		fptr any
	}{
		{"cblas_dgemm", &b.dgemm},
		{"cblas_dsyrk", &b.dsyrk},
	} {
		sym, err := purego.Dlsym(h, f.name)
		if err != nil {
			return fail(fmt.Errorf("linalg: CBLAS %s lacks %s: %w", path, f.name, err))
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// The thread count is the library's process-wide setting; every
	// CBLAS value of the same library shares it.
	if sym, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil {
		var set func(int32)
		purego.RegisterFunc(&set, sym)
		set(int32(threads))
		b.threads = threads
	}
	if sym, err := purego.Dlsym(h, "openblas_get_config"); err == nil {
		var get func() string
		purego.RegisterFunc(&get, sym)
		b.config = strings.TrimSpace(get())
	}
	return b, nil
}

// threadTimeoutVars are the environment variables by which OpenBLAS reads
// how long its idle threads spin before they sleep.
var threadTimeoutVars = []string{"OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT"}

// quietThreads tells OpenBLAS, unless the user already did, to put its
// idle threads to sleep at once (a spin of 2^4 cycles) instead of after
// its default 2^28 cycles, about 0.1 s. OpenBLAS starts its threads when
// it loads and wakes them for every call; idle, they spin on sched_yield:
// 2,900 calls in a 5,000-cell run that never called the library, 13 with
// this setting. The spinning yields to busy Go workers, so wall time did
// not change measurably, but it is CPU time the run reports and profiles
// show. Waking a sleeping thread costs nothing next to the products done
// here. The library reads the variable when it loads, so it is set before
// Dlopen; the Go runtime passes os.Setenv on to the C environment (with
// cgo, and with purego's fake cgo without it).
func quietThreads() {
	for _, v := range threadTimeoutVars {
		if _, ok := os.LookupEnv(v); ok {
			return
		}
	}
	_ = os.Setenv(threadTimeoutVars[0], "4")
}

// String implements BLAS.
func (b *CBLAS) String() string {
	s := "cblas(" + b.path
	if b.config != "" {
		s += ", " + b.config
	}
	if b.threads > 0 {
		s += fmt.Sprintf(", %d threads", b.threads)
	}
	return s + ")"
}

func cblasTranspose(t blas.Transpose) int32 {
	if t == blas.NoTrans {
		return cblasNoTrans
	}
	return cblasTrans
}

// ld is the leading dimension passed to CBLAS, which requires at least 1
// even for empty matrices.
func ld(g blas64.General) int32 { return int32(max(g.Stride, g.Cols, 1)) }

// Dgemm implements BLAS.
func (b *CBLAS) Dgemm(tA, tB blas.Transpose, alpha float64, a, bm blas64.General, beta float64, c blas64.General) {
	m, n, k := gemmDims(tA, tB, a, bm, c)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleGeneral(beta, m, n, c.Data, c.Stride)
		return
	}
	if !fitsInt32(m, n, k, a.Stride, bm.Stride, c.Stride) {
		panic(fmt.Sprintf("linalg: Dgemm %dx%dx%d exceeds the 32-bit CBLAS interface of %s", m, n, k, b.path))
	}
	if beta == 0 {
		// BLAS skips reading C when beta is 0, but be explicit: the
		// contract is that NaNs in C do not propagate.
		scaleGeneral(0, m, n, c.Data, c.Stride)
	}
	b.dgemm(cblasRowMajor, cblasTranspose(tA), cblasTranspose(tB), int32(m), int32(n), int32(k),
		alpha, &a.Data[0], ld(a), &bm.Data[0], ld(bm), beta, &c.Data[0], ld(c))
}

// Dsyrk implements BLAS.
func (b *CBLAS) Dsyrk(t blas.Transpose, alpha float64, a blas64.General, beta float64, c blas64.Symmetric) {
	n, k := syrkDims(t, a, c)
	if n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleTriangle(beta, c.Uplo, n, c.Data, c.Stride)
		return
	}
	if !fitsInt32(n, k, a.Stride, c.Stride) {
		panic(fmt.Sprintf("linalg: Dsyrk %dx%d exceeds the 32-bit CBLAS interface of %s", n, k, b.path))
	}
	if beta == 0 {
		scaleTriangle(0, c.Uplo, n, c.Data, c.Stride)
	}
	uplo := int32(cblasUpper)
	if c.Uplo == blas.Lower {
		uplo = cblasLower
	}
	b.dsyrk(cblasRowMajor, uplo, cblasTranspose(t), int32(n), int32(k),
		alpha, &a.Data[0], ld(a), beta, &c.Data[0], int32(max(c.Stride, 1)))
}
