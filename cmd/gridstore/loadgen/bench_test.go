package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
)

// The generator's own cost per operation, against an in-process server
// that answers at once (it discards PUT bodies, serves GETs from memory):
// what the client spends, which on a small machine is taken from the store.
// Signed vs unsigned shows what minio-go's streaming SigV4 over http costs.
func BenchmarkGeneratorPut(b *testing.B) {
	for _, size := range []int64{4 << 10, 1 << 20} {
		for _, unsigned := range []bool{false, true} {
			name := fmt.Sprintf("%s/signed", FormatBytes(size))
			if unsigned {
				name = fmt.Sprintf("%s/unsigned", FormatBytes(size))
			}
			b.Run(name, func(b *testing.B) {
				r, c := benchRun(b, size, unsigned)
				rng := rand.New(rand.NewPCG(1, 2))
				var pl payload
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					o := &object{name: "bench/obj", size: size, offset: rng.Int64N(int64(len(r.src.buf)))}
					if err := r.put(context.Background(), c, &pl, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkGeneratorGet(b *testing.B) {
	for _, size := range []int64{4 << 10, 1 << 20} {
		for _, verify := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/verify=%v", FormatBytes(size), verify), func(b *testing.B) {
				r, c := benchRun(b, size, false)
				w := &worker{r: r, c: c, rng: rand.New(rand.NewPCG(1, 2))}
				o := &object{name: "bench/obj", size: size, offset: 0, sum: r.src.checksum(0, size)}
				r.pool.add(o)
				if verify {
					r.cfg.Verify = 1
				}
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					w.do(context.Background(), OpGet, r.pool.acquire(w.rng))
				}
				if n := r.live[OpGet].errors.Load(); n > 0 {
					for _, e := range r.errors[OpGet] {
						b.Fatalf("%d GET errors, %d %s: %s", n, e.Count, e.Code, e.First)
					}
				}
			})
		}
	}
}

// benchRun is a run against a server that does no work.
func benchRun(b *testing.B, size int64, unsigned bool) (*run, *minio.Core) {
	b.Helper()
	src := newSource(size, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodPut:
			_, _ = io.Copy(io.Discard, req.Body)
			w.Header().Set("ETag", `"0"`)
		case http.MethodGet:
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			w.Header().Set("ETag", `"0"`)
			w.Header().Set("Last-Modified", "Mon, 2 Jan 2006 15:04:05 GMT")
			src.each(0, size, func(p []byte) { _, _ = w.Write(p) })
		}
	}))
	b.Cleanup(srv.Close)
	cfg := Config{
		Endpoints: []string{srv.URL}, AccessKey: "bench", SecretKey: "bench-secret",
		Mix: MixOf(OpPut), Sizes: Sizes{size, size}, Clients: 1, UnsignedPayload: unsigned, Seed: 1,
	}
	if err := cfg.setDefaults(); err != nil {
		b.Fatal(err)
	}
	r, err := newRun(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.closeIdle)
	r.src = src
	r.bucket = "bench"
	return r, r.clients[0]
}
