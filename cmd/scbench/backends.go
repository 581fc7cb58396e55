package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/backend/cuda"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/backend/opencl"
	"github.com/scbench/scbench/pipeline"
)

// The backend and device a command runs on are chosen here, for run and
// bench alike, in two steps: parseBackend checks the flags (a mistake there
// is a usage error), openBackend asks the GPU APIs what this machine has and
// opens the device (a failure there is the machine's, and says how to fix
// it).

// backendHelp is the --help paragraph on --backend and --device.
const backendHelp = `Backends (--backend) and devices (--device):

  auto     the default: CUDA when an NVIDIA driver and GPU are found, else an
           OpenCL GPU, else the CPU. It never picks an OpenCL CPU device
           (PoCL's): ask for it with --backend opencl.
  cuda     an NVIDIA GPU through the CUDA driver (libcuda.so.1) and NVRTC;
           --device N is the CUDA device index (CUDA_VISIBLE_DEVICES applies).
  opencl   an OpenCL device with fp64 and 64-bit atomics; --device P:D is
           device D of platform P, --device N the Nth device across all
           platforms. Without --device, the first GPU, else the first device.
  cpu      pure Go on the host's cores (--threads).

'scbench devices' lists the backends and devices this machine has, with the
indices --device takes, and why a backend is not available.`

// gpuAPI is what the CUDA and OpenCL packages give the commands: a probe of
// what is installed and a constructor. Tests substitute fakes.
type gpuAPI struct {
	cudaProbe   func() gpu.ProbeReport
	cudaNew     func(device int) (*gpu.Backend, error)
	openclProbe func() gpu.ProbeReport
	openclNew   func(platform, device int) (*gpu.Backend, error)
}

// systemAPI returns the real CUDA and OpenCL entry points.
func systemAPI() gpuAPI {
	return gpuAPI{cudaProbe: cuda.Probe, cudaNew: cuda.New, openclProbe: opencl.Probe, openclNew: opencl.New}
}

// backendNames are the --backend values.
var backendNames = []string{"auto", "cuda", "opencl", "cpu"}

// backendRequest is a parsed --backend and --device.
type backendRequest struct {
	name string    // one of backendNames
	dev  deviceArg // zero: the backend's default device
}

// deviceArg is a parsed --device: "N" or "P:D".
type deviceArg struct {
	set      bool
	index    int // N: a CUDA index, or the Nth OpenCL device across platforms
	platform int // P of "P:D"; -1 for "N"
	device   int // D of "P:D"
}

func (d deviceArg) String() string {
	switch {
	case !d.set:
		return "default"
	case d.platform >= 0:
		return fmt.Sprintf("%d:%d", d.platform, d.device)
	}
	return strconv.Itoa(d.index)
}

// parseDevice parses --device: "" (the default), "N" or "P:D".
func parseDevice(s string) (deviceArg, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return deviceArg{platform: -1}, nil
	}
	nonNeg := func(t string) (int, bool) {
		v, err := strconv.Atoi(t)
		return v, err == nil && v >= 0
	}
	if p, d, ok := strings.Cut(s, ":"); ok {
		pi, ok1 := nonNeg(p)
		di, ok2 := nonNeg(d)
		if !ok1 || !ok2 {
			return deviceArg{}, fmt.Errorf("--device %q: want N or P:D with non-negative integers (e.g. 0 or 1:0)", s)
		}
		return deviceArg{set: true, index: -1, platform: pi, device: di}, nil
	}
	v, ok := nonNeg(s)
	if !ok {
		return deviceArg{}, fmt.Errorf("--device %q: want N or P:D with non-negative integers (e.g. 0 or 1:0)", s)
	}
	return deviceArg{set: true, index: v, platform: -1}, nil
}

