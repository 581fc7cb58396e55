package anndata

// Writing an AnnData store (zarr format 2, as anndata >= 0.8 lays it out):
//
//	.zattrs          {"encoding-type": "anndata", "encoding-version": "0.1.0"}
//	X/               csr_matrix 0.1.0, shape [n_obs, n_var]
//	  data, indices  <f4 and <i4, streamed by AppendX in ChunkElems chunks
//	  indptr         kept in memory (n_obs+1 values) and written by Close:
//	                 <i4 while nnz fits (as scipy), else <i8
//	obs/, var/       dataframe 0.2.0: _index, column-order, one array per column
//	obsm/, varm/     dict 0.1.0 of 2-D <f4 arrays
//	obsp/            dict 0.1.0 of csr_matrix groups
//	varp/, layers/   dict 0.1.0, empty
//	uns/             dict 0.1.0, nested; scalars as 0-d arrays
//	.zmetadata       consolidated metadata, written last
//
// AppendX copies each row chunk's values into the chunk buffers of X/data
// and X/indices; a full chunk goes to a queue that Workers goroutines drain,
// compressing and writing each chunk file. Buffers are recycled through a
// free list of at most 2+2*Workers, so memory stays bounded whatever n_obs
// is, and AppendX blocks when the workers fall behind. X/data and
// X/indices are created with length 0 and take their final length (the
// number of values appended) from Resize at Close, since a chunk's
// boundaries do not depend on the array's length.
//
// Everything goes into a temporary sibling directory that Close renames into
// place, so readers never see a half-written store and an input store is
// never overwritten while it is being read.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/scbench/scbench/anndata/zarr"
	"github.com/scbench/scbench/sparse"
	"gonum.org/v1/gonum/blas/blas32"
)

// WriteOptions configures Create.
type WriteOptions struct {
	// ChunkElems is the number of elements per zarr chunk of X/data and
	// X/indices (4 bytes each); 0 means 1<<20 (4 MiB chunks: large enough
	// for fast compression, small enough to decode in parallel).
	ChunkElems int
	// Workers is the number of compression goroutines; 0 means GOMAXPROCS.
	Workers int
	// Compressor compresses every array but 0-d scalars; nil means
	// Blosc-lz4, level 5, byte shuffle, which is what anndata writes.
	Compressor *zarr.Compressor
}

// writeDefaultChunkElems is WriteOptions.ChunkElems when it is 0.
const writeDefaultChunkElems = 1 << 20

// Writer writes an AnnData zarr (format 2) store. It writes into a temporary
// sibling of the final path and renames it into place on Close; Abort (or a
// failed Close) removes the temporary store.
//
// Because nothing is written under the final path until the new store is
// complete, a store can be rewritten from itself (read path, write path):
// the old store stays readable until Close swaps the two.
//
// The first error of any method (a bad argument or a failed write) is
// sticky: the Writer removes its temporary store, and every later call,
// Close included, returns that error. Chunks of X are compressed and written
// by background goroutines, so a failed chunk write surfaces at the next
// AppendX or at Close. A Writer is not safe for concurrent use.
type Writer struct {
	path, tmp  string
	nObs, nVar int
	chunkElems int
	workers    int
	comp       zarr.Compressor

	// X as it streams in.
	indptr        []int64 // nObs+1 row pointers
	rows          int     // rows appended so far
	nnz           int64   // values appended so far
	data, indices *zarr.ArrayWriter
	dataBuf       []byte // the chunk being filled, ChunkElems*4 bytes
	indBuf        []byte
	fill          int   // elements in dataBuf and indBuf
	nchunks       int64 // chunks handed to the workers

	jobs    chan writeJob
	free    chan []byte // chunk buffers the workers are done with
	nbufs   int         // buffers allocated so far
	maxBufs int
	wg      sync.WaitGroup
	mu      sync.Mutex
	werr    error // first error of a worker, under mu
	stopped bool  // jobs closed

	obsSet, varSet bool
	err            error // sticky first error
	done           bool  // Close or Abort ran
}

