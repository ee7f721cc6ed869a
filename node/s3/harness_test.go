package s3

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/objecttest"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

// Test credentials.
const (
	testAccessKey = "gridstore-test"
	testSecretKey = "gridstore-test-secret-key"
)

// testServer is an S3 server on loopback over a one-node, four-drive object
// layer (EC 2+2) with real drives in temporary directories.
type testServer struct {
	URL    string
	Server *Server
	Layer  *object.Layer
	Signer *sigv4.Signer
	// Drives are the layer's drive folders (one node, four drives).
	Drives []string

	started  atomic.Int64 // requests that reached the server
	mu       sync.Mutex
	observed []RequestInfo
}

// newTestServer starts a server; tweak may adjust its Config before New.
func newTestServer(t testing.TB, tweak func(*Config)) *testServer {
	t.Helper()
	c := objecttest.New(t, objecttest.Options{Nodes: 1, DrivesPerNode: 4})
	ts := &testServer{Layer: c.Nodes[0].Layer(), Drives: c.DriveDirs(), Signer: &sigv4.Signer{AccessKey: testAccessKey, SecretKey: testSecretKey}}
	cfg := Config{
		Objects:     ts.Layer,
		Credentials: sigv4.StaticCredentials{testAccessKey: testSecretKey},
		Observe: func(ri RequestInfo) {
			ts.mu.Lock()
			ts.observed = append(ts.observed, ri)
			ts.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.started.Add(1)
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ts.URL = hs.URL
	return ts
}

// lastObserved returns the RequestInfo of the latest answered request. The
// server calls Observe after the response is out, so a client may hold the
// answer before it is observed: wait (up to 10 s) until every request the
// server started has been observed.
func (ts *testServer) lastObserved() RequestInfo {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts.mu.Lock()
		n, started := len(ts.observed), ts.started.Load()
		var last RequestInfo
		if n > 0 {
			last = ts.observed[n-1]
		}
		ts.mu.Unlock()
		if int64(n) >= started || time.Now().After(deadline) {
			return last
		}
		time.Sleep(time.Millisecond)
	}
}

// request builds a request for path ("/bucket/key?query") with body and
// extra headers, signed in the header form with the body's SHA-256.
func (ts *testServer) request(t testing.TB, method, path string, body []byte, header http.Header) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	for k, v := range header {
		r.Header[k] = v
	}
	if err := ts.Signer.Sign(r, sigv4.PayloadSHA256Hex(body), time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// do sends a signed request and returns the response with its body read.
func (ts *testServer) do(t testing.TB, method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return send(t, ts.request(t, method, path, body, header))
}

// send sends r and reads the whole response body.
func send(t testing.TB, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.Method, r.URL, err)
	}
	return resp, b
}

// errorDoc is S3's XML error document.
type errorDoc struct {
	Code       string `xml:"Code"`
	Message    string `xml:"Message"`
	Key        string `xml:"Key"`
	BucketName string `xml:"BucketName"`
	Resource   string `xml:"Resource"`
	RequestID  string `xml:"RequestId"`
}

// wantError checks that a response is the S3 error code with status.
func wantError(t testing.TB, resp *http.Response, body []byte, status int, code string) errorDoc {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d (%s); body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, code, body)
	}
	var doc errorDoc
	if resp.Request.Method == http.MethodHead || status == http.StatusNotModified {
		return doc
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("error body is not XML: %v: %s", err, body)
	}
	if doc.Code != code {
		t.Fatalf("%s %s: code %q, want %q; body %s", resp.Request.Method, resp.Request.URL.Path, doc.Code, code, body)
	}
	if doc.RequestID == "" || doc.RequestID != resp.Header.Get("X-Amz-Request-Id") {
		t.Fatalf("request ID %q in the body, %q in the header", doc.RequestID, resp.Header.Get("X-Amz-Request-Id"))
	}
	return doc
}

// wantStatus checks a response's status.
func wantStatus(t testing.TB, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
}

// mustCreateBucket makes a bucket through the object layer.
func (ts *testServer) mustCreateBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := ts.Layer.MakeBucket(t.Context(), bucket); err != nil {
		t.Fatal(err)
	}
}

// mustPut stores an object through the object layer.
func (ts *testServer) mustPut(t testing.TB, bucket, key string, data []byte, opts object.PutOptions) object.ObjectInfo {
	t.Helper()
	info, err := ts.Layer.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// hdr builds a header from name/value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
