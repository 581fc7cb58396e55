package synth

// splitMix is the SplitMix64 generator (Steele, Lea and Flood, 2014): a
// 64-bit counter passed through a strong bit mixer. It is one add and two
// multiplies per draw, so the per-UMI loops can keep its state in a register,
// and any 64-bit value is a good seed, which lets every cell have its own
// stream derived from (seed, cell index). It implements math/rand/v2's
// Source, so the rare non-uniform draws (normals, binomials) come from the
// same stream.
type splitMix struct{ s uint64 }

const golden = 0x9e3779b97f4a7c15

// mix64 is SplitMix64's output function: a bijective avalanche of x.
func mix64(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Uint64 returns the next value of the stream.
func (r *splitMix) Uint64() uint64 {
	r.s += golden
	return mix64(r.s)
}

// float64 returns a uniform value in [0, 1).
func (r *splitMix) float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// cellSeed is the starting state of cell i's stream. Hashing the index
// (rather than using consecutive states of one stream) makes a cell's counts
// independent of which chunk or goroutine produces it.
func cellSeed(seed uint64, i int) uint64 {
	return mix64(seed*golden ^ mix64(uint64(i)+0x632be59bd9b4e019))
}
