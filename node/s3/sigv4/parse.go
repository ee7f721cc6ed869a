package sigv4

import (
	"slices"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Bounds on what the parsers accept, so that a hostile header costs little.
const (
	maxAuthorizationLength = 4096
	maxSignedHeaders       = 64
	maxAccessKeyLength     = 128
)

// credential is a parsed "AK/20130524/us-east-1/s3/aws4_request".
type credential struct {
	accessKey, date, region, service string
}

func (c *credential) scope() string { return scopeString(c.date, c.region, c.service) }

// parseCredential parses a credential. The access key is everything before
// the last four elements, so an access key holding a '/' still parses.
func parseCredential(s string, code s3err.Code) (credential, error) {
	var c credential
	parts := strings.Split(s, "/")
	if len(parts) < 5 || len(s) > maxAccessKeyLength+64 {
		return c, s3err.Newf(code, "the credential %q is not of the form <access key>/<yyyyMMdd>/<region>/s3/aws4_request", clip(s))
	}
	n := len(parts)
	c.accessKey = parts[0]
	if n > 5 {
		c.accessKey = strings.Join(parts[:n-4], "/")
	}
	c.date, c.region, c.service = parts[n-4], parts[n-3], parts[n-2]
	switch {
	case c.accessKey == "" || len(c.accessKey) > maxAccessKeyLength:
		return c, s3err.Newf(code, "the credential %q has no valid access key", clip(s))
	case parts[n-1] != terminator:
		return c, s3err.Newf(code, "the credential %q does not end in %q", clip(s), terminator)
	case c.region == "":
		return c, s3err.Newf(code, "the credential %q has no region", clip(s))
	}
	if _, err := time.Parse(dateFormat, c.date); err != nil || len(c.date) != 8 {
		return c, s3err.Newf(code, "the credential date %q is not of the form yyyyMMdd", clip(c.date))
	}
	return c, nil
}

// parseSignedHeaders parses "host;range;x-amz-date": lower-case header
// names, no duplicates, host among them. The result is sorted (the
// canonical order), whatever order the client listed.
func parseSignedHeaders(s string, code s3err.Code) ([]string, error) {
	if s == "" {
		return nil, s3err.Newf(code, "SignedHeaders is empty")
	}
	names := strings.Split(s, ";")
	if len(names) > maxSignedHeaders {
		return nil, s3err.Newf(code, "more than %d signed headers", maxSignedHeaders)
	}
	for _, name := range names {
		if !validHeaderName(name) {
			return nil, s3err.Newf(code, "the signed header name %q is not a lower-case header name", clip(name))
		}
	}
	slices.Sort(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return nil, s3err.Newf(code, "the header %q is signed twice", names[i])
		}
	}
	if _, found := slices.BinarySearch(names, "host"); !found {
		return nil, s3err.Newf(code, "the host header must be signed")
	}
	return names, nil
}

// validHeaderName accepts lower-case HTTP token characters.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseSignature accepts 64 lower-case hex digits.
func parseSignature(s string, code s3err.Code) ([64]byte, error) {
	var sig [64]byte
	if !isLowerHex(s, 64) {
		return sig, s3err.Newf(code, "the signature %q is not 64 lower-case hex digits", clip(s))
	}
	copy(sig[:], s)
	return sig, nil
}

