package pipeline

import (
	"fmt"

	"github.com/scbench/scbench/anndata"
	"gonum.org/v1/gonum/blas/blas32"
)

// writeAnnotations writes obs, var, obsm, varm and uns of the output store
// (X went in during pass 2).
func (r *runner) writeAnnotations() error {
	res := r.res
	obs, err := r.in.obs()
	if err != nil {
		return fmt.Errorf("pipeline: reading obs of %s: %w", r.in.path(), err)
	}
	vr, err := r.in.vars()
	if err != nil {
		return fmt.Errorf("pipeline: reading var of %s: %w", r.in.path(), err)
	}

	// obs: the input's columns and the QC columns, for the output's cells.
	var cells []int
	if r.until >= StepFilter {
		cells = make([]int, 0, res.Obs.NKept)
		for i, k := range res.Obs.Keep {
			if k {
				cells = append(cells, i)
			}
		}
	}
	o := res.Obs
	obsOut, err := subsetFrame(obs, cells, r.nObs)
	if err != nil {
		return fmt.Errorf("pipeline: obs of %s: %w", r.in.path(), err)
	}
	setColumn(obsOut, "n_genes_by_counts", pick(o.NGenesByCounts, cells))
	setColumn(obsOut, "log1p_n_genes_by_counts", pick(o.Log1pNGenesByCounts(), cells))
	setColumn(obsOut, "total_counts", toFloat32(pick(o.TotalCounts, cells)))
	setColumn(obsOut, "log1p_total_counts", toFloat32(pick(o.Log1pTotalCounts(), cells)))

	// var: the input's columns, QC over all cells, and the HVG table, for
	// the output's genes.
	genes := res.HVGIndex
	if r.until < StepHVG {
		genes = nil
	}
	varOut, err := subsetFrame(vr, genes, r.nVar)
	if err != nil {
		return fmt.Errorf("pipeline: var of %s: %w", r.in.path(), err)
	}
	v := res.Var
	setColumn(varOut, "n_cells_by_counts", pick(v.NCellsByCounts, genes))
	setColumn(varOut, "mean_counts", toFloat32(pick(v.MeanCounts(), genes)))
	setColumn(varOut, "log1p_mean_counts", toFloat32(pick(v.Log1pMeanCounts(), genes)))
	setColumn(varOut, "pct_dropout_by_counts", pick(v.PctDropoutByCounts(), genes))
	setColumn(varOut, "total_counts", toFloat32(pick(v.TotalCounts, genes)))
	setColumn(varOut, "log1p_total_counts", toFloat32(pick(v.Log1pTotalCounts(), genes)))
	uns := map[string]any{
		"scbench": map[string]any{
			"min_genes":   int64(r.p.MinGenes),
			"max_genes":   int64(r.p.MaxGenes),
			"target_sum":  r.p.TargetSum,
			"n_top_genes": int64(r.p.NTopGenes),
			"n_comps":     int64(r.p.NComps),
			"until":       r.until.String(),
			"backend":     res.Report.Backend,
			"device":      res.Report.Device,
		},
	}
	if r.until >= StepNormalize {
		// scanpy stores {"base": None}; an absent base reads the same.
		uns["log1p"] = map[string]any{}
	}
	if h := res.HVG; h != nil {
		setColumn(varOut, "highly_variable", pick(h.HighlyVariable, genes))
		setColumn(varOut, "means", pick(h.Means, genes))
		setColumn(varOut, "dispersions", pick(h.Dispersions, genes))
		setColumn(varOut, "dispersions_norm", toFloat32(pick(h.DispersionsNorm, genes)))
		uns["hvg"] = map[string]any{"flavor": "cell_ranger"}
	}
	if res.ScaleStd != nil {
		setColumn(varOut, "mean", res.ScaleMean)
		setColumn(varOut, "std", res.ScaleStd)
	}
	if g := res.Graph; g != nil && g.Leiden != nil {
		setColumn(obsOut, "leiden", &anndata.Categorical{Codes: g.Leiden, Categories: leidenNames(g.LeidenInfo.Clusters)})
	}
	if err := r.w.SetObs(obsOut); err != nil {
		return fmt.Errorf("pipeline: writing obs: %w", err)
	}
	if err := r.w.SetVar(varOut); err != nil {
		return fmt.Errorf("pipeline: writing var: %w", err)
	}
	if pr := res.PCA; pr != nil {
		n, p, k := res.Obs.NKept, len(res.HVGIndex), pr.NComps
		if err := r.w.SetObsm("X_pca", blas32.General{Rows: n, Cols: k, Stride: k, Data: pr.Scores}); err != nil {
			return fmt.Errorf("pipeline: writing obsm X_pca: %w", err)
		}
		if err := r.w.SetVarm("PCs", blas32.General{Rows: p, Cols: k, Stride: k, Data: toFloat32(pr.Loadings)}); err != nil {
			return fmt.Errorf("pipeline: writing varm PCs: %w", err)
		}
		uns["pca"] = map[string]any{
			"variance":       pr.Variance,
			"variance_ratio": pr.VarianceRatio,
			"params":         map[string]any{"zero_center": true, "use_highly_variable": true},
		}
	}
	if err := r.writeGraph(uns); err != nil {
		return err
	}
	if err := r.w.SetUns(uns); err != nil {
		return fmt.Errorf("pipeline: writing uns: %w", err)
	}
	return nil
}

// subsetFrame returns the rows idx of f (all rows when idx is nil). A
// missing frame becomes one with a numbered index.
func subsetFrame(f *anndata.Frame, idx []int, n int) (*anndata.Frame, error) {
	if f == nil {
		f = &anndata.Frame{IndexName: "_index"}
	}
	index := f.Index
	if index == nil {
		index = make([]string, n)
		for i := range index {
			index[i] = fmt.Sprint(i)
		}
	}
	if len(index) != n {
		return nil, fmt.Errorf("the index has %d names for %d rows", len(index), n)
	}
	out := &anndata.Frame{IndexName: f.IndexName, Index: pick(index, idx)}
	for _, c := range f.Columns {
		v, err := pickColumn(c.Values, idx)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		out.Columns = append(out.Columns, anndata.Column{Name: c.Name, Values: v})
	}
	return out, nil
}

// pickColumn subsets a column's values.
func pickColumn(v any, idx []int) (any, error) {
	switch x := v.(type) {
	case []float32:
		return pick(x, idx), nil
	case []float64:
		return pick(x, idx), nil
	case []int32:
		return pick(x, idx), nil
	case []int64:
		return pick(x, idx), nil
	case []bool:
		return pick(x, idx), nil
	case []string:
		return pick(x, idx), nil
	case *anndata.Categorical:
		return &anndata.Categorical{Codes: pick(x.Codes, idx), Categories: x.Categories, Ordered: x.Ordered}, nil
	}
	return nil, fmt.Errorf("values of type %T are not supported", v)
}

// setColumn replaces the column named name or appends it.
func setColumn(f *anndata.Frame, name string, values any) {
	for i := range f.Columns {
		if f.Columns[i].Name == name {
			f.Columns[i].Values = values
			return
		}
	}
	f.Columns = append(f.Columns, anndata.Column{Name: name, Values: values})
}

// pick returns x[idx[0]], x[idx[1]], ...; all of x (not copied) when idx is nil.
func pick[T any](x []T, idx []int) []T {
	if idx == nil {
		return x
	}
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = x[i]
	}
	return out
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
