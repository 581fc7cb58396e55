package synth

import (
	"fmt"
	"strings"

	"github.com/scbench/scbench/anndata"
)

// barcodeLen is the length of "AAACCTGAGAAACCAT-1": 16 bases and a suffix.
const barcodeLen = 18

// barcode writes cell i's 10x-style barcode into dst[:barcodeLen]. The 16
// bases encode a keyed 32-bit permutation of i (a four-round Feistel
// network), so barcodes are unique for up to 2^32 cells, look random, and
// depend only on the seed.
func barcode(dst []byte, seed uint64, i int) {
	x := uint32(i)
	l, r := uint16(x>>16), uint16(x)
	for round := uint64(0); round < 4; round++ {
		l, r = r, l^uint16(mix64(seed^(round+1)*golden^uint64(r)))
	}
	x = uint32(l)<<16 | uint32(r)
	const bases = "ACGT"
	for k := 0; k < 16; k++ {
		dst[k] = bases[(x>>(30-2*k))&3]
	}
	dst[16], dst[17] = '-', '1'
}

// Barcodes returns the barcodes of cells [start, start+rows). They share one
// backing string, so 1.3M of them cost one allocation.
func (m *Model) Barcodes(start, rows int) []string {
	buf := make([]byte, rows*barcodeLen)
	for i := 0; i < rows; i++ {
		barcode(buf[i*barcodeLen:], m.p.Seed, start+i)
	}
	all := string(buf)
	out := make([]string, rows)
	for i := range out {
		out[i] = all[i*barcodeLen : (i+1)*barcodeLen]
	}
	return out
}

// GeneNames returns the gene names: "Gene00001"-style (zero-padded to the
// width of Genes) for regular genes, then the mt- genes.
func (m *Model) GeneNames() []string {
	g := m.p.Genes
	nReg := g - m.nMT
	width := len(fmt.Sprint(nReg))
	out := make([]string, g)
	var b strings.Builder
	for i := 0; i < nReg; i++ {
		b.Reset()
		fmt.Fprintf(&b, "Gene%0*d", width, i+1)
		out[i] = b.String()
	}
	for k := 0; k < m.nMT; k++ {
		out[nReg+k] = mitoGenes[k].name
	}
	return out
}

// Obs returns the obs dataframe of all cells: barcodes as the index, the
// categorical ground truth `truth` (cell type, or LowQualityLabel) and the
// categorical `lineage` (LowQualityLabel for low-quality cells).
func (m *Model) Obs() *anndata.Frame {
	n := m.p.Cells
	truth := m.Truth(0, n)
	lin := make([]int32, n)
	nLin := int32(m.p.Lineages)
	for i, t := range truth {
		if int(t) == len(m.types) {
			lin[i] = nLin
		} else {
			lin[i] = int32(m.types[t].lineage)
		}
	}
	return &anndata.Frame{
		IndexName: "_index",
		Index:     m.Barcodes(0, n),
		Columns: []anndata.Column{
			{Name: "truth", Values: &anndata.Categorical{Codes: truth, Categories: m.Categories()}},
			{Name: "lineage", Values: &anndata.Categorical{Codes: lin, Categories: append(m.LineageNames(), LowQualityLabel)}},
		},
	}
}

// Var returns the var dataframe: gene names as the index and a `gene_ids`
// column of Ensembl-style identifiers.
func (m *Model) Var() *anndata.Frame {
	names := m.GeneNames()
	ids := make([]string, len(names))
	for i := range ids {
		ids[i] = fmt.Sprintf("ENSMUSG%011d", 1000+17*i)
	}
	return &anndata.Frame{
		IndexName: "_index",
		Index:     names,
		Columns:   []anndata.Column{{Name: "gene_ids", Values: ids}},
	}
}
