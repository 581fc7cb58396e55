package main

import (
	"fmt"
	"strings"
)

// devicesHelp is the --help text of --devices.
const devicesHelp = "GPU `devices` to spread the preprocessing over: all (every device of the chosen backend: every CUDA device, or every GPU of the chosen OpenCL device's platform) or a comma-separated list as --device takes them (e.g. 0,1); default all, or only --device when it is given"

// parseDeviceList parses --devices: nil for "all" (or ""), else the
// devices named, the first of which is opened first.
func parseDeviceList(s string) ([]deviceArg, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil, nil
	}
	var out []deviceArg
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		d, err := parseDevice(part)
		if err != nil || !d.set {
			return nil, fmt.Errorf("--devices %q: want all or a list such as 0,1 (or 0:0,0:1 for OpenCL)", s)
		}
		if seen[d.String()] {
			return nil, fmt.Errorf("--devices %q: device %s is listed twice", s, d)
		}
		seen[d.String()] = true
		out = append(out, d)
	}
	return out, nil
}

// openMoreDevices opens the devices beyond first that --devices asks for:
// list as parseDeviceList returned it (nil: all of first's kind), or none
// when only is set (--device given without --devices) or the backend is
// the CPU's. The caller closes them.
func openMoreDevices(api gpuAPI, first *chosen, list []deviceArg, only bool) ([]*chosen, error) {
	if first.probe == nil || (only && list == nil) {
		return nil, nil
	}
	var want []deviceArg
	switch {
	case list != nil:
		want = list[1:]
	case first.api == "cuda":
		for _, d := range first.probe.Devices {
			if label := fmt.Sprint(d.Index); label != first.label {
				want = append(want, deviceArg{set: true, index: d.Index, platform: -1})
			}
		}
	case first.api == "opencl":
		if first.info != nil && openclCPU(*first.info) {
			return nil, nil // a CPU device is the whole CPU already
		}
		plat, _, _ := strings.Cut(first.label, ":")
		for _, a := range openclAddrs(first.probe) {
			if fmt.Sprint(a.platform) == plat && a.label() != first.label && !openclCPU(a.info) {
				want = append(want, deviceArg{set: true, index: -1, platform: a.platform, device: a.device})
			}
		}
	}
	var out []*chosen
	for _, d := range want {
		var c *chosen
		var err error
		switch first.api {
		case "cuda":
			if d.platform >= 0 {
				err = fmt.Errorf("--devices: %s: CUDA devices are numbered 0, 1 and so on", d)
			} else {
				c, err = openCUDA(api, first.probe, d)
			}
		case "opencl":
			c, err = openOpenCL(api, first.probe, d, false)
		}
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
