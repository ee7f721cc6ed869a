package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/sigv4"
	"github.com/gridstore/gridstore/storage/local"
)

// testBucket is the bucket newObjectServer creates.
const testBucket = "bkt"

// newObjectServer starts a test server with testBucket in it.
func newObjectServer(t testing.TB) *testServer {
	t.Helper()
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, testBucket)
	return ts
}

// randomBytes returns n bytes of a fixed pseudo-random sequence.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// quotedMD5 is the ETag S3 answers for a single-part object.
func quotedMD5(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// mustPutHTTP stores an object through the API and checks the answer.
func (ts *testServer) mustPutHTTP(t testing.TB, path string, data []byte, h http.Header) *http.Response {
	t.Helper()
	resp, body := ts.do(t, http.MethodPut, path, data, h)
	wantStatus(t, resp, body, http.StatusOK)
	if got, want := resp.Header.Get("ETag"), quotedMD5(data); got != want {
		t.Fatalf("PUT %s: ETag %s, want %s", path, got, want)
	}
	if len(body) != 0 {
		t.Fatalf("PUT %s: body %q, want none", path, body)
	}
	return resp
}

// mustGetHTTP reads an object through the API and checks it is data.
func (ts *testServer) mustGetHTTP(t testing.TB, path string, data []byte) *http.Response {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, path, nil, hdr("Accept-Encoding", "identity"))
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) {
		t.Fatalf("GET %s: %d bytes differ from the %d stored", path, len(body), len(data))
	}
	if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(data)) {
		t.Fatalf("GET %s: Content-Length %q, want %d", path, got, len(data))
	}
	return resp
}

// wantNoSuchKey checks that GET of path finds nothing.
func (ts *testServer) wantNoSuchKey(t testing.TB, path string) {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, path, nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET %s: status %d with %d bytes, want 404 NoSuchKey: a failed request stored data", path, resp.StatusCode, len(body))
	}
	wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
}

// signedWith builds a request signed with the given x-amz-content-sha256,
// whatever the body is.
func (ts *testServer) signedWith(t testing.TB, method, path string, body []byte, payloadHash string, h http.Header) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		r.Header[k] = v
	}
	if err := ts.Signer.Sign(r, payloadHash, time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// streamingRequest builds an aws-chunked PUT of data; corruptAt >= 0 flips
// that byte of the encoded body on the wire.
func (ts *testServer) streamingRequest(t testing.TB, path string, data []byte, o sigv4.StreamOptions, corruptAt int64) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Signer.SignStreaming(r, bytes.NewReader(data), int64(len(data)), time.Now(), o); err != nil {
		t.Fatal(err)
	}
	if corruptAt >= 0 {
		r.Body = &flipByte{ReadCloser: r.Body, at: corruptAt}
	}
	return r
}

// flipByte inverts one byte of a stream.
type flipByte struct {
	io.ReadCloser
	at, off int64
}

func (f *flipByte) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func TestPutGetSizes(t *testing.T) {
	ts := newObjectServer(t)
	for _, size := range []int{0, 1, object.InlineLimit - 1, object.InlineLimit, object.InlineLimit + 1, 3 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			data := randomBytes(size, uint64(size))
			path := fmt.Sprintf("/%s/size-%d", testBucket, size)
			ts.mustPutHTTP(t, path, data, nil)
			resp := ts.mustGetHTTP(t, path, data)
			if got := resp.Header.Get("ETag"); got != quotedMD5(data) {
				t.Fatalf("GET ETag %s, want %s", got, quotedMD5(data))
			}
		})
	}
}

func TestPutGetMetadata(t *testing.T) {
	ts := newObjectServer(t)
	data := []byte("hello, metadata")
	path := "/" + testBucket + "/dir/meta object"
	sent := hdr(
		"Content-Type", "text/plain; charset=utf-8",
		"Content-Encoding", "gzip",
		"Content-Disposition", `attachment; filename="a b.txt"`,
		"Content-Language", "de-CH",
		"Cache-Control", "max-age=60, private",
		"Expires", "Wed, 21 Oct 2037 07:28:00 GMT",
		"X-Amz-Meta-Color", "Blue Green",
		"X-Amz-Meta-Multi-Word-Key", "  spaced value",
	)
	put := ts.mustPutHTTP(t, path, data, sent)
	if put.Header.Get("X-Amz-Request-Id") == "" {
		t.Fatal("PUT has no x-amz-request-id")
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, body := ts.do(t, method, path, nil, hdr("Accept-Encoding", "identity"))
		wantStatus(t, resp, body, http.StatusOK)
		for name := range sent {
			want := sent.Get(name)
			if name == "X-Amz-Meta-Multi-Word-Key" {
				want = strings.TrimSpace(want) // HTTP drops leading spaces of a value
			}
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", method, name, got, want)
			}
		}
		if got := resp.Header.Get("Last-Modified"); got == "" {
			t.Errorf("%s: no Last-Modified", method)
		} else if _, err := http.ParseTime(got); err != nil {
			t.Errorf("%s: Last-Modified %q: %v", method, got, err)
		}
		if got := resp.Header.Get("Accept-Ranges"); got != "bytes" {
			t.Errorf("%s: Accept-Ranges %q", method, got)
		}
		if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(data)) {
			t.Errorf("%s: Content-Length %q", method, got)
		}
		if method == http.MethodGet && !bytes.Equal(body, data) {
			t.Errorf("GET body %q", body)
		}
		if method == http.MethodHead && len(body) != 0 {
			t.Errorf("HEAD body %q", body)
		}
	}
}

