package node

// aws-sdk-go-v2 against a node for what tools rely on beyond reading and
// writing objects: bucket paging, version listings and bucket clean-up on
// an unversioned bucket, ACLs.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
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

	// What terraform's force_destroy and conformance suites' teardown do to
	// a bucket: ask about versioning, list every version, delete them by
	// version ID (null on an unversioned bucket), delete the bucket.
	t.Run("EmptyBucketByVersions", func(t *testing.T) {
		ctx := testCtx(t)
		const b = "aws-versions"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		vc, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if vc.Status != "" || vc.MFADelete != "" {
			t.Fatalf("GetBucketVersioning = %q %q, want neither (never enabled)", vc.Status, vc.MFADelete)
		}
		keys := []string{"a b", "a+b", "dir/x", "dir/y", "z%41", "ü", "t\tab"}
		for _, k := range keys {
			awsPut(t, c, b, k, []byte(k))
		}
		slices.Sort(keys)

		// Delimited, URL encoded: the common prefix and the encoded keys
		// decode back to what was stored.
		lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Delimiter: aws.String("/"), EncodingType: types.EncodingTypeUrl})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, v := range lv.Versions {
			k, err := url.PathUnescape(aws.ToString(v.Key))
			if err != nil {
				t.Fatalf("key %q: %v", aws.ToString(v.Key), err)
			}
			listed = append(listed, k)
		}
		if want := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return strings.HasPrefix(k, "dir/") }); !slices.Equal(listed, want) ||
			len(lv.CommonPrefixes) != 1 || aws.ToString(lv.CommonPrefixes[0].Prefix) != "dir/" {
			t.Fatalf("delimited versions %v %+v, want %v and dir/", listed, lv.CommonPrefixes, want)
		}

		var seen []string
		var ids []types.ObjectIdentifier
		p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(2)})
		for pages := 0; p.HasMorePages(); pages++ {
			if pages > len(keys) {
				t.Fatal("the paginator does not stop")
			}
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.DeleteMarkers) != 0 {
				t.Fatalf("delete markers %+v", out.DeleteMarkers)
			}
			for _, v := range out.Versions {
				if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) || v.LastModified == nil || v.Owner == nil ||
					aws.ToString(v.ETag) != quoted(md5Hex([]byte(aws.ToString(v.Key)))) || aws.ToInt64(v.Size) != int64(len(aws.ToString(v.Key))) {
					t.Fatalf("version %+v", v)
				}
				seen = append(seen, aws.ToString(v.Key))
				ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
			}
		}
		if !slices.Equal(seen, keys) {
			t.Fatalf("versions %v, want %v", seen, keys)
		}
		del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids}})
		if err != nil {
			t.Fatal(err)
		}
		if len(del.Errors) != 0 || len(del.Deleted) != len(keys) {
			t.Fatalf("DeleteObjects: %d deleted, errors %+v", len(del.Deleted), del.Errors)
		}
		for _, d := range del.Deleted {
			if aws.ToString(d.VersionId) != "null" {
				t.Fatalf("deleted %s reported with version %q, want null", aws.ToString(d.Key), aws.ToString(d.VersionId))
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("DeleteBucket after deleting every version: %v", err)
		}
		_, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
		wantAWSCode(t, "GetBucketVersioning of a deleted bucket", err, "NoSuchBucket", 404)
		_, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		wantAWSCode(t, "ListObjectVersions of a deleted bucket", err, "NoSuchBucket", 404)
	})

	t.Run("ACL", func(t *testing.T) {
		ctx := testCtx(t)
		const b = "aws-acl"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("v"),
			ACL: types.ObjectCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		owner := lb.Owner
		// The owner ListBuckets shows, with full control, and nobody else.
		wantPrivate := func(what string, o *types.Owner, grants []types.Grant) {
			t.Helper()
			if o == nil || aws.ToString(o.ID) != aws.ToString(owner.ID) || aws.ToString(o.DisplayName) != aws.ToString(owner.DisplayName) || len(grants) != 1 {
				t.Fatalf("%s: owner %+v, %d grants; ListBuckets owner %+v", what, o, len(grants), owner)
			}
			g := grants[0]
			if g.Permission != types.PermissionFullControl || g.Grantee == nil || g.Grantee.Type != types.TypeCanonicalUser ||
				aws.ToString(g.Grantee.ID) != aws.ToString(owner.ID) {
				t.Fatalf("%s: grant %+v of %+v", what, g, g.Grantee)
			}
		}
		ba, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		wantPrivate("GetBucketAcl", ba.Owner, ba.Grants)
		oa, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		wantPrivate("GetObjectAcl", oa.Owner, oa.Grants)

		// Setting what it is: canned, or the policy just read, as the SDK
		// writes it.
		if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b),
			AccessControlPolicy: &types.AccessControlPolicy{Owner: ba.Owner, Grants: ba.Grants}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"),
			AccessControlPolicy: &types.AccessControlPolicy{Owner: oa.Owner, Grants: oa.Grants}}); err != nil {
			t.Fatal(err)
		}

		// Anything more is refused, not stored and ignored.
		_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead})
		wantAWSCode(t, "PutBucketAcl public-read", err, "NotImplemented", 501)
		_, err = c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), GrantRead: aws.String(`id="someone"`)})
		wantAWSCode(t, "PutObjectAcl GrantRead", err, "NotImplemented", 501)
		public := append(slices.Clone(ba.Grants), types.Grant{Permission: types.PermissionRead,
			Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")}})
		_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), AccessControlPolicy: &types.AccessControlPolicy{Owner: ba.Owner, Grants: public}})
		wantAWSCode(t, "PutBucketAcl granting AllUsers READ", err, "NotImplemented", 501)
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("aws-acl-public"), ACL: types.BucketCannedACLPublicRead})
		wantAWSCode(t, "CreateBucket public-read", err, "NotImplemented", 501)

		_, err = c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("missing")})
		wantAWSCode(t, "GetObjectAcl missing key", err, "NoSuchKey", 404)
		_, err = c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("aws-acl-missing")})
		wantAWSCode(t, "GetBucketAcl missing bucket", err, "NoSuchBucket", 404)
	})
}
