package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

const (
	testAccessKey = "GRIDSTOREKEY"
	testSecret    = "gridstore/secret+key"
)

var testTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func testVerifier(now time.Time) *Verifier {
	return &Verifier{Region: "us-east-1", Credentials: StaticCredentials{testAccessKey: testSecret, "OTHER": "other"},
		Now: func() time.Time { return now }}
}

func testSigner() *Signer { return &Signer{AccessKey: testAccessKey, SecretKey: testSecret} }

// toServer sends a client request through the wire format and back, so that
// the verifier sees what net/http's server would hand a handler.
func toServer(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatalf("writing request: %v", err)
	}
	s, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("reading request: %v", err)
	}
	return s
}

// signed builds and signs a client request.
func signed(t testing.TB, method, target string, header http.Header, body []byte, payload string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		r.Body, r.ContentLength = nil, 0
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	if payload == "sha" {
		payload = PayloadSHA256Hex(body)
	}
	if err := testSigner().Sign(r, payload, testTime); err != nil {
		t.Fatal(err)
	}
	return r
}

func wantCode(t *testing.T, err error, code s3err.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
	var e *s3err.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *s3err.Error", err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, method, target string
		header               http.Header
		body                 []byte
		payload              string
	}{
		{"get", "GET", "http://s3.local:9000/bucket/key", nil, nil, UnsignedPayload},
		{"empty payload hash", "GET", "http://s3.local:9000/bucket/key", nil, nil, ""},
		{"key needing encoding", "GET", "http://s3.local/bucket/" + url.PathEscape("a b+c$d%e&f=g~h*i'j(k)!l@ሴ"), nil, nil, UnsignedPayload},
		{"key with slashes and dots", "GET", "http://s3.local/bucket/a/./b/../c//d", nil, nil, UnsignedPayload},
		{"encoded slash in key", "GET", "http://s3.local/bucket/a%2Fb", nil, nil, UnsignedPayload},
		{"query sorted, empty and repeated", "GET", "http://s3.local/bucket?prefix=a%20b&list-type=2&delimiter=%2F&x=2&x=1&x&encoding-type=url&start-after=%E1%88%B4", nil, nil, UnsignedPayload},
		{"subresource without value", "GET", "http://s3.local/bucket?location", nil, nil, UnsignedPayload},
		{"query with plus and specials", "GET", "http://s3.local/bucket?prefix=a+b&marker=%2B%26%3D%2F", nil, nil, UnsignedPayload},
		{"put with sha256", "PUT", "http://s3.local/bucket/obj", http.Header{"Content-Type": {"text/plain"}, "X-Amz-Meta-Color": {"  blue   and\tgreen "}},
			[]byte("hello, world"), "sha"},
		{"put unsigned payload", "PUT", "http://s3.local/bucket/obj", http.Header{"Content-Md5": {"XrY7u+Ae7tCTyyK7j1rNww=="}}, []byte("hello world"), UnsignedPayload},
		{"repeated header", "GET", "http://s3.local/bucket/obj", http.Header{"X-Amz-Meta-A": {"1", "2"}}, nil, UnsignedPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := toServer(t, signed(t, tc.method, tc.target, tc.header, tc.body, tc.payload))
			a, err := testVerifier(testTime).Verify(r)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if a.AccessKey != testAccessKey || a.Presigned {
				t.Fatalf("auth %+v", a)
			}
			got, err := io.ReadAll(a.Body(r.Body))
			if err != nil || !bytes.Equal(got, tc.body) {
				t.Fatalf("body %q, %v", got, err)
			}
		})
	}
}

