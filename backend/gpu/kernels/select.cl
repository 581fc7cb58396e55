// Row and column selections of a CSR matrix (SelectRows, SelectCols):
// each counts the values it keeps per row, turns the counts into the new
// row pointers with an exclusive scan on the device, and fills the new
// matrix. The host reads back only the totals it needs to allocate.

// SELECT_SCAN_LOCAL is the largest work-group select_scan takes;
// SELECT_LOCAL the largest that select_cols_fill takes.
#define SELECT_SCAN_LOCAL 1024
#define SELECT_LOCAL 256
// SELECT_PER_ITEM consecutive values per work-item and window in
// select_cols_fill: fewer barriers per value than one.
#define SELECT_PER_ITEM 4

// select_scan: group g replaces x[g*(n+1) + k], k < n, by the sum of the
// elements before it and writes their total to x[g*(n+1) + n]. One
// work-group per array: each work-item adds a segment of consecutive
// elements serially, a scan of the segment sums in LOCAL memory gives each
// its start, and a second pass writes the prefix sums. Bound by the memory
// latency of the serial segments: meant for a chunk's rows (tens to a few
// hundred thousand elements), where it costs tens of microseconds.
KERNEL select_scan(const i64 n, GLOBAL i64 *RESTRICT x) {
	LOCAL i64 part[SELECT_SCAN_LOCAL];
	const i32 t = LID(0), L = LSIZE(0);
	GLOBAL i64 *a = x + (i64)GRP(0) * (n + 1);
	const i64 seg = (n + L - 1) / L;
	i64 lo = (i64)t * seg;
	lo = lo < n ? lo : n;
	const i64 hi = lo + seg < n ? lo + seg : n;
	i64 s = 0;
	for (i64 k = lo; k < hi; k++) s += a[k];
	part[t] = s;
	BARRIER();
	// Hillis-Steele inclusive scan of the L segment sums.
	for (i32 d = 1; d < L; d <<= 1) {
		const i64 v = t >= d ? part[t - d] : 0;
		BARRIER();
		part[t] += v;
		BARRIER();
	}
	i64 run = part[t] - s;
	for (i64 k = lo; k < hi; k++) {
		const i64 v = a[k];
		a[k] = run;
		run += v;
	}
	if (t == L - 1) a[n] = part[t];
}

// select_rows_count: for each row i, s[i] = 1 when keep[i] != 0 (the
// rank's input) and s[rows+1+i] = the number of values it brings (the new
// row pointers' input); one work-item per row.
KERNEL select_rows_count(const i32 rows, GLOBAL const i64 *RESTRICT indptr,
                         GLOBAL const u8 *RESTRICT keep, GLOBAL i64 *RESTRICT s) {
	const i64 i = GID(0);
	if (i >= rows) return;
	const i64 kept = keep[i] != 0 ? 1 : 0;
	s[i] = kept;
	s[rows + 1 + i] = kept * (indptr[i + 1] - indptr[i]);
}

// select_rows_indptr: after the scans, s[i] is a kept row's new index and
// s[rows+1+i] its first value's new position; the new row pointers are
// those of the kept rows, then the total. One work-item per row, and one
// more for the total.
KERNEL select_rows_indptr(const i32 rows, GLOBAL const u8 *RESTRICT keep,
                          GLOBAL const i64 *RESTRICT s, GLOBAL i64 *RESTRICT outIndptr) {
	const i64 i = GID(0);
	if (i > rows) return;
	if (i == rows || keep[i] != 0) outIndptr[s[i]] = s[rows + 1 + i];
}

// select_rows_fill copies kept row GRP(0) to its new position, the
// work-items of the group striding over the row: coalesced reads and
// writes, bound by memory bandwidth (8 bytes read and written a value).
KERNEL select_rows_fill(const i32 rows, GLOBAL const i64 *RESTRICT indptr,
                        GLOBAL const i32 *RESTRICT indices, GLOBAL const f32 *RESTRICT data,
                        GLOBAL const u8 *RESTRICT keep, GLOBAL const i64 *RESTRICT s,
                        GLOBAL i32 *RESTRICT outIndices, GLOBAL f32 *RESTRICT outData) {
	const i64 i = (i64)GRP(0);
	if (keep[i] == 0) return;
	const i64 lo = indptr[i], hi = indptr[i + 1];
	const i64 shift = s[rows + 1 + i] - lo;
	for (i64 k = lo + LID(0); k < hi; k += LSIZE(0)) {
		outIndices[shift + k] = indices[k];
		outData[shift + k] = data[k];
	}
}