// writeJob is one chunk of X for a worker to compress and store.
type writeJob struct {
	arr   *zarr.ArrayWriter
	index int64
	buf   []byte
}

// Create starts a store with nObs x nVar X (CSR, appended in row chunks).
// Defer w.Abort() right after it: Abort does nothing once Close succeeded,
// and otherwise removes the temporary store and stops the workers.
//
// path's parent directory must exist; the store is assembled in a hidden
// sibling (".name.tmp-*") and appears under path only when Close succeeds.
// obs and var default to indexes "0", "1", ... (as anndata's do) until SetObs
// and SetVar replace them; obsm, varm, obsp, varp, layers and uns start
// empty.
func Create(path string, nObs, nVar int, opt *WriteOptions) (*Writer, error) {
	if opt == nil {
		opt = &WriteOptions{}
	}
	if nObs < 0 || nVar < 0 || nVar > 1<<31-1 {
		return nil, fmt.Errorf("anndata: Create %s: shape %d x %d (need n_obs >= 0 and 0 <= n_var < 2^31 for int32 indices)", path, nObs, nVar)
	}
	w := &Writer{
		path:       filepath.Clean(path),
		nObs:       nObs,
		nVar:       nVar,
		chunkElems: opt.ChunkElems,
		workers:    opt.Workers,
		comp:       zarr.Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1},
	}
	if w.chunkElems == 0 {
		w.chunkElems = writeDefaultChunkElems
	}
	if w.chunkElems < 1 || w.chunkElems > 1<<28 {
		return nil, fmt.Errorf("anndata: Create %s: ChunkElems %d out of range 1 to 2^28", path, opt.ChunkElems)
	}
	if w.workers <= 0 {
		w.workers = runtime.GOMAXPROCS(0)
	}
	if opt.Compressor != nil {
		w.comp = *opt.Compressor
	}
	if _, err := w.comp.Encode([]byte{0, 0, 0, 0}, 4); err != nil {
		return nil, fmt.Errorf("anndata: Create %s: compressor %s: %w", path, w.comp, err)
	}
	dir, base := filepath.Split(w.path)
	if base == "" || base == "." || base == ".." {
		return nil, fmt.Errorf("anndata: Create %q: not a file name", path)
	}
	tmp, err := os.MkdirTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("anndata: Create %s: %w", path, err)
	}
	w.tmp = tmp
	if err := w.start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("anndata: Create %s: %w", path, err)
	}
	w.maxBufs = 2 + 2*w.workers // two being filled, a queue and one per worker
	w.jobs = make(chan writeJob, w.workers)
	w.free = make(chan []byte, w.maxBufs)
	for range w.workers {
		w.wg.Add(1)
		go w.work()
	}
	w.indptr = make([]int64, nObs+1)
	w.dataBuf, w.indBuf = w.buffer(), w.buffer()
	return w, nil
}

// start lays out the groups and the X arrays in the temporary store.
func (w *Writer) start() error {
	if err := zarr.CreateGroup(w.tmp, writeEncoding("anndata", "0.1.0")); err != nil {
		return err
	}
	for _, g := range []string{"obsm", "varm", "obsp", "varp", "layers", "uns"} {
		if err := zarr.CreateGroup(filepath.Join(w.tmp, g), writeEncoding("dict", "0.1.0")); err != nil {
			return err
		}
	}
	xattrs := writeEncoding("csr_matrix", "0.1.0")
	xattrs["shape"] = []int{w.nObs, w.nVar}
	if err := zarr.CreateGroup(filepath.Join(w.tmp, "X"), xattrs); err != nil {
		return err
	}
	return w.createX(int64(w.chunkElems))
}

