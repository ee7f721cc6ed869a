package s3

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// createMultipartUpload answers CreateMultipartUpload (POST ?uploads): the
// object's metadata and storage class are fixed now, as S3 does, and the
// parts only bring bytes.
func (s *Server) createMultipartUpload(w http.ResponseWriter, r *http.Request, rq *request) error {
	opts, err := s.putOptions(r.Header)
	if err != nil {
		return err
	}
	id, err := s.cfg.Objects.NewMultipartUpload(r.Context(), rq.bucket, rq.key, opts)
	if err != nil {
		return fmt.Errorf("create multipart upload: %w", err)
	}
	return writeXML(w, &s3xml.InitiateMultipartUploadResult{Bucket: rq.bucket, Key: rq.key, UploadID: id})
}

// uploadPart answers UploadPart (PUT ?partNumber&uploadId).
func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, n, err := partParams(rq.query)
	if err != nil {
		return err
	}
	size := rq.auth.ContentLength
	if err := limits.CheckContentLength(size, limits.MaxPartSize); err != nil {
		return err
	}
	var opts object.PartOptions
	if v := r.Header.Get("Content-MD5"); v != "" {
		// The layer checks it, and keeps no part that fails it.
		if opts.ContentMD5, err = sigv4.ParseContentMD5(v); err != nil {
			return err
		}
	}
	data, err := payload(r, rq, size)
	if err != nil {
		return err
	}
	part, err := s.cfg.Objects.PutObjectPart(r.Context(), rq.bucket, rq.key, id, n, data, size, opts)
	if err != nil {
		return fmt.Errorf("upload part %d: %w", n, err)
	}
	h := w.Header()
	h.Set("ETag", s3xml.QuoteETag(part.ETag))
	echoChecksum(h, r.Header, rq.body)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// uploadPartCopy answers UploadPartCopy: a part whose bytes are (a range
// of) another object, read and written here, not through the client.
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, n, err := partParams(rq.query)
	if err != nil {
		return err
	}
	srcBucket, srcKey, err := copySource(r.Header)
	if err != nil {
		return err
	}
	rng, err := parseCopySourceRange(r.Header.Get("X-Amz-Copy-Source-Range"))
	if err != nil {
		return err
	}
	src, err := s.cfg.Objects.GetObject(r.Context(), srcBucket, srcKey, object.GetOptions{Range: rng})
	if err != nil {
		return partCopySourceError(err, srcBucket, srcKey)
	}
	// Close releases the source's read lock on every path, whatever the
	// part upload read of it.
	defer src.Close()
	info := src.Info()
	if rng != nil && rng.Last >= info.Size {
		// The layer clips a range past the end; S3 refuses it for copies.
		return fmt.Errorf("copy source range: %w", &object.RangeError{Range: *rng, Size: info.Size})
	}
	if err := checkCopySourceConditions(r.Header, info); err != nil {
		return err
	}
	_, length := src.Range()
	if err := limits.CheckContentLength(length, limits.MaxPartSize); err != nil {
		return err
	}
	part, err := s.cfg.Objects.PutObjectPart(r.Context(), rq.bucket, rq.key, id, n, src, length, object.PartOptions{})
	if err != nil {
		return fmt.Errorf("upload part %d copy: %w", n, err)
	}
	return writeXML(w, &s3xml.CopyPartResult{LastModified: s3xml.Time(part.ModTime), ETag: s3xml.QuoteETag(part.ETag)})
}

// partCopySourceError names the source in a missing-source error: the
// generic mapping would name the destination.
func partCopySourceError(err error, bucket, key string) error {
	switch {
	case errors.Is(err, object.ErrBucketNotFound):
		return &s3err.Error{Code: s3err.NoSuchBucket, BucketName: bucket, Err: err}
	case errors.Is(err, object.ErrObjectNotFound):
		return &s3err.Error{Code: s3err.NoSuchKey, BucketName: bucket, Key: key, Err: err}
	}
	return fmt.Errorf("copy source %s/%s: %w", bucket, clip(key), err)
}

