package node

// Real-client tests with github.com/minio/minio-go/v7 against a node
// started by startLocal: what a MinIO SDK user sees of gridstore's S3 API.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// minioOpts tunes newMinio.
type minioOpts struct {
	secret   string // "" is testPassword
	anon     bool
	vhost    bool // BucketLookupDNS instead of path style
	endpoint string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	trailing bool // Options.TrailingHeaders
	sigV2    bool // sign with AWS Signature Version 2 (credentials.NewStaticV2)
}

// newMinio returns a minio-go client for n over a recorder.
func newMinio(t testing.TB, n *testNode, o minioOpts) (*minio.Client, *recorder) {
	t.Helper()
	rec := newRecorder(t, o.dial, nil)
	secret := o.secret
	if secret == "" {
		secret = testPassword
	}
	creds := credentials.NewStaticV4(testUser, secret, "")
	if o.sigV2 {
		creds = credentials.NewStaticV2(testUser, secret, "")
	}
	if o.anon {
		creds = credentials.NewStaticV4("", "", "")
	}
	lookup := minio.BucketLookupPath
	if o.vhost {
		lookup = minio.BucketLookupDNS
	}
	endpoint := n.Addr()
	if o.endpoint != "" {
		endpoint = o.endpoint
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:           creds,
		Secure:          false,
		Region:          clientRegion,
		BucketLookup:    lookup,
		Transport:       rec,
		MaxRetries:      1,
		TrailingHeaders: o.trailing,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// minioCode is the S3 error code of err ("" if err is nil).
func minioCode(err error) string {
	if err == nil {
		return ""
	}
	return minio.ToErrorResponse(err).Code
}

// wantMinioCode fails the test unless err carries the S3 error code code.
func wantMinioCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := minioCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %s", what, got, err, code)
	}
}

