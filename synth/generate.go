package synth

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/sparse"
)

// Stats summarises a generated dataset.
type Stats struct {
	Cells, Genes int
	NNZ          int64 // stored non-zeros
	TotalCounts  int64 // sum of all counts (UMIs)
	LowQuality   int   // cells labelled LowQualityLabel
	GeneLogSD    float64
	Elapsed      time.Duration
}

// GenerateChunk builds the model for p and returns the counts of cells
// [start, start+rows). Rows do not depend on how the cells are chunked:
// GenerateChunk(p, 0, 10) equals GenerateChunk(p, 0, 4) stacked on
// GenerateChunk(p, 4, 6). Building the model takes milliseconds; to draw
// many chunks, call NewModel once and use Model.Chunk.
func GenerateChunk(p Params, start, rows int) (*sparse.CSR, error) {
	m, err := NewModel(p)
	if err != nil {
		return nil, err
	}
	return m.Chunk(start, rows), nil
}

// Generate writes the dataset that p describes to an AnnData zarr store at
// out (see Stream for how chunks are produced and how much memory they
// take). progress, when not nil, is called from the calling goroutine
// after each appended chunk with the number of cells written so far. On
// any error, or when ctx is cancelled, the partial store is removed.
func Generate(ctx context.Context, out string, p Params, progress func(done, total int)) (Stats, error) {
	start := time.Now()
	m, err := NewModel(p)
	if err != nil {
		return Stats{}, err
	}
	p = m.p
	st := Stats{Cells: p.Cells, Genes: p.Genes, GeneLogSD: m.geneLogSD}

	w, err := anndata.Create(out, p.Cells, p.Genes, p.Write)
	if err != nil {
		return st, fmt.Errorf("synth: %w", err)
	}
	defer w.Abort() // removes the partial store unless Close succeeded
	if err := m.writeX(ctx, w, &st, progress); err != nil {
		return st, fmt.Errorf("synth: generating %s: %w", out, err)
	}
	for _, l := range m.LibrarySizes(0, p.Cells) {
		st.TotalCounts += int64(l)
	}
	obs := m.Obs()
	for _, c := range obs.Columns[0].Values.(*anndata.Categorical).Codes {
		if int(c) == len(m.types) {
			st.LowQuality++
		}
	}
	if err := w.SetObs(obs); err != nil {
		return st, fmt.Errorf("synth: %w", err)
	}
	if err := w.SetVar(m.Var()); err != nil {
		return st, fmt.Errorf("synth: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("synth: generating %s: %w", out, err)
	}
	if err := w.Close(); err != nil {
		return st, fmt.Errorf("synth: %w", err)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// maxInFlightBytes bounds the memory of the chunks that Stream holds at
// once (about 16 chunks of 4096 cells at the defaults).
const maxInFlightBytes = 1 << 30

type chunkResult struct {
	idx int
	m   *sparse.CSR
}

// writeX appends every chunk of X to w, in row order.
func (m *Model) writeX(ctx context.Context, w *anndata.Writer, st *Stats, progress func(done, total int)) error {
	return m.Stream(ctx, func(start int, x *sparse.CSR) error {
		if err := w.AppendX(x); err != nil {
			return fmt.Errorf("append X rows %d-%d: %w", start, start+x.Rows, err)
		}
		st.NNZ += x.NNZ()
		if progress != nil {
			progress(start+x.Rows, m.p.Cells)
		}
		return nil
	})
}

// Stream generates all cells in chunks of Params.ChunkRows rows on
// Params.Workers goroutines and calls fn with each chunk, in row order,
// from the calling goroutine. fn must not keep x (or its slices) after it
// returns: Stream reuses the memory for a later chunk, so that at most
// Workers+2 chunks (and no more than about 1 GiB of them) exist and fresh
// pages are not faulted in for every chunk. Stream stops at the first
// error from fn, or when ctx is cancelled, and returns it.
func (m *Model) Stream(ctx context.Context, fn func(start int, x *sparse.CSR) error) error {
	p := m.p
	nChunks := (p.Cells + p.ChunkRows - 1) / p.ChunkRows
	workers := p.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Chunks in memory: two more than the workers, so that they need not
	// wait for fn, but no more than about maxInFlightBytes of them.
	chunkBytes := 8 * float64(p.ChunkRows) * m.expNNZ
	inFlight := max(2, min(workers+2, int(maxInFlightBytes/chunkBytes)))
	workers = max(1, min(workers, nChunks, inFlight))

	// A token is taken for each chunk before it is dispatched and given
	// back once fn has had it, which bounds the chunks in memory; results
	// has room for every token holder, so workers never block on it.
	ctx, cancel := context.WithCancel(ctx)
	tokens := make(chan struct{}, inFlight)
	jobs := make(chan int)
	results := make(chan chunkResult, inFlight)
	free := make(chan *sparse.CSR, inFlight) // chunks fn is done with
	var wg sync.WaitGroup
	defer func() { // on every return: stop the dispatcher and workers, then wait for them
		cancel()
		wg.Wait()
	}()

	wg.Add(1)
	go func() { // dispatcher
		defer wg.Done()
		defer close(jobs)
		for c := 0; c < nChunks; c++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSampler(m)
			for c := range jobs {
				if ctx.Err() != nil {
					return
				}
				lo := c * p.ChunkRows
				var x *sparse.CSR
				select {
				case x = <-free:
				default:
					x = new(sparse.CSR)
				}
				s.chunkInto(x, lo, min(p.ChunkRows, p.Cells-lo))
				results <- chunkResult{idx: c, m: x}
			}
		}()
	}

	pending := make(map[int]*sparse.CSR, inFlight)
	for next := 0; next < nChunks; {
		select {
		case r := <-results:
			pending[r.idx] = r.m
		case <-ctx.Done():
			return ctx.Err()
		}
		for x, ok := pending[next]; ok; x, ok = pending[next] {
			delete(pending, next)
			if err := fn(next*p.ChunkRows, x); err != nil {
				return err
			}
			next++
			free <- x // never blocks: at most inFlight chunks exist
			<-tokens
		}
	}
	return nil
}
