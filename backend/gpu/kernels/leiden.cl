// Leiden community detection (leiden.go): local moving, refinement and
// aggregation of one level, all on the device. The graph of a level is a
// CSR matrix (ptr, idx) with int64 weights in fixed point (the input's
// float32 weights times a power of two, leiden_fixed), so that every sum
// of weights (strengths, community totals, the aggregated graph's
// entries) is an integer that atomics add exactly, in any order: no
// result depends on the order of atomic operations. Gains are float64
// expressions of those integers, evaluated the same way by every run.
//
// Per-node hash tables (leiden_move, leiden_ref_move) live in a scratch
// area of 2 slots per stored entry: node i owns slots [2 ptr[i], 2
// ptr[i+1]), at most half full, keys stored as community + 1 (0: empty).
// Only node i's work-item touches them: no atomics. The aggregation's
// tables (leiden_agg_insert) are shared by the members of an aggregated
// node, filled with atomic compare-and-swap and int64 additions.

// LEIDEN_LOCAL is the largest work-group of the reduction kernels (a
// power of two).
#define LEIDEN_LOCAL 256
#define LEIDEN_FLT_MAX 3.402823466e+38f
#define LEIDEN_U64(hi, lo) (((u64)(hi) << 32) | (u64)(lo))

// leiden_mix is splitmix64's finalizer: a bijection of u64 that spreads
// every input bit over the output.
DEVICE u64 leiden_mix(u64 z) {
	z ^= z >> 30;
	z *= LEIDEN_U64(0xbf58476du, 0x1ce4e5b9u);
	z ^= z >> 27;
	z *= LEIDEN_U64(0x94d049bbu, 0x133111ebu);
	z ^= z >> 31;
	return z;
}

// leiden_coin is node v's coin (0 or 1) in the round whose stream the
// host derived from (seed, pass, level, round).
DEVICE i32 leiden_coin(const u64 stream, const i32 v) {
	return (i32)(leiden_mix(stream + (u64)(u32)v * LEIDEN_U64(0x9e3779b9u, 0x7f4a7c15u)) >> 63);
}

// leiden_slot is the first slot of key c in a table of t slots.
DEVICE i64 leiden_slot(const i32 c, const i64 t) {
	u64 h = (u64)(u32)c * LEIDEN_U64(0x9e3779b9u, 0x7f4a7c15u);
	h ^= h >> 32;
	return (i64)(h % (u64)t);
}

// leiden_tab_add adds w to key c of a work-item's own table (t slots
// from base): linear probing, no atomics.
DEVICE void leiden_tab_add(GLOBAL i32 *key, GLOBAL i64 *val, const i64 base, const i64 t, const i32 c,
                           const i64 w) {
	i64 s = leiden_slot(c, t);
	for (;;) {
		const i32 k = key[base + s];
		if (k == c + 1) {
			val[base + s] += w;
			return;
		}
		if (k == 0) {
			key[base + s] = c + 1;
			val[base + s] = w;
			return;
		}
		s = s + 1 == t ? 0 : s + 1;
	}
}

// leiden_tab_get returns the value of key c of a table (0 if absent).
DEVICE i64 leiden_tab_get(GLOBAL const i32 *key, GLOBAL const i64 *val, const i64 base, const i64 t,
                          const i32 c) {
	i64 s = leiden_slot(c, t);
	for (;;) {
		const i32 k = key[base + s];
		if (k == c + 1) return val[base + s];
		if (k == 0) return 0;
		s = s + 1 == t ? 0 : s + 1;
	}
}

// leiden_check counts in bad[0] the rows whose pointers are out of order
// or outside [0, nnz], in bad[1] the entries whose column is outside [0,
// n) or whose weight is negative, NaN or infinite. One work-item per row.
KERNEL leiden_check(const i32 n, const i64 nnz, GLOBAL const i64 *RESTRICT ptr,
                    GLOBAL const i32 *RESTRICT idx, GLOBAL const f32 *RESTRICT w,
                    GLOBAL i32 *RESTRICT bad) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i64 lo = ptr[i], hi = ptr[i + 1];
	if (lo < 0 || hi < lo || hi > nnz) {
		atomic_add_i32(&bad[0], 1);
		return;
	}
	i32 nb = 0;
	for (i64 q = lo; q < hi; q++) {
		const i32 j = idx[q];
		const f32 x = w[q];
		if (j < 0 || j >= n || !(x >= 0.0f) || x > LEIDEN_FLT_MAX) nb++;
	}
	if (nb != 0) atomic_add_i32(&bad[1], nb);
}

