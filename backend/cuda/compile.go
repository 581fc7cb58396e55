package cuda

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"unsafe"

	"github.com/scbench/scbench/backend/gpu"
)

// The kernels as PTX for a baseline architecture, for machines with the
// driver but no NVRTC, and the gpu.SourceHash(gpu.CUDA) they were
// generated from (bench/gpu/genptx.sh regenerates both).
var (
	//go:embed ptx/kernels.ptx
	embeddedPTX []byte
	//go:embed ptx/kernels.sha256
	embeddedHashFile string
)

// embeddedHash is the source hash the embedded PTX was generated from.
func embeddedHash() string { return strings.TrimSpace(embeddedHashFile) }

// embeddedCode is PTX and the hash of the source it was compiled from.
type embeddedCode struct {
	ptx  []byte
	hash string
}

// ptxInfo describes PTX for messages: "PTX ISA 9.0, sm_75".
func ptxInfo(ptx []byte) string {
	v := regexp.MustCompile(`(?m)^\.version\s+(\S+)`).FindSubmatch(ptx)
	t := regexp.MustCompile(`(?m)^\.target\s+([^\s,]+)`).FindSubmatch(ptx)
	if v == nil || t == nil {
		return "not PTX"
	}
	return fmt.Sprintf("PTX ISA %s, %s", v[1], t[1])
}

// program is a loaded module. origin says where its code came from:
// "cache", "nvrtc" or "embedded".
type program struct {
	rt       *Runtime
	name     string
	module   uintptr
	origin   string
	released bool
}

// Kernel implements gpu.Program.
func (p *program) Kernel(name string) (gpu.Kernel, error) {
	if p.released {
		return nil, fmt.Errorf("cuda: kernel %s of %s: the program has been released", name, p.name)
	}
	if err := p.rt.enter(); err != nil {
		return nil, err
	}
	defer p.rt.exit()
	var fn uintptr
	if err := p.rt.drv.check("cuModuleGetFunction", p.rt.drv.cuModuleGetFunction(&fn, p.module, name)); err != nil {
		return nil, fmt.Errorf("cuda: kernel %s of %s: %w", name, p.name, err)
	}
	return &kernel{prog: p, name: name, fn: fn}, nil
}

// Release implements gpu.Program.
func (p *program) Release() {
	if p.released {
		return
	}
	p.released = true
	if p.rt.enter() != nil {
		return // closed: the context's release unloaded the module
	}
	defer p.rt.exit()
	p.rt.drv.cuModuleUnload(p.module)
}

// Compile implements gpu.Runtime. The code comes from the first of: the
// disk cache (compiled before for this source, device architecture and
// driver); NVRTC, whose output is then cached; the embedded PTX, when the
// source is the one it was generated from. A source that NVRTC rejects
// returns a *CompileError with the log.
func (r *Runtime) Compile(name, source string) (gpu.Program, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	defer r.exit()
	sum := sha256.Sum256([]byte(source))
	hash := hex.EncodeToString(sum[:])
	cc := r.Capability()
	key := fmt.Sprintf("%s-sm%d-drv%d", hash, cc, r.drv.version)
	prog := func(mod uintptr, origin string) *program {
		return &program{rt: r, name: name, module: mod, origin: origin}
	}

	if r.cacheDir != "" {
		for _, ext := range []string{".cubin", ".ptx"} {
			code, err := os.ReadFile(filepath.Join(r.cacheDir, key+ext))
			if err != nil {
				continue
			}
			// A cached file that does not load is compiled again
			// and replaced.
			if mod, err := r.load(code); err == nil {
				return prog(mod, "cache"), nil
			}
		}
	}

	var errs []error
	if r.noNVRTC {
		errs = append(errs, errors.New("NVRTC not used"))
	} else if nv, err := loadNVRTC(); err != nil {
		errs = append(errs, err)
	} else {
		code, ext, err := r.compileNVRTC(nv, name, source)
		var ce *CompileError
		switch {
		case errors.As(err, &ce):
			return nil, err // the source is wrong: no other code would be right
		case err != nil:
			errs = append(errs, fmt.Errorf("NVRTC %s: %w", nv.version(), err))
		default:
			mod, err := r.load(code)
			if err == nil {
				if r.cacheDir != "" {
					// Best effort: a read-only cache only costs
					// the next run a compile.
					_ = writeAtomic(filepath.Join(r.cacheDir, key+ext), code)
				}
				return prog(mod, "nvrtc"), nil
			}
			errs = append(errs, fmt.Errorf("loading the output of NVRTC %s: %w", nv.version(), err))
		}
	}

	switch {
	case hash == r.embedded.hash && len(r.embedded.ptx) > 0:
		mod, err := r.load(append(bytes.Clone(r.embedded.ptx), 0))
		if err == nil {
			return prog(mod, "embedded"), nil
		}
		var e *Error
		if errors.As(err, &e) && e.Code == errUnsupportedPTXVer {
			err = fmt.Errorf("%w: this driver (%s) is older than the CUDA that generated it", err, r.drv.driverString())
		}
		errs = append(errs, fmt.Errorf("loading the embedded PTX (%s): %w", ptxInfo(r.embedded.ptx), err))
	case hash == gpu.SourceHash(gpu.CUDA):
		errs = append(errs, fmt.Errorf("the embedded PTX is stale (generated from kernel source %.12s, the kernels are now %.12s): regenerate it with bench/gpu/genptx.sh", r.embedded.hash, hash))
	default:
		errs = append(errs, errors.New("no embedded PTX for this source"))
	}
	return nil, fmt.Errorf("cuda: compiling %s: %w", name, errors.Join(errs...))
}

// compileNVRTC compiles for the device: a CUBIN when NVRTC knows its
// architecture, else PTX. ext is the cache file's extension.
func (r *Runtime) compileNVRTC(nv *nvrtc, name, source string) (code []byte, ext string, err error) {
	opt, cubin, err := nv.target(r.Capability())
	if err != nil {
		return nil, "", err
	}
	code, err = nv.compile(name+".cu", source, cubin, opt)
	if err != nil {
		return nil, "", err
	}
	if cubin {
		return code, ".cubin", nil
	}
	return code, ".ptx", nil
}

// load loads a CUBIN or NUL-terminated PTX into the context, returning
// the JIT's log with the error. It runs between enter and exit.
func (r *Runtime) load(image []byte) (uintptr, error) {
	if len(image) == 0 {
		return 0, errors.New("empty module image")
	}
	logBuf := make([]byte, 16<<10)
	// The option values (Go memory handed to C) hold logBuf's address.
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&logBuf[0])
	opts := []int32{jitErrorLogBuffer, jitErrorLogBufBytes}
	vals := []uintptr{uintptr(unsafe.Pointer(&logBuf[0])), uintptr(len(logBuf))}
	var mod uintptr
	res := r.drv.cuModuleLoadDataEx(&mod, unsafe.Pointer(&image[0]), uint32(len(opts)), &opts[0], &vals[0])
	if err := r.drv.check("cuModuleLoadDataEx", res); err != nil {
		if i := bytes.IndexByte(logBuf, 0); i > 0 {
			return 0, fmt.Errorf("%w: %s", err, strings.TrimSpace(string(logBuf[:i])))
		}
		return 0, err
	}
	return mod, nil
}

// writeAtomic writes data to path through a temporary file in the same
// folder, so that a concurrent reader sees the old file or the whole new
// one.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
