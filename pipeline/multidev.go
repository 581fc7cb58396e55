package pipeline

// Several devices.
//
// RunDevices runs the workflow of Run with the passes over the data (pass
// 1, pass 2 and pass 3, QC through the PCA scores) spread over several
// backends: several GPUs of one host, or, for tests, several CPU
// backends or OpenCL contexts.
//
// One goroutine reads the store; one goroutine per device drives it,
// taking the next chunk whenever it is free (a device that finishes early
// takes more), with its own buffers (multidev_sched.go). What a chunk
// yields for the whole run is small, and is combined on the host:
//
//   - per cell (QC, the filter): rows of their own, written in place;
//   - per gene (pass 1's ColStats over all cells and over the kept ones,
//     pass 2's over Z): each chunk's partial sums, accumulated on the
//     device from zero, are read back and added on the host in chunk
//     order, in float64. The sums are therefore the same whichever device
//     took which chunk, and the same as those of one device that adds
//     each chunk's sums to its accumulator (the CPU backend with one
//     thread: bit for bit). QC, the filter and the highly variable genes
//     do not depend on the number of devices;
//   - the Gram matrix ZᵀZ: each device accumulates its chunks' products
//     in a p x p float64 matrix of its own; the host adds the devices'
//     matrices once, in device order. That sum is the one result whose
//     last bits depend on which device took which chunk (about 1e-16
//     relative: a different association of the same float64 sums).
//
// Pass 1's chunks stay on the device that processed them, normalized and
// log1p'd, while they fit (a device with memory of its own: half of its
// device budget, as resident.go; the CPU backend: the hold budget of
// held.go, shared by the devices); pass 2 takes a device's chunks there,
// and re-reads the store for the others, again handed out dynamically.
// Pass 2 keeps each chunk of Z where it made it (on the device within
// its budget, else in a cache in host memory or on disk), and pass 3
// projects each device's own chunks. The output's X rows are appended in
// input order: a chunk finished before those ahead of it waits, copied,
// until they are written.
//
// PCA always takes the covariance path here (the matrix-free path would
// gather every device's products for each of its hundreds of block
// products): the host combines the Gram matrices, and devs[0] centres
// the covariance and solves the eigenproblem with the settings of the
// one-device covariance path (pcaTol where the backend takes a
// tolerance). The scores are centred and signed on the host as in pca().
// The graph steps (neighbors, UMAP, Leiden) then run on devs[0], as Run
// runs them, on the whole X_pca, except the IVF-Flat search where every
// device has a ShardedNeighborSearcher: devs[0] builds the index, every
// device searches shares of the cells, and devs[0] refines the lists
// (knnshard.go). The search is the graph steps' largest part (0.7 of the
// 1.25 s of the kNN at 1.3M cells on an H200); UMAP and Leiden stay on
// devs[0], measured: an epoch of UMAP's SGD takes 1.3 ms there (0.27 s
// for 200), about what exchanging the 10 MB embedding between two
// devices each epoch would cost over PCIe, so splitting the edges cannot
// gain; Leiden takes 0.46 s on the GPU against 7 to 11 s on the host's
// 16 cores, and its local moving is a few hundred milliseconds of
// graph-wide sweeps that would need their moves exchanged each sweep.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend"
)

// DeviceUse is one device's share of a run on several devices.
type DeviceUse struct {
	Index   int          `json:"index"` // position in the devices given
	Backend string       `json:"backend"`
	Name    string       `json:"name"`
	Chunks  int          `json:"chunks"`       // chunks taken, all passes
	Seconds float64      `json:"busy_seconds"` // time spent on them
	Passes  []DevicePass `json:"passes"`
	Held    int64        `json:"held_bytes,omitempty"` // pass 1's chunks it kept for pass 2
	ZBytes  int64        `json:"z_bytes,omitempty"`    // its chunks of Z, on the device or cached
	ZOnDev  bool         `json:"z_on_device,omitempty"`
}

// DevicePass is a device's share of one pass.
type DevicePass struct {
	Pass    string  `json:"pass"`
	Chunks  int     `json:"chunks"`
	Seconds float64 `json:"busy_seconds"`
}

// RunDevices runs the workflow as Run does with the passes over the data
// spread over the backends devs, which must be distinct (each is driven by
// one goroutine), as described above. With one backend it is Run. The
// result, the report (with each device's share in Report.Devices) and the
// output store are those of Run, but for the last bits of the PCA (see
// the description above).
func RunDevices(ctx context.Context, devs []backend.Backend, in *anndata.File, out string, p Params, opt Options) (*Result, error) {
	return runDevices(ctx, devs, fileSource{in}, out, p, opt)
}

