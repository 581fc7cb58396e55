package backendtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/sparse"
)

var kinds = []backend.Kind{backend.Float32, backend.Float64, backend.Int32, backend.Int64, backend.Uint8}

func testDevice(e *env) {
	d := e.be.Device()
	if d.Backend == "" || d.Name == "" {
		e.t.Errorf("Device() = %+v: Backend and Name must be set", d)
	}
	if d.Backend == "cpu" && d.Threads < 1 {
		e.t.Errorf("Device() = %+v: a CPU backend has at least one thread", d)
	}
}

// randSlice returns n random non-zero elements of kind k as a host slice.
func randSlice(rng *rand.Rand, k backend.Kind, n int) any {
	switch k {
	case backend.Float32:
		return to32(nonzero(randFloats(rng, n)))
	case backend.Float64:
		return nonzero(randFloats(rng, n))
	case backend.Int32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(rng.Uint32()) | 1
		}
		return s
	case backend.Int64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(rng.Uint64()) | 1
		}
		return s
	default:
		s := make([]uint8, n)
		for i := range s {
			s[i] = uint8(1 + rng.IntN(255))
		}
		return s
	}
}

func nonzero(x []float64) []float64 {
	for i := range x {
		if x[i] == 0 {
			x[i] = 1
		}
	}
	return x
}

// hostSlice returns a zeroed host slice of n elements of kind k.
func hostSlice(k backend.Kind, n int) any {
	switch k {
	case backend.Float32:
		return make([]float32, n)
	case backend.Float64:
		return make([]float64, n)
	case backend.Int32:
		return make([]int32, n)
	case backend.Int64:
		return make([]int64, n)
	default:
		return make([]uint8, n)
	}
}

// sub returns s[lo:hi] for a host slice of any kind.
func sub(s any, lo, hi int) any {
	switch s := s.(type) {
	case []float32:
		return s[lo:hi]
	case []float64:
		return s[lo:hi]
	case []int32:
		return s[lo:hi]
	case []int64:
		return s[lo:hi]
	case []uint8:
		return s[lo:hi]
	}
	panic(fmt.Sprintf("sub of %T", s))
}

// equalSlices reports whether two host slices have the same type and
// elements.
func equalSlices(a, b any) bool {
	switch a := a.(type) {
	case []float32:
		b, ok := b.([]float32)
		return ok && slices.Equal(a, b)
	case []float64:
		b, ok := b.([]float64)
		return ok && slices.Equal(a, b)
	case []int32:
		b, ok := b.([]int32)
		return ok && slices.Equal(a, b)
	case []int64:
		b, ok := b.([]int64)
		return ok && slices.Equal(a, b)
	case []uint8:
		b, ok := b.([]uint8)
		return ok && slices.Equal(a, b)
	}
	return false
}

// allZero reports whether every element of the host slice s is zero.
func allZero(s any) bool {
	switch s := s.(type) {
	case []float32:
		return !slices.ContainsFunc(s, func(x float32) bool { return x != 0 })
	case []float64:
		return !slices.ContainsFunc(s, func(x float64) bool { return x != 0 })
	case []int32:
		return !slices.ContainsFunc(s, func(x int32) bool { return x != 0 })
	case []int64:
		return !slices.ContainsFunc(s, func(x int64) bool { return x != 0 })
	case []uint8:
		return !slices.ContainsFunc(s, func(x uint8) bool { return x != 0 })
	}
	return false
}

func testAlloc(e *env) {
	for _, k := range kinds {
		for _, n := range []int{0, 1, 13, 1031, 1 << 17} {
			b := e.alloc(k, n)
			h := hostSlice(k, n)
			e.check(e.be.Read(h, b), "Read")
			if !allZero(h) {
				e.t.Errorf("Alloc(%v, %d) is not zeroed", k, n)
			}
			b.Free()
		}
	}
	if _, err := e.be.Alloc(backend.Float32, -1); err == nil {
		e.t.Errorf("Alloc of -1 elements succeeded")
	}
	if _, err := e.be.Alloc(backend.Kind(99), 3); err == nil {
		e.t.Errorf("Alloc of Kind(99) succeeded")
	}
}

