package node

// Real-client tests with github.com/aws/aws-sdk-go-v2/service/s3 against a
// node started by startLocal: what an AWS SDK user sees of gridstore's S3
// API, over plain HTTP (checksums in headers, signed payloads), over TLS
// (aws-chunked bodies with checksum trailers) and virtual-host style.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// awsOpts tunes newAWS.
type awsOpts struct {
	endpoint string // "" is n.URL
	secret   string // "" is testPassword
	anon     bool
	vhost    bool
	rec      *recorder // nil: a fresh one over plain TCP
}

// newAWS returns an aws-sdk-go-v2 S3 client for n over a recorder. Retries
// are off so that error tests see the first answer.
func newAWS(t testing.TB, n *testNode, o awsOpts) (*s3.Client, *recorder) {
	t.Helper()
	rec := o.rec
	if rec == nil {
		rec = newRecorder(t, nil, nil)
	}
	endpoint := n.URL
	if o.endpoint != "" {
		endpoint = o.endpoint
	}
	secret := o.secret
	if secret == "" {
		secret = testPassword
	}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(testUser, secret, "")
	if o.anon {
		creds = aws.AnonymousCredentials{}
	}
	c := s3.New(s3.Options{
		Region:           clientRegion,
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     !o.vhost,
		Credentials:      creds,
		HTTPClient:       rec.client(),
		RetryMaxAttempts: 1,
		Logger:           logging.Nop{},
		// What config.LoadDefaultConfig resolves to with no settings: a
		// CRC32 with every upload, response checksums validated.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	return c, rec
}

// awsCode is the S3 error code of err ("" for nil or a non-API error).
func awsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// awsStatus is the HTTP status of a failed call (0 if there was none).
func awsStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantAWSCode fails the test unless err carries code (and status, if
// non-zero).
func wantAWSCode(t testing.TB, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := awsCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %s", what, got, err, code)
	}
	if status != 0 && awsStatus(err) != status {
		t.Fatalf("%s: status %d, want %d", what, awsStatus(err), status)
	}
}

// awsGet reads a whole object and returns it with the response.
func awsGet(t testing.TB, c *s3.Client, in *s3.GetObjectInput) ([]byte, *s3.GetObjectOutput, error) {
	t.Helper()
	out, err := c.GetObject(testCtx(t), in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

// awsMustGet reads a whole object, failing the test on error.
func awsMustGet(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	b, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	return b
}

func awsPut(t testing.TB, c *s3.Client, bucket, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func quoted(s string) string { return `"` + s + `"` }

func TestAWSSDKClient(t *testing.T) {
	n := startLocal(t, nil)
	c, rec := newAWS(t, n, awsOpts{})

	t.Run("BucketLifecycle", func(t *testing.T) {
		ctx := testCtx(t)
		const b = "aws-buckets"
		_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
		wantAWSCode(t, "HeadBucket missing", err, "NotFound", 404)
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		wantAWSCode(t, "CreateBucket again", err, "BucketAlreadyOwnedByYou", 409)
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-region"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
		if err == nil {
			t.Fatal("CreateBucket with LocationConstraint eu-west-1 succeeded on a us-east-1 node")
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
		wantAWSCode(t, "CreateBucket Bad_Name", err, "InvalidBucketName", 400)
		hb, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(hb.BucketRegion) != clientRegion {
			t.Fatalf("HeadBucket region %q, want %s", aws.ToString(hb.BucketRegion), clientRegion)
		}
		lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(lb.Buckets, func(x types.Bucket) bool { return aws.ToString(x.Name) == b && x.CreationDate != nil }) {
			t.Fatalf("ListBuckets lacks %s", b)
		}
		if lb.Owner == nil || aws.ToString(lb.Owner.ID) == "" {
			t.Fatalf("ListBuckets without an owner")
		}
		loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if loc.LocationConstraint != "" {
			t.Fatalf("GetBucketLocation = %q, want empty (us-east-1)", loc.LocationConstraint)
		}
		awsPut(t, c, b, "k", []byte("v"))
		_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		wantAWSCode(t, "DeleteBucket non-empty", err, "BucketNotEmpty", 409)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		wantAWSCode(t, "DeleteBucket missing", err, "NoSuchBucket", 404)
		_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		wantAWSCode(t, "ListObjectsV2 missing bucket", err, "NoSuchBucket", 404)
		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantAWSCode(t, "GetObject missing bucket", err, "NoSuchBucket", 404)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("v")})
		wantAWSCode(t, "PutObject missing bucket", err, "NoSuchBucket", 404)
	})

	const b = "aws-objects"
	if _, err := c.CreateBucket(testCtx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}

	t.Run("ObjectLifecycle", func(t *testing.T) {
		ctx := testCtx(t)
		data := payload(101, 200<<10+5)
		const key = "dir/üñí code+plus=eq&amp?q#h"
		exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		put, err := c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(data),
			ContentType: aws.String("image/x-test"), ContentLanguage: aws.String("de-CH"),
			ContentEncoding: aws.String("identity"), ContentDisposition: aws.String("inline"),
			CacheControl: aws.String("no-cache"), Expires: aws.Time(exp),
			Metadata: map[string]string{"alpha": "1", "beta-two": "zwei drei"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(put.ETag) != quoted(md5Hex(data)) {
			t.Fatalf("PutObject ETag %s, want %q", aws.ToString(put.ETag), md5Hex(data))
		}
		// Over plain HTTP the SDK signs the payload's SHA-256 and sends its
		// default CRC32 as a header (in an aws-chunked trailer over TLS
		// only: see TestAWSSDKTLSTrailers).
		w := rec.last(t, http.MethodPut, key, "")
		if w.ContentSHA256 != sha256Hex(data) {
			t.Fatalf("PutObject x-amz-content-sha256 %q, want the payload's SHA-256", w.ContentSHA256)
		}
		if !slices.Contains(w.ChecksumHeaders, "x-amz-checksum-crc32") {
			t.Fatalf("PutObject checksum headers %v, want x-amz-checksum-crc32", w.ChecksumHeaders)
		}
		crc := crc32.ChecksumIEEE(data)
		wantCRC := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
		if put.ChecksumCRC32 != nil && aws.ToString(put.ChecksumCRC32) != wantCRC {
			t.Fatalf("PutObject answered ChecksumCRC32 %s, want %s", aws.ToString(put.ChecksumCRC32), wantCRC)
		}

		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != aws.ToString(put.ETag) ||
			aws.ToString(head.ContentType) != "image/x-test" || aws.ToString(head.ContentLanguage) != "de-CH" ||
			aws.ToString(head.ContentEncoding) != "identity" || aws.ToString(head.ContentDisposition) != "inline" ||
			aws.ToString(head.CacheControl) != "no-cache" || head.ExpiresString == nil || head.LastModified == nil {
			t.Fatalf("HeadObject = len %d etag %s type %q lang %q enc %q disp %q cache %q expires %v",
				aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), aws.ToString(head.ContentType), aws.ToString(head.ContentLanguage),
				aws.ToString(head.ContentEncoding), aws.ToString(head.ContentDisposition), aws.ToString(head.CacheControl), aws.ToString(head.ExpiresString))
		}
		if pe, err := time.Parse(http.TimeFormat, aws.ToString(head.ExpiresString)); err != nil || !pe.Equal(exp) {
			t.Fatalf("Expires %q, want %s", aws.ToString(head.ExpiresString), exp.Format(http.TimeFormat))
		}
		if head.Metadata["alpha"] != "1" || head.Metadata["beta-two"] != "zwei drei" || len(head.Metadata) != 2 {
			t.Fatalf("metadata %v", head.Metadata)
		}
		got, out, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key),
			ResponseContentType: aws.String("text/override"), ResponseCacheControl: aws.String("max-age=5")})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) || aws.ToString(out.ContentType) != "text/override" || aws.ToString(out.CacheControl) != "max-age=5" {
			t.Fatalf("GetObject: %d bytes, type %q, cache %q", len(got), aws.ToString(out.ContentType), aws.ToString(out.CacheControl))
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		wantAWSCode(t, "GetObject deleted", err, "NoSuchKey", 404)
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) {
			t.Fatalf("GetObject deleted: %T, want *types.NoSuchKey", err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		wantAWSCode(t, "HeadObject deleted", err, "NotFound", 404)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
			t.Fatalf("DeleteObject of a missing key: %v", err)
		}
	})

	t.Run("EdgeObjects", func(t *testing.T) {
		ctx := testCtx(t)
		// An empty object.
		for _, k := range []string{"edge/empty"} {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(nil)}); err != nil {
				t.Fatalf("PutObject %q: %v", k, err)
			}
			got, out, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
			if err != nil || len(got) != 0 || aws.ToInt64(out.ContentLength) != 0 || aws.ToString(out.ETag) != quoted(md5Hex(nil)) {
				t.Fatalf("GetObject %q: %d bytes, %v", k, len(got), err)
			}
		}
		_, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("edge/empty"), Range: aws.String("bytes=0-")})
		wantAWSCode(t, "a range of an empty object", err, "InvalidRange", 416)
		// Keys XML and URLs must escape, and keys that would be paths
		// elsewhere: a folder marker, empty, "." and ".." elements.
		for _, k := range []string{"edge/x&y<z>\"'", "edge/a+b c%d?e#f", "edge/tab\tnew", "edge/日本語",
			"edge/folder/", "edge/a//b", "edge/x/./y", "edge/x/../y", "edge/.."} {
			data := []byte("content of " + k)
			awsPut(t, c, b, k, data)
			if got := awsMustGet(t, c, b, k); !bytes.Equal(got, data) {
				t.Fatalf("GetObject %q differs", k)
			}
			lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(k)})
			if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != k {
				t.Fatalf("ListObjectsV2 prefix %q: %+v, %v", k, lo, err)
			}
			lv1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), Prefix: aws.String(k)})
			if err != nil || len(lv1.Contents) != 1 || aws.ToString(lv1.Contents[0].Key) != k {
				t.Fatalf("ListObjects prefix %q: %+v, %v", k, lv1, err)
			}
			pg, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			status, _, body := httpDo(t, newRecorder(t, nil, nil).client(), pg.Method, pg.URL, pg.SignedHeader, nil)
			if status != 200 || !bytes.Equal(body, data) {
				t.Fatalf("presigned GET of %q: %d %s", k, status, body)
			}
		}
		// Reduced redundancy.
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("edge/rr"), Body: strings.NewReader("rr"),
			StorageClass: types.StorageClassReducedRedundancy}); err != nil {
			t.Fatal(err)
		}
		// (The node does not report the class back: HEAD shows no
		// x-amz-storage-class, listings say STANDARD.)
		if got := awsMustGet(t, c, b, "edge/rr"); string(got) != "rr" {
			t.Fatalf("REDUCED_REDUNDANCY object reads %q", got)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("edge/glacier"), Body: strings.NewReader("g"),
			StorageClass: types.StorageClassGlacier})
		if err == nil {
			t.Fatal("PutObject with storage class GLACIER succeeded")
		}
		// Limits.
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("edge/meta"), Body: strings.NewReader("m"),
			Metadata: map[string]string{"big": strings.Repeat("v", 2100)}})
		wantAWSCode(t, "PutObject with 2 KiB+ of metadata", err, "MetadataTooLarge", 400)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("m")})
		wantAWSCode(t, "PutObject with a 1025-byte key", err, "KeyTooLongError", 400)
	})

	t.Run("ChecksumAlgorithms", func(t *testing.T) {
		for i, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmCrc64nvme} {
			data := payload(uint64(110+i), 64<<10+i)
			key := "checksum/" + string(algo)
			if _, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key),
				Body: bytes.NewReader(data), ChecksumAlgorithm: algo}); err != nil {
				t.Fatalf("PutObject with %s: %v", algo, err)
			}
			w := rec.last(t, http.MethodPut, "/"+key, "")
			want := "x-amz-checksum-" + strings.ToLower(string(algo))
			if !slices.Contains(w.ChecksumHeaders, want) {
				t.Fatalf("PutObject with %s sent checksum headers %v", algo, w.ChecksumHeaders)
			}
			// The SDK validates the response checksum when the server sends one.
			got, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GetObject %s: %d bytes, %v", key, len(got), err)
			}
		}
		// A checksum that does not match the body is refused, nothing stored.
		sum := sha256.Sum256([]byte("something else"))
		_, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("checksum/bad"),
			Body: strings.NewReader("the body"), ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
		wantAWSCode(t, "PutObject with a wrong x-amz-checksum-sha256", err, "BadDigest", 400)
		_, err = c.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("checksum/bad")})
		wantAWSCode(t, "HeadObject after BadDigest", err, "NotFound", 404)
		_, err = c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("checksum/bad"),
			Body: strings.NewReader("the body"), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 16)))})
		wantAWSCode(t, "PutObject with a wrong Content-MD5", err, "BadDigest", 400)
	})

	data := payload(102, 1000)
	put := awsPut(t, c, b, "ranged", data)

	t.Run("Ranges", func(t *testing.T) {
		for _, tc := range []struct {
			rng, contentRange string
			want              []byte
		}{
			{"bytes=0-0", "bytes 0-0/1000", data[:1]},
			{"bytes=10-19", "bytes 10-19/1000", data[10:20]},
			{"bytes=990-", "bytes 990-999/1000", data[990:]},
			{"bytes=-25", "bytes 975-999/1000", data[975:]},
			{"bytes=900-5000", "bytes 900-999/1000", data[900:]},
			{"bytes=-5000", "bytes 0-999/1000", data},
		} {
			got, out, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Range: aws.String(tc.rng)})
			if err != nil {
				t.Fatalf("%s: %v", tc.rng, err)
			}
			if !bytes.Equal(got, tc.want) || aws.ToString(out.ContentRange) != tc.contentRange || aws.ToInt64(out.ContentLength) != int64(len(tc.want)) {
				t.Fatalf("%s: %d bytes, Content-Range %q, Content-Length %d; want %d bytes, %q", tc.rng, len(got),
					aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength), len(tc.want), tc.contentRange)
			}
		}
		// partNumber on a single-part object: part 1 is the whole object.
		got1, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), PartNumber: aws.Int32(1)})
		if err != nil || !bytes.Equal(got1, data) {
			t.Fatalf("partNumber=1 of a single-part object: %d bytes, %v", len(got1), err)
		}
		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), PartNumber: aws.Int32(2)})
		wantAWSCode(t, "partNumber=2 of a single-part object", err, "InvalidPartNumber", 416)
		// Several ranges are not served as multipart/byteranges: the whole
		// object, 200, as S3 does.
		gotm, outm, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Range: aws.String("bytes=0-1,5-6")})
		if err != nil || !bytes.Equal(gotm, data) || outm.ContentRange != nil {
			t.Fatalf("multi-range GET: %d bytes, %v", len(gotm), err)
		}
		// A malformed range is ignored: the whole object, 200.
		got, out, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Range: aws.String("bytes=abc")})
		if err != nil || !bytes.Equal(got, data) || out.ContentRange != nil {
			t.Fatalf("malformed range: %d bytes, %v, Content-Range %v", len(got), err, aws.ToString(out.ContentRange))
		}
		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Range: aws.String("bytes=1000-")})
		wantAWSCode(t, "range past the end", err, "InvalidRange", 416)
		// HEAD with a range.
		h, err := c.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Range: aws.String("bytes=1-2")})
		if err != nil || aws.ToInt64(h.ContentLength) != 2 || aws.ToString(h.ContentRange) != "bytes 1-2/1000" {
			t.Fatalf("ranged HeadObject: %v", err)
		}
	})

	t.Run("Conditionals", func(t *testing.T) {
		h, err := c.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("ranged")})
		if err != nil {
			t.Fatal(err)
		}
		etag, lm := aws.ToString(put.ETag), aws.ToTime(h.LastModified)
		before, after := aws.Time(lm.Add(-time.Hour)), aws.Time(lm.Add(time.Hour))
		other := quoted("0123456789abcdef0123456789abcdef")
		for _, tc := range []struct {
			name   string
			in     s3.GetObjectInput
			status int
		}{
			{"if-match", s3.GetObjectInput{IfMatch: aws.String(etag)}, 200},
			{"if-match-star", s3.GetObjectInput{IfMatch: aws.String("*")}, 200},
			{"if-match-other", s3.GetObjectInput{IfMatch: aws.String(other)}, 412},
			{"if-none-match", s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, 304},
			{"if-none-match-star", s3.GetObjectInput{IfNoneMatch: aws.String("*")}, 304},
			{"if-none-match-other", s3.GetObjectInput{IfNoneMatch: aws.String(other)}, 200},
			{"if-modified-since-before", s3.GetObjectInput{IfModifiedSince: before}, 200},
			{"if-modified-since-after", s3.GetObjectInput{IfModifiedSince: after}, 304},
			{"if-modified-since-exact", s3.GetObjectInput{IfModifiedSince: aws.Time(lm)}, 304},
			{"if-unmodified-since-after", s3.GetObjectInput{IfUnmodifiedSince: after}, 200},
			{"if-unmodified-since-before", s3.GetObjectInput{IfUnmodifiedSince: before}, 412},
			{"if-match-beats-unmodified-since", s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: before}, 200},
			{"if-none-match-beats-modified-since", s3.GetObjectInput{IfNoneMatch: aws.String(other), IfModifiedSince: after}, 200},
			{"if-none-match-and-modified-since", s3.GetObjectInput{IfNoneMatch: aws.String(etag), IfModifiedSince: before}, 304},
		} {
			in := tc.in
			in.Bucket, in.Key = aws.String(b), aws.String("ranged")
			got, out, gerr := awsGet(t, c, &in)
			_, herr := c.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key,
				IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch, IfModifiedSince: in.IfModifiedSince, IfUnmodifiedSince: in.IfUnmodifiedSince})
			for _, e := range []struct {
				m   string
				err error
			}{{"GET", gerr}, {"HEAD", herr}} {
				status := 200
				if e.err != nil {
					status = awsStatus(e.err)
				}
				if status != tc.status {
					t.Errorf("%s %s: status %d (%v), want %d", tc.name, e.m, status, e.err, tc.status)
				}
			}
			if tc.status == 200 && gerr == nil && (!bytes.Equal(got, data) || aws.ToString(out.ETag) != etag) {
				t.Errorf("%s: wrong body or ETag", tc.name)
			}
			if tc.status == 412 && gerr != nil && awsCode(gerr) != "PreconditionFailed" {
				t.Errorf("%s: code %q, want PreconditionFailed", tc.name, awsCode(gerr))
			}
		}
		// 304 carries the ETag and no body (checked on the wire).
		hc := newRecorder(t, nil, nil).client()
		pre, err := s3.NewPresignClient(c).PresignGetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged")})
		if err != nil {
			t.Fatal(err)
		}
		status, hdr, body := httpDo(t, hc, http.MethodGet, pre.URL, http.Header{"If-None-Match": {etag}}, nil)
		if status != 304 || len(body) != 0 || hdr.Get("ETag") != etag {
			t.Fatalf("presigned GET with If-None-Match: %d, %d body bytes, ETag %q; want 304, none, %s", status, len(body), hdr.Get("ETag"), etag)
		}
	})

	t.Run("Presigned", func(t *testing.T) {
		hc := newRecorder(t, nil, nil).client()
		pc := s3.NewPresignClient(c)
		pg, err := pc.PresignGetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"),
			ResponseContentDisposition: aws.String(`attachment; filename="r.bin"`)}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		status, hdr, body := httpDo(t, hc, pg.Method, pg.URL, pg.SignedHeader, nil)
		if status != 200 || !bytes.Equal(body, data) || hdr.Get("Content-Disposition") != `attachment; filename="r.bin"` {
			t.Fatalf("presigned GET: %d, %d bytes, disposition %q", status, len(body), hdr.Get("Content-Disposition"))
		}
		// Ranges work with presigned URLs (Range is not signed).
		status, _, body = httpDo(t, hc, pg.Method, pg.URL, http.Header{"Range": {"bytes=5-9"}}, nil)
		if status != 206 || !bytes.Equal(body, data[5:10]) {
			t.Fatalf("presigned ranged GET: %d, %q", status, body)
		}
		// Expired: a one-second URL used after two.
		old, err := pc.PresignGetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged")}, s3.WithPresignExpires(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond)
		status, _, body = httpDo(t, hc, old.Method, old.URL, old.SignedHeader, nil)
		if status != 403 || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
			t.Fatalf("expired presigned GET: %d %s; want 403 AccessDenied", status, body)
		}

		up := payload(103, 90000)
		pp, err := pc.PresignPutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("presigned/put"),
			ContentType: aws.String("application/x-presigned")})
		if err != nil {
			t.Fatal(err)
		}
		hdrs := pp.SignedHeader.Clone()
		hdrs.Set("Content-Type", "application/x-presigned")
		status, _, body = httpDo(t, hc, pp.Method, pp.URL, hdrs, up)
		if status != 200 {
			t.Fatalf("presigned PUT: %d %s", status, body)
		}
		h, err := c.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("presigned/put")})
		if err != nil || aws.ToString(h.ContentType) != "application/x-presigned" || aws.ToString(h.ETag) != quoted(md5Hex(up)) {
			t.Fatalf("object put by presigned URL: %v", err)
		}
		if got := awsMustGet(t, c, b, "presigned/put"); !bytes.Equal(got, up) {
			t.Fatalf("presigned PUT stored %d bytes, want %d", len(got), len(up))
		}
		// A different key with the same signature is refused.
		status, _, body = httpDo(t, hc, http.MethodPut, strings.Replace(pp.URL, "presigned/put", "presigned/other", 1), hdrs, up)
		if status != 403 || !bytes.Contains(body, []byte("SignatureDoesNotMatch")) {
			t.Fatalf("presigned PUT to another key: %d %s", status, body)
		}
	})

	t.Run("Multipart", func(t *testing.T) {
		ctx := testCtx(t)
		const key = "mp/eleven"
		big := payload(104, 11<<20)
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
			ContentType: aws.String("application/x-mp"), Metadata: map[string]string{"kind": "mp"}})
		if err != nil {
			t.Fatal(err)
		}
		id := cr.UploadId
		if aws.ToString(id) == "" || aws.ToString(cr.Key) != key || aws.ToString(cr.Bucket) != b {
			t.Fatalf("CreateMultipartUpload = %+v", cr)
		}
		// A second upload of another key, to be aborted.
		cr2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp/aborted")})
		if err != nil {
			t.Fatal(err)
		}
		bounds := []int{0, 5 << 20, 10 << 20, 11 << 20}
		var parts []types.CompletedPart
		for i := range 3 {
			chunk := big[bounds[i]:bounds[i+1]]
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			if aws.ToString(up.ETag) != quoted(md5Hex(chunk)) {
				t.Fatalf("UploadPart %d ETag %s, want %q", i+1, aws.ToString(up.ETag), md5Hex(chunk))
			}
			parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp/aborted"), UploadId: cr2.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("small")}); err != nil {
			t.Fatal(err)
		}
		// ListParts, paged by 2.
		var listed []types.Part
		lp := s3.NewListPartsPaginator(c, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id, MaxParts: aws.Int32(2)})
		pages := 0
		for lp.HasMorePages() {
			page, err := lp.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			listed = append(listed, page.Parts...)
		}
		if pages != 2 || len(listed) != 3 {
			t.Fatalf("ListParts: %d parts in %d pages, want 3 in 2", len(listed), pages)
		}
		for i, p := range listed {
			if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToString(p.ETag) != aws.ToString(parts[i].ETag) ||
				aws.ToInt64(p.Size) != int64(bounds[i+1]-bounds[i]) || p.LastModified == nil {
				t.Fatalf("ListParts part %d = number %d etag %s size %d", i+1, aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt64(p.Size))
			}
		}
		lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b), Prefix: aws.String("mp/")})
		if err != nil {
			t.Fatal(err)
		}
		var ups []string
		for _, u := range lu.Uploads {
			ups = append(ups, aws.ToString(u.Key)+"="+aws.ToString(u.UploadId))
		}
		slices.Sort(ups)
		if want := []string{"mp/aborted=" + aws.ToString(cr2.UploadId), key + "=" + aws.ToString(id)}; !slices.Equal(ups, want) {
			t.Fatalf("ListMultipartUploads = %q, want %q", ups, want)
		}
		lu, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(lu.Uploads) != 0 || len(lu.CommonPrefixes) != 1 || aws.ToString(lu.CommonPrefixes[0].Prefix) != "mp/" {
			t.Fatalf("ListMultipartUploads with delimiter: %d uploads, prefixes %v", len(lu.Uploads), lu.CommonPrefixes)
		}
		// Abort the second; it is gone.
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp/aborted"), UploadId: cr2.UploadId}); err != nil {
			t.Fatal(err)
		}
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp/aborted"), UploadId: cr2.UploadId})
		wantAWSCode(t, "ListParts of an aborted upload", err, "NoSuchUpload", 404)
		_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp/aborted"), UploadId: cr2.UploadId,
			PartNumber: aws.Int32(2), Body: strings.NewReader("late")})
		wantAWSCode(t, "UploadPart to an aborted upload", err, "NoSuchUpload", 404)

		// Completing with a wrong ETag: InvalidPart; the upload survives.
		bad := slices.Clone(parts)
		bad[1].ETag = aws.String(quoted("0123456789abcdef0123456789abcdef"))
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: bad}})
		wantAWSCode(t, "CompleteMultipartUpload with a wrong ETag", err, "InvalidPart", 400)
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
		wantAWSCode(t, "CompleteMultipartUpload out of order", err, "InvalidPartOrder", 400)

		done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(aws.ToString(done.ETag), `-3"`) || aws.ToString(done.Key) != key {
			t.Fatalf("CompleteMultipartUpload = key %q ETag %s, want a -3 ETag", aws.ToString(done.Key), aws.ToString(done.ETag))
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		nr, err := io.Copy(h, out.Body)
		out.Body.Close()
		if err != nil || nr != int64(len(big)) || hex.EncodeToString(h.Sum(nil)) != sha256Hex(big) {
			t.Fatalf("GetObject of the completed upload: %d bytes, %v, sha256 %x; want %d, %s", nr, err, h.Sum(nil), len(big), sha256Hex(big))
		}
		if aws.ToString(out.ContentType) != "application/x-mp" || out.Metadata["kind"] != "mp" || aws.ToString(out.ETag) != aws.ToString(done.ETag) {
			t.Fatalf("completed object: type %q metadata %v etag %s", aws.ToString(out.ContentType), out.Metadata, aws.ToString(out.ETag))
		}
		// partNumber=3 is the last MiB, and says how many parts there are.
		got, po, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), PartNumber: aws.Int32(3)})
		if err != nil || !bytes.Equal(got, big[10<<20:]) || aws.ToInt32(po.PartsCount) != 3 {
			t.Fatalf("GetObject partNumber=3: %d bytes, %v, parts count %d", len(got), err, aws.ToInt32(po.PartsCount))
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key), IfNoneMatch: done.ETag})
		if awsStatus(err) != 304 {
			t.Fatalf("HeadObject If-None-Match the multipart ETag: %v, want 304", err)
		}
		hp, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key), PartNumber: aws.Int32(1)})
		if err != nil || aws.ToInt64(hp.ContentLength) != 5<<20 || aws.ToInt32(hp.PartsCount) != 3 {
			t.Fatalf("HeadObject partNumber=1: length %d, parts count %d, %v", aws.ToInt64(hp.ContentLength), aws.ToInt32(hp.PartsCount), err)
		}
		// The upload is gone after completion.
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id})
		wantAWSCode(t, "ListParts after completion", err, "NoSuchUpload", 404)
		_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String("no-such-upload-id")})
		wantAWSCode(t, "AbortMultipartUpload of an unknown ID", err, "NoSuchUpload", 404)

		t.Run("UploadPartCopy", func(t *testing.T) {
			ctx := testCtx(t)
			const dst = "mp/copied"
			cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(dst)})
			if err != nil {
				t.Fatal(err)
			}
			// Part 1: the first 5 MiB of the big object; part 2: the small
			// "ranged" object whole; part 3: uploaded bytes.
			p1, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				PartNumber: aws.Int32(1), CopySource: aws.String(b + "/" + key), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", 5<<20-1))})
			if err != nil {
				t.Fatal(err)
			}
			p2, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				PartNumber: aws.Int32(2), CopySource: aws.String(b + "/ranged")})
			if err != nil {
				t.Fatal(err)
			}
			if p1.CopyPartResult == nil || p2.CopyPartResult == nil ||
				aws.ToString(p1.CopyPartResult.ETag) != quoted(md5Hex(big[:5<<20])) || aws.ToString(p2.CopyPartResult.ETag) != quoted(md5Hex(data)) {
				t.Fatalf("UploadPartCopy ETags %v %v", p1.CopyPartResult, p2.CopyPartResult)
			}
			_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				PartNumber: aws.Int32(3), CopySource: aws.String(b + "/ranged"), CopySourceRange: aws.String("bytes=900-1000")})
			wantAWSCode(t, "UploadPartCopy with a range past the end", err, "InvalidRange", 416)
			_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				PartNumber: aws.Int32(3), CopySource: aws.String(b + "/ranged"), CopySourceIfMatch: aws.String(quoted("0123456789abcdef0123456789abcdef"))})
			wantAWSCode(t, "UploadPartCopy with a failing copy-source-if-match", err, "PreconditionFailed", 412)
			_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				PartNumber: aws.Int32(3), CopySource: aws.String(b + "/no-such-source")})
			wantAWSCode(t, "UploadPartCopy of a missing source", err, "NoSuchKey", 404)
			done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(dst), UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
					{ETag: p1.CopyPartResult.ETag, PartNumber: aws.Int32(1)},
					{ETag: p2.CopyPartResult.ETag, PartNumber: aws.Int32(2)},
				}}})
			if err != nil {
				t.Fatal(err)
			}
			want := append(slices.Clone(big[:5<<20]), data...)
			if got := awsMustGet(t, c, b, dst); sha256Hex(got) != sha256Hex(want) || !strings.HasSuffix(aws.ToString(done.ETag), `-2"`) {
				t.Fatalf("object from UploadPartCopy: %d bytes (sha256 %s), ETag %s; want %d bytes (%s)", len(got), sha256Hex(got), aws.ToString(done.ETag), len(want), sha256Hex(want))
			}
		})
		for _, k := range []string{key, "mp/copied"} {
			if _, err := c.DeleteObject(testCtx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("MultipartErrors", func(t *testing.T) {
		ctx := testCtx(t)
		const key = "mp/small"
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		var parts []types.CompletedPart
		for i := range 2 {
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(payload(uint64(120+i), 1024))})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		wantAWSCode(t, "CompleteMultipartUpload with a 1 KiB non-last part", err, "EntityTooSmall", 400)
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: parts[0].ETag, PartNumber: aws.Int32(7)}}}})
		wantAWSCode(t, "CompleteMultipartUpload with a part never uploaded", err, "InvalidPart", 400)
		// A single small part is a valid (last) part.
		done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts[:1]}})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload with one small part: %v", err)
		}
		if got := awsMustGet(t, c, b, key); !bytes.Equal(got, payload(120, 1024)) || !strings.HasSuffix(aws.ToString(done.ETag), `-1"`) {
			t.Fatalf("single-part upload: %d bytes, ETag %s", len(got), aws.ToString(done.ETag))
		}
		_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String("bogus-upload-id"),
			PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
		wantAWSCode(t, "UploadPart with an unknown upload ID", err, "NoSuchUpload", 404)
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String("bogus-upload-id"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts[:1]}})
		wantAWSCode(t, "CompleteMultipartUpload with an unknown upload ID", err, "NoSuchUpload", 404)
		cr2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr2.UploadId,
			PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
		if err == nil || awsStatus(err) != 400 {
			t.Fatalf("UploadPart number 10001: %v, want a 400", err)
		}
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr2.UploadId}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CopyObject", func(t *testing.T) {
		ctx := testCtx(t)
		src := payload(105, 3000)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("cp/src"), Body: bytes.NewReader(src),
			ContentType: aws.String("text/x-src"), Metadata: map[string]string{"origin": "src"}}); err != nil {
			t.Fatal(err)
		}
		const other = "aws-copy-target"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
			t.Fatal(err)
		}
		co, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(other), Key: aws.String("cp/same"), CopySource: aws.String(b + "/cp/src")})
		if err != nil {
			t.Fatal(err)
		}
		if co.CopyObjectResult == nil || aws.ToString(co.CopyObjectResult.ETag) != quoted(md5Hex(src)) || co.CopyObjectResult.LastModified == nil {
			t.Fatalf("CopyObject result %+v", co.CopyObjectResult)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(other), Key: aws.String("cp/same")})
		if err != nil || aws.ToString(h.ContentType) != "text/x-src" || h.Metadata["origin"] != "src" {
			t.Fatalf("COPY directive: %v %v", h, err)
		}
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/replaced"), CopySource: aws.String(b + "/cp/src"),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/x-new"), Metadata: map[string]string{"fresh": "yes"}}); err != nil {
			t.Fatal(err)
		}
		h, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("cp/replaced")})
		if err != nil || aws.ToString(h.ContentType) != "text/x-new" || h.Metadata["fresh"] != "yes" || h.Metadata["origin"] != "" {
			t.Fatalf("REPLACE directive: type %q metadata %v, %v", aws.ToString(h.ContentType), h.Metadata, err)
		}
		if got := awsMustGet(t, c, b, "cp/replaced"); !bytes.Equal(got, src) {
			t.Fatal("copied content differs")
		}
		// Copying an object onto itself needs REPLACE.
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/src"), CopySource: aws.String(b + "/cp/src")})
		wantAWSCode(t, "CopyObject onto itself without REPLACE", err, "InvalidRequest", 400)
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/src"), CopySource: aws.String(b + "/cp/src"),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"origin": "self"}}); err != nil {
			t.Fatalf("CopyObject onto itself with REPLACE: %v", err)
		}
		h, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("cp/src")})
		if err != nil || h.Metadata["origin"] != "self" {
			t.Fatalf("self copy: %v %v", h.Metadata, err)
		}
		// A key with characters that need escaping in x-amz-copy-source.
		const odd = "cp/a b+c%d"
		awsPut(t, c, b, odd, src)
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/odd-copy"),
			CopySource: aws.String(b + "/" + strings.NewReplacer(" ", "%20", "+", "%2B", "%", "%25").Replace(odd))}); err != nil {
			t.Fatalf("CopyObject of %q: %v", odd, err)
		}
		if got := awsMustGet(t, c, b, "cp/odd-copy"); !bytes.Equal(got, src) {
			t.Fatal("copy of an escaped key differs")
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/x"), CopySource: aws.String(b + "/cp/src"),
			CopySourceIfNoneMatch: aws.String(quoted(md5Hex(src)))})
		wantAWSCode(t, "CopyObject with a failing copy-source-if-none-match", err, "PreconditionFailed", 412)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("cp/x"), CopySource: aws.String("no-such-bucket-here/k")})
		wantAWSCode(t, "CopyObject from a missing bucket", err, "NoSuchBucket", 404)
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(other), Key: aws.String("cp/same")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(other)}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Listing", func(t *testing.T) {
		ctx := testCtx(t)
		const lb = "aws-list"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lb)}); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for i := range 20 {
			keys = append(keys, fmt.Sprintf("obj-%02d", i))
		}
		keys = append(keys, "dir1/a", "dir1/b", "dir2/sub/c", "space key", "ünï/x")
		for _, k := range keys {
			awsPut(t, c, lb, k, []byte(k))
		}
		sorted := slices.Clone(keys)
		slices.Sort(sorted)

		// V2, paginated by 4.
		var got []string
		pages := 0
		pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(lb), MaxKeys: aws.Int32(4)})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if aws.ToInt32(page.KeyCount) != int32(len(page.Contents)) || len(page.Contents) > 4 {
				t.Fatalf("page %d: KeyCount %d, %d contents", pages, aws.ToInt32(page.KeyCount), len(page.Contents))
			}
			for _, o := range page.Contents {
				got = append(got, aws.ToString(o.Key))
				if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || aws.ToString(o.ETag) != quoted(md5Hex([]byte(aws.ToString(o.Key)))) ||
					o.LastModified == nil || o.StorageClass != types.ObjectStorageClassStandard {
					t.Fatalf("listed %s: size %d etag %s class %q", aws.ToString(o.Key), aws.ToInt64(o.Size), aws.ToString(o.ETag), o.StorageClass)
				}
			}
		}
		if !slices.Equal(got, sorted) || pages != (len(keys)+3)/4 {
			t.Fatalf("ListObjectsV2 by 4: %d pages %q; want %d pages %q", pages, got, (len(keys)+3)/4, sorted)
		}
		// V2 with a delimiter, paginated by 4: objects and prefixes share pages.
		var objs, prefixes []string
		pg = s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(lb), MaxKeys: aws.Int32(4), Delimiter: aws.String("/")})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(page.Contents) + len(page.CommonPrefixes); n > 4 || int32(n) != aws.ToInt32(page.KeyCount) {
				t.Fatalf("delimited page: %d entries, KeyCount %d", n, aws.ToInt32(page.KeyCount))
			}
			for _, o := range page.Contents {
				objs = append(objs, aws.ToString(o.Key))
			}
			for _, p := range page.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
		}
		wantObjs := slices.DeleteFunc(slices.Clone(sorted), func(k string) bool { return strings.Contains(k, "/") })
		if !slices.Equal(objs, wantObjs) || !slices.Equal(prefixes, []string{"dir1/", "dir2/", "ünï/"}) {
			t.Fatalf("delimited V2: objects %q prefixes %q", objs, prefixes)
		}
		// Prefix + delimiter, StartAfter, FetchOwner.
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(lb), Prefix: aws.String("dir2/"), Delimiter: aws.String("/")})
		if err != nil || len(out.Contents) != 0 || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "dir2/sub/" {
			t.Fatalf("prefix dir2/ delimited: %+v, %v", out, err)
		}
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(lb), StartAfter: aws.String("obj-17"), FetchOwner: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var after []string
		for _, o := range out.Contents {
			after = append(after, aws.ToString(o.Key))
			if o.Owner == nil || aws.ToString(o.Owner.ID) == "" {
				t.Fatalf("FetchOwner: %s without an owner", aws.ToString(o.Key))
			}
		}
		if !slices.Equal(after, []string{"obj-18", "obj-19", "space key", "ünï/x"}) {
			t.Fatalf("StartAfter obj-17: %q", after)
		}
		// V1 with Marker, by hand.
		var v1 []string
		marker := ""
		for range 20 {
			in := &s3.ListObjectsInput{Bucket: aws.String(lb), MaxKeys: aws.Int32(6)}
			if marker != "" {
				in.Marker = aws.String(marker)
			}
			page, err := c.ListObjects(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				v1 = append(v1, aws.ToString(o.Key))
			}
			if !aws.ToBool(page.IsTruncated) {
				break
			}
			marker = aws.ToString(page.NextMarker)
			if marker == "" {
				marker = v1[len(v1)-1]
			}
		}
		if !slices.Equal(v1, sorted) {
			t.Fatalf("ListObjects v1 by 6: %q", v1)
		}
		// V1 with a delimiter: NextMarker is set when truncated.
		page, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(lb), Delimiter: aws.String("/"), Prefix: aws.String("dir"), MaxKeys: aws.Int32(1)})
		if err != nil || !aws.ToBool(page.IsTruncated) || len(page.CommonPrefixes) != 1 || aws.ToString(page.NextMarker) != "dir1/" {
			t.Fatalf("v1 delimited page: truncated %v prefixes %v next %q, %v", aws.ToBool(page.IsTruncated), page.CommonPrefixes, aws.ToString(page.NextMarker), err)
		}

		t.Run("DeleteObjects", func(t *testing.T) {
			var ids []types.ObjectIdentifier
			for _, k := range keys {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			ids = append(ids, types.ObjectIdentifier{Key: aws.String("never-existed")})
			del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(lb), Delete: &types.Delete{Objects: ids}})
			if err != nil {
				t.Fatal(err)
			}
			var deleted []string
			for _, d := range del.Deleted {
				deleted = append(deleted, aws.ToString(d.Key))
			}
			slices.Sort(deleted)
			want := append(slices.Clone(sorted), "never-existed")
			slices.Sort(want)
			if len(del.Errors) != 0 || !slices.Equal(deleted, want) {
				t.Fatalf("DeleteObjects: deleted %q errors %+v", deleted, del.Errors)
			}
			out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(lb)})
			if err != nil || len(out.Contents) != 0 {
				t.Fatalf("after DeleteObjects: %d left, %v", len(out.Contents), err)
			}
			// Quiet mode answers nothing for successes.
			awsPut(t, c, lb, "q", []byte("q"))
			del, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(lb), Delete: &types.Delete{Quiet: aws.Bool(true),
				Objects: []types.ObjectIdentifier{{Key: aws.String("q")}}}})
			if err != nil || len(del.Deleted) != 0 || len(del.Errors) != 0 {
				t.Fatalf("quiet DeleteObjects: %+v, %v", del, err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(lb)}); err != nil {
				t.Fatal(err)
			}
			_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(lb), Delete: &types.Delete{Objects: ids[:1]}})
			wantAWSCode(t, "DeleteObjects in a missing bucket", err, "NoSuchBucket", 404)
		})
	})

	t.Run("Errors", func(t *testing.T) {
		ctx := testCtx(t)
		wrong, _ := newAWS(t, n, awsOpts{secret: "not-the-password"})
		_, err := wrong.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantAWSCode(t, "ListBuckets with a wrong secret", err, "SignatureDoesNotMatch", 403)
		_, err = wrong.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("nope"), Body: strings.NewReader("nope")})
		wantAWSCode(t, "PutObject with a wrong secret", err, "SignatureDoesNotMatch", 403)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("nope")})
		wantAWSCode(t, "HeadObject after a refused PutObject", err, "NotFound", 404)

		anon, _ := newAWS(t, n, awsOpts{anon: true})
		_, err = anon.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantAWSCode(t, "anonymous ListBuckets", err, "AccessDenied", 403)
		_, _, err = awsGet(t, anon, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged")})
		wantAWSCode(t, "anonymous GetObject", err, "AccessDenied", 403)

		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("no/such/key")})
		wantAWSCode(t, "GetObject missing key", err, "NoSuchKey", 404)
		_, _, err = awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), VersionId: aws.String("v123")})
		wantAWSCode(t, "GetObject with a versionId", err, "NoSuchVersion", 404)

		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"PutBucketVersioning", func() error {
				_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
					VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
				return err
			}},
			{"PutBucketPolicy", func() error {
				_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
				return err
			}},
			{"GetObjectTagging", func() error {
				_, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("ranged")})
				return err
			}},
			{"PutObjectTagging", func() error {
				_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("ranged"),
					Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
				return err
			}},
			{"GetBucketLifecycleConfiguration", func() error {
				_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)})
				return err
			}},
			{"GetObjectAttributes", func() error {
				_, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("ranged"),
					ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag}})
				return err
			}},
		} {
			wantAWSCode(t, tc.name, tc.call(), "NotImplemented", 501)
		}
		// If-None-Match takes only "*" on a write: any other value is
		// refused rather than ignored.
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("ranged"), Body: strings.NewReader("x"), IfNoneMatch: aws.String(`"0123"`)})
		wantAWSCode(t, "PutObject with If-None-Match an ETag", err, "NotImplemented", 501)
		if got := awsMustGet(t, c, b, "ranged"); !bytes.Equal(got, data) {
			t.Fatal("a refused conditional PutObject changed the object")
		}
	})
}