// leiden_fixed converts the weights to fixed point: round(w scale).
KERNEL leiden_fixed(const i64 nnz, const f64 scale, GLOBAL const f32 *RESTRICT w, GLOBAL i64 *RESTRICT out) {
	const i64 q = GID(0);
	if (q >= nnz) return;
	out[q] = (i64)floor((f64)w[q] * scale + 0.5);
}

// leiden_strength: k[i] = the sum of row i; total[0] += the sum of all
// rows (a tree per work-group of a power-of-two size, then one atomic).
KERNEL leiden_strength(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i64 *RESTRICT w,
                       GLOBAL i64 *RESTRICT k, GLOBAL i64 *RESTRICT total) {
	LOCAL i64 s[LEIDEN_LOCAL];
	const i32 t = LID(0);
	const i64 i = GID(0);
	i64 sum = 0;
	if (i < n) {
		const i64 hi = ptr[i + 1];
		for (i64 q = ptr[i]; q < hi; q++) sum += w[q];
		k[i] = sum;
	}
	s[t] = sum;
	BARRIER();
	for (i32 h = LSIZE(0) / 2; h > 0; h >>= 1) {
		if (t < h) s[t] += s[t + h];
		BARRIER();
	}
	if (t == 0 && s[0] != 0) atomic_add_i64(total, s[0]);
}

// leiden_inside: total[0] += the weight of the entries (i, j) with
// part[i] == part[j], self loops included (Modularity's first term).
KERNEL leiden_inside(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT idx,
                     GLOBAL const i64 *RESTRICT w, GLOBAL const i32 *RESTRICT part,
                     GLOBAL i64 *RESTRICT total) {
	LOCAL i64 s[LEIDEN_LOCAL];
	const i32 t = LID(0);
	const i64 i = GID(0);
	i64 sum = 0;
	if (i < n) {
		const i32 c = part[i];
		const i64 hi = ptr[i + 1];
		for (i64 q = ptr[i]; q < hi; q++) sum += part[idx[q]] == c ? w[q] : 0;
	}
	s[t] = sum;
	BARRIER();
	for (i32 h = LSIZE(0) / 2; h > 0; h >>= 1) {
		if (t < h) s[t] += s[t + h];
		BARRIER();
	}
	if (t == 0 && s[0] != 0) atomic_add_i64(total, s[0]);
}

// leiden_identity: x[i] = i.
KERNEL leiden_identity(const i32 n, GLOBAL i32 *RESTRICT x) {
	const i64 i = GID(0);
	if (i < n) x[i] = (i32)i;
}

// leiden_comm_totals: commK[part[i]] += k[i] (commK zeroed).
KERNEL leiden_comm_totals(const i32 n, GLOBAL const i32 *RESTRICT part, GLOBAL const i64 *RESTRICT k,
                          GLOBAL i64 *RESTRICT commK, GLOBAL i32 *RESTRICT commN) {
	const i64 i = GID(0);
	if (i >= n) return;
	atomic_add_i64(&commK[part[i]], k[i]);
	atomic_add_i32(&commN[part[i]], 1);
}

