package node

// aws-sdk-go-v2 against a node for what tools rely on beyond reading and
// writing objects: bucket paging, version listings and bucket clean-up on
// an unversioned bucket, ACLs.

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestAWSSDKCompat(t *testing.T) {
	n := startLocal(t, nil)
	c, _ := newAWS(t, n, awsOpts{})

	t.Run("ListBucketsPaginator", func(t *testing.T) {
		ctx := testCtx(t)
		var want []string
		for i := range 5 {
			name := fmt.Sprintf("aws-page-%d", i)
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
				t.Fatal(err)
			}
			want = append(want, name)
		}
		p := s3.NewListBucketsPaginator(c, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), Prefix: aws.String("aws-page-")})
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pages++; pages > len(want) {
				t.Fatal("the paginator does not stop")
			}
			if len(out.Buckets) > 2 || aws.ToString(out.Prefix) != "aws-page-" {
				t.Fatalf("page %d: %d buckets, prefix %q", pages, len(out.Buckets), aws.ToString(out.Prefix))
			}
			for _, b := range out.Buckets {
				got = append(got, aws.ToString(b.Name))
			}
		}
		if !slices.Equal(got, want) || pages != 3 {
			t.Fatalf("%d pages of %v, want 3 pages of %v", pages, got, want)
		}
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(10001)})
		wantAWSCode(t, "ListBuckets MaxBuckets 10001", err, "InvalidArgument", 400)
		_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: aws.String("forged")})
		wantAWSCode(t, "ListBuckets with a forged token", err, "InvalidArgument", 400)
	})
}
