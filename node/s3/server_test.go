package s3

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// TestAuthRefusals: every request is authenticated before anything else
// happens, and a refused write stores nothing.
func TestAuthRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")

	resp, body := send(t, mustRequest(t, "GET", ts.URL+"/bucket/key", nil))
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")

	for _, tc := range []struct {
		name   string
		signer sigv4.Signer
		when   time.Time
		status int
		code   string
	}{
		{"wrong secret", sigv4.Signer{AccessKey: testAccessKey, SecretKey: "wrong"}, time.Now(), http.StatusForbidden, "SignatureDoesNotMatch"},
		{"unknown key", sigv4.Signer{AccessKey: "nobody", SecretKey: testSecretKey}, time.Now(), http.StatusForbidden, "InvalidAccessKeyId"},
		{"clock skew", sigv4.Signer{AccessKey: testAccessKey, SecretKey: testSecretKey}, time.Now().Add(-20 * time.Minute), http.StatusForbidden, "RequestTimeTooSkewed"},
		{"other region", sigv4.Signer{AccessKey: testAccessKey, SecretKey: testSecretKey, Region: "eu-west-1"}, time.Now(), http.StatusBadRequest, "AuthorizationHeaderMalformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte("must not be stored")
			r := mustRequest(t, "PUT", ts.URL+"/bucket/refused", data)
			if err := tc.signer.Sign(r, sigv4.PayloadSHA256Hex(data), tc.when); err != nil {
				t.Fatal(err)
			}
			resp, body := send(t, r)
			wantError(t, resp, body, tc.status, tc.code)
			resp, body = ts.do(t, "HEAD", "/bucket/refused", nil, nil)
			wantStatus(t, resp, body, http.StatusNotFound)
		})
	}
}

// TestNotImplemented: operations gridstore does not offer answer 501 in S3
// XML once authenticated; they are never served as another operation.
func TestNotImplemented(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	ts.mustPut(t, "bucket", "key", []byte("data"), object.PutOptions{})
	for _, target := range []string{
		"GET /?acl", "DELETE /bucket?acl", "POST /bucket/key?acl", "PUT /bucket?versioning", "DELETE /bucket?versions", "GET /bucket/key?versions",
		"GET /bucket?policy", "PUT /bucket?lifecycle", "GET /bucket/key?tagging", "PUT /bucket/key?retention",
		"POST /bucket/key?select&select-type=2", "POST /bucket/key", "DELETE /", "PUT /",
	} {
		method, path, _ := strings.Cut(target, " ")
		resp, body := ts.do(t, method, path, nil, nil)
		wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
		if got := ts.lastObserved().API; got != "NotImplemented" {
			t.Errorf("%s: observed API %q", target, got)
		}
	}
	// Authentication comes first: an anonymous caller learns nothing.
	resp, body := send(t, mustRequest(t, "GET", ts.URL+"/bucket?acl", nil))
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
}

// TestRequestIDs: every answer carries a fresh request ID, in the header
// and in the error document.
func TestRequestIDs(t *testing.T) {
	ts := newTestServer(t, nil)
	seen := map[string]bool{}
	format := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for i := range 50 {
		resp, body := ts.do(t, "GET", fmt.Sprintf("/missing-%d", i%3), nil, nil)
		doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
		if !format.MatchString(doc.RequestID) || seen[doc.RequestID] {
			t.Fatalf("request ID %q: malformed or repeated", doc.RequestID)
		}
		seen[doc.RequestID] = true
	}
}