// select_cols_check flags a newIndex that maps a column out of [0,
// newCols) or two columns to one index: seen (newCols+1 zeroed int32)
// counts each new index's columns, and seen[newCols] becomes non-zero on
// a violation. One work-item per column.
KERNEL select_cols_check(const i32 cols, const i32 newCols, GLOBAL const i32 *RESTRICT newIndex,
                         GLOBAL i32 *RESTRICT seen) {
	const i64 j = GID(0);
	if (j >= cols) return;
	const i32 t = newIndex[j];
	if (t < 0) return;
	if (t >= newCols || atomic_add_i32(&seen[t], 1) != 0) atomic_add_i32(&seen[newCols], 1);
}

// select_cols_count writes the number of kept values of row GRP(0) into
// counts[GRP(0)]; the group's work-items stride over the row (coalesced
// reads of the indices, newIndex gathered from L1/L2) and add their
// counts with integer atomics.
KERNEL select_cols_count(GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                         GLOBAL const i32 *RESTRICT newIndex, GLOBAL i64 *RESTRICT counts) {
	LOCAL i32 total;
	const i64 i = (i64)GRP(0);
	if (LID(0) == 0) total = 0;
	BARRIER();
	const i64 hi = indptr[i + 1];
	i32 n = 0;
	for (i64 k = indptr[i] + LID(0); k < hi; k += LSIZE(0)) n += newIndex[indices[k]] >= 0 ? 1 : 0;
	if (n != 0) local_atomic_add_i32(&total, n);
	BARRIER();
	if (LID(0) == 0) counts[i] = (i64)total;
}

// select_cols_fill writes the kept values of row GRP(0), renumbered, from
// its new row pointer on, in their order. The group walks the row in
// windows of LSIZE*SELECT_PER_ITEM values, each work-item holding
// SELECT_PER_ITEM consecutive ones; a scan of the work-items' kept counts
// in LOCAL memory gives each its output position. Bound by memory
// bandwidth on long rows (the reads and writes are coalesced) and by the
// scan's barriers on short ones.
KERNEL select_cols_fill(GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                        GLOBAL const f32 *RESTRICT data, GLOBAL const i32 *RESTRICT newIndex,
                        GLOBAL const i64 *RESTRICT outIndptr, GLOBAL i32 *RESTRICT outIndices,
                        GLOBAL f32 *RESTRICT outData) {
	LOCAL i32 part[SELECT_LOCAL];
	const i64 i = (i64)GRP(0);
	const i32 t = LID(0), L = LSIZE(0);
	const i64 hi = indptr[i + 1];
	const i64 window = (i64)L * SELECT_PER_ITEM;
	i64 o = outIndptr[i];
	// The trip count is the same for every work-item: the barriers inside
	// are reached by all.
	for (i64 base = indptr[i]; base < hi; base += window) {
		const i64 k0 = base + (i64)t * SELECT_PER_ITEM;
		i32 c[SELECT_PER_ITEM];
		i32 n = 0;
		for (i32 e = 0; e < SELECT_PER_ITEM; e++) {
			c[e] = k0 + e < hi ? newIndex[indices[k0 + e]] : -1;
			n += c[e] >= 0 ? 1 : 0;
		}
		part[t] = n;
		BARRIER();
		for (i32 d = 1; d < L; d <<= 1) {
			const i32 v = t >= d ? part[t - d] : 0;
			BARRIER();
			part[t] += v;
			BARRIER();
		}
		i64 p = o + (i64)(part[t] - n);
		for (i32 e = 0; e < SELECT_PER_ITEM; e++) {
			if (c[e] >= 0) {
				outIndices[p] = c[e];
				outData[p] = data[k0 + e];
				p++;
			}
		}
		o += (i64)part[L - 1];
		BARRIER(); // everyone has read part before the next window writes it
	}
}
