// Nearest-neighbour search (knn.go): the exact brute force and IVF-Flat's
// k-means training, coarse search, list building and fine search. One
// kernel, knn_scan, ranks points for queries in all of them; the others
// are small helpers around it.

// knn_scan's work-group: KNN_QT queries against tiles of KNN_PT points,
// the coordinates taken KNN_DC at a time; its KNN_LOCAL work-items form 8
// rows of 16, each computing a 4 x 4 block of the KNN_QT x KNN_PT
// distances. Each query keeps at most KNN_KMAX neighbours.
#define KNN_QT 32
#define KNN_PT 64
#define KNN_DC 16
#define KNN_LOCAL 128
#define KNN_KMAX 64
// KNN_UNION is the most (query, probe) pairs of a tile of KNN_QT queries
// (64 probes each) that knn_ivf_union sorts; a power of two.
#define KNN_UNION 2048
// KNN_SCAN_LOCAL is the largest work-group knn_offsets takes;
// KNN_RED_LOCAL is knn_absmax's work-group size (a power of two).
#define KNN_SCAN_LOCAL 1024
#define KNN_RED_LOCAL 256
#define KNN_FLT_MAX 3.402823466e+38f
#define KNN_NONE 0xFFFFFFFFu

// knn_worse says whether (d1, i1) ranks after (d2, i2): farther, or as far
// with a larger index.
DEVICE i32 knn_worse(const f64 d1, const i32 i1, const f64 d2, const i32 i2) {
	return (d1 > d2 || (d1 == d2 && i1 > i2)) ? 1 : 0;
}

// knn_threshold is the float32 filter of a query whose k-th squared
// distance (in float64) is kth: a point whose float32 distance exceeds it
// is farther than kth. The float32 sum of d squared differences of
// float32 coordinates has a relative error below (d+2) u, u = 2^-24 (a
// rounding for the difference, its square and each addition, all terms
// non-negative: no cancellation); the filter allows (2d+8) u, then 2^-22
// for the rounding to float32 and 2^-100 for underflow.
DEVICE f32 knn_threshold(const f64 kth, const i32 d) {
	const f64 u = 5.9604644775390625e-8; // 2^-24
	const f64 t = kth * (1.0 + (f64)(2 * d + 8) * u) + 7.888609052210118e-31;
	return (f32)(t * (1.0 + 4.0 * u));
}

// KNN_STEP adds coordinate j of the chunk in LOCAL memory to a work-item's
// 4 x 4 block of squared distances.
#define KNN_STEP(j)                                                                      \
	do {                                                                                 \
		f32 qa[4], pb[4];                                                                \
		for (i32 a = 0; a < 4; a++) qa[a] = qs[(j) * (KNN_QT + 1) + ty + 8 * a];         \
		for (i32 b = 0; b < 4; b++) pb[b] = ps[(j) * (KNN_PT + 1) + tx + 16 * b];        \
		for (i32 a = 0; a < 4; a++) {                                                    \
			for (i32 b = 0; b < 4; b++) {                                                \
				const f32 df = qa[a] - pb[b];                                            \
				acc[a][b] += df * df;                                                    \
			}                                                                            \
		}                                                                                \
	} while (0)

