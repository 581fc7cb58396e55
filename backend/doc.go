// Package backend defines the one interface through which the workflow uses a
// compute device, and the plain types that cross it.
//
// The shape follows gonum's blas: this package is the interface; the
// implementations live in sub-packages: backend/cpu in pure Go, and the GPU
// backend backend/gpu, whose kernels are written once in a shared dialect
// and run through backend/cuda (the CUDA driver API and NVRTC) or
// backend/opencl (the OpenCL ICD loader), both bound at run time without
// cgo. backend/backendtest is the conformance suite that every
// implementation runs, each operation against a float64 reference on random
// inputs of awkward shapes. A backend is passed around as a value: there is
// no package-level "current backend".
//
// Memory. Operands live in device memory, held by Buffers (a typed, flat
// array). On the CPU backend a Buffer wraps a Go slice and Upload of a host
// CSR matrix costs nothing; on a GPU it is device memory and the copies are
// real. The workflow's operations take and return buffers, so data can stay
// on the device between passes (the filtered, HVG-subset matrix of the PCA
// passes) and only small results (per-row and per-gene statistics, the
// covariance, the scores) come back to the host.
//
// Operations are coarse on purpose: each is one pass over a CSR chunk (or
// one dense product), which is what a GPU launch or a parallel CPU loop wants,
// and what the fused passes of package pipeline are built from:
//
//	reductions   RowStats, ColStats       per-row and per-column sums, sums of squares, non-zero counts
//	transforms   ScaleRows, Log1p, ScaleCols
//	structure    SelectRows, SelectCols   (the cell filter and the HVG subset)
//	products     GramAccumulate (C += A^T A), SpMM (sparse x dense), Gemm
//	dense        EigSymTop                (the leading eigenpairs of PCA's covariance)
//
// Accumulating operations (ColStats, GramAccumulate) add into float64
// buffers, so that sums over a million cells keep their precision, and leave
// the order of additions deterministic for a given chunking (and, on a GPU,
// device).
//
// The graph steps' operations (graph.go: NeighborSearcher, UMAPOptimizer)
// are optional interfaces: a backend that has them runs the kNN search and
// UMAP's optimizer on its device; otherwise packages knn and graph run them
// on the host. Transposer (backend.go) is optional too: the pipeline
// transposes PCA's scaled matrix with it where a backend has it.
package backend
