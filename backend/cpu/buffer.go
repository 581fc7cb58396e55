package cpu

import (
	"errors"
	"fmt"

	"github.com/scbench/scbench/backend"
)

// Elem is the set of element types a Buffer can hold, one per backend.Kind.
type Elem interface {
	float32 | float64 | int32 | int64 | uint8
}

// buffer is the CPU Buffer: a Go slice and whether it was freed.
type buffer[T Elem] struct {
	s     []T
	freed bool
}

func kindOf[T Elem]() backend.Kind {
	var z T
	switch any(z).(type) {
	case float32:
		return backend.Float32
	case float64:
		return backend.Float64
	case int32:
		return backend.Int32
	case int64:
		return backend.Int64
	}
	return backend.Uint8
}

func (b *buffer[T]) Kind() backend.Kind { return kindOf[T]() }
func (b *buffer[T]) Len() int           { return len(b.s) }

// Free drops the slice so the garbage collector can take it back (unless the
// caller still holds it, as after Upload or Wrap). Freeing twice does nothing.
func (b *buffer[T]) Free() {
	b.s = nil
	b.freed = true
}

// Wrap returns a Buffer holding s itself (no copy). Operations on the buffer
// read and write s; Free only forgets it.
func Wrap[T Elem](s []T) backend.Buffer {
	return &buffer[T]{s: s}
}

// Slice returns the slice that the CPU buffer b holds (no copy), so that
// host code can read or fill a buffer in place. It panics if b is not a live
// CPU buffer of element type T: that is a programming error, like an
// out-of-range index.
func Slice[T Elem](b backend.Buffer) []T {
	s, err := slice[T]("buffer", b, -1)
	if err != nil {
		panic("cpu.Slice: " + err.Error())
	}
	return s
}

// ErrFreed is wrapped by errors about buffers used after Free.
var ErrFreed = errors.New("buffer used after Free")

// ErrForeign is wrapped by errors about buffers that another backend made.
var ErrForeign = errors.New("buffer does not belong to the cpu backend")

// slice returns b's slice after checking that b is a live CPU buffer of
// element type T with n elements (any length when n < 0). name identifies
// the operand in the error.
func slice[T Elem](name string, b backend.Buffer, n int) ([]T, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: %s is nil", backend.ErrShape, name)
	}
	cb, ok := b.(*buffer[T])
	if !ok {
		if isCPU(b) {
			return nil, fmt.Errorf("%w: %s is %s, want %s", backend.ErrShape, name, b.Kind(), kindOf[T]())
		}
		return nil, fmt.Errorf("cpu: %s: %w (it is a %T)", name, ErrForeign, b)
	}
	if cb.freed {
		return nil, fmt.Errorf("cpu: %s: %w", name, ErrFreed)
	}
	if n >= 0 && len(cb.s) != n {
		return nil, fmt.Errorf("%w: %s has %d elements, want %d", backend.ErrShape, name, len(cb.s), n)
	}
	return cb.s, nil
}

// optSlice is slice for an operand that may be nil (returned as nil).
func optSlice[T Elem](name string, b backend.Buffer, n int) ([]T, error) {
	if b == nil {
		return nil, nil
	}
	return slice[T](name, b, n)
}

func isCPU(b backend.Buffer) bool {
	switch b.(type) {
	case *buffer[float32], *buffer[float64], *buffer[int32], *buffer[int64], *buffer[uint8]:
		return true
	}
	return false
}

// Alloc returns a zeroed buffer of n elements of kind k.
func (b *Backend) Alloc(k backend.Kind, n int) (backend.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: cpu: Alloc of %d elements", backend.ErrShape, n)
	}
	switch k {
	case backend.Float32:
		return Wrap(make([]float32, n)), nil
	case backend.Float64:
		return Wrap(make([]float64, n)), nil
	case backend.Int32:
		return Wrap(make([]int32, n)), nil
	case backend.Int64:
		return Wrap(make([]int64, n)), nil
	case backend.Uint8:
		return Wrap(make([]uint8, n)), nil
	}
	return nil, fmt.Errorf("%w: cpu: Alloc of unknown kind %v", backend.ErrShape, k)
}

// Write copies the host slice src into dst, from element 0.
func (b *Backend) Write(dst backend.Buffer, src any) error {
	switch s := src.(type) {
	case []float32:
		return write("Write", dst, s)
	case []float64:
		return write("Write", dst, s)
	case []int32:
		return write("Write", dst, s)
	case []int64:
		return write("Write", dst, s)
	case []uint8:
		return write("Write", dst, s)
	}
	return fmt.Errorf("%w: cpu: Write from a %T, want a slice of float32, float64, int32, int64 or uint8", backend.ErrShape, src)
}

func write[T Elem](op string, dst backend.Buffer, src []T) error {
	d, err := slice[T]("destination", dst, -1)
	if err != nil {
		return fmt.Errorf("cpu: %s: %w", op, err)
	}
	if len(src) > len(d) {
		return fmt.Errorf("%w: cpu: %s of %d elements into a buffer of %d", backend.ErrShape, op, len(src), len(d))
	}
	copy(d, src)
	return nil
}

// Read copies src's first len(host) elements into the host slice host.
func (b *Backend) Read(host any, src backend.Buffer) error {
	switch h := host.(type) {
	case []float32:
		return read(h, src)
	case []float64:
		return read(h, src)
	case []int32:
		return read(h, src)
	case []int64:
		return read(h, src)
	case []uint8:
		return read(h, src)
	}
	return fmt.Errorf("%w: cpu: Read into a %T, want a slice of float32, float64, int32, int64 or uint8", backend.ErrShape, host)
}

func read[T Elem](host []T, src backend.Buffer) error {
	s, err := slice[T]("source", src, -1)
	if err != nil {
		return fmt.Errorf("cpu: Read: %w", err)
	}
	if len(host) > len(s) {
		return fmt.Errorf("%w: cpu: Read of %d elements from a buffer of %d", backend.ErrShape, len(host), len(s))
	}
	copy(host, s)
	return nil
}
