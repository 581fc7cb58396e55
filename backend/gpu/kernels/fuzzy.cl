// The fuzzy simplicial set (fuzzy.go): scanpy's connectivities and
// distances graphs from kNN lists, as graph.Connectivities computes them
// (umap-learn's fuzzy_simplicial_set, local connectivity 1,
// set_op_mix_ratio 1). The lists are n x k, row-major (list slot p = i*k
// + s of row i); the memberships w and the distances keep that padded
// layout, each row's first entries sorted by column, until the outputs
// are packed. No result depends on the order of atomic operations: the
// atomics count integers or hand out scratch slots that a rank then puts
// in order.
//
//  1. fuzzy_sum, fuzzy_sum_final: the sum of all distances in float64, in
//     a fixed order (its mean bounds sigma from below where rho is 0).
//  2. fuzzy_rows: per row, rho, sigma by bisection, the memberships and
//     distances sorted by column (duplicates summed, zeros dropped), the
//     input check.
//  3. fuzzy_tcount, select_scan, fuzzy_tslot, fuzzy_trank: wᵀ with rows
//     sorted by column of w (the canonical transpose).
//  4. fuzzy_union_count, select_scan, fuzzy_union_fill: each row of w +
//     wᵀ - w∘wᵀ by merging the row of w with the row of wᵀ; fuzzy_dist_fill
//     packs the distances.

// FUZZY_SUM_LOCAL is the largest work-group of the sum kernels (a power
// of two).
#define FUZZY_SUM_LOCAL 256
// umap-learn's constants: smooth_knn_dist's bisection steps and
// SMOOTH_K_TOLERANCE, MIN_K_DIST_SCALE.
#define FUZZY_STEPS 64
#define FUZZY_TOL 1e-5
#define FUZZY_MIN_SCALE 1e-3
#define FUZZY_FLT_MAX 3.402823466e+38f

// fuzzy_sum: partial[g] = the float64 sum of d[g*chunk, (g+1)*chunk) for
// g = GRP(0) (chunk = ceil(m / NGRP)), each work-item adding every LSIZE-th
// value in order and a tree adding the work-items' sums; LSIZE is a power
// of two. The order is fixed by m, NGRP and LSIZE: the same bits every run.
KERNEL fuzzy_sum(const i64 m, GLOBAL const f32 *RESTRICT d, GLOBAL f64 *RESTRICT partial) {
	LOCAL f64 s[FUZZY_SUM_LOCAL];
	const i32 t = LID(0), L = LSIZE(0);
	const i64 chunk = (m + (i64)NGRP(0) - 1) / (i64)NGRP(0);
	const i64 lo = (i64)GRP(0) * chunk;
	const i64 hi = lo + chunk < m ? lo + chunk : m;
	f64 acc = 0.0;
	for (i64 p = lo + t; p < hi; p += L) acc += (f64)d[p];
	s[t] = acc;
	BARRIER();
	for (i32 h = L / 2; h > 0; h >>= 1) {
		if (t < h) s[t] += s[t + h];
		BARRIER();
	}
	if (t == 0) partial[GRP(0)] = s[0];
}

// fuzzy_sum_final: partial[g] = the sum of partial[0, g), by one
// work-group as fuzzy_sum adds.
KERNEL fuzzy_sum_final(const i32 g, GLOBAL f64 *RESTRICT partial) {
	LOCAL f64 s[FUZZY_SUM_LOCAL];
	const i32 t = LID(0), L = LSIZE(0);
	f64 acc = 0.0;
	for (i32 p = t; p < g; p += L) acc += partial[p];
	s[t] = acc;
	BARRIER();
	for (i32 h = L / 2; h > 0; h >>= 1) {
		if (t < h) s[t] += s[t + h];
		BARRIER();
	}
	if (t == 0) partial[g] = s[0];
}

