package graph

// AdjustedRandIndex is the adjusted Rand index of two labellings of the
// same nodes (Hubert and Arabie 1985; sklearn's adjusted_rand_score): 1
// for the same partition under any labels, about 0 for independent ones.
// Two partitions that are each a single cluster (or each all singletons)
// score 1, as in sklearn.
func AdjustedRandIndex(a, b []int32) float64 {
	type pair struct{ x, y int32 }
	cont := map[pair]int{}
	ra, rb := map[int32]int{}, map[int32]int{}
	for i := range a {
		cont[pair{a[i], b[i]}]++
		ra[a[i]]++
		rb[b[i]]++
	}
	c2 := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var index, sa, sb float64
	for _, n := range cont {
		index += c2(n)
	}
	for _, n := range ra {
		sa += c2(n)
	}
	for _, n := range rb {
		sb += c2(n)
	}
	expected := sa * sb / c2(len(a))
	maxIndex := (sa + sb) / 2
	if maxIndex == expected {
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}