// Changing anything the signature covers breaks verification; changing
// what it does not cover does not.
func TestTampering(t *testing.T) {
	header := http.Header{"Range": {"bytes=0-9"}, "X-Amz-Meta-Color": {"blue"}, "Content-Type": {"text/plain"}}
	base := func(t *testing.T) *http.Request {
		return toServer(t, signed(t, "PUT", "http://s3.local:9000/bucket/key?partNumber=1&uploadId=abc", header, []byte("data"), "sha"))
	}
	withAuth := func(f func(string) string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", f(r.Header.Get("Authorization"))) }
	}
	for _, tc := range []struct {
		name     string
		tamper   func(r *http.Request)
		verifier *Verifier
		want     s3err.Code
	}{
		{"nothing", func(*http.Request) {}, nil, ""},
		{"method", func(r *http.Request) { r.Method = "POST" }, nil, s3err.SignatureDoesNotMatch},
		{"path", func(r *http.Request) { r.URL.Path = "/bucket/kez"; r.URL.RawPath = "" }, nil, s3err.SignatureDoesNotMatch},
		{"path case", func(r *http.Request) { r.URL.Path = "/bucket/Key"; r.URL.RawPath = "" }, nil, s3err.SignatureDoesNotMatch},
		{"query value", func(r *http.Request) { r.URL.RawQuery = "partNumber=2&uploadId=abc" }, nil, s3err.SignatureDoesNotMatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&versionId=1" }, nil, s3err.SignatureDoesNotMatch},
		{"query removed", func(r *http.Request) { r.URL.RawQuery = "partNumber=1" }, nil, s3err.SignatureDoesNotMatch},
		{"host", func(r *http.Request) { r.Host = "s3.local:9001" }, nil, s3err.SignatureDoesNotMatch},
		{"range", func(r *http.Request) { r.Header.Set("Range", "bytes=0-10") }, nil, s3err.SignatureDoesNotMatch},
		{"content type", func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, nil, s3err.SignatureDoesNotMatch},
		{"metadata", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") }, nil, s3err.SignatureDoesNotMatch},
		{"signed header removed", func(r *http.Request) { r.Header.Del("Range") }, nil, s3err.SignatureDoesNotMatch},
		{"content length", func(r *http.Request) { r.Header.Set("Content-Length", "5") }, nil, ""}, // not signed by our signer
		{"payload hash", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) }, nil, s3err.SignatureDoesNotMatch},
		{"payload hash other digest", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", EmptySHA256) }, nil, s3err.SignatureDoesNotMatch},
		{"date", func(r *http.Request) { r.Header.Set("X-Amz-Date", formatTime(testTime.Add(time.Second))) }, nil, s3err.SignatureDoesNotMatch},
		{"signature", withAuth(func(s string) string { return s[:len(s)-1] + flipHex(s[len(s)-1]) }), nil, s3err.SignatureDoesNotMatch},
		{"signed headers list", withAuth(func(s string) string { return strings.Replace(s, "range;", "", 1) }), nil, s3err.SignatureDoesNotMatch},
		{"region in credential", withAuth(func(s string) string { return strings.Replace(s, "/us-east-1/", "/eu-west-1/", 1) }), nil, s3err.AuthorizationHeaderMalformed},
		{"service in credential", withAuth(func(s string) string { return strings.Replace(s, "/s3/", "/s4/", 1) }), nil, s3err.AuthorizationHeaderMalformed},
		{"terminator", withAuth(func(s string) string { return strings.Replace(s, "aws4_request", "aws4_reques", 1) }), nil, s3err.AuthorizationHeaderMalformed},
		{"credential date", withAuth(func(s string) string { return strings.Replace(s, "/20260314/", "/20260315/", 1) }), nil, s3err.AuthorizationHeaderMalformed},
		{"access key", withAuth(func(s string) string { return strings.Replace(s, testAccessKey, "OTHER", 1) }), nil, s3err.SignatureDoesNotMatch},
		{"unknown access key", withAuth(func(s string) string { return strings.Replace(s, testAccessKey, "NOBODY", 1) }), nil, s3err.InvalidAccessKeyID},
		{"secret", func(*http.Request) {}, &Verifier{Credentials: StaticCredentials{testAccessKey: "wrong"}, Now: func() time.Time { return testTime }}, s3err.SignatureDoesNotMatch},
		{"server region", func(*http.Request) {}, &Verifier{Region: "eu-west-1", Credentials: StaticCredentials{testAccessKey: testSecret}, Now: func() time.Time { return testTime }}, s3err.AuthorizationHeaderMalformed},
		{"unsigned user agent", func(r *http.Request) { r.Header.Set("User-Agent", "other") }, nil, ""},
		{"unsigned accept", func(r *http.Request) { r.Header.Set("Accept", "*/*") }, nil, ""},
		{"unsigned x-amz header added", func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "/other/key") }, nil, s3err.AccessDenied},
		{"unsigned x-amz-meta added", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Evil", "1") }, nil, s3err.AccessDenied},
		{"second authorization", func(r *http.Request) { r.Header.Add("Authorization", "x") }, nil, s3err.AuthorizationHeaderMalformed},
		{"second x-amz-date", func(r *http.Request) { r.Header.Add("X-Amz-Date", formatTime(testTime)) }, nil, s3err.InvalidArgument},
		{"presigned too", func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Signature=00" }, nil, s3err.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base(t)
			tc.tamper(r)
			v := tc.verifier
			if v == nil {
				v = testVerifier(testTime)
			}
			a, err := v.Verify(r)
			wantCode(t, err, tc.want)
			if err == nil {
				if _, err := io.ReadAll(a.Body(r.Body)); err != nil {
					t.Fatalf("body: %v", err)
				}
			}
		})
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestPayloadSHA256Mismatch(t *testing.T) {
	r := toServer(t, signed(t, "PUT", "http://s3.local/b/k", nil, []byte("the signed body"), "sha"))
	r.Body = io.NopCloser(strings.NewReader("the signed bodY"))
	a, err := testVerifier(testTime).Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(a.Body(r.Body))
	wantCode(t, err, s3err.XAmzContentSHA256Mismatch)
	if len(got) != 15 {
		t.Fatalf("read %d bytes before the error", len(got))
	}
	// Truncated: the body ends before its Content-Length.
	r = toServer(t, signed(t, "PUT", "http://s3.local/b/k", nil, []byte("the signed body"), "sha"))
	a, err = testVerifier(testTime).Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader("the signed"), iotestErr(io.ErrUnexpectedEOF)))
	_, err = io.ReadAll(a.Body(r.Body))
	wantCode(t, err, s3err.IncompleteBody)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func iotestErr(err error) io.Reader { return errReader{err} }

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		want   s3err.Code
	}{
		{0, ""}, {15 * time.Minute, ""}, {-15 * time.Minute, ""},
		{15*time.Minute + time.Second, s3err.RequestTimeTooSkewed},
		{-15*time.Minute - time.Second, s3err.RequestTimeTooSkewed},
		{24 * time.Hour, s3err.RequestTimeTooSkewed},
	} {
		r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
		_, err := testVerifier(testTime.Add(tc.offset)).Verify(r)
		t.Run(tc.offset.String(), func(t *testing.T) { wantCode(t, err, tc.want) })
		if tc.want != "" {
			var e *s3err.Error
			if errors.As(err, &e) && len(e.Details) != 3 {
				t.Errorf("skew error details %v", e.Details)
			}
		}
	}
	// A custom bound.
	r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
	v := testVerifier(testTime.Add(2 * time.Minute))
	v.MaxSkew = time.Minute
	_, err := v.Verify(r)
	wantCode(t, err, s3err.RequestTimeTooSkewed)
}

