// Sparse products with a dense block of vectors (SpMM, SpMMT) and the
// densified rows of GramAccumulate. The CSR values are float32; the dense
// operands float64 or float32 (is32), always accumulated in float64. No
// floating-point atomics: every sum is taken in a fixed order, so two runs
// on one device give the same bits.
//
// Floors at the 1.3M-cell scale, for comparison with device measurements:
// PCA's matrix-free product on the scaled HVG matrix Z (1,265,792 cells x
// 5,000 genes, 4.84e8 stored values, one CSR after ConcatRows), k = 8
// float64 vectors, as bytes moved over ~4 TB/s of H200 memory bandwidth:
//
//	SpMM  Z V     indices + values 4.84e8 x 8 B = 3.87 GB, row pointers
//	              10 MB, out 1.27e6 x 8 x 8 B = 81 MB (V, 320 KB, stays
//	              in cache): 3.96 GB, 0.99 ms.
//	SpMMT Zᵀ(ZV)  indices + values 3.87 GB, ZV 81 MB, partials 103 row
//	              blocks x 5,000 x 8 x 8 B = 33 MB written and read: 4.0
//	              GB, 1.0 ms. This design adds spmmt_segments (the indices
//	              once more, 1.9 GB, and 10 tiles x 5 MB of segments:
//	              +0.5 ms), and is likely bound by latency rather than
//	              bandwidth: each group's rows are a chain of barriers
//	              (10 tiles x 1.27e6 rows = 12.7e6 row steps over 132
//	              multiprocessors with 4 groups each) and each window of
//	              about 27 rows waits for two loads in turn. Without the
//	              segments every tile read every index: 39 GB from L2.
//
//	SpMM  Zᵀ(ZV)  after Transpose (5,000 rows of ~97,000 values, spmm_long):
//	              indices + values 3.87 GB, ZV 81 MB: 1.0 ms, but every
//	              value gathers a row of ZV (64 B, 31 GB in all) from L2
//	              at best (ZV exceeds the 50 MB L2): ~5 ms at 5-7 TB/s.
//
// At 20,000-row chunks (7.4e6 values, 60 MB) the floor is 15 us a product,
// about a kernel launch.

DEVICE i64 prod_min64(const i64 a, const i64 b) { return a < b ? a : b; }

// spmm_rows: out = m * b, one work-item per (row i, output column c),
// adding the row's terms in storage order (float32 out is rounded once).
// A warp covers 32/k rows; the k work-items of a row read the same index
// and value (one transaction) and k consecutive elements of a row of b.
// Column indices outside [0, cols) contribute nothing.
KERNEL spmm_rows(const i32 rows, const i32 cols, const i32 k,
                 GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                 GLOBAL const f32 *RESTRICT data, GLOBAL const f64 *b64,
                 GLOBAL const f32 *b32, GLOBAL f64 *o64, GLOBAL f32 *o32, const i32 is32) {
	const i64 g = GID(0);
	if (g >= (i64)rows * (i64)k) return;
	const i64 i = g / k;
	const i64 c = g - i * k;
	const i64 hi = indptr[i + 1];
	f64 s = 0;
	if (is32) {
		for (i64 p = indptr[i]; p < hi; p++) {
			const i32 j = indices[p];
			if ((u32)j < (u32)cols) s += (f64)data[p] * (f64)b32[(i64)j * k + c];
		}
		o32[g] = (f32)s;
	} else {
		for (i64 p = indptr[i]; p < hi; p++) {
			const i32 j = indices[p];
			if ((u32)j < (u32)cols) s += (f64)data[p] * b64[(i64)j * k + c];
		}
		o64[g] = s;
	}
}

// spmm_long: out = m * b for a matrix with long rows (Zᵀ in PCA's
// matrix-free eigensolve: 5,000 rows of ~97,000 values, where spmm_rows
// would give a row's 97,000 terms to one work-item), one work-group of
// SPMM_LONG_LOCAL work-items per row GRP(0). The work-items are E entry
// lanes times kc column lanes, lid = e*kc + c (the column fastest, so that
// the kc lanes of an entry read kc consecutive elements of a row of b);
// kc is 1, 2, 4 or 8 (the host's choice from k alone) and E =
// SPMM_LONG_LOCAL/kc. For each chunk of kc output columns, lane (e, c)
// adds, in float64, the terms of the row's entries e, e+E, e+2E, ... in
// that order (four at a time, their loads first), and a tree over the
// entry lanes in LOCAL memory adds the lanes' sums in a fixed order. The
// group size is a constant, not the device's, so the order of the
// additions depends on the shape alone. Column indices outside [0, cols)
// contribute nothing.
//
// Bound: the matrix is read once (8 bytes a value, coalesced), but each
// value gathers kc elements of a row of b: 64 bytes at k = 8, so 31 GB at
// 4.84e8 values, from L2 where b fits it (b = ZV is 81 MB at 1.3M cells,
// more than the H200's L2: a row of Zᵀ sweeps all of b).
#define SPMM_LONG_LOCAL 256