// fuzzy_rows: one work-item per row i (the graph package's SmoothKNNDist,
// fuzzyMemberships and fuzzyDistances, in the same float64 operations).
//
// rho is the row's first non-zero distance (0 if none), sigma the
// bisection of umap-learn's smooth_knn_dist for sum_{s>=1} exp(-max(0,
// d_s - rho) / sigma) = target (log2 k), raised to 1e-3 times the row's
// mean distance (the mean of all, total[0] / (n k), where rho is 0). The
// membership of slot s is 0 for the row itself, 1 where d_s <= rho or
// sigma is 0, else exp(-(d_s - rho) / sigma) rounded to float32; its
// distance 0 for the row itself, else d_s. Slots of index -1 are skipped.
//
// The entries are insertion-sorted by column into the row's slots of
// wcol, wval and dval (stable: a repeated column keeps its list order),
// then packed in place: equal columns summed in float32 and zero sums
// dropped, the distances into dcol and dval, the memberships into wcol
// and wval. wcnt[i] and cnt[n+1+i] receive the two counts. An index
// outside [-1, n) or a distance that is negative, NaN or infinite adds to
// bad[0] (the index is skipped, so that later kernels stay in bounds).
KERNEL fuzzy_rows(const i32 n, const i32 k, const f64 target, GLOBAL const i32 *RESTRICT idx,
                  GLOBAL const f32 *RESTRICT dst, GLOBAL const f64 *RESTRICT total,
                  GLOBAL i32 *RESTRICT wcol, GLOBAL f32 *RESTRICT wval, GLOBAL i32 *RESTRICT dcol,
                  GLOBAL f32 *RESTRICT dval, GLOBAL i32 *RESTRICT wcnt, GLOBAL i64 *RESTRICT cnt,
                  GLOBAL i32 *RESTRICT bad) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i64 r0 = i * (i64)k;
	f64 rho = 0.0, rowSum = 0.0;
	i32 found = 0, nbad = 0;
	for (i32 s = 0; s < k; s++) {
		const f32 d = dst[r0 + s];
		const i32 j = idx[r0 + s];
		if (!(d >= 0.0f) || d > FUZZY_FLT_MAX || j < -1 || j >= n) nbad++;
		rowSum += (f64)d;
		if (found == 0 && d > 0.0f) {
			rho = (f64)d;
			found = 1;
		}
	}

	// The bisection: start at 1, double while no upper bound is known.
	f64 lo = 0.0, hi = 0.0, mid = 1.0;
	i32 bounded = 0;
	for (i32 it = 0; it < FUZZY_STEPS; it++) {
		f64 psum = 0.0;
		for (i32 s = 1; s < k; s++) {
			const f64 x = (f64)dst[r0 + s] - rho;
			psum += x > 0.0 ? exp(-x / mid) : 1.0;
		}
		const f64 e = psum - target;
		if (e < FUZZY_TOL && -e < FUZZY_TOL) break;
		if (psum > target) {
			hi = mid;
			bounded = 1;
			mid = (lo + hi) / 2.0;
		} else {
			lo = mid;
			mid = bounded != 0 ? (lo + hi) / 2.0 : mid * 2.0;
		}
	}
	const f64 mean = rho > 0.0 ? rowSum / (f64)k : total[0] / ((f64)n * (f64)k);
	const f64 sigma = mid < FUZZY_MIN_SCALE * mean ? FUZZY_MIN_SCALE * mean : mid;

	i32 m = 0;
	for (i32 s = 0; s < k; s++) {
		const i32 j = idx[r0 + s];
		if (j < 0 || j >= n) continue;
		const f32 d = dst[r0 + s];
		f32 w = 0.0f, dv = 0.0f;
		if ((i64)j != i) {
			const f64 x = (f64)d - rho;
			w = (x <= 0.0 || sigma == 0.0) ? 1.0f : (f32)exp(-x / sigma);
			dv = d;
		}
		i32 q = m;
		while (q > 0 && wcol[r0 + q - 1] > j) {
			wcol[r0 + q] = wcol[r0 + q - 1];
			wval[r0 + q] = wval[r0 + q - 1];
			dval[r0 + q] = dval[r0 + q - 1];
			q--;
		}
		wcol[r0 + q] = j;
		wval[r0 + q] = w;
		dval[r0 + q] = dv;
		m++;
	}

	// Pack the distances first (they read the sorted columns), then the
	// memberships in place: each write goes to a slot already read.
	i32 nd = 0;
	for (i32 q = 0; q < m;) {
		const i32 j = wcol[r0 + q];
		f32 v = dval[r0 + q];
		q++;
		while (q < m && wcol[r0 + q] == j) {
			v += dval[r0 + q];
			q++;
		}
		if (v != 0.0f) {
			dcol[r0 + nd] = j;
			dval[r0 + nd] = v;
			nd++;
		}
	}
	i32 nw = 0;
	for (i32 q = 0; q < m;) {
		const i32 j = wcol[r0 + q];
		f32 v = wval[r0 + q];
		q++;
		while (q < m && wcol[r0 + q] == j) {
			v += wval[r0 + q];
			q++;
		}
		if (v != 0.0f) {
			wcol[r0 + nw] = j;
			wval[r0 + nw] = v;
			nw++;
		}
	}
	wcnt[i] = nw;
	cnt[(i64)n + 1 + i] = (i64)nd;
	if (nbad != 0) atomic_add_i32(bad, nbad);
}