// minioGet reads a whole object.
func minioGet(t testing.TB, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	t.Helper()
	obj, err := c.GetObject(testCtx(t), bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func TestMinioClient(t *testing.T) {
	n := startLocal(t, nil)
	c, rec := newMinio(t, n, minioOpts{})

	t.Run("BucketLifecycle", func(t *testing.T) {
		ctx := testCtx(t)
		const b = "minio-buckets"
		ok, err := c.BucketExists(ctx, b)
		if err != nil || ok {
			t.Fatalf("BucketExists before MakeBucket = %v, %v; want false, nil", ok, err)
		}
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: clientRegion}); err != nil {
			t.Fatal(err)
		}
		wantMinioCode(t, "MakeBucket again", c.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: clientRegion}), "BucketAlreadyOwnedByYou")
		if ok, err := c.BucketExists(ctx, b); err != nil || !ok {
			t.Fatalf("BucketExists = %v, %v; want true, nil", ok, err)
		}
		buckets, err := c.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(buckets, func(bi minio.BucketInfo) bool { return bi.Name == b && !bi.CreationDate.IsZero() }) {
			t.Fatalf("ListBuckets = %+v, want %s with a creation date", buckets, b)
		}
		loc, err := c.GetBucketLocation(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if loc != clientRegion {
			t.Fatalf("GetBucketLocation = %q, want %q", loc, clientRegion)
		}
		if _, err := c.PutObject(ctx, b, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		wantMinioCode(t, "RemoveBucket non-empty", c.RemoveBucket(ctx, b), "BucketNotEmpty")
		if err := c.RemoveObject(ctx, b, "x", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.BucketExists(ctx, b); err != nil || ok {
			t.Fatalf("BucketExists after RemoveBucket = %v, %v; want false, nil", ok, err)
		}
		wantMinioCode(t, "RemoveBucket missing", c.RemoveBucket(ctx, b), "NoSuchBucket")
		_, err = c.PutObject(ctx, b, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		wantMinioCode(t, "PutObject into a missing bucket", err, "NoSuchBucket")
		// (A HEAD has no body: minio-go cannot tell NoSuchBucket from
		// NoSuchKey there, so GET.)
		_, err = minioGet(t, c, b, "x", minio.GetObjectOptions{})
		wantMinioCode(t, "GetObject in a missing bucket", err, "NoSuchBucket")
		// (minio-go checks names itself; "gridstore" passes its rules but is
		// reserved by the node.)
		wantMinioCode(t, "MakeBucket reserved name", c.MakeBucket(ctx, "gridstore", minio.MakeBucketOptions{}), "InvalidBucketName")
	})

	const b = "minio-objects"
	if err := c.MakeBucket(testCtx(t), b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("ObjectLifecycleStreamingSignature", func(t *testing.T) {
		ctx := testCtx(t)
		data := payload(1, 300<<10+17)
		info, err := c.PutObject(ctx, b, "dir/obj one.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			ContentType:        "application/x-gridstore-test",
			ContentDisposition: `attachment; filename="one.bin"`,
			CacheControl:       "max-age=60",
			UserMetadata:       map[string]string{"Color": "blue", "x-amz-meta-shape": "round"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(data)) {
			t.Fatalf("PutObject size %d, want %d", info.Size, len(data))
		}
		// minio-go signs a known-size PUT over plain HTTP chunk by chunk.
		put := rec.last(t, http.MethodPut, "/"+b+"/dir/obj one.bin", "")
		if !strings.HasPrefix(put.ContentSHA256, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
			t.Fatalf("PutObject sent x-amz-content-sha256 %q, want STREAMING-AWS4-HMAC-SHA256-PAYLOAD", put.ContentSHA256)
		}
		if put.DecodedLength != fmt.Sprint(len(data)) {
			t.Fatalf("x-amz-decoded-content-length %q, want %d", put.DecodedLength, len(data))
		}
		if put.Status != http.StatusOK {
			t.Fatalf("PutObject status %d", put.Status)
		}

		st, err := c.StatObject(ctx, b, "dir/obj one.bin", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != int64(len(data)) || st.ContentType != "application/x-gridstore-test" || st.ETag != info.ETag {
			t.Fatalf("StatObject = size %d type %q etag %q; want %d, application/x-gridstore-test, %q", st.Size, st.ContentType, st.ETag, len(data), info.ETag)
		}
		md5sum := md5Hex(data)
		if st.ETag != md5sum {
			t.Fatalf("ETag %q, want the MD5 %q of a single-part object", st.ETag, md5sum)
		}
		if st.UserMetadata["Color"] != "blue" || st.UserMetadata["Shape"] != "round" {
			t.Fatalf("user metadata %v, want Color=blue Shape=round", st.UserMetadata)
		}
		if got := st.Metadata.Get("Content-Disposition"); got != `attachment; filename="one.bin"` {
			t.Fatalf("Content-Disposition %q", got)
		}
		if got := st.Metadata.Get("Cache-Control"); got != "max-age=60" {
			t.Fatalf("Cache-Control %q", got)
		}
		if time.Since(st.LastModified) > time.Minute || time.Until(st.LastModified) > time.Minute {
			t.Fatalf("LastModified %v is not now", st.LastModified)
		}
		got, err := minioGet(t, c, b, "dir/obj one.bin", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("GetObject returned %d bytes (sha256 %s), want %d (%s)", len(got), sha256Hex(got), len(data), sha256Hex(data))
		}
		// Overwrite with an empty object.
		if _, err := c.PutObject(ctx, b, "dir/obj one.bin", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if st, err := c.StatObject(ctx, b, "dir/obj one.bin", minio.StatObjectOptions{}); err != nil || st.Size != 0 || len(st.UserMetadata) != 0 {
			t.Fatalf("after overwrite: %+v, %v; want an empty object without metadata", st, err)
		}
		if err := c.RemoveObject(ctx, b, "dir/obj one.bin", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = c.StatObject(ctx, b, "dir/obj one.bin", minio.StatObjectOptions{})
		wantMinioCode(t, "StatObject removed", err, "NoSuchKey")
		_, err = minioGet(t, c, b, "dir/obj one.bin", minio.GetObjectOptions{})
		wantMinioCode(t, "GetObject removed", err, "NoSuchKey")
		// Removing a missing key succeeds (204).
		if err := c.RemoveObject(ctx, b, "dir/obj one.bin", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("RemoveObject of a missing key: %v", err)
		}
	})

	t.Run("ChecksumTrailers", func(t *testing.T) {
		// With TrailingHeaders and an explicit Checksum, minio-go sends an
		// aws-chunked body with the checksum as a trailer: unsigned chunks
		// with DisableContentSha256, signed chunks and a signed trailer
		// otherwise. (Without Checksum it sends no trailer: its own
		// x-amz-checksum-algorithm header suppresses it.)
		tc, trec := newMinio(t, n, minioOpts{trailing: true})
		for i, cs := range []struct {
			key, mode string
			opts      minio.PutObjectOptions
		}{
			{"trailer-unsigned-crc32c", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", minio.PutObjectOptions{DisableContentSha256: true, Checksum: minio.ChecksumCRC32C}},
			{"trailer-unsigned-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", minio.PutObjectOptions{DisableContentSha256: true, Checksum: minio.ChecksumSHA256}},
			{"trailer-signed-crc32", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", minio.PutObjectOptions{Checksum: minio.ChecksumCRC32}},
			{"trailer-signed-crc64nvme", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", minio.PutObjectOptions{Checksum: minio.ChecksumCRC64NVME}},
		} {
			t.Run(cs.key, func(t *testing.T) {
				data := payload(uint64(20+i), 150<<10+i)
				_, err := tc.PutObject(testCtx(t), b, cs.key, bytes.NewReader(data), int64(len(data)), cs.opts)
				put := trec.last(t, http.MethodPut, "/"+cs.key, "")
				if put.ContentSHA256 != cs.mode || !strings.HasPrefix(strings.ToLower(put.Trailer), "x-amz-checksum-") {
					t.Errorf("PutObject sent x-amz-content-sha256 %q, x-amz-trailer %q; want %s with a checksum trailer", put.ContentSHA256, put.Trailer, cs.mode)
				}
				if err != nil {
					t.Fatalf("PutObject: %v (sent %+v)", err, put)
				}
				got, err := minioGet(t, c, b, cs.key, minio.GetObjectOptions{})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("GetObject = %d bytes, %v; want the %d bytes put", len(got), err, len(data))
				}
			})
		}
		// Multipart with a checksum: parts with trailers, the completion
		// with the parts' checksums.
		t.Run("multipart-crc32c", func(t *testing.T) {
			data := payload(30, 6<<20+1)
			info, err := tc.PutObject(testCtx(t), b, "trailer-multipart", bytes.NewReader(data), int64(len(data)),
				minio.PutObjectOptions{PartSize: 5 << 20, Checksum: minio.ChecksumCRC32C})
			parts := trec.find(http.MethodPut, "/trailer-multipart", "uploadId=")
			if len(parts) != 2 {
				t.Errorf("%d UploadPart requests, want 2", len(parts))
			}
			if err != nil {
				for _, w := range trec.find("", "/trailer-multipart", "") {
					t.Logf("sent %+v", w)
				}
				t.Fatalf("PutObject: %v", err)
			}
			if !strings.HasSuffix(info.ETag, "-2") {
				t.Fatalf("ETag %q, want a -2 suffix", info.ETag)
			}
			got, err := minioGet(t, c, b, "trailer-multipart", minio.GetObjectOptions{})
			if err != nil || sha256Hex(got) != sha256Hex(data) {
				t.Fatalf("GetObject = %d bytes, %v; want the %d bytes put", len(got), err, len(data))
			}
		})
	})

	data := payload(4, 1000)
	if _, err := c.PutObject(testCtx(t), b, "ranged", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("Ranges", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			start, end int64 // SetRange's arguments
			want       []byte
		}{
			{"first-byte", 0, 0, data[:1]},
			{"middle", 100, 199, data[100:200]},
			{"from-offset", 990, 0, data[990:]},
			{"suffix", 0, -7, data[993:]},
			{"end-past-size", 900, 5000, data[900:]},
			{"whole", 0, 999, data},
		} {
			var o minio.GetObjectOptions
			if err := o.SetRange(tc.start, tc.end); err != nil {
				t.Fatal(err)
			}
			got, err := minioGet(t, c, b, "ranged", o)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("%s (Range %s): got %d bytes, want %d", tc.name, o.Header().Get("Range"), len(got), len(tc.want))
			}
		}
		// Object.ReadAt and Seek issue ranged GETs too.
		obj, err := c.GetObject(testCtx(t), b, "ranged", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		buf := make([]byte, 10)
		if _, err := obj.ReadAt(buf, 500); err != nil || !bytes.Equal(buf, data[500:510]) {
			t.Fatalf("ReadAt(500) = %x, %v; want %x", buf, err, data[500:510])
		}
		var o minio.GetObjectOptions
		_ = o.SetRange(1000, 1100)
		_, err = minioGet(t, c, b, "ranged", o)
		wantMinioCode(t, "range past the end", err, "InvalidRange")
	})

	t.Run("Conditionals", func(t *testing.T) {
		st, err := c.StatObject(testCtx(t), b, "ranged", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before, after := st.LastModified.Add(-time.Hour), st.LastModified.Add(time.Hour)
		for _, tc := range []struct {
			name   string
			set    func(o *minio.GetObjectOptions) error
			status int
		}{
			{"if-match", func(o *minio.GetObjectOptions) error { return o.SetMatchETag(st.ETag) }, 200},
			{"if-match-other", func(o *minio.GetObjectOptions) error { return o.SetMatchETag("0123456789abcdef0123456789abcdef") }, 412},
			{"if-none-match", func(o *minio.GetObjectOptions) error { return o.SetMatchETagExcept(st.ETag) }, 304},
			{"if-none-match-other", func(o *minio.GetObjectOptions) error { return o.SetMatchETagExcept("0123456789abcdef0123456789abcdef") }, 200},
			{"if-modified-since-before", func(o *minio.GetObjectOptions) error { return o.SetModified(before) }, 200},
			{"if-modified-since-after", func(o *minio.GetObjectOptions) error { return o.SetModified(after) }, 304},
			{"if-unmodified-since-after", func(o *minio.GetObjectOptions) error { return o.SetUnmodified(after) }, 200},
			{"if-unmodified-since-before", func(o *minio.GetObjectOptions) error { return o.SetUnmodified(before) }, 412},
			// RFC 9110: If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since.
			{"if-match-and-unmodified-before", func(o *minio.GetObjectOptions) error {
				_ = o.SetUnmodified(before)
				return o.SetMatchETag(st.ETag)
			}, 200},
			{"if-none-match-other-and-modified-after", func(o *minio.GetObjectOptions) error {
				_ = o.SetModified(after)
				return o.SetMatchETagExcept("0123456789abcdef0123456789abcdef")
			}, 200},
		} {
			var o minio.GetObjectOptions
			if err := tc.set(&o); err != nil {
				t.Fatal(err)
			}
			// StatObject (HEAD) and GetObject (GET) must agree.
			_, herr := c.StatObject(testCtx(t), b, "ranged", o)
			got, gerr := minioGet(t, c, b, "ranged", o)
			for _, e := range []struct {
				method string
				err    error
			}{{"HEAD", herr}, {"GET", gerr}} {
				status := 200
				if e.err != nil {
					status = minio.ToErrorResponse(e.err).StatusCode
				}
				if status != tc.status {
					t.Errorf("%s %s: status %d (%v), want %d", tc.name, e.method, status, e.err, tc.status)
				}
			}
			if tc.status == 200 && gerr == nil && !bytes.Equal(got, data) {
				t.Errorf("%s: GET body differs", tc.name)
			}
			if tc.status == 412 && gerr != nil && minioCode(gerr) != "PreconditionFailed" {
				t.Errorf("%s: GET code %q, want PreconditionFailed", tc.name, minioCode(gerr))
			}
		}
	})

	t.Run("Presigned", func(t *testing.T) {
		ctx := testCtx(t)
		hc := newRecorder(t, nil, nil).client()
		u, err := c.PresignedGetObject(ctx, b, "ranged", 5*time.Minute, url.Values{"response-content-type": {"text/x-presigned"}})
		if err != nil {
			t.Fatal(err)
		}
		status, hdr, body := httpDo(t, hc, http.MethodGet, u.String(), nil, nil)
		if status != 200 || !bytes.Equal(body, data) || hdr.Get("Content-Type") != "text/x-presigned" {
			t.Fatalf("presigned GET: %d, %d bytes, Content-Type %q; want 200, the object, text/x-presigned", status, len(body), hdr.Get("Content-Type"))
		}
		// A tampered signature is refused.
		bad := *u
		q := bad.Query()
		sig := q.Get("X-Amz-Signature")
		q.Set("X-Amz-Signature", strings.Repeat("0", len(sig)))
		bad.RawQuery = q.Encode()
		status, _, body = httpDo(t, hc, http.MethodGet, bad.String(), nil, nil)
		if status != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
			t.Fatalf("tampered presigned GET: %d %s; want 403 SignatureDoesNotMatch", status, body)
		}

		pu, err := c.PresignedPutObject(ctx, b, "presigned-put", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		up := payload(5, 70000)
		status, _, body = httpDo(t, hc, http.MethodPut, pu.String(), nil, up)
		if status != 200 {
			t.Fatalf("presigned PUT: %d %s", status, body)
		}
		got, err := minioGet(t, c, b, "presigned-put", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, up) {
			t.Fatalf("object put by presigned URL: %d bytes, %v; want %d bytes", len(got), err, len(up))
		}
		// The URL is for PUT of that key only.
		status, _, _ = httpDo(t, hc, http.MethodGet, pu.String(), nil, nil)
		if status != http.StatusForbidden {
			t.Fatalf("GET with a presigned PUT URL: %d, want 403", status)
		}
	})

	t.Run("Multipart11MiB", func(t *testing.T) {
		ctx := testCtx(t)
		big := payload(6, 11<<20)
		info, err := c.PutObject(ctx, b, "big/eleven", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{
			PartSize: 5 << 20, ContentType: "application/x-big", UserMetadata: map[string]string{"Kind": "multipart"},
		})
		if err != nil {
			t.Fatal(err)
		}
		parts := rec.find(http.MethodPut, "/big/eleven", "uploadId=")
		if len(parts) != 3 {
			t.Fatalf("minio-go sent %d UploadPart requests, want 3 (5+5+1 MiB)", len(parts))
		}
		for _, p := range parts {
			if p.Status != 200 {
				t.Fatalf("UploadPart status %d", p.Status)
			}
			if !strings.HasPrefix(p.ContentSHA256, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
				t.Fatalf("UploadPart x-amz-content-sha256 %q, want streaming", p.ContentSHA256)
			}
		}
		if len(rec.find(http.MethodPost, "/big/eleven", "uploadId=")) != 1 {
			t.Fatal("no CompleteMultipartUpload was sent")
		}
		if !strings.HasSuffix(info.ETag, "-3") {
			t.Fatalf("multipart ETag %q, want a -3 suffix", info.ETag)
		}
		st, err := c.StatObject(ctx, b, "big/eleven", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != int64(len(big)) || st.ETag != info.ETag || st.ContentType != "application/x-big" || st.UserMetadata["Kind"] != "multipart" {
			t.Fatalf("StatObject = %d %q %q %v", st.Size, st.ETag, st.ContentType, st.UserMetadata)
		}
		obj, err := c.GetObject(ctx, b, "big/eleven", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		nr, err := io.Copy(h, obj)
		obj.Close()
		if err != nil || nr != int64(len(big)) || hex.EncodeToString(h.Sum(nil)) != sha256Hex(big) {
			t.Fatalf("GetObject: %d bytes, %v, sha256 %x; want %d bytes, %s", nr, err, h.Sum(nil), len(big), sha256Hex(big))
		}
		// A range across the part boundary.
		var o minio.GetObjectOptions
		_ = o.SetRange(5<<20-10, 5<<20+9)
		got, err := minioGet(t, c, b, "big/eleven", o)
		if err != nil || !bytes.Equal(got, big[5<<20-10:5<<20+10]) {
			t.Fatalf("range across parts: %d bytes, %v", len(got), err)
		}
		// Part 2 alone (partNumber).
		var po minio.GetObjectOptions
		po.PartNumber = 2
		got, err = minioGet(t, c, b, "big/eleven", po)
		if err != nil || !bytes.Equal(got, big[5<<20:10<<20]) {
			t.Fatalf("partNumber=2: %d bytes, %v; want bytes 5-10 MiB", len(got), err)
		}
		// StatObject of a part (minio-go drops x-amz-mp-parts-count from
		// Metadata: TestAWSSDKClient checks it).
		var so minio.StatObjectOptions
		so.PartNumber = 1
		if pst, err := c.StatObject(ctx, b, "big/eleven", so); err != nil || pst.Size != 5<<20 {
			t.Fatalf("StatObject partNumber=1: size %d, %v; want 5 MiB", pst.Size, err)
		}
		// An upload of unknown size is buffered part by part.
		six := big[:6<<20]
		if _, err := c.PutObject(ctx, b, "big/unknown-size", io.MultiReader(bytes.NewReader(six)), -1, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
			t.Fatalf("PutObject of unknown size: %v", err)
		}
		if len(rec.find(http.MethodPut, "/big/unknown-size", "partNumber=2")) != 1 {
			t.Fatal("the unknown-size upload did not send part 2")
		}
		if st, err := c.StatObject(ctx, b, "big/unknown-size", minio.StatObjectOptions{}); err != nil || st.Size != int64(len(six)) || !strings.HasSuffix(st.ETag, "-2") {
			t.Fatalf("unknown-size object: %d bytes, ETag %q, %v", st.Size, st.ETag, err)
		}
		if got, err := minioGet(t, c, b, "big/unknown-size", minio.GetObjectOptions{}); err != nil || sha256Hex(got) != sha256Hex(six) {
			t.Fatalf("unknown-size object content: %d bytes, %v", len(got), err)
		}
		if err := c.RemoveObject(ctx, b, "big/unknown-size", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		// No upload is left behind.
		for u := range c.ListIncompleteUploads(ctx, b, "", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			t.Fatalf("upload left behind: %+v", u)
		}
		if err := c.RemoveObject(ctx, b, "big/eleven", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CopyObject", func(t *testing.T) {
		ctx := testCtx(t)
		src := payload(7, 4096)
		if _, err := c.PutObject(ctx, b, "copy/src", bytes.NewReader(src), int64(len(src)), minio.PutObjectOptions{
			ContentType: "text/x-src", UserMetadata: map[string]string{"Origin": "src"},
		}); err != nil {
			t.Fatal(err)
		}
		// COPY directive: metadata follows the object.
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/same"}, minio.CopySrcOptions{Bucket: b, Object: "copy/src"}); err != nil {
			t.Fatal(err)
		}
		st, err := c.StatObject(ctx, b, "copy/same", minio.StatObjectOptions{})
		if err != nil || st.ContentType != "text/x-src" || st.UserMetadata["Origin"] != "src" || st.Size != int64(len(src)) {
			t.Fatalf("copy (COPY): %+v, %v", st, err)
		}
		// REPLACE directive.
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{
			Bucket: b, Object: "copy/replaced", ReplaceMetadata: true,
			UserMetadata: map[string]string{"Origin": "replaced", "Extra": "yes"},
		}, minio.CopySrcOptions{Bucket: b, Object: "copy/src"}); err != nil {
			t.Fatal(err)
		}
		st, err = c.StatObject(ctx, b, "copy/replaced", minio.StatObjectOptions{})
		if err != nil || st.UserMetadata["Origin"] != "replaced" || st.UserMetadata["Extra"] != "yes" {
			t.Fatalf("copy (REPLACE): %+v, %v", st.UserMetadata, err)
		}
		got, err := minioGet(t, c, b, "copy/replaced", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("copied content: %d bytes, %v", len(got), err)
		}
		// Copy-source conditions.
		_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/cond"}, minio.CopySrcOptions{Bucket: b, Object: "copy/src", MatchETag: "0123456789abcdef0123456789abcdef"})
		wantMinioCode(t, "CopyObject with a failing x-amz-copy-source-if-match", err, "PreconditionFailed")
		_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/x"}, minio.CopySrcOptions{Bucket: b, Object: "copy/missing"})
		wantMinioCode(t, "CopyObject of a missing source", err, "NoSuchKey")
		// ComposeObject: server-side multipart from UploadPartCopy with ranges
		// (every part but the last must be 5 MiB+, so one 6 MiB source twice).
		six := payload(8, 6<<20)
		if _, err := c.PutObject(ctx, b, "copy/six", bytes.NewReader(six), int64(len(six)), minio.PutObjectOptions{PartSize: 64 << 20}); err != nil {
			t.Fatal(err)
		}
		_, err = c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/composed"},
			minio.CopySrcOptions{Bucket: b, Object: "copy/six"},
			minio.CopySrcOptions{Bucket: b, Object: "copy/src", MatchRange: true, Start: 10, End: 19})
		if err != nil {
			t.Fatal(err)
		}
		got, err = minioGet(t, c, b, "copy/composed", minio.GetObjectOptions{})
		want := append(slices.Clone(six), src[10:20]...)
		if err != nil || sha256Hex(got) != sha256Hex(want) {
			t.Fatalf("composed object: %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
		for _, k := range []string{"copy/six", "copy/composed"} {
			if err := c.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("ListObjects", func(t *testing.T) {
		ctx := testCtx(t)
		const lb = "minio-list"
		if err := c.MakeBucket(ctx, lb, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		keys := []string{"a", "b/1", "b/2", "b/c/3", "d e", "f/g/h", "z"}
		for _, k := range keys {
			if _, err := c.PutObject(ctx, lb, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		list := func(o minio.ListObjectsOptions) []string {
			var out []string
			for oi := range c.ListObjects(ctx, lb, o) {
				if oi.Err != nil {
					t.Fatalf("ListObjects(%+v): %v", o, oi.Err)
				}
				out = append(out, oi.Key)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			o    minio.ListObjectsOptions
			want []string
		}{
			{"recursive", minio.ListObjectsOptions{Recursive: true}, keys},
			{"recursive-paged", minio.ListObjectsOptions{Recursive: true, MaxKeys: 2}, keys},
			{"delimited", minio.ListObjectsOptions{}, []string{"a", "b/", "d e", "f/", "z"}},
			{"delimited-prefix", minio.ListObjectsOptions{Prefix: "b/"}, []string{"b/1", "b/2", "b/c/"}},
			{"recursive-prefix", minio.ListObjectsOptions{Prefix: "b/", Recursive: true}, []string{"b/1", "b/2", "b/c/3"}},
			{"start-after", minio.ListObjectsOptions{Recursive: true, StartAfter: "b/2"}, []string{"b/c/3", "d e", "f/g/h", "z"}},
			{"v1-recursive-paged", minio.ListObjectsOptions{Recursive: true, UseV1: true, MaxKeys: 3}, keys},
			{"v1-delimited", minio.ListObjectsOptions{UseV1: true}, []string{"a", "b/", "d e", "f/", "z"}},
			{"versions-recursive-paged", minio.ListObjectsOptions{Recursive: true, WithVersions: true, MaxKeys: 2}, keys},
			{"versions-delimited-prefix", minio.ListObjectsOptions{Prefix: "b/", WithVersions: true}, []string{"b/1", "b/2", "b/c/"}},
		} {
			// minio-go hands out a page's objects, then its common
			// prefixes: compare delimited listings as sets.
			got := list(tc.o)
			if !tc.o.Recursive {
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			}
		}
		// Each object is its one version, null and the latest.
		for oi := range c.ListObjects(ctx, lb, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if oi.Err != nil || oi.VersionID != "null" || !oi.IsLatest || oi.IsDeleteMarker || oi.ETag != md5Hex([]byte(oi.Key)) {
				t.Fatalf("listed version %+v", oi)
			}
		}
		// Sizes and ETags in the listing.
		for oi := range c.ListObjects(ctx, lb, minio.ListObjectsOptions{Prefix: "b/1", Recursive: true}) {
			if oi.Err != nil || oi.Size != 3 || oi.ETag != md5Hex([]byte("b/1")) {
				t.Fatalf("listed %+v", oi)
			}
		}

		t.Run("RemoveObjects", func(t *testing.T) {
			ch := make(chan minio.ObjectInfo, len(keys)+1)
			for _, k := range keys {
				ch <- minio.ObjectInfo{Key: k}
			}
			ch <- minio.ObjectInfo{Key: "never-existed"}
			close(ch)
			for e := range c.RemoveObjects(ctx, lb, ch, minio.RemoveObjectsOptions{}) {
				t.Errorf("RemoveObjects: %s: %v", e.ObjectName, e.Err)
			}
			if got := list(minio.ListObjectsOptions{Recursive: true}); len(got) != 0 {
				t.Fatalf("after RemoveObjects: %q left", got)
			}
			if err := c.RemoveBucket(ctx, lb); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("ConcurrentOverwrites", func(t *testing.T) {
		// Writers racing on one key: every PUT succeeds and the object is
		// exactly one of them, never a mix.
		const writers = 4
		datas := make([][]byte, writers)
		errs := make(chan error, writers)
		for i := range writers {
			datas[i] = payload(uint64(40+i), 256<<10)
			go func() {
				_, err := c.PutObject(testCtx(t), b, "contended", bytes.NewReader(datas[i]), int64(len(datas[i])), minio.PutObjectOptions{})
				errs <- err
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				// SlowDown is the documented answer to a lock not taken in time.
				if minioCode(err) != "SlowDown" {
					t.Errorf("concurrent PutObject: %v", err)
				}
			}
		}
		got, err := minioGet(t, c, b, "contended", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(datas, func(d []byte) bool { return bytes.Equal(d, got) }) {
			t.Fatalf("after concurrent PUTs the object (%d bytes, sha256 %s) is none of the writers'", len(got), sha256Hex(got))
		}
	})

	t.Run("Errors", func(t *testing.T) {
		ctx := testCtx(t)
		wrong, _ := newMinio(t, n, minioOpts{secret: "not-the-password"})
		_, err := wrong.ListBuckets(ctx)
		wantMinioCode(t, "ListBuckets with a wrong secret", err, "SignatureDoesNotMatch")
		_, err = wrong.PutObject(ctx, b, "nope", strings.NewReader("nope"), 4, minio.PutObjectOptions{})
		wantMinioCode(t, "PutObject with a wrong secret", err, "SignatureDoesNotMatch")
		if _, err := c.StatObject(ctx, b, "nope", minio.StatObjectOptions{}); minioCode(err) != "NoSuchKey" {
			t.Fatalf("a PutObject with a wrong secret stored something: %v", err)
		}

		anon, _ := newMinio(t, n, minioOpts{anon: true})
		_, err = anon.ListBuckets(ctx)
		wantMinioCode(t, "anonymous ListBuckets", err, "AccessDenied")
		_, err = minioGet(t, anon, b, "ranged", minio.GetObjectOptions{})
		wantMinioCode(t, "anonymous GetObject", err, "AccessDenied")
		_, err = anon.PutObject(ctx, b, "anon", strings.NewReader("anon"), 4, minio.PutObjectOptions{})
		wantMinioCode(t, "anonymous PutObject", err, "AccessDenied")

		_, err = c.GetObjectTagging(ctx, b, "ranged", minio.GetObjectTaggingOptions{})
		wantMinioCode(t, "GetObjectTagging", err, "NotImplemented")
		// Never versioned: an empty configuration, and it cannot be turned on.
		if vc, err := c.GetBucketVersioning(ctx, b); err != nil || vc.Status != "" || vc.Enabled() {
			t.Fatalf("GetBucketVersioning = %+v, %v; want an empty configuration", vc, err)
		}
		err = c.EnableVersioning(ctx, b)
		wantMinioCode(t, "EnableVersioning", err, "NotImplemented")
		err = c.SetBucketPolicy(ctx, b, `{"Version":"2012-10-17","Statement":[]}`)
		wantMinioCode(t, "SetBucketPolicy", err, "NotImplemented")
		_, err = c.GetBucketPolicy(ctx, b)
		// minio-go maps a missing policy to "", nil; NotImplemented must come through.
		wantMinioCode(t, "GetBucketPolicy", err, "NotImplemented")
		_, err = c.StatObject(ctx, b, "ranged", minio.StatObjectOptions{VersionID: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"})
		if e := minio.ToErrorResponse(err); e.StatusCode != http.StatusNotFound {
			t.Fatalf("StatObject of a versionId: %v, want 404 NoSuchVersion", err)
		}
	})
}

// TestMinioVirtualHost drives a node configured with Domains through
// minio-go's DNS bucket lookup (bucket.<domain>:port), every host dialled to
// the node.
func TestMinioVirtualHost(t *testing.T) {
	const domain = "s3.gridstore.test"
	n := startLocal(t, func(c *Config) { c.Domains = []string{domain} })
	_, port, _ := strings.Cut(n.Addr(), ":")
	c, rec := newMinio(t, n, minioOpts{vhost: true, endpoint: domain + ":" + port, dial: dialTo(n.Addr())})
	ctx := testCtx(t)
	const b = "vhost-minio"
	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := payload(9, 12345)
	if _, err := c.PutObject(ctx, b, "k/ey", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{UserMetadata: map[string]string{"V": "host"}}); err != nil {
		t.Fatal(err)
	}
	put := rec.last(t, http.MethodPut, "/k/ey", "")
	if put.Host != b+"."+domain+":"+port || put.Path != "/k/ey" {
		t.Fatalf("PutObject went to host %q path %q; want virtual-host style %s.%s", put.Host, put.Path, b, domain)
	}
	got, err := minioGet(t, c, b, "k/ey", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}
	var keys []string
	for oi := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		keys = append(keys, oi.Key)
	}
	if !slices.Equal(keys, []string{"k/ey"}) {
		t.Fatalf("ListObjects = %q", keys)
	}
	// The same object, path style on the bare domain.
	pc, _ := newMinio(t, n, minioOpts{endpoint: domain + ":" + port, dial: dialTo(n.Addr())})
	st, err := pc.StatObject(ctx, b, "k/ey", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(data)) || st.UserMetadata["V"] != "host" {
		t.Fatalf("path-style StatObject: %+v, %v", st, err)
	}
	if err := c.RemoveObject(ctx, b, "k/ey", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
}