DEVICE f64 spmm_b(GLOBAL const f64 *b64, GLOBAL const f32 *b32, const i32 is32, const i64 at) {
	return is32 ? (f64)b32[at] : b64[at];
}

KERNEL spmm_long(const i32 rows, const i32 cols, const i32 k, const i32 kc,
                 GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                 GLOBAL const f32 *RESTRICT data, GLOBAL const f64 *b64,
                 GLOBAL const f32 *b32, GLOBAL f64 *o64, GLOBAL f32 *o32, const i32 is32) {
	LOCAL f64 red[SPMM_LONG_LOCAL];
	const i32 lid = LID(0);
	const i32 E = SPMM_LONG_LOCAL / kc;
	const i32 e = lid / kc, cl = lid - e * kc;
	const i64 i = (i64)GRP(0);
	if (i >= rows) return; // the whole group: no barrier is skipped by some only
	const i64 lo = indptr[i], hi = indptr[i + 1];
	const i64 E1 = (i64)E, E2 = 2 * (i64)E, E3 = 3 * (i64)E, E4 = 4 * (i64)E;
	const u32 ucols = (u32)cols;
	for (i32 c0 = 0; c0 < k; c0 += kc) {
		const i32 c = c0 + cl;
		f64 s = 0;
		if (c < k) {
			i64 p = lo + e;
			for (; p + E3 < hi; p += E4) {
				const i32 j0 = indices[p], j1 = indices[p + E1];
				const i32 j2 = indices[p + E2], j3 = indices[p + E3];
				const f64 v0 = (f64)data[p], v1 = (f64)data[p + E1];
				const f64 v2 = (f64)data[p + E2], v3 = (f64)data[p + E3];
				const f64 x0 = (u32)j0 < ucols ? spmm_b(b64, b32, is32, (i64)j0 * k + c) : 0.0;
				const f64 x1 = (u32)j1 < ucols ? spmm_b(b64, b32, is32, (i64)j1 * k + c) : 0.0;
				const f64 x2 = (u32)j2 < ucols ? spmm_b(b64, b32, is32, (i64)j2 * k + c) : 0.0;
				const f64 x3 = (u32)j3 < ucols ? spmm_b(b64, b32, is32, (i64)j3 * k + c) : 0.0;
				if ((u32)j0 < ucols) s += v0 * x0;
				if ((u32)j1 < ucols) s += v1 * x1;
				if ((u32)j2 < ucols) s += v2 * x2;
				if ((u32)j3 < ucols) s += v3 * x3;
			}
			for (; p < hi; p += E1) {
				const i32 j = indices[p];
				if ((u32)j < ucols) s += (f64)data[p] * spmm_b(b64, b32, is32, (i64)j * k + c);
			}
		}
		red[lid] = s;
		BARRIER();
		for (i32 h = E / 2; h > 0; h >>= 1) {
			if (e < h) red[lid] += red[lid + h * kc];
			BARRIER();
		}
		if (e == 0 && c < k) {
			const i64 at = i * (i64)k + c;
			if (is32) {
				o32[at] = (f32)red[lid];
			} else {
				o64[at] = red[lid];
			}
		}
		BARRIER(); // red is read before the next chunk writes it
	}
}

