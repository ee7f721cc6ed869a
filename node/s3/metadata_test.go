package s3

import (
	"bufio"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"
)

// wireHeaders sends r on a connection of its own and returns the header
// lines of the answer as they were on the wire, name case kept: Go's client
// canonicalises names on read, so it cannot show what a client that does
// not (boto3) receives.
func wireHeaders(t testing.TB, r *http.Request) (status string, names []string, values map[string]string) {
	t.Helper()
	conn, err := net.Dial("tcp", r.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A bound on a test that would otherwise hang on a server that never
	// answers; it orders nothing.
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r.Close = true
	if err := r.Write(conn); err != nil {
		t.Fatalf("write request: %v", err)
	}
	tp := textproto.NewReader(bufio.NewReader(conn))
	if status, err = tp.ReadLine(); err != nil {
		t.Fatalf("read status line: %v", err)
	}
	values = map[string]string{}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("read header: %v", err)
		}
		if line == "" {
			return status, names, values
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("header line %q", line)
		}
		names = append(names, name)
		values[name] = strings.TrimSpace(value)
	}
}

// wantWireMeta checks that an answer carries exactly the user metadata
// want (names as they must be on the wire) and no other x-amz-meta- header
// in any case.
func wantWireMeta(t testing.TB, ts *testServer, method, path string, want map[string]string) {
	t.Helper()
	status, names, values := wireHeaders(t, ts.request(t, method, path, nil, nil))
	if !strings.Contains(status, " 200 ") {
		t.Fatalf("%s %s: %s", method, path, status)
	}
	var got []string
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), "x-amz-meta-") {
			got = append(got, n)
		}
	}
	slices.Sort(got)
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	if !slices.Equal(got, wantNames) {
		t.Fatalf("%s %s: metadata headers on the wire %q, want %q", method, path, got, wantNames)
	}
	for n, v := range want {
		if values[n] != v {
			t.Fatalf("%s %s: %s = %q, want %q", method, path, n, values[n], v)
		}
	}
}

// TestUserMetadataLowerCaseOnTheWire: x-amz-meta-* names come back lower
// case on GET and HEAD, for objects from PUT, CopyObject (both directives)
// and multipart uploads.
func TestUserMetadataLowerCaseOnTheWire(t *testing.T) {
	ts := newObjectServer(t)
	src := "/" + testBucket + "/meta/src"
	// The case a client sends does not reach the handler (net/http
	// canonicalises request header names): what matters is the answer.
	ts.mustPutHTTP(t, src, []byte("data"), hdr("x-amz-meta-foo", "bar", "X-AMZ-META-MIXED-One", "m"))
	want := map[string]string{"x-amz-meta-foo": "bar", "x-amz-meta-mixed-one": "m"}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		wantWireMeta(t, ts, method, src, want)
	}

	copied := "/" + testBucket + "/meta/copied"
	ts.mustCopy(t, copied, testBucket+"/meta/src", nil)
	wantWireMeta(t, ts, http.MethodHead, copied, want)

	replaced := "/" + testBucket + "/meta/replaced"
	ts.mustCopy(t, replaced, testBucket+"/meta/src", http.Header{
		"X-Amz-Metadata-Directive": {"REPLACE"}, "X-Amz-Meta-New-Key": {"n"}})
	wantWireMeta(t, ts, http.MethodGet, replaced, map[string]string{"x-amz-meta-new-key": "n"})

	id := ts.createUpload(t, testBucket, "meta/multipart", http.Header{"X-Amz-Meta-Upload-Tag": {"u"}})
	etag := ts.uploadPartOK(t, testBucket, "meta/multipart", id, 1, []byte("part"))
	resp, body := ts.do(t, http.MethodPost, "/"+testBucket+"/meta/multipart?uploadId="+id, completeDoc(t, 1, etag), nil)
	wantStatus(t, resp, body, http.StatusOK)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		wantWireMeta(t, ts, method, "/"+testBucket+"/meta/multipart", map[string]string{"x-amz-meta-upload-tag": "u"})
	}
}