// parseBackend checks --backend and --device.
func parseBackend(name, device string) (backendRequest, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	known := false
	for _, n := range backendNames {
		known = known || n == name
	}
	if !known {
		return backendRequest{}, fmt.Errorf("--backend %q: unknown backend (want %s)", name, strings.Join(backendNames, ", "))
	}
	d, err := parseDevice(device)
	if err != nil {
		return backendRequest{}, err
	}
	switch {
	case d.set && name == "cpu":
		return backendRequest{}, fmt.Errorf("--device %s: the cpu backend has no devices (use --threads)", device)
	case d.platform >= 0 && name == "cuda":
		return backendRequest{}, fmt.Errorf("--device %s: CUDA devices are numbered 0, 1, ...; P:D is for OpenCL", device)
	}
	return backendRequest{name: name, dev: d}, nil
}

// parseBackendList parses bench's comma-separated --backend list. --device
// applies to the GPU backends of the list; the CPU has none.
func parseBackendList(list, device string) ([]backendRequest, error) {
	var reqs []backendRequest
	seen := map[string]bool{}
	names := strings.Split(list, ",")
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		dev := device
		if strings.EqualFold(n, "cpu") && len(names) > 1 {
			dev = ""
		}
		r, err := parseBackend(n, dev)
		if err != nil {
			return nil, err
		}
		if seen[r.name] {
			return nil, fmt.Errorf("--backend %s: %s is listed twice", list, r.name)
		}
		seen[r.name] = true
		reqs = append(reqs, r)
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("--backend %q: name at least one of %s", list, strings.Join(backendNames, ", "))
	}
	return reqs, nil
}

// chosen is an opened backend and how it was chosen.
type chosen struct {
	backend.Backend
	api     string           // "cpu", "cuda" or "opencl"
	label   string           // the device as --device names it ("0", "1:0"); "" for the CPU
	info    *gpu.DeviceInfo  // the GPU device; nil for the CPU
	probe   *gpu.ProbeReport // what the API's probe found; nil for the CPU
	skipped []string         // auto: why each GPU API was passed over
}

// describe is one line on the chosen device, for stderr.
func (c *chosen) describe() string {
	d := c.Device()
	if c.info == nil {
		return fmt.Sprintf("backend %s: %s", c.api, d.Name)
	}
	return fmt.Sprintf("backend %s, device %s: %s", c.api, c.label, describeDevice(*c.info))
}

// printChoice writes how the backend was chosen and which it is.
func (c *chosen) printChoice(w io.Writer) {
	for _, s := range c.skipped {
		fmt.Fprintf(w, "auto: %s\n", s)
	}
	fmt.Fprintln(w, c.describe())
}