func testWriteRead(e *env) {
	for _, k := range kinds {
		for _, n := range []int{0, 1, 7, 1031} {
			e.run(fmt.Sprintf("%v/%d", k, n), func(e *env) {
				b := e.alloc(k, n)
				src := randSlice(e.rng, k, n)
				e.check(e.be.Write(b, src), "Write")
				got := hostSlice(k, n)
				e.check(e.be.Read(got, b), "Read")
				if !equalSlices(got, src) {
					e.t.Fatalf("Read after Write: got %v, want %v", got, src)
				}
				// A shorter Write changes only the prefix; a shorter Read
				// reads only the prefix.
				m := n / 3
				src2 := randSlice(e.rng, k, m)
				e.check(e.be.Write(b, src2), "Write of a prefix")
				e.check(e.be.Read(got, b), "Read")
				want := mergePrefix(src, src2)
				if !equalSlices(got, want) {
					e.t.Errorf("after a Write of %d of %d elements: got %v, want %v", m, n, got, want)
				}
				e.check(e.be.Write(b, src), "Write")
				part := hostSlice(k, m)
				e.check(e.be.Read(part, b), "Read of a prefix")
				if !equalSlices(part, sub(src, 0, m)) {
					e.t.Errorf("Read of a %d-element prefix: got %v, want %v", m, part, sub(src, 0, m))
				}
				// Too long, and of the wrong element type.
				e.wantShape(e.be.Write(b, hostSlice(k, n+1)), "Write past the end")
				e.wantShape(e.be.Read(hostSlice(k, n+1), b), "Read past the end")
				other := kinds[(slices.Index(kinds, k)+1)%len(kinds)]
				e.wantShape(e.be.Write(b, hostSlice(other, n)), fmt.Sprintf("Write of %v into %v", other, k))
				e.wantShape(e.be.Read(hostSlice(other, n), b), fmt.Sprintf("Read of %v into %v", k, other))
				e.wantShape(e.be.Write(b, []string{}), "Write of a []string")
				b.Free()
			})
		}
	}
}

// mergePrefix returns a copy of full with its prefix replaced by prefix.
func mergePrefix(full, prefix any) any {
	switch f := full.(type) {
	case []float32:
		return append(slices.Clone(prefix.([]float32)), f[len(prefix.([]float32)):]...)
	case []float64:
		return append(slices.Clone(prefix.([]float64)), f[len(prefix.([]float64)):]...)
	case []int32:
		return append(slices.Clone(prefix.([]int32)), f[len(prefix.([]int32)):]...)
	case []int64:
		return append(slices.Clone(prefix.([]int64)), f[len(prefix.([]int64)):]...)
	case []uint8:
		return append(slices.Clone(prefix.([]uint8)), f[len(prefix.([]uint8)):]...)
	}
	panic("mergePrefix")
}

// testFree checks what can be checked through the interface: memory freed
// and allocated again comes back zeroed, freeing does not disturb live
// buffers, a freed buffer is refused, and a second Free is harmless.
func testFree(e *env) {
	for _, k := range kinds {
		const n = 4099
		live := e.buf(randSlice(e.rng, k, n))
		liveWant := hostSlice(k, n)
		e.check(e.be.Read(liveWant, live), "Read")
		for round := 0; round < 4; round++ {
			a := e.buf(randSlice(e.rng, k, n))
			a.Free()
			b := e.alloc(k, n)
			got := hostSlice(k, n)
			e.check(e.be.Read(got, b), "Read")
			if !allZero(got) {
				e.t.Fatalf("%v: a buffer allocated after freeing one of the same size is not zeroed", k)
			}
			e.check(e.be.Write(b, randSlice(e.rng, k, n)), "Write")
			b.Free()
		}
		got := hostSlice(k, n)
		e.check(e.be.Read(got, live), "Read")
		if !equalSlices(got, liveWant) {
			e.t.Errorf("%v: a live buffer changed while others were freed and allocated", k)
		}
		if err := e.be.Read(hostSlice(k, 1), live); err != nil {
			e.t.Fatalf("Read: %v", err)
		}
		live.Free()
		if err := e.be.Read(hostSlice(k, 1), live); err == nil {
			e.t.Errorf("%v: Read from a freed buffer succeeded", k)
		}
		if err := e.be.Write(live, hostSlice(k, 1)); err == nil {
			e.t.Errorf("%v: Write into a freed buffer succeeded", k)
		}
		live.Free() // a second Free does nothing
	}
	// An operation given a freed operand fails instead of touching it.
	m := e.upload(randCSR(e.rng, shape{rows: 7, cols: 13, density: 0.5, vals: counts}))
	m.Data.Free()
	if err := e.be.Log1p(m); err == nil {
		e.t.Errorf("Log1p of a matrix with freed Data succeeded")
	}
	m.Free()
	m.Free()
}

