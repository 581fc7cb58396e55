package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Fixed shape constants of the model (see doc.go). They are not parameters
// because nothing downstream should depend on them.
const (
	offFraction  = 0.12 // regular genes that are essentially never expressed
	offShift     = -7.0 // their log-expression offset (a factor of ~1e-3)
	maxTopGenes  = 512  // most highly expressed genes that get per-cell gamma noise
	markerSkip   = 64   // the very top genes are not markers (they would swamp a type)
	markerPool   = 0.30 // markers come from the top 30% of expressed genes
	typePropSD   = 0.6  // log-sd of cell type proportions
	typeLibSD    = 0.15 // log-sd of per-type library size offsets
	lqLibShift   = -3.0 // low-quality cells: log library offset from healthy cells
	lqLibSD      = 0.45 //   and its sd
	lqMitoLo     = 0.2  //   their mt fraction is uniform in [lqMitoLo, lqMitoHi]
	lqMitoHi     = 0.6
	lqMarkerDamp = 0.5 //   and their marker excess is damped
	dispGeneSD   = 0.5 // log-sd of per-gene dispersion around Params.Dispersion
	dispClasses  = 8   // dispersion classes, log-spaced over [Dispersion/4, 4*Dispersion]
	gammaLevels  = 256 // quantiles per gamma table: one byte of randomness per draw
	maxLibrary   = 1 << 22
)

// mitoGenes are the 13 protein-coding genes of the mouse mitochondrial
// genome, with rough relative expression.
var mitoGenes = []struct {
	name   string
	weight float64
}{
	{"mt-Nd1", 8}, {"mt-Nd2", 5}, {"mt-Co1", 20}, {"mt-Co2", 12}, {"mt-Atp8", 2},
	{"mt-Atp6", 14}, {"mt-Co3", 16}, {"mt-Nd3", 3}, {"mt-Nd4l", 1.5}, {"mt-Nd4", 7},
	{"mt-Nd5", 2}, {"mt-Nd6", 0.3}, {"mt-Cytb", 9},
}

var lineageNames = []string{
	"Excitatory", "Inhibitory", "Astrocyte", "Oligodendrocyte",
	"OPC", "Microglia", "Endothelial", "Ependymal",
}

// LowQualityLabel is the truth label of low-quality cells.
const LowQualityLabel = "low_quality"

// marker is one up-regulated gene of a type or lineage.
type marker struct {
	gene int32
	fc   float64
}

// cellType holds one type's expression program.
type cellType struct {
	name      string
	lineage   int
	prop      float64 // fraction of healthy cells
	libOffset float64 // added to the log library size

	markers []marker // lineage markers, then type markers; a gene may repeat

	// uniq lists the distinct marker genes in increasing order and factor
	// their total fold change 1 + sum(fc-1).
	uniq   []int32
	factor []float64

	// Perturbed entries: mt genes [0, nMT), top genes [nMT, nMT+nTop),
	// marker excesses after that. weight is in the units of Model.base.
	genes   []int32
	weights []float64
	class   []uint8
}

// Model is a fully specified synthetic dataset: gene expression programs,
// cell types and the parameters. It is immutable once built and safe for
// concurrent use; a cell's counts depend only on the model and the cell's
// index.
type Model struct {
	p         Params
	geneLogSD float64 // solved spread of log gene expression
	expNNZ    float64 // expected mean non-zeros per cell under the model

	nMT, nTop int
	logBase   []float64            // per regular gene, before scaling by geneLogSD
	base      []float64            // per gene, relative expression (all types)
	geneClass []uint8              // dispersion class per gene
	phi       [dispClasses]float64 // dispersion of each class
	gamma     [dispClasses][gammaLevels]float32

	rest     []aliasEntry // static table over genes outside the perturbed sets
	restMass float64

	types   []cellType
	typeCum []float64 // cumulative proportions
}

