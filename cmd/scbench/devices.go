package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/pipeline"
)

func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("devices", "[--json]",
		`Lists the compute backends this machine has and their devices: for each
device its name, memory, CUDA compute capability or OpenCL version, and driver,
with the index that 'scbench run --device' takes. For CUDA and OpenCL it also
lists the libraries it looked for (CUDA: the driver, NVRTC, cuBLAS) and where
it found them, and for a backend that is not available, why. The last line says
what --backend auto would pick.

It always exits 0, GPU or not. With --json it prints one JSON object (keys
backends, auto), for scripts.

`+backendHelp, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected arguments %q", fs.Args())
	}
	api := systemAPI()
	rep := collectDevices(api.cudaProbe(), api.openclProbe())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	printDevices(stdout, rep)
	return nil
}

// devicesReport is the JSON of 'scbench devices --json'.
type devicesReport struct {
	Backends []backendJSON `json:"backends"`
	// Auto is what --backend auto would pick, as "cuda 0", "opencl 0:0" or
	// "cpu" (it may still fall back if opening the device fails).
	Auto string `json:"auto"`
}

// backendJSON describes one backend.
type backendJSON struct {
	Name      string        `json:"name"`
	Available bool          `json:"available"`
	Reason    string        `json:"reason,omitempty"`
	Libraries []libraryJSON `json:"libraries,omitempty"`
	Devices   []deviceJSON  `json:"devices"`
}

type libraryJSON struct {
	Name     string `json:"name"`
	Path     string `json:"path,omitempty"`
	Version  string `json:"version,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	Error    string `json:"error,omitempty"`
}

type deviceJSON struct {
	// Device is what --device takes: "0" for CUDA, "P:D" for OpenCL.
	Device     string `json:"device,omitempty"`
	Index      int    `json:"index"` // OpenCL: the N of --device N
	Platform   string `json:"platform,omitempty"`
	Name       string `json:"name"`
	Memory     int64  `json:"memory_bytes,omitempty"`
	Capability string `json:"capability,omitempty"` // CUDA compute capability or OpenCL version
	Driver     string `json:"driver,omitempty"`
	Units      int    `json:"units,omitempty"`
	CPU        bool   `json:"cpu,omitempty"` // an OpenCL CPU device, which auto skips
	Threads    int    `json:"threads,omitempty"`
}

func librariesJSON(ls []gpu.Library) []libraryJSON {
	out := make([]libraryJSON, len(ls))
	for i, l := range ls {
		out[i] = libraryJSON{Name: l.Name, Path: l.Path, Version: l.Version, Optional: l.Optional, Error: l.Err}
	}
	return out
}

func deviceInfoJSON(label string, index int, d gpu.DeviceInfo) deviceJSON {
	return deviceJSON{Device: label, Index: index, Platform: d.Platform, Name: d.Name, Memory: d.Memory,
		Capability: d.Capability, Driver: d.Driver, Units: d.Units}
}

// collectDevices turns the probes into the report.
func collectDevices(cp, op gpu.ProbeReport) devicesReport {
	dev := cpu.New(0).Device()
	rep := devicesReport{Backends: []backendJSON{{
		Name: "cpu", Available: true,
		Devices: []deviceJSON{{Name: dev.Name, Driver: dev.Driver, Memory: hostMemory(), Units: runtime.NumCPU(), Threads: dev.Threads}},
	}}}

	cb := backendJSON{Name: "cuda", Available: cp.Available && len(cp.Devices) > 0, Libraries: librariesJSON(cp.Libraries), Devices: []deviceJSON{}}
	for _, d := range cp.Devices {
		cb.Devices = append(cb.Devices, deviceInfoJSON(fmt.Sprint(d.Index), d.Index, d))
	}
	if !cb.Available {
		cb.Reason = unavailableReason(&cp) + ": " + cudaFix(&cp)
	}
	ob := backendJSON{Name: "opencl", Available: op.Available && len(op.Devices) > 0, Libraries: librariesJSON(op.Libraries), Devices: []deviceJSON{}}
	openclGPU := ""
	for _, a := range openclAddrs(&op) {
		dj := deviceInfoJSON(a.label(), a.global, a.info)
		dj.CPU = openclCPU(a.info)
		if !dj.CPU && openclGPU == "" {
			openclGPU = a.label()
		}
		ob.Devices = append(ob.Devices, dj)
	}
	if !ob.Available {
		ob.Reason = unavailableReason(&op) + ": " + openclFix(&op)
	}
	rep.Backends = append(rep.Backends, cb, ob)

	switch {
	case cb.Available:
		rep.Auto = "cuda " + cb.Devices[0].Device
	case ob.Available && openclGPU != "":
		rep.Auto = "opencl " + openclGPU
	default:
		rep.Auto = "cpu"
	}
	return rep
}

// printDevices prints the report for people.
func printDevices(w io.Writer, rep devicesReport) {
	for _, b := range rep.Backends {
		if !b.Available {
			fmt.Fprintf(w, "%s: not available: %s\n", b.Name, b.Reason)
		} else {
			fmt.Fprintf(w, "%s: available, %s\n", b.Name, plural(len(b.Devices), "device"))
		}
		for _, l := range b.Libraries {
			switch {
			case l.Path != "":
				v := ""
				if l.Version != "" {
					v = " (" + l.Version + ")"
				}
				fmt.Fprintf(w, "  library %-10s %s%s\n", l.Name, l.Path, v)
			default:
				opt := ""
				if l.Optional {
					opt = " (optional)"
				}
				fmt.Fprintf(w, "  library %-10s not found%s: %s\n", l.Name, opt, l.Error)
			}
		}
		for _, d := range b.Devices {
			fmt.Fprintf(w, "  %s\n", deviceLine(b.Name, d))
		}
	}
	fmt.Fprintf(w, "auto: %s\n", rep.Auto)
}

// deviceLine is one device of printDevices.
func deviceLine(api string, d deviceJSON) string {
	var parts []string
	if d.Memory > 0 {
		mem := pipeline.FormatBytes(d.Memory)
		if api == "cpu" {
			mem += " host memory"
		}
		parts = append(parts, mem)
	}
	switch {
	case d.Capability == "":
	case api == "cuda":
		parts = append(parts, "compute capability "+d.Capability)
	default:
		parts = append(parts, d.Capability)
	}
	if d.Units > 0 && api != "cpu" {
		parts = append(parts, plural(d.Units, "compute unit"))
	}
	if d.Driver != "" {
		parts = append(parts, "driver "+d.Driver)
	}
	if d.Threads > 0 {
		parts = append(parts, fmt.Sprintf("%d threads", d.Threads))
	}
	name := d.Name
	if d.Platform != "" {
		name += " [" + d.Platform + "]"
	}
	var where string
	switch api {
	case "cuda":
		where = "device " + d.Device + ": "
	case "opencl":
		where = fmt.Sprintf("device %s (or %d): ", d.Device, d.Index)
	}
	s := where + name
	if len(parts) > 0 {
		s += ", " + strings.Join(parts, ", ")
	}
	if d.CPU {
		s += " (a CPU device: auto skips it)"
	}
	return s
}
