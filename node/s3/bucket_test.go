package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// decodeXML unmarshals a response body, failing the test if it is not v.
func decodeXML(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := xml.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, body)
	}
}

// waitObserved waits for the latest request's RequestInfo (Observe runs
// after the response went out, so the client may see the response first)
// and checks its API name and status.
func waitObserved(t testing.TB, ts *testServer, api string, status int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ri := ts.lastObserved()
		if ri.API == api && ri.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed %+v, want API %s status %d", ri, api, status)
		}
		time.Sleep(time.Millisecond)
	}
}

// contentMD5 is the Content-MD5 header value of b.
func contentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checksumCRC32 is the x-amz-checksum-crc32 header value of b.
func checksumCRC32(b []byte) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestBucketLifecycle(t *testing.T) {
	ts := newTestServer(t, nil)

	resp, body := ts.do(t, http.MethodPut, "/photos", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("Location"); got != "/photos" {
		t.Fatalf("Location %q, want /photos", got)
	}
	waitObserved(t, ts, "CreateBucket", http.StatusOK)
	resp, body = ts.do(t, http.MethodPut, "/photos", nil, nil)
	wantError(t, resp, body, http.StatusConflict, "BucketAlreadyOwnedByYou")
	waitObserved(t, ts, "CreateBucket", http.StatusConflict)
	for _, name := range []string{"Photos", "ab", "a_b", "-ab", "192.168.1.1", "a..b", strings.Repeat("a", 64)} {
		resp, body = ts.do(t, http.MethodPut, "/"+name, nil, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidBucketName")
	}

	resp, body = ts.do(t, http.MethodHead, "/photos", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("X-Amz-Bucket-Region"); got != "us-east-1" {
		t.Fatalf("x-amz-bucket-region %q", got)
	}

	resp, body = ts.do(t, http.MethodGet, "/photos?location", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	waitObserved(t, ts, "GetBucketLocation", http.StatusOK)
	var loc s3xml.LocationConstraint
	decodeXML(t, body, &loc)
	if loc.Location != "" {
		t.Fatalf("location %q, want empty for us-east-1", loc.Location)
	}

	ts.mustCreateBucket(t, "alpha")
	resp, body = ts.do(t, http.MethodGet, "/", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var all s3xml.ListAllMyBucketsResult
	decodeXML(t, body, &all)
	var names []string
	for _, b := range all.Buckets.Bucket {
		names = append(names, b.Name)
		if ct := b.CreationDate; ct == (s3xml.Time{}) {
			t.Fatalf("bucket %s has no creation date", b.Name)
		}
	}
	if !slices.Equal(names, []string{"alpha", "photos"}) {
		t.Fatalf("buckets %v", names)
	}
	if all.Owner == nil || all.Owner.ID != "gridstore" || all.Owner.DisplayName != "gridstore" {
		t.Fatalf("owner %+v", all.Owner)
	}
	resp, body = ts.do(t, http.MethodGet, "/?prefix=ph", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	all = s3xml.ListAllMyBucketsResult{}
	decodeXML(t, body, &all)
	if len(all.Buckets.Bucket) != 1 || all.Buckets.Bucket[0].Name != "photos" {
		t.Fatalf("buckets with prefix ph: %+v", all.Buckets)
	}

	ts.mustPut(t, "photos", "cat.jpg", []byte("meow"), object.PutOptions{})
	resp, body = ts.do(t, http.MethodDelete, "/photos", nil, nil)
	wantError(t, resp, body, http.StatusConflict, "BucketNotEmpty")
	if err := ts.Layer.DeleteObject(t.Context(), "photos", "cat.jpg"); err != nil {
		t.Fatal(err)
	}
	resp, body = ts.do(t, http.MethodDelete, "/photos", nil, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	waitObserved(t, ts, "DeleteBucket", http.StatusNoContent)

	resp, body = ts.do(t, http.MethodHead, "/photos", nil, nil)
	wantStatus(t, resp, body, http.StatusNotFound)
	if len(body) != 0 {
		t.Fatalf("HEAD 404 has a body: %q", body)
	}
	resp, body = ts.do(t, http.MethodDelete, "/photos", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	resp, body = ts.do(t, http.MethodGet, "/photos?location", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
}

// listBucketsPage asks for one ListBuckets page with query q.
func listBucketsPage(t testing.TB, ts *testServer, q url.Values) s3xml.ListAllMyBucketsResult {
	t.Helper()
	resp, body := ts.do(t, http.MethodGet, "/?"+q.Encode(), nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.ListAllMyBucketsResult
	decodeXML(t, body, &res)
	return res
}

// TestListBucketsPaging: max-buckets pages the sorted list, each truncated
// page's ContinuationToken continues right after its last bucket, the last
// page has none, and prefix filters and is echoed.
func TestListBucketsPaging(t *testing.T) {
	ts := newTestServer(t, nil)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("pg-%02d", 6-i) // made out of order
		ts.mustCreateBucket(t, name)
		want = append(want, name)
	}
	slices.Sort(want)
	ts.mustCreateBucket(t, "other")

	for _, size := range []int{1, 3, 6, 7, 10000} {
		var got []string
		q := url.Values{"prefix": {"pg-"}, "max-buckets": {fmt.Sprint(size)}}
		for page := 0; ; page++ {
			if page > len(want) {
				t.Fatalf("max-buckets %d: the listing does not end", size)
			}
			res := listBucketsPage(t, ts, q)
			if len(res.Buckets.Bucket) > size || res.Prefix != "pg-" || res.Owner == nil {
				t.Fatalf("max-buckets %d, page %d: %+v", size, page, res)
			}
			for _, b := range res.Buckets.Bucket {
				got = append(got, b.Name)
			}
			if res.ContinuationToken == "" {
				break
			}
			if len(res.Buckets.Bucket) != size {
				t.Fatalf("max-buckets %d: a short page %d with a token", size, page)
			}
			q.Set("continuation-token", res.ContinuationToken)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("max-buckets %d: %v, want %v", size, got, want)
		}
	}

	// Without max-buckets: everything, in one page; an empty token is none.
	all := listBucketsPage(t, ts, url.Values{"continuation-token": {""}})
	if len(all.Buckets.Bucket) != len(want)+1 || all.ContinuationToken != "" || all.Prefix != "" {
		t.Fatalf("unpaged: %+v", all)
	}
	// A token continues after its bucket even without max-buckets: after
	// "other" and pg-00, the rest.
	first := listBucketsPage(t, ts, url.Values{"max-buckets": {"2"}})
	rest := listBucketsPage(t, ts, url.Values{"continuation-token": {first.ContinuationToken}})
	if len(rest.Buckets.Bucket) != len(want)-1 || rest.Buckets.Bucket[0].Name != want[1] || rest.ContinuationToken != "" {
		t.Fatalf("after %s: %+v", first.ContinuationToken, rest.Buckets)
	}

	for _, q := range []string{"max-buckets=0", "max-buckets=10001", "max-buckets=-1", "max-buckets=", "max-buckets=two",
		"continuation-token=not!base64", "continuation-token=" + base64.RawURLEncoding.EncodeToString([]byte("\x02pg-00")),
		"continuation-token=" + base64.RawURLEncoding.EncodeToString([]byte("\x01")),
		"continuation-token=" + base64.RawURLEncoding.EncodeToString([]byte("\x01Bad_Name")),
		"continuation-token=" + strings.Repeat("A", 200)} {
		resp, body := ts.do(t, http.MethodGet, "/?"+q, nil, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
}

func TestCreateBucketRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	cfg := func(region string) []byte {
		return []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` + region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	resp, body := ts.do(t, http.MethodPut, "/bk1", cfg("eu-west-1"), nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidLocationConstraint")
	resp, body = ts.do(t, http.MethodPut, "/bk1", []byte("<CreateBucketConfiguration>"), nil)
	wantError(t, resp, body, http.StatusBadRequest, "MalformedXML")
	resp, body = ts.do(t, http.MethodPut, "/bk1", nil, hdr("x-amz-bucket-object-lock-enabled", "true"))
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
	resp, body = ts.do(t, http.MethodPut, "/bk1", nil, hdr("x-amz-acl", "public-read"))
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
	if _, err := ts.Layer.HeadBucket(t.Context(), "bk1"); !errors.Is(err, object.ErrBucketNotFound) {
		t.Fatalf("a refused CreateBucket made the bucket: %v", err)
	}

	resp, body = ts.do(t, http.MethodPut, "/bk1", cfg("us-east-1"), hdr("x-amz-acl", "private"))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = ts.do(t, http.MethodPut, "/bk2", cfg(""), nil)
	wantStatus(t, resp, body, http.StatusOK)
}

func TestBucketOtherRegion(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Region = "eu-west-1" })
	ts.Signer.Region = "eu-west-1"
	resp, body := ts.do(t, http.MethodPut, "/bk1", []byte(`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`), nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidLocationConstraint")
	resp, body = ts.do(t, http.MethodPut, "/bk1", []byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`), nil)
	wantStatus(t, resp, body, http.StatusOK)

	resp, body = ts.do(t, http.MethodGet, "/bk1?location", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var loc s3xml.LocationConstraint
	decodeXML(t, body, &loc)
	if loc.Location != "eu-west-1" {
		t.Fatalf("location %q", loc.Location)
	}
	resp, body = ts.do(t, http.MethodHead, "/bk1", nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("X-Amz-Bucket-Region"); got != "eu-west-1" {
		t.Fatalf("x-amz-bucket-region %q", got)
	}
}

// deleteBody builds a DeleteObjects document; a key may carry a version
// as "key?versionId=v".
func deleteBody(quiet bool, keys ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	if quiet {
		b.WriteString("<Quiet>true</Quiet>")
	}
	for _, k := range keys {
		key, version, _ := strings.Cut(k, "?versionId=")
		b.WriteString("<Object><Key>")
		_ = xml.EscapeText(&b, []byte(key))
		b.WriteString("</Key>")
		if version != "" {
			fmt.Fprintf(&b, "<VersionId>%s</VersionId>", version)
		}
		b.WriteString("</Object>")
	}
	b.WriteString("</Delete>")
	return b.Bytes()
}

func TestDeleteObjects(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "del")
	for _, k := range []string{"k1", "k2", "k 3", "k4", "a/../b"} {
		ts.mustPut(t, "del", k, []byte(k), object.PutOptions{})
	}

	long := strings.Repeat("k", 1025)
	doc := deleteBody(false, "k1", "k2?versionId=null", "k 3", "missing", "k4?versionId=abc", long, "a/../b")
	resp, body := ts.do(t, http.MethodPost, "/del?delete", doc, hdr("Content-MD5", contentMD5(doc)))
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.DeleteResult
	decodeXML(t, body, &res)
	var deleted []string
	for _, d := range res.Deleted {
		deleted = append(deleted, d.Key+"|"+d.VersionID)
	}
	if want := []string{"k1|", "k2|null", "k 3|", "missing|", "a/../b|"}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	if len(res.Errors) != 2 || res.Errors[0].Key != "k4" || res.Errors[0].Code != "NoSuchVersion" || res.Errors[0].VersionID != "abc" ||
		res.Errors[1].Key != long || res.Errors[1].Code != "KeyTooLongError" || res.Errors[1].Message == "" {
		t.Fatalf("errors %+v", res.Errors)
	}
	for _, k := range []string{"k1", "k2", "k 3", "a/../b"} {
		if _, err := ts.Layer.GetObjectInfo(t.Context(), "del", k); !errors.Is(err, object.ErrObjectNotFound) {
			t.Fatalf("%s after delete: %v", k, err)
		}
	}
	if _, err := ts.Layer.GetObjectInfo(t.Context(), "del", "k4"); err != nil {
		t.Fatalf("k4 (wrong version) was deleted: %v", err)
	}

	// Quiet: only the errors.
	doc = deleteBody(true, "k4", "gone", "x?versionId=v2")
	resp, body = ts.do(t, http.MethodPost, "/del?delete", doc, hdr("x-amz-checksum-crc32", checksumCRC32(doc)))
	wantStatus(t, resp, body, http.StatusOK)
	res = s3xml.DeleteResult{}
	decodeXML(t, body, &res)
	if len(res.Deleted) != 0 || len(res.Errors) != 1 || res.Errors[0].Key != "x" {
		t.Fatalf("quiet result %+v", res)
	}
	if _, err := ts.Layer.GetObjectInfo(t.Context(), "del", "k4"); !errors.Is(err, object.ErrObjectNotFound) {
		t.Fatalf("k4 after quiet delete: %v", err)
	}
}

func TestDeleteObjectsRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "del")
	ts.mustPut(t, "del", "keep", []byte("x"), object.PutOptions{})
	doc := deleteBody(false, "keep")

	resp, body := ts.do(t, http.MethodPost, "/del?delete", doc, hdr("Content-MD5", contentMD5([]byte("other"))))
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
	resp, body = ts.do(t, http.MethodPost, "/del?delete", doc, hdr("Content-MD5", "not-base64!"))
	wantError(t, resp, body, http.StatusBadRequest, "InvalidDigest")
	resp, body = ts.do(t, http.MethodPost, "/del?delete", doc, hdr("x-amz-checksum-crc32", checksumCRC32([]byte("other"))))
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
	resp, body = ts.do(t, http.MethodPost, "/del?delete", []byte("<Delete><Object><Key>keep</Key></Object>"), nil)
	wantError(t, resp, body, http.StatusBadRequest, "MalformedXML")
	resp, body = ts.do(t, http.MethodPost, "/del?delete", nil, nil)
	wantError(t, resp, body, http.StatusBadRequest, "MalformedXML")
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("k%04d", i)
	}
	resp, body = ts.do(t, http.MethodPost, "/del?delete", deleteBody(false, many...), nil)
	wantError(t, resp, body, http.StatusBadRequest, "MalformedXML")
	resp, body = ts.do(t, http.MethodPost, "/nobucket?delete", doc, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")

	if _, err := ts.Layer.GetObjectInfo(t.Context(), "del", "keep"); err != nil {
		t.Fatalf("a refused DeleteObjects deleted: %v", err)
	}
}
