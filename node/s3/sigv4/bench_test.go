package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkVerify is the authentication cost per request: a GET in the
// header form with UNSIGNED-PAYLOAD, as SDKs send it (host,
// x-amz-content-sha256, x-amz-date signed; a User-Agent not), with the
// signing key cached as it is after a client's first request of the day.
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct{ name, target string }{
		{"header-get", "http://s3.local:9000/bucket/photos/2026/03/14/img_0001.jpg"},
		{"header-list-query", "http://s3.local:9000/bucket?list-type=2&prefix=photos%2F2026%2F&delimiter=%2F&max-keys=1000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := toServer(b, signed(b, "GET", bc.target, nil, nil, UnsignedPayload))
			v := testVerifier(testTime)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("presigned-get", func(b *testing.B) {
		u, _ := testSigner().Presign("GET", "http://s3.local:9000/bucket/photos/img_0001.jpg", nil, testTime, time.Hour)
		r := toServer(b, mustRequest(b, "GET", u))
		v := testVerifier(testTime)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func mustRequest(b *testing.B, method, u string) *http.Request {
	r, err := http.NewRequest(method, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkBody is the payload cost: MB/s of data through Body, read in 1
// MiB slices (an erasure block), for an 8 MiB object.
func BenchmarkBody(b *testing.B) {
	data := testData(8 << 20)
	buf := make([]byte, 1<<20)
	drain := func(b *testing.B, r io.Reader) {
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				return
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, bc := range []struct {
		name     string
		chunk    int
		unsigned bool
		trailer  string
	}{
		{"aws-chunked-signed-64KiB", 64 << 10, false, ""},
		{"aws-chunked-signed-crc32c-trailer-64KiB", 64 << 10, false, "x-amz-checksum-crc32c"},
		{"aws-chunked-unsigned-crc32c-trailer-64KiB", 64 << 10, true, "x-amz-checksum-crc32c"},
		{"aws-chunked-signed-1MiB", 1 << 20, false, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a, body := encodeChunked(b, data, bc.chunk, bc.unsigned, bc.trailer)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				drain(b, a.Body(bytes.NewReader(body)))
			}
		})
	}
	b.Run("sha256-payload", func(b *testing.B) {
		a := &Auth{Payload: PayloadSHA256, PayloadHash: PayloadSHA256Hex(data)}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			drain(b, a.Body(bytes.NewReader(data)))
		}
	})
}

// BenchmarkSigningKey is what a cache miss adds to a verification: the
// four-HMAC key derivation of a credential's first request of a day.
func BenchmarkSigningKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = signingKey(testSecret, "20260314", "us-east-1", Service)
	}
}
