package sigv4

import (
	"crypto/hmac"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Names and values of the protocol.
const (
	// Algorithm is the only signing algorithm accepted.
	Algorithm = "AWS4-HMAC-SHA256"
	// Service is the service name of every S3 credential scope.
	Service = "s3"
	// DefaultRegion is the region a Verifier with none configured expects.
	DefaultRegion = "us-east-1"

	// UnsignedPayload: the body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPayload: aws-chunked body, every chunk signed.
	StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingPayloadTrailer: signed chunks, then signed trailing headers.
	StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedPayloadTrailer: aws-chunked body without chunk
	// signatures, followed by a trailing checksum.
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// EmptySHA256 is the hex SHA-256 of an empty body.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// MaxSkew is how far a request's time may be from the server's.
	MaxSkew = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires S3 accepts (7 days).
	MaxPresignExpiry = 7 * 24 * time.Hour

	terminator = "aws4_request"
)

// Header and query parameter names.
const (
	headerAuthorization        = "Authorization"
	headerDate                 = "X-Amz-Date"
	headerContentSHA256        = "X-Amz-Content-Sha256"
	headerDecodedContentLength = "X-Amz-Decoded-Content-Length"
	headerTrailer              = "X-Amz-Trailer"

	queryAlgorithm     = "X-Amz-Algorithm"
	queryCredential    = "X-Amz-Credential"
	queryDate          = "X-Amz-Date"
	queryExpires       = "X-Amz-Expires"
	querySignedHeaders = "X-Amz-SignedHeaders"
	querySignature     = "X-Amz-Signature"
	queryContentSHA256 = "X-Amz-Content-Sha256"
)

// Credentials finds the secret key of an access key.
type Credentials interface {
	SecretKey(accessKey string) (secret string, ok bool)
}

// StaticCredentials maps access keys to secret keys.
type StaticCredentials map[string]string

// SecretKey implements Credentials.
func (c StaticCredentials) SecretKey(accessKey string) (string, bool) {
	s, ok := c[accessKey]
	return s, ok
}

// PayloadMode says how the body of a verified request is protected, from
// its x-amz-content-sha256.
type PayloadMode int

// Payload modes.
const (
	// PayloadUnsigned: UNSIGNED-PAYLOAD; the body is not covered.
	PayloadUnsigned PayloadMode = iota
	// PayloadSHA256: the body's hex SHA-256 was signed; Body checks it at EOF.
	PayloadSHA256
	// PayloadStreaming: STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
	PayloadStreaming
	// PayloadStreamingTrailer: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
	PayloadStreamingTrailer
	// PayloadStreamingUnsignedTrailer: STREAMING-UNSIGNED-PAYLOAD-TRAILER.
	PayloadStreamingUnsignedTrailer
)

var payloadNames = [...]string{UnsignedPayload, "SHA256", StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer}

func (m PayloadMode) String() string {
	if m >= 0 && int(m) < len(payloadNames) {
		return payloadNames[m]
	}
	return "PayloadMode(" + strconv.Itoa(int(m)) + ")"
}

// Chunked reports whether the body is aws-chunked encoded.
func (m PayloadMode) Chunked() bool { return m >= PayloadStreaming }

// Auth is a verified request: who signed it and how its body is to be read.
type Auth struct {
	// AccessKey is the access key that signed the request.
	AccessKey string
	// Time is the signing time (X-Amz-Date, or Date); zero for a SigV2
	// presigned URL, which has none.
	Time time.Time
	// Presigned reports query-string authentication; Expires is then the
	// end of the URL's validity.
	Presigned bool
	Expires   time.Time
	// SignedHeaders are the lower-case names the signature covers, sorted.
	SignedHeaders []string
	// Payload says how the body is protected; PayloadHash is
	// x-amz-content-sha256 as sent (UNSIGNED-PAYLOAD for a presigned URL
	// that gives none).
	Payload     PayloadMode
	PayloadHash string
	// ContentLength is the number of payload bytes Body yields:
	// x-amz-decoded-content-length for aws-chunked bodies (-1 if an
	// unsigned-trailer request gave none), else the request's
	// Content-Length (-1 if unknown).
	ContentLength int64
	// Trailer is the trailing checksum header declared by x-amz-trailer
	// (lower case, e.g. "x-amz-checksum-crc32"), or "".
	Trailer string

	key     [32]byte // signing key of the request's scope
	seed    [64]byte // the request's signature, first link of the chunk chain
	amzDate string
	scope   string
}

// Verifier checks SigV4 signatures of S3 requests. Set its fields, then use
// it from any number of goroutines; it must not be copied after first use
// (it caches signing keys).
type Verifier struct {
	// Region is the region credentials must be scoped to; "" means
	// DefaultRegion.
	Region string
	// Credentials looks access keys up.
	Credentials Credentials
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds the distance between a request's time and Now; 0
	// means MaxSkew (15 minutes).
	MaxSkew time.Duration

	mu   sync.Mutex
	keys map[keyID]cachedKey
}

// keyID names one signing key: a credential's secret for one day and region.
type keyID struct{ accessKey, date, region string }

type cachedKey struct {
	secret string
	key    [32]byte
}

// maxCachedKeys bounds the key cache: a key lives one day, so a cache of
// that many access keys a day is enough for anyone; it is emptied when full.
const maxCachedKeys = 4096

func (v *Verifier) region() string {
	if v.Region == "" {
		return DefaultRegion
	}
	return v.Region
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return MaxSkew
}

// signingKey returns the key of a credential for a day, from the cache if
// the secret has not changed since it was derived. Deriving costs four
// HMACs; a cached key saves most of the cost of verifying a request.
func (v *Verifier) signingKey(accessKey, secret, date, region string) [32]byte {
	id := keyID{accessKey, date, region}
	v.mu.Lock()
	c, ok := v.keys[id]
	v.mu.Unlock()
	if ok && c.secret == secret {
		return c.key
	}
	key := signingKey(secret, date, region, Service)
	v.mu.Lock()
	if v.keys == nil || len(v.keys) >= maxCachedKeys {
		v.keys = make(map[keyID]cachedKey)
	}
	v.keys[id] = cachedKey{secret, key}
	v.mu.Unlock()
	return key
}

// Verify authenticates r, in the header or the presigned form. It reads
// only the request line and headers; the body is checked as it is read,
// through Auth.Body. Errors are *s3err.Error: anonymous requests get
// AccessDenied, and so on (see the package documentation).
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	if v.Credentials == nil {
		return nil, s3err.Newf(s3err.InternalError, "no credentials configured")
	}
	authz := r.Header.Values(headerAuthorization)
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, s3err.Newf(s3err.InvalidArgument, "the query string is not validly encoded").WithCause(err)
	}
	presigned, v2 := false, false
	for _, p := range query {
		switch p.key {
		case queryAlgorithm, queryCredential, querySignature:
			presigned = true
		case "AWSAccessKeyId", "Signature":
			v2 = true
		}
	}
	switch {
	case len(authz) > 0 && presigned:
		return nil, s3err.Newf(s3err.InvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return nil, s3err.Newf(s3err.AuthorizationHeaderMalformed, "more than one Authorization header")
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0], query)
	case presigned:
		return v.verifyPresigned(r, query)
	case v2:
		return nil, errSigV2()
	}
	return nil, s3err.Newf(s3err.AccessDenied, "Anonymous access is not allowed; sign the request with AWS Signature Version 4")
}