// SpMMT: out = mᵀ b (out is cols x k). A work-group owns a tile of the
// output, columns [j0, j0+jw) of m times output columns [c0, c0+kw) of b,
// held as jw*kw float64 accumulators in LOCAL memory (SPMMT_ACC of them,
// 32 KiB), over the row block GRP(1): rows [r0, r1). It walks the block's
// rows in order; the work-items stride over a row's values in the tile and
// add v * b[i, c0..c0+kw) into the column's accumulators. Columns are
// distinct within a row, so no two work-items touch one accumulator within
// a row, and a barrier between rows orders the rows: each accumulator gets
// its terms in row order, on any device and with any work-group size.
//
// Segments: with several tiles, spmmt_segments first finds, in each row
// whose indices increase, where its values cross the tiles' boundaries, so
// that a tile's groups read only their own values (8 bytes a value in all,
// instead of every tile reading every row's indices: 10 times at 5,000
// columns and k = 8). A row whose indices do not increase is read whole by
// every tile, its values outside the tile skipped.
//
// Windows: the rows' segments are read into LOCAL memory a window at a
// time, as many consecutive rows as fit SPMMT_STAGE values (and at most
// SPMMT_RSTAGE rows, whose rows of b are staged too), all their loads in
// flight at once; the rows are then processed from LOCAL memory, with a
// barrier between rows only. A segment longer than a window is processed
// in pieces, window after window.
//
// With one row block the group writes out directly (rounded to float32 for
// is32); with more it writes float64 partials, part[blk][j][c] (blocks x
// cols x k), which spmmt_reduce adds in block order.
#define SPMMT_ACC 4096
#define SPMMT_STAGE 1024
#define SPMMT_BSTAGE 512
#define SPMMT_RSTAGE 128

// spmmt_segments: for row r and tile t in [1, tiles), seg[t*rows + r] is
// the offset in the row of its first value in a column >= t*w, and
// seg[r] is 0, or -1 when the row's indices do not increase (then the
// others are meaningless). One work-item per row.
KERNEL spmmt_segments(const i32 rows, const i32 w, const i32 tiles,
                      GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                      GLOBAL i32 *RESTRICT seg) {
	const i64 r = GID(0);
	if (r >= rows) return;
	const i64 s = indptr[r], e = indptr[r + 1];
	i32 t = 1, prev = -1, sorted = 1;
	for (i64 p = s; p < e; p++) {
		const i32 j = indices[p];
		sorted = sorted && j > prev;
		prev = j;
		while (t < tiles && (i64)j >= (i64)t * w) {
			seg[(i64)t * rows + r] = (i32)(p - s);
			t++;
		}
	}
	for (; t < tiles; t++) seg[(i64)t * rows + r] = (i32)(e - s);
	seg[r] = sorted ? 0 : -1;
}

