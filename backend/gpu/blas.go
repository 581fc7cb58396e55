package gpu

// VendorBLAS is a Runtime's optional vendor BLAS for float64 products on
// its queue (the CUDA runtime's cuBLAS). Where it loads, Gemm's large
// products and GramAccumulate run on it, and the backend's own kernels
// remain for the rest: a machine with only the driver still runs every
// step. Matrices are row-major with the given row strides, in elements.
type VendorBLAS interface {
	// BLAS reports whether the library loads: nil when it does.
	BLAS() error
	// Gemm64 computes C = alpha op(A) op(B) + beta C, C m x n.
	Gemm64(transA, transB bool, m, n, k int, alpha float64, a Mem, lda int, b Mem, ldb int, beta float64, c Mem, ldc int) error
	// Syrk64 computes the upper triangle of C = alpha AᵀA + beta C, A
	// k x n, leaving C's strict lower triangle as it is.
	Syrk64(n, k int, alpha float64, a Mem, lda int, beta float64, c Mem, ldc int) error
}

// blasMinWork is the multiply-add count from which a product goes to the
// vendor BLAS: below it a launch of the own kernel costs less than the
// library's set-up.
const blasMinWork = 1 << 18

// GramIsFast reports whether GramAccumulate runs on a vendor BLAS (dense
// blocks through a symmetric rank-k update at the device's float64 peak)
// rather than on the backend's own Gemm kernel. Package pipeline takes
// the covariance path of PCA on a GPU when it does.
func (be *Backend) GramIsFast() bool { return be.blas != nil }
