package node

// Conditional writes and retried Completes, as an aws-sdk-go-v2 user sees
// them (issue 10).

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// awsMultipart uploads parts (bodies numbered from 1; a nil body is not
// uploaded) and returns the completed-part entries of those listed in use.
func awsMultipart(t *testing.T, c *s3.Client, bucket, key string, bodies [][]byte, use ...int) (*string, []types.CompletedPart) {
	t.Helper()
	ctx := testCtx(t)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	etags := map[int]*string{}
	for i, b := range bodies {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		etags[i+1] = up.ETag
	}
	var parts []types.CompletedPart
	for _, n := range use {
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(n)), ETag: etags[n]})
	}
	return cr.UploadId, parts
}

func TestAWSSDKConditionalWrites(t *testing.T) {
	n := startLocal(t, nil)
	c, _ := newAWS(t, n, awsOpts{})
	ctx := testCtx(t)
	const b = "aws-conditional"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte, ifNoneMatch, ifMatch *string) (*s3.PutObjectOutput, error) {
		return c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(data),
			IfNoneMatch: ifNoneMatch, IfMatch: ifMatch})
	}

	t.Run("PutObject", func(t *testing.T) {
		first := payload(1, 200<<10)
		out, err := put("k", first, aws.String("*"), nil)
		if err != nil {
			t.Fatalf("If-None-Match * on a new key: %v", err)
		}
		_, err = put("k", payload(2, 10), aws.String("*"), nil)
		wantAWSCode(t, "If-None-Match * on an existing key", err, "PreconditionFailed", 412)
		_, err = put("k", payload(2, 10), nil, aws.String(quoted(md5Hex(payload(2, 10)))))
		wantAWSCode(t, "If-Match another ETag", err, "PreconditionFailed", 412)
		_, err = put("absent", payload(2, 10), nil, out.ETag)
		wantAWSCode(t, "If-Match on an absent key", err, "NoSuchKey", 404)
		if got := awsMustGet(t, c, b, "k"); !bytes.Equal(got, first) {
			t.Fatal("a failed conditional PutObject changed the object")
		}
		second := payload(3, 10)
		if _, err := put("k", second, nil, out.ETag); err != nil {
			t.Fatalf("If-Match the current ETag: %v", err)
		}
		if got := awsMustGet(t, c, b, "k"); !bytes.Equal(got, second) {
			t.Fatal("the PutObject with a matching If-Match did not replace the object")
		}
	})

	t.Run("PutObjectRace", func(t *testing.T) {
		const writers, rounds = 16, 5
		for round := range rounds {
			key := fmt.Sprintf("race-%d", round)
			size := []int{1 << 10, 300 << 10}[round%2]
			datas := make([][]byte, writers)
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				datas[w] = payload(uint64(1000*round+w), size)
				wg.Go(func() { _, errs[w] = put(key, datas[w], aws.String("*"), nil) })
			}
			wg.Wait()
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("round %d: writers %d and %d both got 200", round, winner, w)
				case err == nil:
					winner = w
				default:
					wantAWSCode(t, fmt.Sprintf("round %d writer %d", round, w), err, "PreconditionFailed", 412)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no writer got 200", round)
			}
			if got := awsMustGet(t, c, b, key); !bytes.Equal(got, datas[winner]) {
				t.Fatalf("round %d: the object is not the winner's", round)
			}
		}
	})

	t.Run("CopyObject", func(t *testing.T) {
		src := payload(4, 1000)
		awsPut(t, c, b, "copy-src", src)
		dst := awsPut(t, c, b, "copy-dst", payload(5, 1000))
		copyTo := func(key string, ifNoneMatch, ifMatch *string) error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(key), CopySource: aws.String(b + "/copy-src"),
				IfNoneMatch: ifNoneMatch, IfMatch: ifMatch})
			return err
		}
		wantAWSCode(t, "CopyObject If-None-Match * onto an existing key", copyTo("copy-dst", aws.String("*"), nil), "PreconditionFailed", 412)
		wantAWSCode(t, "CopyObject If-Match onto an absent key", copyTo("copy-absent", nil, dst.ETag), "NoSuchKey", 404)
		if err := copyTo("copy-dst", nil, dst.ETag); err != nil {
			t.Fatalf("CopyObject If-Match the destination's ETag: %v", err)
		}
		if err := copyTo("copy-new", aws.String("*"), nil); err != nil {
			t.Fatalf("CopyObject If-None-Match * onto a new key: %v", err)
		}
		for _, key := range []string{"copy-dst", "copy-new"} {
			if got := awsMustGet(t, c, b, key); !bytes.Equal(got, src) {
				t.Fatalf("%s is not the copy", key)
			}
		}
	})

	t.Run("CompleteMultipartUpload", func(t *testing.T) {
		bodies := [][]byte{payload(6, 5<<20), payload(7, 1000)}
		awsPut(t, c, b, "mp", []byte("there before"))
		id, parts := awsMultipart(t, c, b, "mp", bodies, 1, 2)
		complete := func(parts []types.CompletedPart, ifNoneMatch *string) (*s3.CompleteMultipartUploadOutput, error) {
			return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: id,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: ifNoneMatch})
		}
		_, err := complete(parts, aws.String("*"))
		wantAWSCode(t, "CompleteMultipartUpload If-None-Match * over an object", err, "PreconditionFailed", 412)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("mp")}); err != nil {
			t.Fatal(err)
		}
		done, err := complete(parts, aws.String("*"))
		if err != nil {
			t.Fatalf("CompleteMultipartUpload If-None-Match * once the key is free: %v", err)
		}

		// Sent again, as a client whose answer was lost does: the same
		// answer; with other parts, or once the object changed, the
		// upload is gone. So it is for an abort.
		again, err := complete(parts, nil)
		if err != nil || aws.ToString(again.ETag) != aws.ToString(done.ETag) {
			t.Fatalf("CompleteMultipartUpload again: ETag %s, %v; first %s", aws.ToString(again.ETag), err, aws.ToString(done.ETag))
		}
		_, err = complete(parts[:1], nil)
		wantAWSCode(t, "CompleteMultipartUpload again with other parts", err, "NoSuchUpload", 404)
		_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: id})
		wantAWSCode(t, "AbortMultipartUpload after the Complete", err, "NoSuchUpload", 404)
		if got := awsMustGet(t, c, b, "mp"); !bytes.Equal(got, bytes.Join(bodies, nil)) {
			t.Fatal("the completed object changed")
		}
		awsPut(t, c, b, "mp", []byte("overwritten"))
		_, err = complete(parts, nil)
		wantAWSCode(t, "CompleteMultipartUpload again after an overwrite", err, "NoSuchUpload", 404)
	})
}