// knn_scan finds, for each of the nq rows of q (row-major, d columns), its
// kk nearest rows of p (np rows) in float64 squared Euclidean distance,
// ties broken by the smaller id; work-group g takes queries g*KNN_QT to
// g*KNN_QT+KNN_QT-1. A query's id is qid[slot] (hasQid) or its slot, a
// point's pid[slot] (hasPid) or its slot. With self, a point whose id is
// the query's is skipped and the query is written first at distance 0.
//
// Without ivf the group scans every point; with ivf it scans the lists
// ulist[g*ustride + u], u < ucount[g] (list l is the points offsets[l] to
// offsets[l+1]-1), and a list counts for the queries whose bit is set in
// umask[g*ustride + u] (knn_ivf_union).
//
// The row of query id in outIdx (and outDist when hasDist) receives
// kk+self neighbours: ids, and Euclidean distances rounded to float32;
// slots without a point hold -1 and +Inf.
//
// For each tile of points the work-items compute the distances in float32
// by direct differences (no cancellation, so the error bound of
// knn_threshold holds whatever the coordinates' magnitude), keep those
// within each query's threshold in LOCAL memory, and the query's owner
// (work-item q of the first KNN_QT) recomputes each survivor's distance
// in float64 and inserts it into the query's sorted list in LOCAL memory.
// Once a list is full few points pass the filter, so the float64 work is
// a few hundred points per query, and the order is that of a float64
// brute force.
KERNEL knn_scan(const i32 nq, const i32 d, const i32 kk, const i32 self,
                GLOBAL const f32 *RESTRICT q, GLOBAL const i32 *RESTRICT qid, const i32 hasQid,
                GLOBAL const f32 *RESTRICT p, GLOBAL const i32 *RESTRICT pid, const i32 hasPid,
                const i32 np, const i32 ivf, GLOBAL const i32 *RESTRICT offsets,
                GLOBAL const i32 *RESTRICT ulist, GLOBAL const u32 *RESTRICT umask,
                GLOBAL const i32 *RESTRICT ucount, const i32 ustride,
                GLOBAL i32 *RESTRICT outIdx, GLOBAL f32 *RESTRICT outDist, const i32 hasDist) {
	LOCAL f32 qs[KNN_DC * (KNN_QT + 1)];
	LOCAL f32 ps[KNN_DC * (KNN_PT + 1)];
	LOCAL f32 dt[KNN_QT * (KNN_PT + 1)];
	LOCAL f32 thr[KNN_QT];
	LOCAL i32 hit[KNN_QT];
	LOCAL f64 topd[KNN_KMAX * KNN_QT];
	LOCAL i32 topi[KNN_KMAX * KNN_QT];

	const i32 t = LID(0);
	const i32 tx = t % 16, ty = t / 16;
	const i32 g = GRP(0);
	const i64 q0 = (i64)g * KNN_QT;

	// The owner's state: its query's slot and id, how many neighbours it
	// holds and the worst of them once full.
	const i64 mq = q0 + t;
	i32 myid = -1;
	i32 cnt = 0;
	f64 kth = F64_INF;
	if (t < KNN_QT) {
		hit[t] = 0;
		thr[t] = mq < nq ? F32_INF : -F32_INF; // padding queries take nothing
		if (mq < nq) myid = hasQid ? qid[mq] : (i32)mq;
	}
	BARRIER();

	const i32 nseg = ivf ? ucount[g] : 1;
	for (i32 sg = 0; sg < nseg; sg++) {
		i64 lo = 0, hi = np;
		u32 mask = KNN_NONE;
		if (ivf) {
			const i64 e = (i64)g * ustride + sg;
			const i32 l = ulist[e];
			lo = offsets[l];
			hi = offsets[l + 1];
			mask = umask[e];
		}
		for (i64 p0 = lo; p0 < hi; p0 += KNN_PT) {
			f32 acc[4][4];
#pragma unroll
			for (i32 a = 0; a < 4; a++) {
#pragma unroll
				for (i32 b = 0; b < 4; b++) acc[a][b] = 0.0f;
			}
			for (i32 c0 = 0; c0 < d; c0 += KNN_DC) {
				// Coordinates past d and padding rows load as 0.
				for (i32 e = t; e < KNN_QT * KNN_DC; e += KNN_LOCAL) {
					const i32 r = e / KNN_DC, j = e % KNN_DC;
					f32 v = 0.0f;
					if (q0 + r < nq && c0 + j < d) v = q[(q0 + r) * d + c0 + j];
					qs[j * (KNN_QT + 1) + r] = v;
				}
				for (i32 e = t; e < KNN_PT * KNN_DC; e += KNN_LOCAL) {
					const i32 r = e / KNN_DC, j = e % KNN_DC;
					f32 v = 0.0f;
					if (p0 + r < hi && c0 + j < d) v = p[(p0 + r) * d + c0 + j];
					ps[j * (KNN_PT + 1) + r] = v;
				}
				BARRIER();
if (d - c0 >= KNN_DC) {
#pragma unroll
					for (i32 j = 0; j < KNN_DC; j++) KNN_STEP(j);
				} else {
					for (i32 j = 0; j < d - c0; j++) KNN_STEP(j);
				}
				BARRIER();
			}
			// Keep the distances within each query's threshold; -1 marks
			// the others.
#pragma unroll
			for (i32 a = 0; a < 4; a++) {
				const i32 r = ty + 8 * a;
				const f32 th = thr[r];
				const i32 on = (i32)((mask >> r) & 1u);
#pragma unroll
				for (i32 b = 0; b < 4; b++) {
					const i32 c = tx + 16 * b;
					const i32 ok = (on != 0 && p0 + c < hi && acc[a][b] <= th) ? 1 : 0;
					dt[r * (KNN_PT + 1) + c] = ok ? acc[a][b] : -1.0f;
					if (ok) hit[r] = 1;
				}
			}
			BARRIER();
			if (t < KNN_QT && hit[t]) {
				hit[t] = 0;
				f32 th = thr[t];
				for (i32 c = 0; c < KNN_PT; c++) {
					const f32 v = dt[t * (KNN_PT + 1) + c];
					if (!(v >= 0.0f && v <= th)) continue;
					const i64 slot = p0 + c;
					const i32 id = hasPid ? pid[slot] : (i32)slot;
					if (self && id == myid) continue;
					f64 s = 0.0;
					for (i32 j = 0; j < d; j++) {
						const f64 df = (f64)q[mq * d + j] - (f64)p[slot * d + j];
						s += df * df;
					}
					if (cnt == kk && !knn_worse(kth, topi[(kk - 1) * KNN_QT + t], s, id)) continue;
					// Sorted insertion, best first.
					i32 at = cnt < kk ? cnt : kk - 1;
					while (at > 0 && knn_worse(topd[(at - 1) * KNN_QT + t], topi[(at - 1) * KNN_QT + t], s, id)) {
						topd[at * KNN_QT + t] = topd[(at - 1) * KNN_QT + t];
						topi[at * KNN_QT + t] = topi[(at - 1) * KNN_QT + t];
						at--;
					}
					topd[at * KNN_QT + t] = s;
					topi[at * KNN_QT + t] = id;
					if (cnt < kk) cnt++;
					if (cnt == kk) {
						kth = topd[(kk - 1) * KNN_QT + t];
						th = knn_threshold(kth, d);
					}
				}
				thr[t] = th;
			}
			BARRIER();
		}
	}

	if (t < KNN_QT && mq < nq) {
		const i64 row = (i64)myid * (kk + self);
		i32 o = 0;
		if (self) {
			outIdx[row] = myid;
			if (hasDist) outDist[row] = 0.0f;
			o = 1;
		}
		for (i32 r = 0; r < kk; r++) {
			const i32 have = r < cnt;
			outIdx[row + o + r] = have ? topi[r * KNN_QT + t] : -1;
			if (hasDist) outDist[row + o + r] = have ? (f32)sqrt(topd[r * KNN_QT + t]) : F32_INF;
		}
	}
}

