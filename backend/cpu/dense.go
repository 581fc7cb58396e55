package cpu

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/linalg"
)

// Gemm computes c = alpha*op(a)*op(b) + beta*c with linalg's process-wide
// BLAS engine (an optimized CBLAS when one loads, else linalg's Go engine;
// see linalg.Default), which uses its own threads, not the backend's.
func (b *Backend) Gemm(transA, transB bool, alpha float64, a, bd backend.Dense, beta float64, c backend.Dense) error {
	m, ka := a.Rows, a.Cols
	if transA {
		m, ka = ka, m
	}
	kb, n := bd.Rows, bd.Cols
	if transB {
		kb, n = n, kb
	}
	if ka != kb || c.Rows != m || c.Cols != n || a.Rows < 0 || a.Cols < 0 || bd.Rows < 0 || bd.Cols < 0 {
		return fmt.Errorf("%w: cpu: Gemm: op(A) %d x %d times op(B) %d x %d into C %d x %d", backend.ErrShape, m, ka, kb, n, c.Rows, c.Cols)
	}
	as, err := slice[float64]("A.Data", a.Data, a.Rows*a.Cols)
	if err != nil {
		return fmt.Errorf("cpu: Gemm: %w", err)
	}
	bs, err := slice[float64]("B.Data", bd.Data, bd.Rows*bd.Cols)
	if err != nil {
		return fmt.Errorf("cpu: Gemm: %w", err)
	}
	cs, err := slice[float64]("C.Data", c.Data, m*n)
	if err != nil {
		return fmt.Errorf("cpu: Gemm: %w", err)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if ka == 0 { // not every BLAS takes empty operands with positive m or n
		for i := range cs {
			if beta == 0 {
				cs[i] = 0 // BLAS: beta == 0 does not read c
			} else {
				cs[i] *= beta
			}
		}
		return nil
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	b.blas.Dgemm(tA, tB, alpha, general(a.Rows, a.Cols, as), general(bd.Rows, bd.Cols, bs), beta, general(m, n, cs))
	return nil
}

// EigSymTop returns the k largest eigenvalues of the symmetric matrix a
// (upper triangle) in descending order, and their eigenvectors as the
// columns of a new n x k matrix, each with its largest-magnitude component
// (the first of equal ones) positive.
func (b *Backend) EigSymTop(a backend.Dense, k int) ([]float64, backend.Dense, error) {
	return b.eigSymTop("EigSymTop", a, k, linalg.EigOptions{Tol: eigTol}, false)
}

// EigSymTopTol is EigSymTop converged to a residual of tol relative to
// each eigenvalue, ||A v - lambda v|| <= tol*|lambda|, instead of
// EigSymTop's 1e-7 of the largest. PCA asks for that (package pipeline
// uses it when a backend has it): its components' variances span decades,
// and tol = 1e-3 bounds each one's relative error by 1e-3 (in practice by
// 1e-5) at half the products of EigSymTop's setting on a 5,000-gene
// covariance.
//
// Unlike EigSymTop it overwrites a's lower triangle, with the mirror of
// the upper one that the solver needs, where EigSymTop mirrors into a
// copy: at d = 5,000 that copy is 200 MB of fresh memory, whose first
// touch is dear on a VM.
func (b *Backend) EigSymTopTol(a backend.Dense, k int, tol float64) ([]float64, backend.Dense, error) {
	if !(tol > 0) {
		return nil, backend.Dense{}, fmt.Errorf("cpu: EigSymTopTol: tolerance %v is not positive", tol)
	}
	// Float32 products are accurate to about 1e-6 of the largest
	// eigenvalue: ample for PCA's 1e-3, and linalg falls back to float64
	// where the refined pairs miss tol.
	return b.eigSymTop("EigSymTopTol", a, k, linalg.EigOptions{Tol: tol, Relative: true, Float32: tol >= float32Tol}, true)
}

// eigSymTop runs linalg.EigSymTop on the symmetric matrix whose upper
// triangle is a's, mirrored into a's lower triangle when inPlace, else
// into a copy.
func (b *Backend) eigSymTop(name string, a backend.Dense, k int, o linalg.EigOptions, inPlace bool) ([]float64, backend.Dense, error) {
	n := a.Rows
	if a.Cols != n || n < 0 || k < 0 || k > n {
		return nil, backend.Dense{}, fmt.Errorf("%w: cpu: %s: %d eigenpairs of a %d x %d matrix", backend.ErrShape, name, k, a.Rows, a.Cols)
	}
	as, err := slice[float64]("A.Data", a.Data, n*n)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("cpu: %s: %w", name, err)
	}
	if k == 0 {
		return []float64{}, backend.Dense{Rows: n, Cols: 0, Data: Wrap([]float64{})}, nil
	}
	// linalg wants both triangles: mirror the upper one (a's lower
	// triangle may hold anything).
	full := as
	if !inPlace {
		full = make([]float64, n*n)
		copy(full, as)
	}
	b.mirrorLower(full, n)
	o.BLAS, o.Seed = b.eigBLAS, eigSeed
	vals, vecs, err := linalg.EigSymTop(general(n, n, full), k, &o)
	if err != nil {
		return nil, backend.Dense{}, fmt.Errorf("cpu: %s of a %d x %d matrix: %w", name, n, n, err)
	}
	v := make([]float64, n*k)
	for i := 0; i < n; i++ {
		copy(v[i*k:i*k+k], vecs.Data[i*vecs.Stride:i*vecs.Stride+k])
	}
	signVectors(n, k, v) // linalg's convention too; kept as the contract's
	return vals, backend.Dense{Rows: n, Cols: k, Data: Wrap(v)}, nil
}

// float32Tol is the finest tolerance for which EigSymTopTol runs its
// products in float32 (linalg.EigOptions.Float32).
const float32Tol = 1e-4

// eigSeed fixes linalg's random start, so that EigSymTop is deterministic.
const eigSeed = 0x5cbe

// general returns the row-major rows x cols matrix in data as a blas64
// General (stride at least 1, as BLAS wants even for empty matrices).
func general(rows, cols int, data []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: data}
}

// signVectors flips each column of the n x k row-major matrix v so that its
// largest-magnitude component (the first of equal ones) is positive.
func signVectors(n, k int, v []float64) {
	for j := 0; j < k; j++ {
		best, at := -1.0, 0
		for i := 0; i < n; i++ {
			if x := abs(v[i*k+j]); x > best {
				best, at = x, i
			}
		}
		if v[at*k+j] < 0 {
			for i := 0; i < n; i++ {
				v[i*k+j] = -v[i*k+j]
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// eigTol is the residual EigSymTop converges to, relative to the largest
// eigenvalue. PCA needs eigenvalues to about 1e-4 relative and the leading
// eigenvectors to |cos| 1-1e-6; a residual of 1e-7 gives both (eigenvalue
// errors are bounded by the residual, and shrink with its square where
// eigenvalues are well separated) at a third fewer products than 1e-10.
const eigTol = 1e-7
