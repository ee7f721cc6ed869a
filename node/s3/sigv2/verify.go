package sigv2

import (
	"crypto/hmac"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// Verifier checks SigV2 signatures of S3 requests. Set its fields, then use
// it from any number of goroutines.
type Verifier struct {
	// Credentials looks access keys up: the same as SigV4's.
	Credentials sigv4.Credentials
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds the distance between a header-signed request's time
	// and Now; 0 means sigv4.MaxSkew (15 minutes).
	MaxSkew time.Duration
	// HostBucket returns the bucket a virtual-host-style Host names, which
	// the canonicalized resource starts with; nil means path style only.
	HostBucket func(host string) (bucket string, ok bool)
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
	return sigv4.MaxSkew
}

func (v *Verifier) hostBucket(r *http.Request) string {
	if v.HostBucket == nil {
		return ""
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	if b, ok := v.HostBucket(host); ok {
		return b
	}
	return ""
}

// Verify authenticates r, in the header or the presigned form. It reads
// only the request line and headers. The Auth it returns is read like a
// SigV4 one: its Body is the request body, checked against
// x-amz-content-sha256 if a hex SHA-256 was sent, else as it comes (the
// handlers check Content-MD5 and x-amz-checksum-*). Errors are
// *s3err.Error (see the package documentation).
func (v *Verifier) Verify(r *http.Request) (*sigv4.Auth, error) {
	if v.Credentials == nil {
		return nil, s3err.Newf(s3err.InternalError, "no credentials configured")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, s3err.Newf(s3err.InvalidArgument, "the query string is not validly encoded").WithCause(err)
	}
	queryAuth := query.Has(queryAccessKey) || query.Has(querySignature)
	v4Query := false
	for _, name := range v4QueryParams {
		v4Query = v4Query || query.Has(name)
	}
	authz := r.Header.Values(headerAuthorization)
	switch {
	case len(authz) > 1:
		return nil, s3err.Newf(s3err.InvalidArgument, "more than one Authorization header")
	case len(authz) == 1 && (queryAuth || v4Query), queryAuth && v4Query:
		return nil, s3err.Newf(s3err.InvalidArgument, "Only one auth mechanism allowed; only the Signature query parameter or the Authorization header should be specified")
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0], query)
	case queryAuth:
		return v.verifyPresigned(r, query)
	}
	return nil, s3err.Newf(s3err.AccessDenied, "Anonymous access is not allowed; sign the request")
}