// knn_ivf_union lists the IVF lists that the queries of knn_scan's
// work-group g (slots g*KNN_QT on, of nq, nprobe probes each in probes)
// probe: each list once, in increasing order, into ulist[g*KNN_QT*nprobe
// + u], with the mask of the queries probing it (bit r: query slot
// g*KNN_QT+r) into umask, and their number into ucount[g]. The (list,
// query) pairs are sorted in LOCAL memory (a bitonic sort of keys
// list*32 + r), then the first work-item merges equal lists.
KERNEL knn_ivf_union(const i32 nq, const i32 nprobe, GLOBAL const i32 *RESTRICT probes,
                     GLOBAL i32 *RESTRICT ulist, GLOBAL u32 *RESTRICT umask, GLOBAL i32 *RESTRICT ucount) {
	LOCAL u32 key[KNN_UNION];
	const i32 t = LID(0), L = LSIZE(0), g = GRP(0);
	const i64 q0 = (i64)g * KNN_QT;
	const i32 m = KNN_QT * nprobe;
	i32 n2 = 1;
	while (n2 < m) n2 <<= 1;
	for (i32 e = t; e < n2; e += L) {
		u32 v = KNN_NONE;
		if (e < m) {
			const i32 r = e / nprobe;
			if (q0 + r < nq) v = ((u32)probes[(q0 + r) * nprobe + e % nprobe] << 5) | (u32)r;
		}
		key[e] = v;
	}
	BARRIER();
	for (i32 size = 2; size <= n2; size <<= 1) {
		for (i32 stride = size >> 1; stride > 0; stride >>= 1) {
			for (i32 e = t; e < n2; e += L) {
				const i32 o = e ^ stride;
				if (o > e) {
					const u32 a = key[e], b = key[o];
					const i32 up = (e & size) == 0 ? 1 : 0;
					const i32 gt = a > b ? 1 : 0;
					if (gt == up) {
						key[e] = b;
						key[o] = a;
					}
				}
			}
			BARRIER();
		}
	}
	if (t == 0) {
		const i64 base = (i64)g * m;
		i32 c = 0;
		u32 prev = KNN_NONE, bits = 0u;
		for (i32 e = 0; e < m; e++) {
			const u32 v = key[e];
			if (v == KNN_NONE) break;
			const u32 l = v >> 5;
			if (c > 0 && l == prev) {
				bits |= 1u << (v & 31u);
				continue;
			}
			if (c > 0) umask[base + c - 1] = bits;
			ulist[base + c] = (i32)l;
			c++;
			prev = l;
			bits = 1u << (v & 31u);
		}
		if (c > 0) umask[base + c - 1] = bits;
		ucount[g] = c;
	}
}