func runDevices(ctx context.Context, devs []backend.Backend, src source, out string, p Params, opt Options) (*Result, error) {
	switch len(devs) {
	case 0:
		return nil, fmt.Errorf("pipeline: no device to run on")
	case 1:
		return run(ctx, devs[0], src, out, p, opt)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	nObs, nVar, nnz := src.shape()
	if nObs == 0 || nVar == 0 {
		return nil, fmt.Errorf("pipeline: %s holds %d cells x %d genes: nothing to do", src.path(), nObs, nVar)
	}
	r := &runner{ctx: ctx, b: devs[0], in: src, nObs: nObs, nVar: nVar, p: p, opt: opt, until: opt.until(), res: &Result{}}
	m := &multi{runner: r}
	var names []string
	for i, b := range devs {
		dev := b.Device()
		d := &mdev{i: i, b: b, name: dev.Name, use: DeviceUse{Index: i, Backend: dev.Backend, Name: dev.Name}}
		d.raw, d.held = *r, *r
		d.raw.b, d.held.b = b, b
		d.held.heldNormalized = r.until >= StepNormalize
		d.bufs = &bufCache{b: b}
		m.devs = append(m.devs, d)
		names = append(names, fmt.Sprintf("%d: %s %s", i, dev.Backend, dev.Name))
	}
	r.more = devs[1:]
	r.startReport(devs[0].Device(), fmt.Sprintf("%d devices (%s)", len(devs), strings.Join(names, "; ")), out, nnz)
	start := time.Now()
	err := m.run(out)
	rep := &r.res.Report
	rep.Seconds = time.Since(start).Seconds()
	rep.PeakRSS = PeakRSS()
	for _, d := range m.devs {
		if pm, ok := d.b.(interface{ PeakMemory() int64 }); ok {
			rep.PeakDeviceBytes = max(rep.PeakDeviceBytes, pm.PeakMemory())
		}
		for _, u := range d.use.Passes {
			d.use.Chunks += u.Chunks
			d.use.Seconds += u.Seconds
		}
		rep.Devices = append(rep.Devices, d.use)
	}
	return r.res, err
}

// multi is a run on several devices. The runner is devs[0]'s: it holds
// the result, the output store and the steps that run on one device.
type multi struct {
	*runner
	devs []*mdev
	// heldAt[i]: chunk i is held on a device since pass 1.
	heldAt []bool
	// keptBefore[i] is the number of kept cells before input row i.
	keptBefore []int
	xw         *inOrder[xPiece] // the output's X, in input order
}

// mdev is one device of a run on several devices.
type mdev struct {
	i    int
	b    backend.Backend
	name string
	// raw transforms chunks read from the store, held those held since
	// pass 1 (normalized already when the run normalizes): runners on
	// this device that share the run's result, read-only during pass 2.
	raw, held runner
	bufs      *bufCache

	hold      []mjob // pass 1's chunks kept on the device, in chunk order
	heldBytes int64

	// Pass 2's and 3's buffers and the device's share of Z.
	newIndex, invStd backend.Buffer
	zSum, zSumSq     backend.Buffer
	gram             backend.Dense
	zDev             []zPiece     // chunks of Z kept on the device
	zHost            []zPiece     // chunks of Z in cache, in its order
	cache            *matrixCache // in host memory or on disk
	zBytes           int64        // all its chunks of Z
	zDevBytes        int64        // those on the device

	use DeviceUse
}

// zPiece is a chunk of Z: its first row among the kept cells.
type zPiece struct {
	kept int
	m    backend.CSR // on the device (zDev); unset for a cached chunk
}

// pass returns the device's record of pass, made on first use.
func (d *mdev) pass(name string) *DevicePass {
	for i := range d.use.Passes {
		if d.use.Passes[i].Pass == name {
			return &d.use.Passes[i]
		}
	}
	d.use.Passes = append(d.use.Passes, DevicePass{Pass: name})
	return &d.use.Passes[len(d.use.Passes)-1]
}

// free releases what the device still holds.
func (d *mdev) free() error {
	for _, j := range d.hold {
		j.dev.Free()
	}
	d.hold = nil
	for _, z := range d.zDev {
		z.m.Free()
	}
	d.zDev = nil
	for _, buf := range []backend.Buffer{d.newIndex, d.invStd, d.zSum, d.zSumSq, d.gram.Data} {
		if buf != nil {
			buf.Free()
		}
	}
	d.newIndex, d.invStd, d.zSum, d.zSumSq, d.gram = nil, nil, nil, nil, backend.Dense{}
	d.bufs.free()
	if d.cache != nil {
		err := d.cache.Close()
		d.cache = nil
		return err
	}
	return nil
}

func (m *multi) run(out string) (err error) {
	r := m.runner
	defer func() {
		for _, d := range m.devs {
			if cerr := d.free(); err == nil && cerr != nil {
				err = cerr
			}
		}
		if err != nil && r.w != nil {
			r.w.Abort()
			r.w = nil
		}
	}()
	// The graph steps run on devs[0], as Run runs them.
	return r.steps(out, passes{m.pass1, m.pass2, m.pca})
}

// deviceParts records the devices' shares of a pass in its step.
func (m *multi) deviceParts(st *StepTime, pass string) {
	if st.Parts == nil {
		st.Parts = map[string]float64{}
	}
	for _, d := range m.devs {
		u := d.pass(pass)
		st.Parts[fmt.Sprintf("device %d chunks", d.i)] = float64(u.Chunks)
		st.Parts[fmt.Sprintf("device %d busy", d.i)] = u.Seconds
	}
}