// parseCopySourceRange reads x-amz-copy-source-range: "bytes=first-last",
// both ends given (S3 takes no open or suffix ranges here). nil if absent.
func parseCopySourceRange(v string) (*object.Range, error) {
	if v == "" {
		return nil, nil
	}
	bad := s3err.Newf(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return nil, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	first, ok1 := parseOffset(a)
	last, ok2 := parseOffset(b)
	if !ok || !ok1 || !ok2 || first > last {
		return nil, bad
	}
	return &object.Range{First: first, Last: last}, nil
}

// parseOffset reads a byte offset: decimal digits only (no sign, no
// spaces), as HTTP ranges have them.
func parseOffset(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// completeMultipartUpload answers CompleteMultipartUpload (POST ?uploadId).
func (s *Server) completeMultipartUpload(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := uploadIDParam(rq.query)
	if err != nil {
		return err
	}
	pre, err := writePrecondition(r.Header)
	if err != nil {
		return err
	}
	// Only Content-MD5 covers this request's body: its x-amz-checksum-*
	// headers are the checksum of the whole object (minio-go sends the
	// object's CRC32C with x-amz-checksum-type FULL_OBJECT), not of the
	// XML. The parts' bytes were checked as they were uploaded.
	if rq.body == nil {
		return s3err.New(s3err.MissingRequestBodyError)
	}
	var body io.Reader = rq.body
	if v := r.Header.Get("Content-MD5"); v != "" {
		if body, err = sigv4.NewContentMD5Reader(body, v); err != nil {
			return err
		}
	}
	doc, err := s3xml.DecodeCompleteMultipartUpload(body)
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	parts := make([]object.CompletePart, len(doc.Parts))
	for i, p := range doc.Parts {
		parts[i] = object.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	info, err := s.cfg.Objects.CompleteMultipartUpload(r.Context(), rq.bucket, rq.key, id, parts, object.CompleteOptions{Precondition: pre})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	return writeXML(w, &s3xml.CompleteMultipartUploadResult{
		Location: objectURL(r), Bucket: rq.bucket, Key: rq.key, ETag: s3xml.QuoteETag(info.ETag),
	})
}

// objectURL is the URL of the object a request addresses, as the client
// addressed it (path or virtual-host style).
func objectURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// abortMultipartUpload answers AbortMultipartUpload: 204, or NoSuchUpload.
func (s *Server) abortMultipartUpload(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := uploadIDParam(rq.query)
	if err != nil {
		return err
	}
	if err := s.cfg.Objects.AbortMultipartUpload(r.Context(), rq.bucket, rq.key, id); err != nil {
		return fmt.Errorf("abort multipart upload: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listParts answers ListParts (GET ?uploadId).
func (s *Server) listParts(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := uploadIDParam(rq.query)
	if err != nil {
		return err
	}
	marker, err := intParam(rq.query, "part-number-marker", 0)
	if err != nil {
		return err
	}
	maxParts, err := intParam(rq.query, "max-parts", limits.MaxListKeys)
	if err != nil {
		return err
	}
	// The layer takes 0 for its default; so does this answer.
	res, err := s.cfg.Objects.ListParts(r.Context(), rq.bucket, rq.key, id, marker, min(maxParts, limits.MaxListKeys))
	if err != nil {
		return fmt.Errorf("list parts: %w", err)
	}
	out := &s3xml.ListPartsResult{
		Bucket: rq.bucket, Key: rq.key, UploadID: id, Initiator: s.owner(), Owner: s.owner(),
		StorageClass: storageClassStandard, PartNumberMarker: marker,
		NextPartNumberMarker: res.NextPartNumberMarker, MaxParts: echoMax(maxParts, res.MaxParts),
		IsTruncated: res.IsTruncated,
	}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, s3xml.Part{
			PartNumber: p.Number, LastModified: s3xml.Time(p.ModTime), ETag: s3xml.QuoteETag(p.ETag), Size: p.Size,
		})
	}
	if len(out.Parts) > 0 {
		// AWS gives the page's last part number, truncated or not.
		out.NextPartNumberMarker = out.Parts[len(out.Parts)-1].PartNumber
	}
	return writeXML(w, out)
}

// echoMax is the page size a listing answers with: the one asked for, or
// the layer's default when the client asked for 0.
func echoMax(asked, used int) int {
	if asked == 0 {
		return used
	}
	return asked
}

// listMultipartUploads answers ListMultipartUploads (GET bucket?uploads).
func (s *Server) listMultipartUploads(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := rq.query
	enc, err := s3xml.ParseEncodingType(q.Get("encoding-type"))
	if err != nil {
		return err
	}
	maxUploads, err := intParam(q, "max-uploads", limits.MaxListKeys)
	if err != nil {
		return err
	}
	prefix, delimiter, keyMarker := q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker")
	// S3 ignores an upload-id-marker without a key-marker.
	idMarker := ""
	if keyMarker != "" {
		idMarker = q.Get("upload-id-marker")
	}
	res, err := s.cfg.Objects.ListMultipartUploads(r.Context(), rq.bucket, prefix, keyMarker, idMarker, delimiter, min(maxUploads, limits.MaxListKeys))
	if err != nil {
		return fmt.Errorf("list multipart uploads: %w", err)
	}
	out := &s3xml.ListMultipartUploadsResult{
		Bucket: rq.bucket, KeyMarker: keyMarker, UploadIDMarker: idMarker,
		Delimiter: delimiter, Prefix: prefix, EncodingType: enc,
		MaxUploads: echoMax(maxUploads, limits.MaxListKeys), IsTruncated: res.IsTruncated,
		CommonPrefixes: commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, s3xml.Upload{
			Key: u.Object, UploadID: u.UploadID, Initiator: s.owner(), Owner: s.owner(),
			StorageClass: storageClassStandard, Initiated: s3xml.Time(u.Initiated),
		})
	}
	out.ApplyEncodingType()
	return writeXML(w, out)
}

// uploadIDParam reads the uploadId parameter, which must name an upload.
func uploadIDParam(q url.Values) (string, error) {
	id := q.Get("uploadId")
	if id == "" {
		return "", s3err.Newf(s3err.InvalidArgument, "The uploadId parameter must name an upload.")
	}
	return id, nil
}

// partParams reads the uploadId and partNumber of UploadPart(Copy).
func partParams(q url.Values) (id string, part int, err error) {
	if id, err = uploadIDParam(q); err != nil {
		return "", 0, err
	}
	v := q.Get("partNumber")
	n, perr := strconv.Atoi(v)
	if perr != nil || n < 1 || n > limits.MaxPartNumber {
		return "", 0, s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between 1 and %d, inclusive; got %q.", limits.MaxPartNumber, clip(v))
	}
	return id, n, nil
}
