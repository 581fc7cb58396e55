// Package bench holds whole-workflow benchmarks and their recorded results.
//
// Per-package micro-benchmarks live beside the code they measure
// (`go test -bench` in anndata/zarr/blosc, anndata, linalg, ...). This
// package holds what measures the workflow end to end, and results/ holds one
// file per measurement, each naming the machine, the data size and the date,
// so that results from different machines line up in one table.
package bench
