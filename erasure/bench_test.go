package erasure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/minio/highwayhash"
)

const benchObjectSize = 8 << 20 // 8 blocks of the default size

var benchSink [BitrotHashSize]byte // keeps hashing from being optimised away

var benchLayouts = []struct{ data, parity int }{{4, 2}, {8, 4}, {12, 4}}

// rawBlocks lays the object out as Encode does: one [][]byte of shards per
// block, data shards filled, parity shards allocated.
func rawBlocks(c *Coder, object []byte) [][][]byte {
	var blocks [][][]byte
	for off := 0; off < len(object); off += int(c.BlockSize()) {
		n := min(int(c.BlockSize()), len(object)-off)
		ss := int(ceilDiv(int64(n), int64(c.data)))
		backing := make([]byte, c.TotalShards()*ss)
		copy(backing, object[off:off+n])
		shards := make([][]byte, c.TotalShards())
		for i := range shards {
			shards[i] = backing[i*ss : (i+1)*ss]
		}
		blocks = append(blocks, shards)
	}
	return blocks
}

func bitrotDiscardWriters(b *testing.B, c *Coder) []io.Writer {
	writers := make([]io.Writer, c.TotalShards())
	for i := range writers {
		w, err := NewBitrotWriter(io.Discard, testKey, c.ShardSize())
		if err != nil {
			b.Fatal(err)
		}
		writers[i] = w
	}
	return writers
}

