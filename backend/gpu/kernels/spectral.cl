// The spectral initialization of UMAP (Backend.SpectralEigenmap;
// spectral.go has the design): the products, inner products and basis
// updates of a block Lanczos iteration on M = D^-1/2 W D^-1/2.
//
// The Krylov basis is stored in slabs: slab s holds basis vectors
// [s*b, s*b+b) as an n x b row-major block, at v + s*n*b, so that a
// product gathers a cell's b values from one 32-byte sector (b = 4), and
// the work-items of consecutive elements of a slab read consecutive
// addresses. Every sum is taken in a fixed order: the bits depend on the
// operands and the shape only, not on the work-group size.
// SPEC_RED_LOCAL is spec_reduce's work-group size: a constant, so that
// the order of its additions does not depend on the device.
#define SPEC_RED_LOCAL 64

// spec_random: count values of v from element off on, uniform in
// [-1, 1): the splitmix64 finalizer of seed + (element + 1) times the
// golden ratio, in integer arithmetic, so every device draws the same
// start.
KERNEL spec_random(const i64 count, const u64 seed, GLOBAL f64 *v, const i64 off) {
	const i64 e = GID(0);
	if (e >= count) return;
	u64 z = seed + (u64)(e + 1) * (u64)0x9e3779b97f4a7c15UL;
	z = (z ^ (z >> 30)) * (u64)0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * (u64)0x94d049bb133111ebUL;
	z ^= z >> 31;
	v[off + e] = (f64)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

// spec_values: mval[p] = data[p] * dinv[j] * dinv[i] for the entries p of
// row i (column j): the entries of M, in float64. One work-item per row.
KERNEL spec_values(const i32 n, GLOBAL const i64 *RESTRICT indptr, GLOBAL const i32 *RESTRICT indices,
                   GLOBAL const f32 *RESTRICT data, GLOBAL const f64 *RESTRICT dinv,
                   GLOBAL f64 *RESTRICT mval) {
	const i64 i = GID(0);
	if (i >= n) return;
	const f64 di = dinv[i];
	const i64 hi = indptr[i + 1];
	for (i64 p = indptr[i]; p < hi; p++) mval[p] = (f64)data[p] * dinv[indices[p]] * di;
}

// spec_spmm: slab dst = M * slab src, one work-item per (row i, column c),
// the b work-items of a row reading the same entries and b consecutive
// values of each neighbour's row; the row's terms are added in storage
// order (their loads four at a time).
KERNEL spec_spmm(const i32 n, const i32 b, GLOBAL const i64 *RESTRICT indptr,
                 GLOBAL const i32 *RESTRICT indices, GLOBAL const f64 *RESTRICT mval,
                 GLOBAL f64 *v, const i32 src, const i32 dst) {
	const i64 g = GID(0);
	if (g >= (i64)n * b) return;
	const i64 i = g / b;
	const i64 c = g - i * b;
	GLOBAL const f64 *x = v + (i64)src * n * b + c;
	const i64 hi = indptr[i + 1];
	i64 p = indptr[i];
	f64 s = 0;
	for (; p + 3 < hi; p += 4) {
		const i64 j0 = indices[p], j1 = indices[p + 1], j2 = indices[p + 2], j3 = indices[p + 3];
		const f64 x0 = x[j0 * b], x1 = x[j1 * b], x2 = x[j2 * b], x3 = x[j3 * b];
		s += mval[p] * x0;
		s += mval[p + 1] * x1;
		s += mval[p + 2] * x2;
		s += mval[p + 3] * x3;
	}
	for (; p < hi; p++) s += mval[p] * x[(i64)indices[p] * b];
	v[((i64)dst * n + i) * b + c] = s;
}

// spec_dots: the inner products of the block in slab w with u0 and with
// slabs [0, ns) (slab w among them gives the block's Gram matrix), over
// the rows [GRP(0)*rpg, GRP(0)*rpg + rpg) of a work-group, into
// part[GRP(0)][q]: q < b is <u0, w_c>, q = b + (s*b + i)*b + c is
// <slab s column i, w_c>. The work-items take the outputs in turn (any
// group size), each adding its rows in order in four interleaved sums
// added at the end: the order depends on rpg alone.
KERNEL spec_dots(const i32 n, const i32 b, const i32 ns, const i32 rpg, GLOBAL const f64 *RESTRICT u0,
                 GLOBAL const f64 *RESTRICT v, const i32 w, GLOBAL f64 *RESTRICT part) {
	const i32 nout = b + ns * b * b;
	const i64 r0 = (i64)GRP(0) * rpg;
	const i64 r1 = r0 + rpg < (i64)n ? r0 + rpg : (i64)n;
	GLOBAL const f64 *wv = v + (i64)w * n * b;
	for (i32 q = LID(0); q < nout; q += LSIZE(0)) {
		i32 c = q;
		i64 stride = 1;
		GLOBAL const f64 *x = u0;
		if (q >= b) {
			const i32 e = q - b;
			const i32 s = e / (b * b);
			const i32 i = (e - s * b * b) / b;
			c = e - s * b * b - i * b;
			x = v + (i64)s * n * b + i;
			stride = b;
		}
		GLOBAL const f64 *y = wv + c;
		f64 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
		i64 r = r0;
		for (; r + 3 < r1; r += 4) {
			a0 += x[r * stride] * y[r * b];
			a1 += x[(r + 1) * stride] * y[(r + 1) * b];
			a2 += x[(r + 2) * stride] * y[(r + 2) * b];
			a3 += x[(r + 3) * stride] * y[(r + 3) * b];
		}
		for (; r < r1; r++) a0 += x[r * stride] * y[r * b];
		part[(i64)GRP(0) * nout + q] = (a0 + a1) + (a2 + a3);
	}
}

// spec_reduce: out[q] = the sum over the groups of part[g][q]; a
// work-group of SPEC_RED_LOCAL work-items per output GRP(0), lane l adding
// groups l, l + SPEC_RED_LOCAL, ... in order, then a tree over the lanes.
KERNEL spec_reduce(const i32 nout, const i32 groups, GLOBAL const f64 *RESTRICT part,
                   GLOBAL f64 *RESTRICT out) {
	LOCAL f64 red[SPEC_RED_LOCAL];
	const i32 lid = LID(0);
	const i32 q = GRP(0);
	f64 s = 0;
	for (i32 g = lid; g < groups; g += SPEC_RED_LOCAL) s += part[(i64)g * nout + q];
	red[lid] = s;
	BARRIER();
	for (i32 h = SPEC_RED_LOCAL / 2; h > 0; h >>= 1) {
		if (lid < h) red[lid] += red[lid + h];
		BARRIER();
	}
	if (lid == 0) out[q] = red[0];
}

// spec_update: the block in slab w becomes (W - u0 coef_u0 - sum_{s<np}
// slab_s coef_s) T, where coef is spec_reduce's output (coef_u0 its first
// b values, coef_s the b x b block of slab s) and par holds T (b x b,
// row-major) followed by a mask: a column whose mask is not zero is set
// to slab zs's column instead (a fresh random direction). One work-item
// per element (row r, column c); a work-group (a multiple of b, at most
// SPEC_UPDATE_LOCAL) holds whole rows, whose projected values it shares
// in LOCAL memory for T. Each element is read before the barrier and
// written after it by its own work-item only.
#define SPEC_UPDATE_LOCAL 256

KERNEL spec_update(const i32 n, const i32 b, const i32 np, GLOBAL const f64 *RESTRICT u0, GLOBAL f64 *v,
                   const i32 w, GLOBAL const f64 *RESTRICT coef, GLOBAL const f64 *RESTRICT par,
                   const i32 zs) {
	LOCAL f64 xs[SPEC_UPDATE_LOCAL];
	const i32 lid = LID(0);
	const i64 g = GID(0);
	const i64 r = g / b;
	const i32 c = (i32)(g - r * b);
	const i64 at = ((i64)w * n + r) * b + c;
	f64 x = 0;
	if (r < n) {
		x = v[at] - u0[r] * coef[c];
		for (i32 s = 0; s < np; s++) {
			GLOBAL const f64 *vr = v + ((i64)s * n + r) * b;
			GLOBAL const f64 *cs = coef + b + s * b * b + c;
			for (i32 i = 0; i < b; i++) x -= vr[i] * cs[i * b];
		}
	}
	xs[lid] = x;
	BARRIER();
	if (r < n) {
		LOCAL_PTR const f64 *row = xs + (lid - c);
		f64 y = 0;
		for (i32 i = 0; i < b; i++) y += row[i] * par[i * b + c];
		v[at] = par[b * b + c] != 0.0 ? v[((i64)zs * n + r) * b + c] : y;
	}
}

// spec_combine: slab GRP(1) of out = the columns [GRP(1)*b, GRP(1)*b + b)
// of V S, V the first nin columns (a multiple of b) of the basis in vin
// and S an nin x nout row-major matrix: the Ritz vectors of a restart, or
// the result. One work-item per element (row, column) of the slab.
KERNEL spec_combine(const i32 n, const i32 b, const i32 nin, const i32 nout, GLOBAL const f64 *RESTRICT vin,
                    GLOBAL const f64 *RESTRICT s, GLOBAL f64 *RESTRICT out) {
	const i64 g = GID(0);
	const i64 r = g / b;
	if (r >= n) return;
	const i32 c = (i32)(g - r * b);
	const i32 t = GRP(1);
	GLOBAL const f64 *sc = s + t * b + c;
	f64 y = 0;
	for (i32 sl = 0; sl * b < nin; sl++) {
		GLOBAL const f64 *vr = vin + ((i64)sl * n + r) * b;
		for (i32 i = 0; i < b; i++) y += vr[i] * sc[(i64)(sl * b + i) * nout];
	}
	out[((i64)t * n + r) * b + c] = y;
}
