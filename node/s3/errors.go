package s3

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3err"
)

// objectErrors maps the object layer's sentinels to S3 codes, in the order
// they are tried (the first match wins; a quorum failure caused by a
// missing bucket already arrives as ErrBucketNotFound).
var objectErrors = []struct {
	err  error
	code s3err.Code
	msg  string // "" keeps the code's default message
}{
	{object.ErrBucketNotFound, s3err.NoSuchBucket, ""},
	// Before ErrPreconditionFailed: If-Match on an absent object is both,
	// and S3 answers it with 404 NoSuchKey.
	{object.ErrObjectNotFound, s3err.NoSuchKey, ""},
	{object.ErrPreconditionFailed, s3err.PreconditionFailed, ""},
	{object.ErrNoSuchUpload, s3err.NoSuchUpload, ""},
	{object.ErrBucketExists, s3err.BucketAlreadyOwnedByYou, ""},
	{object.ErrBucketNotEmpty, s3err.BucketNotEmpty, ""},
	{object.ErrInvalidBucketName, s3err.InvalidBucketName, ""},
	{object.ErrInvalidObjectName, s3err.InvalidObjectName, ""},
	{object.ErrInvalidRange, s3err.InvalidRange, ""},
	{object.ErrInvalidPartNumber, s3err.InvalidPartNumber, ""},
	{object.ErrIncompleteBody, s3err.IncompleteBody, ""},
	{object.ErrEntityTooLarge, s3err.EntityTooLarge, ""},
	{object.ErrEntityTooSmall, s3err.EntityTooSmall, ""},
	{object.ErrBadDigest, s3err.BadDigest, ""},
	{object.ErrMetadataTooLarge, s3err.MetadataTooLarge, ""},
	{object.ErrInvalidPart, s3err.InvalidPart, ""},
	{object.ErrInvalidPartOrder, s3err.InvalidPartOrder, ""},
	{object.ErrTooManyParts, s3err.InvalidArgument, "An upload has at most 10000 parts."},
	{object.ErrCopyToSelf, s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata."},
	{object.ErrInvalidArgument, s3err.InvalidArgument, ""},
	// Lost quorums and locks are the cluster's state, not the request's:
	// 503s that clients retry with backoff. Too few lock servers (nodes)
	// for a namespace lock arrives as a quorum error too: the same answer,
	// at once, rather than SlowDown after the lock timeout.
	{object.ErrReadQuorum, s3err.ServiceUnavailable, "Not enough drives or nodes are available to read this; please retry."},
	{object.ErrWriteQuorum, s3err.ServiceUnavailable, "Not enough drives or nodes are available to write this; please retry."},
	{object.ErrLockLost, s3err.SlowDown, "The write lost its lock to a concurrent request; please retry."},
	{object.ErrLockTimeout, s3err.SlowDown, "The object is busy (a concurrent write holds it); please retry."},
}

// toS3 turns a handler's error into the S3 error sent for it. Errors that
// already carry an S3 code (from sigv4, s3xml, limits or a handler) keep
// it; the object layer's sentinels are mapped; anything else is an
// InternalError, whose cause is logged and never sent.
func (s *Server) toS3(err error, rq *request) *s3err.Error {
	var e *s3err.Error
	var code s3err.Code
	switch {
	case errors.As(err, &e):
		// as is
	case errors.As(err, &code):
		e = s3err.Wrap(code, err)
	default:
		e = s3err.Wrap(s3err.InternalError, err)
		for _, m := range objectErrors {
			if errors.Is(err, m.err) {
				e.Code, e.Message = m.code, m.msg
				break
			}
		}
		// A client that stopped sending its body: the connection's stall
		// deadline (os.ErrDeadlineExceeded) or a context's.
		if e.Code == s3err.InternalError && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) {
			e.Code, e.Message = s3err.RequestTimeout, ""
		}
	}
	var re *object.RangeError
	if errors.As(err, &re) {
		e.Details = append(e.Details,
			s3err.Detail{Name: "RangeRequested", Value: re.Range.String()},
			s3err.Detail{Name: "ActualObjectSize", Value: strconv.FormatInt(re.Size, 10)})
	}
	if e.BucketName == "" && e.Code != s3err.InternalError {
		e.BucketName = rq.bucket
	}
	if e.Key == "" && rq.key != "" && (e.Code == s3err.NoSuchKey || e.Code == s3err.InvalidObjectName) {
		e.Key = rq.key
	}
	return e
}
