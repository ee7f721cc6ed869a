package s3

import (
	"bytes"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// SigV2 against the server, signed by a client library's signer
// (minio-go's SignV2 and PreSignV2), not by gridstore's own code: the
// operations succeed, the body checks of SigV4 requests apply unchanged,
// and what the signature covers cannot be changed.

// v2Request builds a request for path with body and headers, signed by
// minio-go in the header form. host, if not "", is the Host to send (a
// virtual-host-style bucket host), signed as minio-go signs those.
func (ts *testServer) v2Request(t testing.TB, method, path string, body []byte, header http.Header, host string) *http.Request {
	t.Helper()
	r := mustRequest(t, method, ts.URL+path, body)
	for k, v := range header {
		r.Header[k] = v
	}
	if host != "" {
		r.Host = host
	}
	return signer.SignV2(*r, testAccessKey, testSecretKey, host != "")
}

func (ts *testServer) v2Do(t testing.TB, method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return send(t, ts.v2Request(t, method, path, body, header, ""))
}

func TestSigV2Operations(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Domains = []string{"s3.test"} })

	resp, body := ts.v2Do(t, "PUT", "/v2bucket", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)

	data := []byte("signed with signature version 2")
	resp, body = ts.v2Do(t, "PUT", "/v2bucket/dir/a%20key", data, hdr("Content-Type", "text/plain",
		"Content-Md5", contentMD5(data), "X-Amz-Meta-Color", "blue"))
	wantStatus(t, resp, body, http.StatusOK)
	if etag := resp.Header.Get("ETag"); etag != `"`+md5Hex(data)+`"` {
		t.Fatalf("ETag %q", etag)
	}

	resp, body = ts.v2Do(t, "GET", "/v2bucket/dir/a%20key", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Amz-Meta-Color") != "blue" {
		t.Fatalf("GET: %q, headers %v", body, resp.Header)
	}
	resp, body = ts.v2Do(t, "HEAD", "/v2bucket/dir/a%20key", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if resp.ContentLength != int64(len(data)) {
		t.Fatalf("HEAD Content-Length %d", resp.ContentLength)
	}

	// Sub-resources: response-* overrides and the bucket's location.
	resp, body = ts.v2Do(t, "GET", "/v2bucket/dir/a%20key?response-content-type=application%2Foctet-stream", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("response-content-type: %v", resp.Header)
	}
	resp, body = ts.v2Do(t, "GET", "/v2bucket?location", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)

	// Listings: their parameters are no sub-resources, and unsigned.
	resp, body = ts.v2Do(t, "GET", "/v2bucket?list-type=2&prefix=dir%2F", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Contains(body, []byte("<Key>dir/a key</Key>")) {
		t.Fatalf("listing: %s", body)
	}
	resp, body = ts.v2Do(t, "GET", "/", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Contains(body, []byte("<Name>v2bucket</Name>")) {
		t.Fatalf("ListBuckets: %s", body)
	}

	// Multipart: ?uploads, ?partNumber&uploadId, ?uploadId.
	resp, body = ts.v2Do(t, "POST", "/v2bucket/multi?uploads", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var initiated s3xml.InitiateMultipartUploadResult
	decodeXML(t, body, &initiated)
	id := url.QueryEscape(initiated.UploadID)
	part := mpBytes(1000, 7)
	resp, body = ts.v2Do(t, "PUT", "/v2bucket/multi?partNumber=1&uploadId="+id, part, hdr("Content-Md5", contentMD5(part)))
	wantStatus(t, resp, body, http.StatusOK)
	etag := resp.Header.Get("ETag")
	resp, body = ts.v2Do(t, "GET", "/v2bucket/multi?uploadId="+id, nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), "<PartNumber>1</PartNumber>") {
		t.Fatalf("ListParts: %s", body)
	}
	resp, body = ts.v2Do(t, "POST", "/v2bucket/multi?uploadId="+id, completeDoc(t, 1, etag), nil)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = ts.v2Do(t, "GET", "/v2bucket/multi", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, part) {
		t.Fatal("multipart object differs from its part")
	}

	// DeleteObjects (?delete) with its required Content-MD5.
	del := []byte(`<Delete><Object><Key>multi</Key></Object></Delete>`)
	resp, body = ts.v2Do(t, "POST", "/v2bucket?delete", del, hdr("Content-Md5", contentMD5(del)))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = ts.v2Do(t, "HEAD", "/v2bucket/multi", nil, nil)
	wantStatus(t, resp, body, http.StatusNotFound)

	// Virtual-host style: the bucket comes from the host and is signed.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	resp, body = send(t, ts.v2Request(t, "PUT", "/vhost-key", []byte("vhost"), nil, "v2bucket.s3.test:"+port))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = send(t, ts.v2Request(t, "GET", "/vhost-key", nil, nil, "v2bucket.s3.test:"+port))
	wantStatus(t, resp, body, http.StatusOK)
	if string(body) != "vhost" {
		t.Fatalf("virtual-host GET: %q", body)
	}
	// Signed for one bucket's host, sent to another's.
	r := ts.v2Request(t, "GET", "/vhost-key", nil, nil, "v2bucket.s3.test:"+port)
	r.Host = "otherbucket.s3.test:" + port
	resp, body = send(t, r)
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")

	resp, body = ts.v2Do(t, "DELETE", "/v2bucket/dir/a%20key", nil, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
}

// TestSigV2Presigned: minio-go's PreSignV2 URLs, fetched with no header.
func TestSigV2Presigned(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	data := mpBytes(100_000, 3)

	presign := func(method, path string, expires int64) string {
		r := mustRequest(t, method, ts.URL+path, nil)
		return signer.PreSignV2(*r, testAccessKey, testSecretKey, expires, false).URL.String()
	}
	put := mustRequest(t, "PUT", presign("PUT", "/bucket/presigned", 600), data)
	resp, body := send(t, put)
	wantStatus(t, resp, body, http.StatusOK)

	resp, body = send(t, mustRequest(t, "GET", presign("GET", "/bucket/presigned", 600), nil))
	wantStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) {
		t.Fatal("presigned GET returned other bytes")
	}
	resp, body = send(t, mustRequest(t, "GET", presign("GET", "/bucket/presigned?response-content-disposition=attachment", 600), nil))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Disposition") != "attachment" {
		t.Fatalf("response-content-disposition: %v", resp.Header)
	}

	// Expired (Expires one second before the signing instant: no clock
	// race can make it valid), a week and more ahead, used for another key
	// or another method.
	resp, body = send(t, mustRequest(t, "GET", presign("GET", "/bucket/presigned", -1), nil))
	doc := wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	if doc.Message != "Request has expired" {
		t.Fatalf("message %q", doc.Message)
	}
	resp, body = send(t, mustRequest(t, "GET", presign("GET", "/bucket/presigned", 8*24*3600), nil))
	wantError(t, resp, body, http.StatusBadRequest, "AuthorizationQueryParametersError")
	u := presign("GET", "/bucket/presigned", 600)
	resp, body = send(t, mustRequest(t, "GET", strings.Replace(u, "/bucket/presigned", "/bucket/other", 1), nil))
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
	resp, body = send(t, mustRequest(t, "DELETE", u, nil))
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
	resp, body = ts.do(t, "HEAD", "/bucket/presigned", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
}

// TestSigV2Refusals: the same refusals as SigV4's, and a refused or failed
// upload stores nothing.
func TestSigV2Refusals(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "bucket")
	data := []byte("must not be stored")
	const wrongSecret = "wrong-secret-8f3c"
	stored := func() bool {
		resp, _ := ts.do(t, "HEAD", "/bucket/refused", nil, nil)
		return resp.StatusCode != http.StatusNotFound
	}

	for _, tc := range []struct {
		name         string
		access, key  string
		header       http.Header
		status       int
		code, detail string
	}{
		{"wrong secret", testAccessKey, wrongSecret, nil, http.StatusForbidden, "SignatureDoesNotMatch", "StringToSign"},
		{"unknown key", "nobody", testSecretKey, nil, http.StatusForbidden, "InvalidAccessKeyId", ""},
		{"clock skew", testAccessKey, testSecretKey, hdr("Date", time.Now().Add(-20*time.Minute).UTC().Format(http.TimeFormat)), http.StatusForbidden, "RequestTimeTooSkewed", ""},
		// Signed, so the signature checks out; the body does not.
		{"Content-MD5", testAccessKey, testSecretKey, hdr("Content-Md5", contentMD5([]byte("other"))), http.StatusBadRequest, "BadDigest", ""},
		{"x-amz-checksum", testAccessKey, testSecretKey, hdr("X-Amz-Checksum-Crc32", "AAAAAA=="), http.StatusBadRequest, "BadDigest", ""},
		{"aws-chunked", testAccessKey, testSecretKey, hdr("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), http.StatusBadRequest, "InvalidRequest", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRequest(t, "PUT", ts.URL+"/bucket/refused", data)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			r = signer.SignV2(*r, tc.access, tc.key, false)
			resp, body := send(t, r)
			wantError(t, resp, body, tc.status, tc.code)
			if tc.detail != "" && !bytes.Contains(body, []byte("<"+tc.detail+">")) {
				t.Fatalf("no %s in %s", tc.detail, body)
			}
			if bytes.Contains(body, []byte(testSecretKey)) || bytes.Contains(body, []byte(wrongSecret)) {
				t.Fatalf("a secret in the answer: %s", body)
			}
			if stored() {
				t.Fatal("a refused upload was stored")
			}
		})
	}

	// The resource is signed: sent elsewhere, refused.
	r := ts.v2Request(t, "PUT", "/bucket/signed-for", data, nil, "")
	r.URL.Path = "/bucket/refused"
	resp, body := send(t, r)
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
	if stored() {
		t.Fatal("a refused upload was stored")
	}
	// A malformed header.
	r = mustRequest(t, "GET", ts.URL+"/bucket/refused", nil)
	r.Header.Set("Authorization", "AWS no-colon")
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	resp, body = send(t, r)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	// Anonymous requests stay refused.
	resp, body = send(t, mustRequest(t, "GET", ts.URL+"/bucket/refused", nil))
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
}