// describeDevice renders a GPU device: name, memory, capability, driver.
func describeDevice(d gpu.DeviceInfo) string {
	var parts []string
	if d.Memory > 0 {
		parts = append(parts, pipeline.FormatBytes(d.Memory))
	}
	if d.Capability != "" {
		c := d.Capability
		if !strings.HasPrefix(c, "OpenCL") {
			c = "compute capability " + c
		}
		parts = append(parts, c)
	}
	if d.Units > 0 {
		parts = append(parts, fmt.Sprintf("%d units", d.Units))
	}
	if d.Driver != "" {
		parts = append(parts, "driver "+d.Driver)
	}
	s := d.Name
	if d.Platform != "" {
		s += " [" + d.Platform + "]"
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// errUnavailable marks a backend this machine cannot run.
var errUnavailable = errors.New("not available")

// openBackend opens the backend req asks for. threads is the CPU backend's
// worker count.
func openBackend(api gpuAPI, req backendRequest, threads int) (*chosen, error) {
	switch req.name {
	case "cpu":
		return &chosen{Backend: cpu.New(threads), api: "cpu"}, nil
	case "cuda":
		p := api.cudaProbe()
		return openCUDA(api, &p, req.dev)
	case "opencl":
		p := api.openclProbe()
		return openOpenCL(api, &p, req.dev, false)
	}
	// auto: CUDA, else an OpenCL GPU, else the CPU.
	var skipped []string
	cp := api.cudaProbe()
	if len(cp.Devices) > 0 && cp.Available {
		c, err := openCUDA(api, &cp, req.dev)
		if err == nil {
			return c, nil
		}
		if req.dev.set {
			return nil, err // an explicit device is not second-guessed
		}
		skipped = append(skipped, "cuda: "+strings.TrimPrefix(err.Error(), "--backend cuda: "))
	} else {
		skipped = append(skipped, "cuda: not available: "+unavailableReason(&cp))
	}
	op := api.openclProbe()
	c, err := openOpenCL(api, &op, req.dev, true)
	if err == nil {
		c.skipped = skipped
		return c, nil
	}
	if req.dev.set && op.Available {
		return nil, err
	}
	skipped = append(skipped, "opencl: "+strings.TrimPrefix(err.Error(), "--backend opencl: "))
	if req.dev.set {
		skipped = append(skipped, fmt.Sprintf("--device %s ignored: no GPU", req.dev))
	}
	return &chosen{Backend: cpu.New(threads), api: "cpu", skipped: skipped}, nil
}

// openCUDA opens a CUDA device (device 0 by default).
func openCUDA(api gpuAPI, p *gpu.ProbeReport, dev deviceArg) (*chosen, error) {
	if !p.Available || len(p.Devices) == 0 {
		return nil, fmt.Errorf("--backend cuda: %w: %s: %s", errUnavailable, unavailableReason(p), cudaFix(p))
	}
	idx := 0
	if dev.set {
		idx = dev.index
	}
	info, ok := cudaDevice(p, idx)
	if !ok {
		return nil, fmt.Errorf("--device %d: CUDA has %s (%s); 'scbench devices' lists them", idx, plural(len(p.Devices), "device"), indexRange(len(p.Devices)))
	}
	b, err := api.cudaNew(idx)
	if err != nil {
		return nil, fmt.Errorf("--backend cuda: opening device %d (%s): %w", idx, info.Name, err)
	}
	return &chosen{Backend: b, api: "cuda", label: strconv.Itoa(idx), info: &info, probe: p}, nil
}

// cudaDevice finds CUDA device idx in the probe's list.
func cudaDevice(p *gpu.ProbeReport, idx int) (gpu.DeviceInfo, bool) {
	for _, d := range p.Devices {
		if d.Index == idx {
			return d, true
		}
	}
	return gpu.DeviceInfo{}, false
}

// openclAddr is an OpenCL device's place: platform and device index within
// it, and its position across all platforms.
type openclAddr struct {
	platform, device, global int
	info                     gpu.DeviceInfo
}

func (a openclAddr) label() string { return fmt.Sprintf("%d:%d", a.platform, a.device) }

// openclAddrs numbers the probe's devices. The probe lists them platform by
// platform in the ICD loader's order; Index is the device's index within its
// platform. A platform's index is its rank among the platforms listed, so a
// platform with no devices at all (which the probe cannot list) before
// another would shift the numbers: --device P:D then still reaches the right
// device, as it goes to the API unchanged.
func openclAddrs(p *gpu.ProbeReport) []openclAddr {
	out := make([]openclAddr, len(p.Devices))
	plat, prev := -1, ""
	for i, d := range p.Devices {
		if i == 0 || d.Platform != prev {
			plat++
			prev = d.Platform
		}
		out[i] = openclAddr{platform: plat, device: d.Index, global: i, info: d}
	}
	return out
}

// openclCPU reports whether an OpenCL device is a CPU (PoCL's pthread or
// cpu driver, or a vendor's CPU runtime), which auto never picks.
// gpu.DeviceInfo carries no device type, so this goes by names.
func openclCPU(d gpu.DeviceInfo) bool {
	n, p := strings.ToLower(d.Name), strings.ToLower(d.Platform)
	for _, pre := range []string{"pthread", "cpu-", "cpu ", "basic"} {
		if strings.HasPrefix(n, pre) {
			return true
		}
	}
	if strings.Contains(p, "cpu") {
		return true
	}
	for _, cpuName := range []string{"xeon", "epyc", "ryzen", "core(tm)", "opteron", "threadripper"} {
		if strings.Contains(n, cpuName) {
			return true
		}
	}
	return false
}

// openOpenCL opens an OpenCL device: the one --device names, else the first
// GPU, else (unless gpuOnly, as for auto) the first device.
func openOpenCL(api gpuAPI, p *gpu.ProbeReport, dev deviceArg, gpuOnly bool) (*chosen, error) {
	if !p.Available || len(p.Devices) == 0 {
		return nil, fmt.Errorf("--backend opencl: %w: %s: %s", errUnavailable, unavailableReason(p), openclFix(p))
	}
	addrs := openclAddrs(p)
	var pick *openclAddr
	switch {
	case dev.set && dev.platform >= 0:
		for i := range addrs {
			if addrs[i].platform == dev.platform && addrs[i].device == dev.device {
				pick = &addrs[i]
			}
		}
		if pick == nil {
			// Not in the probe's numbering: let the API decide.
			pick = &openclAddr{platform: dev.platform, device: dev.device, global: -1,
				info: gpu.DeviceInfo{Index: dev.device, Name: fmt.Sprintf("platform %d device %d", dev.platform, dev.device)}}
		}
	case dev.set:
		if dev.index >= len(addrs) {
			return nil, fmt.Errorf("--device %d: OpenCL has %s across its platforms (%s); 'scbench devices' lists them",
				dev.index, plural(len(addrs), "device"), indexRange(len(addrs)))
		}
		pick = &addrs[dev.index]
	default:
		for i := range addrs {
			if !openclCPU(addrs[i].info) {
				pick = &addrs[i]
				break
			}
		}
		if pick == nil && gpuOnly {
			return nil, fmt.Errorf("only CPU devices (%s): auto does not pick them; --backend opencl does", addrs[0].info.Name)
		}
		if pick == nil {
			pick = &addrs[0]
		}
	}
	b, err := api.openclNew(pick.platform, pick.device)
	if err != nil {
		return nil, fmt.Errorf("--backend opencl: opening device %s (%s): %w", pick.label(), pick.info.Name, err)
	}
	info := pick.info
	return &chosen{Backend: b, api: "opencl", label: pick.label(), info: &info, probe: p}, nil
}

// unavailableReason is the probe's reason, or a generic one.
func unavailableReason(p *gpu.ProbeReport) string {
	switch {
	case p.Reason != "":
		// The caller says "not available" already.
		r := p.Reason
		for _, pre := range []string{"CUDA not available: ", "OpenCL not available: "} {
			r = strings.TrimPrefix(r, pre)
		}
		return r
	case len(p.Devices) == 0:
		return "no devices found"
	}
	return "unknown reason"
}

// missingLibrary returns the first required library the probe did not load.
func missingLibrary(p *gpu.ProbeReport) (gpu.Library, bool) {
	for _, l := range p.Libraries {
		if l.Path == "" && !l.Optional {
			return l, true
		}
	}
	return gpu.Library{}, false
}

// cudaFix says how to make CUDA available.
func cudaFix(p *gpu.ProbeReport) string {
	const alt = " or use --backend cpu"
	if l, ok := missingLibrary(p); ok {
		switch strings.ToLower(l.Name) {
		case "driver":
			return "install the NVIDIA driver" + alt
		case "nvrtc":
			return "install NVRTC (libnvrtc.so, in the CUDA toolkit or the nvidia-cuda-nvrtc package) or set LD_LIBRARY_PATH to its folder," + alt
		}
		return "install " + l.Name + alt
	}
	if len(p.Devices) == 0 {
		return "check that nvidia-smi lists a GPU and that CUDA_VISIBLE_DEVICES does not hide it," + alt
	}
	return "see 'scbench devices'," + alt
}

// openclFix says how to make OpenCL available.
func openclFix(p *gpu.ProbeReport) string {
	const alt = " or use --backend cpu"
	if l, ok := missingLibrary(p); ok && strings.Contains(strings.ToLower(l.Name), "loader") {
		return "install an OpenCL ICD loader (libOpenCL.so.1, e.g. the ocl-icd-libopencl1 package) and a driver" + alt
	}
	if len(p.Devices) == 0 {
		return "install an OpenCL driver and register it in /etc/OpenCL/vendors (or OCL_ICD_VENDORS): NVIDIA's is libnvidia-opencl.so.1, the CPU's pocl-opencl-icd," + alt
	}
	return "see 'scbench devices'," + alt
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func indexRange(n int) string {
	switch n {
	case 0:
		return "none"
	case 1:
		return "index 0"
	}
	return fmt.Sprintf("indices 0-%d", n-1)
}
