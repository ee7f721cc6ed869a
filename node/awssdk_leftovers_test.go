package node

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gridstore/gridstore/node/object/objecttest/ondisk"
)

// TestAWSSDKNothingLeftBehind (issue 10, 3): multipart uploads with a part
// sent twice and a part left out, a copy of one and a single-part object,
// each overwritten and then deleted, leave the bucket's folder empty on
// every drive, and DeleteBucket succeeds.
func TestAWSSDKNothingLeftBehind(t *testing.T) {
	var roots []string
	n := startLocal(t, func(cfg *Config) {
		dir := filepath.Dir(cfg.Endpoints[0])
		for i := range 4 {
			roots = append(roots, filepath.Join(dir, fmt.Sprintf("data%d", i+1)))
		}
	})
	c, _ := newAWS(t, n, awsOpts{})
	ctx := testCtx(t)
	const b = "aws-leftovers"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	complete := func(key string, id *string, parts []types.CompletedPart) {
		t.Helper()
		if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatalf("CompleteMultipartUpload %s: %v", key, err)
		}
	}
	for round := range 2 { // the second round overwrites the first
		seed := uint64(100 * round)
		// Part 2 sent twice: the second one is the part.
		id, parts := awsMultipart(t, c, b, "resent", [][]byte{payload(seed+1, 5<<20), payload(seed+2, 2<<20)}, 1, 2)
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("resent"), UploadId: id,
			PartNumber: aws.Int32(2), Body: bytes.NewReader(payload(seed+3, 1<<20))})
		if err != nil {
			t.Fatal(err)
		}
		parts[1].ETag = up.ETag
		complete("resent", id, parts)
		// Part 2 uploaded, left out.
		id, parts = awsMultipart(t, c, b, "dir/unused", [][]byte{payload(seed+4, 5<<20), payload(seed+5, 1<<20), payload(seed+6, 10)}, 1, 3)
		complete("dir/unused", id, parts)
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copied"), CopySource: aws.String(b + "/resent")}); err != nil {
			t.Fatal(err)
		}
		awsPut(t, c, b, "single", payload(seed+7, 300<<10))
		awsPut(t, c, b, "inline", payload(seed+8, 100))
	}
	if len(ondisk.LeftoversUnder(t, roots, b)) == 0 {
		t.Fatal("LeftoversUnder finds nothing of the objects written")
	}
	for _, key := range []string{"resent", "dir/unused", "copied", "single", "inline"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	ondisk.RequireBucketEmpty(t, roots, b)
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
}