// createX (re)creates X/data and X/indices, with no length yet.
func (w *Writer) createX(chunk int64) error {
	var err error
	spec := zarr.ArraySpec{Shape: []int64{0}, ChunkShape: []int64{chunk}, DType: "<f4", Compressor: w.comp}
	if w.data, err = zarr.CreateArray(filepath.Join(w.tmp, "X", "data"), spec); err != nil {
		return err
	}
	spec.DType = "<i4"
	w.indices, err = zarr.CreateArray(filepath.Join(w.tmp, "X", "indices"), spec)
	return err
}

func writeEncoding(typ, version string) map[string]any {
	return map[string]any{"encoding-type": typ, "encoding-version": version}
}

// work compresses and stores chunks until jobs closes. After the first
// failure it only hands buffers back, so AppendX never blocks on it.
func (w *Writer) work() {
	defer w.wg.Done()
	for j := range w.jobs {
		w.mu.Lock()
		failed := w.werr != nil
		w.mu.Unlock()
		if !failed {
			if err := j.arr.WriteChunk([]int64{j.index}, j.buf); err != nil {
				w.mu.Lock()
				if w.werr == nil {
					w.werr = err
				}
				w.mu.Unlock()
			}
		}
		w.free <- j.buf
	}
}

// buffer returns a chunk buffer: a free one, a new one while fewer than
// maxBufs exist, or else the next one a worker frees. This bounds memory to
// maxBufs chunks whatever n_obs is.
func (w *Writer) buffer() []byte {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.nbufs < w.maxBufs {
		w.nbufs++
		return make([]byte, 4*w.chunkElems)
	}
	return <-w.free
}

func (w *Writer) workerErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.werr
}

// check returns the sticky error, or an error when the Writer is finished.
func (w *Writer) check(op string) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("anndata: %s %s: writer already closed", op, w.path)
	}
	if err := w.workerErr(); err != nil {
		return w.fail(fmt.Errorf("anndata: writing %s: %w", w.path, err))
	}
	return nil
}

// fail records err as the sticky error and removes the temporary store.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	w.stop()
	os.RemoveAll(w.tmp)
	w.done = true
	return w.err
}

// stop closes the job queue and waits for the workers.
func (w *Writer) stop() {
	if !w.stopped {
		w.stopped = true
		close(w.jobs)
		w.wg.Wait()
	}
}

// AppendX appends the next rows of X; chunks must arrive in row order and
// together cover nObs rows. Each chunk is validated (sparse.Validate) and
// must have nVar columns. rows may be reused by the caller once AppendX
// returns.
func (w *Writer) AppendX(rows *sparse.CSR) error {
	if err := w.check("AppendX"); err != nil {
		return err
	}
	if rows == nil {
		return w.fail(fmt.Errorf("anndata: AppendX %s: nil matrix", w.path))
	}
	if rows.Cols != w.nVar {
		return w.fail(fmt.Errorf("anndata: AppendX %s: rows %d-%d have %d columns, the store has n_var = %d", w.path, w.rows, w.rows+rows.Rows, rows.Cols, w.nVar))
	}
	if err := rows.Validate(); err != nil {
		return w.fail(fmt.Errorf("anndata: AppendX %s: rows %d-%d: %w", w.path, w.rows, w.rows+rows.Rows, err))
	}
	if w.rows+rows.Rows > w.nObs {
		return w.fail(fmt.Errorf("anndata: AppendX %s: rows %d-%d run past n_obs = %d", w.path, w.rows, w.rows+rows.Rows, w.nObs))
	}
	for i := 1; i <= rows.Rows; i++ {
		w.indptr[w.rows+i] = w.nnz + rows.Indptr[i]
	}
	w.rows += rows.Rows
	data, ind := rows.Data, rows.Indices
	for len(data) > 0 {
		k := min(w.chunkElems-w.fill, len(data))
		writePutFloat32(w.dataBuf[4*w.fill:], data[:k])
		writePutInt32(w.indBuf[4*w.fill:], ind[:k])
		data, ind = data[k:], ind[k:]
		w.fill += k
		w.nnz += int64(k)
		if w.fill == w.chunkElems {
			w.submit()
		}
	}
	return w.check("AppendX")
}

