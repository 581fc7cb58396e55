package gpu

// ProbeReport is what a GPU API's loader found on this machine, for
// `scbench devices`: the libraries it looked for, and the devices.
type ProbeReport struct {
	API       string    // "cuda" or "opencl"
	Available bool      // at least one device can run the backend
	Reason    string    // why not, when not available
	Libraries []Library // each library looked for, found or not
	Devices   []DeviceInfo
}

// Library is one shared library a runtime loads (or would load).
type Library struct {
	Name     string // what it is for, e.g. "driver", "nvrtc", "cublas", "icd loader"
	Path     string // the file that was loaded, "" when none was
	Version  string // as the library reports it, when it does
	Optional bool   // the backend works without it (with its own kernels)
	Err      string // why it was not loaded
}

// DeviceInfo describes one device.
type DeviceInfo struct {
	Index      int    // the index --device takes
	Platform   string // OpenCL platform name ("" for CUDA)
	Name       string
	Memory     int64  // bytes of device memory
	Capability string // CUDA compute capability ("9.0") or OpenCL version ("OpenCL 3.0 CUDA")
	Driver     string // driver version
	Units      int    // multiprocessors or compute units
}
