//go:build (linux || freebsd || darwin) && !nodlopen

package opencl

import "testing"

// TestLoad checks that an unloadable $SCBENCH_OPENCL_LIB is reported and
// the usual names are tried after it.
func TestLoad(t *testing.T) {
	t.Setenv(EnvLibrary, "/nonexistent/libOpenCL.so.1")
	l := loadAPI()
	if len(l.attempts) == 0 || l.attempts[0].path != "/nonexistent/libOpenCL.so.1" || l.attempts[0].err == nil {
		t.Fatalf("attempts %+v: want a failed first attempt at $%s", l.attempts, EnvLibrary)
	}
	if l.err != nil {
		noDevice(t, "no OpenCL library: "+l.err.Error())
	}
	if len(l.attempts) < 2 || l.attempts[len(l.attempts)-1].err != nil {
		t.Errorf("attempts %+v: want a successful fallback", l.attempts)
	}
}
