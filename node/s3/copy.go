package s3

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// copyObject copies the object named by x-amz-copy-source into the
// request's bucket and key, on the server side.
func (s *Server) copyObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	pre, err := writePrecondition(r.Header)
	if err != nil {
		return err
	}
	if r.Header.Get("X-Amz-Copy-Source-Range") != "" {
		return s3err.Newf(s3err.InvalidArgument, "The x-amz-copy-source-range header is only allowed on UploadPartCopy.")
	}
	srcBucket, srcKey, err := copySource(r.Header)
	if err != nil {
		return err
	}
	opts, err := s.copyOptions(r.Header)
	if err != nil {
		return err
	}
	opts.Precondition = pre
	if hasCopySourceConditions(r.Header) {
		if err := s.checkCopySource(r, srcBucket, srcKey); err != nil {
			return err
		}
	}
	info, err := s.cfg.Objects.CopyObject(r.Context(), srcBucket, srcKey, rq.bucket, rq.key, opts)
	if err != nil {
		return s.copyFailed(r, srcBucket, srcKey, rq.bucket, err)
	}
	return writeXML(w, s3xml.CopyObjectResult{
		ETag:         s3xml.QuoteETag(info.ETag),
		LastModified: s3xml.Time(info.ModTime),
	})
}

// copyOptions reads the metadata directive and the storage class of a
// copy. COPY (the default) keeps the source's metadata and ignores the
// request's content headers, as S3 does; REPLACE takes them instead.
func (s *Server) copyOptions(h http.Header) (object.CopyOptions, error) {
	var opts object.CopyOptions
	if err := checkACLHeaders(h); err != nil {
		return opts, err
	}
	switch d := h.Get("X-Amz-Metadata-Directive"); {
	case d == "" || strings.EqualFold(d, "COPY"):
	case strings.EqualFold(d, "REPLACE"):
		m, err := metadataFromHeaders(h)
		if err != nil {
			return opts, err
		}
		opts.ReplaceMetadata, opts.Metadata = true, m
	default:
		return opts, s3err.Newf(s3err.InvalidArgument, "Unknown metadata directive %q: use COPY or REPLACE.", clip(d))
	}
	parity, err := s.parity(h.Get("X-Amz-Storage-Class"))
	if err != nil {
		return opts, err
	}
	opts.Parity = parity
	return opts, nil
}

// hasCopySourceConditions reports whether a copy has source conditions,
// so that the source is only looked up when they need it.
func hasCopySourceConditions(h http.Header) bool {
	for _, name := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if h.Get("X-Amz-Copy-Source-"+name) != "" {
			return true
		}
	}
	return false
}

// checkCopySource evaluates the copy-source conditions against the
// source's current version.
//
// This look and the copy are two views: the layer's CopyObject reads the
// source under a lock of its own and takes no source precondition (its
// Precondition is the destination's), so an
// overwrite of the source in between could be what is copied. That is
// accepted because the window is one metadata round trip, the client is
// racing its own (or another's) overwrite of the source, whose order
// relative to this copy it does not control anyway; and for a source
// stored in one piece the answer's ETag is the MD5 of the bytes copied, so
// a client that needs certainty can compare it with the ETag it asked for.
// Making it atomic needs the condition evaluated inside CopyObject, on the
// source reader's Info (a CopyOptions field the layer does not have).
func (s *Server) checkCopySource(r *http.Request, srcBucket, srcKey string) error {
	info, err := s.cfg.Objects.GetObjectInfo(r.Context(), srcBucket, srcKey)
	if err != nil {
		return sourceError(srcBucket, srcKey, fmt.Errorf("copy source: %w", err))
	}
	return checkCopySourceConditions(r.Header, info)
}

// copyFailed returns a copy's error with the bucket or key it is about:
// a missing object can only be the source, and a missing bucket is the
// source's if the source's is missing (the layer reads the source first),
// else the destination's.
func (s *Server) copyFailed(r *http.Request, srcBucket, srcKey, dstBucket string, err error) error {
	err = fmt.Errorf("copy object: %w", err)
	switch {
	case errors.Is(err, object.ErrPreconditionFailed):
		// About the destination (If-Match of an absent one is NoSuchKey).
		return err
	case errors.Is(err, object.ErrBucketNotFound):
		if srcBucket != dstBucket {
			if _, herr := s.cfg.Objects.HeadBucket(r.Context(), srcBucket); !errors.Is(herr, object.ErrBucketNotFound) {
				return &s3err.Error{Code: s3err.NoSuchBucket, BucketName: dstBucket, Err: err}
			}
		}
		return sourceError(srcBucket, srcKey, err)
	case errors.Is(err, object.ErrObjectNotFound):
		return sourceError(srcBucket, srcKey, err)
	}
	return err
}

// sourceError names the copy source in a not-found error; the request's
// own bucket and key, which the error would otherwise carry, are the
// destination's.
func sourceError(bucket, key string, err error) error {
	switch {
	case errors.Is(err, object.ErrBucketNotFound):
		return &s3err.Error{Code: s3err.NoSuchBucket, BucketName: bucket, Err: err}
	case errors.Is(err, object.ErrObjectNotFound):
		return &s3err.Error{Code: s3err.NoSuchKey, BucketName: bucket, Key: key, Err: err}
	}
	return err
}
