// Per-row and per-column reductions of a CSR chunk (RowStats, ColStats).
// Values are float32; their sums and sums of squares are accumulated in
// float64, as the CPU backend does, and never with floating-point atomics:
// every accumulator is updated by one work-item at a time in a fixed order,
// so two runs give the same bits.

// row_stats: sum[i] and the count of non-zero values of row i, one
// work-item per row, adding the row's values in storage order: the CPU
// backend's order, so both give the same bits. Bound by the latency of the
// serial float64 additions (and the reads, which walk each row's cache
// lines in order); RowStats reads only Data, 4 bytes a value.
KERNEL row_stats(const i32 rows, GLOBAL const i64 *RESTRICT indptr,
                 GLOBAL const f32 *RESTRICT data, GLOBAL f64 *RESTRICT sum,
                 GLOBAL i32 *RESTRICT nnz) {
	i64 i = GID(0);
	if (i >= rows) return;
	f64 s = 0;
	i32 n = 0;
	i64 hi = indptr[i + 1];
	for (i64 k = indptr[i]; k < hi; k++) {
		f32 v = data[k];
		s += (f64)v;
		n += v != 0 ? 1 : 0;
	}
	sum[i] = s;
	nnz[i] = n;
}

// ColStats tiles the columns: a work-group owns the STATS_TILE columns of
// tile GRP(0) over row block GRP(1) (NGRP(1) blocks of consecutive rows),
// holding its sums in LOCAL memory (2 x f64 + i32 a column: 40 KiB, under
// the 48 KiB that CUDA and NVIDIA's OpenCL allow without opting in). It
// walks its rows in order; the work-items of the group stride over a row's
// values and add those whose column falls in the tile. Columns are
// distinct within a row, so no two work-items touch one accumulator within
// a row, and a barrier between rows orders the rows: each accumulator
// receives its values in row order, whatever the device.
//
// Bound: every tile's groups read all of their rows' column indices
// (coalesced, 4 bytes a value, mostly from L2 after the first tile) and
// the values of their own columns; the barrier per row adds a memory
// latency per row per group. 28,000 columns make 14 tiles.
#define STATS_TILE 2048

// stats_tile_accumulate zeroes the tile's accumulators s, q, n (tile
// columns [j0, j0+w)) and adds the group's rows into them.
DEVICE void stats_tile_accumulate(const i32 rows, GLOBAL const i64 *RESTRICT indptr,
                                  GLOBAL const i32 *RESTRICT indices,
                                  GLOBAL const f32 *RESTRICT data,
                                  GLOBAL const u8 *RESTRICT mask, const i32 hasMask,
                                  LOCAL_PTR f64 *s, LOCAL_PTR f64 *q, LOCAL_PTR i32 *n,
                                  const i32 j0, const i32 w) {
	const i32 t = LID(0), L = LSIZE(0);
	for (i32 c = t; c < w; c += L) {
		s[c] = 0;
		q[c] = 0;
		n[c] = 0;
	}
	BARRIER();
	const i64 r0 = (i64)GRP(1) * (i64)rows / (i64)NGRP(1);
	const i64 r1 = (i64)(GRP(1) + 1) * (i64)rows / (i64)NGRP(1);
	for (i64 i = r0; i < r1; i++) {
		// The same for every work-item of the group: no barrier is skipped
		// by some only.
		if (hasMask && mask[i] == 0) continue;
		const i64 hi = indptr[i + 1];
		for (i64 k = indptr[i] + t; k < hi; k += L) {
			const u32 c = (u32)(indices[k] - j0);
			if (c < (u32)w) {
				const f64 v = (f64)data[k];
				s[c] += v;
				// v * v is exact in float64 (v is a float32): contracting
				// it into a fused multiply-add changes no bit.
				q[c] += v * v;
				n[c] += v != 0 ? 1 : 0;
			}
		}
		BARRIER();
	}
}

