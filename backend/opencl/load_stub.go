//go:build !(linux || freebsd || darwin) || nodlopen

package opencl

import (
	"errors"
	"sync"
)

// errNoDlopen is why OpenCL is never available in this build: other OSes,
// or the nodlopen build tag, which keeps purego out of the binary.
var errNoDlopen = errors.New("this build cannot load shared libraries (nodlopen tag or unsupported OS)")

var loadOnce = sync.OnceValue(func() *loaded { return &loaded{err: errNoDlopen} })
