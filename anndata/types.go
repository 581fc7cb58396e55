package anndata

import "github.com/scbench/scbench/sparse"

// Frame is an obs or var dataframe: a string index and named columns.
type Frame struct {
	IndexName string   // "_index" unless the store says otherwise
	Index     []string // one name per row (cell or gene)
	Columns   []Column // in column-order
}

// Column is one dataframe column. Values holds one of []float32, []float64,
// []int32, []int64, []bool, []string or *Categorical, with one entry per row.
type Column struct {
	Name   string
	Values any
}

// Categorical is a pandas Categorical: Codes index Categories, -1 is missing.
type Categorical struct {
	Codes      []int32
	Categories []string
	Ordered    bool
}

// Chunk is a block of consecutive rows of X.
type Chunk struct {
	Start int // index of the first row in the whole matrix
	*sparse.CSR
}
