package sigv4

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// The fuzz targets check the properties DESIGN §7 promises for bad input:
// no panic, typed S3 errors, and never a request or body accepted that the
// secret did not sign. Seeds are in testdata/fuzz/<target>/ and in the
// f.Add calls.

// fuzzRequest is a server-side request with the given Authorization and
// raw query, and the headers a signed request carries.
func fuzzRequest(authz, rawQuery string) *http.Request {
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/bucket/key", RawQuery: rawQuery}, Host: "s3.local",
		Header: http.Header{"X-Amz-Date": {"20260314T150926Z"}, "X-Amz-Content-Sha256": {UnsignedPayload}}}
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func requireS3Error(t *testing.T, err error) {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) || !e.Code.Known() {
		t.Fatalf("error %v is not a known S3 error", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	good := signed(f, "GET", "http://s3.local/bucket/key", nil, nil, UnsignedPayload).Header.Get("Authorization")
	for _, s := range []string{good, strings.ReplaceAll(good, ", ", ","), "AWS AK:sig", "AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host;;a, Signature=zz",
		"AWS4-HMAC-SHA256 Credential=/20260314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64),
		"AWS4-ECDSA-P256-SHA256 Credential=x", "AWS4-HMAC-SHA256 Credential==, Credential=="} {
		f.Add(s)
	}
	goodAuth, _ := parseAuthorization(good)
	v := testVerifier(testTime)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err == nil {
			if !slices.IsSorted(a.signedHeaders) || !slices.Contains(a.signedHeaders, "host") ||
				len(slices.Compact(slices.Clone(a.signedHeaders))) != len(a.signedHeaders) {
				t.Fatalf("signed headers %q", a.signedHeaders)
			}
			if !isLowerHex(string(a.signature[:]), 64) || a.cred.accessKey == "" {
				t.Fatalf("parsed %+v", a)
			}
		} else {
			requireS3Error(t, err)
		}
		// Only the true signature over the same scope and headers verifies
		// (the header may be spelled differently: spaces, header order).
		if _, err := v.Verify(fuzzRequest(s, "")); err != nil {
			requireS3Error(t, err)
		} else if a.signature != goodAuth.signature || a.cred != goodAuth.cred || !slices.Equal(a.signedHeaders, goodAuth.signedHeaders) {
			t.Fatalf("Authorization %q verified", s)
		}
	})
}

func FuzzPresignedQuery(f *testing.F) {
	u, _ := testSigner().Presign("GET", "http://s3.local/bucket/key?versionId=1", nil, testTime, 3600e9)
	good, _ := url.Parse(u)
	for _, s := range []string{good.RawQuery, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Signature=&X-Amz-Signature=",
		"a=%zz&X-Amz-Credential=x", "X-Amz-Expires=604801&X-Amz-Credential=a%2F20260314%2Fus-east-1%2Fs3%2Faws4_request",
		"AWSAccessKeyId=a&Signature=b&Expires=1", "&&=&=="} {
		f.Add(s)
	}
	v := testVerifier(testTime)
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := parseQuery(raw)
		if err == nil {
			if p, err := parsePresigned(params); err == nil {
				if p.expires <= 0 || p.expires > MaxPresignExpiry || !slices.Contains(p.signedHeaders, "host") {
					t.Fatalf("parsed %+v", p)
				}
			} else {
				requireS3Error(t, err)
			}
		}
		// Only the true signature verifies: the same parameters, in any
		// order or encoding.
		r := fuzzRequest("", raw)
		r.Header.Del("X-Amz-Content-Sha256")
		if _, err := v.Verify(r); err != nil {
			requireS3Error(t, err)
		} else if q, _ := url.ParseQuery(raw); q.Get(querySignature) != good.Query().Get(querySignature) ||
			q.Get("versionId") != "1" || len(q) != len(good.Query()) {
			t.Fatalf("query %q verified", raw)
		}
	})
}

func FuzzCredential(f *testing.F) {
	for _, s := range []string{"AK/20260314/us-east-1/s3/aws4_request", "A/B/20260314/r/s3/aws4_request", "////", "a/2026031/r/s/aws4_request"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCredential(s, s3err.AuthorizationHeaderMalformed)
		if err != nil {
			requireS3Error(t, err)
			return
		}
		if c.accessKey+"/"+c.scope() != s || len(c.date) != 8 || c.region == "" {
			t.Fatalf("credential %q parsed as %+v", s, c)
		}
	})
}

// FuzzChunkedSigned: a signed aws-chunked body (plain, or with a signed
// trailer) is either refused with an S3 error or decodes to exactly the
// data that was signed; bytes returned before an error are a prefix of it.
// Equivalent framings (a chunk size with leading zeros or in upper case)
// may pass: they carry the same data. Bodies are small (a few chunks of 64
// bytes) so that the fuzzer's minimisation stays fast; AWS's 66 KB example
// is checked by TestS3ChunkedExample.
func FuzzChunkedSigned(f *testing.F) {
	data := testData(200)
	plainAuth, plainBody := encodeChunked(f, data, 64, false, "")
	trailerAuth, trailerBody := encodeChunked(f, data, 64, false, "x-amz-checksum-crc32")
	f.Add(false, plainBody)
	f.Add(true, trailerBody)
	f.Add(true, trailerBody[:len(trailerBody)-40])
	f.Add(false, []byte("1000000;chunk-signature="+strings.Repeat("0", 64)+"\r\n"))
	f.Fuzz(func(t *testing.T, trailer bool, body []byte) {
		a := plainAuth
		if trailer {
			a = trailerAuth
		}
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if err != nil {
			requireS3Error(t, err)
			if !bytes.HasPrefix(data, got) {
				t.Fatalf("returned %d bytes that were not signed", len(got))
			}
			return
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("accepted %d bytes that differ from the signed data", len(got))
		}
	})
}

// FuzzChunkedUnsignedTrailer: an unsigned aws-chunked body is refused with
// an S3 error, or decodes to data whose checksum is the trailer's.
func FuzzChunkedUnsignedTrailer(f *testing.F) {
	data := testData(200)
	withTrailer, body := encodeChunked(f, data, 64, true, "x-amz-checksum-crc32c")
	withTrailer.ContentLength = -1
	plain, plainBody := encodeChunked(f, data, 64, true, "")
	plain.ContentLength = -1
	f.Add(false, body)
	f.Add(true, plainBody)
	f.Add(false, []byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:NSRBwg==\n\r\n"))
	f.Add(false, []byte("ffffffff\r\n"))
	f.Fuzz(func(t *testing.T, noTrailer bool, body []byte) {
		a := withTrailer
		if noTrailer {
			a = plain
		}
		b := a.Body(bytes.NewReader(body))
		got, err := io.ReadAll(b)
		if err != nil {
			requireS3Error(t, err)
			return
		}
		name, value := b.Checksum()
		if noTrailer {
			if name != "" {
				t.Fatalf("checksum %s without a declared trailer", name)
			}
			return
		}
		sum := crc32.Checksum(got, crc32.MakeTable(crc32.Castagnoli))
		if want := b64([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)}); name != a.Trailer || value != want {
			t.Fatalf("accepted data whose crc32c is %s under trailer %s:%s", want, name, value)
		}
	})
}