func TestPutDefaultContentType(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustPut(t, testBucket, "plain", []byte("x"), object.PutOptions{})
	resp, _ := ts.do(t, http.MethodHead, "/"+testBucket+"/plain", nil, nil)
	if got := resp.Header.Get("Content-Type"); got != "binary/octet-stream" {
		t.Fatalf("Content-Type %q, want binary/octet-stream", got)
	}
}

func TestPutRefusals(t *testing.T) {
	ts := newObjectServer(t)
	old := []byte("the old content")
	ts.mustPut(t, testBucket, "existing", old, object.PutOptions{})
	data := randomBytes(200<<10, 7)
	other := randomBytes(200<<10, 8)

	for _, key := range []string{"fresh", "existing"} {
		path := "/" + testBucket + "/" + key
		// afterwards checks that the failed PUT left the key as it was.
		afterwards := func(t *testing.T) {
			t.Helper()
			if key == "fresh" {
				ts.wantNoSuchKey(t, path)
			} else {
				ts.mustGetHTTP(t, path, old)
			}
		}
		t.Run(key+"/sha256-mismatch", func(t *testing.T) {
			resp, body := send(t, ts.signedWith(t, http.MethodPut, path, data, sigv4.PayloadSHA256Hex(other), nil))
			wantError(t, resp, body, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
			afterwards(t)
		})
		t.Run(key+"/content-md5-mismatch", func(t *testing.T) {
			sum := md5.Sum(other)
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("Content-MD5", b64(sum[:])))
			wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
			afterwards(t)
		})
		for _, acl := range [][2]string{{"X-Amz-Acl", "public-read"}, {"X-Amz-Grant-Read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"}} {
			t.Run(key+"/acl-"+acl[0], func(t *testing.T) {
				resp, body := ts.do(t, http.MethodPut, path, data, hdr(acl[0], acl[1]))
				wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
				afterwards(t)
				resp, body = ts.do(t, http.MethodPut, path, nil, hdr(acl[0], acl[1], "X-Amz-Copy-Source", "/"+testBucket+"/existing"))
				wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
				afterwards(t)
				resp, body = ts.do(t, http.MethodPost, path+"?uploads", nil, hdr(acl[0], acl[1]))
				wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
			})
		}
		t.Run(key+"/acl-private", func(t *testing.T) {
			resp, body := ts.do(t, http.MethodPut, "/"+testBucket+"/private-"+key, data, hdr("X-Amz-Acl", "private"))
			wantStatus(t, resp, body, http.StatusOK)
		})
		t.Run(key+"/content-md5-malformed", func(t *testing.T) {
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("Content-MD5", "not base64!"))
			wantError(t, resp, body, http.StatusBadRequest, "InvalidDigest")
			afterwards(t)
		})
		t.Run(key+"/checksum-sha256-mismatch", func(t *testing.T) {
			sum := sha256.Sum256(other)
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("X-Amz-Checksum-Sha256", b64(sum[:])))
			wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
			afterwards(t)
		})
		t.Run(key+"/two-checksums", func(t *testing.T) {
			sum := sha256.Sum256(data)
			crc := crc32.ChecksumIEEE(data)
			resp, body := ts.do(t, http.MethodPut, path, data, hdr(
				"X-Amz-Checksum-Sha256", b64(sum[:]),
				"X-Amz-Checksum-Crc32", b64([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})))
			wantError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
			afterwards(t)
		})
		t.Run(key+"/chunk-corrupted", func(t *testing.T) {
			resp, body := send(t, ts.streamingRequest(t, path, data, sigv4.StreamOptions{}, 1000))
			wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
			afterwards(t)
		})
		t.Run(key+"/trailer-crc32-mismatch", func(t *testing.T) {
			// Unsigned chunks: the flipped data byte passes the framing
			// and only the trailing checksum can catch it.
			resp, body := send(t, ts.streamingRequest(t, path, data,
				sigv4.StreamOptions{Unsigned: true, Checksum: "x-amz-checksum-crc32"}, 1000))
			wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
			afterwards(t)
		})
		t.Run(key+"/if-none-match-etag", func(t *testing.T) {
			// Only "*" has a meaning on a write: refused, not ignored.
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("If-None-Match", quotedMD5(other)))
			wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
			afterwards(t)
		})
		t.Run(key+"/if-match-other", func(t *testing.T) {
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("If-Match", quotedMD5(other)))
			if key == "fresh" {
				wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
			} else {
				wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
			}
			afterwards(t)
		})
		if key == "existing" {
			t.Run(key+"/if-none-match", func(t *testing.T) {
				resp, body := ts.do(t, http.MethodPut, path, data, hdr("If-None-Match", "*"))
				wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
				afterwards(t)
			})
		}
		t.Run(key+"/storage-class", func(t *testing.T) {
			resp, body := ts.do(t, http.MethodPut, path, data, hdr("X-Amz-Storage-Class", "GLACIER"))
			wantError(t, resp, body, http.StatusBadRequest, "InvalidStorageClass")
			afterwards(t)
		})
	}
}

