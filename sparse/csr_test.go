package sparse

import (
	"errors"
	"testing"
)

func example() *CSR {
	// [1 0 2]
	// [0 0 0]
	// [0 3 0]
	// [4 0 5]
	return &CSR{
		Rows: 4, Cols: 3,
		Indptr:  []int64{0, 2, 2, 3, 5},
		Indices: []int32{0, 2, 1, 0, 2},
		Data:    []float32{1, 2, 3, 4, 5},
	}
}

func TestRowView(t *testing.T) {
	m := example()
	v := m.RowView(1, 4)
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	if v.Rows != 3 || v.NNZ() != 3 {
		t.Fatalf("view is %d rows with %d values, want 3 and 3", v.Rows, v.NNZ())
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if got, want := v.At(i, j), m.At(i+1, j); got != want {
				t.Errorf("view(%d,%d) = %v, want %v", i, j, got, want)
			}
		}
	}
	if e := m.RowView(2, 2); e.Rows != 0 || e.NNZ() != 0 || e.Validate() != nil {
		t.Errorf("empty view: %+v", e)
	}
}

func TestValidate(t *testing.T) {
	if err := example().Validate(); err != nil {
		t.Fatalf("valid matrix: %v", err)
	}
	cases := map[string]func(m *CSR){
		"decreasing":   func(m *CSR) { m.Indptr[2] = 1; m.Indptr[1] = 2 },
		"end":          func(m *CSR) { m.Indptr[4] = 4 },
		"start":        func(m *CSR) { m.Indptr[0] = 1 },
		"column high":  func(m *CSR) { m.Indices[3] = 3 },
		"column low":   func(m *CSR) { m.Indices[0] = -1 },
		"short indptr": func(m *CSR) { m.Indptr = m.Indptr[:4] },
		"lengths":      func(m *CSR) { m.Indices = m.Indices[:4] },
	}
	for name, breakIt := range cases {
		m := example()
		breakIt(m)
		err := m.Validate()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid", name, err)
		}
	}
}
