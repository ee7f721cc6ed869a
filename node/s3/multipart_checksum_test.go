package s3

import (
	"crypto/md5"
	"hash/crc32"
	"net/http"
	"net/url"
	"testing"
)

// x-amz-checksum-* headers of a CompleteMultipartUpload are the checksum of
// the whole object (minio-go with a Checksum sends the object's CRC32C with
// x-amz-checksum-type FULL_OBJECT), not of the request's XML body. The node
// once checked them against the body and answered BadDigest, so every such
// upload failed at its completion.
func TestCompleteMultipartObjectChecksumHeader(t *testing.T) {
	ts := newObjectServer(t)
	const key = "full-object-checksum"
	p1, p2 := mpBytes(5*mib, 1), mpBytes(1000, 2)
	id := ts.createUpload(t, testBucket, key, hdr("X-Amz-Checksum-Algorithm", "CRC32C", "X-Amz-Checksum-Type", "FULL_OBJECT"))
	e1 := ts.uploadPartOK(t, testBucket, key, id, 1, p1)
	e2 := ts.uploadPartOK(t, testBucket, key, id, 2, p2)
	crc := crc32.Update(crc32.Checksum(p1, crc32.MakeTable(crc32.Castagnoli)), crc32.MakeTable(crc32.Castagnoli), p2)
	full := b64([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	doc := completeDoc(t, 1, e1, 2, e2)
	path := "/" + testBucket + "/" + key + "?uploadId=" + url.QueryEscape(id)

	// Content-MD5 does cover the body: a wrong one still fails.
	resp, body := ts.do(t, http.MethodPost, path, doc, hdr("X-Amz-Checksum-Crc32c", full, "X-Amz-Checksum-Type", "FULL_OBJECT",
		"Content-Md5", b64(make([]byte, md5.Size))))
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")

	sum := md5.Sum(doc)
	resp, body = ts.do(t, http.MethodPost, path, doc, hdr("X-Amz-Checksum-Crc32c", full, "X-Amz-Checksum-Type", "FULL_OBJECT",
		"Content-Md5", b64(sum[:])))
	wantStatus(t, resp, body, http.StatusOK)
	ts.mustGetHTTP(t, "/"+testBucket+"/"+key, append(append([]byte{}, p1...), p2...))
}
