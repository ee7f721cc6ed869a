package s3

import (
	"net"
	"net/http"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// bucketAndKey finds the bucket and key of r: from the host when it is a
// subdomain of one of Config.Domains (virtual-host style), else from the
// first path segment (path style). The path is the decoded one, taken as
// is: S3 keys may contain "//", "./" or "../", which are not cleaned.
func (s *Server) bucketAndKey(r *http.Request) (bucket, key string, err error) {
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		return "", "", s3err.Newf(s3err.InvalidRequest, "The request path must start with /.")
	}
	if b, ok := s.virtualHostBucket(r.Host); ok {
		return b, path[1:], nil
	}
	bucket, key, _ = strings.Cut(path[1:], "/")
	if bucket == "" && key != "" {
		return "", "", s3err.Newf(s3err.InvalidBucketName, "The request names an object without a bucket.")
	}
	return bucket, key, nil
}

// virtualHostBucket returns the bucket a virtual-host-style host names.
func (s *Server) virtualHostBucket(host string) (string, bool) {
	if len(s.cfg.Domains) == 0 {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range s.cfg.Domains {
		d = strings.ToLower(d)
		if len(host) > len(d)+1 && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.' {
			return host[:len(host)-len(d)-1], true
		}
	}
	return "", false
}

// unsupportedSubresources are the query parameters that select S3
// operations gridstore does not implement. A request carrying any of them
// answers NotImplemented, whatever else it asks: serving it as the plain
// operation (a GET of ?acl as a GetObject) would answer something else than
// what the client asked for.
var unsupportedSubresources = []string{
	"accelerate", "analytics", "attributes", "cors", "encryption",
	"intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging",
	"metadataConfiguration", "metrics", "notification", "object-lock",
	"ownershipControls", "policy", "policyStatus", "publicAccessBlock",
	"rename", "replication", "requestPayment", "restore", "retention", "select",
	"session", "tagging", "torrent", "website",
}

// route picks the operation of a request from its method, bucket, key,
// query and, for copies, the x-amz-copy-source header. The API name is the
// S3 operation's, for metrics and logs.
func route(r *http.Request, rq *request) (string, handler) {
	q := rq.query
	for _, sub := range unsupportedSubresources {
		if q.Has(sub) {
			return "NotImplemented", notImplemented
		}
	}
	if api, h, ok := routeSubresource(r.Method, rq); ok {
		return api, h
	}
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case rq.bucket == "":
		if r.Method == http.MethodGet {
			return "ListBuckets", (*Server).listBuckets
		}
		return "NotImplemented", notImplemented

	case rq.key == "":
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket", (*Server).createBucket
		case http.MethodHead:
			return "HeadBucket", (*Server).headBucket
		case http.MethodDelete:
			return "DeleteBucket", (*Server).deleteBucket
		case http.MethodGet:
			switch {
			case q.Has("location"):
				return "GetBucketLocation", (*Server).getBucketLocation
			case q.Has("uploads"):
				return "ListMultipartUploads", (*Server).listMultipartUploads
			case q.Get("list-type") == "2":
				return "ListObjectsV2", (*Server).listObjectsV2
			case q.Has("list-type"):
				return "ListObjectsV2", badListType
			default:
				return "ListObjects", (*Server).listObjectsV1
			}
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteObjects", (*Server).deleteObjects
			}
		}
		return "NotImplemented", notImplemented
	}

	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId") && copySource:
			return "UploadPartCopy", (*Server).uploadPartCopy
		case q.Has("uploadId"):
			return "UploadPart", (*Server).uploadPart
		case copySource:
			return "CopyObject", (*Server).copyObject
		default:
			return "PutObject", (*Server).putObject
		}
	case http.MethodGet:
		if q.Has("uploadId") {
			return "ListParts", (*Server).listParts
		}
		return "GetObject", (*Server).getObject
	case http.MethodHead:
		return "HeadObject", (*Server).headObject
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload", (*Server).abortMultipartUpload
		}
		return "DeleteObject", (*Server).deleteObject
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "CreateMultipartUpload", (*Server).createMultipartUpload
		case q.Has("uploadId"):
			return "CompleteMultipartUpload", (*Server).completeMultipartUpload
		}
	}
	return "NotImplemented", notImplemented
}

// routeSubresource routes the subresources gridstore answers in part. A
// request for one of them is never the plain operation (a PUT of ?acl is
// not a PutObject), so what is not served here is NotImplemented; ok is
// false when the request names none of them.
func routeSubresource(method string, rq *request) (api string, h handler, ok bool) {
	q := rq.query
	onBucket := rq.bucket != "" && rq.key == ""
	onObject := rq.key != ""
	switch {
	case q.Has("versions"):
		if onBucket && method == http.MethodGet {
			return "ListObjectVersions", (*Server).listObjectVersions, true
		}
	case q.Has("versioning"):
		// PutBucketVersioning stays NotImplemented until versions exist.
		if onBucket && method == http.MethodGet {
			return "GetBucketVersioning", (*Server).getBucketVersioning, true
		}
	case q.Has("acl"):
		switch {
		case onBucket && method == http.MethodGet:
			return "GetBucketAcl", (*Server).getBucketACL, true
		case onBucket && method == http.MethodPut:
			return "PutBucketAcl", (*Server).putBucketACL, true
		case onObject && method == http.MethodGet:
			return "GetObjectAcl", (*Server).getObjectACL, true
		case onObject && method == http.MethodPut:
			return "PutObjectAcl", (*Server).putObjectACL, true
		}
	default:
		return "", nil, false
	}
	return "NotImplemented", notImplemented, true
}

// notImplemented answers an operation gridstore does not offer.
func notImplemented(_ *Server, _ http.ResponseWriter, _ *http.Request, _ *request) error {
	return s3err.Newf(s3err.NotImplemented, "gridstore does not implement this operation (see docs/s3-api.md).")
}

// badListType answers a ListObjects with a list-type other than 2.
func badListType(_ *Server, _ http.ResponseWriter, _ *http.Request, rq *request) error {
	return s3err.Newf(s3err.InvalidArgument, "Invalid list-type %q: only 2 is defined.", clip(rq.query.Get("list-type")))
}

// checkVersionID refuses a versionId parameter naming anything but the
// "null" version (see versionError).
func checkVersionID(rq *request) error {
	if !rq.query.Has("versionId") {
		return nil
	}
	return versionError(rq.bucket, rq.key, rq.query.Get("versionId"))
}

// versionError is the answer to a request for version id of bucket/key:
// buckets are unversioned, so the only version there is is the "null" one,
// and any other ID names a version that does not exist.
func versionError(bucket, key, id string) error {
	if id == nullVersionID {
		return nil
	}
	return &s3err.Error{Code: s3err.NoSuchVersion, BucketName: bucket, Key: key,
		Message: "The specified version does not exist (buckets are unversioned)."}
}
