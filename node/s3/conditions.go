package s3

import (
	"net/http"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// checkConditions evaluates the conditional headers of a GET or HEAD
// against the version being read, in the order RFC 9110 §13.2.2 gives
// (which is also S3's): If-Match, else If-Unmodified-Since, failing with
// 412 PreconditionFailed; then If-None-Match, else If-Modified-Since,
// failing with 304 Not Modified. A date that does not parse is ignored, as
// the RFC asks.
func checkConditions(h http.Header, info object.ObjectInfo) error {
	return evalConditions(h, "", info, s3err.NotModified)
}

// checkCopySourceConditions evaluates x-amz-copy-source-if-match,
// -if-none-match, -if-modified-since and -if-unmodified-since against the
// source of a copy. S3 fails a copy whose source conditions fail with 412
// whichever condition it was.
func checkCopySourceConditions(h http.Header, info object.ObjectInfo) error {
	return evalConditions(h, "X-Amz-Copy-Source-", info, s3err.PreconditionFailed)
}

func evalConditions(h http.Header, prefix string, info object.ObjectInfo, notModified s3err.Code) error {
	modTime := info.ModTime.Truncate(time.Second) // HTTP dates have seconds
	if v, ok := header(h, prefix+"If-Match"); ok {
		if !etagMatches(v, info.ETag) {
			return s3err.New(s3err.PreconditionFailed)
		}
	} else if t, ok := headerTime(h, prefix+"If-Unmodified-Since"); ok && modTime.After(t) {
		return s3err.New(s3err.PreconditionFailed)
	}
	if v, ok := header(h, prefix+"If-None-Match"); ok {
		if etagMatches(v, info.ETag) {
			return s3err.New(notModified)
		}
	} else if t, ok := headerTime(h, prefix+"If-Modified-Since"); ok && !modTime.After(t) {
		return s3err.New(notModified)
	}
	return nil
}

// header returns a header's value and whether it was sent (non-empty).
func header(h http.Header, name string) (string, bool) {
	v := h.Get(name)
	return v, v != ""
}

// headerTime parses an HTTP date header; false if absent or malformed.
func headerTime(h http.Header, name string) (time.Time, bool) {
	v, ok := header(h, name)
	if !ok {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// etagMatches reports whether an If-Match / If-None-Match list (comma
// separated, quoted or not, "*" for any, weak W/ prefixes compared weakly)
// names etag.
func etagMatches(list, etag string) bool {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if s3xml.UnquoteETag(item) == etag {
			return true
		}
	}
	return false
}

// writePrecondition reads the conditions of a write (PutObject,
// CopyObject's destination, CompleteMultipartUpload): If-None-Match: *
// (only if the object does not exist) and If-Match: ETags (only if it is
// that version). The object layer decides them under the object's write
// lock, with the commit, so they are a real compare-and-swap. If-None-Match
// with anything but "*" is refused, as S3 refuses it, rather than ignored.
// Empty headers count as absent, as for reads.
func writePrecondition(h http.Header) (object.Precondition, error) {
	var p object.Precondition
	if v := strings.TrimSpace(strings.Join(h.Values("If-None-Match"), ",")); v != "" {
		if v != "*" {
			return p, s3err.Newf(s3err.NotImplemented, "If-None-Match on a write takes only *.")
		}
		p.IfNoneMatch = true
	}
	for _, v := range h.Values("If-Match") {
		for item := range strings.SplitSeq(v, ",") {
			// A weak tag (W/"...") is kept as sent: writes compare strongly
			// (RFC 9110 §13.1.1), so it matches nothing.
			if item = strings.TrimSpace(item); item != "" {
				p.IfMatch = append(p.IfMatch, s3xml.UnquoteETag(item))
			}
		}
	}
	return p, nil
}