// TestAWSSDKTLSTrailers serves the node over TLS, where aws-sdk-go-v2
// sends its payloads as aws-chunked bodies with STREAMING-UNSIGNED-PAYLOAD-
// TRAILER and the checksum (CRC32 by default, or the ChecksumAlgorithm
// asked for) in a trailer, which the node must verify.
func TestAWSSDKTLSTrailers(t *testing.T) {
	ln, tlsCfg := localTLS(t)
	n := startLocal(t, func(c *Config) { c.Listener, c.Address = ln, ln.Addr().String() })
	rec := newRecorder(t, nil, tlsCfg)
	endpoint := "https://" + n.Addr()
	c, _ := newAWS(t, n, awsOpts{endpoint: endpoint, rec: rec})
	ctx := testCtx(t)
	const b = "aws-tls"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		algo    types.ChecksumAlgorithm
		trailer string
	}{
		{"", "x-amz-checksum-crc32"},
		{types.ChecksumAlgorithmCrc32c, "x-amz-checksum-crc32c"},
		{types.ChecksumAlgorithmSha256, "x-amz-checksum-sha256"},
		{types.ChecksumAlgorithmSha1, "x-amz-checksum-sha1"},
		{types.ChecksumAlgorithmCrc64nvme, "x-amz-checksum-crc64nvme"},
	} {
		key := "trailer/" + tc.trailer
		data := payload(uint64(200+i), 300<<10+i)
		// An unseekable body: the SDK streams it, the checksum known only
		// at the end.
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key),
			Body: io.MultiReader(bytes.NewReader(data)), ContentLength: aws.Int64(int64(len(data))), ChecksumAlgorithm: tc.algo})
		if err != nil {
			t.Fatalf("PutObject with %s trailer: %v", tc.trailer, err)
		}
		w := rec.last(t, http.MethodPut, "/"+key, "")
		if w.ContentSHA256 != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" || w.Trailer != tc.trailer ||
			!strings.Contains(w.ContentEncoding, "aws-chunked") || w.DecodedLength != fmt.Sprint(len(data)) {
			t.Fatalf("PutObject sent x-amz-content-sha256 %q, x-amz-trailer %q, Content-Encoding %q, decoded length %q; want an aws-chunked body with a %s trailer",
				w.ContentSHA256, w.Trailer, w.ContentEncoding, w.DecodedLength, tc.trailer)
		}
		got, out, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject %s: %d bytes, %v", key, len(got), err)
		}
		// aws-chunked is a transfer framing, not a stored content coding.
		if ce := aws.ToString(out.ContentEncoding); strings.Contains(ce, "aws-chunked") {
			t.Fatalf("GetObject %s: Content-Encoding %q", key, ce)
		}
	}
	// A multipart upload as s3/manager's uploader makes it: the upload
	// declares CRC32, every part carries it in a trailer, and the
	// completion lists the parts' checksums.
	const key = "trailer/multipart"
	big := payload(210, 6<<20+3)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, chunk := range [][]byte{big[:5<<20], big[5<<20:]} {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		crc := crc32.ChecksumIEEE(chunk)
		want := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
		if up.ChecksumCRC32 != nil && aws.ToString(up.ChecksumCRC32) != want {
			t.Fatalf("UploadPart %d answered ChecksumCRC32 %s, want %s", i+1, aws.ToString(up.ChecksumCRC32), want)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1)), ChecksumCRC32: aws.String(want)})
	}
	for _, w := range rec.find(http.MethodPut, "/"+key, "uploadId=") {
		if w.ContentSHA256 != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" || w.Trailer != "x-amz-checksum-crc32" {
			t.Fatalf("UploadPart sent x-amz-content-sha256 %q, trailer %q", w.ContentSHA256, w.Trailer)
		}
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	got, _, err := awsGet(t, c, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || sha256Hex(got) != sha256Hex(big) {
		t.Fatalf("multipart over TLS: %d bytes, %v, sha256 %s; want %d, %s", len(got), err, sha256Hex(got), len(big), sha256Hex(big))
	}
	// A presigned URL over https.
	pg, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pg.URL, "https://") {
		t.Fatalf("presigned URL %s", pg.URL)
	}
	status, _, body := httpDo(t, rec.client(), pg.Method, pg.URL, pg.SignedHeader, nil)
	if status != 200 || sha256Hex(body) != sha256Hex(big) {
		t.Fatalf("presigned GET over https: %d, %d bytes", status, len(body))
	}
}

