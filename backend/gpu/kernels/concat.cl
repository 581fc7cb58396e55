// Joining CSR matrices row after row (ConcatRows).

// shift_indptr: out[at + i] = in[i] + base for i in [0, n): a piece's row
// pointers, moved to where the piece starts in the joined matrix.
KERNEL shift_indptr(const i64 n, GLOBAL const i64 *RESTRICT in, GLOBAL i64 *RESTRICT out,
                    const i64 at, const i64 base) {
	i64 i = GID(0);
	if (i >= n) return;
	out[at + i] = in[i] + base;
}
