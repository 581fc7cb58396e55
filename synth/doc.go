// Package synth generates synthetic single-cell RNA-seq counts that look
// like 10x Genomics data, and writes them as an AnnData zarr store.
//
// The defaults (DefaultParams) mimic the dataset of the rapids-singlecell
// notebook, the 10x 1.3M mouse brain cells: 1,300,000 cells x 27,998 genes
// with about 2,010 non-zeros per cell, so that the whole scbench workflow
// (QC filter, normalize, log1p, HVG, PCA, kNN, Leiden) can run at atlas
// scale on data with a known answer.
//
// # Model
//
// Genes. The last 13 genes are the mouse mitochondrial genes ("mt-Nd1" ...
// "mt-Cytb"); the others are named "Gene00001" onwards. A regular gene's
// relative expression is exp(sigma*z), z an exact normal quantile in
// random order, so the distribution of gene means is log-normal and
// heavy-tailed: many genes near zero, a few taking percents of all UMIs.
// 12% of the genes are silent (a factor e^-7 lower). The spread sigma is
// not a parameter: NewModel solves for it so that the expected number of
// detected genes per cell is Params.NNZPerCell (sigma is about 2.1 at the
// defaults). The solution treats counts as Poisson; the gamma noise on the
// highly expressed genes leaves the realised mean about 2% below the
// target (1,973 for 2,010).
// The mt genes hold Params.MitoFraction of a healthy cell's UMIs.
//
// Cell types. Params.CellTypes types are spread round-robin over
// Params.Lineages lineages (named after brain lineages: Excitatory,
// Inhibitory, Astrocyte, ...; types "Excitatory_1", ...). Each lineage has
// about Params.LineageMarkers marker genes shared by its types, and each
// type about Params.TypeMarkers of its own, drawn from the top 30% of
// expressed genes (but not the top 64), each up-regulated by a fold change
// drawn log-uniformly in [MinFoldChange, MaxFoldChange]. A marker's excess
// over its base expression is added to the type's profile. Type
// proportions are log-normal (some types are rare), and each type has a
// small library-size offset (larger and smaller cells), centred so that
// LogLibMean stays the mean over healthy cells.
//
// Cells. Cell i's library size L is round(exp(N(LogLibMean + offset,
// LogLibSD))) and its total count is exactly L. Counts follow a negative
// binomial (gamma-Poisson) model: given the cell's profile p, gene g gets
// Poisson(L*p_g*gamma_g) UMIs with gamma_g ~ Gamma(1/phi_g, phi_g) (mean 1),
// so that the variance across cells of one type is mu + phi*mu^2. Each
// gene's dispersion phi_g is log-normal around Params.Dispersion.
// Params.LowQuality of the cells are damaged: a library about 20 times
// smaller (most of them end below 200 detected genes), 20-60% of UMIs in
// the mt genes, and half the marker excess. Their truth is "low_quality".
//
// # Sampling
//
// Drawing a count for every gene of every cell would take 3.6e10 draws at
// full size; instead the sampler draws the L UMIs of a cell, which costs
// O(L) (about 4,800 at the defaults) and produces only the genes that get
// any:
//
//   - The gamma noise is applied where it matters, to the "perturbed"
//     entries of the cell's type: the 13 mt genes, the 512 most expressed
//     genes (half of all UMIs) and the type's marker excesses, about 750
//     entries. Each gets a per-cell gamma factor, looked up from a table of
//     256 quantiles of its dispersion class with one byte of randomness.
//     For the remaining genes (expected counts below ~1.5 UMIs, where
//     phi*mu^2 is small next to mu) counts are Poisson.
//   - Conditioned on the total, independent Poisson counts are multinomial.
//     The number of UMIs that go to the static rest is Binomial(L, rest
//     mass / total mass); the others are drawn from an alias table built
//     for the cell over the perturbed entries (Vose's method in fixed
//     point, O(750)), and the rest from one alias table over the remaining
//     genes that all cells share (Walker's method: O(1) per draw).
//   - Counts of the perturbed entries accumulate in a small per-entry array
//     that stays in L1 cache; the rest's go to a dense per-gene array plus
//     a bitmap of touched genes. Walking the bitmap emits the row with
//     sorted column indices, and clears it for the next cell.
//
// Each 64-bit random value serves two UMIs: the high part of x*n picks an
// alias slot and the low part, uniform within the slot, picks between its
// two genes.
//
// # Determinism
//
// Cell i's random stream is SplitMix64 seeded with a hash of (Seed, i), so
// a cell's counts depend only on the parameters and its index: the same
// seed gives the same matrix whatever ChunkRows, Workers or the order in
// which chunks are produced, and Model.Chunk(0, 10) is Model.Chunk(0, 4)
// stacked on Model.Chunk(4, 6). The model (genes, types, markers) comes from
// a PCG stream of the seed. Barcodes ("AAACCTGAGAAACCAT-1" style) are a
// keyed 32-bit permutation of the cell index, so they are unique.
//
// # Output
//
// Generate writes X (float32 integer counts, CSR), obs (index: barcodes;
// categorical `truth`: type name or "low_quality"; categorical `lineage`)
// and var (index: gene names; `gene_ids`). Worker goroutines generate row
// chunks in parallel and the calling goroutine appends them in order
// (Model.Stream); at most Workers+2 chunks, and no more than about 1 GiB of
// them, are in memory (65 MB each at the defaults), and their memory is
// reused. On error or cancellation the partial store is removed
// (anndata.Writer.Abort).
//
// # Speed
//
// At the defaults one goroutine draws about 25,000-35,000 cells
// (50-70 million non-zeros) per second on the development machine's EPYC
// cores and the GPU host's Xeon cores (BenchmarkGenerateChunk): a fifth of
// the time each goes to the per-cell alias table, the perturbed draws, the
// rest draws and the emission of the row. The full 1.3M-cell store takes
// about 5 s to generate and 13 s to write (Blosc-lz4, 5.9 GB) on 16 cores,
// and 53 s and 74 s on 2 cores (TestGenerateRate).
package synth