// submit hands the filled chunk buffers to the workers.
func (w *Writer) submit() {
	w.jobs <- writeJob{w.data, w.nchunks, w.dataBuf}
	w.jobs <- writeJob{w.indices, w.nchunks, w.indBuf}
	w.nchunks++
	w.fill = 0
	w.dataBuf, w.indBuf = w.buffer(), w.buffer()
}

// writeLittleEndian is whether this machine stores numbers as zarr's "<"
// types do, so X's values can be copied into chunks without conversion.
var writeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func writePutFloat32(dst []byte, v []float32) {
	if writeLittleEndian {
		copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return
	}
	for i, x := range v {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(x))
	}
}

func writePutInt32(dst []byte, v []int32) {
	if writeLittleEndian {
		copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return
	}
	for i, x := range v {
		binary.LittleEndian.PutUint32(dst[4*i:], uint32(x))
	}
}

// SetObs sets the obs dataframe: len(f.Index) and every column must have
// nObs entries.
func (w *Writer) SetObs(f *Frame) error {
	if err := w.check("SetObs"); err != nil {
		return err
	}
	if err := w.writeFrame("obs", f, w.nObs); err != nil {
		return w.fail(err)
	}
	w.obsSet = true
	return nil
}

// SetVar sets the var dataframe: len(f.Index) and every column must have
// nVar entries.
func (w *Writer) SetVar(f *Frame) error {
	if err := w.check("SetVar"); err != nil {
		return err
	}
	if err := w.writeFrame("var", f, w.nVar); err != nil {
		return w.fail(err)
	}
	w.varSet = true
	return nil
}

// SetObsm stores m (nObs rows) as obsm[name], a dense float32 array.
func (w *Writer) SetObsm(name string, m blas32.General) error {
	if err := w.check("SetObsm"); err != nil {
		return err
	}
	if err := w.writeDense("obsm", name, m, w.nObs); err != nil {
		return w.fail(err)
	}
	return nil
}

// SetVarm stores m (nVar rows) as varm[name], a dense float32 array.
func (w *Writer) SetVarm(name string, m blas32.General) error {
	if err := w.check("SetVarm"); err != nil {
		return err
	}
	if err := w.writeDense("varm", name, m, w.nVar); err != nil {
		return w.fail(err)
	}
	return nil
}

// SetObsp stores m (nObs x nObs) as obsp[name], a csr_matrix.
func (w *Writer) SetObsp(name string, m *sparse.CSR) error {
	if err := w.check("SetObsp"); err != nil {
		return err
	}
	if err := w.writeGraph("obsp", name, m, w.nObs); err != nil {
		return w.fail(err)
	}
	return nil
}

// SetUns stores a nested dict: values are map[string]any, string, bool,
// int, int32, int64, float32, float64, []float32, []float64, []int32,
// []int64, []bool, []string. Scalars become 0-d arrays as anndata writes
// them ("numeric-scalar", and "string" as a numpy <U array). It replaces
// what an earlier SetUns stored.
func (w *Writer) SetUns(uns map[string]any) error {
	if err := w.check("SetUns"); err != nil {
		return err
	}
	dir := filepath.Join(w.tmp, "uns")
	if err := os.RemoveAll(dir); err != nil {
		return w.fail(fmt.Errorf("anndata: SetUns %s: %w", w.path, err))
	}
	if err := w.writeDict(dir, "uns", uns); err != nil {
		return w.fail(fmt.Errorf("anndata: SetUns %s: %w", w.path, err))
	}
	return nil
}