// NewModel builds the model that p describes. It solves for the spread of
// gene expression that meets p.NNZPerCell, which takes a few milliseconds.
func NewModel(p Params) (*Model, error) {
	if p.ChunkRows == 0 {
		p.ChunkRows = 4096
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m := &Model{p: p}
	rng := rand.New(rand.NewPCG(p.Seed, 0x73796e7468657469))
	m.layoutGenes(rng)
	m.makeTypes(rng)
	m.makeDispersion(rng)
	m.geneLogSD = m.solveSpread()
	m.expNNZ = m.expectedNNZ(m.geneLogSD)
	m.setBase(m.geneLogSD)
	m.buildTables()
	return m, nil
}

// layoutGenes places the mt genes last (as in 10x references, where the
// mitochondrial chromosome comes last) and draws the regular genes'
// log-expression from exact normal quantiles in random order, so that every
// seed gets the same expression distribution.
func (m *Model) layoutGenes(rng *rand.Rand) {
	g := m.p.Genes
	m.nMT = min(len(mitoGenes), max(1, g/40))
	nReg := g - m.nMT
	m.logBase = make([]float64, nReg)
	for k := range m.logBase {
		m.logBase[k] = normQuantile((float64(k) + 0.5) / float64(nReg))
	}
	rng.Shuffle(nReg, func(i, j int) { m.logBase[i], m.logBase[j] = m.logBase[j], m.logBase[i] })
	m.nTop = min(maxTopGenes, nReg/8)
}

// offGene reports whether regular gene g is one of the silent genes; the
// choice is a hash so that it needs no storage.
func (m *Model) offGene(g int) bool {
	return float64(mix64(m.p.Seed^uint64(g)*golden)>>11)*(1.0/(1<<53)) < offFraction
}

// logExpr returns the log-expression of regular gene g before scaling:
// scaled by the spread sigma, it is sigma*z (+ offShift for silent genes).
func (m *Model) logExpr(g int, sigma float64) float64 {
	x := sigma * m.logBase[g]
	if m.offGene(g) {
		x += offShift
	}
	return x
}

// regRanks returns the expressed regular genes in decreasing order of
// expression; the order does not depend on the spread.
func (m *Model) regRanks() []int32 {
	var on []int32
	for g := range m.logBase {
		if !m.offGene(g) {
			on = append(on, int32(g))
		}
	}
	slices.SortFunc(on, func(a, b int32) int {
		return -cmpFloat(m.logBase[a], m.logBase[b])
	})
	return on
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// makeTypes assigns types to lineages round-robin and draws markers,
// proportions and library offsets.
func (m *Model) makeTypes(rng *rand.Rand) {
	p := m.p
	ranks := m.regRanks()
	lo := min(markerSkip, len(ranks)/10)
	hi := max(lo+1, int(markerPool*float64(len(ranks))))
	pool := slices.Clone(ranks[lo:min(hi, len(ranks))])
	logFC := [2]float64{math.Log(p.MinFoldChange), math.Log(p.MaxFoldChange)}
	draw := func(mean int) []marker {
		n := int(math.Round(float64(mean) * (0.5 + rng.Float64())))
		n = min(n, len(pool)/2)
		out := make([]marker, n)
		for i := range out { // partial Fisher-Yates: n distinct genes
			j := i + rng.IntN(len(pool)-i)
			pool[i], pool[j] = pool[j], pool[i]
			fc := math.Exp(logFC[0] + (logFC[1]-logFC[0])*rng.Float64())
			out[i] = marker{gene: pool[i], fc: fc}
		}
		return out
	}
	linMarkers := make([][]marker, p.Lineages)
	for l := range linMarkers {
		linMarkers[l] = draw(p.LineageMarkers)
	}
	m.types = make([]cellType, p.CellTypes)
	perLineage := make([]int, p.Lineages)
	var propSum, offMean float64
	for t := range m.types {
		ct := &m.types[t]
		ct.lineage = t % p.Lineages
		perLineage[ct.lineage]++
		lname := fmt.Sprintf("Lineage%d", ct.lineage+1)
		if ct.lineage < len(lineageNames) {
			lname = lineageNames[ct.lineage]
		}
		ct.name = fmt.Sprintf("%s_%d", lname, perLineage[ct.lineage])
		ct.markers = append(slices.Clone(linMarkers[ct.lineage]), draw(p.TypeMarkers)...)
		ct.uniq, ct.factor = combineMarkers(ct.markers)
		ct.prop = math.Exp(typePropSD * rng.NormFloat64())
		ct.libOffset = typeLibSD * rng.NormFloat64()
		propSum += ct.prop
	}
	m.typeCum = make([]float64, len(m.types))
	var cum float64
	for t := range m.types {
		m.types[t].prop /= propSum
		cum += m.types[t].prop
		m.typeCum[t] = cum
		offMean += m.types[t].prop * m.types[t].libOffset
	}
	m.typeCum[len(m.typeCum)-1] = 1
	// Centre the offsets so LogLibMean stays the mean over healthy cells.
	for t := range m.types {
		m.types[t].libOffset -= offMean
	}
}

// combineMarkers merges repeated marker genes: excesses add up.
func combineMarkers(mks []marker) ([]int32, []float64) {
	sorted := slices.Clone(mks)
	slices.SortFunc(sorted, func(a, b marker) int { return int(a.gene) - int(b.gene) })
	var genes []int32
	var factor []float64
	for _, mk := range sorted {
		if n := len(genes); n > 0 && genes[n-1] == mk.gene {
			factor[n-1] += mk.fc - 1
			continue
		}
		genes = append(genes, mk.gene)
		factor = append(factor, mk.fc)
	}
	return genes, factor
}

// makeDispersion gives every gene a dispersion class and tabulates each
// class's gamma distribution (shape 1/phi, mean 1) at gammaLevels
// mid-quantiles, rescaled to mean exactly 1.
func (m *Model) makeDispersion(rng *rand.Rand) {
	phi0 := m.p.Dispersion
	step := math.Log(16) / (dispClasses - 1) // classes span phi0/4 .. 4*phi0
	m.geneClass = make([]uint8, m.p.Genes)
	for g := range m.geneClass {
		c := math.Round((dispGeneSD*rng.NormFloat64() + math.Log(4)) / step)
		m.geneClass[g] = uint8(min(max(c, 0), dispClasses-1))
	}
	for c := range m.gamma {
		phi := phi0 / 4 * math.Exp(step*float64(c))
		m.phi[c] = phi
		d := distuv.Gamma{Alpha: 1 / phi, Beta: 1 / phi}
		var sum float64
		for k := range m.gamma[c] {
			x := d.Quantile((float64(k) + 0.5) / gammaLevels)
			m.gamma[c][k] = float32(x)
			sum += x
		}
		mean := sum / gammaLevels
		for k := range m.gamma[c] {
			m.gamma[c][k] = float32(float64(m.gamma[c][k]) / mean)
		}
	}
}

// setBase fills base for spread sigma: regular genes exp(logExpr), mt genes
// sized so that they hold MitoFraction of an average healthy cell's UMIs.
func (m *Model) setBase(sigma float64) {
	g := m.p.Genes
	if len(m.base) != g {
		m.base = make([]float64, g)
	}
	var reg float64
	for i := range m.logBase {
		m.base[i] = math.Exp(m.logExpr(i, sigma))
		reg += m.base[i]
	}
	var excess float64
	for t := range m.types {
		ct := &m.types[t]
		var e float64
		for _, mk := range ct.markers {
			e += (mk.fc - 1) * m.base[mk.gene]
		}
		excess += ct.prop * e
	}
	f := m.p.MitoFraction
	mt := f / (1 - f) * (reg + excess)
	var wsum float64
	for k := 0; k < m.nMT; k++ {
		wsum += mitoGenes[k].weight
	}
	for k := 0; k < m.nMT; k++ {
		m.base[g-m.nMT+k] = mt * mitoGenes[k].weight / wsum
	}
}

// buildTables builds the static alias table over the genes outside the
// perturbed sets and each type's perturbed entries.
func (m *Model) buildTables() {
	g := m.p.Genes
	ranks := m.regRanks()
	perturbed := make([]bool, g)
	top := ranks[:min(m.nTop, len(ranks))]
	m.nTop = len(top)
	for _, x := range top {
		perturbed[x] = true
	}
	var genes []int32
	var w []float64
	for i := 0; i < g-m.nMT; i++ {
		if !perturbed[i] {
			genes = append(genes, int32(i))
			w = append(w, m.base[i])
			m.restMass += m.base[i]
		}
	}
	m.rest = make([]aliasEntry, len(genes))
	var ab aliasBuilder
	ab.build(m.rest, genes, w)

	for t := range m.types {
		ct := &m.types[t]
		n := m.nMT + len(top) + len(ct.markers)
		ct.genes = make([]int32, 0, n)
		ct.weights = make([]float64, 0, n)
		ct.class = make([]uint8, 0, n)
		add := func(gene int32, w float64) {
			ct.genes = append(ct.genes, gene)
			ct.weights = append(ct.weights, w)
			ct.class = append(ct.class, m.geneClass[gene])
		}
		for k := 0; k < m.nMT; k++ {
			gene := int32(g - m.nMT + k)
			add(gene, m.base[gene])
		}
		for _, gene := range top {
			add(gene, m.base[gene])
		}
		for _, mk := range ct.markers {
			add(mk.gene, (mk.fc-1)*m.base[mk.gene])
		}
	}
}

// normQuantile is the standard normal quantile function.
func normQuantile(u float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*u-1)
}

// Params returns the parameters the model was built from (with defaults
// filled in).
func (m *Model) Params() Params { return m.p }

// GeneLogSD returns the solved standard deviation of the natural log of
// expressed genes' mean expression.
func (m *Model) GeneLogSD() float64 { return m.geneLogSD }

// ExpectedNNZ returns the mean number of non-zeros per cell that the model
// predicts (close to Params.NNZPerCell when that is reachable).
func (m *Model) ExpectedNNZ() float64 { return m.expNNZ }

// Categories returns the truth labels: the cell type names in type order,
// then LowQualityLabel. Truth codes index this slice.
func (m *Model) Categories() []string {
	out := make([]string, 0, len(m.types)+1)
	for _, ct := range m.types {
		out = append(out, ct.name)
	}
	return append(out, LowQualityLabel)
}

// Lineage returns the lineage index of cell type t.
func (m *Model) Lineage(t int) int { return m.types[t].lineage }

// LineageNames returns the lineage names in lineage order.
func (m *Model) LineageNames() []string {
	out := make([]string, m.p.Lineages)
	for l := range out {
		out[l] = fmt.Sprintf("Lineage%d", l+1)
		if l < len(lineageNames) {
			out[l] = lineageNames[l]
		}
	}
	return out
}

// Markers returns the distinct marker genes of cell type t (its own and
// its lineage's), in increasing order.
func (m *Model) Markers(t int) []int {
	out := make([]int, len(m.types[t].uniq))
	for i, g := range m.types[t].uniq {
		out[i] = int(g)
	}
	return out
}

// MitoGenes returns the indices of the mt- genes.
func (m *Model) MitoGenes() []int {
	out := make([]int, m.nMT)
	for k := range out {
		out[k] = m.p.Genes - m.nMT + k
	}
	return out
}
