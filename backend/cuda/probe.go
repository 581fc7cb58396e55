package cuda

import (
	"fmt"

	"github.com/scbench/scbench/backend/gpu"
)

// Probe reports the CUDA libraries and devices of this machine. It loads
// the libraries (once per process) but creates no context.
func Probe() gpu.ProbeReport {
	drv, err := loadDriver()
	return probe(drv, err)
}

// probe builds the report from a driver load's outcome (drv may be set
// with an error: the library loaded but cuInit failed).
func probe(drv *driver, err error) gpu.ProbeReport {
	rep := gpu.ProbeReport{API: "cuda"}
	lib := gpu.Library{Name: "driver"}
	if drv != nil {
		lib.Path = drv.lib.path
		lib.Version = drv.driverString()
	}
	if err != nil {
		lib.Err = err.Error()
		rep.Libraries = append(rep.Libraries, lib)
		rep.Reason = "CUDA not available: " + err.Error()
		return rep
	}
	rep.Libraries = append(rep.Libraries, lib)

	nvLib := gpu.Library{Name: "nvrtc", Optional: true}
	nv, nvErr := loadNVRTC()
	if nvErr != nil {
		nvLib.Err = nvErr.Error()
	} else {
		nvLib.Path = nv.lib.path
		nvLib.Version = fmt.Sprintf("%s (architectures %v)", nv.version(), nv.archs)
	}
	ptxLib := gpu.Library{Name: "embedded ptx", Optional: true, Path: "(built in)", Version: ptxInfo(embeddedPTX)}
	if h := gpu.SourceHash(gpu.CUDA); h != embeddedHash() {
		ptxLib.Err = fmt.Sprintf("stale: generated from kernel source %.12s, the kernels are now %.12s", embeddedHash(), h)
	}
	blasLib := gpu.Library{Name: "cublas", Optional: true}
	if b, err := loadCUBLAS(); err != nil {
		blasLib.Err = err.Error()
	} else {
		blasLib.Path, blasLib.Version = b.lib.path, b.version
	}
	rep.Libraries = append(rep.Libraries, nvLib, ptxLib, blasLib)

	var count int32
	if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count)); err != nil {
		rep.Reason = "CUDA not available: " + err.Error()
		return rep
	}
	for i := range int(count) {
		info, err := drv.deviceInfo(i)
		if err != nil {
			rep.Reason = fmt.Sprintf("CUDA not available: device %d: %v", i, err)
			return rep
		}
		rep.Devices = append(rep.Devices, gpu.DeviceInfo{
			Index:      i,
			Name:       info.name,
			Memory:     info.memory,
			Capability: fmt.Sprintf("%d.%d", info.major, info.minor),
			Driver:     drv.driverString(),
			Units:      info.sms,
		})
	}
	if nvErr != nil && ptxLib.Err != "" {
		rep.Reason = "CUDA not available: no NVRTC to compile the kernels and the embedded PTX is " + ptxLib.Err
		return rep
	}
	if len(rep.Devices) == 0 {
		rep.Reason = "CUDA not available: the driver reports no devices"
		return rep
	}
	rep.Available = true
	return rep
}