// TestAWSSDKVirtualHost drives a node configured with Domains in
// virtual-host style (bucket.<domain>:port), every host dialled to the node.
func TestAWSSDKVirtualHost(t *testing.T) {
	const domain = "s3.gridstore.test"
	n := startLocal(t, func(c *Config) { c.Domains = []string{domain} })
	_, port, _ := strings.Cut(n.Addr(), ":")
	rec := newRecorder(t, dialTo(n.Addr()), nil)
	c, _ := newAWS(t, n, awsOpts{endpoint: "http://" + domain + ":" + port, vhost: true, rec: rec})
	ctx := testCtx(t)
	const b = "vhost-aws"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	w := rec.last(t, http.MethodPut, "/", "")
	if w.Host != b+"."+domain+":"+port {
		t.Fatalf("CreateBucket went to host %q, want %s.%s:%s", w.Host, b, domain, port)
	}
	data := payload(300, 54321)
	awsPut(t, c, b, "a/b c", data)
	if got := awsMustGet(t, c, b, "a/b c"); !bytes.Equal(got, data) {
		t.Fatalf("GetObject: %d bytes", len(got))
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("a/")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "a/b c" || aws.ToString(out.Name) != b {
		t.Fatalf("ListObjectsV2: %+v, %v", out, err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || !slices.ContainsFunc(lb.Buckets, func(x types.Bucket) bool { return aws.ToString(x.Name) == b }) {
		t.Fatalf("ListBuckets on the bare domain: %v", err)
	}
	pg, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pg.URL, "://"+b+"."+domain+":"+port+"/") {
		t.Fatalf("presigned URL %s is not virtual-host style", pg.URL)
	}
	status, _, body := httpDo(t, rec.client(), pg.Method, pg.URL, pg.SignedHeader, nil)
	if status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("virtual-host presigned GET: %d, %d bytes", status, len(body))
	}
	// The same object path style through the bare domain.
	pc, _ := newAWS(t, n, awsOpts{endpoint: "http://" + domain + ":" + port, rec: rec})
	if got := awsMustGet(t, pc, b, "a/b c"); !bytes.Equal(got, data) {
		t.Fatal("path-style GetObject on the domain differs")
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); awsStatus(err) != 404 {
		t.Fatalf("HeadBucket after DeleteBucket: %v", err)
	}
}

// TestAWSSDKCluster writes through one node of a two-node cluster and reads,
// lists and deletes through the other: one namespace, whichever node a
// client talks to.
func TestAWSSDKCluster(t *testing.T) {
	nodes := startCluster(t, 2, 2, nil)
	c0, _ := newAWS(t, nodes[0], awsOpts{})
	c1, _ := newAWS(t, nodes[1], awsOpts{})
	ctx := testCtx(t)
	const b = "aws-cluster"
	if _, err := c0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("HeadBucket on the other node: %v", err)
	}
	data := payload(400, 1<<20+7)
	put := awsPut(t, c0, b, "k", data)
	got, out, err := awsGet(t, c1, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Range: aws.String("bytes=1000-")})
	if err != nil || !bytes.Equal(got, data[1000:]) || aws.ToString(out.ETag) != aws.ToString(put.ETag) {
		t.Fatalf("ranged GetObject on the other node: %d bytes, %v", len(got), err)
	}
	lo, err := c1.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != "k" {
		t.Fatalf("ListObjectsV2 on the other node: %+v, %v", lo, err)
	}
	if _, err := c1.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	_, err = c0.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantAWSCode(t, "HeadObject on the first node after a delete on the second", err, "NotFound", 404)
	if _, err := c1.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	_, err = c0.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	wantAWSCode(t, "HeadBucket on the first node after DeleteBucket on the second", err, "NotFound", 404)
}
