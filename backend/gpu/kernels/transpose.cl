// Transposition of a CSR matrix (Transpose): the entries of each column of
// m, in increasing row order, become a row of the result. No step depends
// on the order of atomic operations: the counts are integers, and every
// entry's position follows from the counts and the row order alone.
//
// The rows of m are cut into row blocks (rb consecutive rows each) and the
// columns into tiles (w columns each); work-group (GRP(0), GRP(1)) owns
// tile GRP(0) over row block GRP(1).
//
//  1. transpose_count: the group counts its entries per column of its tile
//     (LOCAL integer counters, local atomics: integer sums do not depend
//     on their order) and writes cnt[j*blocks + b] for each column j of
//     the tile, b its row block.
//  2. select_scan (select.cl) turns cnt, in that column-major order over
//     (column, row block), into the exclusive prefix sums: off[j*blocks +
//     b] is where the entries of column j in row block b start in the
//     result, and off[cols*blocks] the total.
//  3. transpose_indptr: the result's row pointers are off[j*blocks] (row
//     block 0 of each column) and the total.
//  4. transpose_fill: the group loads the positions of its tile's columns
//     in its row block into LOCAL memory, walks its rows in order and
//     writes each entry of the tile at its column's position, which it
//     then advances. Columns are distinct within a row, so no two
//     work-items touch one position within a row, and a barrier between
//     rows orders the rows: each column receives its entries in row order.
//
// Bound: transpose_count reads the indices once per tile, transpose_fill
// the indices and values once per tile and writes the result once (24
// bytes an entry with Z's two tiles), and each fill group waits about a
// memory latency per row at its barrier (a Z of 1.3M cells: 1,024 groups
// of ~2,500 rows). It runs once per matrix, not per product. Matrices of
// very many columns (many tiles) re-read their indices many times: it is
// meant for a few thousand columns, as in Z.

// TRANSPOSE_TILE is the most columns a tile has: transpose_fill holds an
// i64 position per column, 24 KiB (under the 48 KiB of static LOCAL
// memory that CUDA and NVIDIA's OpenCL allow, and small enough for nine
// groups on an H200 multiprocessor); 5,000 genes make two tiles.
#define TRANSPOSE_TILE 3072

DEVICE i64 transpose_min64(const i64 a, const i64 b) { return a < b ? a : b; }

// transpose_count: cnt[j*blocks + b] = the entries of column j in rows
// [b*rb, (b+1)*rb), for the columns j of tile GRP(0) (w columns a tile)
// and b = GRP(1). The group strides over its rows' entries as one run:
// counting needs no row order. Indices outside [0, cols) are counted
// nowhere (the host compares the total with the matrix's).
KERNEL transpose_count(const i32 rows, const i32 cols, const i32 w, const i32 blocks, const i32 rb,
                       GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                       GLOBAL i64 *RESTRICT cnt) {
	LOCAL i32 n[TRANSPOSE_TILE];
	const i32 lid = LID(0), ls = LSIZE(0);
	const i32 j0 = GRP(0) * w, b = GRP(1);
	const i32 jw = cols - j0 < w ? cols - j0 : w;
	for (i32 c = lid; c < jw; c += ls) n[c] = 0;
	BARRIER();
	const i64 r0 = transpose_min64((i64)b * rb, (i64)rows);
	const i64 r1 = transpose_min64(r0 + rb, (i64)rows);
	const i64 hi = indptr[r1];
	for (i64 p = indptr[r0] + lid; p < hi; p += ls) {
		const u32 c = (u32)indices[p] - (u32)j0;
		if (c < (u32)jw) local_atomic_add_i32(&n[c], 1);
	}
	BARRIER();
	for (i32 c = lid; c < jw; c += ls) cnt[(i64)(j0 + c) * blocks + b] = (i64)n[c];
}

// transpose_indptr: outIndptr[j] = off[j*blocks] for j <= cols (off has
// cols*blocks + 1 elements, the last the total); one work-item per row
// pointer.
KERNEL transpose_indptr(const i32 cols, const i32 blocks, GLOBAL const i64 *RESTRICT off,
                        GLOBAL i64 *RESTRICT outIndptr) {
	const i64 j = GID(0);
	if (j > cols) return;
	outIndptr[j] = off[j * blocks];
}

// transpose_fill: writes the entries of tile GRP(0) in row block GRP(1)
// into the result (row numbers into outIndices, values into outData), at
// the positions that off (select_scan's output over transpose_count's
// counts) gives each column's first entry of the block.
KERNEL transpose_fill(const i32 rows, const i32 cols, const i32 w, const i32 blocks, const i32 rb,
                      GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                      GLOBAL const f32 *RESTRICT data, GLOBAL const i64 *RESTRICT off,
                      GLOBAL i32 *RESTRICT outIndices, GLOBAL f32 *RESTRICT outData) {
	LOCAL i64 pos[TRANSPOSE_TILE];
	const i32 lid = LID(0), ls = LSIZE(0);
	const i32 j0 = GRP(0) * w, b = GRP(1);
	const i32 jw = cols - j0 < w ? cols - j0 : w;
	for (i32 c = lid; c < jw; c += ls) pos[c] = off[(i64)(j0 + c) * blocks + b];
	const i64 r0 = transpose_min64((i64)b * rb, (i64)rows);
	const i64 r1 = transpose_min64(r0 + rb, (i64)rows);
	// A row's end is loaded a row ahead, so that a row waits for its
	// entries only, not for its row pointer first.
	i64 lo = indptr[r0];
	i64 hi = r0 < r1 ? indptr[r0 + 1] : lo;
	for (i64 i = r0; i < r1; i++) {
		const i64 next = i + 1 < r1 ? indptr[i + 2] : hi;
		BARRIER(); // pos is loaded, or the previous row is done with it
		// Two strides at a time, all four loads first (the values of
		// entries outside the tile too): a row of a few hundred values
		// then waits for one round of loads.
		for (i64 p = lo + lid; p < hi; p += 2 * (i64)ls) {
			const i64 p2 = p + ls;
			const u32 c1 = (u32)indices[p] - (u32)j0;
			const f32 v1 = data[p];
			u32 c2 = (u32)jw;
			f32 v2 = 0;
			if (p2 < hi) {
				c2 = (u32)indices[p2] - (u32)j0;
				v2 = data[p2];
			}
			if (c1 < (u32)jw) {
				const i64 q = pos[c1];
				pos[c1] = q + 1;
				outIndices[q] = (i32)i;
				outData[q] = v1;
			}
			if (c2 < (u32)jw) {
				const i64 q = pos[c2];
				pos[c2] = q + 1;
				outIndices[q] = (i32)i;
				outData[q] = v2;
			}
		}
		lo = hi;
		hi = next;
	}
}
