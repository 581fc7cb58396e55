package gpu

import (
	"fmt"
	"unsafe"

	"github.com/scbench/scbench/backend"
)

// buffer is a backend.Buffer in device memory: one allocation.
type buffer struct {
	rt   Runtime
	be   *Backend // for the memory accounting; nil in tests that make buffers by hand
	mem  Mem
	kind backend.Kind
	n    int
}

func (b *buffer) Kind() backend.Kind { return b.kind }
func (b *buffer) Len() int           { return b.n }

func (b *buffer) Free() {
	if b.mem != nil {
		if b.be != nil {
			b.be.live.Add(-b.mem.Size())
		}
		b.rt.Free(b.mem)
		b.mem = nil
	}
}

// mem returns the allocation behind buf, checking that it belongs to this
// backend, is live, and has kind k and n elements (n < 0: any length).
func (be *Backend) memOf(name string, buf backend.Buffer, k backend.Kind, n int) (Mem, error) {
	g, ok := buf.(*buffer)
	if !ok || g == nil {
		return nil, fmt.Errorf("%w: %s is not a buffer of this %s backend", backend.ErrShape, name, be.rt.Dialect())
	}
	if g.rt != be.rt {
		return nil, fmt.Errorf("%w: %s belongs to another device", backend.ErrShape, name)
	}
	if g.mem == nil {
		return nil, fmt.Errorf("%s has been freed", name)
	}
	if n < 0 {
		n = g.n
	}
	if err := backend.Check(name, buf, k, n); err != nil {
		return nil, err
	}
	return g.mem, nil
}

// hostBytes returns the bytes of a host slice of one of the buffer kinds,
// its kind and length.
func hostBytes(s any) ([]byte, backend.Kind, int, error) {
	switch v := s.(type) {
	case []float32:
		return asBytes(v), backend.Float32, len(v), nil
	case []float64:
		return asBytes(v), backend.Float64, len(v), nil
	case []int32:
		return asBytes(v), backend.Int32, len(v), nil
	case []int64:
		return asBytes(v), backend.Int64, len(v), nil
	case []uint8:
		return v, backend.Uint8, len(v), nil
	}
	return nil, 0, 0, fmt.Errorf("%w: host slice of type %T", backend.ErrShape, s)
}

func asBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}