// The Date header stands in for X-Amz-Date (AWS's PUT Object example covers
// the case where both are present).
func TestDateHeader(t *testing.T) {
	r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
	r.Header.Del("X-Amz-Date")
	_, err := testVerifier(testTime).Verify(r)
	wantCode(t, err, s3err.AccessDenied) // no time at all

	// Sign with Date only, as a client without X-Amz-Date would: through
	// the signer's internals, since Signer always sends X-Amz-Date.
	c, _ := http.NewRequest("GET", "http://s3.local/b/k", nil)
	c.Header.Set("Date", testTime.Format(http.TimeFormat))
	c.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	a := testSigner().auth(testTime)
	sig, err := a.sign(c, &canonicalInput{method: "GET", escapedPath: "/b/k", path: "/b/k",
		signedHeaders: []string{"date", "host"}, payloadHash: UnsignedPayload})
	if err != nil {
		t.Fatal(err)
	}
	c.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/"+a.scope+", SignedHeaders=date;host, Signature="+string(sig[:]))
	r = toServer(t, c)
	if _, err := testVerifier(testTime).Verify(r); err != nil {
		t.Fatalf("Date-only request: %v", err)
	}
	r.Header.Set("Date", "yesterday")
	_, err = testVerifier(testTime).Verify(r)
	wantCode(t, err, s3err.AccessDenied)
}

