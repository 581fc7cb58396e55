package cuda

import (
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/scbench/scbench/backend/gpu"
)

// cublas is libcublas, optional: Gemm64 uses it when it is there.
type cublas struct {
	lib     *library
	version string

	cublasCreate        func(h *uintptr) int32
	cublasDestroy       func(h uintptr) int32
	cublasSetStream     func(h uintptr, s uintptr) int32
	cublasDgemm         func(h uintptr, ta, tb int32, m, n, k int32, alpha *float64, a uint64, lda int32, b uint64, ldb int32, beta *float64, c uint64, ldc int32) int32
	cublasDsyrk         func(h uintptr, uplo, trans int32, n, k int32, alpha *float64, a uint64, lda int32, beta *float64, c uint64, ldc int32) int32
	cublasGetProperty   func(prop int32, v *int32) int32
	cublasGetStatusName func(s int32) string // CUDA 11.4 and later; nil before
}

const (
	cublasOpN = 0 // CUBLAS_OP_N
	cublasOpT = 1 // CUBLAS_OP_T

	cublasFillLower = 0 // CUBLAS_FILL_MODE_LOWER
)

var cublasOnce = sync.OnceValues(func() (*cublas, error) {
	return openCUBLAS(cublasPaths())
})

func loadCUBLAS() (*cublas, error) { return cublasOnce() }

func cublasPaths() []string {
	if p := os.Getenv(EnvCUBLAS); p != "" {
		return []string{p}
	}
	return libPaths("libcublas.so.13", "libcublas.so.12", "libcublas.so")
}

func openCUBLAS(paths []string) (*cublas, error) {
	lib, err := openFirst("cuBLAS", paths)
	if err != nil {
		return nil, err
	}
	b := &cublas{lib: lib}
	for _, f := range []struct {
		fptr any
		name string
	}{
		{&b.cublasCreate, "cublasCreate_v2"},
		{&b.cublasDestroy, "cublasDestroy_v2"},
		{&b.cublasSetStream, "cublasSetStream_v2"},
		{&b.cublasDgemm, "cublasDgemm_v2"},
		{&b.cublasDsyrk, "cublasDsyrk_v2"},
		{&b.cublasGetProperty, "cublasGetProperty"},
	} {
		if err := lib.bind(f.fptr, f.name); err != nil {
			return nil, err
		}
	}
	if lib.has("cublasGetStatusName") {
		if err := lib.bind(&b.cublasGetStatusName, "cublasGetStatusName"); err != nil {
			return nil, err
		}
	}
	var v [3]int32 // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
	for i := range v {
		if err := b.check("cublasGetProperty", b.cublasGetProperty(int32(i), &v[i])); err != nil {
			return nil, err
		}
	}
	b.version = fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
	return b, nil
}

func (b *cublas) check(call string, s int32) error {
	if s == 0 {
		return nil
	}
	name := fmt.Sprintf("CUBLAS_STATUS_%d", s)
	if b.cublasGetStatusName != nil {
		name = b.cublasGetStatusName(s)
	}
	return &Error{Call: call, Code: int(s), Name: name}
}

// blasHandle is a cuBLAS handle bound to a runtime's stream.
type blasHandle struct {
	lib *cublas
	h   uintptr
}

func (h *blasHandle) destroy() { h.lib.cublasDestroy(h.h) }

// BLAS reports whether Gemm64 can run: nil when cuBLAS loads.
func (r *Runtime) BLAS() error {
	_, err := loadCUBLAS()
	return err
}

