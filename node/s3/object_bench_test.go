package s3

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// benchSizes are the object sizes of the PUT and GET benchmarks: one
// inline object and one coded into shard files.
var benchSizes = []struct {
	name string
	size int
}{
	{"4KiB", 4 << 10},
	{"1MiB", 1 << 20},
}

// BenchmarkS3PutObject measures signed PUTs through real HTTP on loopback,
// the payload's SHA-256 computed once (a client computes it too, so it is
// not the server's cost) and verified by the server on every request.
func BenchmarkS3PutObject(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			ts := newObjectServer(b)
			data := randomBytes(bs.size, 1)
			hash := sigv4.PayloadSHA256Hex(data)
			url := ts.URL + "/" + testBucket + "/bench-put"
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if err := ts.Signer.Sign(r, hash, time.Now()); err != nil {
					b.Fatal(err)
				}
				benchSend(b, r, http.StatusOK)
			}
		})
	}
}

// BenchmarkS3GetObject measures signed GETs of a whole object through real
// HTTP on loopback.
func BenchmarkS3GetObject(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			ts := newObjectServer(b)
			key := "bench-get-" + strconv.Itoa(bs.size)
			ts.mustPut(b, testBucket, key, randomBytes(bs.size, 2), object.PutOptions{})
			url := ts.URL + "/" + testBucket + "/" + key
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := http.NewRequest(http.MethodGet, url, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := ts.Signer.Sign(r, sigv4.EmptySHA256, time.Now()); err != nil {
					b.Fatal(err)
				}
				if n := benchSend(b, r, http.StatusOK); n != int64(bs.size) {
					b.Fatalf("read %d bytes, want %d", n, bs.size)
				}
			}
		})
	}
}

// benchSend sends r, checks the status and discards the body, whose
// length it returns.
func benchSend(b *testing.B, r *http.Request, status int) int64 {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != status {
		b.Fatalf("%s: status %d, want %d", r.Method, resp.StatusCode, status)
	}
	return n
}
