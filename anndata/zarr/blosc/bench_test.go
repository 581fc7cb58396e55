package blosc

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scbench/scbench/internal/cputime"
	"github.com/scbench/scbench/internal/shareddata"
)

func appendFloat32(b []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

// csrChunk is one chunk of a CSR matrix as anndata stores it: 4M elements.
const csrChunkElems = 4 << 20

// csrData returns n float32 non-zero UMI-like counts: mostly 1-3, a
// geometric tail, rarely in the hundreds.
func csrData(n int) []byte {
	rng := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 0, 4*n)
	for range n {
		v := 1
		for v < 1000 && rng.IntN(100) < 40 {
			v++
		}
		if rng.IntN(500) == 0 {
			v += rng.IntN(400)
		}
		b = appendFloat32(b, float32(v))
	}
	return b
}

// csrIndices returns n int32 column indices, sorted within rows of about
// 2000 non-zeros out of 28,000 genes.
func csrIndices(n int) []byte {
	rng := rand.New(rand.NewPCG(13, 14))
	b := make([]byte, 0, 4*n)
	cols := make([]int32, 0, 4000)
	for len(b) < 4*n {
		cols = cols[:0]
		nnz := 1000 + rng.IntN(2000)
		col := int32(0)
		for range nnz {
			col += 1 + int32(rng.ExpFloat64()*13)
			if col >= 28000 {
				break
			}
			cols = append(cols, col)
		}
		for _, c := range cols {
			if len(b) == 4*n {
				break
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(c))
		}
	}
	return b
}

type benchFrame struct {
	name  string
	data  []byte
	frame []byte
}

var benchFrames = sync.OnceValues(func() (map[string]benchFrame, error) {
	data, idx := csrData(csrChunkElems), csrIndices(csrChunkElems)
	m := map[string]benchFrame{}
	// What anndata writes by default (lz4, level 5, byte shuffle) and what
	// the synth5k store uses (zstd, level 3).
	for _, c := range []struct {
		key, comp string
		level     int
	}{{"lz4", "lz4", 5}, {"zstd", "zstd", 3}} {
		for _, d := range []struct {
			name string
			b    []byte
		}{{"data", data}, {"indices", idx}} {
			f, err := Encode(d.b, Options{Compressor: c.comp, Level: c.level, Shuffle: ByteShuffle, TypeSize: 4})
			if err != nil {
				return nil, err
			}
			m[c.key+"/"+d.name] = benchFrame{d.name, d.b, f}
		}
	}
	return m, nil
})

func benchDecode(b *testing.B, codec string, parallel bool) {
	frames, err := benchFrames()
	if err != nil {
		b.Fatal(err)
	}
	for _, part := range []string{"data", "indices"} {
		f := frames[codec+"/"+part]
		b.Run(part, func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			defer b.ReportMetric(float64(len(f.data))/float64(len(f.frame)), "ratio")
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					dst := make([]byte, len(f.data))
					for pb.Next() {
						if _, err := Decode(dst, f.frame); err != nil {
							b.Error(err)
							return
						}
					}
				})
				return
			}
			dst := make([]byte, len(f.data))
			cpu := startCPU()
			for b.Loop() {
				if _, err := Decode(dst, f.frame); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b, len(f.data))
		})
	}
}

// cpuClock reports decoded MB per CPU-second (MB/cpu-s) next to the
// wall-clock MB/s: with one goroutine, it is the speed of one core even
// when other processes share the machine.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	t, ok := cputime.Process()
	return cpuClock{t, ok}
}

func (c cpuClock) report(b *testing.B, bytesPerOp int) {
	end, ok := cputime.Process()
	if !c.ok || !ok || end <= c.start {
		return
	}
	b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/(end-c.start).Seconds(), "MB/cpu-s")
}

// BenchmarkDecodeLZ4Shuffle decodes 16 MiB chunks (4M float32 counts; 4M
// int32 column indices) written with lz4, level 5 and byte shuffle.
func BenchmarkDecodeLZ4Shuffle(b *testing.B) { benchDecode(b, "lz4", false) }

// BenchmarkDecodeZstdShuffle is the same with zstd, level 3.
func BenchmarkDecodeZstdShuffle(b *testing.B) { benchDecode(b, "zstd", false) }