// fuzzy_tcount: tcnt[j] counts the memberships (i, j), one work-item per
// list slot (integer atomics: the counts do not depend on their order).
KERNEL fuzzy_tcount(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                    GLOBAL const i32 *RESTRICT wcnt, GLOBAL i64 *RESTRICT tcnt) {
	const i64 p = GID(0);
	if (p >= (i64)n * (i64)k) return;
	const i64 i = p / (i64)k;
	if (p - i * (i64)k >= (i64)wcnt[i]) return;
	atomic_add_i64(&tcnt[wcol[p]], (i64)1);
}

// fuzzy_tslot: after select_scan, tptr[j] is where row j of wᵀ starts;
// each membership (i, j) takes a slot of that row from cursor[j] (zeroed)
// and writes i there. The slots come in any order; fuzzy_trank orders
// them.
KERNEL fuzzy_tslot(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                   GLOBAL const i32 *RESTRICT wcnt, GLOBAL const i64 *RESTRICT tptr,
                   GLOBAL i32 *RESTRICT cursor, GLOBAL i32 *RESTRICT tsrc) {
	const i64 p = GID(0);
	if (p >= (i64)n * (i64)k) return;
	const i64 i = p / (i64)k;
	if (p - i * (i64)k >= (i64)wcnt[i]) return;
	const i32 j = wcol[p];
	tsrc[tptr[j] + (i64)atomic_add_i32(&cursor[j], 1)] = (i32)i;
}

// fuzzy_trank: membership (i, j) goes to row j of wᵀ at its rank among
// the row's sources (the rows of w that hold column j: distinct, so the
// rank is their order), with its value: each row of wᵀ comes out sorted,
// the same on every run. The cost is the square of a row's length, summed
// over the rows: a few hundred per row of a kNN graph, more for a hub.
KERNEL fuzzy_trank(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                   GLOBAL const f32 *RESTRICT wval, GLOBAL const i32 *RESTRICT wcnt,
                   GLOBAL const i64 *RESTRICT tptr, GLOBAL const i32 *RESTRICT tsrc,
                   GLOBAL i32 *RESTRICT tcol, GLOBAL f32 *RESTRICT tval) {
	const i64 p = GID(0);
	if (p >= (i64)n * (i64)k) return;
	const i64 i = p / (i64)k;
	if (p - i * (i64)k >= (i64)wcnt[i]) return;
	const i32 j = wcol[p], me = (i32)i;
	const i64 hi = tptr[j + 1];
	i64 r = tptr[j];
	for (i64 q = r; q < hi; q++) r += tsrc[q] < me ? 1 : 0;
	tcol[r] = me;
	tval[r] = wval[p];
}

