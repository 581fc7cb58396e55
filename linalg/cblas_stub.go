//go:build !(linux || darwin || freebsd) || nodlopen

package linalg

import "errors"

// errNoDlopen is returned by Load where this build cannot load shared
// libraries (other OSes, or the nodlopen build tag, which also keeps
// purego, and with it the dynamic loader, out of the binary).
var errNoDlopen = errors.New("linalg: this build cannot load a CBLAS library (nodlopen tag or unsupported OS); use the Go engine")

func searchCBLAS(int) (BLAS, error) { return nil, errNoDlopen }

func openCBLAS(string, int, bool) (BLAS, error) { return nil, errNoDlopen }
