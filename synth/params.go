package synth

import (
	"errors"
	"fmt"
	"math"

	"github.com/scbench/scbench/anndata"
)

// Params describes a synthetic dataset. The zero value is not usable: start
// from DefaultParams and change what you need. Cells, Genes, Seed and the
// model fields decide the data; ChunkRows and Workers only decide how it is
// produced, never what.
type Params struct {
	Cells, Genes int
	Seed         uint64

	CellTypes int // number of cell types (ground truth labels)
	Lineages  int // types are grouped into this many lineages that share markers

	// NNZPerCell is the target mean number of stored non-zeros (detected
	// genes) per cell, over all cells. The spread of gene expression is
	// solved for to meet it; when the library sizes cannot reach it (too
	// few genes, tiny libraries) the model gets as close as it can.
	NNZPerCell float64

	// LogLibMean and LogLibSD are the mean and standard deviation of the
	// natural log of a healthy cell's total UMI count.
	LogLibMean, LogLibSD float64

	LowQuality   float64 // fraction of low-quality cells (truth "low_quality")
	MitoFraction float64 // mean fraction of a healthy cell's UMIs in mt- genes

	// Dispersion is the median, over genes, of the negative binomial
	// dispersion phi (variance = mu + phi*mu^2) of expressed genes.
	Dispersion float64

	TypeMarkers    int // mean number of marker genes per type
	LineageMarkers int // mean number of marker genes per lineage, shared by its types

	// Marker fold changes are drawn log-uniformly in [MinFoldChange, MaxFoldChange].
	MinFoldChange, MaxFoldChange float64

	ChunkRows int // rows generated and appended at a time; 0: 4096
	Workers   int // generating goroutines; 0: GOMAXPROCS

	// Write configures the store that Generate writes (chunking,
	// compression); nil means anndata's defaults.
	Write *anndata.WriteOptions
}

// DefaultParams mimics the 10x Genomics 1.3M mouse brain cells dataset that
// the rapids-singlecell notebook analyses: 1,300,000 cells x 27,998 genes,
// about 2,010 non-zeros per cell (the real matrix has 2,624,828,308 for
// 1,306,127 cells), 40 cell types in 8 lineages and 3% low-quality cells.
func DefaultParams() Params {
	return Params{
		Cells:          1_300_000,
		Genes:          27_998,
		Seed:           0,
		CellTypes:      40,
		Lineages:       8,
		NNZPerCell:     2010,
		LogLibMean:     8.35,
		LogLibSD:       0.55,
		LowQuality:     0.03,
		MitoFraction:   0.03,
		Dispersion:     0.2,
		TypeMarkers:    100,
		LineageMarkers: 120,
		MinFoldChange:  4,
		MaxFoldChange:  20,
		ChunkRows:      4096,
	}
}

// minGenes is the smallest gene count the model supports: it needs room
// for mitochondrial genes, highly expressed genes and markers.
const minGenes = 40

// ErrParams is wrapped by every error about invalid parameters.
var ErrParams = errors.New("synth: invalid parameters")

// Validate reports the first parameter that is out of range.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrParams}, args...)...)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case p.Cells < 0 || int64(p.Cells) > math.MaxUint32:
		return bad("Cells = %d, want 0 to %d", p.Cells, uint32(math.MaxUint32))
	case p.Genes < minGenes || p.Genes > math.MaxInt32:
		return bad("Genes = %d, want at least %d", p.Genes, minGenes)
	case p.CellTypes < 1:
		return bad("CellTypes = %d, want at least 1", p.CellTypes)
	case p.Lineages < 1 || p.Lineages > p.CellTypes:
		return bad("Lineages = %d, want 1 to CellTypes (%d)", p.Lineages, p.CellTypes)
	case !finite(p.NNZPerCell) || p.NNZPerCell <= 0:
		return bad("NNZPerCell = %v, want > 0", p.NNZPerCell)
	case !finite(p.LogLibMean) || p.LogLibMean < 0 || p.LogLibMean > 14:
		return bad("LogLibMean = %v, want a natural log of UMIs in [0, 14]", p.LogLibMean)
	case !finite(p.LogLibSD) || p.LogLibSD < 0 || p.LogLibSD > 3:
		return bad("LogLibSD = %v, want 0 to 3", p.LogLibSD)
	case !(p.LowQuality >= 0 && p.LowQuality <= 1):
		return bad("LowQuality = %v, want a fraction in [0, 1]", p.LowQuality)
	case !(p.MitoFraction >= 0 && p.MitoFraction < 0.5):
		return bad("MitoFraction = %v, want a fraction in [0, 0.5)", p.MitoFraction)
	case !(p.Dispersion > 0 && p.Dispersion <= 10):
		return bad("Dispersion = %v, want (0, 10]", p.Dispersion)
	case p.TypeMarkers < 0 || p.LineageMarkers < 0:
		return bad("TypeMarkers = %d, LineageMarkers = %d, want >= 0", p.TypeMarkers, p.LineageMarkers)
	case !(p.MinFoldChange >= 1 && p.MaxFoldChange >= p.MinFoldChange && p.MaxFoldChange < 1e4):
		return bad("fold changes [%v, %v], want 1 <= min <= max < 1e4", p.MinFoldChange, p.MaxFoldChange)
	case p.ChunkRows < 0 || p.Workers < 0:
		return bad("ChunkRows = %d, Workers = %d, want >= 0", p.ChunkRows, p.Workers)
	}
	return nil
}
