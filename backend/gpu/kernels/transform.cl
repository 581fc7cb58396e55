// Element-wise transforms of a CSR matrix's values, in place. Products are
// formed in float64 and rounded to float32, as the CPU backend does, so the
// two agree bit for bit.

// scale_rows: data[k] *= f[row(k)], one work-item per row.
KERNEL scale_rows(const i32 rows, GLOBAL const i64 *RESTRICT indptr,
                  GLOBAL f32 *RESTRICT data, GLOBAL const f64 *RESTRICT f) {
	i64 i = GID(0);
	if (i >= rows) return;
	f64 s = f[i];
	for (i64 k = indptr[i]; k < indptr[i + 1]; k++) data[k] = (f32)((f64)data[k] * s);
}

// scale_cols: data[k] *= f[indices[k]], one work-item per value.
KERNEL scale_cols(const i64 nnz, GLOBAL const i32 *RESTRICT indices,
                  GLOBAL f32 *RESTRICT data, GLOBAL const f64 *RESTRICT f) {
	i64 k = GID(0);
	if (k >= nnz) return;
	data[k] = (f32)((f64)data[k] * f[indices[k]]);
}

// log1p_values: data[k] = log(1 + data[k]), computed in float64.
KERNEL log1p_values(const i64 nnz, GLOBAL f32 *RESTRICT data) {
	i64 k = GID(0);
	if (k >= nnz) return;
	data[k] = (f32)log1p((f64)data[k]);
}
