// Dense float64 kernels: Gemm, and the symmetric matrix EigSymTop
// multiplies, mirrored from its upper triangle.

// gemm_f64: c = alpha*op(a)*op(b) + beta*c, c m x n (row-major, leading
// dimension n), op(a) m x kk, op(b) kk x n; a and b row-major with leading
// dimensions lda and ldb, transposed when transA, transB. A 16 x 16 work-group
// computes a 16 x 16 tile of c, one element a work-item, stepping through
// kk in tiles of 16 that it copies to LOCAL memory (coalesced: along the
// stored rows whatever the transposes), each element summing its terms in
// order. When beta is 0, c is not read. upper: only the tiles that meet
// the upper triangle (j >= i) are computed (GramAccumulate's C).
//
// A plain kernel, not a tuned one: two LOCAL loads per multiply-add. Its
// uses are EigSymTop's products (n x n times n x 8..16: bound by reading
// the matrix once), PCA's rank-1 update of the covariance, and the Gram
// fallback.
#define GEMM_TILE 16

KERNEL gemm_f64(const i32 m, const i32 n, const i32 kk, const i32 transA, const i32 transB,
                const f64 alpha, GLOBAL const f64 *a, const i32 lda, GLOBAL const f64 *b,
                const i32 ldb, const f64 beta, GLOBAL f64 *c, const i32 upper) {
	LOCAL f64 ta[GEMM_TILE][GEMM_TILE + 1];
	LOCAL f64 tb[GEMM_TILE][GEMM_TILE + 1];
	const i32 tx = LID(0), ty = LID(1);
	const i32 i0 = GRP(0) * GEMM_TILE, j0 = GRP(1) * GEMM_TILE;
	if (upper && j0 + GEMM_TILE <= i0) return; // the whole group: no barrier is skipped by some only
	f64 s = 0;
	for (i32 l0 = 0; l0 < kk; l0 += GEMM_TILE) {
		// ta[r][q] = op(a)[i0+r][l0+q], tb[q][r] = op(b)[l0+q][j0+r].
		if (transA) {
			const i32 row = l0 + ty, col = i0 + tx;
			ta[tx][ty] = row < kk && col < m ? a[(i64)row * lda + col] : 0.0;
		} else {
			const i32 row = i0 + ty, col = l0 + tx;
			ta[ty][tx] = row < m && col < kk ? a[(i64)row * lda + col] : 0.0;
		}
		if (transB) {
			const i32 row = j0 + ty, col = l0 + tx;
			tb[tx][ty] = row < n && col < kk ? b[(i64)row * ldb + col] : 0.0;
		} else {
			const i32 row = l0 + ty, col = j0 + tx;
			tb[ty][tx] = row < kk && col < n ? b[(i64)row * ldb + col] : 0.0;
		}
		BARRIER();
		for (i32 q = 0; q < GEMM_TILE; q++) s += ta[ty][q] * tb[q][tx];
		BARRIER();
	}
	const i32 i = i0 + ty, j = j0 + tx;
	if (i < m && j < n) {
		const i64 at = (i64)i * n + j;
		f64 r = kk > 0 ? alpha * s : 0.0;
		if (beta != 0.0) r += beta * c[at];
		c[at] = r;
	}
}

// sym_from_upper: full = the symmetric n x n matrix whose upper triangle
// is a's (a's lower triangle is never used). A 16 x 16 work-group writes
// one tile of full; the elements below the diagonal come from the mirror
// tile of a, read along its rows into LOCAL memory.
KERNEL sym_from_upper(const i32 n, GLOBAL const f64 *RESTRICT a, GLOBAL f64 *RESTRICT full) {
	LOCAL f64 t[GEMM_TILE][GEMM_TILE + 1];
	const i32 tx = LID(0), ty = LID(1);
	const i32 i0 = GRP(1) * GEMM_TILE, j0 = GRP(0) * GEMM_TILE;
	const i32 sr = j0 + ty, sc = i0 + tx;
	t[ty][tx] = sr < n && sc < n ? a[(i64)sr * n + sc] : 0.0;
	BARRIER();
	const i32 i = i0 + ty, j = j0 + tx;
	if (i < n && j < n) full[(i64)i * n + j] = j >= i ? a[(i64)i * n + j] : t[tx][ty];
}
