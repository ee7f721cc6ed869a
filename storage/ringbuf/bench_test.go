package ringbuf

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

const (
	shardSize = 1 << 20  // one erasure shard chunk, as the bitrot writer emits it
	hashSize  = 32       // HighwayHash-256 digest in front of each chunk
	readSize  = 64 << 10 // what an HTTP body or grid stream pulls per Read
)

// pipeEnds is what a benchmark needs from either io.Pipe or a ring.
type pipeEnds struct {
	w interface {
		io.Writer
		CloseWithError(error) error
	}
	r io.Reader
}

func newEnds(kind string) pipeEnds {
	if kind == "pipe" {
		r, w := io.Pipe()
		return pipeEnds{w: w, r: r}
	}
	r, w := New(DefaultSize)
	return pipeEnds{w: w, r: r}
}

// A congested peer is modelled as a jittery sink: it pulls readSize per Read
// and, after one read in stallOneIn (picked by a fixed-seed PRNG, so every run
// and both contenders see the same pattern), stalls for sinkStall, as a TCP
// window that closes now and then. On average that is one 1 ms stall per MiB,
// about 1 GB/s. Stalls are whole milliseconds because Linux sleeps are about
// 1 ms granular, and they fall at random points inside a shard, which is
// where an unbuffered pipe makes the producer wait for them.
const (
	stallOneIn = 16
	sinkStall  = time.Millisecond
)

// encodeTime stands for the encoder's work per shard (Reed-Solomon plus
// bitrot hashing). It is a sleep rather than CPU so that on a 2-core machine
// it does not steal the consumer's CPU; 1 ms per MiB makes the producer about
// as fast as the sink on average, the case where absorbing jitter matters.
const encodeTime = time.Millisecond

func drainSlowly(r io.Reader, seed uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	rng := rand.New(rand.NewPCG(seed, 99))
	buf := make([]byte, readSize)
	for {
		_, err := r.Read(buf)
		if err != nil {
			return
		}
		if rng.IntN(stallOneIn) == 0 {
			time.Sleep(sinkStall)
		}
	}
}

// BenchmarkProducerBlocking measures what the ring buffer is for: how long the
// erasure encoder is stuck in Write while congested peers drain its shards.
// Each op is one block: the producer optionally "encodes" (encodeTime), then
// for each of streams peers writes a 32-byte hash and a 1 MiB shard, one
// peer after another as the encoder does. blocked-ns/op is the time spent
// inside Write, including the memory copy into the ring.
func BenchmarkProducerBlocking(b *testing.B) {
	for _, streams := range []int{1, 4} {
		for _, work := range []string{"none", "1ms"} {
			for _, kind := range []string{"pipe", "ring"} {
				name := fmt.Sprintf("streams=%d/encode=%s/%s", streams, work, kind)
				b.Run(name, func(b *testing.B) {
					benchProducer(b, kind, streams, work != "none")
				})
			}
		}
	}
}

func benchProducer(b *testing.B, kind string, streams int, encode bool) {
	shard := make([]byte, shardSize)
	fillStream(shard, 1, 0)
	hash := make([]byte, hashSize)

	ends := make([]pipeEnds, streams)
	var wg sync.WaitGroup
	for i := range ends {
		ends[i] = newEnds(kind)
		wg.Add(1)
		go drainSlowly(ends[i].r, uint64(i), &wg)
	}
	b.SetBytes(int64(streams * (hashSize + shardSize)))
	b.ReportAllocs()
	b.ResetTimer()

	var blocked time.Duration
	for b.Loop() {
		if encode {
			time.Sleep(encodeTime)
		}
		for _, e := range ends {
			start := time.Now()
			if _, err := e.w.Write(hash); err != nil {
				b.Fatal(err)
			}
			if _, err := e.w.Write(shard); err != nil {
				b.Fatal(err)
			}
			blocked += time.Since(start)
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	for _, e := range ends {
		e.w.CloseWithError(nil)
	}
	wg.Wait()
	b.ReportMetric(float64(blocked.Nanoseconds())/float64(b.N), "blocked-ns/op")
	if elapsed > 0 {
		b.ReportMetric(100*blocked.Seconds()/elapsed.Seconds(), "%blocked")
	}
}

// BenchmarkThroughput is raw ring speed with a consumer that never stalls,
// against io.Pipe, for hash+shard records.
func BenchmarkThroughput(b *testing.B) {
	for _, mode := range []string{"pipe/read64k", "ring/read64k", "ring/writeto"} {
		b.Run(mode, func(b *testing.B) {
			kind := mode[:4]
			ends := newEnds(kind)
			shard := make([]byte, shardSize)
			hash := make([]byte, hashSize)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if mode == "ring/writeto" {
					ends.r.(*Reader).WriteTo(io.Discard)
					return
				}
				buf := make([]byte, readSize)
				for {
					if _, err := ends.r.Read(buf); err != nil {
						return
					}
				}
			}()
			b.SetBytes(hashSize + shardSize)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ends.w.Write(hash)
				ends.w.Write(shard)
			}
			ends.w.CloseWithError(nil)
			<-done
		})
	}
}

// BenchmarkSmallWrites is the per-call cost: 32-byte hash + 4 KiB chunk
// records into a ring drained by WriteTo.
func BenchmarkSmallWrites(b *testing.B) {
	r, w := New(DefaultSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.WriteTo(io.Discard)
	}()
	hash := make([]byte, hashSize)
	chunk := make([]byte, 4<<10)
	b.SetBytes(int64(len(hash) + len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		w.Write(hash)
		w.Write(chunk)
	}
	w.Close()
	<-done
}
