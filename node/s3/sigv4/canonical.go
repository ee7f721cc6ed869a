package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Formats of the two times SigV4 writes: the request timestamp (X-Amz-Date,
// ISO 8601 basic) and the scope date.
const (
	timeFormat = "20060102T150405Z"
	dateFormat = "20060102"
)

// unreserved reports the bytes RFC 3986 leaves unencoded, the only ones
// SigV4's URI encoding keeps as they are.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEncoded appends s URI-encoded as SigV4 wants it: every byte but the
// unreserved ones as %XX with upper-case hex; '/' is kept when keepSlash
// (path separators), encoded otherwise (inside a segment or a query value).
func appendEncoded(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

// needsEncoding reports whether appendEncoded would change s.
func needsEncoding(s string, keepSlash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && !(keepSlash && c == '/') {
			return true
		}
	}
	return false
}

// appendCanonicalURI appends the canonical URI of a request path: the path
// as the client meant it, each segment decoded and encoded once. S3 is the
// one service that neither normalises the path ("." and ".." and "//"
// stay: they are part of object keys) nor encodes it twice.
//
// escaped is the path as sent (url.URL.EscapedPath), decoded here segment by
// segment, so that "%2F" inside a key stays an encoded slash rather than
// becoming a separator; decoded (url.URL.Path) is used when escaped does not
// decode.
func appendCanonicalURI(b []byte, escaped, decoded string) []byte {
	if escaped == "" {
		return append(b, '/')
	}
	if !needsEncoding(escaped, true) {
		return append(b, escaped...)
	}
	start := len(b)
	for i, seg := range strings.Split(escaped, "/") {
		if i > 0 {
			b = append(b, '/')
		}
		raw, err := url.PathUnescape(seg)
		if err != nil {
			return appendEncoded(b[:start], decoded, true)
		}
		b = appendEncoded(b, raw, false)
	}
	return b
}

// param is one query parameter, decoded.
type param struct{ key, value string }

// parseQuery splits a raw query into its parameters, decoded as forms are
// ('+' is a space): "a&b=&a=2" gives a="", b="", a="2". Empty pieces
// ("a&&b") are skipped, as url.ParseQuery does. A parameter that does not
// decode is an error: the signature could not be checked against what the
// client meant.
func parseQuery(raw string) ([]param, error) {
	if raw == "" {
		return nil, nil
	}
	out := make([]param, 0, strings.Count(raw, "&")+1)
	for piece := range strings.SplitSeq(raw, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		out = append(out, param{key, value})
	}
	return out, nil
}

// appendCanonicalQuery appends the canonical query string: every parameter
// but the one named skip (the presigned signature), key and value encoded,
// sorted by encoded key and then encoded value, joined with '&'; a key
// without a value is "key=".
func appendCanonicalQuery(b []byte, params []param, skip string) []byte {
	if len(params) == 0 {
		return b
	}
	enc := make([]param, 0, len(params))
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		enc = append(enc, param{encode(p.key), encode(p.value)})
	}
	slices.SortFunc(enc, func(x, y param) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range enc {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.key...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	return b
}

func encode(s string) string {
	if !needsEncoding(s, false) {
		return s
	}
	return string(appendEncoded(make([]byte, 0, len(s)+16), s, false))
}

// headerValues returns the values of a signed header as the server received
// them. Go's server takes a few headers out of Request.Header; their
// values are restored from where it put them, as the client sent them.
func headerValues(r *http.Request, name string) ([]string, bool) {
	if vs := r.Header.Values(name); len(vs) > 0 {
		return vs, true
	}
	switch name {
	case "host":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		return []string{host}, host != ""
	case "content-length":
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}, true
		}
	case "expect":
		// net/http answers and removes "Expect: 100-continue", the only
		// expectation it accepts.
		return []string{"100-continue"}, true
	}
	return nil, false
}

// appendHeaderValue appends a header value trimmed, with each run of
// spaces and tabs inside collapsed to one space.
func appendHeaderValue(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return b
}

// canonicalInput is what a canonical request is built from.
type canonicalInput struct {
	method        string
	escapedPath   string
	path          string
	query         []param
	skipQuery     string   // presigned: X-Amz-Signature
	signedHeaders []string // sorted, lower case
	payloadHash   string
}

// appendCanonicalRequest appends the canonical request of r. It reports
// the first signed header the request does not carry.
func appendCanonicalRequest(b []byte, r *http.Request, in *canonicalInput) ([]byte, string) {
	b = append(b, in.method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, in.escapedPath, in.path)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, in.query, in.skipQuery)
	b = append(b, '\n')
	for _, name := range in.signedHeaders {
		vs, ok := headerValues(r, name)
		if !ok {
			return b, name
		}
		b = append(b, name...)
		b = append(b, ':')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHeaderValue(b, v)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range in.signedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	b = append(b, in.payloadHash...)
	return b, ""
}

// appendStringToSign appends the string to sign of a canonical request.
func appendStringToSign(b []byte, amzDate, scope string, canonicalRequest []byte) []byte {
	sum := sha256.Sum256(canonicalRequest)
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	return hex.AppendEncode(b, sum[:])
}

// scopeString is "date/region/service/aws4_request".
func scopeString(date, region, service string) string {
	return date + "/" + region + "/" + service + "/" + terminator
}

// signingKey derives the SigV4 key of a secret for one day, region and
// service: HMAC("AWS4"+secret, date) -> region -> service -> "aws4_request".
func signingKey(secret, date, region, service string) [32]byte {
	k := hmacSum([]byte("AWS4"+secret), []byte(date))
	k = hmacSum(k[:], []byte(region))
	k = hmacSum(k[:], []byte(service))
	return hmacSum(k[:], []byte(terminator))
}

// signature is the hex HMAC-SHA256 of a string to sign under a signing key.
func signature(key *[32]byte, msg []byte) [64]byte {
	sum := hmacSum(key[:], msg)
	var out [64]byte
	hex.Encode(out[:], sum[:])
	return out
}

// hmacSum is HMAC-SHA256 (RFC 2104), computed by hand in stack buffers
// when the message is short, as strings to sign are: crypto/hmac allocates
// its state on every use, which was most of the allocations of a
// verification. Long messages and keys go through crypto/hmac.
func hmacSum(key, msg []byte) [32]byte {
	const block = sha256.BlockSize
	var buf [block + 512]byte
	if len(key) > block || len(msg) > len(buf)-block {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		var sum [32]byte
		m.Sum(sum[:0])
		return sum
	}
	copy(buf[:block], key)
	for i := range block {
		buf[i] ^= 0x36
	}
	n := copy(buf[block:], msg)
	inner := sha256.Sum256(buf[:block+n])
	for i := range block {
		buf[i] ^= 0x36 ^ 0x5c
	}
	copy(buf[block:], inner[:])
	return sha256.Sum256(buf[:block+len(inner)])
}

// formatTime is t as X-Amz-Date writes it.
func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }
