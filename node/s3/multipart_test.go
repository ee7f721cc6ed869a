package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

const mib = 1 << 20

// mpBytes returns n pseudo-random bytes, the same for the same seed.
func mpBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func md5Hex(b []byte) string { return fmt.Sprintf("%x", md5.Sum(b)) }

// createUpload starts an upload through HTTP and returns its ID.
func (ts *testServer) createUpload(t testing.TB, bucket, key string, h http.Header) string {
	t.Helper()
	resp, body := ts.do(t, http.MethodPost, "/"+bucket+"/"+key+"?uploads", nil, h)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.InitiateMultipartUploadResult
	decodeXML(t, body, &res)
	if res.Bucket != bucket || res.Key != key || res.UploadID == "" {
		t.Fatalf("InitiateMultipartUploadResult %+v", res)
	}
	return res.UploadID
}

// partPath is the path of part n of an upload.
func partPath(bucket, key, id string, n int) string {
	return fmt.Sprintf("/%s/%s?partNumber=%d&uploadId=%s", bucket, key, n, url.QueryEscape(id))
}

// uploadPartOK uploads a part through HTTP and checks its quoted ETag.
func (ts *testServer) uploadPartOK(t testing.TB, bucket, key, id string, n int, data []byte) string {
	t.Helper()
	resp, body := ts.do(t, http.MethodPut, partPath(bucket, key, id, n), data, nil)
	wantStatus(t, resp, body, http.StatusOK)
	etag := resp.Header.Get("ETag")
	if etag != `"`+md5Hex(data)+`"` {
		t.Fatalf("part %d: ETag %q, want the quoted MD5 %q", n, etag, md5Hex(data))
	}
	return etag
}

