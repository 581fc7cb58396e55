module github.com/scbench/scbench

go 1.26

require (
	github.com/ebitengine/purego v0.11.3
	github.com/klauspost/compress v1.20.4
	github.com/pierrec/lz4/v4 v4.1.33
	gonum.org/v1/gonum v0.17.0
)