func errSigV2() *s3err.Error {
	return s3err.Newf(s3err.InvalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
}

// verifyHeader checks the Authorization header form.
func (v *Verifier) verifyHeader(r *http.Request, authz string, query []param) (*Auth, error) {
	h, err := parseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(&h.cred, s3err.AuthorizationHeaderMalformed); err != nil {
		return nil, err
	}
	// The time: X-Amz-Date, else Date.
	var t time.Time
	amzDate, err := singleHeader(r, headerDate)
	if err != nil {
		return nil, err
	}
	if amzDate != "" {
		if t, err = time.Parse(timeFormat, amzDate); err != nil || len(amzDate) != len(timeFormat) {
			return nil, s3err.Newf(s3err.AccessDenied, "X-Amz-Date %q is not in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'", clip(amzDate))
		}
	} else {
		date := r.Header.Get("Date")
		if date == "" {
			return nil, s3err.Newf(s3err.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
		}
		if t, err = http.ParseTime(date); err != nil {
			return nil, s3err.Newf(s3err.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
		}
		amzDate = formatTime(t)
	}
	if h.cred.date != amzDate[:8] {
		return nil, s3err.Newf(s3err.AuthorizationHeaderMalformed, "Invalid credential date %q: it is not the date of the request time %s", h.cred.date, amzDate)
	}
	secret, ok := v.Credentials.SecretKey(h.cred.accessKey)
	if !ok {
		return nil, &s3err.Error{Code: s3err.InvalidAccessKeyID, Details: []s3err.Detail{{Name: "AWSAccessKeyId", Value: h.cred.accessKey}}}
	}
	now := v.now()
	if d := now.Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, &s3err.Error{Code: s3err.RequestTimeTooSkewed, Details: []s3err.Detail{
			{Name: "RequestTime", Value: amzDate},
			{Name: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
			{Name: "MaxAllowedSkewMilliseconds", Value: strconv.FormatInt(v.maxSkew().Milliseconds(), 10)},
		}}
	}

	payloadHash, err := singleHeader(r, headerContentSHA256)
	if err != nil {
		return nil, err
	}
	if payloadHash == "" {
		return nil, s3err.Newf(s3err.InvalidRequest, "Missing required header for this request: x-amz-content-sha256")
	}
	a := &Auth{AccessKey: h.cred.accessKey, Time: t, SignedHeaders: h.signedHeaders, PayloadHash: payloadHash,
		ContentLength: r.ContentLength, amzDate: amzDate, scope: h.cred.scope()}
	if err := a.setPayload(r, payloadHash, false); err != nil {
		return nil, err
	}
	if err := checkUnsigned(r, h.signedHeaders); err != nil {
		return nil, err
	}
	a.key = v.signingKey(h.cred.accessKey, secret, h.cred.date, h.cred.region)
	in := canonicalInput{method: r.Method, escapedPath: r.URL.EscapedPath(), path: r.URL.Path, query: query,
		signedHeaders: h.signedHeaders, payloadHash: payloadHash}
	if err := a.check(r, &in, h.signature[:]); err != nil {
		return nil, err
	}
	return a, nil
}

// verifyPresigned checks the query-string form.
func (v *Verifier) verifyPresigned(r *http.Request, query []param) (*Auth, error) {
	p, err := parsePresigned(query)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(&p.cred, s3err.AuthorizationQueryParametersError); err != nil {
		return nil, err
	}
	secret, ok := v.Credentials.SecretKey(p.cred.accessKey)
	if !ok {
		return nil, &s3err.Error{Code: s3err.InvalidAccessKeyID, Details: []s3err.Detail{{Name: "AWSAccessKeyId", Value: p.cred.accessKey}}}
	}
	now := v.now()
	expires := p.date.Add(p.expires)
	if p.date.Sub(now) > v.maxSkew() {
		return nil, s3err.Newf(s3err.AccessDenied, "Request is not valid yet")
	}
	if now.After(expires) {
		return nil, &s3err.Error{Code: s3err.AccessDenied, Message: "Request has expired", Details: []s3err.Detail{
			{Name: "X-Amz-Expires", Value: strconv.FormatInt(int64(p.expires/time.Second), 10)},
			{Name: "Expires", Value: expires.UTC().Format(time.RFC3339)},
			{Name: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
		}}
	}
	// The payload hash: X-Amz-Content-Sha256 in the query, else the
	// header, else UNSIGNED-PAYLOAD; either way it is in the canonical
	// request, so the signature covers it.
	payloadHash := p.contentSHA256
	if payloadHash == "" {
		if payloadHash, err = singleHeader(r, headerContentSHA256); err != nil {
			return nil, err
		}
	}
	if payloadHash == "" {
		payloadHash = UnsignedPayload
	}
	a := &Auth{AccessKey: p.cred.accessKey, Time: p.date, Presigned: true, Expires: expires,
		SignedHeaders: p.signedHeaders, PayloadHash: payloadHash, ContentLength: r.ContentLength,
		amzDate: p.amzDate, scope: p.cred.scope()}
	if err := a.setPayload(r, payloadHash, true); err != nil {
		return nil, err
	}
	if err := checkUnsigned(r, p.signedHeaders); err != nil {
		return nil, err
	}
	a.key = v.signingKey(p.cred.accessKey, secret, p.cred.date, p.cred.region)
	in := canonicalInput{method: r.Method, escapedPath: r.URL.EscapedPath(), path: r.URL.Path, query: query,
		skipQuery: querySignature, signedHeaders: p.signedHeaders, payloadHash: payloadHash}
	if err := a.check(r, &in, p.signature[:]); err != nil {
		return nil, err
	}
	return a, nil
}

// checkScope refuses a credential scoped to another region or service.
func (v *Verifier) checkScope(c *credential, code s3err.Code) error {
	if c.region != v.region() {
		return s3err.Newf(code, "the region %q is wrong; expecting %q", clip(c.region), v.region()).
			WithDetail("Region", v.region())
	}
	if c.service != Service {
		return s3err.Newf(code, "the service %q in the credential scope is wrong; expecting %q", clip(c.service), Service)
	}
	return nil
}

// check compares the signature the request carries with the one computed
// over its canonical form, in constant time.
func (a *Auth) check(r *http.Request, in *canonicalInput, provided []byte) error {
	var buf [1024]byte
	canonical, missing := appendCanonicalRequest(buf[:0], r, in)
	if missing != "" {
		return s3err.Newf(s3err.SignatureDoesNotMatch, "the signed header %q is not in the request", missing)
	}
	var stsBuf [256]byte
	sts := appendStringToSign(stsBuf[:0], a.amzDate, a.scope, canonical)
	sig := signature(&a.key, sts)
	if !hmac.Equal(sig[:], provided) {
		// What AWS tells too: it lets a client author find which part of
		// the canonical form differs. Nothing in it is secret.
		return &s3err.Error{Code: s3err.SignatureDoesNotMatch, Details: []s3err.Detail{
			{Name: "AWSAccessKeyId", Value: a.AccessKey},
			{Name: "StringToSign", Value: string(sts)},
			{Name: "SignatureProvided", Value: string(provided)},
			{Name: "CanonicalRequest", Value: string(canonical)},
		}}
	}
	a.seed = sig
	return nil
}

// setPayload reads the payload mode from x-amz-content-sha256 and, for
// aws-chunked bodies, the decoded length and the declared trailer.
func (a *Auth) setPayload(r *http.Request, hash string, presigned bool) error {
	switch hash {
	case UnsignedPayload:
		a.Payload = PayloadUnsigned
		return nil
	case StreamingPayload:
		a.Payload = PayloadStreaming
	case StreamingPayloadTrailer:
		a.Payload = PayloadStreamingTrailer
	case StreamingUnsignedPayloadTrailer:
		a.Payload = PayloadStreamingUnsignedTrailer
	case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
		return s3err.Newf(s3err.NotImplemented, "x-amz-content-sha256 %s (SigV4a) is not supported", hash)
	default:
		if !isLowerHex(hash, 64) {
			return s3err.Newf(s3err.InvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a streaming mode, or a hex SHA-256, not %q", clip(hash))
		}
		a.Payload = PayloadSHA256
		return nil
	}
	if presigned {
		return s3err.Newf(s3err.InvalidRequest, "a presigned URL cannot carry an aws-chunked body (%s)", hash)
	}
	decoded, err := singleHeader(r, headerDecodedContentLength)
	if err != nil {
		return err
	}
	switch {
	case decoded != "":
		n, ok := parseDecimal(decoded)
		if !ok {
			return s3err.Newf(s3err.InvalidArgument, "x-amz-decoded-content-length %q is not a length", clip(decoded))
		}
		a.ContentLength = n
	case a.Payload == PayloadStreamingUnsignedTrailer:
		a.ContentLength = -1
	default:
		return s3err.Newf(s3err.MissingContentLength, "an aws-chunked upload must give x-amz-decoded-content-length")
	}
	trailer, err := singleHeader(r, headerTrailer)
	if err != nil {
		return err
	}
	if trailer != "" {
		if a.Payload == PayloadStreaming {
			return s3err.Newf(s3err.InvalidRequest, "x-amz-trailer needs a trailer payload mode, not %s", hash)
		}
		name := strings.ToLower(strings.TrimSpace(trailer))
		if _, ok := checksumByHeader(name); !ok {
			return s3err.Newf(s3err.InvalidRequest, "unsupported x-amz-trailer %q: one x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} is supported", clip(trailer))
		}
		a.Trailer = name
	}
	return nil
}

// checkUnsigned refuses x-amz-* headers the signature does not cover: they
// change what a request does (x-amz-copy-source, x-amz-meta-*, x-amz-acl),
// so a replayed request must not be able to carry others. The two headers
// whose values are in the string to sign anyway are exempt.
func checkUnsigned(r *http.Request, signed []string) error {
	for name := range r.Header {
		if len(name) < 6 || !strings.EqualFold(name[:6], "x-amz-") ||
			strings.EqualFold(name, headerContentSHA256) || strings.EqualFold(name, headerDate) {
			continue
		}
		lower := strings.ToLower(name)
		if _, found := slices.BinarySearch(signed, lower); !found {
			return s3err.Newf(s3err.AccessDenied, "There were headers present in the request which were not signed").
				WithDetail("HeadersNotSigned", lower)
		}
	}
	return nil
}

// singleHeader returns the one value of a header, "" if absent; a header
// given twice is refused rather than guessed at.
func singleHeader(r *http.Request, name string) (string, error) {
	vs := r.Header.Values(name)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", s3err.Newf(s3err.InvalidArgument, "the header %s is given %d times", name, len(vs))
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

func isLowerHex[S string | []byte](s S, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens what a client sent before it is quoted back in a message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