// Gemm64 computes C = alpha op(A) op(B) + beta C with cuBLAS on the
// runtime's stream, for row-major float64 matrices: C is m x n with row
// stride ldc, op(A) is m x k, op(B) is k x n, op(X) = X^T when transX, and
// lda, ldb are the row strides of A and B as stored. Like a launch it
// returns before the product is done.
func (r *Runtime) Gemm64(transA, transB bool, m, n, k int, alpha float64, a gpu.Mem, lda int, b gpu.Mem, ldb int, beta float64, c gpu.Mem, ldc int) error {
	am, err := r.memOf("Gemm64 A", a, 0, 0)
	if err != nil {
		return err
	}
	bm, err := r.memOf("Gemm64 B", b, 0, 0)
	if err != nil {
		return err
	}
	cm, err := r.memOf("Gemm64 C", c, 0, 0)
	if err != nil {
		return err
	}
	for _, v := range []int{m, n, k, lda, ldb, ldc} {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("cuda: Gemm64: sizes %d x %d x %d, strides %d, %d, %d", m, n, k, lda, ldb, ldc)
		}
	}
	// Bounds: the last element each operand reaches, in elements.
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	for _, o := range []struct {
		what           string
		mem            *mem
		rows, cols, ld int
	}{{"A", am, rowsA, colsA, lda}, {"B", bm, rowsB, colsB, ldb}, {"C", cm, m, n, ldc}} {
		if o.ld < max(o.cols, 1) {
			return fmt.Errorf("cuda: Gemm64: %s has %d columns and row stride %d", o.what, o.cols, o.ld)
		}
		if o.rows > 0 && o.cols > 0 && int64((o.rows-1)*o.ld+o.cols)*8 > o.mem.size {
			return fmt.Errorf("cuda: Gemm64: %s (%d x %d, stride %d) does not fit its %d bytes", o.what, o.rows, o.cols, o.ld, o.mem.size)
		}
	}
	if m == 0 || n == 0 {
		return nil
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.openBLAS(); err != nil {
		return fmt.Errorf("cuda: Gemm64: %w", err)
	}
	// cuBLAS is column-major: a row-major X with stride ld is X^T to it.
	// So compute C^T = op(B)^T op(A)^T, which is column-major
	// dgemm(opB, opA, n, m, k, B, A).
	op := func(t bool) int32 {
		if t {
			return cublasOpT
		}
		return cublasOpN
	}
	lib := r.blas.lib
	s := lib.cublasDgemm(r.blas.h, op(transB), op(transA), int32(n), int32(m), int32(k),
		&alpha, bm.ptr, int32(ldb), am.ptr, int32(lda), &beta, cm.ptr, int32(ldc))
	if err := lib.check("cublasDgemm", s); err != nil {
		return fmt.Errorf("cuda: Gemm64: %w", err)
	}
	return nil
}

// openBLAS creates the runtime's cuBLAS handle, on its stream, on first
// use. It runs between enter and exit.
func (r *Runtime) openBLAS() error {
	if r.blas != nil {
		return nil
	}
	lib, err := loadCUBLAS()
	if err != nil {
		return err
	}
	h := &blasHandle{lib: lib}
	if err := lib.check("cublasCreate", lib.cublasCreate(&h.h)); err != nil {
		return err
	}
	if err := lib.check("cublasSetStream", lib.cublasSetStream(h.h, r.stream)); err != nil {
		h.destroy()
		return err
	}
	r.blas = h
	return nil
}

// Syrk64 adds alpha AᵀA to the upper triangle of C (beta C + alpha AᵀA)
// with cublasDsyrk on the runtime's stream, for row-major float64
// matrices: A is k x n with row stride lda, C is n x n with row stride
// ldc; C's strict lower triangle is not touched. Like a launch it returns
// before the product is done.
func (r *Runtime) Syrk64(n, k int, alpha float64, a gpu.Mem, lda int, beta float64, c gpu.Mem, ldc int) error {
	am, err := r.memOf("Syrk64 A", a, 0, 0)
	if err != nil {
		return err
	}
	cm, err := r.memOf("Syrk64 C", c, 0, 0)
	if err != nil {
		return err
	}
	for _, v := range []int{n, k, lda, ldc} {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("cuda: Syrk64: sizes %d x %d, strides %d, %d", n, k, lda, ldc)
		}
	}
	if lda < max(n, 1) || ldc < max(n, 1) {
		return fmt.Errorf("cuda: Syrk64: strides %d, %d for %d columns", lda, ldc, n)
	}
	if k > 0 && n > 0 && int64((k-1)*lda+n)*8 > am.size {
		return fmt.Errorf("cuda: Syrk64: A (%d x %d, stride %d) does not fit its %d bytes", k, n, lda, am.size)
	}
	if n > 0 && int64((n-1)*ldc+n)*8 > cm.size {
		return fmt.Errorf("cuda: Syrk64: C (%d x %d, stride %d) does not fit its %d bytes", n, n, ldc, cm.size)
	}
	if n == 0 {
		return nil
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.exit()
	if err := r.openBLAS(); err != nil {
		return fmt.Errorf("cuda: Syrk64: %w", err)
	}
	// Column-major, the row-major A is Aᵀ (n x k, leading dimension lda)
	// and C's upper triangle is the lower one: C = alpha Aᵀ(Aᵀ)ᵀ + beta C
	// is dsyrk(lower, no transpose).
	lib := r.blas.lib
	s := lib.cublasDsyrk(r.blas.h, cublasFillLower, cublasOpN, int32(n), int32(k),
		&alpha, am.ptr, int32(lda), &beta, cm.ptr, int32(ldc))
	if err := lib.check("cublasDsyrk", s); err != nil {
		return fmt.Errorf("cuda: Syrk64: %w", err)
	}
	return nil
}
