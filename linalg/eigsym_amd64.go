//go:build amd64 && !noasm

package linalg

// rotRowsAVX2 rotates the first n (a multiple of 4) columns of the rows x
// and y; see eigsym_amd64.s.
//
//go:noescape
func rotRowsAVX2(x, y *float64, n int, c, s float64)

// haveRotAVX2 is whether rotRowsAVX2 may run (AVX2 and FMA, as the Go
// engine's kernel needs).
var haveRotAVX2 = hasAVX2FMA()

// rotRows applies a plane rotation to the rows x and y: y <- s*x + c*y,
// x <- c*x - s*y (the last len%4 columns in Go).
func rotRows(x, y []float64, c, s float64) {
	y = y[:len(x)]
	k := 0
	if haveRotAVX2 && len(x) >= 4 {
		k = len(x) &^ 3
		rotRowsAVX2(&x[0], &y[0], k, c, s)
	}
	rotRowsGo(x[k:], y[k:], c, s)
}
