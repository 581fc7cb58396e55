package linalg

// Register tile of the micro-kernel: C[0:mr, 0:nr] is held in registers
// while the k loop runs. 6x8 is the shape that fills the 16 YMM
// registers of AVX2 (12 accumulators, 2 for a row of B, 2 broadcasts).
const (
	mr = 6
	nr = 8
)

// A kernelFunc computes C[0:mr, 0:nr] += A * B over kc steps, where
// A(r, p) = a[r*rs + p*cs] (a row-major block when rs is the leading
// dimension and cs = 1, a packed panel when rs = 1 and cs = mr) and B is a
// packed panel, B(p, j) = b[nr*p + j]. C(r, j) = c[r*ldc + j]. kc >= 1.
type kernelFunc func(kc int, a []float64, rs, cs int, b, c []float64, ldc int)

// kernGo is the portable micro-kernel. Go keeps at most ~14 float
// registers live, so it walks the 6x8 tile in 2x4 sub-tiles; each one
// still does 8 multiply-adds per 6 loads.
func kernGo(kc int, a []float64, rs, cs int, b, c []float64, ldc int) {
	_ = a[(mr-1)*rs+(kc-1)*cs]
	_ = b[nr*kc-1]
	_ = c[(mr-1)*ldc+nr-1]
	for r := 0; r < mr; r += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float64
			i0, i1 := r*rs, (r+1)*rs
			for p := 0; p < kc; p++ {
				a0, a1 := a[i0], a[i1]
				bp := b[nr*p+j : nr*p+j+4 : nr*p+j+4]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				i0 += cs
				i1 += cs
			}
			c0 := c[r*ldc+j : r*ldc+j+4 : r*ldc+j+4]
			c0[0] += c00
			c0[1] += c01
			c0[2] += c02
			c0[3] += c03
			c1 := c[(r+1)*ldc+j : (r+1)*ldc+j+4 : (r+1)*ldc+j+4]
			c1[0] += c10
			c1[1] += c11
			c1[2] += c12
			c1[3] += c13
		}
	}
}