// verifyHeader checks the Authorization header form.
func (v *Verifier) verifyHeader(r *http.Request, authz string, query url.Values) (*sigv4.Auth, error) {
	accessKey, sig, err := parseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	// The request time: x-amz-date, which then replaces Date in the
	// string to sign by an empty line (it is signed among the x-amz-*
	// headers), else Date.
	var dateLine, sent string
	amzDate, err := singleHeader(r, headerAmzDate)
	if err != nil {
		return nil, err
	}
	if amzDate != "" {
		sent = amzDate
	} else {
		if dateLine, err = singleHeader(r, headerDate); err != nil {
			return nil, err
		}
		sent = dateLine
	}
	t, ok := parseTime(sent)
	if !ok {
		return nil, s3err.Newf(s3err.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	secret, ok := v.Credentials.SecretKey(accessKey)
	if !ok {
		return nil, unknownKey(accessKey)
	}
	now := v.now()
	if d := now.Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, &s3err.Error{Code: s3err.RequestTimeTooSkewed, Details: []s3err.Detail{
			{Name: "RequestTime", Value: clip(sent)},
			{Name: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
			{Name: "MaxAllowedSkewMilliseconds", Value: strconv.FormatInt(v.maxSkew().Milliseconds(), 10)},
		}}
	}
	a := &sigv4.Auth{AccessKey: accessKey, Time: t, ContentLength: r.ContentLength}
	if err := setPayload(r, a); err != nil {
		return nil, err
	}
	if err := v.check(r, a, dateLine, query, secret, sig); err != nil {
		return nil, err
	}
	return a, nil
}

// verifyPresigned checks the query-string form.
func (v *Verifier) verifyPresigned(r *http.Request, query url.Values) (*sigv4.Auth, error) {
	p, err := parsePresigned(query)
	if err != nil {
		return nil, err
	}
	secret, ok := v.Credentials.SecretKey(p.accessKey)
	if !ok {
		return nil, unknownKey(p.accessKey)
	}
	now := v.now()
	if now.After(p.expires) {
		return nil, &s3err.Error{Code: s3err.AccessDenied, Message: "Request has expired", Details: []s3err.Detail{
			{Name: "Expires", Value: p.expires.Format(time.RFC3339)},
			{Name: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
		}}
	}
	// SigV2 has no signing time, so the bound SigV4 puts on
	// X-Amz-Expires is put on the distance to Expires; the skew allows
	// for a signer whose clock is ahead, as SigV4's X-Amz-Date may be.
	if limit := sigv4.MaxPresignExpiry + v.maxSkew(); p.expires.Sub(now) > limit {
		return nil, s3err.Newf(s3err.AuthorizationQueryParametersError,
			"Expires must be at most %d seconds (a week) from now", int64(sigv4.MaxPresignExpiry/time.Second))
	}
	a := &sigv4.Auth{AccessKey: p.accessKey, Presigned: true, Expires: p.expires, ContentLength: r.ContentLength}
	if err := setPayload(r, a); err != nil {
		return nil, err
	}
	if err := v.check(r, a, p.expiresRaw, query, secret, p.signature); err != nil {
		return nil, err
	}
	return a, nil
}

// check compares the signature the request carries with the one computed
// over its string to sign, in constant time.
func (v *Verifier) check(r *http.Request, a *sigv4.Auth, dateLine string, query url.Values, secret, provided string) error {
	var buf [512]byte
	sts, err := appendStringToSign(buf[:0], r, dateLine, v.hostBucket(r), query)
	if err != nil {
		return err
	}
	want := signature(secret, sts)
	if !hmac.Equal(want[:], []byte(provided)) {
		// What AWS tells too: it lets a client author find which part of
		// the string to sign differs. Nothing in it is secret.
		return &s3err.Error{Code: s3err.SignatureDoesNotMatch, Details: []s3err.Detail{
			{Name: "AWSAccessKeyId", Value: a.AccessKey},
			{Name: "StringToSign", Value: string(sts)},
			{Name: "SignatureProvided", Value: provided},
		}}
	}
	return nil
}

// setPayload sets how the body is read. SigV2 does not sign the body; an
// x-amz-content-sha256 the client sent anyway is signed (it is an x-amz-*
// header), so a hex SHA-256 in it is held to, as SigV4 would.
func setPayload(r *http.Request, a *sigv4.Auth) error {
	for _, ce := range r.Header.Values("Content-Encoding") {
		for token := range strings.SplitSeq(ce, ",") {
			if strings.EqualFold(strings.TrimSpace(token), "aws-chunked") {
				return s3err.Newf(s3err.InvalidRequest, "aws-chunked bodies need AWS Signature Version 4")
			}
		}
	}
	hash, err := singleHeader(r, "X-Amz-Content-Sha256")
	if err != nil {
		return err
	}
	switch {
	case hash == "" || hash == sigv4.UnsignedPayload:
		a.Payload, a.PayloadHash = sigv4.PayloadUnsigned, sigv4.UnsignedPayload
	case strings.HasPrefix(hash, "STREAMING-"):
		return s3err.Newf(s3err.InvalidRequest, "x-amz-content-sha256 %s (aws-chunked) needs AWS Signature Version 4", clip(hash))
	case isLowerHex(hash, 64):
		a.Payload, a.PayloadHash = sigv4.PayloadSHA256, hash
	default:
		return s3err.Newf(s3err.InvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a hex SHA-256, not %q", clip(hash))
	}
	return nil
}

func unknownKey(accessKey string) error {
	return &s3err.Error{Code: s3err.InvalidAccessKeyID, Details: []s3err.Detail{{Name: "AWSAccessKeyId", Value: accessKey}}}
}

func isLowerHex(s string, n int) bool {
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