// leiden_move: one work-item per node i decides its move of a synchronous
// sweep from the state before the sweep (part, commK, commN), into
// next[i]: the neighbouring community c with the largest gain
//
//	(w(i, c) - w(i, own - i)) - gamma k_i (K_c - (K_own - k_i)) / 2m
//
// above eps (ties to the smaller c); else its own. gOver is gamma / 2m.
// Simultaneous moves are judged on a state that they change, so two
// measures keep them from undoing each other: only the nodes whose coin
// (from stream) is 1 move in a sweep, so that two neighbours move
// together in a quarter of the cases rather than always; and a node alone
// in its community joins another single node's community only if that
// one's id is smaller (as Lu, Halappanavar and Kalyanaraman's parallel
// Louvain does), so that two single nodes never swap.
KERNEL leiden_move(const i32 n, const u64 stream, const f64 gOver, const f64 eps, GLOBAL const i64 *RESTRICT ptr,
                   GLOBAL const i32 *RESTRICT idx, GLOBAL const i64 *RESTRICT w, GLOBAL const i64 *RESTRICT k,
                   GLOBAL const i32 *RESTRICT part, GLOBAL const i64 *RESTRICT commK,
                   GLOBAL const i32 *RESTRICT commN, GLOBAL i32 *RESTRICT tabK, GLOBAL i64 *RESTRICT tabV,
                   GLOBAL i32 *RESTRICT next) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i32 own = part[i];
	if (leiden_coin(stream, (i32)i) == 0) {
		next[i] = own;
		return;
	}
	const i32 alone = commN[own] == 1;
	const i64 lo = ptr[i], hi = ptr[i + 1];
	const i64 t = 2 * (hi - lo), base = 2 * lo;
	i32 best = own;
	f64 bestGain = eps;
	if (hi > lo) {
		for (i64 s = 0; s < t; s++) tabK[base + s] = 0;
		for (i64 q = lo; q < hi; q++) {
			const i32 j = idx[q];
			if ((i64)j != i) leiden_tab_add(tabK, tabV, base, t, part[j], w[q]);
		}
		const i64 ki = k[i];
		const i64 wOwn = leiden_tab_get(tabK, tabV, base, t, own);
		const i64 kOwn = commK[own] - ki;
		const f64 kig = (f64)ki * gOver;
		for (i64 q = lo; q < hi; q++) {
			const i32 j = idx[q];
			if ((i64)j == i) continue;
			const i32 c = part[j];
			if (c == own || (alone && c > own && commN[c] == 1)) continue;
			const f64 gain = (f64)(leiden_tab_get(tabK, tabV, base, t, c) - wOwn) - kig * (f64)(commK[c] - kOwn);
			if (gain > bestGain || (gain == bestGain && best != own && c < best)) {
				best = c;
				bestGain = gain;
			}
		}
	}
	next[i] = best;
}

// leiden_apply makes the sweep's moves: part[i] = next[i], the community
// totals updated with integer atomics; count[slot] += the moves.
KERNEL leiden_apply(const i32 n, const i32 slot, GLOBAL const i64 *RESTRICT k, GLOBAL i32 *RESTRICT part,
                    GLOBAL const i32 *RESTRICT next, GLOBAL i64 *RESTRICT commK, GLOBAL i32 *RESTRICT commN,
                    GLOBAL i32 *RESTRICT count) {
	LOCAL i32 moved;
	if (LID(0) == 0) moved = 0;
	BARRIER();
	const i64 i = GID(0);
	if (i < n) {
		const i32 a = part[i], b = next[i];
		if (a != b) {
			part[i] = b;
			atomic_add_i64(&commK[a], -k[i]);
			atomic_add_i64(&commK[b], k[i]);
			atomic_add_i32(&commN[a], -1);
			atomic_add_i32(&commN[b], 1);
			local_atomic_add_i32(&moved, 1);
		}
	}
	BARRIER();
	if (LID(0) == 0 && moved != 0) atomic_add_i32(&count[slot], moved);
}

// leiden_ref_init starts the refinement from singletons.
KERNEL leiden_ref_init(const i32 n, GLOBAL const i64 *RESTRICT k, GLOBAL i32 *RESTRICT ref,
                       GLOBAL i64 *RESTRICT refK, GLOBAL i32 *RESTRICT refSize) {
	const i64 i = GID(0);
	if (i >= n) return;
	ref[i] = (i32)i;
	refK[i] = k[i];
	refSize[i] = 1;
}