func BenchmarkEncode(b *testing.B) {
	object := randomBytes(60, benchObjectSize)
	for _, l := range benchLayouts {
		c := mustCoder(b, l.data, l.parity, 0)
		name := fmt.Sprintf("%d+%d", l.data, l.parity)

		b.Run(name+"/reedsolomon", func(b *testing.B) {
			blocks := rawBlocks(c, object)
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				for _, shards := range blocks {
					if err := c.rs.Encode(shards); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		// The same work as streaming encode with bitrot, done in a plain
		// loop on one goroutine: copy the block in, encode, hash every
		// shard. What the streaming machinery costs or gains shows
		// against this.
		b.Run(name+"/copy+reedsolomon+highwayhash", func(b *testing.B) {
			blocks := rawBlocks(c, object)
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				for k, shards := range blocks {
					off := k * int(c.BlockSize())
					copy(shards[0][:cap(shards[0])], object[off:min(off+int(c.BlockSize()), len(object))])
					if err := c.rs.Encode(shards); err != nil {
						b.Fatal(err)
					}
					for _, s := range shards {
						benchSink = highwayhash.Sum(s, testKey)
					}
				}
			}
		})
		for _, mode := range []struct {
			name       string
			sequential bool
			bitrot     bool
		}{
			{"stream", false, false},
			{"stream+bitrot", false, true},
			{"stream+bitrot/sequential", true, true},
		} {
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				c.sequentialIO = mode.sequential
				defer func() { c.sequentialIO = false }()
				writers := make([]io.Writer, c.TotalShards())
				for i := range writers {
					writers[i] = io.Discard
				}
				if mode.bitrot {
					writers = bitrotDiscardWriters(b, c)
				}
				src := bytes.NewReader(object)
				b.SetBytes(benchObjectSize)
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(object)
					if _, _, err := c.Encode(context.Background(), writers, src, benchObjectSize, c.WriteQuorum()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// slowWriter stands for a drive or peer whose writes take a while, such as
// a ring buffer waiting for the network.
type slowWriter struct{ delay time.Duration }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	return len(p), nil
}

// BenchmarkEncodeSlowWriters shows what the per-writer goroutines buy when
// writes block: sequential writes add up the delays, parallel ones overlap.
func BenchmarkEncodeSlowWriters(b *testing.B) {
	object := randomBytes(61, benchObjectSize)
	c := mustCoder(b, 4, 2, 0)
	for _, sequential := range []bool{false, true} {
		b.Run(fmt.Sprintf("4+2/sequential=%v", sequential), func(b *testing.B) {
			c.sequentialIO = sequential
			defer func() { c.sequentialIO = false }()
			writers := make([]io.Writer, c.TotalShards())
			for i := range writers {
				w, _ := NewBitrotWriter(slowWriter{200 * time.Microsecond}, testKey, c.ShardSize())
				writers[i] = w
			}
			src := bytes.NewReader(object)
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(object)
				if _, _, err := c.Encode(context.Background(), writers, src, benchObjectSize, c.WriteQuorum()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode reads whole objects. "data-lost" loses as many data
// shards as there are parity shards, the most a read survives, so every
// block is rebuilt from all the parity.
func BenchmarkDecode(b *testing.B) {
	object := randomBytes(62, benchObjectSize)
	for _, l := range benchLayouts {
		c := mustCoder(b, l.data, l.parity, 0)
		name := fmt.Sprintf("%d+%d", l.data, l.parity)
		files := encodeFiles(b, c, object)

		b.Run(name+"/reedsolomon-reconstruct-data-lost", func(b *testing.B) {
			blocks := rawBlocks(c, object)
			for _, shards := range blocks {
				if err := c.rs.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
			work := make([][]byte, c.TotalShards())
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				for _, shards := range blocks {
					copy(work, shards)
					for i := range c.parity { // the first `parity` data shards are lost
						work[i] = shards[i][:0]
					}
					if err := c.rs.ReconstructData(work); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		// Decode's work in a plain loop on one goroutine: copy each read
		// shard in, verify its hash, rebuild the lost data shards.
		b.Run(name+"/copy+highwayhash+reconstruct-data-lost", func(b *testing.B) {
			blocks := rawBlocks(c, object)
			for _, shards := range blocks {
				if err := c.rs.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
			stored := make([][][]byte, len(blocks))
			for k, shards := range blocks {
				for _, s := range shards {
					stored[k] = append(stored[k], bytes.Clone(s))
				}
			}
			work := make([][]byte, c.TotalShards())
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				for k, shards := range blocks {
					for i := range work {
						work[i] = shards[i][:0]
						if i >= c.parity {
							work[i] = shards[i][:copy(shards[i], stored[k][i])]
							benchSink = highwayhash.Sum(work[i], testKey)
						}
					}
					if err := c.rs.ReconstructData(work); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		for _, mode := range []struct {
			name       string
			missing    int
			sequential bool
		}{
			{"all-data", 0, false},
			{"all-data/sequential", 0, true},
			{"data-lost", c.parity, false},
			{"data-lost/sequential", c.parity, true},
		} {
			b.Run(name+"/stream+bitrot/"+mode.name, func(b *testing.B) {
				c.sequentialIO = mode.sequential
				defer func() { c.sequentialIO = false }()
				srcs := make([]*bytes.Reader, c.TotalShards())
				for i := range srcs {
					srcs[i] = bytes.NewReader(files[i])
				}
				b.SetBytes(benchObjectSize)
				b.ReportAllocs()
				for b.Loop() {
					readers := make([]io.Reader, c.TotalShards())
					for i := mode.missing; i < len(readers); i++ {
						srcs[i].Reset(files[i])
						readers[i], _ = NewBitrotReader(srcs[i], testKey, c.ShardSize(), 0, c.ShardFileSize(benchObjectSize))
					}
					if _, _, err := c.Decode(context.Background(), io.Discard, readers, 0, benchObjectSize, benchObjectSize); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkBitrot(b *testing.B) {
	for _, chunk := range []int64{87382, 256 << 10, 1 << 20} { // 12+4, 4+2, 1+1 shards of 1 MiB blocks
		data := randomBytes(63, int(chunk)*8)
		file := bitrotFile(b, data, chunk, len(data))
		b.Run(fmt.Sprintf("write/chunk=%d", chunk), func(b *testing.B) {
			w, _ := NewBitrotWriter(io.Discard, testKey, chunk)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				for off := 0; off < len(data); off += int(chunk) {
					if _, err := w.Write(data[off : off+int(chunk)]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("verify/chunk=%d", chunk), func(b *testing.B) {
			src := bytes.NewReader(file)
			buf := make([]byte, chunk)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(file)
				r, _ := NewBitrotReader(src, testKey, chunk, 0, int64(len(data)))
				for {
					if _, err := io.ReadFull(r, buf); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// slowReader stands for a remote shard stream whose reads wait on the
// network.
type slowReader struct {
	r     io.Reader
	delay time.Duration
}

func (r slowReader) Read(p []byte) (int, error) {
	time.Sleep(r.delay)
	return r.r.Read(p)
}

// BenchmarkDecodeSlowReaders is BenchmarkEncodeSlowWriters for reads: one
// goroutine per shard overlaps the waits, and prefetch overlaps them with
// writing the previous block.
func BenchmarkDecodeSlowReaders(b *testing.B) {
	object := randomBytes(64, benchObjectSize)
	c := mustCoder(b, 4, 2, 0)
	files := encodeFiles(b, c, object)
	for _, sequential := range []bool{false, true} {
		b.Run(fmt.Sprintf("4+2/sequential=%v", sequential), func(b *testing.B) {
			c.sequentialIO = sequential
			defer func() { c.sequentialIO = false }()
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				readers := make([]io.Reader, c.TotalShards())
				for i := range readers {
					readers[i], _ = NewBitrotReader(slowReader{bytes.NewReader(files[i]), 100 * time.Microsecond}, testKey, c.ShardSize(), 0, c.ShardFileSize(benchObjectSize))
				}
				if _, _, err := c.Decode(context.Background(), io.Discard, readers, 0, benchObjectSize, benchObjectSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeOneSlowWriter: one writer of a 4+2 set takes 20 ms for
// every shard chunk (a drive a few MB/s slow behind a full ring buffer),
// the others none. Without a grace every block waits for it; with one the
// encoder leaves it behind once it has held the others back by the grace.
func BenchmarkEncodeOneSlowWriter(b *testing.B) {
	object := randomBytes(62, benchObjectSize)
	c := mustCoder(b, 4, 2, 0)
	for _, grace := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("4+2/grace=%v", grace), func(b *testing.B) {
			src := bytes.NewReader(object)
			writers := make([]io.Writer, c.TotalShards())
			b.SetBytes(benchObjectSize)
			b.ReportAllocs()
			for b.Loop() {
				for i := range writers {
					var w io.Writer = io.Discard
					if i == 1 {
						l := newLaggingWriter()
						l.delay, l.minLag, l.discard = 20*time.Millisecond, 1024, true // chunks, not hashes
						w = l
					}
					writers[i], _ = NewBitrotWriter(w, testKey, c.ShardSize())
				}
				src.Reset(object)
				if _, _, err := c.EncodeWith(context.Background(), writers, src, benchObjectSize, c.WriteQuorum(), EncodeOptions{Grace: grace}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