// fuzzy_union_row merges row i of w (slots i*k on, wcnt[i] of them) with
// row i of wᵀ, both sorted by column, into the row of w + wᵀ - w∘wᵀ
// (float64, rounded to float32; zeros dropped) and returns its length.
// With write != 0 it writes the entries from position o of outIdx and
// outVal.
DEVICE i64 fuzzy_union_row(const i64 i, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                           GLOBAL const f32 *RESTRICT wval, GLOBAL const i32 *RESTRICT wcnt,
                           GLOBAL const i64 *RESTRICT tptr, GLOBAL const i32 *RESTRICT tcol,
                           GLOBAL const f32 *RESTRICT tval, const i32 write, i64 o,
                           GLOBAL i32 *RESTRICT outIdx, GLOBAL f32 *RESTRICT outVal) {
	i64 p = i * (i64)k, q = tptr[i];
	const i64 pe = p + (i64)wcnt[i], qe = tptr[i + 1];
	const i64 o0 = o;
	while (p < pe || q < qe) {
		i32 j;
		f64 v;
		if (q >= qe || (p < pe && wcol[p] < tcol[q])) {
			j = wcol[p];
			v = (f64)wval[p];
			p++;
		} else if (p >= pe || tcol[q] < wcol[p]) {
			j = tcol[q];
			v = (f64)tval[q];
			q++;
		} else {
			const f64 x = (f64)wval[p], y = (f64)tval[q];
			j = wcol[p];
			v = x + y - x * y;
			p++;
			q++;
		}
		const f32 f = (f32)v;
		if (f != 0.0f) {
			if (write != 0) {
				outIdx[o] = j;
				outVal[o] = f;
			}
			o++;
		}
	}
	return o - o0;
}

// fuzzy_union_count: cnt[i] = the length of row i of the union, one
// work-item per row.
KERNEL fuzzy_union_count(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                         GLOBAL const f32 *RESTRICT wval, GLOBAL const i32 *RESTRICT wcnt,
                         GLOBAL const i64 *RESTRICT tptr, GLOBAL const i32 *RESTRICT tcol,
                         GLOBAL const f32 *RESTRICT tval, GLOBAL i64 *RESTRICT cnt) {
	const i64 i = GID(0);
	if (i >= n) return;
	cnt[i] = fuzzy_union_row(i, k, wcol, wval, wcnt, tptr, tcol, tval, 0, 0, (GLOBAL i32 *)0,
	                         (GLOBAL f32 *)0);
}

// fuzzy_union_fill writes row i of the union from ptr[i] on (select_scan's
// output over fuzzy_union_count's), one work-item per row.
KERNEL fuzzy_union_fill(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT wcol,
                        GLOBAL const f32 *RESTRICT wval, GLOBAL const i32 *RESTRICT wcnt,
                        GLOBAL const i64 *RESTRICT tptr, GLOBAL const i32 *RESTRICT tcol,
                        GLOBAL const f32 *RESTRICT tval, GLOBAL const i64 *RESTRICT ptr,
                        GLOBAL i32 *RESTRICT outIdx, GLOBAL f32 *RESTRICT outVal) {
	const i64 i = GID(0);
	if (i >= n) return;
	fuzzy_union_row(i, k, wcol, wval, wcnt, tptr, tcol, tval, 1, ptr[i], outIdx, outVal);
}

// fuzzy_dist_fill copies row i of the packed distances (slots i*k on) to
// cnt[n+1+i] on, one work-item per row: the distances' half of the counts
// that select_scan scanned (cnt[n+2+i] - cnt[n+1+i] entries).
KERNEL fuzzy_dist_fill(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT dcol,
                       GLOBAL const f32 *RESTRICT dval, GLOBAL const i64 *RESTRICT cnt,
                       GLOBAL i32 *RESTRICT outIdx, GLOBAL f32 *RESTRICT outVal) {
	const i64 i = GID(0);
	if (i >= n) return;
	GLOBAL const i64 *ptr = cnt + (i64)n + 1;
	const i64 o = ptr[i], m = ptr[i + 1] - o, r0 = i * (i64)k;
	for (i64 s = 0; s < m; s++) {
		outIdx[o + s] = dcol[r0 + s];
		outVal[o + s] = dval[r0 + s];
	}
}