func testUploadDownload(e *env) {
	for _, s := range shapes {
		e.run(s.String(), func(e *env) {
			h := randCSR(e.rng, s)
			d := e.upload(h)
			e.sameCSR("Download(Upload(m))", e.download(d), h)
			if got := e.i64(d.Indptr); !slices.Equal(got, h.Indptr) {
				e.t.Errorf("Indptr buffer = %v, want %v", got, h.Indptr)
			}
			if got := e.i32(d.Indices); !slices.Equal(got, h.Indices) {
				e.t.Errorf("Indices buffer differs from the host matrix's")
			}
			if got := e.f32(d.Data); !slices.Equal(got, h.Data) {
				e.t.Errorf("Data buffer differs from the host matrix's")
			}
			d.Free()
		})
	}
	// A matrix assembled from buffers, not uploaded, downloads too.
	h := randCSR(e.rng, shape{rows: 97, cols: 13, density: 0.3, vals: reals})
	d := backend.CSR{Rows: h.Rows, Cols: h.Cols, NNZ: h.NNZ(), Indptr: e.buf(slices.Clone(h.Indptr)),
		Indices: e.buf(slices.Clone(h.Indices)), Data: e.buf(slices.Clone(h.Data))}
	e.sameCSR("Download of an assembled matrix", e.download(d), h)

	// A RowView (rebased row pointers, shared arrays) uploads like any matrix.
	big := randCSR(e.rng, shape{rows: 1031, cols: 301, density: 0.05, vals: counts})
	v := big.RowView(97, 1031-7)
	e.sameCSR("Download(Upload(RowView))", e.download(e.upload(v)), v.Clone())

	bad := []*sparse.CSR{
		{Rows: 2, Cols: 3, Indptr: []int64{0, 1}, Indices: []int32{0}, Data: []float32{1}},          // short Indptr
		{Rows: 1, Cols: 3, Indptr: []int64{0, 2}, Indices: []int32{0, 1}, Data: []float32{1}},       // Indices and Data disagree
		{Rows: 1, Cols: 3, Indptr: []int64{0, 1}, Indices: []int32{0, 1}, Data: []float32{1, 2}},    // Indptr ends early
		{Rows: 1, Cols: 3, Indptr: []int64{1, 2}, Indices: []int32{0, 1}, Data: []float32{1, 2}},    // Indptr starts past 0
		{Rows: -1, Cols: 3, Indptr: []int64{}, Indices: []int32{}, Data: []float32{}},               // negative rows
		{Rows: 1, Cols: -3, Indptr: []int64{0, 0}, Indices: []int32{}, Data: []float32{}},           // negative columns
		{Rows: 1, Cols: 3, Indptr: []int64{0, 3}, Indices: []int32{0, 1, 2}, Data: []float32{1, 2}}, // length mismatch
	}
	for i, m := range bad {
		if _, err := e.be.Upload(m); err == nil {
			e.t.Errorf("Upload of malformed matrix %d succeeded", i)
		} else if !errors.Is(err, backend.ErrShape) {
			e.t.Errorf("Upload of malformed matrix %d: %v does not wrap ErrShape", i, err)
		}
	}
}
