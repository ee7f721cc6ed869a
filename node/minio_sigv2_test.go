package node

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestMinioClientSigV2 drives a node with minio-go configured for AWS
// Signature Version 2 (credentials.NewStaticV2), path style and virtual-host
// style: every request it sends is SigV2-signed, and every operation works
// as with SigV4, presigned URLs included.
func TestMinioClientSigV2(t *testing.T) {
	const domain = "s3.gridstore.test"
	n := startLocal(t, func(c *Config) { c.Domains = []string{domain} })
	c, rec := newMinio(t, n, minioOpts{sigV2: true})
	ctx := testCtx(t)
	const b = "sigv2-minio"

	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: clientRegion}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.BucketExists(ctx, b); err != nil || !ok {
		t.Fatalf("BucketExists = %v, %v", ok, err)
	}

	small := payload(21, 300<<10+5)
	info, err := c.PutObject(ctx, b, "dir/small one.bin", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{
		ContentType: "application/x-gridstore-test", UserMetadata: map[string]string{"Color": "blue"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag != md5Hex(small) {
		t.Fatalf("ETag %q, want %q", info.ETag, md5Hex(small))
	}
	st, err := c.StatObject(ctx, b, "dir/small one.bin", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(small)) || st.ContentType != "application/x-gridstore-test" || st.UserMetadata["Color"] != "blue" {
		t.Fatalf("StatObject: %+v, %v", st, err)
	}
	if got, err := minioGet(t, c, b, "dir/small one.bin", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}

	// Multipart: 5 MiB parts, so three uploads of 5, 5 and 1 MiB.
	big := payload(22, 11<<20)
	if _, err := c.PutObject(ctx, b, "big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	if parts := rec.find(http.MethodPut, "/"+b+"/big", "uploadId="); len(parts) != 3 {
		t.Fatalf("minio-go sent %d UploadPart requests, want 3", len(parts))
	}
	if got, err := minioGet(t, c, b, "big", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GetObject of the multipart object: %d bytes (sha256 %s), %v", len(got), sha256Hex(got), err)
	}

	var keys []string
	for oi := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		keys = append(keys, oi.Key)
	}
	if !slices.Equal(keys, []string{"big", "dir/small one.bin"}) {
		t.Fatalf("ListObjects = %q", keys)
	}

	// A presigned URL (PreSignV2 under these credentials), fetched by a
	// client that knows no key.
	u, err := c.PresignedGetObject(ctx, b, "dir/small one.bin", 10*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("AWSAccessKeyId") != testUser || q.Get("Signature") == "" || q.Has("X-Amz-Signature") {
		t.Fatalf("presigned URL is not SigV2: %s", u)
	}
	status, _, got := httpDo(t, newRecorder(t, nil, nil).client(), http.MethodGet, u.String(), nil, nil)
	if status != http.StatusOK || !bytes.Equal(got, small) {
		t.Fatalf("presigned GET: status %d, %d bytes", status, len(got))
	}

	// Virtual-host style: the bucket from the host, signed in the resource.
	_, port, _ := strings.Cut(n.Addr(), ":")
	vc, vrec := newMinio(t, n, minioOpts{sigV2: true, vhost: true, endpoint: domain + ":" + port, dial: dialTo(n.Addr())})
	if _, err := vc.PutObject(ctx, b, "vhost/key", bytes.NewReader(small[:1000]), 1000, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if put := vrec.last(t, http.MethodPut, "/vhost/key", ""); put.Host != b+"."+domain+":"+port {
		t.Fatalf("PutObject went to host %q, want virtual-host style", put.Host)
	}
	if got, err := minioGet(t, vc, b, "vhost/key", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, small[:1000]) {
		t.Fatalf("virtual-host GetObject: %d bytes, %v", len(got), err)
	}

	for _, k := range []string{"big", "dir/small one.bin", "vhost/key"} {
		if err := c.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatal(err)
	}

	// Every request was SigV2-signed, and none was refused.
	for _, r := range slices.Concat(rec.find("", "", ""), vrec.find("", "", "")) {
		if r.AuthScheme != "AWS" {
			t.Fatalf("%s %s was signed with %q, not SigV2", r.Method, r.Path, r.AuthScheme)
		}
		if r.Status >= 400 && !(r.Method == http.MethodHead && r.Status == http.StatusNotFound) {
			t.Fatalf("%s %s?%s answered %d", r.Method, r.Path, r.RawQuery, r.Status)
		}
	}

	// A wrong secret is refused as with SigV4.
	bad, _ := newMinio(t, n, minioOpts{sigV2: true, secret: "not-the-password"})
	_, err = bad.BucketExists(ctx, b)
	if err == nil {
		t.Fatal("BucketExists with a wrong secret succeeded")
	}
	_, err = bad.ListBuckets(ctx)
	wantMinioCode(t, "ListBuckets with a wrong secret", err, "SignatureDoesNotMatch")
}
