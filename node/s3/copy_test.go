package s3

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
)

// copyResult is the CopyObjectResult document.
type copyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// mustCopy copies through the API and returns the result document.
func (ts *testServer) mustCopy(t testing.TB, dstPath, source string, h http.Header) copyResult {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Amz-Copy-Source", source)
	resp, body := ts.do(t, http.MethodPut, dstPath, nil, h)
	wantStatus(t, resp, body, http.StatusOK)
	var res copyResult
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("CopyObjectResult: %v: %s", err, body)
	}
	if _, err := time.Parse(time.RFC3339, res.LastModified); err != nil {
		t.Fatalf("LastModified %q: %v", res.LastModified, err)
	}
	return res
}

func TestCopyObject(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustCreateBucket(t, "other")
	small := []byte("copy me")
	big := randomBytes(3<<20, 4)
	meta := object.Metadata{ContentType: "text/plain", CacheControl: "no-store", User: map[string]string{"x-amz-meta-origin": "src"}}
	ts.mustPut(t, testBucket, "src", small, object.PutOptions{Metadata: meta})
	ts.mustPut(t, testBucket, "dir/big src", big, object.PutOptions{Metadata: meta})

	for _, tc := range []struct {
		name, dst, source string
		data              []byte
	}{
		{"within a bucket", "/" + testBucket + "/dst", testBucket + "/src", small},
		{"leading slash", "/" + testBucket + "/dst2", "/" + testBucket + "/src", small},
		{"across buckets", "/other/dst", testBucket + "/src", small},
		{"large, encoded key", "/other/big", testBucket + "/dir/big%20src", big},
		{"versionId=null", "/other/v", testBucket + "/src?versionId=null", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Request content headers do not apply under COPY.
			res := ts.mustCopy(t, tc.dst, tc.source, hdr("Content-Type", "image/png", "X-Amz-Meta-Origin", "request"))
			if res.ETag != quotedMD5(tc.data) {
				t.Fatalf("ETag %s, want %s", res.ETag, quotedMD5(tc.data))
			}
			resp := ts.mustGetHTTP(t, tc.dst, tc.data)
			if resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Cache-Control") != "no-store" ||
				resp.Header.Get("X-Amz-Meta-Origin") != "src" {
				t.Fatalf("copied metadata: %v", resp.Header)
			}
		})
	}

	t.Run("replace", func(t *testing.T) {
		dst := "/" + testBucket + "/replaced"
		ts.mustCopy(t, dst, testBucket+"/src", hdr("X-Amz-Metadata-Directive", "REPLACE",
			"Content-Type", "application/x-new", "X-Amz-Meta-Fresh", "yes"))
		resp := ts.mustGetHTTP(t, dst, small)
		if resp.Header.Get("Content-Type") != "application/x-new" || resp.Header.Get("X-Amz-Meta-Fresh") != "yes" ||
			resp.Header.Get("X-Amz-Meta-Origin") != "" || resp.Header.Get("Cache-Control") != "" {
			t.Fatalf("replaced metadata: %v", resp.Header)
		}
	})

	t.Run("onto itself", func(t *testing.T) {
		path := "/" + testBucket + "/self"
		ts.mustPut(t, testBucket, "self", small, object.PutOptions{Metadata: meta})
		resp, body := ts.do(t, http.MethodPut, path, nil, hdr("X-Amz-Copy-Source", testBucket+"/self"))
		wantError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		resp, body = ts.do(t, http.MethodPut, path, nil, hdr("X-Amz-Copy-Source", testBucket+"/self", "X-Amz-Metadata-Directive", "COPY"))
		wantError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		ts.mustCopy(t, path, testBucket+"/self", hdr("X-Amz-Metadata-Directive", "REPLACE", "X-Amz-Meta-Changed", "1"))
		got := ts.mustGetHTTP(t, path, small)
		if got.Header.Get("X-Amz-Meta-Changed") != "1" || got.Header.Get("X-Amz-Meta-Origin") != "" {
			t.Fatalf("metadata after a REPLACE onto itself: %v", got.Header)
		}
	})
}

