package cpu

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/linalg"
	"github.com/scbench/scbench/sparse"
)

// Backend runs the operations of backend.Backend on the host's cores, each
// one split over a fixed number of worker goroutines. Like every backend, it
// is driven by one goroutine at a time: it keeps scratch space between calls.
type Backend struct {
	threads int
	model   string
	blas    linalg.BLAS // Gemm: OpenBLAS when it loads
	eigBLAS linalg.BLAS // EigSymTop's products: the Go engine, faster than OpenBLAS for its skinny blocks
	kern    *rowKernels // assembly kernels of SpMM, SpMMT and the dense Gram tiles; nil without AVX2+FMA

	// Scratch reused between calls: per-worker column accumulators of
	// ColStats, and the column-blocked copy of a row batch in
	// GramAccumulate.
	colAcc   []colAcc
	fusedAcc []fusedAcc // QCNormalizeLog1p's per-worker column sums
	spmmtAcc []float64  // SpMMT: the workers' partial sums
	gram     gramScratch
}

var _ backend.Backend = (*Backend)(nil)

// New returns a CPU backend whose operations use up to threads worker
// goroutines; threads <= 0 means runtime.GOMAXPROCS(0).
//
// Results are deterministic for a given thread count: the split of the work
// depends only on the operands and the thread count, and partial results are
// combined in a fixed order. All operations but ColStats and Gemm give the
// same bits for every thread count.
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Backend{threads: threads, model: cpuModel(), blas: linalg.Default(), eigBLAS: linalg.NewGo(threads), kern: simdKernels()}
}

// Device describes the host.
func (b *Backend) Device() backend.Device {
	name := fmt.Sprintf("%d CPU cores", runtime.NumCPU())
	if b.model != "" {
		name += " (" + b.model + ")"
	}
	return backend.Device{
		Backend: "cpu",
		Name:    name,
		Driver:  runtime.Version() + ", BLAS " + b.blas.String(),
		Threads: b.threads,
	}
}

// Close releases the scratch space. The backend stays usable.
func (b *Backend) Close() error {
	b.colAcc = nil
	b.fusedAcc = nil
	b.spmmtAcc = nil
	b.gram = gramScratch{}
	return nil
}

// cpuModel returns the processor's model name from /proc/cpuinfo, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Upload returns a device matrix that shares m's slices: nothing is copied,
// and operations that change the device matrix (ScaleRows, Log1p,
// ScaleCols) change m. It checks the shape of m's arrays, not every column
// index (that would cost a pass over the data; sparse.CSR.Validate does it).
func (b *Backend) Upload(m *sparse.CSR) (backend.CSR, error) {
	if m == nil {
		return backend.CSR{}, fmt.Errorf("%w: cpu: Upload of a nil matrix", backend.ErrShape)
	}
	if err := checkArrays(m); err != nil {
		return backend.CSR{}, fmt.Errorf("cpu: Upload: %w", err)
	}
	return backend.CSR{
		Rows:    m.Rows,
		Cols:    m.Cols,
		NNZ:     int64(len(m.Data)),
		Indptr:  Wrap(m.Indptr),
		Indices: Wrap(m.Indices),
		Data:    Wrap(m.Data),
	}, nil
}

// Download returns a host matrix that shares m's slices (no copy): changing
// one changes the other.
func (b *Backend) Download(m backend.CSR) (*sparse.CSR, error) {
	h, err := view("matrix", m)
	if err != nil {
		return nil, fmt.Errorf("cpu: Download: %w", err)
	}
	return &h, nil
}

