package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/cputime"
)

// Report describes a run: what went in and out, and where the time went.
// It marshals to the JSON of `scbench run --report`.
type Report struct {
	Backend    string `json:"backend"`
	Device     string `json:"device"`
	Threads    int    `json:"threads,omitempty"`
	Input      string `json:"input"`
	Output     string `json:"output,omitempty"`
	Params     Params `json:"params"`
	Until      string `json:"until"`
	ChunkRows  int    `json:"chunk_rows"`
	CellsIn    int    `json:"cells_in"`
	GenesIn    int    `json:"genes_in"`
	NNZIn      int64  `json:"nnz_in"`
	CellsOut   int    `json:"cells_out"`
	GenesOut   int    `json:"genes_out"`
	NNZOut     int64  `json:"nnz_out"`
	NComps     int    `json:"n_comps,omitempty"`
	BytesRead  int64  `json:"bytes_read"` // compressed bytes of X read from the store, all passes
	PeakRSS    int64  `json:"peak_rss_bytes"`
	CacheBytes int64  `json:"cache_bytes,omitempty"` // the HVG-subset matrix kept between passes 2 and 3
	CacheDisk  bool   `json:"cache_on_disk,omitempty"`
	// CacheDirect: the cache's file bypassed the page cache (direct I/O),
	// all of it (a disk found slow at the first writes turns it off; a run
	// that stops before pass 3 reports what the file started with).
	CacheDirect bool   `json:"cache_direct_io,omitempty"`
	HeldBytes   int64  `json:"held_bytes,omitempty"` // pass 1's chunks kept in memory for pass 2 (0: pass 2 re-read the store)
	PCAPath     string `json:"pca_path,omitempty"`   // "covariance" or "matrix-free" (see the package documentation)
	// HeldOnDevice: pass 1's chunks were kept on the GPU (HeldBytes of
	// them); ZOnDevice: so was the scaled HVG matrix (resident.go).
	HeldOnDevice bool `json:"held_on_device,omitempty"`
	ZOnDevice    bool `json:"z_on_device,omitempty"`
	// PeakDeviceBytes is the most device memory the backend's buffers
	// took at once (GPU backends).
	PeakDeviceBytes int64      `json:"peak_device_bytes,omitempty"`
	Seconds         float64    `json:"seconds"` // wall time of the whole run
	Steps           []StepTime `json:"steps"`
	Warnings        []string   `json:"warnings,omitempty"`
	// Devices are the devices' shares of a run on several (RunDevices).
	Devices []DeviceUse `json:"devices,omitempty"`
}

// StepTime is the time of one step of the run. Passes over the data fuse
// several of the notebook's steps; Covers names them.
type StepTime struct {
	Name       string  `json:"name"`
	Covers     string  `json:"covers,omitempty"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"` // user + system time of the process
	Rows       int     `json:"rows,omitempty"`
	NNZ        int64   `json:"nnz,omitempty"`
	// Parts are the wall seconds of parts of the step, where it measures
	// them (on a GPU, device work waited for), for the floor analyses.
	Parts map[string]float64 `json:"parts,omitempty"`
}

// partTimer adds up the wall time of named parts of a step. On a backend
// whose work is asynchronous (a GPU) it waits for the device at the end of
// each part, so the time is the part's own.
type partTimer struct {
	b     backend.Backend
	parts map[string]float64
}

func newPartTimer(b backend.Backend) *partTimer {
	return &partTimer{b: b, parts: map[string]float64{}}
}

// syncer is implemented by backends whose operations may return before
// the device has done them.
type syncer interface{ Sync() error }

// time runs fn and adds its wall time, device work included, to part.
func (pt *partTimer) time(part string, fn func() error) error {
	t := time.Now()
	err := fn()
	if s, ok := pt.b.(syncer); ok && err == nil {
		err = s.Sync()
	}
	pt.parts[part] += time.Since(t).Seconds()
	return err
}

// stopwatch measures wall and CPU time of a step.
type stopwatch struct {
	wall time.Time
	cpu  time.Duration
}

func startWatch() stopwatch { return stopwatch{time.Now(), processCPU()} }

// processCPU is the process's CPU time so far, 0 where the system does
// not report it (the report's CPU seconds are then 0).
func processCPU() time.Duration {
	d, _ := cputime.Process()
	return d
}

func (s stopwatch) step(name, covers string) StepTime {
	return StepTime{
		Name:       name,
		Covers:     covers,
		Seconds:    time.Since(s.wall).Seconds(),
		CPUSeconds: (processCPU() - s.cpu).Seconds(),
	}
}

// PeakRSS returns the process's peak resident memory in bytes (VmHWM in
// /proc/self/status), or 0 where that is not available.
func PeakRSS() int64 { return procStatus("VmHWM:") }

// procStatus returns a "kB" field of /proc/self/status in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return kBField(b, field)
}

// kBField finds "field  1234 kB" in a /proc file and returns bytes.
func kBField(b []byte, field string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, field) {
			continue
		}
		f := strings.Fields(line[len(field):])
		if len(f) == 0 {
			return 0
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return v * 1024
	}
	return 0
}

// memAvailable returns MemAvailable from /proc/meminfo in bytes, 0 when
// unknown.
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return kBField(b, "MemAvailable:")
}

// WriteTable prints the per-step times like a notebook's %%time cells: one
// row per step with CPU and wall seconds, then the total and the sizes.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-28s %10s %10s  %s\n", "step", "wall s", "cpu s", "covers")
	var wall, cpu float64
	for _, s := range r.Steps {
		fmt.Fprintf(bw, "%-28s %10.3f %10.3f  %s\n", s.Name, s.Seconds, s.CPUSeconds, s.Covers)
		wall += s.Seconds
		cpu += s.CPUSeconds
	}
	fmt.Fprintf(bw, "%-28s %10.3f %10.3f\n", "total (steps)", wall, cpu)
	fmt.Fprintf(bw, "cells %d -> %d, genes %d -> %d, nnz %d -> %d, %s read, peak memory %s, backend %s (%s)\n",
		r.CellsIn, r.CellsOut, r.GenesIn, r.GenesOut, r.NNZIn, r.NNZOut,
		FormatBytes(r.BytesRead), FormatBytes(r.PeakRSS), r.Backend, r.Device)
	if r.PeakDeviceBytes > 0 {
		fmt.Fprintf(bw, "peak device memory %s (pass 1's chunks kept there: %v; the scaled HVG matrix: %v)\n",
			FormatBytes(r.PeakDeviceBytes), r.HeldOnDevice, r.ZOnDevice)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", m)
	}
	return bw.Flush()
}

// FormatBytes renders a byte count with a binary unit (e.g. "1.5 GiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