// knn_absmax writes the largest |x[i]| of the elements work-group g visits
// (a grid stride over the n elements) to part[g]; NaN and Inf count as
// +Inf.
KERNEL knn_absmax(const i64 n, GLOBAL const f32 *RESTRICT x, GLOBAL f32 *RESTRICT part) {
	LOCAL f32 red[KNN_RED_LOCAL];
	const i32 t = LID(0), L = LSIZE(0);
	f32 m = 0.0f;
	for (i64 i = GID(0); i < n; i += (i64)L * NGRP(0)) {
		const f32 v = x[i];
		f32 a = v < 0.0f ? -v : v;
		if (!(a <= KNN_FLT_MAX)) a = F32_INF;
		m = a > m ? a : m;
	}
	red[t] = m;
	BARRIER();
	for (i32 s = L / 2; s > 0; s >>= 1) {
		if (t < s && red[t + s] > red[t]) red[t] = red[t + s];
		BARRIER();
	}
	if (t == 0) part[GRP(0)] = red[0];
}

// knn_gather copies rows: dst row r (w 32-bit elements) is src row
// idx[r]; total is the number of elements of dst, one work-item each.
KERNEL knn_gather(const i64 total, const i32 w, GLOBAL const i32 *RESTRICT idx,
                  GLOBAL const u32 *RESTRICT src, GLOBAL u32 *RESTRICT dst) {
	const i64 e = GID(0);
	if (e >= total) return;
	const i64 r = e / w;
	dst[e] = src[(i64)idx[r] * w + (e - r * w)];
}

// knn_list_count counts the points of each list: point i belongs to list
// probes[i*stride] (its nearest centre).
KERNEL knn_list_count(const i32 n, const i32 stride, GLOBAL const i32 *RESTRICT probes,
                      GLOBAL i32 *RESTRICT counts) {
	const i64 i = GID(0);
	if (i >= n) return;
	atomic_add_i32(&counts[probes[i * stride]], 1);
}

