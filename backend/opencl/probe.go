package opencl

import (
	"fmt"
	"strings"

	"github.com/scbench/scbench/backend/gpu"
)

// Probe loads OpenCL (once per process) and lists every device of every
// platform. The report is Available when at least one device can run the
// kernels; otherwise Reason says why not.
func Probe() gpu.ProbeReport {
	r := gpu.ProbeReport{API: "opencl"}
	l := loadOnce()
	for _, at := range l.attempts {
		lib := gpu.Library{Name: "icd loader"}
		if at.err != nil {
			lib.Err = at.err.Error()
		} else {
			lib.Path = at.path
			lib.Version = l.api.loaderVersion
		}
		r.Libraries = append(r.Libraries, lib)
	}
	if l.err != nil {
		if len(r.Libraries) == 0 {
			r.Libraries = append(r.Libraries, gpu.Library{Name: "icd loader", Err: l.err.Error()})
		}
		r.Reason = "OpenCL not available: " + l.err.Error()
		return r
	}
	a := l.api
	ps, err := a.platforms()
	if err != nil {
		r.Reason = "OpenCL not available: " + err.Error()
		return r
	}
	if len(ps) == 0 {
		r.Reason = "OpenCL not available: the ICD loader found no platform (no vendor .icd file registered in /etc/OpenCL/vendors or $OCL_ICD_VENDORS)"
		return r
	}
	var why []string
	for pi, p := range ps {
		pname, err := a.platformString(p, clPlatformName)
		if err != nil {
			why = append(why, fmt.Sprintf("platform %d: %v", pi, err))
			continue
		}
		ds, err := a.devices(p)
		if err != nil {
			why = append(why, fmt.Sprintf("platform %d (%s): %v", pi, pname, err))
			continue
		}
		if len(ds) == 0 {
			why = append(why, fmt.Sprintf("platform %d (%s) has no device", pi, pname))
		}
		for di, d := range ds {
			info, err := describeDevice(a, d, di, pname)
			if err != nil {
				why = append(why, fmt.Sprintf("platform %d (%s) device %d: %v", pi, pname, di, err))
				continue
			}
			r.Devices = append(r.Devices, info)
			if err := usable(a, d); err != nil {
				why = append(why, fmt.Sprintf("%s: %v", deviceName(info), err))
				continue
			}
			r.Available = true
		}
	}
	if !r.Available {
		r.Reason = "OpenCL not available: " + strings.Join(why, "; ")
	}
	return r
}

// describeDevice queries what a DeviceInfo holds; index is the device's
// index within its platform.
func describeDevice(a *api, d uintptr, index int, platform string) (gpu.DeviceInfo, error) {
	info := gpu.DeviceInfo{Index: index, Platform: platform}
	var err error
	if info.Name, err = a.deviceString(d, clDeviceName); err != nil {
		return info, err
	}
	if info.Capability, err = a.deviceString(d, clDeviceVersion); err != nil {
		return info, err
	}
	if info.Driver, err = a.deviceString(d, clDriverVersion); err != nil {
		return info, err
	}
	mem, err := a.deviceUint(d, clDeviceGlobalMemSize, 8)
	if err != nil {
		return info, err
	}
	info.Memory = int64(mem)
	units, err := a.deviceUint(d, clDeviceMaxComputeUnits, 4)
	if err != nil {
		return info, err
	}
	info.Units = int(units)
	return info, nil
}

// deviceName is how a device is named: the device, then its platform,
// e.g. "NVIDIA H200 (NVIDIA CUDA)".
func deviceName(info gpu.DeviceInfo) string {
	return fmt.Sprintf("%s (%s)", info.Name, info.Platform)
}