// completeDoc builds a CompleteMultipartUpload body from number, ETag pairs.
func completeDoc(t testing.TB, parts ...any) []byte {
	t.Helper()
	var doc s3xml.CompleteMultipartUpload
	for i := 0; i+1 < len(parts); i += 2 {
		doc.Parts = append(doc.Parts, s3xml.CompletedPart{PartNumber: parts[i].(int), ETag: parts[i+1].(string)})
	}
	b, err := xml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// layerBytes reads an object through the layer.
func (ts *testServer) layerBytes(t testing.TB, bucket, key string) ([]byte, object.ObjectInfo) {
	t.Helper()
	rd, err := ts.Layer.GetObject(t.Context(), bucket, key, object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return b, rd.Info()
}

func TestMultipartUpload(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "mpb")
	const key = "dir/big object"
	id := ts.createUpload(t, "mpb", key, hdr("Content-Type", "video/mp4", "X-Amz-Meta-Color", "blue"))

	p1 := mpBytes(5*mib, 1)
	p2 := mpBytes(5*mib+17, 2)
	p3 := mpBytes(1000, 3)
	// Out of order, and part 2 uploaded twice: the second one counts.
	e3 := ts.uploadPartOK(t, "mpb", key, id, 3, p3)
	e1 := ts.uploadPartOK(t, "mpb", key, id, 1, p1)
	ts.uploadPartOK(t, "mpb", key, id, 2, []byte("first version of part 2"))
	e2 := ts.uploadPartOK(t, "mpb", key, id, 2, p2)

	// ListParts, all at once and page by page.
	parts := ts.listParts(t, "mpb", key, id, "")
	if len(parts.Parts) != 3 || parts.IsTruncated || parts.Initiator == nil || parts.Owner == nil || parts.StorageClass != "STANDARD" || parts.UploadID != id || parts.Key != key {
		t.Fatalf("ListParts %+v", parts)
	}
	for i, p := range parts.Parts {
		want := [][]byte{p1, p2, p3}[i]
		if p.PartNumber != i+1 || p.Size != int64(len(want)) || p.ETag != `"`+md5Hex(want)+`"` {
			t.Fatalf("part %d: %+v", i+1, p)
		}
	}
	marker := ""
	var numbers []int
	for page := 0; page < 5; page++ {
		res := ts.listParts(t, "mpb", key, id, "max-parts=1"+marker)
		if len(res.Parts) != 1 || res.MaxParts != 1 {
			t.Fatalf("page %d: %+v", page, res)
		}
		numbers = append(numbers, res.Parts[0].PartNumber)
		if !res.IsTruncated {
			break
		}
		marker = fmt.Sprintf("&part-number-marker=%d", res.NextPartNumberMarker)
	}
	if !slices.Equal(numbers, []int{1, 2, 3}) {
		t.Fatalf("paged part numbers %v", numbers)
	}

	// Refused completes leave the upload as it was.
	for _, c := range []struct {
		doc    []byte
		status int
		code   string
	}{
		{completeDoc(t, 1, e1, 2, `"00000000000000000000000000000000"`), http.StatusBadRequest, "InvalidPart"},
		{completeDoc(t, 1, e1, 4, e3), http.StatusBadRequest, "InvalidPart"},
		{completeDoc(t, 2, e2, 1, e1), http.StatusBadRequest, "InvalidPartOrder"},
		{[]byte("<CompleteMultipartUpload><Part>"), http.StatusBadRequest, "MalformedXML"},
		{[]byte("<CompleteMultipartUpload></CompleteMultipartUpload>"), http.StatusBadRequest, "MalformedXML"},
	} {
		resp, body := ts.do(t, http.MethodPost, "/mpb/"+key+"?uploadId="+url.QueryEscape(id), c.doc, nil)
		wantError(t, resp, body, c.status, c.code)
	}

	// Complete with a subset: part 2 is dropped; ETags quoted or not.
	doc := completeDoc(t, 1, e1, 3, strings.Trim(e3, `"`))
	resp, body := ts.do(t, http.MethodPost, "/mpb/"+key+"?uploadId="+url.QueryEscape(id), doc, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var done s3xml.CompleteMultipartUploadResult
	decodeXML(t, body, &done)
	if done.Bucket != "mpb" || done.Key != key || !strings.HasSuffix(done.ETag, `-2"`) || !strings.HasPrefix(done.ETag, `"`) ||
		done.Location != ts.URL+"/mpb/dir/big%20object" {
		t.Fatalf("CompleteMultipartUploadResult %+v", done)
	}
	got, info := ts.layerBytes(t, "mpb", key)
	if !bytes.Equal(got, append(slices.Clone(p1), p3...)) {
		t.Fatalf("completed object: %d bytes, want parts 1 and 3 (%d)", len(got), len(p1)+len(p3))
	}
	if `"`+info.ETag+`"` != done.ETag || info.ContentType != "video/mp4" || info.User["x-amz-meta-color"] != "blue" {
		t.Fatalf("completed object info %+v", info)
	}

	resp, body = ts.do(t, http.MethodGet, "/mpb/"+key+"?uploadId="+url.QueryEscape(id), nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", key, id, 4), []byte("late"), nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")
}

// listParts lists the parts of an upload with extra query parameters.
func (ts *testServer) listParts(t testing.TB, bucket, key, id, query string) s3xml.ListPartsResult {
	t.Helper()
	path := "/" + bucket + "/" + key + "?uploadId=" + url.QueryEscape(id)
	if query != "" {
		path += "&" + query
	}
	resp, body := ts.do(t, http.MethodGet, path, nil, nil)
	wantStatus(t, resp, body, http.StatusOK)
	var res s3xml.ListPartsResult
	decodeXML(t, body, &res)
	return res
}

func TestMultipartSmallPartAndAbort(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "mpb")
	id := ts.createUpload(t, "mpb", "small", nil)
	e1 := ts.uploadPartOK(t, "mpb", "small", id, 1, []byte("tiny first part"))
	e2 := ts.uploadPartOK(t, "mpb", "small", id, 2, []byte("last part"))
	resp, body := ts.do(t, http.MethodPost, "/mpb/small?uploadId="+url.QueryEscape(id), completeDoc(t, 1, e1, 2, e2), nil)
	wantError(t, resp, body, http.StatusBadRequest, "EntityTooSmall")
	// If-None-Match takes only "*" on a write: refused, not ignored.
	resp, body = ts.do(t, http.MethodPost, "/mpb/small?uploadId="+url.QueryEscape(id), completeDoc(t, 1, e1), hdr("If-None-Match", `"`+e1+`"`))
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")

	resp, body = ts.do(t, http.MethodDelete, "/mpb/small?uploadId="+url.QueryEscape(id), nil, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	resp, body = ts.do(t, http.MethodGet, "/mpb/small?uploadId="+url.QueryEscape(id), nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")
	resp, body = ts.do(t, http.MethodDelete, "/mpb/small?uploadId="+url.QueryEscape(id), nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")
	resp, body = ts.do(t, http.MethodPost, "/mpb/small?uploadId="+url.QueryEscape(id), completeDoc(t, 1, e1), nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")

	// A single small part is a whole object.
	id = ts.createUpload(t, "mpb", "one", nil)
	e1 = ts.uploadPartOK(t, "mpb", "one", id, 1, []byte("only part"))
	resp, body = ts.do(t, http.MethodPost, "/mpb/one?uploadId="+url.QueryEscape(id), completeDoc(t, 1, e1), nil)
	wantStatus(t, resp, body, http.StatusOK)
	if got, _ := ts.layerBytes(t, "mpb", "one"); string(got) != "only part" {
		t.Fatalf("one-part object %q", got)
	}
}

func TestUploadPartRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "mpb")
	id := ts.createUpload(t, "mpb", "k", nil)
	data := []byte("part data")
	for _, q := range []string{"partNumber=0", "partNumber=10001", "partNumber=x", "partNumber=", "partNumber=-1"} {
		resp, body := ts.do(t, http.MethodPut, "/mpb/k?"+q+"&uploadId="+url.QueryEscape(id), data, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
	resp, body := ts.do(t, http.MethodPut, "/mpb/k?partNumber=1&uploadId=", data, nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "k", "no-such-upload", 1), data, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchUpload")
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "k", id, 1), data, hdr("Content-MD5", contentMD5([]byte("other"))))
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "k", id, 1), data, hdr("x-amz-checksum-crc32", checksumCRC32([]byte("other"))))
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "k", id, 1), data, hdr("x-amz-checksum-crc32", "???"))
	wantError(t, resp, body, http.StatusBadRequest, "InvalidDigest")
	// A body that fails its signed SHA-256 stores nothing either.
	r := ts.request(t, http.MethodPut, partPath("mpb", "k", id, 1), data, nil)
	r.Body = io.NopCloser(bytes.NewReader([]byte("part dat!")))
	resp, body = send(t, r)
	wantError(t, resp, body, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
	if parts := ts.listParts(t, "mpb", "k", id, ""); len(parts.Parts) != 0 {
		t.Fatalf("refused uploads left parts: %+v", parts.Parts)
	}

	// Good digests pass, and the checksum is echoed.
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "k", id, 1), data, hdr("Content-MD5", contentMD5(data), "x-amz-checksum-crc32", checksumCRC32(data)))
	wantStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("X-Amz-Checksum-Crc32"); got != checksumCRC32(data) {
		t.Fatalf("echoed checksum %q", got)
	}
	for _, q := range []string{"max-parts=x", "max-parts=-1", "part-number-marker=y", "part-number-marker=-2"} {
		resp, body = ts.do(t, http.MethodGet, "/mpb/k?uploadId="+url.QueryEscape(id)+"&"+q, nil, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
	resp, body = ts.do(t, http.MethodPost, "/nobucket/k?uploads", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	resp, body = ts.do(t, http.MethodPost, "/mpb/k?uploads", nil, hdr("X-Amz-Storage-Class", "GLACIER"))
	wantError(t, resp, body, http.StatusBadRequest, "InvalidStorageClass")
}

func TestUploadPartCopy(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "mpb")
	ts.mustCreateBucket(t, "src")
	srcData := mpBytes(5*mib+100, 7)
	src := ts.mustPut(t, "src", "the source", srcData, object.PutOptions{})
	id := ts.createUpload(t, "mpb", "copied", nil)
	copyHdr := func(kv ...string) http.Header {
		return hdr(append([]string{"X-Amz-Copy-Source", "/src/the%20source"}, kv...)...)
	}

	// The source conditions are checked before anything is copied.
	for _, h := range []http.Header{
		copyHdr("X-Amz-Copy-Source-If-Match", `"0123"`),
		copyHdr("X-Amz-Copy-Source-If-None-Match", `"`+src.ETag+`"`),
		copyHdr("X-Amz-Copy-Source-If-Unmodified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"),
	} {
		resp, body := ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 1), nil, h)
		wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
	}
	size := len(srcData)
	for _, c := range []struct {
		rng    string
		status int
		code   string
	}{
		{fmt.Sprintf("bytes=0-%d", size), http.StatusRequestedRangeNotSatisfiable, "InvalidRange"},
		{fmt.Sprintf("bytes=%d-%d", size, size+10), http.StatusRequestedRangeNotSatisfiable, "InvalidRange"},
		{"bytes=5-", http.StatusBadRequest, "InvalidArgument"},
		{"bytes=-5", http.StatusBadRequest, "InvalidArgument"},
		{"bytes=9-3", http.StatusBadRequest, "InvalidArgument"},
		{"items=0-3", http.StatusBadRequest, "InvalidArgument"},
	} {
		resp, body := ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 2), nil, copyHdr("X-Amz-Copy-Source-Range", c.rng))
		wantError(t, resp, body, c.status, c.code)
	}
	resp, body := ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 1), nil, hdr("X-Amz-Copy-Source", "/src/missing"))
	doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
	if doc.Key != "missing" || doc.BucketName != "src" {
		t.Fatalf("missing source names %s/%s", doc.BucketName, doc.Key)
	}
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 1), nil, hdr("X-Amz-Copy-Source", "/nosrc/x"))
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")

	// Part 1: all of it (conditions that hold); part 2: a range.
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 1), nil, copyHdr("X-Amz-Copy-Source-If-Match", `"`+src.ETag+`"`))
	wantStatus(t, resp, body, http.StatusOK)
	var c1 s3xml.CopyPartResult
	decodeXML(t, body, &c1)
	if c1.ETag != `"`+md5Hex(srcData)+`"` || c1.LastModified == (s3xml.Time{}) {
		t.Fatalf("CopyPartResult %+v", c1)
	}
	resp, body = ts.do(t, http.MethodPut, partPath("mpb", "copied", id, 2), nil, copyHdr("X-Amz-Copy-Source-Range", "bytes=100-1123"))
	wantStatus(t, resp, body, http.StatusOK)
	var c2 s3xml.CopyPartResult
	decodeXML(t, body, &c2)
	if c2.ETag != `"`+md5Hex(srcData[100:1124])+`"` {
		t.Fatalf("range CopyPartResult %+v", c2)
	}
	resp, body = ts.do(t, http.MethodPost, "/mpb/copied?uploadId="+url.QueryEscape(id), completeDoc(t, 1, c1.ETag, 2, c2.ETag), nil)
	wantStatus(t, resp, body, http.StatusOK)
	got, _ := ts.layerBytes(t, "mpb", "copied")
	if !bytes.Equal(got, append(slices.Clone(srcData), srcData[100:1124]...)) {
		t.Fatalf("copied object: %d bytes", len(got))
	}
	// The source was read and released: it can be overwritten.
	ts.mustPut(t, "src", "the source", []byte("new"), object.PutOptions{})
}