// leiden_ref_out: refOut[C] += the weight from the members of
// sub-community C to the rest of their community (refOut zeroed): the
// well-connectedness test's w(C, S - C), at the start of the refinement
// (leiden_ref_apply keeps it up to date).
KERNEL leiden_ref_out(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT idx,
                      GLOBAL const i64 *RESTRICT w, GLOBAL const i32 *RESTRICT part,
                      GLOBAL const i32 *RESTRICT ref, GLOBAL i64 *RESTRICT refOut) {
	const i64 v = GID(0);
	if (v >= n) return;
	const i32 S = part[v], C = ref[v];
	const i64 hi = ptr[v + 1];
	i64 sum = 0;
	for (i64 q = ptr[v]; q < hi; q++) {
		const i32 u = idx[q];
		if ((i64)u != v && part[u] == S && ref[u] != C) sum += w[q];
	}
	if (sum != 0) atomic_add_i64(&refOut[C], sum);
}

// leiden_ref_move: one round of the refinement's merges (Traag et al.,
// Algorithm A.3, made parallel). A node v still alone in its
// sub-community and well connected to its community S (w(v, S - v) >=
// gamma k_v (K_S - k_v) / 2m) may join a well-connected sub-community C
// of S with gain w(v, C) - gamma k_v K_C / 2m >= 0, the largest (ties to
// the smaller C). So that no two moves of a round interfere, a coin
// splits the singletons into movers and receivers: only movers move, and
// only into sub-communities that are not movers (larger than one node,
// or a receiver); a moving singleton is thus never a target. target[v]
// receives the choice (-1: none); count[slot] += the nodes with a candidate,
// mover or not (the rounds stop when none has).
KERNEL leiden_ref_move(const i32 n, const u64 stream, const f64 gOver, GLOBAL const i64 *RESTRICT ptr,
                       GLOBAL const i32 *RESTRICT idx, GLOBAL const i64 *RESTRICT w, GLOBAL const i64 *RESTRICT k,
                       GLOBAL const i32 *RESTRICT part, GLOBAL const i64 *RESTRICT commK,
                       GLOBAL const i32 *RESTRICT ref, GLOBAL const i64 *RESTRICT refK,
                       GLOBAL const i64 *RESTRICT refOut, GLOBAL const i32 *RESTRICT refSize,
                       GLOBAL i32 *RESTRICT tabK, GLOBAL i64 *RESTRICT tabV, GLOBAL i32 *RESTRICT target,
                       GLOBAL i64 *RESTRICT wTarget, GLOBAL i32 *RESTRICT count, const i32 slot) {
	LOCAL i32 want;
	if (LID(0) == 0) want = 0;
	BARRIER();
	const i64 v = GID(0);
	i32 tgt = -1, wanted = 0;
	i64 wt = 0;
	if (v < n && ref[v] == (i32)v && refSize[v] == 1) {
		const i32 S = part[v];
		const i64 kv = k[v], kS = commK[S];
		const f64 kvg = (f64)kv * gOver;
		const i64 lo = ptr[v], hi = ptr[v + 1];
		if (hi > lo && (f64)refOut[v] >= kvg * (f64)(kS - kv)) {
			const i64 t = 2 * (hi - lo), base = 2 * lo;
			for (i64 s = 0; s < t; s++) tabK[base + s] = 0;
			for (i64 q = lo; q < hi; q++) {
				const i32 u = idx[q];
				if ((i64)u != v && part[u] == S) leiden_tab_add(tabK, tabV, base, t, ref[u], w[q]);
			}
			const i32 mover = leiden_coin(stream, (i32)v);
			f64 bestGain = 0.0;
			for (i64 q = lo; q < hi; q++) {
				const i32 u = idx[q];
				if ((i64)u == v || part[u] != S) continue;
				const i32 C = ref[u];
				const i64 KC = refK[C];
				if ((f64)refOut[C] < (f64)KC * gOver * (f64)(kS - KC)) continue;
				const i64 wvC = leiden_tab_get(tabK, tabV, base, t, C);
				const f64 gain = (f64)wvC - kvg * (f64)KC;
				if (gain < 0.0) continue;
				wanted = 1;
				if (mover == 0 || (refSize[C] == 1 && leiden_coin(stream, C) != 0)) continue;
				if (tgt < 0 || gain > bestGain || (gain == bestGain && C < tgt)) {
					tgt = C;
					bestGain = gain;
					wt = wvC;
				}
			}
		}
	}
	if (v < n) {
		target[v] = tgt;
		wTarget[v] = wt;
	}
	if (wanted != 0) local_atomic_add_i32(&want, 1);
	BARRIER();
	if (LID(0) == 0 && want != 0) atomic_add_i32(&count[slot], want);
}

