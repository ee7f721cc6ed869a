package s3

import (
	"crypto/md5"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// listTestKeys hold prefixes at several depths, characters that URL
// encoding changes, and no key that is also a directory of another (the
// drives cannot hold both "a" and "a/b").
var listTestKeys = []string{
	"a/1", "a/2", "a/b/c", "a/b/d", "a/c", "b/x", "b/y/z", "c", "d e", "d+f", "dé",
	"p/0", "p/1", "p/2", "p/3", "p/4", "p/5", "p/6", "p/7", "p/8", "p/9",
	"t~1", "ü/1", "ü/2", "z z/1", "zz", "%41",
}

// newListServer returns a server whose bucket "lst" holds listTestKeys.
func newListServer(t testing.TB) *testServer {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "lst")
	for _, k := range listTestKeys {
		ts.mustPut(t, "lst", k, []byte(k), object.PutOptions{})
	}
	return ts
}

// refList is what a listing of keys must show, all pages together: keys
// ("K:key") and common prefixes ("P:prefix") in order.
func refList(keys []string, prefix, delim string) []string {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	var out []string
	for _, k := range sorted {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				p := "P:" + k[:len(prefix)+i+len(delim)]
				if len(out) == 0 || out[len(out)-1] != p {
					out = append(out, p)
				}
				continue
			}
		}
		out = append(out, "K:"+k)
	}
	return out
}

// pageEntries merges a page's keys and prefixes in order.
func pageEntries(contents []s3xml.Object, prefixes []s3xml.CommonPrefix) []string {
	var out []string
	for _, o := range contents {
		out = append(out, "K:"+o.Key)
	}
	for _, p := range prefixes {
		out = append(out, "P:"+p.Prefix)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(a[2:], b[2:]) })
	return out
}

func listV1(t testing.TB, ts *testServer, bucket string, q url.Values) *s3xml.ListBucketResult {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, "/"+bucket+"?"+q.Encode(), nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.ListBucketResult
	decodeXML(t, body, &res)
	return &res
}