func TestMalformed(t *testing.T) {
	good := signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload).Header.Get("Authorization")
	cred := "Credential=" + testAccessKey + "/20260314/us-east-1/s3/aws4_request"
	sig := good[len(good)-64:]
	for _, tc := range []struct {
		name, authz string
		want        s3err.Code
	}{
		{"good", good, ""},
		{"no spaces", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=" + sig, ""},
		{"unsorted signed headers", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date;host;x-amz-content-sha256, Signature=" + sig, ""},
		{"sigv2", "AWS " + testAccessKey + ":c2lnbmF0dXJl", s3err.InvalidRequest},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 " + cred, s3err.NotImplemented},
		{"unknown algorithm", "AWS4-HMAC-SHA512 " + cred, s3err.AuthorizationHeaderMalformed},
		{"empty", " ", s3err.AuthorizationHeaderMalformed},
		{"missing signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", s3err.AuthorizationHeaderMalformed},
		{"duplicate field", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"unknown field", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + ", Foo=bar", s3err.AuthorizationHeaderMalformed},
		{"field without value", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"host not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"header signed twice", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"upper-case signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"empty signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"short signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=abc", s3err.AuthorizationHeaderMalformed},
		{"upper-case signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + strings.ToUpper(sig), s3err.AuthorizationHeaderMalformed},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AK/20260314/us-east-1/s3, SignedHeaders=host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"bad credential date", "AWS4-HMAC-SHA256 Credential=AK/2026031/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"empty access key", "AWS4-HMAC-SHA256 Credential=/20260314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, s3err.AuthorizationHeaderMalformed},
		{"slash in access key", "AWS4-HMAC-SHA256 Credential=A/B/20260314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, s3err.InvalidAccessKeyID},
		{"too long", "AWS4-HMAC-SHA256 " + strings.Repeat("x", 5000), s3err.AuthorizationHeaderMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
			r.Header.Set("Authorization", tc.authz)
			_, err := testVerifier(testTime).Verify(r)
			wantCode(t, err, tc.want)
		})
	}
}

func TestRequestChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(*http.Request)
		want   s3err.Code
	}{
		{"anonymous", func(r *http.Request) { r.Header.Del("Authorization") }, s3err.AccessDenied},
		{"sigv2 query", func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "AWSAccessKeyId=AK&Expires=1&Signature=x"
		}, s3err.InvalidRequest},
		{"no content sha256", func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") }, s3err.InvalidRequest},
		{"bad content sha256", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "XYZ") }, s3err.InvalidArgument},
		{"upper-case content sha256", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(EmptySHA256)) }, s3err.InvalidArgument},
		{"sigv4a streaming", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
		}, s3err.NotImplemented},
		{"streaming without decoded length", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", StreamingPayload) }, s3err.MissingContentLength},
		{"streaming with bad decoded length", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
			r.Header.Set("X-Amz-Decoded-Content-Length", "+5")
		}, s3err.InvalidArgument},
		{"bad x-amz-date", func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-03-14T15:09:26Z") }, s3err.AccessDenied},
		{"x-amz-date with fraction", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260314T150926.5Z") }, s3err.AccessDenied},
		{"bad query encoding", func(r *http.Request) { r.URL.RawQuery = "a=%zz" }, s3err.InvalidArgument},
		{"no credentials", func(r *http.Request) {}, s3err.InternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
			tc.tamper(r)
			v := testVerifier(testTime)
			if tc.want == s3err.InternalError {
				v.Credentials = nil
			}
			_, err := v.Verify(r)
			wantCode(t, err, tc.want)
		})
	}
}