// TestOversizedRequestsRefusedEarly: a header section or a body over the
// limits is refused from the headers, before any body byte is read.
func TestOversizedRequestsRefusedEarly(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")

	h := http.Header{}
	for i := range 40 {
		h.Set(fmt.Sprintf("X-Amz-Meta-K%d", i), strings.Repeat("v", 250))
	}
	resp, body := ts.do(t, "PUT", "/bucket/big-headers", []byte("x"), h)
	wantError(t, resp, body, http.StatusBadRequest, "RequestHeaderSectionTooLarge")

	// Headers announcing 6 GiB and not one body byte: the answer must come
	// from the declared length alone.
	r, err := http.NewRequest("PUT", ts.URL+"/bucket/huge", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = 6 << 30
	r.Header.Set("Content-Length", "6442450944")
	if err := ts.Signer.Sign(r, sigv4.UnsignedPayload, time.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", r.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard, not a timing check
	var head bytes.Buffer
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\n", r.URL.RequestURI(), r.URL.Host)
	if err := r.Header.Write(&head); err != nil {
		t.Fatal(err)
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(conn), r)
	if err != nil {
		t.Fatalf("no answer without the body: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, resp, body, http.StatusBadRequest, "EntityTooLarge")
}

// TestVirtualHostStyle: under a configured domain the bucket comes from the
// host name; path style keeps working beside it.
func TestVirtualHostStyle(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Domains = []string{"s3.test"} })
	vhost := func(method, bucket, path string, data []byte) (*http.Response, []byte) {
		r := mustRequest(t, method, ts.URL+path, data)
		_, port, _ := net.SplitHostPort(r.URL.Host)
		r.Host = bucket + ".s3.test:" + port
		if err := ts.Signer.Sign(r, sigv4.PayloadSHA256Hex(data), time.Now()); err != nil {
			t.Fatal(err)
		}
		return send(t, r)
	}
	resp, body := vhost("PUT", "photos", "/", nil)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = vhost("PUT", "photos", "/2026/cat.jpg", []byte("meow"))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = ts.do(t, "GET", "/photos/2026/cat.jpg", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if string(body) != "meow" {
		t.Fatalf("path-style GET of a virtual-host PUT: %q", body)
	}
	resp, body = vhost("GET", "photos", "/?list-type=2", nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Contains(body, []byte("<Key>2026/cat.jpg</Key>")) {
		t.Fatalf("virtual-host listing: %s", body)
	}
}

// TestReservedBucket: a reserved name is refused for every operation.
func TestReservedBucket(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ReservedBuckets = []string{"gridstore"} })
	resp, body := ts.do(t, "PUT", "/gridstore", nil, nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidBucketName")
	resp, body = ts.do(t, "GET", "/gridstore/key", nil, nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidBucketName")
}

// failingObjects answers every call with one error.
type failingObjects struct {
	Objects // nil: calls not overridden would panic, and are not made
	err     error
}

func (f failingObjects) GetObject(context.Context, string, string, object.GetOptions) (*object.ObjectReader, error) {
	return nil, f.err
}

func (f failingObjects) PutObject(_ context.Context, _, _ string, data io.Reader, size int64, _ object.PutOptions) (object.ObjectInfo, error) {
	_, _ = io.CopyN(io.Discard, data, size)
	return object.ObjectInfo{}, f.err
}

// TestClusterErrorsAreRetryable: a lost quorum or a lock that cannot be
// taken is a 503 a client retries (ServiceUnavailable, SlowDown), counted
// as a quorum error; an internal failure is a 500 that says nothing of its
// cause.
func TestClusterErrorsAreRetryable(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		code       string
		quorumLost bool
	}{
		{fmt.Errorf("get: 1 of 4 drives: %w", object.ErrReadQuorum), http.StatusServiceUnavailable, "ServiceUnavailable", true},
		{fmt.Errorf("put: %w", object.ErrWriteQuorum), http.StatusServiceUnavailable, "ServiceUnavailable", true},
		{fmt.Errorf("lock b/k: %w", object.ErrLockTimeout), http.StatusServiceUnavailable, "SlowDown", false},
		{fmt.Errorf("drive /secret/path/disk3: %w", errors.New("input/output error")), http.StatusInternalServerError, "InternalError", false},
	} {
		ts := newTestServer(t, nil)
		ts.Server.cfg.Objects = failingObjects{err: tc.err}
		for _, method := range []string{"GET", "PUT"} {
			resp, body := ts.do(t, method, "/bucket/key", []byte("payload"), nil)
			wantError(t, resp, body, tc.status, tc.code)
			if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("disk3")) || bytes.Contains(body, []byte("input/output")) {
				t.Fatalf("the cause leaked to the client: %s", body)
			}
			if got := ts.lastObserved(); got.QuorumLost != tc.quorumLost || got.Status != tc.status {
				t.Fatalf("%v: observed %+v", tc.err, got)
			}
		}
	}
}

// TestObservedTraffic: the observer sees each request's API, status and
// bytes in both directions.
func TestObservedTraffic(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	data := bytes.Repeat([]byte("z"), 10_000)
	resp, body := ts.do(t, "PUT", "/bucket/key", data, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got := ts.lastObserved(); got.API != "PutObject" || got.Status != 200 || got.BytesIn != int64(len(data)) {
		t.Fatalf("PUT observed as %+v", got)
	}
	resp, body = ts.do(t, "GET", "/bucket/key", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got := ts.lastObserved(); got.API != "GetObject" || got.BytesOut != int64(len(data)) || got.Duration <= 0 {
		t.Fatalf("GET observed as %+v", got)
	}
}

// TestObservedTimings: the observer learns the request's ID and object,
// when its status went, and how long reading the client's body took (a
// slow uploader is not a slow server: the slow-request log says which).
func TestObservedTimings(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	data := bytes.Repeat([]byte("z"), 10_000)
	r := ts.request(t, "PUT", "/bucket/key", data, nil)
	const pause = 300 * time.Millisecond
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data[:5000]), &pausingReader{pause: pause, r: bytes.NewReader(data[5000:])}))
	resp, body := send(t, r)
	wantStatus(t, resp, body, http.StatusOK)
	got := ts.lastObserved()
	if got.ID == "" || got.ID != resp.Header.Get("X-Amz-Request-Id") || got.Bucket != "bucket" || got.Key != "key" {
		t.Fatalf("PUT observed as %+v, request ID %q", got, resp.Header.Get("X-Amz-Request-Id"))
	}
	if got.BodyRead < pause-50*time.Millisecond || got.FirstByte < got.BodyRead || got.FirstByte > got.Duration {
		t.Fatalf("PUT of a body paused %s observed as %+v", pause, got)
	}
}

// pausingReader waits pause before its first Read.
type pausingReader struct {
	pause  time.Duration
	paused bool
	r      io.Reader
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if !p.paused {
		p.paused = true
		time.Sleep(p.pause)
	}
	return p.r.Read(b)
}

// TestBodyReader: the last bytes of a body are held back until its end
// is confirmed; a failure reported with them is reported without them, so
// that io.ReadFull cannot drop it.
func TestBodyReader(t *testing.T) {
	data := []byte("0123456789")
	badDigest := s3err.New(s3err.BadDigest)
	for _, tc := range []struct {
		name string
		r    io.Reader
		size int64
		want error // nil: data read whole
	}{
		{"exact", bytes.NewReader(data), 10, nil},
		{"exact, one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), 10, nil},
		{"short", bytes.NewReader(data[:7]), 10, s3err.IncompleteBody},
		{"long", bytes.NewReader(data), 9, s3err.InvalidRequest},
		{"check fails with the last bytes", &lastReadFails{data: data, err: badDigest}, 10, s3err.BadDigest},
		{"check fails at EOF", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(badDigest)), 10, s3err.BadDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, tc.size)
			_, err := io.ReadFull(newBodyReader(tc.r, tc.size), buf)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("ReadFull: %v", err)
			case tc.want == nil && !bytes.Equal(buf, data[:tc.size]):
				t.Fatalf("read %q", buf)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("ReadFull: %v, want %v", err, tc.want)
			}
		})
	}
}

// lastReadFails returns all its data and err in one Read, as a verifying
// reader does when the underlying body delivers its end with io.EOF.
type lastReadFails struct {
	data []byte
	err  error
	done bool
}

func (l *lastReadFails) Read(p []byte) (int, error) {
	if l.done {
		return 0, l.err
	}
	l.done = true
	return copy(p, l.data), l.err
}

// mustRequest builds an unsigned request.
func mustRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	return r
}