func TestCopyObjectRefusals(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustCreateBucket(t, "other")
	src := []byte("the source")
	info := ts.mustPut(t, testBucket, "src", src, object.PutOptions{})
	old := []byte("the destination before")
	ts.mustPut(t, testBucket, "dst", old, object.PutOptions{})
	etag := `"` + info.ETag + `"`
	mod := info.ModTime.UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return mod.Add(d).Format(http.TimeFormat) }
	dst := "/" + testBucket + "/dst"
	source := testBucket + "/src"

	for _, tc := range []struct {
		name   string
		dst    string
		h      http.Header
		status int
		code   string
		bucket string // BucketName of the error document, if checked
		key    string // Key of the error document, if checked
	}{
		{"if-match other", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Copy-Source-If-Match", `"0123"`), 412, "PreconditionFailed", "", ""},
		{"if-none-match", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Copy-Source-If-None-Match", etag), 412, "PreconditionFailed", "", ""},
		{"if-modified-since", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Copy-Source-If-Modified-Since", at(0)), 412, "PreconditionFailed", "", ""},
		{"if-unmodified-since", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Copy-Source-If-Unmodified-Since", at(-time.Second)), 412, "PreconditionFailed", "", ""},
		{"destination if-none-match", dst, hdr("X-Amz-Copy-Source", source, "If-None-Match", "*"), 412, "PreconditionFailed", "", ""},
		{"destination if-none-match etag", dst, hdr("X-Amz-Copy-Source", source, "If-None-Match", etag), 501, "NotImplemented", "", ""},
		{"destination if-match other", dst, hdr("X-Amz-Copy-Source", source, "If-Match", etag), 412, "PreconditionFailed", "", ""},
		{"destination if-match, absent", "/" + testBucket + "/absent-dst", hdr("X-Amz-Copy-Source", source, "If-Match", etag), 404, "NoSuchKey", testBucket, "absent-dst"},
		{"source range", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Copy-Source-Range", "bytes=0-1"), 400, "InvalidArgument", "", ""},
		{"bad directive", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Metadata-Directive", "MERGE"), 400, "InvalidArgument", "", ""},
		{"bad storage class", dst, hdr("X-Amz-Copy-Source", source, "X-Amz-Storage-Class", "DEEP_ARCHIVE"), 400, "InvalidStorageClass", "", ""},
		{"source without key", dst, hdr("X-Amz-Copy-Source", testBucket), 400, "InvalidArgument", "", ""},
		{"source version", dst, hdr("X-Amz-Copy-Source", source+"?versionId=abc"), 404, "NoSuchVersion", "", ""},
		{"missing source key", dst, hdr("X-Amz-Copy-Source", testBucket+"/absent"), 404, "NoSuchKey", testBucket, "absent"},
		{"missing source key, conditional", dst, hdr("X-Amz-Copy-Source", testBucket+"/absent", "X-Amz-Copy-Source-If-Match", etag), 404, "NoSuchKey", testBucket, "absent"},
		{"missing source bucket", dst, hdr("X-Amz-Copy-Source", "nobucket/src"), 404, "NoSuchBucket", "nobucket", ""},
		{"missing destination bucket", "/nobucket/dst", hdr("X-Amz-Copy-Source", source), 404, "NoSuchBucket", "nobucket", ""},
		{"missing both buckets", "/nobucket2/dst", hdr("X-Amz-Copy-Source", "nobucket/src"), 404, "NoSuchBucket", "nobucket", ""},
		{"missing destination bucket, same key", "/nobucket/src", hdr("X-Amz-Copy-Source", source), 404, "NoSuchBucket", "nobucket", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, http.MethodPut, tc.dst, nil, tc.h)
			doc := wantError(t, resp, body, tc.status, tc.code)
			if tc.bucket != "" && doc.BucketName != tc.bucket {
				t.Fatalf("BucketName %q, want %q", doc.BucketName, tc.bucket)
			}
			if tc.key != "" && doc.Key != tc.key {
				t.Fatalf("Key %q, want %q", doc.Key, tc.key)
			}
			switch {
			case tc.dst == dst:
				ts.mustGetHTTP(t, tc.dst, old)
			case strings.HasPrefix(tc.dst, "/"+testBucket+"/"):
				ts.wantNoSuchKey(t, tc.dst)
			}
		})
	}

	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"if-match", hdr("X-Amz-Copy-Source-If-Match", etag)},
		{"if-none-match other", hdr("X-Amz-Copy-Source-If-None-Match", `"0123"`)},
		{"if-modified-since before", hdr("X-Amz-Copy-Source-If-Modified-Since", at(-time.Second))},
		{"if-unmodified-since same", hdr("X-Amz-Copy-Source-If-Unmodified-Since", at(0))},
		{"if-match + failing if-unmodified-since", hdr("X-Amz-Copy-Source-If-Match", etag, "X-Amz-Copy-Source-If-Unmodified-Since", at(-time.Second))},
	} {
		t.Run("passes "+tc.name, func(t *testing.T) {
			res := ts.mustCopy(t, "/other/"+strings.ReplaceAll(tc.name, " ", "-"), source, tc.h)
			if res.ETag != etag {
				t.Fatalf("ETag %s, want %s", res.ETag, etag)
			}
		})
	}
}
