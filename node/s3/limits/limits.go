// Package limits holds the size limits of gridstore's S3 API and the checks
// that refuse oversized or malformed requests early (DESIGN §7): before a
// handler reads a body, allocates for it, or hands a name to the object
// layer. Each check returns an *s3err.Error with the code S3 answers.
//
// The object layer enforces the limits that protect stored data itself
// (object.MaxObjectSize, object.MaxUserMetadataSize, and the drives' name
// rules); the same numbers are repeated here so that the S3 layer can
// answer before any work is done, and so that it does not import the
// object layer for constants.
package limits

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Limits, as S3 documents them unless said otherwise.
const (
	// MaxKeyLength is the longest object key, in bytes of UTF-8.
	MaxKeyLength = 1024
	// MinBucketNameLength and MaxBucketNameLength bound bucket names.
	MinBucketNameLength = 3
	MaxBucketNameLength = 63
	// MaxUserMetadataSize bounds the x-amz-meta-* headers of an object:
	// names (with their prefix, as the object layer counts them) and
	// values together.
	MaxUserMetadataSize = 2 << 10
	// MaxHeaderSectionSize is S3's limit on a request's header section (8
	// KiB), counted as names, values and the ": " and CRLF of each line.
	MaxHeaderSectionSize = 8 << 10
	// MaxHTTPHeaderBytes is for http.Server.MaxHeaderBytes: the hard cap
	// on the request line and headers net/http reads at all (it answers
	// 431 beyond it, without S3's XML). It is above MaxHeaderSectionSize
	// so that CheckHeaders, not net/http, refuses the requests in between
	// with an S3 error; and it leaves room for presigned URLs, whose
	// signature is in the request line.
	MaxHTTPHeaderBytes = 64 << 10
	// MaxObjectSize is the largest object (multipart); MaxPutObjectSize
	// the largest single PUT.
	MaxObjectSize    = 5 << 40
	MaxPutObjectSize = 5 << 30
	// MinPartSize and MaxPartSize bound parts of a multipart upload (the
	// last part may be smaller); part numbers run 1..MaxPartNumber.
	MinPartSize   = 5 << 20
	MaxPartSize   = 5 << 30
	MaxPartNumber = 10000
	// MaxDeleteObjects is the most keys of one DeleteObjects.
	MaxDeleteObjects = 1000
	// MaxListKeys is the most keys, uploads or parts one listing returns.
	MaxListKeys = 1000
)

// userMetadataPrefix starts the user metadata headers.
const userMetadataPrefix = "x-amz-meta-"

// CheckObjectName refuses a key S3 cannot take: empty (InvalidArgument),
// longer than MaxKeyLength (KeyTooLongError), or not UTF-8
// (InvalidObjectName). Every other key is stored as it is: "dir/", "a//b",
// "x/../y", control characters, a key beside keys under it. The drives map
// keys to their own paths (docs/namespace.md), so no key can reach another
// key's or the store's files.
func CheckObjectName(key string) error {
	switch {
	case key == "":
		return s3err.Newf(s3err.InvalidArgument, "The object key is empty.")
	case len(key) > MaxKeyLength:
		return &s3err.Error{Code: s3err.KeyTooLongError, Details: []s3err.Detail{
			{Name: "MaxSizeAllowed", Value: "1024"}, {Name: "Size", Value: itoa(len(key))}}}
	case !utf8.ValidString(key):
		return s3err.Newf(s3err.InvalidObjectName, "The object key is not valid UTF-8.")
	}
	return nil
}

// CheckBucketName refuses a bucket name S3's rules refuse
// (InvalidBucketName): 3 to 63 lower-case letters, digits, dots and
// hyphens, starting and ending with a letter or digit, no "..", not an IP
// address, none of the prefixes "xn--", "sthree-", "amzn-s3-demo-" nor the
// suffixes "-s3alias", "--ol-s3", ".mrap", "--x-s3" that S3 reserves.
func CheckBucketName(name string) error {
	if reason := bucketNameProblem(name); reason != "" {
		return &s3err.Error{Code: s3err.InvalidBucketName, Message: "The specified bucket is not valid: " + reason + ".", BucketName: clip(name)}
	}
	return nil
}

func bucketNameProblem(name string) string {
	if len(name) < MinBucketNameLength || len(name) > MaxBucketNameLength {
		return "it must be 3 to 63 characters long"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return "it must start and end with a letter or digit"
			}
		default:
			return "only lower-case letters, digits, dots and hyphens are allowed"
		}
	}
	switch {
	case strings.Contains(name, ".."):
		return "it must not contain two adjacent dots"
	case strings.Contains(name, ".-") || strings.Contains(name, "-."):
		return "a dot must not be next to a hyphen"
	case isIPv4(name):
		return "it must not be formatted as an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "the prefix " + p + " is reserved"
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(name, s) {
			return "the suffix " + s + " is reserved"
		}
	}
	return ""
}

// isIPv4 reports a dotted quad of decimal numbers (S3 refuses names that
// look like one, whatever the values).
func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// CheckUserMetadata refuses user metadata (x-amz-meta-* headers) larger
// than MaxUserMetadataSize (MetadataTooLarge), names with their prefix and
// values counted as the object layer counts them, and a header named just
// "x-amz-meta-" (InvalidArgument).
func CheckUserMetadata(h http.Header) error {
	size := 0
	for name, values := range h {
		if len(name) < len(userMetadataPrefix) || !strings.EqualFold(name[:len(userMetadataPrefix)], userMetadataPrefix) {
			continue
		}
		if len(name) == len(userMetadataPrefix) {
			return s3err.Newf(s3err.InvalidArgument, "A user metadata header needs a name after x-amz-meta-.")
		}
		for _, v := range values {
			size += len(name) + len(v)
		}
	}
	if size > MaxUserMetadataSize {
		return &s3err.Error{Code: s3err.MetadataTooLarge, Details: []s3err.Detail{
			{Name: "MaxSizeAllowed", Value: itoa(MaxUserMetadataSize)}, {Name: "Size", Value: itoa(size)}}}
	}
	return nil
}

// HeaderSectionSize is the size of r's header section as S3 counts it:
// "Name: value\r\n" for every value, the Host header included.
func HeaderSectionSize(r *http.Request) int {
	n := 0
	if r.Host != "" {
		n += len("Host: \r\n") + len(r.Host)
	}
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4
		}
	}
	return n
}

// CheckHeaders refuses a request whose header section is larger than
// MaxHeaderSectionSize (RequestHeaderSectionTooLarge).
func CheckHeaders(r *http.Request) error {
	if n := HeaderSectionSize(r); n > MaxHeaderSectionSize {
		return &s3err.Error{Code: s3err.RequestHeaderSectionTooLarge, Details: []s3err.Detail{
			{Name: "MaxSizeAllowed", Value: itoa(MaxHeaderSectionSize)}, {Name: "Size", Value: itoa(n)}}}
	}
	return nil
}

// CheckContentLength checks the length of a body the handler is about to
// read, before it reads it: MissingContentLength (411) if the length is
// unknown (-1: no Content-Length, or a chunked transfer encoding), and
// EntityTooLarge above max. length is the payload length (sigv4's
// Auth.ContentLength, which is the decoded length of an aws-chunked body).
func CheckContentLength(length, max int64) error {
	switch {
	case length < 0:
		return s3err.New(s3err.MissingContentLength)
	case length > max:
		return &s3err.Error{Code: s3err.EntityTooLarge, Details: []s3err.Detail{
			{Name: "MaxSizeAllowed", Value: itoa64(max)}, {Name: "ProposedSize", Value: itoa64(length)}}}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
