package backend

import (
	"errors"

	"github.com/scbench/scbench/sparse"
)

// ErrSpectralNoConvergence is wrapped by the errors of a SpectralEmbedder
// whose eigensolver runs out of matrix products before the residuals meet
// the tolerance; the caller then falls back (graph.UMAP to the host
// solver, and from there to a random layout).
var ErrSpectralNoConvergence = errors.New("backend: spectral eigensolver did not converge")

// SpectralResult reports on one spectral eigenmap.
type SpectralResult struct {
	// Values are the eigenvalues of M = D^-1/2 W D^-1/2 that belong to
	// the returned vectors, in descending order (1 - Values[d] are the
	// normalized Laplacian's).
	Values []float64
	// Matvecs counts the products of M with a vector (a product with a
	// block of b vectors counts b).
	Matvecs int
	// Restarts counts the eigensolver's restarts.
	Restarts int
	// Residual is the largest relative residual ||M v - theta v|| / |theta|
	// of the returned vectors, as the eigensolver estimates it.
	Residual float64
}

// SpectralEmbedder computes the spectral initialization of UMAP on a
// device: for the symmetric weighted graph g of one connected component
// (n x n, non-negative weights, every row with a positive sum), the dim
// eigenvectors of M = D^-1/2 W D^-1/2 (D the row sums of W) with the
// largest eigenvalues after the trivial one, D^1/2 1, whose eigenvalue is
// 1: the normalized Laplacian's eigenvectors with the smallest non-trivial
// eigenvalues, as umap-learn's spectral_layout asks ARPACK for them
// (eigsh, which="SM"). vecs is n x dim, row-major, each column of unit
// norm and orthogonal to D^1/2 1 and to the others, in the order of
// info.Values; its signs are the solver's. A pair converges when its
// residual ||M v - theta v|| is at most tol |theta| (ARPACK's rule;
// umap-learn's tol is 1e-4), and the result is the same for the same
// graph, seed and device. Running out of products is an error wrapping
// ErrSpectralNoConvergence; a malformed graph, dim < 1 or a graph of
// fewer than dim + 3 cells an error wrapping ErrShape; a cell without
// edges an error.
type SpectralEmbedder interface {
	SpectralEigenmap(g *sparse.CSR, dim int, seed uint64, tol float64) (vecs []float64, info SpectralResult, err error)
}