func BenchmarkDecodeLZ4ShuffleParallel(b *testing.B)  { benchDecode(b, "lz4", true) }
func BenchmarkDecodeZstdShuffleParallel(b *testing.B) { benchDecode(b, "zstd", true) }

// BenchmarkDecodeLZ4Streams runs only the codec over the streams of
// BenchmarkDecodeLZ4Shuffle's frames, into one block-sized buffer: the
// floor under Decode, which adds the unshuffle and writes the whole output.
func BenchmarkDecodeLZ4Streams(b *testing.B) {
	frames, err := benchFrames()
	if err != nil {
		b.Fatal(err)
	}
	for _, part := range []string{"data", "indices"} {
		f := frames["lz4/"+part]
		b.Run(part, func(b *testing.B) {
			h, err := ParseHeader(f.frame)
			if err != nil {
				b.Fatal(err)
			}
			block := make([]byte, h.BlockSize)
			b.SetBytes(int64(len(f.data)))
			cpu := startCPU()
			for b.Loop() {
				for k := range h.NumBlocks() {
					bsize := min(h.BlockSize, h.NBytes-k*h.BlockSize)
					nsplits, neblock := splits(h, bsize, bsize != h.BlockSize)
					off := int(binary.LittleEndian.Uint32(f.frame[HeaderSize+4*k:]))
					for j := range nsplits {
						csize := int(binary.LittleEndian.Uint32(f.frame[off:]))
						off += 4
						part := block[j*neblock : (j+1)*neblock]
						if csize == neblock {
							copy(part, f.frame[off:off+csize])
						} else if err := decompress(h.Codec(), part, f.frame[off:off+csize]); err != nil {
							b.Fatal(err)
						}
						off += csize
					}
				}
			}
			cpu.report(b, len(f.data))
		})
	}
}

// BenchmarkDecodeShared decodes chunk 0 of the shared stores' X arrays,
// written by the real c-blosc (libzstd and liblz4 compress differently from
// the Go encoders above).
func BenchmarkDecodeShared(b *testing.B) {
	for _, rel := range []string{
		"data/synth5k/synth5k.zarr/X/data/0",
		"data/synth5k/synth5k.zarr/X/indices/0",
		"data/brain10k/brain10k.zarr/X/data/0",
	} {
		b.Run(rel, func(b *testing.B) {
			frame, err := os.ReadFile(shareddata.Path(b, rel))
			if err != nil {
				b.Fatal(err)
			}
			n, err := DecodedSize(frame)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, n)
			b.SetBytes(int64(n))
			cpu := startCPU()
			for b.Loop() {
				if _, err := Decode(dst, frame); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b, n)
		})
	}
}

// BenchmarkEncode measures the encoder on the counts chunk.
func BenchmarkEncode(b *testing.B) {
	data := csrData(csrChunkElems)
	for _, comp := range []string{"lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out []byte
			cpu := startCPU()
			for b.Loop() {
				var err error
				out, err = AppendEncode(out[:0], data, Options{Compressor: comp, Level: 5, Shuffle: ByteShuffle, TypeSize: 4})
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b, len(data))
		})
	}
}

// BenchmarkUnshuffle measures the byte unshuffle filter alone.
func BenchmarkUnshuffle(b *testing.B) {
	for _, ts := range []int{2, 4, 8, 3} {
		src := csrData(1 << 16)
		dst := slices.Clone(src)
		b.Run(string(rune('0'+ts)), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			cpu := startCPU()
			for b.Loop() {
				unshuffle(dst, src, ts)
			}
			cpu.report(b, len(src))
		})
	}
}

// BenchmarkDecodeCodecs decodes 4 MiB of float32 counts written with every
// codec and shuffle mode (level 5).
func BenchmarkDecodeCodecs(b *testing.B) {
	data := csrData(1 << 20)
	for _, comp := range allCompressors {
		for _, sh := range []Shuffle{NoShuffle, ByteShuffle, BitShuffle} {
			frame, err := Encode(data, Options{Compressor: comp, Level: 5, Shuffle: sh, TypeSize: 4})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(comp+"/"+sh.String(), func(b *testing.B) {
				dst := make([]byte, len(data))
				b.SetBytes(int64(len(data)))
				cpu := startCPU()
				for b.Loop() {
					if _, err := Decode(dst, frame); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b, len(data))
				b.ReportMetric(float64(len(data))/float64(len(frame)), "ratio")
			})
		}
	}
}
