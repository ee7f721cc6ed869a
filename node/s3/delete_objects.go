package s3

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// deleteObjects answers DeleteObjects (POST ?delete): one result per key,
// each key deleted on its own, so one failure does not fail the others.
func (s *Server) deleteObjects(w http.ResponseWriter, r *http.Request, rq *request) error {
	del, err := s.decodeDeleteBody(r, rq)
	if err != nil {
		return err
	}
	// A missing bucket fails the request, as S3 answers it, rather than
	// every key.
	if err := s.bucketExists(r, rq); err != nil {
		return err
	}
	res := &s3xml.DeleteResult{}
	// Keys the request itself gets wrong are answered without asking the
	// layer; the others go to it in one call, which runs them in parallel.
	var keys []string
	var idx []int // idx[i] is the position in del.Objects of keys[i]
	failed := make([]*s3err.Error, len(del.Objects))
	for i, o := range del.Objects {
		if err := checkDeleteKey(o); err != nil {
			failed[i] = s.toS3(err, rq)
			continue
		}
		keys = append(keys, o.Key)
		idx = append(idx, i)
	}
	if len(keys) > 0 {
		for j, dr := range s.cfg.Objects.DeleteObjects(r.Context(), rq.bucket, keys) {
			if dr.Err != nil && j < len(idx) {
				failed[idx[j]] = s.toS3(fmt.Errorf("delete %s: %w", clip(dr.Name), dr.Err), rq)
			}
		}
	}
	for i, o := range del.Objects {
		switch e := failed[i]; {
		case e != nil:
			res.Errors = append(res.Errors, s3xml.DeleteError{Key: o.Key, VersionID: o.VersionID, Code: string(e.Code), Message: e.ClientMessage()})
		case !del.Quiet:
			res.Deleted = append(res.Deleted, s3xml.DeletedObject{Key: o.Key, VersionID: o.VersionID})
		}
	}
	return writeXML(w, res)
}

// decodeDeleteBody reads the Delete document. The decoder reads to the
// end of the body, where its digests are checked.
func (s *Server) decodeDeleteBody(r *http.Request, rq *request) (*s3xml.Delete, error) {
	body, err := checkedBody(r, rq)
	if err != nil {
		return nil, err
	}
	del, err := s3xml.DecodeDelete(body)
	if err != nil {
		return nil, fmt.Errorf("delete objects: %w", err)
	}
	return del, nil
}

// checkedBody is the body of a request whose document is read whole (not
// handed to the layer): checked against the Content-MD5 and
// x-amz-checksum-* headers if the client sent them, which fails the read
// at EOF (BadDigest).
func checkedBody(r *http.Request, rq *request) (io.Reader, error) {
	if rq.body == nil {
		return nil, s3err.New(s3err.MissingRequestBodyError)
	}
	var body io.Reader = rq.body
	if v := r.Header.Get("Content-MD5"); v != "" {
		md5r, err := sigv4.NewContentMD5Reader(body, v)
		if err != nil {
			return nil, err
		}
		body = md5r
	}
	return checksumHeaderReader(r.Header, body)
}

// checkDeleteKey judges one key of a DeleteObjects: a key the layer cannot
// hold, or a version other than the "null" one of an unversioned bucket,
// fails that key only.
func checkDeleteKey(o s3xml.ObjectIdentifier) error {
	if err := limits.CheckObjectName(o.Key); err != nil {
		return err
	}
	if o.VersionID == "" {
		return nil
	}
	return versionError("", o.Key, o.VersionID)
}