// authorization is a parsed Authorization header.
type authorization struct {
	cred          credential
	signedHeaders []string
	signature     [64]byte
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// with or without spaces after the commas, each of the three fields once.
func parseAuthorization(s string) (authorization, error) {
	const code = s3err.AuthorizationHeaderMalformed
	var a authorization
	if len(s) > maxAuthorizationLength {
		return a, s3err.Newf(code, "the Authorization header is longer than %d bytes", maxAuthorizationLength)
	}
	s = strings.TrimSpace(s)
	alg, rest, _ := strings.Cut(s, " ")
	switch alg {
	case Algorithm:
	case "AWS":
		return a, errSigV2()
	case "AWS4-ECDSA-P256-SHA256":
		return a, s3err.Newf(s3err.NotImplemented, "SigV4a (AWS4-ECDSA-P256-SHA256) is not supported")
	default:
		return a, s3err.Newf(code, "unsupported authorization algorithm %q; use %s", clip(alg), Algorithm)
	}
	var cred, signed, sig string
	var seen [3]bool
	for field := range strings.SplitSeq(rest, ",") {
		field = strings.TrimSpace(field)
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return a, s3err.Newf(code, "the Authorization field %q is not of the form key=value", clip(field))
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, val
		case "SignedHeaders":
			i, signed = 1, val
		case "Signature":
			i, sig = 2, val
		default:
			return a, s3err.Newf(code, "unknown Authorization field %q", clip(k))
		}
		if seen[i] {
			return a, s3err.Newf(code, "the Authorization field %s is given twice", k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return a, s3err.Newf(code, "the Authorization header must give Credential, SignedHeaders and Signature")
	}
	var err error
	if a.cred, err = parseCredential(cred, code); err != nil {
		return a, err
	}
	if a.signedHeaders, err = parseSignedHeaders(signed, code); err != nil {
		return a, err
	}
	if a.signature, err = parseSignature(sig, code); err != nil {
		return a, err
	}
	return a, nil
}

// presigned holds the parsed X-Amz-* parameters of a presigned URL.
type presigned struct {
	cred          credential
	amzDate       string
	date          time.Time
	expires       time.Duration
	signedHeaders []string
	signature     [64]byte
	contentSHA256 string
}

// parsePresigned parses the authentication parameters of a presigned URL.
// Each must be given exactly once; X-Amz-Expires is 1 to 604800 seconds.
func parsePresigned(query []param) (presigned, error) {
	const code = s3err.AuthorizationQueryParametersError
	var p presigned
	var algorithm, cred, date, expires, signed, sig string
	var found [6]bool
	for _, q := range query {
		var i int
		var dst *string
		switch q.key {
		case queryAlgorithm:
			i, dst = 0, &algorithm
		case queryCredential:
			i, dst = 1, &cred
		case queryDate:
			i, dst = 2, &date
		case queryExpires:
			i, dst = 3, &expires
		case querySignedHeaders:
			i, dst = 4, &signed
		case querySignature:
			i, dst = 5, &sig
		case queryContentSHA256:
			if p.contentSHA256 != "" {
				return p, s3err.Newf(code, "%s is given twice", q.key)
			}
			p.contentSHA256 = q.value
			continue
		default:
			continue
		}
		if found[i] {
			return p, s3err.Newf(code, "%s is given twice", q.key)
		}
		found[i] = true
		*dst = q.value
	}
	for _, f := range found {
		if !f {
			return p, s3err.Newf(code, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if algorithm != Algorithm {
		return p, s3err.Newf(code, "X-Amz-Algorithm only supports %q", Algorithm)
	}
	var err error
	if p.cred, err = parseCredential(cred, code); err != nil {
		return p, err
	}
	if p.date, err = time.Parse(timeFormat, date); err != nil || len(date) != len(timeFormat) {
		return p, s3err.Newf(code, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	p.amzDate = date
	if p.cred.date != date[:8] {
		return p, s3err.Newf(code, "Invalid credential date %q: it is not the date of X-Amz-Date %s", p.cred.date, date)
	}
	secs, ok := parseDecimal(expires)
	if !ok {
		return p, s3err.Newf(code, "X-Amz-Expires should be a number")
	}
	if secs < 1 || secs > int64(MaxPresignExpiry/time.Second) {
		return p, s3err.Newf(code, "X-Amz-Expires must be between 1 and %d seconds (a week)", int64(MaxPresignExpiry/time.Second))
	}
	p.expires = time.Duration(secs) * time.Second
	if p.signedHeaders, err = parseSignedHeaders(signed, code); err != nil {
		return p, err
	}
	if p.signature, err = parseSignature(sig, code); err != nil {
		return p, err
	}
	return p, nil
}