// knn_offsets writes the exclusive prefix sums of counts[0..nl-1] to
// offsets[0..nl] in one work-group: each work-item adds a segment, a scan
// of the segment sums in LOCAL memory gives each its start.
KERNEL knn_offsets(const i32 nl, GLOBAL const i32 *RESTRICT counts, GLOBAL i32 *RESTRICT offsets) {
	LOCAL i32 part[KNN_SCAN_LOCAL];
	const i32 t = LID(0), L = LSIZE(0);
	const i32 seg = (nl + L - 1) / L;
	i32 lo = t * seg;
	lo = lo < nl ? lo : nl;
	const i32 hi = lo + seg < nl ? lo + seg : nl;
	i32 s = 0;
	for (i32 i = lo; i < hi; i++) s += counts[i];
	part[t] = s;
	BARRIER();
	for (i32 dd = 1; dd < L; dd <<= 1) {
		const i32 v = t >= dd ? part[t - dd] : 0;
		BARRIER();
		part[t] += v;
		BARRIER();
	}
	i32 run = part[t] - s;
	for (i32 i = lo; i < hi; i++) {
		offsets[i] = run;
		run += counts[i];
	}
	if (t == L - 1) offsets[nl] = part[t];
}

// knn_list_slot gives point i a slot in its list (fill, zeroed, counts
// the slots taken) and records it: ids[slot] = i. The order within a list
// depends on the atomics' order; nothing computed from the lists depends
// on it (knn_scan's ranking is a total order).
KERNEL knn_list_slot(const i32 n, const i32 stride, GLOBAL const i32 *RESTRICT probes,
                     GLOBAL const i32 *RESTRICT offsets, GLOBAL i32 *RESTRICT fill, GLOBAL i32 *RESTRICT ids) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i32 l = probes[i * stride];
	ids[offsets[l] + atomic_add_i32(&fill[l], 1)] = (i32)i;
}

// knn_accumulate adds each row of ts (m x d) to its centre's sums, in
// fixed point (value times scale, truncated to an integer), and counts the
// rows: integer additions commute, so the k-means centres are the same
// bits whatever the atomics' order. One work-item per element.
KERNEL knn_accumulate(const i32 m, const i32 d, GLOBAL const i32 *RESTRICT assign,
                      GLOBAL const f32 *RESTRICT ts, const f64 scale, GLOBAL i64 *RESTRICT sums,
                      GLOBAL i32 *RESTRICT counts) {
	const i64 e = GID(0);
	if (e >= (i64)m * d) return;
	const i64 r = e / d;
	const i64 j = e - r * d;
	const i64 c = (i64)assign[r];
	atomic_add_i64(&sums[c * d + j], (i64)((f64)ts[e] * scale));
	if (j == 0) atomic_add_i32(&counts[c], 1);
}

// knn_invert writes the inverse of the permutation ids: pos[ids[t]] = t.
KERNEL knn_invert(const i32 n, GLOBAL const i32 *RESTRICT ids, GLOBAL i32 *RESTRICT pos) {
	const i64 t = GID(0);
	if (t >= n) return;
	pos[ids[t]] = (i32)t;
}

// knn_rev_count counts, for each point j, the rows of idx (n rows of k)
// other than j's own that list j: the sizes of the reverse lists.
KERNEL knn_rev_count(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT idx, GLOBAL i32 *RESTRICT counts) {
	const i64 q = GID(0);
	if (q >= (i64)n * k) return;
	const i32 j = idx[q];
	if (j >= 0 && (i64)j != q / k) atomic_add_i32(&counts[j], 1);
}

// knn_rev_fill writes the reverse lists: the entries q = j*k + s of idx
// that list point i (j != i) go to rev[ptr[i] ..], in the atomics' order
// (knn_rev_select ranks them by value, so the order does not matter).
KERNEL knn_rev_fill(const i32 n, const i32 k, GLOBAL const i32 *RESTRICT idx, GLOBAL const i32 *RESTRICT ptr,
                    GLOBAL i32 *RESTRICT fill, GLOBAL i32 *RESTRICT rev) {
	const i64 q = GID(0);
	if (q >= (i64)n * k) return;
	const i32 j = idx[q];
	if (j >= 0 && (i64)j != q / k) rev[ptr[j] + atomic_add_i32(&fill[j], 1)] = (i32)q;
}

