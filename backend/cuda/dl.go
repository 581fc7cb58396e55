//go:build linux && !nodlopen

package cuda

import (
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// library is one dlopen'ed shared library. It is never closed: the CUDA
// libraries keep process-wide state (contexts, threads) for their lifetime.
type library struct {
	path string
	h    uintptr
}

// openFirst loads the first of paths that dlopen accepts.
func openFirst(what string, paths []string) (*library, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no %s library to try", what)
	}
	// The message quotes the first error, or the errors of files that
	// exist but do not load (a missing dependency, a wrong architecture).
	var first string
	var other []string
	for _, p := range paths {
		h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			return &library{path: p, h: h}, nil
		}
		if first == "" {
			first = err.Error()
		}
		if !strings.Contains(err.Error(), "No such file") {
			other = append(other, err.Error())
		}
	}
	if len(other) == 0 {
		other = []string{first}
	}
	tried := paths[0]
	if len(paths) > 1 {
		tried = fmt.Sprintf("%s and %d more", paths[0], len(paths)-1)
	}
	return nil, fmt.Errorf("cannot load the %s library (tried %s): %s", what, tried, strings.Join(other, "; "))
}

// bind points *fptr (a func variable) at the first of names that the
// library exports.
func (l *library) bind(fptr any, names ...string) error {
	for _, n := range names {
		if sym, err := purego.Dlsym(l.h, n); err == nil {
			purego.RegisterFunc(fptr, sym)
			return nil
		}
	}
	return fmt.Errorf("%s lacks %s", l.path, strings.Join(names, " and "))
}

// has reports whether the library exports name.
func (l *library) has(name string) bool {
	_, err := purego.Dlsym(l.h, name)
	return err == nil
}