func listV2(t testing.TB, ts *testServer, bucket string, q url.Values) *s3xml.ListBucketResultV2 {
	t.Helper()
	q = cloneValues(q)
	q.Set("list-type", "2")
	resp, body := ts.do(t, http.MethodGet, "/"+bucket+"?"+q.Encode(), nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.ListBucketResultV2
	decodeXML(t, body, &res)
	return &res
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func TestListPagination(t *testing.T) {
	ts := newListServer(t)
	for _, pd := range [][2]string{{"", ""}, {"", "/"}, {"a/", "/"}, {"a/", ""}, {"p/", "/"}, {"d", ""}, {"", "b"}, {"nothing", "/"}} {
		prefix, delim := pd[0], pd[1]
		want := refList(listTestKeys, prefix, delim)
		for _, maxKeys := range []int{1, 2, 7, 1000} {
			name := fmt.Sprintf("prefix=%q,delim=%q,max=%d", prefix, delim, maxKeys)
			t.Run("v1/"+name, func(t *testing.T) {
				got := paginateV1(t, ts, prefix, delim, maxKeys)
				if !slices.Equal(got, want) {
					t.Fatalf("listed %v\nwant %v", got, want)
				}
			})
			t.Run("v2/"+name, func(t *testing.T) {
				got := paginateV2(t, ts, prefix, delim, maxKeys)
				if !slices.Equal(got, want) {
					t.Fatalf("listed %v\nwant %v", got, want)
				}
			})
		}
	}
}

// paginateV1 lists every page with markers, as v1 clients do: NextMarker
// with a delimiter, else the last key.
func paginateV1(t *testing.T, ts *testServer, prefix, delim string, maxKeys int) []string {
	var all []string
	marker := ""
	for page := 0; ; page++ {
		if page > len(listTestKeys)+1 {
			t.Fatal("the listing does not end")
		}
		q := url.Values{"prefix": {prefix}, "delimiter": {delim}, "max-keys": {fmt.Sprint(maxKeys)}, "marker": {marker}}
		res := listV1(t, ts, "lst", q)
		entries := pageEntries(res.Contents, res.CommonPrefixes)
		if len(entries) > maxKeys || res.MaxKeys != maxKeys || res.Name != "lst" || res.Prefix != prefix || res.Marker != marker || res.Delimiter != delim {
			t.Fatalf("page %d: %d entries, echo %+v", page, len(entries), res)
		}
		for _, o := range res.Contents {
			if o.Owner == nil || o.Owner.ID != "gridstore" || o.StorageClass != "STANDARD" || o.ETag != quoteMD5(o.Key) || o.Size != int64(len(o.Key)) {
				t.Fatalf("object %+v", o)
			}
		}
		all = append(all, entries...)
		if !res.IsTruncated {
			if res.NextMarker != "" {
				t.Fatalf("last page has NextMarker %q", res.NextMarker)
			}
			return all
		}
		switch {
		case delim == "" && res.NextMarker != "":
			t.Fatalf("NextMarker %q without a delimiter (AWS gives none)", res.NextMarker)
		case delim == "":
			marker = res.Contents[len(res.Contents)-1].Key
		case res.NextMarker == "":
			t.Fatal("truncated delimited page without NextMarker")
		default:
			marker = res.NextMarker
		}
	}
}

// paginateV2 lists every page with continuation tokens.
func paginateV2(t *testing.T, ts *testServer, prefix, delim string, maxKeys int) []string {
	var all []string
	token := ""
	for page := 0; ; page++ {
		if page > len(listTestKeys)+1 {
			t.Fatal("the listing does not end")
		}
		q := url.Values{"prefix": {prefix}, "delimiter": {delim}, "max-keys": {fmt.Sprint(maxKeys)}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		res := listV2(t, ts, "lst", q)
		entries := pageEntries(res.Contents, res.CommonPrefixes)
		if len(entries) > maxKeys || res.KeyCount != len(entries) || res.MaxKeys != maxKeys || res.ContinuationToken != token {
			t.Fatalf("page %d: %d entries, echo %+v", page, len(entries), res)
		}
		for _, o := range res.Contents {
			if o.Owner != nil || o.StorageClass != "STANDARD" || o.ETag != quoteMD5(o.Key) {
				t.Fatalf("object %+v (no fetch-owner)", o)
			}
		}
		all = append(all, entries...)
		if !res.IsTruncated {
			if res.NextContinuationToken != "" {
				t.Fatalf("last page has a continuation token")
			}
			return all
		}
		if token = res.NextContinuationToken; token == "" {
			t.Fatal("truncated page without NextContinuationToken")
		}
	}
}

func quoteMD5(s string) string {
	return fmt.Sprintf(`"%x"`, md5.Sum([]byte(s)))
}

func TestListMarkers(t *testing.T) {
	ts := newListServer(t)
	keysAfter := func(after string) []string {
		var out []string
		for _, e := range refList(listTestKeys, "", "") {
			if e[2:] > after {
				out = append(out, e)
			}
		}
		return out
	}
	for _, after := range []string{"", "a/2", "c", "p/", "p/9", "zz", "zzz"} {
		res := listV1(t, ts, "lst", url.Values{"marker": {after}})
		if got, want := pageEntries(res.Contents, nil), keysAfter(after); !slices.Equal(got, want) {
			t.Fatalf("marker %q: %v, want %v", after, got, want)
		}
		v2 := listV2(t, ts, "lst", url.Values{"start-after": {after}})
		if got, want := pageEntries(v2.Contents, nil), keysAfter(after); !slices.Equal(got, want) || v2.StartAfter != after {
			t.Fatalf("start-after %q: %v, want %v (echo %q)", after, got, want, v2.StartAfter)
		}
	}

	// A continuation token wins over start-after, which is still echoed.
	first := listV2(t, ts, "lst", url.Values{"max-keys": {"3"}})
	next := listV2(t, ts, "lst", url.Values{"start-after": {"p/5"}, "continuation-token": {first.NextContinuationToken}, "max-keys": {"1"}})
	if len(next.Contents) != 1 || next.Contents[0].Key != "a/b/c" || next.StartAfter != "p/5" {
		t.Fatalf("after a token: %+v", next)
	}

	// An empty token is no token: the listing starts at start-after, and
	// no token is echoed.
	empty := listV2(t, ts, "lst", url.Values{"start-after": {"p/5"}, "continuation-token": {""}, "max-keys": {"1"}})
	if len(empty.Contents) != 1 || empty.Contents[0].Key != "p/6" || empty.ContinuationToken != "" || empty.StartAfter != "p/5" {
		t.Fatalf("empty token: %+v", empty)
	}
}

func TestListEncodingType(t *testing.T) {
	ts := newListServer(t)
	for _, v2 := range []bool{false, true} {
		q := url.Values{"encoding-type": {"url"}, "prefix": {"d"}, "delimiter": {" "}}
		var contents []s3xml.Object
		var prefixes []s3xml.CommonPrefix
		var prefix, delim string
		if v2 {
			res := listV2(t, ts, "lst", q)
			contents, prefixes, prefix, delim = res.Contents, res.CommonPrefixes, res.Prefix, res.Delimiter
			if res.EncodingType != "url" {
				t.Fatalf("v2 EncodingType %q", res.EncodingType)
			}
		} else {
			res := listV1(t, ts, "lst", q)
			contents, prefixes, prefix, delim = res.Contents, res.CommonPrefixes, res.Prefix, res.Delimiter
			if res.EncodingType != "url" {
				t.Fatalf("v1 EncodingType %q", res.EncodingType)
			}
		}
		if delim != "%20" || prefix != "d" {
			t.Fatalf("v2=%v: delimiter %q, prefix %q", v2, delim, prefix)
		}
		var keys []string
		for _, o := range contents {
			keys = append(keys, o.Key)
		}
		if want := []string{"d%2Bf", "d%C3%A9"}; !slices.Equal(keys, want) {
			t.Fatalf("v2=%v: keys %v, want %v", v2, keys, want)
		}
		if len(prefixes) != 1 || prefixes[0].Prefix != "d%20" {
			t.Fatalf("v2=%v: prefixes %+v", v2, prefixes)
		}
		for _, k := range append(keys, prefixes[0].Prefix) {
			if _, err := url.PathUnescape(k); err != nil {
				t.Fatalf("key %q does not decode: %v", k, err)
			}
		}
	}

	// Without encoding-type the keys are sent as they are.
	res := listV2(t, ts, "lst", url.Values{"prefix": {"d"}})
	if got := pageEntries(res.Contents, nil); !slices.Equal(got, []string{"K:d e", "K:d+f", "K:dé"}) {
		t.Fatalf("raw keys %v", got)
	}
	res = listV2(t, ts, "lst", url.Values{"prefix": {"%"}, "encoding-type": {"URL"}})
	if len(res.Contents) != 1 || res.Contents[0].Key != "%2541" || res.Prefix != "%25" {
		t.Fatalf("encoded %%41: %+v", res)
	}
}

func TestListOwnerAndLimits(t *testing.T) {
	ts := newListServer(t)
	res := listV2(t, ts, "lst", url.Values{"fetch-owner": {"true"}, "max-keys": {"2"}})
	if len(res.Contents) != 2 || res.Contents[0].Owner == nil || res.Contents[0].Owner.ID != "gridstore" {
		t.Fatalf("fetch-owner: %+v", res.Contents)
	}
	res = listV2(t, ts, "lst", url.Values{"fetch-owner": {"false"}, "max-keys": {"2"}})
	if res.Contents[0].Owner != nil {
		t.Fatal("owner without fetch-owner")
	}

	// max-keys=0: an empty page, not truncated.
	v1 := listV1(t, ts, "lst", url.Values{"max-keys": {"0"}})
	if len(v1.Contents)+len(v1.CommonPrefixes) != 0 || v1.IsTruncated || v1.MaxKeys != 0 {
		t.Fatalf("max-keys=0 v1: %+v", v1)
	}
	res = listV2(t, ts, "lst", url.Values{"max-keys": {"0"}})
	if res.KeyCount != 0 || res.IsTruncated || res.MaxKeys != 0 || res.NextContinuationToken != "" {
		t.Fatalf("max-keys=0 v2: %+v", res)
	}
	// Above 1000: at most 1000, and the value asked for is echoed.
	res = listV2(t, ts, "lst", url.Values{"max-keys": {"5000"}})
	if res.MaxKeys != 5000 || res.KeyCount != len(listTestKeys) || res.IsTruncated {
		t.Fatalf("max-keys=5000: %d keys, MaxKeys %d", res.KeyCount, res.MaxKeys)
	}
	// Default: 1000.
	res = listV2(t, ts, "lst", nil)
	if res.MaxKeys != 1000 || res.KeyCount != len(listTestKeys) {
		t.Fatalf("default max-keys: %+v", res)
	}

	for _, q := range []string{"max-keys=abc", "max-keys=-1", "max-keys=", "max-keys=1.5", "encoding-type=gzip", "list-type=2&continuation-token=bogus!", "list-type=3"} {
		for _, prefix := range []string{"", "list-type=2&"} {
			if strings.HasPrefix(q, "list-type") && prefix != "" {
				continue
			}
			resp, body := ts.do(t, http.MethodGet, "/lst?"+prefix+q, nil, nil)
			wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
		}
	}
	for _, q := range []string{"", "?list-type=2", "?max-keys=0", "?list-type=2&max-keys=0"} {
		resp, body := ts.do(t, http.MethodGet, "/nobucket"+q, nil, nil)
		wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	}
}

func TestListEmptyBucket(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "empty")
	res := listV1(t, ts, "empty", url.Values{"prefix": {"x/"}, "delimiter": {"/"}})
	if len(res.Contents)+len(res.CommonPrefixes) != 0 || res.IsTruncated || res.Prefix != "x/" {
		t.Fatalf("empty bucket: %+v", res)
	}
	// S3 writes Prefix and Marker even when empty.
	resp, body := ts.do(t, http.MethodGet, "/empty", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), "<Prefix></Prefix>") || !strings.Contains(string(body), "<Marker></Marker>") {
		t.Fatalf("empty elements missing: %s", body)
	}
}

// BenchmarkS3ListObjects lists a bucket of 1,000 keys through HTTP (signing,
// routing, the layer's listing, XML), one page of 1000 and one of 100.
func BenchmarkS3ListObjects(b *testing.B) {
	ts := newTestServer(b, nil)
	ts.mustCreateBucket(b, "bench")
	for i := range 1000 {
		k := fmt.Sprintf("dir%02d/object-%04d", i%10, i)
		ts.mustPut(b, "bench", k, []byte(k), object.PutOptions{})
	}
	for _, page := range []int{1000, 100} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			path := fmt.Sprintf("/bench?list-type=2&max-keys=%d", page)
			b.ReportAllocs()
			for b.Loop() {
				resp, body := ts.do(b, http.MethodGet, path, nil, nil)
				if resp.StatusCode != http.StatusOK || len(body) == 0 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