// col_stats_add: the ColStats of a chunk with one row block (NGRP(1) == 1),
// added straight into the accumulators. want: bit 0 adds sumSq, bit 1 nnz
// (the pointers of those not wanted are placeholders, never touched).
KERNEL col_stats_add(const i32 rows, const i32 cols, GLOBAL const i64 *RESTRICT indptr,
                     GLOBAL const i32 *RESTRICT indices, GLOBAL const f32 *RESTRICT data,
                     GLOBAL const u8 *RESTRICT mask, const i32 hasMask,
                     GLOBAL f64 *RESTRICT sum, GLOBAL f64 *RESTRICT sumSq,
                     GLOBAL i64 *RESTRICT nnz, const i32 want) {
	LOCAL f64 s[STATS_TILE];
	LOCAL f64 q[STATS_TILE];
	LOCAL i32 n[STATS_TILE];
	const i32 j0 = GRP(0) * STATS_TILE;
	const i32 w = cols - j0 < STATS_TILE ? cols - j0 : STATS_TILE;
	stats_tile_accumulate(rows, indptr, indices, data, mask, hasMask, s, q, n, j0, w);
	for (i32 c = LID(0); c < w; c += LSIZE(0)) {
		sum[j0 + c] += s[c];
		if (want & 1) sumSq[j0 + c] += q[c];
		if (want & 2) nnz[j0 + c] += (i64)n[c];
	}
}

// col_stats_part: the partial ColStats of row block b = GRP(1) of R =
// NGRP(1), written (not added) to part, which holds three R x cols
// float64 arrays one after the other: sums, sums of squares, counts
// (exact in float64: a block has fewer than 2^31 rows).
KERNEL col_stats_part(const i32 rows, const i32 cols, GLOBAL const i64 *RESTRICT indptr,
                      GLOBAL const i32 *RESTRICT indices, GLOBAL const f32 *RESTRICT data,
                      GLOBAL const u8 *RESTRICT mask, const i32 hasMask,
                      GLOBAL f64 *RESTRICT part) {
	LOCAL f64 s[STATS_TILE];
	LOCAL f64 q[STATS_TILE];
	LOCAL i32 n[STATS_TILE];
	const i32 j0 = GRP(0) * STATS_TILE;
	const i32 w = cols - j0 < STATS_TILE ? cols - j0 : STATS_TILE;
	stats_tile_accumulate(rows, indptr, indices, data, mask, hasMask, s, q, n, j0, w);
	const i64 R = (i64)NGRP(1), b = (i64)GRP(1);
	GLOBAL f64 *ps = part + b * (i64)cols + j0;
	GLOBAL f64 *pq = part + (R + b) * (i64)cols + j0;
	GLOBAL f64 *pn = part + (2 * R + b) * (i64)cols + j0;
	for (i32 c = LID(0); c < w; c += LSIZE(0)) {
		ps[c] = s[c];
		pq[c] = q[c];
		pn[c] = (f64)n[c];
	}
}

// col_stats_reduce: adds the R row blocks' partials of column j, in block
// order, into the accumulators; one work-item per column. want as in
// col_stats_add. Bound by reading the partials (coalesced, 24 R bytes a
// column).
KERNEL col_stats_reduce(const i32 cols, const i32 R, GLOBAL const f64 *RESTRICT part,
                        GLOBAL f64 *RESTRICT sum, GLOBAL f64 *RESTRICT sumSq,
                        GLOBAL i64 *RESTRICT nnz, const i32 want) {
	const i64 j = GID(0);
	if (j >= cols) return;
	const i64 stride = (i64)cols;
	f64 s = sum[j];
	for (i64 r = 0; r < R; r++) s += part[r * stride + j];
	sum[j] = s;
	if (want & 1) {
		f64 q = sumSq[j];
		for (i64 r = R; r < 2 * (i64)R; r++) q += part[r * stride + j];
		sumSq[j] = q;
	}
	if (want & 2) {
		i64 n = nnz[j];
		for (i64 r = 2 * (i64)R; r < 3 * (i64)R; r++) n += (i64)part[r * stride + j];
		nnz[j] = n;
	}
}