func presignedRequest(t *testing.T, method, target string, header http.Header, expires time.Duration) *http.Request {
	t.Helper()
	u, err := testSigner().Presign(method, target, header, testTime, expires)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(method, u, nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	return toServer(t, r)
}

func TestPresigned(t *testing.T) {
	const hour = time.Hour
	for _, tc := range []struct {
		name    string
		expires time.Duration
		now     time.Time
		tamper  func(*http.Request)
		want    s3err.Code
	}{
		{"valid", hour, testTime, nil, ""},
		{"last second", hour, testTime.Add(hour), nil, ""},
		{"expired", hour, testTime.Add(hour + time.Second), nil, s3err.AccessDenied},
		{"a week", MaxPresignExpiry, testTime.Add(MaxPresignExpiry), nil, ""},
		{"a week and a second", MaxPresignExpiry, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=604800", "X-Amz-Expires=604801", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"zero expiry", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=0", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"non-numeric expiry", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=1h", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"longer expiry", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1)
		}, s3err.SignatureDoesNotMatch},
		{"slightly early", hour, testTime.Add(-15 * time.Minute), nil, ""},
		{"not valid yet", hour, testTime.Add(-15*time.Minute - time.Second), nil, s3err.AccessDenied},
		{"query param added", hour, testTime, func(r *http.Request) { r.URL.RawQuery += "&versionId=2" }, s3err.SignatureDoesNotMatch},
		{"method", hour, testTime, func(r *http.Request) { r.Method = "DELETE" }, s3err.SignatureDoesNotMatch},
		{"path", hour, testTime, func(r *http.Request) { r.URL.Path = "/b/other" }, s3err.SignatureDoesNotMatch},
		{"signature", hour, testTime, func(r *http.Request) {
			i := strings.Index(r.URL.RawQuery, "X-Amz-Signature=") + len("X-Amz-Signature=")
			r.URL.RawQuery = r.URL.RawQuery[:i] + flipHex(r.URL.RawQuery[i]) + r.URL.RawQuery[i+1:]
		}, s3err.SignatureDoesNotMatch},
		{"signature twice", hour, testTime, func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Signature=" + strings.Repeat("0", 64) }, s3err.AuthorizationQueryParametersError},
		{"no signature", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = r.URL.RawQuery[:strings.Index(r.URL.RawQuery, "&X-Amz-Signature=")]
		}, s3err.AuthorizationQueryParametersError},
		{"bad algorithm", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"bad date", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Date=20260314T150926Z", "X-Amz-Date=20260314", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"region", hour, testTime, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2Fus-east-1%2F", "%2Feu-west-1%2F", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"unsigned x-amz header", hour, testTime, func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, s3err.AccessDenied},
		{"unsigned other header", hour, testTime, func(r *http.Request) { r.Header.Set("Accept", "text/plain") }, ""},
		{"content sha256 header changes the payload hash", hour, testTime, func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
		}, s3err.SignatureDoesNotMatch},
		{"streaming refused", hour, testTime, func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
		}, s3err.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := presignedRequest(t, "GET", "http://s3.local:9000/b/key%20with%20space?versionId=1", nil, tc.expires)
			if tc.tamper != nil {
				tc.tamper(r)
			}
			a, err := testVerifier(tc.now).Verify(r)
			wantCode(t, err, tc.want)
			if err == nil && (!a.Presigned || a.Payload != PayloadUnsigned || !a.Expires.Equal(testTime.Add(tc.expires))) {
				t.Fatalf("auth %+v", a)
			}
		})
	}
}

func TestPresignedSignedHeaders(t *testing.T) {
	h := http.Header{"X-Amz-Meta-Owner": {"me"}, "Content-Type": {"image/png"}}
	r := presignedRequest(t, "PUT", "http://s3.local/b/k", h, time.Hour)
	if _, err := testVerifier(testTime).Verify(r); err != nil {
		t.Fatalf("verify: %v", err)
	}
	r.Header.Set("Content-Type", "text/html")
	_, err := testVerifier(testTime).Verify(r)
	wantCode(t, err, s3err.SignatureDoesNotMatch)

	// A presigned URL carrying its own payload hash.
	u, _ := testSigner().Presign("PUT", "http://s3.local/b/k?X-Amz-Content-Sha256="+PayloadSHA256Hex([]byte("x")), nil, testTime, time.Hour)
	c, _ := http.NewRequest("PUT", u, strings.NewReader("y"))
	r = toServer(t, c)
	a, err := testVerifier(testTime).Verify(r)
	if err != nil || a.Payload != PayloadSHA256 {
		t.Fatalf("verify: %+v %v", a, err)
	}
	_, err = io.ReadAll(a.Body(r.Body))
	wantCode(t, err, s3err.XAmzContentSHA256Mismatch)

	if _, err := testSigner().Presign("GET", "http://s3.local/b/k", nil, testTime, MaxPresignExpiry+time.Second); err == nil {
		t.Fatal("a presign beyond a week was made")
	}
}

func TestKeyCache(t *testing.T) {
	v := testVerifier(testTime)
	creds := StaticCredentials{testAccessKey: testSecret}
	v.Credentials = creds
	for range 3 {
		r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
		if _, err := v.Verify(r); err != nil {
			t.Fatal(err)
		}
	}
	// A rotated secret is not shadowed by the cached key.
	creds[testAccessKey] = "rotated"
	r := toServer(t, signed(t, "GET", "http://s3.local/b/k", nil, nil, UnsignedPayload))
	_, err := v.Verify(r)
	wantCode(t, err, s3err.SignatureDoesNotMatch)
}