// Close checks that X has nObs rows, writes what remains (the last chunks of
// X, its row pointers, default obs/var, consolidated metadata) and renames
// the store into place. An existing store at the path is replaced only once
// the new one is complete: it is renamed aside, the new one renamed in, and
// the old one removed. On any error the temporary store is removed and
// nothing changes under the path.
func (w *Writer) Close() error {
	if err := w.check("Close"); err != nil {
		return err
	}
	if w.rows != w.nObs {
		return w.fail(fmt.Errorf("anndata: Close %s: X got %d rows, want n_obs = %d (AppendX must cover every row)", w.path, w.rows, w.nObs))
	}
	if err := w.finishX(); err != nil {
		return w.fail(fmt.Errorf("anndata: Close %s: %w", w.path, err))
	}
	if !w.obsSet {
		if err := w.writeFrame("obs", nil, w.nObs); err != nil {
			return w.fail(err)
		}
	}
	if !w.varSet {
		if err := w.writeFrame("var", nil, w.nVar); err != nil {
			return w.fail(err)
		}
	}
	if err := zarr.WriteConsolidated(w.tmp); err != nil {
		return w.fail(fmt.Errorf("anndata: Close %s: %w", w.path, err))
	}
	// MkdirTemp made the directory private; a store is as readable as any
	// directory the user makes.
	if err := os.Chmod(w.tmp, 0o755); err != nil {
		return w.fail(fmt.Errorf("anndata: Close %s: %w", w.path, err))
	}
	if err := w.swap(); err != nil {
		return w.fail(fmt.Errorf("anndata: Close %s: %w", w.path, err))
	}
	w.done = true
	return nil
}

// finishX writes the last chunks of X/data and X/indices, waits for the
// workers, sets the arrays' lengths and writes X/indptr.
func (w *Writer) finishX() error {
	if w.nchunks == 0 {
		// X fits one chunk: size the chunk to it rather than store a
		// mostly empty ChunkElems chunk.
		n := max(w.nnz, 1)
		if err := w.createX(n); err != nil {
			return err
		}
		clear(w.dataBuf[4*w.fill : 4*n])
		clear(w.indBuf[4*w.fill : 4*n])
		if err := w.data.WriteChunk([]int64{0}, w.dataBuf[:4*n]); err != nil {
			return err
		}
		if err := w.indices.WriteChunk([]int64{0}, w.indBuf[:4*n]); err != nil {
			return err
		}
	} else if w.fill > 0 {
		clear(w.dataBuf[4*w.fill:])
		clear(w.indBuf[4*w.fill:])
		w.submit()
	}
	w.stop()
	if err := w.workerErr(); err != nil {
		return err
	}
	if err := w.data.Resize([]int64{w.nnz}); err != nil {
		return err
	}
	if err := w.indices.Resize([]int64{w.nnz}); err != nil {
		return err
	}
	n := int64(len(w.indptr))
	dt, ptr := indptrBytes(w.indptr)
	return zarr.WriteArray(filepath.Join(w.tmp, "X", "indptr"), zarr.ArraySpec{
		Shape: []int64{n}, ChunkShape: []int64{min(n, int64(w.chunkElems))}, DType: dt, Compressor: w.comp,
	}, ptr, w.workers)
}

// swap renames the finished temporary store to the final path, moving an
// existing store aside first and removing it last.
func (w *Writer) swap() error {
	if _, err := os.Lstat(w.path); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(w.tmp, w.path)
	} else if err != nil {
		return err
	}
	dir, base := filepath.Split(w.path)
	old := filepath.Join(dir, "."+base+".old-"+rand.Text())
	if err := os.Rename(w.path, old); err != nil {
		return fmt.Errorf("moving the existing store aside: %w", err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		if rerr := os.Rename(old, w.path); rerr != nil {
			return fmt.Errorf("%w; and restoring the old store from %s failed: %v", err, old, rerr)
		}
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("new store in place, but removing the old one at %s: %w", old, err)
	}
	return nil
}

// Abort stops the Writer and removes its temporary store. It does nothing
// after Close.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.fail(fmt.Errorf("anndata: writing %s: aborted", w.path))
}