func TestPutMissingBucket(t *testing.T) {
	ts := newObjectServer(t)
	resp, body := ts.do(t, http.MethodPut, "/nobucket/k", []byte("x"), nil)
	doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	if doc.BucketName != "nobucket" {
		t.Fatalf("BucketName %q", doc.BucketName)
	}
}

func TestPutChunkedLengthRequired(t *testing.T) {
	ts := newObjectServer(t)
	r := ts.signedWith(t, http.MethodPut, "/"+testBucket+"/k", nil, sigv4.UnsignedPayload, nil)
	r.Body = io.NopCloser(strings.NewReader("streamed"))
	r.ContentLength = -1 // sent with Transfer-Encoding: chunked
	resp, body := send(t, r)
	wantError(t, resp, body, http.StatusLengthRequired, "MissingContentLength")
	ts.wantNoSuchKey(t, "/"+testBucket+"/k")
}

func TestPutChecksums(t *testing.T) {
	ts := newObjectServer(t)
	data := randomBytes(300<<10, 11)
	crc := crc32.ChecksumIEEE(data)
	crcB64 := b64([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	sha := sha256.Sum256(data)

	t.Run("header-sha256", func(t *testing.T) {
		path := "/" + testBucket + "/sha"
		resp := ts.mustPutHTTP(t, path, data, hdr("X-Amz-Checksum-Sha256", b64(sha[:])))
		if got := resp.Header.Get("X-Amz-Checksum-Sha256"); got != b64(sha[:]) {
			t.Fatalf("echoed checksum %q, want %q", got, b64(sha[:]))
		}
		ts.mustGetHTTP(t, path, data)
	})
	t.Run("content-md5", func(t *testing.T) {
		path := "/" + testBucket + "/md5"
		sum := md5.Sum(data)
		ts.mustPutHTTP(t, path, data, hdr("Content-MD5", b64(sum[:])))
		ts.mustGetHTTP(t, path, data)
	})
	for _, tc := range []struct {
		name string
		o    sigv4.StreamOptions
	}{
		{"signed-chunks", sigv4.StreamOptions{}},
		{"signed-chunks-small", sigv4.StreamOptions{ChunkSize: 8 << 10}},
		{"signed-trailer", sigv4.StreamOptions{Checksum: "x-amz-checksum-crc32"}},
		{"unsigned-trailer", sigv4.StreamOptions{Unsigned: true, Checksum: "x-amz-checksum-crc32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + testBucket + "/" + tc.name
			resp, body := send(t, ts.streamingRequest(t, path, data, tc.o, -1))
			wantStatus(t, resp, body, http.StatusOK)
			if got := resp.Header.Get("ETag"); got != quotedMD5(data) {
				t.Fatalf("ETag %s, want %s", got, quotedMD5(data))
			}
			wantCRC := ""
			if tc.o.Checksum != "" {
				wantCRC = crcB64
			}
			if got := resp.Header.Get("X-Amz-Checksum-Crc32"); got != wantCRC {
				t.Fatalf("echoed trailer checksum %q, want %q", got, wantCRC)
			}
			get := ts.mustGetHTTP(t, path, data)
			// aws-chunked describes the upload, not the object.
			if ce := get.Header.Get("Content-Encoding"); ce != "" {
				t.Fatalf("stored Content-Encoding %q", ce)
			}
		})
	}
	t.Run("chunked-empty", func(t *testing.T) {
		path := "/" + testBucket + "/chunked-empty"
		resp, body := send(t, ts.streamingRequest(t, path, nil, sigv4.StreamOptions{}, -1))
		wantStatus(t, resp, body, http.StatusOK)
		ts.mustGetHTTP(t, path, []byte{})
	})
}

func TestPresigned(t *testing.T) {
	ts := newObjectServer(t)
	data := randomBytes(150<<10, 3)
	u := ts.URL + "/" + testBucket + "/presigned%20key"

	putURL, err := ts.Signer.Presign(http.MethodPut, u, nil, time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPut, putURL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := send(t, r)
	wantStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("ETag"); got != quotedMD5(data) {
		t.Fatalf("ETag %s", got)
	}

	getURL, err := ts.Signer.Presign(http.MethodGet, u+"?response-content-disposition=attachment", nil, time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r, err = http.NewRequest(http.MethodGet, getURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = send(t, r)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) {
		t.Fatal("presigned GET returned other bytes")
	}
	if got := resp.Header.Get("Content-Disposition"); got != "attachment" {
		t.Fatalf("Content-Disposition %q", got)
	}

	// The URL is for GET only.
	r, err = http.NewRequest(http.MethodDelete, getURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = send(t, r)
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
	ts.mustGetHTTP(t, "/"+testBucket+"/presigned%20key", data)
}

func TestGetRange(t *testing.T) {
	ts := newObjectServer(t)
	// Above the inline limit and over two erasure blocks (256 KiB).
	const size = 300 << 10
	data := randomBytes(size, 5)
	ts.mustPut(t, testBucket, "r", data, object.PutOptions{})
	ts.mustPut(t, testBucket, "empty", nil, object.PutOptions{})
	path := "/" + testBucket + "/r"

	for _, tc := range []struct {
		rng         string
		first, last int // inclusive; -1: 200 with the whole object
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=10-19", 10, 19},
		{"bytes=262000-263000", 262000, 263000}, // across a block boundary
		{"bytes=100-", 100, size - 1},
		{"bytes=-100", size - 100, size - 1},
		{"bytes=-" + strconv.Itoa(2*size), 0, size - 1},
		{"bytes=0-" + strconv.Itoa(2*size), 0, size - 1},
		{"bytes=5-99999999999999999999999", 5, size - 1},
		{"bytes=" + strconv.Itoa(size-1) + "-", size - 1, size - 1},
		{"BYTES=1-2", 1, 2},
		// Ignored: malformed, another unit, several ranges.
		{"bytes=5-3", -1, -1},
		{"bytes=a-b", -1, -1},
		{"bytes=-", -1, -1},
		{"bytes=", -1, -1},
		{"bytes=1-2-3", -1, -1},
		{"bytes=0-1,5-6", -1, -1},
		{"items=0-1", -1, -1},
		{"0-1", -1, -1},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := ts.do(t, method, path, nil, hdr("Range", tc.rng))
				if tc.first < 0 {
					wantStatus(t, resp, body, http.StatusOK)
					if resp.Header.Get("Content-Range") != "" {
						t.Fatalf("%s: Content-Range %q on a 200", method, resp.Header.Get("Content-Range"))
					}
					if method == http.MethodGet && !bytes.Equal(body, data) {
						t.Fatalf("GET: not the whole object")
					}
					continue
				}
				wantStatus(t, resp, body, http.StatusPartialContent)
				wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.first, tc.last, size)
				if got := resp.Header.Get("Content-Range"); got != wantCR {
					t.Fatalf("%s: Content-Range %q, want %q", method, got, wantCR)
				}
				if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(tc.last-tc.first+1) {
					t.Fatalf("%s: Content-Length %q", method, got)
				}
				if got := resp.Header.Get("ETag"); got != quotedMD5(data) {
					t.Fatalf("%s: ETag %q", method, got)
				}
				if method == http.MethodGet && !bytes.Equal(body, data[tc.first:tc.last+1]) {
					t.Fatalf("GET: wrong bytes")
				}
				if method == http.MethodHead && len(body) != 0 {
					t.Fatalf("HEAD with a body")
				}
			}
		})
	}

	for _, tc := range []struct{ path, rng string }{
		{path, "bytes=" + strconv.Itoa(size) + "-"},
		{path, "bytes=" + strconv.Itoa(size) + "-" + strconv.Itoa(size+10)},
		{path, "bytes=99999999999999999999-"},
		{path, "bytes=-0"},
		{"/" + testBucket + "/empty", "bytes=0-"},
		{"/" + testBucket + "/empty", "bytes=-1"},
	} {
		t.Run("416 "+tc.path+" "+tc.rng, func(t *testing.T) {
			resp, body := ts.do(t, http.MethodGet, tc.path, nil, hdr("Range", tc.rng))
			wantError(t, resp, body, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
			var doc struct {
				RangeRequested   string
				ActualObjectSize string
			}
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			wantSize := strconv.Itoa(size)
			if tc.path != path {
				wantSize = "0"
			}
			if doc.ActualObjectSize != wantSize || doc.RangeRequested == "" {
				t.Fatalf("details %+v, want size %s; body %s", doc, wantSize, body)
			}
			if got := resp.Header.Get("Content-Range"); got != "bytes */"+wantSize {
				t.Fatalf("416 Content-Range %q, want bytes */%s (RFC 9110)", got, wantSize)
			}
			resp, body = ts.do(t, http.MethodHead, tc.path, nil, hdr("Range", tc.rng))
			wantError(t, resp, body, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
			if len(body) != 0 || resp.Header.Get("ETag") != "" {
				t.Fatalf("HEAD 416: body %q, ETag %q", body, resp.Header.Get("ETag"))
			}
		})
	}
}

// putMultipart stores an object of two parts through the layer.
func (ts *testServer) putMultipart(t testing.TB, key string, parts ...[]byte) []byte {
	t.Helper()
	ctx := t.Context()
	id, err := ts.Layer.NewMultipartUpload(ctx, testBucket, key, object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	var done []object.CompletePart
	for i, p := range parts {
		info, err := ts.Layer.PutObjectPart(ctx, testBucket, key, id, i+1, bytes.NewReader(p), int64(len(p)), object.PartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, object.CompletePart{Number: i + 1, ETag: info.ETag})
		all = append(all, p...)
	}
	if _, err := ts.Layer.CompleteMultipartUpload(ctx, testBucket, key, id, done, object.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return all
}

func TestGetPartNumber(t *testing.T) {
	ts := newObjectServer(t)
	part1, part2 := randomBytes(object.MinPartSize, 1), randomBytes(1000, 2)
	all := ts.putMultipart(t, "mp", part1, part2)
	single := []byte("single part object")
	ts.mustPut(t, testBucket, "single", single, object.PutOptions{})
	mp := "/" + testBucket + "/mp"

	for _, tc := range []struct {
		n           int
		first, last int
	}{
		{1, 0, len(part1) - 1},
		{2, len(part1), len(all) - 1},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, body := ts.do(t, method, fmt.Sprintf("%s?partNumber=%d", mp, tc.n), nil, nil)
			wantStatus(t, resp, body, http.StatusPartialContent)
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.first, tc.last, len(all))
			if got := resp.Header.Get("Content-Range"); got != wantCR {
				t.Fatalf("%s part %d: Content-Range %q, want %q", method, tc.n, got, wantCR)
			}
			if got := resp.Header.Get("X-Amz-Mp-Parts-Count"); got != "2" {
				t.Fatalf("%s part %d: parts count %q", method, tc.n, got)
			}
			if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(tc.last-tc.first+1) {
				t.Fatalf("%s part %d: Content-Length %q", method, tc.n, got)
			}
			if method == http.MethodGet && !bytes.Equal(body, all[tc.first:tc.last+1]) {
				t.Fatalf("GET part %d: wrong bytes", tc.n)
			}
		}
	}
	// The whole multipart object, and its ETag "md5-2".
	resp := ts.mustGetHTTP(t, mp, all)
	if etag := resp.Header.Get("ETag"); !strings.HasSuffix(etag, `-2"`) {
		t.Fatalf("multipart ETag %s", etag)
	}
	if got := resp.Header.Get("X-Amz-Mp-Parts-Count"); got != "" {
		t.Fatalf("parts count %q on a read of the whole object (S3 sends it for a part only)", got)
	}

	resp, body := ts.do(t, http.MethodGet, "/"+testBucket+"/single?partNumber=1", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, single) || resp.Header.Get("Content-Range") != "" {
		t.Fatalf("part 1 of a single-part object: %q, Content-Range %q", body, resp.Header.Get("Content-Range"))
	}

	for _, tc := range []struct {
		method, path string
		h            http.Header
		status       int
		code         string
	}{
		{http.MethodGet, mp + "?partNumber=3", nil, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber"},
		{http.MethodHead, mp + "?partNumber=3", nil, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber"},
		{http.MethodGet, "/" + testBucket + "/single?partNumber=2", nil, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber"},
		{http.MethodGet, mp + "?partNumber=0", nil, http.StatusBadRequest, "InvalidArgument"},
		{http.MethodGet, mp + "?partNumber=10001", nil, http.StatusBadRequest, "InvalidArgument"},
		{http.MethodGet, mp + "?partNumber=x", nil, http.StatusBadRequest, "InvalidArgument"},
		{http.MethodGet, mp + "?partNumber=1", hdr("Range", "bytes=0-1"), http.StatusBadRequest, "InvalidRequest"},
		{http.MethodGet, "/" + testBucket + "/absent?partNumber=1", nil, http.StatusNotFound, "NoSuchKey"},
	} {
		resp, body := ts.do(t, tc.method, tc.path, nil, tc.h)
		wantError(t, resp, body, tc.status, tc.code)
	}
}

func TestGetConditions(t *testing.T) {
	ts := newObjectServer(t)
	data := []byte("conditional content")
	info := ts.mustPut(t, testBucket, "c", data, object.PutOptions{})
	path := "/" + testBucket + "/c"
	etag := `"` + info.ETag + `"`
	mod := info.ModTime.UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return mod.Add(d).Format(http.TimeFormat) }
	const (
		ok  = http.StatusOK
		nm  = http.StatusNotModified
		pf  = http.StatusPreconditionFailed
		sec = time.Second
	)
	for _, tc := range []struct {
		name   string
		h      http.Header
		status int
	}{
		{"none", nil, ok},
		{"if-match", hdr("If-Match", etag), ok},
		{"if-match unquoted", hdr("If-Match", info.ETag), ok},
		{"if-match list", hdr("If-Match", `"other", `+etag), ok},
		{"if-match star", hdr("If-Match", "*"), ok},
		{"if-match weak", hdr("If-Match", "W/"+etag), ok},
		{"if-match other", hdr("If-Match", `"0123"`), pf},
		{"if-none-match", hdr("If-None-Match", etag), nm},
		{"if-none-match star", hdr("If-None-Match", "*"), nm},
		{"if-none-match other", hdr("If-None-Match", `"0123"`), ok},
		{"if-modified-since before", hdr("If-Modified-Since", at(-sec)), ok},
		{"if-modified-since same", hdr("If-Modified-Since", at(0)), nm},
		{"if-modified-since after", hdr("If-Modified-Since", at(time.Hour)), nm},
		{"if-modified-since malformed", hdr("If-Modified-Since", "yesterday"), ok},
		{"if-unmodified-since before", hdr("If-Unmodified-Since", at(-sec)), pf},
		{"if-unmodified-since same", hdr("If-Unmodified-Since", at(0)), ok},
		{"if-unmodified-since malformed", hdr("If-Unmodified-Since", "yesterday"), ok},
		// RFC 9110 §13.2.2: If-Match overrides If-Unmodified-Since,
		// If-None-Match overrides If-Modified-Since, 412 before 304.
		{"if-match + failing if-unmodified-since", hdr("If-Match", etag, "If-Unmodified-Since", at(-sec)), ok},
		{"if-none-match other + failing if-modified-since", hdr("If-None-Match", `"0123"`, "If-Modified-Since", at(0)), ok},
		{"if-none-match + passing if-modified-since", hdr("If-None-Match", etag, "If-Modified-Since", at(-sec)), nm},
		{"if-match + if-none-match", hdr("If-Match", etag, "If-None-Match", etag), nm},
		{"failing if-match + if-none-match", hdr("If-Match", `"0123"`, "If-None-Match", etag), pf},
		{"failing if-unmodified-since + if-modified-since", hdr("If-Unmodified-Since", at(-sec), "If-Modified-Since", at(0)), pf},
		{"if-match + if-modified-since same", hdr("If-Match", etag, "If-Modified-Since", at(0)), nm},
		// Preconditions decide before the range is looked at.
		{"failing if-match + unsatisfiable range", hdr("If-Match", `"0123"`, "Range", "bytes=1000-"), pf},
		{"if-none-match + unsatisfiable range", hdr("If-None-Match", etag, "Range", "bytes=1000-"), nm},
		{"if-none-match + empty suffix", hdr("If-None-Match", etag, "Range", "bytes=-0"), nm},
		{"if-match + range", hdr("If-Match", etag, "Range", "bytes=0-3"), http.StatusPartialContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := ts.do(t, method, path, nil, tc.h)
				switch tc.status {
				case ok:
					wantStatus(t, resp, body, ok)
					if method == http.MethodGet && !bytes.Equal(body, data) {
						t.Fatalf("GET body %q", body)
					}
				case nm:
					wantStatus(t, resp, body, nm)
					if len(body) != 0 {
						t.Fatalf("%s 304 with a body %q", method, body)
					}
					if got := resp.Header.Get("ETag"); got != etag {
						t.Fatalf("%s 304: ETag %q, want %q", method, got, etag)
					}
					if got := resp.Header.Get("Last-Modified"); got != mod.Format(http.TimeFormat) {
						t.Fatalf("%s 304: Last-Modified %q", method, got)
					}
				case pf:
					wantError(t, resp, body, pf, "PreconditionFailed")
				default:
					wantStatus(t, resp, body, tc.status)
				}
			}
		})
	}
	t.Run("absent object", func(t *testing.T) {
		resp, body := ts.do(t, http.MethodGet, "/"+testBucket+"/absent", nil, hdr("If-None-Match", "*"))
		wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
	})
}

func TestGetResponseOverrides(t *testing.T) {
	ts := newObjectServer(t)
	data := []byte("override me")
	ts.mustPut(t, testBucket, "o", data, object.PutOptions{Metadata: object.Metadata{
		ContentType: "text/plain", CacheControl: "no-cache", ContentLanguage: "en",
	}})
	q := "?response-content-type=application%2Fjson" +
		"&response-content-language=fr" +
		"&response-expires=Thu%2C%2001%20Dec%202094%2016%3A00%3A00%20GMT" +
		"&response-cache-control=max-age%3D5" +
		"&response-content-disposition=attachment%3B%20filename%3D%22x.json%22" +
		"&response-content-encoding=identity"
	want := map[string]string{
		"Content-Type":        "application/json",
		"Content-Language":    "fr",
		"Expires":             "Thu, 01 Dec 2094 16:00:00 GMT",
		"Cache-Control":       "max-age=5",
		"Content-Disposition": `attachment; filename="x.json"`,
		"Content-Encoding":    "identity",
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, body := ts.do(t, method, "/"+testBucket+"/o"+q, nil, nil)
		wantStatus(t, resp, body, http.StatusOK)
		for name, v := range want {
			if got := resp.Header.Get(name); got != v {
				t.Errorf("%s: %s = %q, want %q", method, name, got, v)
			}
		}
	}
	// Without the parameters, the stored values.
	resp, body := ts.do(t, http.MethodGet, "/"+testBucket+"/o", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("stored headers changed: %v", resp.Header)
	}
}

func TestHeadAndErrors(t *testing.T) {
	ts := newObjectServer(t)
	data := randomBytes(1000, 9)
	ts.mustPut(t, testBucket, "h", data, object.PutOptions{})

	resp, body := ts.do(t, http.MethodHead, "/"+testBucket+"/h", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if len(body) != 0 || resp.ContentLength != int64(len(data)) || resp.Header.Get("ETag") != quotedMD5(data) {
		t.Fatalf("HEAD: body %d bytes, length %d, ETag %s", len(body), resp.ContentLength, resp.Header.Get("ETag"))
	}

	resp, body = ts.do(t, http.MethodHead, "/"+testBucket+"/absent", nil, nil)
	wantStatus(t, resp, body, http.StatusNotFound)
	if len(body) != 0 || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Fatalf("HEAD 404: body %q, request ID %q", body, resp.Header.Get("X-Amz-Request-Id"))
	}
	resp, body = ts.do(t, http.MethodHead, "/nobucket/k", nil, nil)
	wantStatus(t, resp, body, http.StatusNotFound)
	if len(body) != 0 {
		t.Fatalf("HEAD 404: body %q", body)
	}

	resp, body = ts.do(t, http.MethodGet, "/"+testBucket+"/absent/key", nil, nil)
	doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
	if doc.Key != "absent/key" || doc.BucketName != testBucket || doc.Resource != "/"+testBucket+"/absent/key" {
		t.Fatalf("NoSuchKey document %+v", doc)
	}
	resp, body = ts.do(t, http.MethodGet, "/nobucket/k", nil, nil)
	doc = wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	if doc.BucketName != "nobucket" {
		t.Fatalf("NoSuchBucket document %+v", doc)
	}
}

func TestVersionID(t *testing.T) {
	ts := newObjectServer(t)
	data := []byte("versioned?")
	ts.mustPut(t, testBucket, "v", data, object.PutOptions{})
	path := "/" + testBucket + "/v"
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, body := ts.do(t, method, path+"?versionId=null", nil, nil)
		wantStatus(t, resp, body, http.StatusOK)
		resp, body = ts.do(t, method, path+"?versionId=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd", nil, nil)
		wantStatus(t, resp, body, http.StatusNotFound)
		if method == http.MethodGet {
			doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchVersion")
			if doc.Key != "v" || doc.BucketName != testBucket {
				t.Fatalf("NoSuchVersion document %+v", doc)
			}
		}
	}
	resp, body := ts.do(t, http.MethodDelete, path+"?versionId=abc", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchVersion")
	ts.mustGetHTTP(t, path, data)
	resp, body = ts.do(t, http.MethodDelete, path+"?versionId=null", nil, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	ts.wantNoSuchKey(t, path)
}

func TestDeleteObject(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustPut(t, testBucket, "d", []byte("doomed"), object.PutOptions{})
	ts.mustPut(t, testBucket, "dir/big", randomBytes(500<<10, 1), object.PutOptions{})
	for _, key := range []string{"d", "d", "dir/big", "never-was"} {
		resp, body := ts.do(t, http.MethodDelete, "/"+testBucket+"/"+key, nil, nil)
		wantStatus(t, resp, body, http.StatusNoContent)
		if len(body) != 0 {
			t.Fatalf("DELETE body %q", body)
		}
		ts.wantNoSuchKey(t, "/"+testBucket+"/"+key)
	}
	resp, body := ts.do(t, http.MethodDelete, "/nobucket/k", nil, nil)
	doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	if doc.BucketName != "nobucket" {
		t.Fatalf("NoSuchBucket document %+v", doc)
	}
}

func TestOverwrite(t *testing.T) {
	ts := newObjectServer(t)
	path := "/" + testBucket + "/ow"
	first, second := randomBytes(200<<10, 1), []byte("small now")
	ts.mustPutHTTP(t, path, first, hdr("X-Amz-Meta-Gen", "1"))
	ts.mustPutHTTP(t, path, second, hdr("X-Amz-Meta-Gen", "2"))
	resp := ts.mustGetHTTP(t, path, second)
	if resp.Header.Get("X-Amz-Meta-Gen") != "2" {
		t.Fatalf("metadata of the old version: %v", resp.Header)
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in          string
		want        *object.Range
		emptySuffix bool
		ok          bool
	}{
		{"bytes=0-9", &object.Range{First: 0, Last: 9}, false, true},
		{"bytes=7-", &object.Range{First: 7, Last: -1}, false, true},
		{"bytes=-5", &object.Range{SuffixLength: 5}, false, true},
		{"bytes= 1-2 ", &object.Range{First: 1, Last: 2}, false, true},
		{"bytes=-0", nil, true, true},
		{"bytes=99999999999999999999-", &object.Range{First: 1<<63 - 1, Last: -1}, false, true},
		{"", nil, false, false},
		{"bytes=", nil, false, false},
		{"bytes=3-2", nil, false, false},
		{"bytes=+1-2", nil, false, false},
		{"bytes=1-+2", nil, false, false},
		{"bytes=0-1,2-3", nil, false, false},
		{"bytes=1 -2", nil, false, false},
	} {
		got, emptySuffix, ok := parseRange(tc.in)
		if ok != tc.ok || emptySuffix != tc.emptySuffix || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("parseRange(%q) = %v, %v, %v; want %v, %v, %v", tc.in, got, emptySuffix, ok, tc.want, tc.emptySuffix, tc.ok)
		}
	}
}

// TestGetReadQuorumLostAnswers503: a GET whose version is chosen (its
// records agree) but whose shards are too few to read gets 503 with an
// error document, not a 200 whose connection is then cut: a client that
// gets nothing back on a reused connection sends the GET again at once
// (Go's transport does), over and over while the quorum stays lost.
func TestGetReadQuorumLostAnswers503(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	data := bytes.Repeat([]byte("q"), 3<<20) // shard files, not inline
	ts.mustPut(t, "bucket", "key", data, object.PutOptions{})
	// EC 2+2: the shard files of three drives of four go, the records
	// stay.
	for _, root := range ts.Drives[:3] {
		dir := local.ObjectDir(root, "bucket", "key")
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	resp, body := ts.do(t, "GET", "/bucket/key", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET with its shards lost: %d %s, want 503", resp.StatusCode, body)
	}
	var doc errorDoc
	decodeXML(t, body, &doc)
	if doc.Code != "ServiceUnavailable" || resp.Header.Get("ETag") != "" || resp.Header.Get("Content-Range") != "" {
		t.Fatalf("GET with its shards lost: code %q, headers %v", doc.Code, resp.Header)
	}
}
