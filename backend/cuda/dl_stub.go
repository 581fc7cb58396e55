//go:build !linux || nodlopen

package cuda

import "errors"

// errNoDlopen is why this build has no CUDA: the backend loads libcuda at
// run time through purego, which this build leaves out (other OSes, or the
// nodlopen build tag).
var errNoDlopen = errors.New("this build cannot load shared libraries (not Linux, or built with the nodlopen tag)")

type library struct{ path string }

func openFirst(what string, paths []string) (*library, error) { return nil, errNoDlopen }

func (l *library) bind(fptr any, names ...string) error { return errNoDlopen }

func (l *library) has(name string) bool { return false }
