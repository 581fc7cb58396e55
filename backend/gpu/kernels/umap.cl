// UMAP's stochastic gradient descent (Backend.UMAPOptimize; umap.go has
// the design): umap-learn's _optimize_layout_euclidean_single_epoch with
// move_other, one work-item per edge, the edges in slot-major order.

// UMAP_NEG_BATCH negative samples are drawn and their coordinates loaded
// together, so that their memory latencies overlap; their updates of the
// head cell then follow one after the other, as in umap-learn.
#define UMAP_NEG_BATCH 4

// The float32 exp2 and log2 have C names in CUDA and overloaded ones in
// OpenCL C.
#ifdef SCBENCH_CUDA
#define UMAP_EXP2(x) exp2f(x)
#define UMAP_LOG2(x) log2f(x)
#else
#define UMAP_EXP2(x) exp2(x)
#define UMAP_LOG2(x) log2(x)
#endif

// umap_clip is umap-learn's clip: a gradient coordinate kept in [-4, 4].
DEVICE f32 umap_clip(const f32 v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

// umap_attractive is the attractive coefficient for d2 > 0,
// -2ab d2^(b-1) / (1 + a d2^b), written as -2ab / (d2^(1-b) + a d2) so
// that no power overflows into inf/inf.
DEVICE f32 umap_attractive(const f32 d2, const f32 a, const f32 b) {
	return -2.0f * a * b / (UMAP_EXP2((1.0f - b) * UMAP_LOG2(d2)) + a * d2);
}

// umap_repulsive is the repulsive coefficient for d2 > 0,
// 2 gamma b / ((0.001 + d2) (1 + a d2^b)).
DEVICE f32 umap_repulsive(const f32 d2, const f32 a, const f32 b, const f32 gamma) {
	return 2.0f * gamma * b / ((0.001f + d2) * (a * UMAP_EXP2(b * UMAP_LOG2(d2)) + 1.0f));
}

// umap_mix is the splitmix64 finalizer.
DEVICE u64 umap_mix(u64 z) {
	z += (u64)0x9e3779b97f4a7c15UL;
	z = (z ^ (z >> 30)) * (u64)0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * (u64)0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

// umap_key is the random key of edge q's negative samples in an epoch: a
// counter-based generator, so no state is kept between epochs and any
// work-item order draws the same cells.
DEVICE u64 umap_key(const u64 seed, const i32 epoch, const i64 q) {
	return umap_mix(seed ^ umap_mix(((u64)(u32)epoch << 40) ^ (u64)q));
}

// umap_draw returns the cell of negative sample p of a key, uniform in
// [0, n) by Lemire's multiply-shift on 32 random bits.
DEVICE i32 umap_draw(const u64 key, const i32 p, const i32 n) {
	const u64 r = umap_mix(key + (u64)(u32)p * (u64)0xd1b54a32d192ed03UL);
	return (i32)(((r >> 32) * (u64)(u32)n) >> 32);
}

// umap_negatives returns how many negative samples edge q draws now and
// advances its negative schedule (umap-learn's n_neg_samples). The count
// is clamped so that the float-to-int conversion is defined.
DEVICE i32 umap_negatives(const f32 epoch, const f32 e, const f32 nsr, GLOBAL f32 *RESTRICT nextNeg, const i64 q) {
	if (!(nsr > 0.0f)) return 0;
	const f32 epsNeg = e / nsr;
	const f32 nn = nextNeg[q];
	f32 f = (epoch - nn) / epsNeg;
	f = f == f ? f : 0.0f;
	f = f > 1073741824.0f ? 1073741824.0f : (f < -1073741824.0f ? -1073741824.0f : f);
	const i32 neg = (i32)f;
	nextNeg[q] = nn + (f32)neg * epsNeg;
	return neg;
}

// umap_init sets each edge's schedule: its first sample at epoch eps (or
// never, +inf, when eps <= 0) and its first negative samples at eps / nsr.
KERNEL umap_init(const i64 m, const f32 nsr, GLOBAL const f32 *RESTRICT eps,
                 GLOBAL f32 *RESTRICT next, GLOBAL f32 *RESTRICT nextNeg) {
	const i64 q = GID(0);
	if (q >= m) return;
	const f32 e = eps[q];
	next[q] = e > 0.0f ? e : F32_INF;
	nextNeg[q] = nsr > 0.0f ? e / nsr : F32_INF;
}

// umap_layout puts row i's edges (rowptr[i] .. rowptr[i+1]-1 of tail and
// eps, one work-item a row) into slot-major order: the edge in slot s of
// row i goes to slotStart[s] + rank[i], rank being the row's place in the
// rows sorted by decreasing degree, so that the rows with more than s
// edges are the first ranks and every slot is contiguous. head receives
// each edge's head.
KERNEL umap_layout(const i32 n, GLOBAL const i64 *RESTRICT rowptr, GLOBAL const i32 *RESTRICT rank,
                   GLOBAL const i64 *RESTRICT slotStart, GLOBAL const i32 *RESTRICT tail,
                   GLOBAL const f32 *RESTRICT eps, GLOBAL i32 *RESTRICT head2, GLOBAL i32 *RESTRICT tail2,
                   GLOBAL f32 *RESTRICT eps2) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i64 lo = rowptr[i], deg = rowptr[i + 1] - lo;
	const i64 r = (i64)rank[i];
	for (i64 s = 0; s < deg; s++) {
		const i64 at = slotStart[s] + r;
		head2[at] = (i32)i;
		tail2[at] = tail[lo + s];
		eps2[at] = eps[lo + s];
	}
}

// umap_edges2 runs one epoch of the m edges in two dimensions, a
// work-item per edge q: if the edge is due (next <= epoch) it reads both
// ends, pulls them together, pushes the head away from the due negative
// samples and advances the edge's schedules. The moves are added to the
// embedding with atomics, as cuML does: the tail's pull at once, the
// head's moves summed in registers and added at the end. Work-items that
// run together read each other's cells before or after their moves
// (Hogwild, as umap-learn's parallel mode), but no move is lost. Each
// group adds its positive samples to *samples.
KERNEL umap_edges2(const i64 m, const i32 n, GLOBAL const i32 *RESTRICT head, GLOBAL const i32 *RESTRICT tail,
                   GLOBAL const f32 *RESTRICT eps, GLOBAL f32 *RESTRICT next, GLOBAL f32 *RESTRICT nextNeg,
                   GLOBAL f32 *emb, GLOBAL i64 *RESTRICT samples, const i32 epoch, const f32 alpha,
                   const f32 a, const f32 b, const f32 gamma, const f32 nsr, const u64 seed) {
	LOCAL i32 count;
	if (LID(0) == 0) count = 0;
	BARRIER();
	const i64 q = GID(0);
	const f32 ep = (f32)epoch;
	const i32 due = q < m && next[q] <= ep;
	if (due) {
		const f32 e = eps[q];
		const i64 i = (i64)head[q], k = (i64)tail[q];
		const f32 cx0 = emb[2 * i], cy0 = emb[2 * i + 1];
		f32 cx = cx0, cy = cy0;
		const f32 ox = emb[2 * k], oy = emb[2 * k + 1];
		const f32 dx = cx - ox, dy = cy - oy;
		const f32 d2 = dx * dx + dy * dy;
		if (d2 > 0.0f) {
			const f32 gc = umap_attractive(d2, a, b);
			const f32 gx = umap_clip(gc * dx) * alpha, gy = umap_clip(gc * dy) * alpha;
			cx += gx;
			cy += gy;
			atomic_add_f32(&emb[2 * k], -gx);
			atomic_add_f32(&emb[2 * k + 1], -gy);
		}
		next[q] = next[q] + e;
		const i32 neg = umap_negatives(ep, e, nsr, nextNeg, q);
		const u64 key = umap_key(seed, epoch, q);
		for (i32 p = 0; p < neg; p += UMAP_NEG_BATCH) {
			i64 c[UMAP_NEG_BATCH];
			f32 nx[UMAP_NEG_BATCH], ny[UMAP_NEG_BATCH];
			for (i32 t = 0; t < UMAP_NEG_BATCH; t++) {
				c[t] = p + t < neg ? (i64)umap_draw(key, p + t, n) : i;
				nx[t] = emb[2 * c[t]];
				ny[t] = emb[2 * c[t] + 1];
			}
			for (i32 t = 0; t < UMAP_NEG_BATCH; t++) {
				if (c[t] == i) continue; // itself (or past the count): no force
				const f32 ux = cx - nx[t], uy = cy - ny[t];
				const f32 u2 = ux * ux + uy * uy;
				if (u2 > 0.0f) {
					const f32 gc = umap_repulsive(u2, a, b, gamma);
					cx += umap_clip(gc * ux) * alpha;
					cy += umap_clip(gc * uy) * alpha;
				} else {
					cx += 4.0f * alpha; // coincident cells: umap-learn's fixed push
					cy += 4.0f * alpha;
				}
			}
		}
		atomic_add_f32(&emb[2 * i], cx - cx0);
		atomic_add_f32(&emb[2 * i + 1], cy - cy0);
		local_atomic_add_i32(&count, 1);
	}
	BARRIER();
	if (LID(0) == 0 && count != 0) atomic_add_i64(samples, (i64)count);
}

// umap_edges is umap_edges2 in dim dimensions, reading the coordinates in
// device memory as umap-learn does through its views and adding each move
// to them with atomics (cuML's way when its cells do not fit in local
// memory).
KERNEL umap_edges(const i64 m, const i32 n, const i32 dim, GLOBAL const i32 *RESTRICT head,
                  GLOBAL const i32 *RESTRICT tail, GLOBAL const f32 *RESTRICT eps, GLOBAL f32 *RESTRICT next,
                  GLOBAL f32 *RESTRICT nextNeg, GLOBAL f32 *emb, GLOBAL i64 *RESTRICT samples, const i32 epoch,
                  const f32 alpha, const f32 a, const f32 b, const f32 gamma, const f32 nsr, const u64 seed) {
	LOCAL i32 count;
	if (LID(0) == 0) count = 0;
	BARRIER();
	const i64 q = GID(0);
	const f32 ep = (f32)epoch;
	const i32 due = q < m && next[q] <= ep;
	if (due) {
		const f32 e = eps[q];
		const i64 i = (i64)head[q];
		GLOBAL f32 *cur = emb + i * dim;
		GLOBAL f32 *oth = emb + (i64)tail[q] * dim;
		f32 d2 = 0.0f;
		for (i32 d = 0; d < dim; d++) {
			const f32 t = cur[d] - oth[d];
			d2 += t * t;
		}
		if (d2 > 0.0f) {
			const f32 gc = umap_attractive(d2, a, b);
			for (i32 d = 0; d < dim; d++) {
				const f32 g = umap_clip(gc * (cur[d] - oth[d])) * alpha;
				atomic_add_f32(&cur[d], g);
				atomic_add_f32(&oth[d], -g);
			}
		}
		next[q] = next[q] + e;
		const i32 neg = umap_negatives(ep, e, nsr, nextNeg, q);
		const u64 key = umap_key(seed, epoch, q);
		for (i32 p = 0; p < neg; p++) {
			const i64 c = (i64)umap_draw(key, p, n);
			if (c == i) continue;
			oth = emb + c * dim;
			f32 u2 = 0.0f;
			for (i32 d = 0; d < dim; d++) {
				const f32 t = cur[d] - oth[d];
				u2 += t * t;
			}
			if (u2 > 0.0f) {
				const f32 gc = umap_repulsive(u2, a, b, gamma);
				for (i32 d = 0; d < dim; d++) atomic_add_f32(&cur[d], umap_clip(gc * (cur[d] - oth[d])) * alpha);
			} else {
				for (i32 d = 0; d < dim; d++) atomic_add_f32(&cur[d], 4.0f * alpha);
			}
		}
		local_atomic_add_i32(&count, 1);
	}
	BARRIER();
	if (LID(0) == 0 && count != 0) atomic_add_i64(samples, (i64)count);
}
