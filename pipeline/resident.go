package pipeline

import (
	"fmt"

	"github.com/scbench/scbench/backend"
)

// Keeping data on the device between passes.
//
// On a backend with memory of its own (a GPU: Device().Memory > 0), the
// data that the CPU design keeps in host memory between passes stays on
// the device instead, where it fits Options.DeviceBudget:
//
//   - pass 1's chunks, normalized and log1p'd, for pass 2 (on the CPU
//     backend, held.go): pass 2 reads neither the store nor the PCI bus;
//   - the scaled HVG matrix Z, for PCA and pass 3 (on the CPU backend, the
//     matrix cache): the eigensolver's products run over it in device
//     memory, and the chunks are joined into one matrix where the backend
//     can (rowConcatenator), so that each product is one launch per
//     operation rather than one per chunk.
//
// With Z on the device PCA takes the matrix-free path: a GPU applies Z
// and Zᵀ at memory bandwidth, while the Gram matrix has no fast GPU kernel
// here (see pcapath.go).

// defaultDeviceShare is the share of a device's memory that data kept
// between passes may take by default: the rest is for the per-chunk
// working buffers and other users of the device.
const defaultDeviceShare = 0.6

// rowConcatenator is implemented by backends that can join device
// matrices with the same columns into one, row after row. ConcatRows
// frees its inputs.
type rowConcatenator interface {
	ConcatRows(ms []backend.CSR) (backend.CSR, error)
}

// devChunk is a chunk kept on the device.
type devChunk struct {
	start int
	m     backend.CSR
}

// deviceBudget is the bytes of device memory the run may keep data in
// between passes; 0 on a host backend or when Options.DeviceBudget < 0.
func (r *runner) deviceBudget() int64 {
	mem := r.b.Device().Memory
	switch {
	case mem <= 0 || r.opt.DeviceBudget < 0:
		return 0
	case r.opt.DeviceBudget > 0:
		return r.opt.DeviceBudget
	}
	return int64(defaultDeviceShare * float64(mem))
}

// holdOnDevice decides, before pass 1, whether it keeps its chunks on the
// device for pass 2: a device backend, a sparse X whose decoded size fits
// half the device budget (the other half is for Z), and a run that goes
// at least to HVG (pass 2 then starts from the normalized chunks).
func (r *runner) holdOnDevice() bool {
	budget := r.deviceBudget()
	if budget == 0 || !r.pass2Needed || r.until < StepHVG {
		return false
	}
	_, _, nnz := r.in.shape()
	if nnz < 0 {
		return false
	}
	chunks := int64(chunkCount(r.nObs, r.opt.chunkRows()))
	decoded := nnz*8 + (int64(r.nObs)+chunks)*8
	if decoded > budget/2 {
		return false
	}
	r.devHeld = make([]devChunk, 0, chunks)
	r.heldNormalized = true
	r.res.Report.HeldBytes = decoded
	r.res.Report.HeldOnDevice = true
	return true
}

// zOnDevice decides, before pass 2, whether the scaled HVG matrix stays on
// the device: it fits the device budget less what pass 1 holds there.
func (r *runner) zOnDevice(nnz int64) bool {
	budget := r.deviceBudget()
	if budget == 0 {
		return false
	}
	if r.res.Report.HeldOnDevice {
		budget -= r.res.Report.HeldBytes
	}
	chunks := int64(chunkCount(r.nObs, r.opt.chunkRows()))
	need := nnz*8 + (int64(r.res.Obs.NKept)+chunks)*8
	// Joining the chunks needs the pieces and the whole at once.
	if _, ok := r.b.(rowConcatenator); ok {
		need *= 2
	}
	return need <= budget
}

// joinZ joins the chunks of Z kept on the device into one matrix, where
// the backend can.
func (r *runner) joinZ() error {
	c, ok := r.b.(rowConcatenator)
	if !ok || len(r.zDev) < 2 {
		return nil
	}
	m, err := c.ConcatRows(r.zDev)
	if err != nil {
		return fmt.Errorf("pipeline: joining the chunks of the scaled HVG matrix on the device: %w", err)
	}
	r.zDev = []backend.CSR{m}
	return nil
}

// freeDevice frees whatever the run still keeps on the device.
func (r *runner) freeDevice() {
	for _, c := range r.devHeld {
		c.m.Free()
	}
	r.devHeld = nil
	for _, m := range r.zDev {
		m.Free()
	}
	r.zDev = nil
}
