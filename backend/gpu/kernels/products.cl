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