func TestListMultipartUploads(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.mustCreateBucket(t, "mpb")
	type upload struct{ key, id string }
	var all []upload
	for _, k := range []string{"a/1", "a/2", "a/2", "b/x/1", "c", "sp ace", "a/3"} {
		all = append(all, upload{k, ts.createUpload(t, "mpb", k, nil)})
	}
	list := func(q url.Values) s3xml.ListMultipartUploadsResult {
		t.Helper()
		q.Set("uploads", "")
		resp, body := ts.do(t, http.MethodGet, "/mpb?"+q.Encode(), nil, nil)
		wantStatus(t, resp, body, http.StatusOK)
		var res s3xml.ListMultipartUploadsResult
		decodeXML(t, body, &res)
		return res
	}

	full := list(url.Values{})
	var got []upload
	for _, u := range full.Uploads {
		if u.Initiator == nil || u.Owner == nil || u.StorageClass != "STANDARD" || u.Initiated == (s3xml.Time{}) {
			t.Fatalf("upload %+v", u)
		}
		got = append(got, upload{u.Key, u.UploadID})
	}
	if full.IsTruncated || full.MaxUploads != 1000 || len(got) != len(all) {
		t.Fatalf("all uploads: %+v", full)
	}
	for _, u := range all {
		if !slices.Contains(got, u) {
			t.Fatalf("upload %v not listed in %v", u, got)
		}
	}
	if !slices.IsSortedFunc(got, func(a, b upload) int { return strings.Compare(a.key, b.key) }) {
		t.Fatalf("uploads not by key: %v", got)
	}

	// Page by page, one upload at a time: the same sequence.
	var paged []upload
	q := url.Values{"max-uploads": {"1"}}
	for page := 0; page <= len(all); page++ {
		res := list(q)
		if len(res.Uploads) != 1 || res.MaxUploads != 1 {
			t.Fatalf("page %d: %+v", page, res)
		}
		paged = append(paged, upload{res.Uploads[0].Key, res.Uploads[0].UploadID})
		if !res.IsTruncated {
			break
		}
		q = url.Values{"max-uploads": {"1"}, "key-marker": {res.NextKeyMarker}, "upload-id-marker": {res.NextUploadIDMarker}}
	}
	if !slices.Equal(paged, got) {
		t.Fatalf("paged %v\nwant %v", paged, got)
	}

	res := list(url.Values{"prefix": {"a/"}})
	if len(res.Uploads) != 4 || res.Prefix != "a/" {
		t.Fatalf("prefix a/: %+v", res)
	}
	res = list(url.Values{"delimiter": {"/"}})
	var keys, prefixes []string
	for _, u := range res.Uploads {
		keys = append(keys, u.Key)
	}
	for _, p := range res.CommonPrefixes {
		prefixes = append(prefixes, p.Prefix)
	}
	if !slices.Equal(keys, []string{"c", "sp ace"}) || !slices.Equal(prefixes, []string{"a/", "b/"}) || res.Delimiter != "/" {
		t.Fatalf("delimited: keys %v, prefixes %v", keys, prefixes)
	}
	res = list(url.Values{"encoding-type": {"url"}, "prefix": {"sp "}})
	if len(res.Uploads) != 1 || res.Uploads[0].Key != "sp%20ace" || res.Prefix != "sp%20" || res.EncodingType != "url" {
		t.Fatalf("encoded: %+v", res)
	}
	for _, q := range []string{"max-uploads=x", "max-uploads=-3", "encoding-type=zip"} {
		resp, body := ts.do(t, http.MethodGet, "/mpb?uploads&"+q, nil, nil)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
	resp, body := ts.do(t, http.MethodGet, "/nobucket?uploads", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
}
