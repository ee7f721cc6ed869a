package s3

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// metadataFromHeaders collects what a PUT, CreateMultipartUpload or a
// CopyObject with the REPLACE directive stores beside the object: the
// content headers and the x-amz-meta-* headers, keys lower-cased (HTTP
// header names are case-insensitive, and S3 returns them lower-case).
func metadataFromHeaders(h http.Header) (object.Metadata, error) {
	if err := limits.CheckUserMetadata(h); err != nil {
		return object.Metadata{}, err
	}
	m := object.Metadata{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    contentEncoding(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	for name, values := range h {
		if len(name) > len(object.UserMetadataPrefix) && strings.EqualFold(name[:len(object.UserMetadataPrefix)], object.UserMetadataPrefix) {
			if m.User == nil {
				m.User = map[string]string{}
			}
			m.User[strings.ToLower(name)] = strings.Join(values, ",")
		}
	}
	return m, nil
}

// contentEncoding drops "aws-chunked" from Content-Encoding: it describes
// the transfer of this request (sigv4 decodes it), not the object.
func contentEncoding(v string) string {
	if v == "" || !strings.Contains(strings.ToLower(v), "aws-chunked") {
		return v
	}
	var keep []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" && !strings.EqualFold(item, "aws-chunked") {
			keep = append(keep, item)
		}
	}
	return strings.Join(keep, ",")
}

// setObjectHeaders writes the headers that describe a version, for GET and
// HEAD: validators, content headers and user metadata. Content-Length and
// Content-Range are the caller's (they depend on the range).
func setObjectHeaders(h http.Header, info object.ObjectInfo) {
	h.Set("ETag", `"`+info.ETag+`"`)
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream" // what S3 answers for objects stored without one
	}
	h.Set("Content-Type", ct)
	for name, v := range map[string]string{
		"Content-Encoding":    info.ContentEncoding,
		"Content-Disposition": info.ContentDisposition,
		"Content-Language":    info.ContentLanguage,
		"Cache-Control":       info.CacheControl,
		"Expires":             info.Expires,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	// Straight into the map, lower case: Set would canonicalise the name
	// to X-Amz-Meta-Foo, and clients that do not fold case on read (boto3's
	// Metadata dict, keyed by what follows the prefix) would lose "foo".
	// Keys are stored lower case; lowering again covers objects written
	// through the layer directly.
	for k, v := range info.User {
		h[strings.ToLower(k)] = []string{v}
	}
}

// putOptions builds the options of a PUT or CreateMultipartUpload from its
// headers: metadata, Content-MD5 and storage class.
func (s *Server) putOptions(h http.Header) (object.PutOptions, error) {
	var opts object.PutOptions
	// Every object is private: a write asking for more is refused rather
	// than stored with less than it asked for.
	err := checkACLHeaders(h)
	if err != nil {
		return opts, err
	}
	if opts.Metadata, err = metadataFromHeaders(h); err != nil {
		return opts, err
	}
	if v := h.Get("Content-MD5"); v != "" {
		if opts.ContentMD5, err = sigv4.ParseContentMD5(v); err != nil {
			return opts, err
		}
	}
	if opts.Parity, err = s.parity(h.Get("X-Amz-Storage-Class")); err != nil {
		return opts, err
	}
	return opts, nil
}

// parity resolves a storage class to the parity to write with (0: the
// set's default).
func (s *Server) parity(class string) (int, error) {
	if class == "" {
		return 0, nil
	}
	if s.cfg.StorageClass == nil {
		if class == "STANDARD" {
			return 0, nil
		}
		return 0, s3err.Newf(s3err.InvalidStorageClass, "Storage class %q is not offered; use STANDARD.", clip(class))
	}
	p, err := s.cfg.StorageClass(class)
	if err != nil {
		return 0, s3err.Newf(s3err.InvalidStorageClass, "Storage class %q is not offered by this deployment.", clip(class)).WithCause(err)
	}
	return p, nil
}

// copySource parses x-amz-copy-source: "bucket/key" or "/bucket/key",
// URL-encoded, optionally with "?versionId=null" (the only version of an
// unversioned bucket).
func copySource(h http.Header) (bucket, key string, err error) {
	raw := h.Get("X-Amz-Copy-Source")
	path, query, _ := strings.Cut(raw, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil || len(q) != 1 || !q.Has("versionId") {
			return "", "", s3err.Newf(s3err.InvalidArgument, "Invalid copy source: only ?versionId may follow the key.")
		}
		if err := versionError("", "", q.Get("versionId")); err != nil {
			return "", "", err
		}
	}
	decoded, perr := url.PathUnescape(path)
	if perr != nil {
		return "", "", s3err.Newf(s3err.InvalidArgument, "Invalid copy source encoding.")
	}
	decoded = strings.TrimPrefix(decoded, "/")
	bucket, key, ok := strings.Cut(decoded, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", s3err.Newf(s3err.InvalidArgument, "Copy source must name a bucket and a key: bucket/key.")
	}
	if err := limits.CheckBucketName(bucket); err != nil {
		return "", "", err
	}
	if err := limits.CheckObjectName(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// checksumHeaderReader wraps body in a check of the x-amz-checksum-* header
// the request carries, if any; the mismatch shows at EOF (BadDigest). S3
// takes at most one such header.
func checksumHeaderReader(h http.Header, body io.Reader) (io.Reader, error) {
	name, value, err := checksumHeader(h)
	if err != nil || name == "" {
		return body, err
	}
	d, err := sigv4.NewChecksumReader(body, name, value)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// checksumHeader returns the x-amz-checksum-* header of a request (its
// lower-case name and value), or "" if it has none.
func checksumHeader(h http.Header) (name, value string, err error) {
	for _, alg := range sigv4.ChecksumAlgorithms() {
		v := h.Get(alg)
		if v == "" {
			continue
		}
		if name != "" {
			return "", "", s3err.Newf(s3err.InvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		name, value = alg, v
	}
	if name == "" {
		// An algorithm this server does not know is refused rather than
		// ignored: the client expects its data checked.
		for k := range h {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-checksum-") && !checksumParamHeader(lk) {
				return "", "", s3err.Newf(s3err.InvalidRequest, "Unsupported checksum header %s.", clip(k))
			}
		}
	}
	return name, value, nil
}

// checksumParamHeader reports the x-amz-checksum-* headers that qualify a
// checksum rather than carry one.
func checksumParamHeader(lower string) bool {
	switch lower {
	case "x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode":
		return true
	}
	return false
}

// echoChecksum answers the checksum the client sent, as a header or a
// trailer, as S3 does: SDKs keep it for the CompleteMultipartUpload.
func echoChecksum(out, in http.Header, body *sigv4.Body) {
	if name, value, err := checksumHeader(in); err == nil && name != "" {
		out.Set(name, strings.TrimSpace(value))
		return
	}
	if body != nil {
		if name, value := body.Checksum(); name != "" {
			out.Set(name, value)
		}
	}
}