// leiden_ref_apply makes the round's merges: v joins target[v];
// count[slot] += their number. A mover is never a target, so its own
// sub-community (now empty) is written by no other work-item. The cut of
// a target C grows by what its movers M bring:
//
//	w(C+M, S-C-M) = w(C, S-C) + sum_{v in M} (w(v, S-v) - 2 w(v, C) - w(v, M-v))
//
// with w(v, C) from leiden_ref_move (wTarget) and w(v, M-v) the weight to
// the neighbours that join C in the same round: exact integers, so that
// leiden_ref_out runs once per level.
KERNEL leiden_ref_apply(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT idx,
                        GLOBAL const i64 *RESTRICT w, GLOBAL const i64 *RESTRICT k, GLOBAL i32 *RESTRICT ref,
                        GLOBAL const i32 *RESTRICT target, GLOBAL const i64 *RESTRICT wTarget,
                        GLOBAL i64 *RESTRICT refK, GLOBAL i64 *RESTRICT refOut, GLOBAL i32 *RESTRICT refSize,
                        GLOBAL i32 *RESTRICT count, const i32 slot) {
	LOCAL i32 moved;
	if (LID(0) == 0) moved = 0;
	BARRIER();
	const i64 v = GID(0);
	if (v < n) {
		const i32 C = target[v];
		if (C >= 0) {
			i64 cut = refOut[v] - 2 * wTarget[v];
			const i64 hi = ptr[v + 1];
			for (i64 q = ptr[v]; q < hi; q++) {
				const i32 u = idx[q];
				if ((i64)u != v && target[u] == C) cut -= w[q];
			}
			ref[v] = C;
			refK[v] = 0;
			refSize[v] = 0;
			refOut[v] = 0;
			atomic_add_i64(&refK[C], k[v]);
			atomic_add_i64(&refOut[C], cut);
			atomic_add_i32(&refSize[C], 1);
			local_atomic_add_i32(&moved, 1);
		}
	}
	BARRIER();
	if (LID(0) == 0 && moved != 0) atomic_add_i32(&count[slot], moved);
}

// leiden_agg_mark flags the sub-communities and communities in use:
// mark[ref[i]] = 1 and mark[n+1+part[i]] = 1 (mark zeroed), for the two
// scans that number them.
KERNEL leiden_agg_mark(const i32 n, GLOBAL const i32 *RESTRICT ref, GLOBAL const i32 *RESTRICT part,
                       GLOBAL i64 *RESTRICT mark) {
	const i64 i = GID(0);
	if (i >= n) return;
	mark[ref[i]] = 1;
	mark[(i64)n + 1 + part[i]] = 1;
}

// leiden_agg_map: after the scans, node i belongs to aggregated node
// rid[i] = mark[ref[i]], whose community at the next level is the
// number of i's community, mark[n+1+part[i]] (every member writes the
// same); deg[r] sums the row lengths of r's members (its table's size is
// twice that), knew[r] their strengths (both zeroed).
KERNEL leiden_agg_map(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT ref,
                      GLOBAL const i32 *RESTRICT part, GLOBAL const i64 *RESTRICT k,
                      GLOBAL const i64 *RESTRICT mark, GLOBAL i32 *RESTRICT rid, GLOBAL i32 *RESTRICT newPart,
                      GLOBAL i64 *RESTRICT deg, GLOBAL i64 *RESTRICT knew) {
	const i64 i = GID(0);
	if (i >= n) return;
	const i32 r = (i32)mark[ref[i]];
	rid[i] = r;
	newPart[r] = (i32)mark[(i64)n + 1 + part[i]];
	atomic_add_i64(&deg[r], ptr[i + 1] - ptr[i]);
	atomic_add_i64(&knew[r], k[i]);
}

// leiden_top follows the original nodes to the next level: top[i] =
// rid[top[i]].
KERNEL leiden_top(const i32 n0, GLOBAL const i32 *RESTRICT rid, GLOBAL i32 *RESTRICT top) {
	const i64 i = GID(0);
	if (i < n0) top[i] = rid[top[i]];
}

