package directio

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestClearDirect checks through /proc that clearDirect turns O_DIRECT
// off on an open file.
func TestClearDirect(t *testing.T) {
	f := openDirect(mustCreate(t))
	if f == nil {
		t.Skip("the test folder's file system refuses direct I/O")
	}
	defer f.Close()
	if !hasDirect(t, f) {
		t.Fatal("openDirect's file has no O_DIRECT")
	}
	if err := clearDirect(f); err != nil {
		t.Fatal(err)
	}
	if hasDirect(t, f) {
		t.Error("O_DIRECT still set after clearDirect")
	}
}

func mustCreate(t *testing.T) string {
	f, err := os.CreateTemp(t.TempDir(), "clear-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// hasDirect reads f's flags from /proc/self/fdinfo.
func hasDirect(t *testing.T, f *os.File) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", f.Fd()))
	if err != nil {
		t.Skipf("no fdinfo: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatalf("fdinfo flags %q: %v", v, err)
			}
			return flags&syscall.O_DIRECT != 0
		}
	}
	t.Fatal("no flags in fdinfo")
	return false
}
