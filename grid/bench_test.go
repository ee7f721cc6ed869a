package grid

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/proto"
)

// Benchmarks run real Managers over loopback TCP, in one process, so
// allocations per op count both the caller's and the handler's side.

func benchCluster(b *testing.B, n int) []*testNode {
	// GRIDSTORE_BENCH_FRAME_SIZE tries other frame sizes (see docs/benchmarks.md).
	frameSize, _ := strconv.Atoi(os.Getenv("GRIDSTORE_BENCH_FRAME_SIZE"))
	return newTestCluster(b, n, clusterOpts{tweak: func(_ int, c *Config) {
		if frameSize > 0 {
			c.FrameSize = frameSize
		}
	}, register: func(_ int, m *Manager) {
		registerEchoStream(0, m)
		_ = m.RegisterStream(hTestStream, StreamHandler{InCapacity: 8, InBytes: 16 << 20, Handle: sinkStream})
		_ = typedEcho.Register(m, func(ctx context.Context, req *proto.EchoMsg) (*proto.EchoMsg, error) {
			return req, nil
		})
	}})
}

var typedEcho = NewSingleRPC(hTest, func() *proto.EchoMsg { return &proto.EchoMsg{} }, func() *proto.EchoMsg { return &proto.EchoMsg{} })

// sinkStream consumes every inbound message; with a payload it instead sends
// that many 1 MiB messages back.
func sinkStream(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
	var n int
	if _, err := fmt.Sscan(string(p), &n); err == nil && n > 0 {
		for range n {
			msg := GetBuffer(1 << 20)[:1<<20]
			select {
			case out <- msg:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	}
	for msg := range in {
		PutBuffer(msg)
	}
	return nil
}

// runParallel splits b.N calls of fn over par goroutines.
func runParallel(b *testing.B, par int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	b.ResetTimer()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := fn(int(i)); err != nil {
					e := err // only failures pay for the escape
					failed.Store(&e)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
}

func BenchmarkSingleRequest(b *testing.B) {
	for _, nodes := range []int{2, 4} {
		for _, size := range []int{64, 1 << 10, 32 << 10} {
			for _, par := range []int{1, 8, 32, 64} {
				b.Run(fmt.Sprintf("nodes=%d/size=%d/par=%d", nodes, size, par), func(b *testing.B) {
					cl := benchCluster(b, nodes)
					conns := make([]*Connection, 0, nodes-1)
					for _, n := range cl[1:] {
						conns = append(conns, cl[0].conn(n))
					}
					req := make([]byte, size)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					ctx := context.Background()
					runParallel(b, par, func(i int) error {
						resp, err := conns[i%len(conns)].Request(ctx, hEcho, req)
						if err != nil {
							return err
						}
						if len(resp) != size {
							return fmt.Errorf("response of %d bytes", len(resp))
						}
						PutBuffer(resp)
						return nil
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				})
			}
		}
	}
}

func BenchmarkTypedRequest(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run(fmt.Sprintf("par=%d", par), func(b *testing.B) {
			cl := benchCluster(b, 2)
			c := cl[0].conn(cl[1])
			req := &proto.EchoMsg{Seq: 1, Text: "typed", Data: make([]byte, 400)}
			b.ReportAllocs()
			ctx := context.Background()
			runParallel(b, par, func(i int) error {
				resp, err := typedEcho.Call(ctx, c, req)
				if err == nil && resp.Seq != 1 {
					err = fmt.Errorf("bad response %+v", resp)
				}
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkStream measures bulk throughput of 1 MiB messages, caller to
// handler and handler to caller, over one and eight concurrent streams.
func BenchmarkStream(b *testing.B) {
	const msgSize = 1 << 20
	for _, streams := range []int{1, 8} {
		b.Run(fmt.Sprintf("send/streams=%d", streams), func(b *testing.B) {
			cl := benchCluster(b, 2)
			c := cl[0].conn(cl[1])
			b.SetBytes(msgSize)
			b.ReportAllocs()
			var wg sync.WaitGroup
			per := (b.N + streams - 1) / streams
			b.ResetTimer()
			for range streams {
				st, err := c.NewStreamWindow(context.Background(), hTestStream, nil, Window{})
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						if err := st.Send(GetBuffer(msgSize)[:msgSize]); err != nil {
							b.Error(err)
							return
						}
					}
					_ = st.CloseSend()
					if _, err := st.Recv(); err.Error() != "EOF" {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		})
		b.Run(fmt.Sprintf("recv/streams=%d", streams), func(b *testing.B) {
			cl := benchCluster(b, 2)
			c := cl[0].conn(cl[1])
			b.SetBytes(msgSize)
			b.ReportAllocs()
			var wg sync.WaitGroup
			per := (b.N + streams - 1) / streams
			b.ResetTimer()
			for range streams {
				st, err := c.NewStream(context.Background(), hTestStream, []byte(fmt.Sprint(per)))
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := st.Results(func([]byte) error { return nil }); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// BenchmarkSmallRequestUnderBulkLoad measures the latency of 100-byte
// requests on a connection that is idle and on one that also carries a bulk
// stream of 1 MiB messages; fair framing should keep the two close.
func BenchmarkSmallRequestUnderBulkLoad(b *testing.B) {
	for _, bulk := range []bool{false, true} {
		name := "idle"
		if bulk {
			name = "bulk"
		}
		b.Run(name, func(b *testing.B) {
			cl := benchCluster(b, 2)
			c := cl[0].conn(cl[1])
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var bulkBytes atomic.Int64
			var wg sync.WaitGroup
			if bulk {
				st, err := c.NewStream(ctx, hTestStream, nil)
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if st.Send(GetBuffer(1 << 20)[:1<<20]) != nil {
							return
						}
						bulkBytes.Add(1 << 20)
					}
				}()
				// Let the bulk stream reach its steady state.
				for bulkBytes.Load() < 64<<20 {
					time.Sleep(time.Millisecond)
				}
			}
			req := make([]byte, 100)
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			startBulk := bulkBytes.Load()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				resp, err := c.Request(ctx, hEcho, req)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				PutBuffer(resp)
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			if bulk {
				b.ReportMetric(float64(bulkBytes.Load()-startBulk)/b.Elapsed().Seconds()/1e6, "bulk-MB/s")
			}
		})
	}
}
