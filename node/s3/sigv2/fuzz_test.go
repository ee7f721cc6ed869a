package sigv2

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// The fuzz targets check the properties DESIGN §7 promises for bad input:
// no panic, typed S3 errors, and never a request accepted that the secret
// did not sign. Seeds are in testdata/fuzz/<target>/ and in the f.Add calls.

// fuzzRequest is a server-side request for /bucket/key?rawQuery with the
// given Authorization and the Date the good signatures were made with.
func fuzzRequest(authz, rawQuery string) *http.Request {
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/bucket/key", RawQuery: rawQuery}, Host: "s3.local",
		RequestURI: "/bucket/key", Header: http.Header{"Date": {testTime.Format(http.TimeFormat)}}}
	if rawQuery != "" {
		r.RequestURI += "?" + rawQuery
	}
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
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error shows the secret: %v", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	good := sign(f, fuzzRequest("", ""), testAccessKey, testSecret, "").Header.Get("Authorization")
	for _, s := range []string{good, "  " + good, "AWS", "AWS ", "AWS :", "AWS a:b:c", "AWS a::", "AWS " + testAccessKey + ":",
		"AWS4-HMAC-SHA256 Credential=x", "AWS  " + good[4:], "AWS a:b\x00"} {
		f.Add(s)
	}
	goodKey, goodSig, err := parseAuthorization(good)
	if err != nil {
		f.Fatal(err)
	}
	v := testVerifier(testTime)
	f.Fuzz(func(t *testing.T, s string) {
		ak, sig, err := parseAuthorization(s)
		if err == nil {
			if !validAccessKey(ak) || !validSignature(sig) {
				t.Fatalf("parsed %q into %q, %q", s, ak, sig)
			}
		} else {
			requireS3Error(t, err)
		}
		_ = Signed(fuzzRequest(s, ""))
		// Only the true signature verifies, however the header is spelled.
		if _, err := v.Verify(fuzzRequest(s, "")); err != nil {
			requireS3Error(t, err)
		} else if ak != goodKey || sig != goodSig {
			t.Fatalf("Authorization %q verified", s)
		}
	})
}

func FuzzPresignedQuery(f *testing.F) {
	r := presign(f, fuzzRequest("", "uploadId=u&partNumber=1"), testAccessKey, testSecret, testTime.Add(3600e9))
	good := r.URL.RawQuery
	for _, s := range []string{good, good + "&prefix=x", good + "&acl", "AWSAccessKeyId=a&Signature=b&Expires=1",
		"AWSAccessKeyId=&Signature=&Expires=", "Expires=99999999999999999999&AWSAccessKeyId=a&Signature=b",
		"a=%zz&Signature=x", "Signature=x;y", "&&=&==", "AWSAccessKeyId=a&Signature=b&Expires=1&X-Amz-Algorithm=x",
		"uploads&uploads=&AWSAccessKeyId=a&Signature=b&Expires=1"} {
		f.Add(s)
	}
	goodQuery, _ := url.ParseQuery(good)
	goodP, err := parsePresigned(goodQuery)
	if err != nil {
		f.Fatal(err)
	}
	goodRes, _ := appendResource(nil, fuzzRequest("", good), "", goodQuery)
	v := testVerifier(testTime)
	f.Fuzz(func(t *testing.T, s string) {
		if q, err := url.ParseQuery(s); err == nil {
			if p, err := parsePresigned(q); err == nil {
				if !validAccessKey(p.accessKey) || !validSignature(p.signature) || p.expires.Unix() < 0 {
					t.Fatalf("parsed %q into %+v", s, p)
				}
			} else {
				requireS3Error(t, err)
			}
		}
		r := fuzzRequest("", s)
		_ = Signed(r)
		if _, err := v.Verify(r); err != nil {
			requireS3Error(t, err)
			return
		}
		// Verified: then it is the good URL's signature, key and expiry over
		// the good URL's resource; only parameters SigV2 leaves unsigned
		// may differ.
		q, _ := url.ParseQuery(s)
		p, _ := parsePresigned(q)
		res, _ := appendResource(nil, r, "", q)
		if p.accessKey != goodP.accessKey || p.signature != goodP.signature || p.expiresRaw != goodP.expiresRaw ||
			string(res) != string(goodRes) {
			t.Fatalf("query %q verified", s)
		}
	})
}
