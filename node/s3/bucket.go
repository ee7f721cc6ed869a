package s3

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// owner is the owner every bucket, object and upload is shown with: there
// is one user, the root one.
func (s *Server) owner() *s3xml.Owner {
	return &s3xml.Owner{ID: s.cfg.Owner, DisplayName: s.cfg.Owner}
}

// maxBuckets is the largest max-buckets ListBuckets takes, as S3.
const maxBuckets = 10000

// listBuckets answers ListBuckets: the buckets whose names start with
// prefix, sorted by name, after the continuation token's bucket, at most
// max-buckets of them. Without max-buckets every bucket is in one page, as
// S3 answers accounts of up to 10000 buckets.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := rq.query
	prefix := q.Get("prefix")
	limit, err := maxBucketsParam(q)
	if err != nil {
		return err
	}
	after := ""
	if tok := q.Get("continuation-token"); tok != "" { // an empty one is none, as for ListObjectsV2
		if after, err = decodeBucketToken(tok); err != nil {
			return err
		}
	}
	buckets, err := s.cfg.Objects.ListBuckets(r.Context())
	if err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	res := &s3xml.ListAllMyBucketsResult{Owner: s.owner(), Prefix: prefix}
	for _, b := range buckets {
		if strings.HasPrefix(b.Name, prefix) && b.Name > after {
			res.Buckets.Bucket = append(res.Buckets.Bucket, s3xml.Bucket{Name: b.Name, CreationDate: s3xml.Time(b.Created)})
		}
	}
	// The layer merges its sets' lists; sort here so that the order S3
	// promises, which pages rely on, does not depend on how it merges.
	slices.SortFunc(res.Buckets.Bucket, func(a, b s3xml.Bucket) int { return strings.Compare(a.Name, b.Name) })
	if limit > 0 && len(res.Buckets.Bucket) > limit {
		res.Buckets.Bucket = res.Buckets.Bucket[:limit]
		res.ContinuationToken = encodeBucketToken(res.Buckets.Bucket[limit-1].Name)
	}
	return writeXML(w, res)
}

// maxBucketsParam reads max-buckets: 1 to maxBuckets, 0 if absent.
func maxBucketsParam(q url.Values) (int, error) {
	if !q.Has("max-buckets") {
		return 0, nil
	}
	v := q.Get("max-buckets")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxBuckets {
		return 0, s3err.Newf(s3err.InvalidArgument, "max-buckets must be an integer between 1 and %d, inclusive; got %q.", maxBuckets, clip(v))
	}
	return n, nil
}

// Bucket continuation tokens are opaque to clients: a version byte, then
// the name of the page's last bucket, base64url encoded. The version lets a
// later format be told apart.
const bucketTokenVersion = 1

func encodeBucketToken(name string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{bucketTokenVersion}, name...))
}

// decodeBucketToken returns the bucket name a token continues after. A
// token that is not one of ours is InvalidArgument: listing from the start
// instead would hand a paginator the same buckets twice.
func decodeBucketToken(tok string) (string, error) {
	bad := s3err.Newf(s3err.InvalidArgument, "The continuation token provided is incorrect.")
	// The longest valid token: a version byte and a 63-byte name.
	if len(tok) > base64.RawURLEncoding.EncodedLen(1+63) {
		return "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != bucketTokenVersion {
		return "", bad.WithCause(err)
	}
	name := string(b[1:])
	if err := limits.CheckBucketName(name); err != nil {
		return "", bad.WithCause(err)
	}
	return name, nil
}

// createBucket answers CreateBucket. Only what gridstore can honour is
// accepted: the server's own region, private ACLs, no object lock.
func (s *Server) createBucket(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkCreateBucketHeaders(r.Header); err != nil {
		return err
	}
	if err := s.checkCreateBucketBody(rq); err != nil {
		return err
	}
	if err := s.cfg.Objects.MakeBucket(r.Context(), rq.bucket); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	w.Header().Set("Location", "/"+rq.bucket)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkCreateBucketHeaders refuses the bucket features gridstore lacks,
// rather than creating a bucket that does not do what was asked.
func checkCreateBucketHeaders(h http.Header) error {
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Amz-Bucket-Object-Lock-Enabled")), "true") {
		return s3err.Newf(s3err.NotImplemented, "gridstore does not implement object lock.")
	}
	return checkACLHeaders(h)
}

// checkCreateBucketBody reads the optional CreateBucketConfiguration: the
// location constraint, if any, must be the server's region.
func (s *Server) checkCreateBucketBody(rq *request) error {
	if rq.body == nil {
		return nil
	}
	cfg, err := s3xml.DecodeCreateBucketConfiguration(rq.body)
	if err != nil {
		return fmt.Errorf("create bucket configuration: %w", err)
	}
	if lc := cfg.LocationConstraint; lc != "" && lc != s.cfg.Region {
		return &s3err.Error{Code: s3err.InvalidLocationConstraint, BucketName: rq.bucket,
			Message: fmt.Sprintf("The location constraint %q is not this server's region %q.", clip(lc), s.cfg.Region)}
	}
	return nil
}

// headBucket answers HeadBucket; errors go without a body (HEAD).
func (s *Server) headBucket(w http.ResponseWriter, r *http.Request, rq *request) error {
	if _, err := s.cfg.Objects.HeadBucket(r.Context(), rq.bucket); err != nil {
		return fmt.Errorf("head bucket: %w", err)
	}
	w.Header().Set("X-Amz-Bucket-Region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket answers DeleteBucket: 204, or BucketNotEmpty.
func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.cfg.Objects.DeleteBucket(r.Context(), rq.bucket); err != nil {
		return fmt.Errorf("delete bucket: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketLocation answers GetBucketLocation. As AWS does, us-east-1 is
// an empty constraint (the region that predates constraints); SDKs map the
// empty answer back to us-east-1.
func (s *Server) getBucketLocation(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.bucketExists(r, rq); err != nil {
		return err
	}
	loc := s.cfg.Region
	if loc == sigv4.DefaultRegion {
		loc = ""
	}
	return writeXML(w, &s3xml.LocationConstraint{Location: loc})
}

// getBucketVersioning answers GetBucketVersioning: buckets have never had
// versioning, which S3 says with an empty configuration (no Status).
// Clean-up tools (rclone purge) ask before they delete.
func (s *Server) getBucketVersioning(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.bucketExists(r, rq); err != nil {
		return err
	}
	return writeXML(w, &s3xml.VersioningConfiguration{})
}

// bucketExists fails with NoSuchBucket (or the layer's error) unless the
// request's bucket exists.
func (s *Server) bucketExists(r *http.Request, rq *request) error {
	if _, err := s.cfg.Objects.HeadBucket(r.Context(), rq.bucket); err != nil {
		return fmt.Errorf("bucket %s: %w", rq.bucket, err)
	}
	return nil
}
