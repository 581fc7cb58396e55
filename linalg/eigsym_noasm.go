//go:build !amd64 || noasm

package linalg

// rotRows applies a plane rotation to the rows x and y: y <- s*x + c*y,
// x <- c*x - s*y.
func rotRows(x, y []float64, c, s float64) { rotRowsGo(x, y, c, s) }
