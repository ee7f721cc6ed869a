package sigv2

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Names of the protocol.
const (
	// Algorithm is the word that opens a SigV2 Authorization header.
	Algorithm = "AWS"

	headerAuthorization = "Authorization"
	headerAmzDate       = "X-Amz-Date"
	headerDate          = "Date"
	headerContentMD5    = "Content-Md5"
	headerContentType   = "Content-Type"

	queryAccessKey = "AWSAccessKeyId"
	querySignature = "Signature"
	queryExpires   = "Expires"
)

// The SigV4 presigning parameters, to refuse a request that mixes both.
var v4QueryParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}

// Bounds on what the parsers accept, so that a hostile header costs little.
// A SigV2 signature is 28 base64 characters; a longer one is accepted by
// the parser only so that the mismatch is reported as one.
const (
	maxAuthorizationLength = 4096
	maxAccessKeyLength     = 128
	maxSignatureLength     = 128
)

// Signed reports whether r carries a SigV2 signature (an Authorization
// header "AWS ..." or the AWSAccessKeyId / Signature query parameters) and
// no SigV4 one, that is, whether Verify rather than sigv4's verifier is to
// authenticate it. Requests it does not claim keep going to SigV4, which
// also refuses the malformed and ambiguous ones (several Authorization
// headers): deciding here only on what is unmistakably SigV2 keeps the
// SigV4 path exactly as strict as it was.
func Signed(r *http.Request) bool {
	authz := r.Header.Values(headerAuthorization)
	switch len(authz) {
	case 0:
	case 1:
		s := strings.TrimSpace(authz[0])
		return s == Algorithm || strings.HasPrefix(s, Algorithm+" ")
	default:
		return false
	}
	v2 := false
	for piece := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(piece, "=")
		if strings.ContainsAny(k, "%+") {
			if u, err := url.QueryUnescape(k); err == nil {
				k = u
			}
		}
		switch k {
		case v4QueryParams[0], v4QueryParams[1], v4QueryParams[2]:
			return false
		case queryAccessKey, querySignature:
			v2 = true
		}
	}
	return v2
}

// parseAuthorization parses "AWS AccessKeyId:Signature". The access key is
// everything before the last ':', which base64 never contains, so an access
// key holding a ':' still parses.
func parseAuthorization(s string) (accessKey, signature string, err error) {
	invalid := func() error {
		return s3err.Newf(s3err.InvalidArgument, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
	}
	if len(s) > maxAuthorizationLength {
		return "", "", invalid()
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), Algorithm+" ")
	if !ok {
		return "", "", invalid()
	}
	rest = strings.TrimLeft(rest, " ")
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", "", invalid()
	}
	accessKey, signature = rest[:i], rest[i+1:]
	if !validAccessKey(accessKey) || !validSignature(signature) {
		return "", "", invalid()
	}
	return accessKey, signature, nil
}

// presigned holds the parsed authentication parameters of a presigned URL.
type presigned struct {
	accessKey string
	signature string
	// expiresRaw is Expires as sent (decoded): what the string to sign
	// holds in place of a date.
	expiresRaw string
	expires    time.Time
}

// parsePresigned reads AWSAccessKeyId, Signature and Expires (epoch
// seconds), each exactly once.
func parsePresigned(q url.Values) (presigned, error) {
	var p presigned
	for _, name := range []string{queryAccessKey, querySignature, queryExpires} {
		switch n := len(q[name]); {
		case n == 0:
			return p, s3err.Newf(s3err.AccessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
		case n > 1:
			return p, s3err.Newf(s3err.AccessDenied, "The query parameter %s is given %d times", name, n)
		}
	}
	p.accessKey, p.signature, p.expiresRaw = q.Get(queryAccessKey), q.Get(querySignature), q.Get(queryExpires)
	if !validAccessKey(p.accessKey) {
		return p, s3err.Newf(s3err.AccessDenied, "The AWSAccessKeyId parameter %q is not an access key", clip(p.accessKey))
	}
	if !validSignature(p.signature) {
		return p, s3err.Newf(s3err.AccessDenied, "The Signature parameter is not a base64 signature")
	}
	secs, ok := parseDecimal(p.expiresRaw)
	if !ok {
		return p, s3err.Newf(s3err.AccessDenied, "Invalid date (should be seconds since epoch): %s", clip(p.expiresRaw))
	}
	p.expires = time.Unix(secs, 0).UTC()
	return p, nil
}

// validAccessKey accepts printable ASCII without spaces: what an access key
// can be, and what can be quoted back in an error safely.
func validAccessKey(s string) bool {
	if s == "" || len(s) > maxAccessKeyLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validSignature accepts standard base64 characters.
func validSignature(s string) bool {
	if s == "" || len(s) > maxSignatureLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

// parseTime parses a Date or x-amz-date value: the HTTP date formats
// (RFC 1123 with GMT, RFC 850, asctime), RFC 1123 with a numeric zone
// ("+0000", as AWS's own SigV2 examples write it), and the ISO 8601 basic
// form SigV4 uses, which some clients keep in x-amz-date.
func parseTime(s string) (time.Time, bool) {
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC1123Z, "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseDecimal parses a non-negative decimal integer of at most 18 digits
// (no sign, no spaces: strconv would take "+5").
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// clip shortens what a client sent before it is quoted back in a message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
