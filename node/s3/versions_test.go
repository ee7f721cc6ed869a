package s3

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/s3/s3xml"
)

func listVersions(t testing.TB, ts *testServer, bucket string, q url.Values) (*s3xml.ListVersionsResult, []byte) {
	t.Helper()
	q = cloneValues(q)
	q.Set("versions", "")
	resp, body := ts.do(t, http.MethodGet, "/"+bucket+"?"+q.Encode(), nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.ListVersionsResult
	decodeXML(t, body, &res)
	return &res, body
}

// versionEntries merges a page's versions and prefixes in order, like
// pageEntries.
func versionEntries(versions []s3xml.ObjectVersion, prefixes []s3xml.CommonPrefix) []string {
	objs := make([]s3xml.Object, len(versions))
	for i, v := range versions {
		objs[i].Key = v.Key
	}
	return pageEntries(objs, prefixes)
}

// TestListObjectVersions: on an unversioned bucket every object is one
// version, "null" and the latest, paged by key-marker and
// version-id-marker as S3 pages versions, with what ListObjects shows.
func TestListObjectVersions(t *testing.T) {
	ts := newListServer(t)
	for _, tc := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"p/", ""}, {"a/", "/"}, {"", "b"}, {"z", " "}} {
		for _, maxKeys := range []int{1, 2, 5, 1000} {
			name := fmt.Sprintf("prefix=%q delim=%q max=%d", tc.prefix, tc.delim, maxKeys)
			var all []string
			q := url.Values{"prefix": {tc.prefix}, "delimiter": {tc.delim}, "max-keys": {fmt.Sprint(maxKeys)}}
			for page := 0; ; page++ {
				if page > len(listTestKeys)+1 {
					t.Fatalf("%s: the listing does not end", name)
				}
				res, _ := listVersions(t, ts, "lst", q)
				entries := versionEntries(res.Versions, res.CommonPrefixes)
				if len(entries) > maxKeys || res.MaxKeys != maxKeys || res.Prefix != tc.prefix || res.Delimiter != tc.delim ||
					res.KeyMarker != q.Get("key-marker") || res.VersionIDMarker != q.Get("version-id-marker") {
					t.Fatalf("%s, page %d: %d entries, echo %+v", name, page, len(entries), res)
				}
				for _, v := range res.Versions {
					if v.VersionID != "null" || !v.IsLatest || v.ETag != quoteMD5(v.Key) || v.Size != int64(len(v.Key)) ||
						v.StorageClass != "STANDARD" || v.Owner == nil || v.Owner.ID != "gridstore" || v.LastModified == (s3xml.Time{}) {
						t.Fatalf("%s: version %+v", name, v)
					}
				}
				all = append(all, entries...)
				if !res.IsTruncated {
					if res.NextKeyMarker != "" || res.NextVersionIDMarker != "" {
						t.Fatalf("%s: last page with next markers %+v", name, res)
					}
					break
				}
				// The next markers name the page's last entry; only a
				// version (not a common prefix) has a version ID.
				last := entries[len(entries)-1]
				wantVID := ""
				if strings.HasPrefix(last, "K:") {
					wantVID = "null"
				}
				if res.NextKeyMarker != last[2:] || res.NextVersionIDMarker != wantVID {
					t.Fatalf("%s: next markers %q %q after %s", name, res.NextKeyMarker, res.NextVersionIDMarker, last)
				}
				q.Set("key-marker", res.NextKeyMarker)
				if res.NextVersionIDMarker != "" {
					q.Set("version-id-marker", res.NextVersionIDMarker)
				} else {
					q.Del("version-id-marker")
				}
			}
			if want := refList(listTestKeys, tc.prefix, tc.delim); !slices.Equal(all, want) {
				t.Fatalf("%s: %v, want %v", name, all, want)
			}
		}
	}

	// The elements S3 always writes, and the version's own.
	_, body := listVersions(t, ts, "lst", url.Values{"prefix": {"c"}})
	for _, want := range []string{"<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", "<KeyMarker></KeyMarker>",
		"<VersionIdMarker></VersionIdMarker>", "<Version><Key>c</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("no %s in %s", want, body)
		}
	}

	// max-keys=0: an empty page, not truncated.
	res, _ := listVersions(t, ts, "lst", url.Values{"max-keys": {"0"}})
	if len(res.Versions)+len(res.CommonPrefixes) != 0 || res.IsTruncated {
		t.Fatalf("max-keys=0: %+v", res)
	}
	// A key marker alone starts after the key, as one with "null" does.
	for _, q := range []url.Values{{"key-marker": {"p/4"}}, {"key-marker": {"p/4"}, "version-id-marker": {"null"}}} {
		res, _ := listVersions(t, ts, "lst", url.Values{"prefix": {"p/"}, "key-marker": q["key-marker"], "version-id-marker": q["version-id-marker"]})
		if got := versionEntries(res.Versions, nil); !slices.Equal(got, []string{"K:p/5", "K:p/6", "K:p/7", "K:p/8", "K:p/9"}) {
			t.Fatalf("after %v: %v", q, got)
		}
	}

	for _, q := range []string{"versions&version-id-marker=null", "versions&key-marker=a&version-id-marker=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
		"versions&max-keys=-1", "versions&encoding-type=base64"} {
		resp, body := ts.do(t, http.MethodGet, "/lst?"+q, nil, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
	for _, q := range []string{"versions", "versions&max-keys=0"} {
		resp, body := ts.do(t, http.MethodGet, "/nobucket?"+q, nil, nil)
		wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	}
	waitObserved(t, ts, "ListObjectVersions", http.StatusNotFound)
}

// TestListObjectVersionsEncoding: encoding-type=url encodes keys, prefixes,
// the delimiter and key markers (a space as %20), never the version ID
// marker.
func TestListObjectVersionsEncoding(t *testing.T) {
	ts := newListServer(t)
	res, _ := listVersions(t, ts, "lst", url.Values{"encoding-type": {"url"}, "prefix": {"z"}, "delimiter": {" "},
		"key-marker": {"z z"}, "version-id-marker": {"null"}, "max-keys": {"1"}})
	if res.EncodingType != "url" || res.Prefix != "z" || res.Delimiter != "%20" || res.KeyMarker != "z%20z" || res.VersionIDMarker != "null" {
		t.Fatalf("echo %+v", res)
	}
	if got := versionEntries(res.Versions, res.CommonPrefixes); !slices.Equal(got, []string{"K:zz"}) {
		t.Fatalf("after z z: %v", got)
	}
	res, _ = listVersions(t, ts, "lst", url.Values{"encoding-type": {"url"}, "delimiter": {"/"}, "prefix": {"z"}, "max-keys": {"1"}})
	if !res.IsTruncated || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "z%20z/" ||
		res.NextKeyMarker != "z%20z/" || res.NextVersionIDMarker != "" {
		t.Fatalf("truncated on a prefix: %+v", res)
	}
	res, _ = listVersions(t, ts, "lst", url.Values{"encoding-type": {"url"}, "prefix": {"d"}, "max-keys": {"1"}})
	if len(res.Versions) != 1 || res.Versions[0].Key != "d%20e" || res.NextKeyMarker != "d%20e" || res.NextVersionIDMarker != "null" {
		t.Fatalf("encoded version: %+v", res)
	}
}

// TestGetBucketVersioning: a bucket that never had versioning answers an
// empty configuration; turning versioning on is not implemented.
func TestGetBucketVersioning(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "vbk")
	resp, body := ts.do(t, http.MethodGet, "/vbk?versioning", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	waitObserved(t, ts, "GetBucketVersioning", http.StatusOK)
	var cfg s3xml.VersioningConfiguration
	decodeXML(t, body, &cfg)
	if cfg.Status != "" || strings.Contains(string(body), "Status") || strings.Contains(string(body), "MfaDelete") {
		t.Fatalf("versioning configuration %s", body)
	}
	resp, body = ts.do(t, http.MethodGet, "/nobucket?versioning", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	enable := []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`)
	resp, body = ts.do(t, http.MethodPut, "/vbk?versioning", enable, nil)
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
}