// spmmt_tiles: the groups of tile GRP(0) % tiles and output-column chunk
// GRP(0) / tiles (kc columns of b each; kc <= SPMMT_BSTAGE and
// w*kc <= SPMMT_ACC), row block GRP(1) (rb rows each). seg is
// spmmt_segments's (hasSeg), or with one tile not used.
KERNEL spmmt_tiles(const i32 rows, const i32 cols, const i32 k, const i32 kc, const i32 w,
                   const i32 tiles, const i32 rb, GLOBAL const i64 *RESTRICT indptr,
                   GLOBAL const i32 *RESTRICT indices, GLOBAL const f32 *RESTRICT data,
                   GLOBAL const i32 *seg, const i32 hasSeg,
                   GLOBAL const f64 *b64, GLOBAL const f32 *b32, const i32 is32,
                   GLOBAL f64 *part, GLOBAL f64 *o64, GLOBAL f32 *o32, const i32 direct) {
	LOCAL f64 acc[SPMMT_ACC];
	LOCAL i32 sidx[SPMMT_STAGE];
	LOCAL f32 sval[SPMMT_STAGE];
	LOCAL f64 sb[SPMMT_BSTAGE];
	LOCAL i64 slo[SPMMT_RSTAGE];
	LOCAL i64 shi[SPMMT_RSTAGE];
	const i32 lid = LID(0), ls = LSIZE(0);
	const i32 t = GRP(0) % tiles, cc = GRP(0) / tiles;
	const i32 j0 = t * w, c0 = cc * kc;
	const i32 jw = cols - j0 < w ? cols - j0 : w;
	const i32 kw = k - c0 < kc ? k - c0 : kc;
	const i32 rstage = SPMMT_BSTAGE / kw < SPMMT_RSTAGE ? SPMMT_BSTAGE / kw : SPMMT_RSTAGE;
	const i64 r0 = prod_min64((i64)GRP(1) * rb, (i64)rows);
	const i64 r1 = prod_min64(r0 + rb, (i64)rows);
	const i32 nacc = jw * kw;
	for (i32 q = lid; q < nacc; q += ls) acc[q] = 0;

	// r is the window's first row and skip the values of its segment
	// already processed; both are the same in every work-item, as is
	// everything that decides a barrier below.
	i64 r = r0, skip = 0;
	while (r < r1) {
		const i32 nr = (i32)prod_min64((i64)rstage, r1 - r);
		BARRIER(); // the previous window is done with
		// The segments of rows [r, r+nr), and their rows of b.
		for (i32 q = lid; q < nr; q += ls) {
			const i64 i = r + q;
			const i64 s0 = indptr[i], s1 = indptr[i + 1];
			i64 lo = s0, hi = s1;
			if (hasSeg) { // all three loads in flight at once
				const i32 mark = seg[i];
				const i32 a = t > 0 ? seg[(i64)t * rows + i] : 0;
				const i32 b = t + 1 < tiles ? seg[(i64)(t + 1) * rows + i] : (i32)(s1 - s0);
				if (mark == 0) {
					lo = s0 + a;
					hi = s0 + b;
				}
			}
			slo[q] = q == 0 ? lo + skip : lo;
			shi[q] = hi;
		}
		for (i32 q = lid; q < nr * kw; q += ls) {
			const i32 rr = q / kw;
			const i64 at = (r + rr) * (i64)k + c0 + (q - rr * kw);
			sb[q] = is32 ? (f64)b32[at] : b64[at];
		}
		BARRIER();
		// The window: rows [r, r+nw) whose segments fit, or a piece of
		// row r's.
		i32 nw = nr, off = 0;
		i64 piece = -1;
		for (i32 rr = 0; rr < nr; rr++) {
			const i64 lo = slo[rr];
			i64 len = shi[rr] - lo;
			if (off + len > SPMMT_STAGE) {
				if (rr > 0) {
					nw = rr;
					break;
				}
				len = piece = SPMMT_STAGE;
				nw = 1;
			}
			for (i32 e = lid; e < (i32)len; e += ls) {
				sidx[off + e] = indices[lo + e];
				sval[off + e] = data[lo + e];
			}
			off += (i32)len;
			if (piece >= 0) break;
		}
		BARRIER();
		off = 0;
		for (i32 rr = 0; rr < nw; rr++) {
			const i32 len = piece >= 0 ? (i32)piece : (i32)(shi[rr] - slo[rr]);
			if (len > 0) {
				LOCAL_PTR const f64 *brow = sb + rr * kw;
				for (i32 e = off + lid; e < off + len; e += ls) {
					const u32 j = (u32)(sidx[e] - j0);
					if (j < (u32)jw) {
						const f64 v = (f64)sval[e];
						LOCAL_PTR f64 *dst = acc + (i32)j * kw;
						for (i32 c = 0; c < kw; c++) dst[c] += v * brow[c];
					}
				}
				BARRIER();
			}
			off += len;
		}
		if (piece >= 0) {
			skip += piece;
		} else {
			r += nw;
			skip = 0;
		}
	}
	BARRIER();
	const i64 base = direct ? 0 : (i64)GRP(1) * (i64)cols * (i64)k;
	for (i32 q = lid; q < nacc; q += ls) {
		const i32 jj = q / kw;
		const i64 at = (i64)(j0 + jj) * k + c0 + (q - jj * kw);
		if (!direct) {
			part[base + at] = acc[q];
		} else if (is32) {
			o32[at] = (f32)acc[q];
		} else {
			o64[at] = acc[q];
		}
	}
}

// spmmt_reduce: out[e] = the sum of the blocks' partials of element e, in
// block order; one work-item per element of out (n = cols*k of them).
KERNEL spmmt_reduce(const i64 n, const i32 blocks, GLOBAL const f64 *RESTRICT part,
                    GLOBAL f64 *o64, GLOBAL f32 *o32, const i32 is32) {
	const i64 e = GID(0);
	if (e >= n) return;
	f64 s = 0;
	for (i64 b = 0; b < blocks; b++) s += part[b * n + e];
	if (is32) {
		o32[e] = (f32)s;
	} else {
		o64[e] = s;
	}
}

// gram_scatter: writes rows [r0, r0+nrows) of m into the row-major
// nrows x cols float64 matrix dense (clear == 0), or zeroes the elements
// that that wrote (clear != 0); one work-item per row. Columns are
// distinct within a row, so every element has one writer.
KERNEL gram_scatter(const i32 r0, const i32 nrows, const i32 cols,
                    GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                    GLOBAL const f32 *RESTRICT data, GLOBAL f64 *RESTRICT dense,
                    const i32 clear) {
	const i64 r = GID(0);
	if (r >= nrows) return;
	GLOBAL f64 *row = dense + r * (i64)cols;
	const i64 hi = indptr[r0 + r + 1];
	for (i64 p = indptr[r0 + r]; p < hi; p++) {
		const i32 j = indices[p];
		if ((u32)j < (u32)cols) row[j] = clear ? 0.0 : (f64)data[p];
	}
}
