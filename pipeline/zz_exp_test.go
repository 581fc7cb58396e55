package pipeline

import (
	"context"
	"os"
	"testing"
	"unsafe"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/sparse"
)

// TestZZDump dumps the covariance (upper triangle made full) of a store, for experiments.
func TestZZDump(t *testing.T) {
	in, out := os.Getenv("ZZ_IN"), os.Getenv("ZZ_OUT")
	if in == "" {
		t.Skip("no ZZ_IN")
	}
	f, err := anndata.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	if os.Getenv("ZZ_BRAIN") != "" {
		p.MinGenes, p.NTopGenes, p.NComps = 20, 300, 50
	}
	b := cpu.New(0)
	nObs, nVar, _ := f.NObs, f.NVar, f.NNZ
	r := &runner{ctx: context.Background(), b: b, in: fileSource{f}, nObs: nObs, nVar: nVar, p: p, until: StepPCA, res: &Result{}}
	if err := r.pass1(); err != nil {
		t.Fatal(err)
	}
	if err := r.selectGenes(); err != nil {
		t.Fatal(err)
	}
	g := r.res.Genes
	variance := make([]float64, len(r.res.HVGIndex))
	for k, j := range r.res.HVGIndex {
		variance[k] = g.Variance[j]
	}
	r.res.ScaleStd = ScaleStd(variance)
	if err := r.pass2(); err != nil {
		t.Fatal(err)
	}
	d := r.gram.Rows
	gram := cpu.Slice[float64](r.gram.Data)
	n := r.res.Obs.NKept
	alpha, beta := covarianceUpdate(n)
	mu := r.z.Mean
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			x := beta*gram[i*d+j] + alpha*mu[i]*mu[j]
			gram[i*d+j], gram[j*d+i] = x, x
		}
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(out+name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".cov", unsafe.Slice((*byte)(unsafe.Pointer(&gram[0])), len(gram)*8))
	write(".mu", unsafe.Slice((*byte)(unsafe.Pointer(&mu[0])), len(mu)*8))
	// Z as CSR, concatenated
	var ptr []int64
	var idx []int32
	var val []float32
	ptr = append(ptr, 0)
	r.cache.Each(func(m *sparse.CSR) error {
		base := ptr[len(ptr)-1]
		for _, x := range m.Indptr[1:] {
			ptr = append(ptr, base+x)
		}
		idx = append(idx, m.Indices...)
		val = append(val, m.Data...)
		return nil
	})
	write(".ptr", unsafe.Slice((*byte)(unsafe.Pointer(&ptr[0])), len(ptr)*8))
	write(".idx", unsafe.Slice((*byte)(unsafe.Pointer(&idx[0])), len(idx)*4))
	write(".val", unsafe.Slice((*byte)(unsafe.Pointer(&val[0])), len(val)*4))
	t.Logf("d %d n %d nnz %d", d, n, len(val))
}