// knn_rev_select keeps, of the points that list point i (the entries q of
// its reverse list), the m nearest by (dist[q], q / k), nearest first,
// into sel[i*m ..]; -1 fills the rest. A point listed by thousands (a hub)
// costs a scan of its list, not thousands of candidates in knn_refine.
KERNEL knn_rev_select(const i32 n, const i32 k, const i32 m, GLOBAL const f32 *RESTRICT dist,
                      GLOBAL const i32 *RESTRICT ptr, GLOBAL const i32 *RESTRICT rev, GLOBAL i32 *RESTRICT sel) {
	const i64 i = GID(0);
	if (i >= n) return;
	GLOBAL i32 *out = sel + i * m;
	f32 sd[KNN_KMAX];
	i32 bn = 0;
	for (i32 r = ptr[i]; r < ptr[i + 1]; r++) {
		const i32 q = rev[r];
		const f32 dq = dist[q];
		const i32 j = q / k;
		if (bn == m && !(dq < sd[m - 1] || (dq == sd[m - 1] && j < out[m - 1]))) continue;
		i32 t = bn == m ? m - 1 : bn++;
		while (t > 0 && (sd[t - 1] > dq || (sd[t - 1] == dq && out[t - 1] > j))) {
			sd[t] = sd[t - 1];
			out[t] = out[t - 1];
			t--;
		}
		sd[t] = dq;
		out[t] = j;
	}
	for (i32 t = bn; t < m; t++) out[t] = -1;
}

// KNN_REFINE_LOCAL is knn_refine's work-group size; its work-items keep
// their points' coordinates in LOCAL memory when there are at most
// KNN_REFINE_DMAX of them (64 x 128 floats, 32 KiB).
#define KNN_REFINE_LOCAL 64
#define KNN_REFINE_DMAX 128

// knn_refine_dist returns the float64 squared distance between the query
// (its coordinate j at qs[j * qstride]) and row r of xs, or -1 once the
// sum passes bound: the candidate could not enter the list. The sum goes
// coordinate by coordinate; the bound is checked every 8, so that the 8
// loads of a block are in flight together.
DEVICE f64 knn_refine_dist(const i64 r, const i32 d, GLOBAL const f32 *RESTRICT xs, LOCAL_PTR const f32 *qsl,
                           GLOBAL const f32 *RESTRICT qg, const i32 qstride, const i32 useLocal, const f64 bound) {
	GLOBAL const f32 *p = xs + r * d;
	f64 s = 0.0;
	i32 j = 0;
	for (; j + 8 <= d; j += 8) {
		f32 pv[8], qv[8];
		for (i32 t = 0; t < 8; t++) {
			pv[t] = p[j + t];
			qv[t] = useLocal ? qsl[(j + t) * qstride] : qg[j + t];
		}
		for (i32 t = 0; t < 8; t++) {
			const f64 df = (f64)qv[t] - (f64)pv[t];
			s += df * df;
		}
		if (s > bound) return -1.0;
	}
	for (; j < d; j++) {
		const f32 qj = useLocal ? qsl[j * qstride] : qg[j];
		const f64 df = (f64)qj - (f64)p[j];
		s += df * df;
	}
	return s > bound ? -1.0 : s;
}

// knn_refine_insert adds (s, c) to the sorted list bd/bi of *bn entries
// (at most m), unless c is there already, and returns the list's new
// worst distance (+Inf while it is not full) through *worst and *worstI.
DEVICE void knn_refine_insert(const f64 s, const i32 c, const i32 m, f64 *bd, i32 *bi, i32 *bn, f64 *worst,
                              i32 *worstI) {
	for (i32 t = 0; t < *bn; t++)
		if (bi[t] == c) return;
	i32 t = *bn == m ? m - 1 : (*bn)++;
	while (t > 0 && knn_worse(bd[t - 1], bi[t - 1], s, c)) {
		bd[t] = bd[t - 1];
		bi[t] = bi[t - 1];
		t--;
	}
	bd[t] = s;
	bi[t] = c;
	if (*bn == m) {
		*worst = bd[m - 1];
		*worstI = bi[m - 1];
	}
}