// view returns the host slices of the device matrix m after checking that
// its buffers are live CPU buffers of the right kinds and lengths.
func view(name string, m backend.CSR) (sparse.CSR, error) {
	if m.Rows < 0 || m.Cols < 0 || m.NNZ < 0 {
		return sparse.CSR{}, fmt.Errorf("%w: %s has shape %d x %d with %d values", backend.ErrShape, name, m.Rows, m.Cols, m.NNZ)
	}
	ptr, err := slice[int64](name+".Indptr", m.Indptr, m.Rows+1)
	if err != nil {
		return sparse.CSR{}, err
	}
	idx, err := slice[int32](name+".Indices", m.Indices, int(m.NNZ))
	if err != nil {
		return sparse.CSR{}, err
	}
	val, err := slice[float32](name+".Data", m.Data, int(m.NNZ))
	if err != nil {
		return sparse.CSR{}, err
	}
	h := sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: ptr, Indices: idx, Data: val}
	if err := checkArrays(&h); err != nil {
		return sparse.CSR{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// checkArrays checks the lengths and end points of m's arrays, in O(1).
func checkArrays(m *sparse.CSR) error {
	switch {
	case m.Rows < 0 || m.Cols < 0:
		return fmt.Errorf("%w: negative shape %d x %d", backend.ErrShape, m.Rows, m.Cols)
	case int64(int32(m.Cols)) != int64(m.Cols):
		return fmt.Errorf("%w: %d columns do not fit int32 indices", backend.ErrShape, m.Cols)
	case len(m.Indptr) != m.Rows+1:
		return fmt.Errorf("%w: %d row pointers for %d rows (want rows+1)", backend.ErrShape, len(m.Indptr), m.Rows)
	case len(m.Indices) != len(m.Data):
		return fmt.Errorf("%w: %d column indices but %d values", backend.ErrShape, len(m.Indices), len(m.Data))
	case m.Indptr[0] != 0:
		return fmt.Errorf("%w: row pointers start at %d, not 0 (rebase them, as sparse.CSR.RowView does)", backend.ErrShape, m.Indptr[0])
	case m.Indptr[m.Rows] != int64(len(m.Data)):
		return fmt.Errorf("%w: row pointers end at %d but there are %d values", backend.ErrShape, m.Indptr[m.Rows], len(m.Data))
	}
	return nil
}

// Work splitting.
const (
	// grain is the least work (in stored values) worth a worker of its own.
	grain = 1 << 12
	// rowCost is what a row costs on top of its stored values, so that runs
	// of empty rows are split too.
	rowCost = 4
)

// parts returns how many workers to use for work units of work.
func (b *Backend) parts(work int64) int {
	p := work / grain
	if p < 1 {
		return 1
	}
	if p > int64(b.threads) {
		return b.threads
	}
	return int(p)
}

// splitRows divides the rows of a matrix with row pointers ptr into ranges
// of about equal cost (stored values plus rowCost per row), as many as
// b.parts says: range p is rows [bounds[p], bounds[p+1]).
func (b *Backend) splitRows(ptr []int64) []int {
	n := len(ptr) - 1
	total := ptr[n] + int64(n)*rowCost
	parts := b.parts(total)
	bounds := make([]int, parts+1)
	for p := 1; p < parts; p++ {
		target := total / int64(parts) * int64(p)
		bounds[p] = sort.Search(n, func(r int) bool { return ptr[r]+int64(r)*rowCost >= target })
	}
	bounds[parts] = n
	return bounds
}

// splitRange divides [0, n) into ranges of about equal length, as many as
// b.parts(n*unit) says.
func (b *Backend) splitRange(n int, unit int64) []int {
	parts := b.parts(int64(n) * unit)
	bounds := make([]int, parts+1)
	for p := range bounds {
		bounds[p] = int(int64(n) * int64(p) / int64(parts))
	}
	return bounds
}

// parallel runs fn(p) for p in [0, parts), on parts goroutines (the caller's
// among them), and waits for them.
func parallel(parts int, fn func(p int)) {
	if parts <= 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		go func() {
			defer wg.Done()
			fn(p)
		}()
	}
	fn(0)
	wg.Wait()
}

// forRows runs fn over the row ranges of b.splitRows(ptr) in parallel.
func (b *Backend) forRows(ptr []int64, fn func(lo, hi int)) {
	bounds := b.splitRows(ptr)
	parallel(len(bounds)-1, func(p int) { fn(bounds[p], bounds[p+1]) })
}

// forValues runs fn over ranges of [0, n) in parallel, for element-wise
// loops over stored values.
func (b *Backend) forValues(n int, fn func(lo, hi int)) {
	bounds := b.splitRange(n, 1)
	parallel(len(bounds)-1, func(p int) { fn(bounds[p], bounds[p+1]) })
}
