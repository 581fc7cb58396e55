package mtx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRowsRandom converts random 10x directories (every order, field,
// compression and file layout, awkward sizes, empty cells and genes,
// duplicates) under random pipeline and buffer sizes and checks every value
// against the reference.
func TestRowsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 150
	if testing.Short() {
		n = 40
	}
	for i := range n {
		cfg := randomConfig(rng)
		if i%10 == 9 {
			cfg.sym = Symmetric + Symmetry(rng.IntN(2))
		}
		g := generate(rng, cfg)
		g.write(t, t.TempDir())
		opt := RowsOptions{Workers: 1 + rng.IntN(4)}
		if rng.IntN(4) != 0 {
			opt.chunkEntries = 1 + rng.IntN(40)
		}
		if rng.IntN(3) != 0 {
			opt.blockSize = 1 + rng.IntN(200)
		}
		all := rng.IntN(2) == 0
		opt.Genes = g.keptGenes(all)
		name := fmt.Sprintf("case %d (%d cells x %d genes, %d entries, %s, %s %s, dup %.2f, gz %v, legacy %v, fancy %v, chunk %d, block %d, workers %d)",
			i, g.cfg.cells, cfg.genes, len(g.entries), cfg.order, cfg.field, g.cfg.sym, cfg.dupFrac, cfg.gz, cfg.legacy, cfg.fancy, opt.chunkEntries, opt.blockSize, opt.Workers)
		c, st, err := runRows(t, g, opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := g.refRows(opt.Genes)
		if err := compareRows(c.rows, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var nnz int64
		for _, r := range want {
			nnz += int64(len(r))
		}
		if st.NNZ != nnz || st.Entries != int64(len(g.entries)) || st.Cells != g.cfg.cells {
			t.Errorf("%s: stats %+v, want nnz %d, entries %d", name, st, nnz, len(g.entries))
		}
		sorted := isSortedByCell(g, opt.Genes)
		if st.Sorted != sorted {
			t.Errorf("%s: Stats.Sorted = %v, want %v", name, st.Sorted, sorted)
		}
		if sorted && st.Passes != 1 {
			t.Errorf("%s: sorted file took %d passes, want 1", name, st.Passes)
		}
		if !sorted && st.Passes < 3 {
			t.Errorf("%s: unsorted file took %d passes, want at least 3", name, st.Passes)
		}
		if g.cfg.sym == General && opt.Genes == nil && st.Duplicates != int64(len(g.entries))-nnz {
			t.Errorf("%s: %d duplicates, want %d", name, st.Duplicates, int64(len(g.entries))-nnz)
		}
	}
}

// isSortedByCell says whether the kept entries (and mirrors) arrive by cell.
func isSortedByCell(g *gen10x, genes []int32) bool {
	kept := func(gene int) bool { return genes == nil || genes[gene] >= 0 }
	last := -1
	for _, e := range g.entries {
		if kept(e.gene) {
			if e.cell < last {
				return false
			}
			last = e.cell
		}
		if g.cfg.sym != General && e.gene != e.cell && kept(e.cell) {
			if e.gene < last {
				return false
			}
			last = e.gene
		}
	}
	return true
}

// TestRowsRestart: a file sorted by cell but for an entry near its end
// makes the streaming pass send chunks, then restart in the multi-pass
// mode; the sink must see a Restart and then the full matrix.
func TestRowsRestart(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := genConfig{cells: 97, genes: 53, entries: 1500, order: orderLateDisturb, field: Integer, dupFrac: 0.1}
	g := generate(rng, cfg)
	g.write(t, t.TempDir())
	for _, chunk := range []int{7, 100, 1000} {
		c, st, err := runRows(t, g, RowsOptions{chunkEntries: chunk, blockSize: 300, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := compareRows(c.rows, g.refRows(nil)); err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if c.restarts != 1 {
			t.Errorf("chunk %d: %d restarts, want 1", chunk, c.restarts)
		}
		counts := make([]int64, g.cfg.cells)
		for _, e := range g.entries {
			counts[e.cell]++
		}
		blocks := len(planBlocks(counts, chunk, chunk/rowsPer+1))
		if st.Sorted || st.Passes != 2+blocks {
			t.Errorf("chunk %d: sorted %v, %d passes; want unsorted and %d", chunk, st.Sorted, st.Passes, 2+blocks)
		}
	}
	// With room for everything, nothing is sent before the disorder shows.
	c, _, err := runRows(t, g, RowsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.restarts != 0 || c.chunks != 1 {
		t.Errorf("default budget: %d restarts and %d chunks, want 0 and 1", c.restarts, c.chunks)
	}
}

// TestRowsHugeCell: one cell with more entries (mostly duplicates) than a
// chunk buffer holds, sorted and not.
func TestRowsHugeCell(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, order := range []string{orderSorted, orderCellsOnly, orderShuffled} {
		cfg := genConfig{cells: 3, genes: 40, entries: 400, order: order, field: Real, dupFrac: 0.5}
		g := generate(rng, cfg)
		// Pile extra entries onto cell 1, in file order by cell.
		var extra []genEntry
		for range 300 {
			s, v := randValue(rng, Real)
			extra = append(extra, genEntry{gene: rng.IntN(40), cell: 1, text: s, val: v})
		}
		if order == orderShuffled {
			g.entries = append(g.entries, extra...)
		} else {
			at := slices.IndexFunc(g.entries, func(e genEntry) bool { return e.cell >= 1 })
			if at < 0 {
				at = len(g.entries)
			}
			g.entries = slices.Insert(g.entries, at, extra...)
		}
		g.text = g.matrixText(rng)
		g.write(t, t.TempDir())
		c, st, err := runRows(t, g, RowsOptions{chunkEntries: 16, blockSize: 100})
		if err != nil {
			t.Fatalf("%s: %v", order, err)
		}
		if err := compareRows(c.rows, g.refRows(nil)); err != nil {
			t.Fatalf("%s: %v", order, err)
		}
		t.Logf("%s: %+v", order, st)
	}
}

// TestRowsCancel: a cancelled context stops the conversion with its error.
func TestRowsCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := generate(rng, genConfig{cells: 50, genes: 50, entries: 2000, order: orderShuffled, field: Integer})
	g.write(t, t.TempDir())
	d, err := Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Rows(ctx, RowsOptions{blockSize: 64}, &collector{cols: 50})
	if err != context.Canceled {
		t.Fatalf("Rows with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestRowsProgress: progress reaches the file size in every pass.
func TestRowsProgress(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	g := generate(rng, genConfig{cells: 60, genes: 30, entries: 900, order: orderShuffled, field: Integer, gz: [3]bool{true, false, false}})
	g.write(t, t.TempDir())
	var got []Progress
	opt := RowsOptions{blockSize: 128, chunkEntries: 400, Progress: func(p Progress) { got = append(got, p) }}
	_, st, err := runRows(t, g, opt)
	if err != nil {
		t.Fatal(err)
	}
	last := map[int]Progress{}
	for _, p := range got {
		if q, ok := last[p.Pass]; ok && p.Done < q.Done {
			t.Errorf("progress went back: %+v after %+v", p, q)
		}
		last[p.Pass] = p
	}
	if len(last) != st.Passes {
		t.Errorf("progress for %d passes, Stats.Passes = %d", len(last), st.Passes)
	}
	for pass, p := range last {
		if p.Kind == "stream" && !st.Sorted {
			continue // abandoned
		}
		if p.Done != st.FileBytes || p.Total != st.FileBytes {
			t.Errorf("pass %d ends at %d of %d bytes, file has %d", pass, p.Done, p.Total, st.FileBytes)
		}
		if p.Kind == "block" && p.Passes != st.Passes {
			t.Errorf("block pass %d says %d passes planned, took %d", pass, p.Passes, st.Passes)
		}
	}
}

func TestFinishRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var sc rowScratch
	for range 200 {
		n := rng.IntN(50)
		idx := make([]int32, n)
		val := make([]float32, n)
		want := map[int32]float32{}
		for k := range idx {
			idx[k] = int32(rng.IntN(12))
			val[k] = float32(rng.IntN(100)) / 8
			want[idx[k]] += val[k]
		}
		m := finishRow(idx, val, false, &sc)
		if m != len(want) {
			t.Fatalf("%d entries after finishing, want %d", m, len(want))
		}
		for k := range m {
			if k > 0 && idx[k] <= idx[k-1] {
				t.Fatalf("not sorted: %v", idx[:m])
			}
			if val[k] != want[idx[k]] {
				t.Fatalf("gene %d: %v, want %v", idx[k], val[k], want[idx[k]])
			}
		}
	}
}

func TestPlanMemory(t *testing.T) {
	p := planMemory(RowsOptions{Workers: 16}, 1_300_000, 27998)
	if p.pipeline > 100<<20 {
		t.Errorf("pipeline takes %d MiB of the default budget", p.pipeline>>20)
	}
	used := p.fixed + 2*int64(p.streamE)*entryBytes + 2*int64(p.streamRows)*rowBytes
	if used > DefaultMemoryBudget || used < DefaultMemoryBudget/2 {
		t.Errorf("streaming plan uses %d of %d bytes", used, DefaultMemoryBudget)
	}
	used = p.fixed + int64(p.blockE)*entryBytes + int64(p.blockRows)*2*rowBytes
	if used > DefaultMemoryBudget || used < DefaultMemoryBudget/2 {
		t.Errorf("multi-pass plan uses %d of %d bytes", used, DefaultMemoryBudget)
	}
	if passes := 2.6e9 / float64(p.blockE); passes > 30 {
		t.Errorf("an unsorted 2.6e9-entry file would take %.0f block passes", passes)
	}
	t.Logf("plan for 1.3M cells, 16 workers, 2 GiB: %+v", p)
}

func TestPlanBlocks(t *testing.T) {
	counts := []int64{3, 0, 5, 9, 1, 1, 0, 0, 2}
	got := planBlocks(counts, 6, 3)
	want := [][2]int{{0, 2}, {2, 3}, {3, 4}, {4, 7}, {7, 9}}
	if !slices.Equal(got, want) {
		t.Errorf("planBlocks = %v, want %v", got, want)
	}
	if got := planBlocks(nil, 6, 3); len(got) != 0 {
		t.Errorf("no cells: %v", got)
	}
}

// TestMemoryBound converts a 10x-like matrix (9 MB of text) under a 24 MiB
// budget, sorted and shuffled, and checks that the heap never grows by more
// than the budget.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short")
	}
	for _, shuffled := range []bool{false, true} {
		text := benchText(1000, shuffled)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "matrix.mtx"), text, false)
		writeFile(t, filepath.Join(dir, "features.tsv"), nil, false)
		writeFile(t, filepath.Join(dir, "barcodes.tsv"), nil, false)
		d, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		text = nil
		const budget = 24 << 20
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		})
		sink := &discard{}
		st, err := d.Rows(context.Background(), RowsOptions{MemoryBudget: budget, Workers: 2}, sink)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		grew := int64(peak.Load()) - int64(base)
		t.Logf("shuffled %v: heap grew by %.1f MiB (budget %d MiB); %d passes, %d entries, buffers %.1f MiB",
			shuffled, float64(grew)/(1<<20), budget>>20, st.Passes, st.Entries, float64(st.BufferBytes)/(1<<20))
		if grew > budget {
			t.Errorf("shuffled %v: heap grew by %d bytes, over the %d budget", shuffled, grew, budget)
		}
		if sink.nnz != st.NNZ || st.NNZ == 0 {
			t.Errorf("sink got %d values, stats say %d", sink.nnz, st.NNZ)
		}
		if !shuffled && !st.Sorted || shuffled && st.Passes < 3 {
			t.Errorf("shuffled %v: sorted %v in %d passes", shuffled, st.Sorted, st.Passes)
		}
	}
}