// KNN_REFINE_OFFER ranks candidate c of point i: its distance, abandoned
// past the list's worst, then an insertion unless it ranks after the
// worst. A candidate met twice is ranked twice: the worst only improves,
// so a repeat that failed fails again, and one that entered is found by
// the insertion's check. The worst stays in registers; the list, in
// private memory, is touched only by insertions.
#define KNN_REFINE_OFFER(cand)                                                                        \
	do {                                                                                              \
		const i32 c_ = (cand);                                                                        \
		if (c_ >= 0 && (i64)c_ != i) {                                                                \
			const f64 s_ = knn_refine_dist((i64)pos[c_], d, xs, qsl, qg, KNN_REFINE_LOCAL, useLocal, worst); \
			if (s_ >= 0.0 && knn_worse(worst, worstI, s_, c_))                                        \
				knn_refine_insert(s_, c_, m, bd, bi, &bn, &worst, &worstI);                           \
		}                                                                                             \
	} while (0)

// knn_refine is one round of knn.Refine, one work-item a point, the
// points taken in the order of the IVF lists: work-item t refines point
// i = ids[t], whose coordinates are row t of xs (the sorted points; pos
// maps a point to its row). The points of a work-group are then in the
// same lists, and so mostly are their candidates, which makes their rows
// cache hits far more often than in the input's order. Point i's k-1
// nearest candidates (its neighbours in idx, the k-1 nearest points that
// list it, sel[i*(k-1) ..] from knn_rev_select, and the neighbours of
// both) go to its row of oidx and odist, itself first at 0, missing slots
// -1 at +Inf. Rows are read from idx and written to oidx, never the same
// buffer, so the round is a function of its input.
KERNEL knn_refine(const i32 n, const i32 d, const i32 k, GLOBAL const f32 *RESTRICT xs,
                  GLOBAL const i32 *RESTRICT ids, GLOBAL const i32 *RESTRICT pos,
                  GLOBAL const i32 *RESTRICT idx, GLOBAL const i32 *RESTRICT sel,
                  GLOBAL i32 *RESTRICT oidx, GLOBAL f32 *RESTRICT odist) {
	LOCAL f32 qs[KNN_REFINE_DMAX * KNN_REFINE_LOCAL];
	const i64 t = GID(0);
	const i32 useLocal = d <= KNN_REFINE_DMAX;
	LOCAL_PTR const f32 *qsl = qs + LID(0);
	GLOBAL const f32 *qg = xs + (t < n ? t : 0) * d;
	if (useLocal && t < n)
		for (i32 j = 0; j < d; j++) qs[j * KNN_REFINE_LOCAL + LID(0)] = qg[j];
	if (t >= n) return; // no barrier: each work-item reads only its own coordinates
	const i64 i = (i64)ids[t];
	f64 bd[KNN_KMAX];
	i32 bi[KNN_KMAX];
	i32 bn = 0;
	const i32 m = k - 1;
	f64 worst = F64_INF;
	i32 worstI = 0x7fffffff;
	GLOBAL const i32 *own = idx + i * k;
	GLOBAL const i32 *rv = sel + i * m;
	for (i32 s = 0; s < k; s++) KNN_REFINE_OFFER(own[s]);
	for (i32 s = 0; s < m; s++) KNN_REFINE_OFFER(rv[s]);
	for (i32 s = 0; s < k + m; s++) {
		const i32 j = s < k ? own[s] : rv[s - k];
		if (j < 0 || (i64)j == i) continue;
		GLOBAL const i32 *theirs = idx + (i64)j * k;
		for (i32 t = 0; t < k; t++) KNN_REFINE_OFFER(theirs[t]);
	}
	oidx[i * k] = (i32)i;
	odist[i * k] = 0.0f;
	for (i32 s = 0; s < m; s++) {
		oidx[i * k + 1 + s] = s < bn ? bi[s] : -1;
		odist[i * k + 1 + s] = s < bn ? (f32)sqrt(bd[s]) : F32_INF;
	}
}