// leiden_agg_insert adds every entry (v, u, w) to the table of rid[v]
// (2 (toff[r+1] - toff[r]) slots from 2 toff[r], zeroed) under key rid[u]:
// a key claims its slot by compare-and-swap, weights add as int64
// atomics; cnt[r] counts r's distinct keys. One work-item per node.
KERNEL leiden_agg_insert(const i32 n, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT idx,
                         GLOBAL const i64 *RESTRICT w, GLOBAL const i32 *RESTRICT rid,
                         GLOBAL const i64 *RESTRICT toff, GLOBAL i32 *RESTRICT tabK, GLOBAL i64 *RESTRICT tabV,
                         GLOBAL i64 *RESTRICT cnt) {
	const i64 v = GID(0);
	if (v >= n) return;
	const i32 r = rid[v];
	const i64 base = 2 * toff[r], t = 2 * (toff[r + 1] - toff[r]);
	const i64 hi = ptr[v + 1];
	for (i64 q = ptr[v]; q < hi; q++) {
		const i32 c = rid[idx[q]];
		i64 s = leiden_slot(c, t);
		for (;;) {
			i32 key = tabK[base + s];
			if (key == 0) {
				key = atomic_cas_i32(&tabK[base + s], 0, c + 1);
				if (key == 0) {
					atomic_add_i64(&cnt[r], (i64)1);
					break;
				}
			}
			if (key == c + 1) break;
			s = s + 1 == t ? 0 : s + 1;
		}
		atomic_add_i64(&tabV[base + s], w[q]);
	}
}

// leiden_agg_compact moves each used slot of the tables (2 toff[nr] of
// them) to the row of its aggregated node r (found by bisection of toff),
// at ptr[r] plus a place handed out by cursor[r] (zeroed): col, wt and
// row hold the entries, each row in any order until leiden_agg_sort.
KERNEL leiden_agg_compact(const i32 nr, GLOBAL const i64 *RESTRICT toff, GLOBAL const i32 *RESTRICT tabK,
                          GLOBAL const i64 *RESTRICT tabV, GLOBAL const i64 *RESTRICT ptr,
                          GLOBAL i32 *RESTRICT cursor, GLOBAL i32 *RESTRICT col, GLOBAL i64 *RESTRICT wt,
                          GLOBAL i32 *RESTRICT row) {
	const i64 s = GID(0);
	if (s >= 2 * toff[nr]) return;
	const i32 key = tabK[s];
	if (key == 0) return;
	i32 lo = 0, hi = nr;
	while (hi - lo > 1) {
		const i32 mid = lo + (hi - lo) / 2;
		if (2 * toff[mid] <= s)
			lo = mid;
		else
			hi = mid;
	}
	const i64 p = ptr[lo] + (i64)atomic_add_i32(&cursor[lo], 1);
	col[p] = key - 1;
	wt[p] = tabV[s];
	row[p] = lo;
}

// leiden_agg_sort puts each entry of the aggregated graph at its rank by
// column within its row: rows sorted by column, the same on every run.
// The cost is the square of a row's length, summed over the rows.
KERNEL leiden_agg_sort(const i64 nnz, GLOBAL const i64 *RESTRICT ptr, GLOBAL const i32 *RESTRICT row,
                       GLOBAL const i32 *RESTRICT col, GLOBAL const i64 *RESTRICT wt,
                       GLOBAL i32 *RESTRICT outIdx, GLOBAL i64 *RESTRICT outW) {
	const i64 p = GID(0);
	if (p >= nnz) return;
	const i32 r = row[p], c = col[p];
	const i64 lo = ptr[r], hi = ptr[r + 1];
	i64 rank = lo;
	for (i64 q = lo; q < hi; q++) rank += col[q] < c ? 1 : 0;
	outIdx[rank] = c;
	outW[rank] = wt[p];
}

// leiden_labels: out[i] = part[top[i]], the community of original node i.
KERNEL leiden_labels(const i32 n0, GLOBAL const i32 *RESTRICT top, GLOBAL const i32 *RESTRICT part,
                     GLOBAL i32 *RESTRICT out) {
	const i64 i = GID(0);
	if (i < n0) out[i] = part[top[i]];
}
