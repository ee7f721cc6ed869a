package sigv4

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Signer signs requests as an S3 client does: the header form, presigned
// URLs and aws-chunked bodies. It is what tests verify against and what
// `gridstore admin` will sign with.
type Signer struct {
	AccessKey, SecretKey string
	// Region is the credential scope's region; "" means DefaultRegion.
	Region string
}

func (s *Signer) region() string {
	if s.Region == "" {
		return DefaultRegion
	}
	return s.Region
}

// Headers the signer leaves out: set or changed on the way by transports
// and proxies, or hop-by-hop.
var unsignedHeaders = map[string]bool{
	"authorization": true, "user-agent": true, "x-amzn-trace-id": true, "expect": true,
	"transfer-encoding": true, "connection": true, "accept-encoding": true,
}

// Sign signs r in the header form at time t. payloadHash is the
// x-amz-content-sha256 to send: the hex SHA-256 of the body
// (PayloadSHA256Hex), UnsignedPayload, or "" for the empty body. Every
// header r carries is signed, with host, except the ones transports rewrite
// (User-Agent, Expect, ...); Content-Length only if set in r.Header.
func (s *Signer) Sign(r *http.Request, payloadHash string, t time.Time) error {
	if payloadHash == "" {
		payloadHash = EmptySHA256
	}
	if r.Host == "" && r.URL.Host == "" {
		return errors.New("sigv4: sign: the request has no host")
	}
	r.Header.Set(headerDate, formatTime(t))
	r.Header.Set(headerContentSHA256, payloadHash)
	r.Header.Del(headerAuthorization)
	names := []string{"host"}
	for name := range r.Header {
		lower := strings.ToLower(name)
		if !unsignedHeaders[lower] && lower != "host" {
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("sigv4: sign: %w", err)
	}
	a := s.auth(t)
	in := canonicalInput{method: r.Method, escapedPath: r.URL.EscapedPath(), path: r.URL.Path, query: query,
		signedHeaders: names, payloadHash: payloadHash}
	sig, err := a.sign(r, &in)
	if err != nil {
		return err
	}
	r.Header.Set(headerAuthorization, fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, s.AccessKey, a.scope, strings.Join(names, ";"), sig[:]))
	return nil
}

// auth holds the signing state of a request signed at t.
func (s *Signer) auth(t time.Time) *Auth {
	date := t.UTC().Format(dateFormat)
	return &Auth{amzDate: formatTime(t), scope: scopeString(date, s.region(), Service),
		key: signingKey(s.SecretKey, date, s.region(), Service)}
}

// sign computes the signature of a canonical input.
func (a *Auth) sign(r *http.Request, in *canonicalInput) ([64]byte, error) {
	canonical, missing := appendCanonicalRequest(nil, r, in)
	if missing != "" {
		return [64]byte{}, fmt.Errorf("sigv4: sign: the request has no %s header", missing)
	}
	sts := appendStringToSign(nil, a.amzDate, a.scope, canonical)
	return signature(&a.key, sts), nil
}

// Presign returns rawURL with a query-string signature for method at time
// t, valid for expires (1 s to 7 days). header lists headers the request
// will carry that must be signed with it (host is always signed); the
// payload is UNSIGNED-PAYLOAD unless rawURL has an X-Amz-Content-Sha256.
func (s *Signer) Presign(method, rawURL string, header http.Header, t time.Time, expires time.Duration) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("sigv4: presign: %w", err)
	}
	if u.Host == "" {
		return "", errors.New("sigv4: presign: the URL has no host")
	}
	if expires < time.Second || expires > MaxPresignExpiry {
		return "", fmt.Errorf("sigv4: presign: expiry %v outside 1s..%v", expires, MaxPresignExpiry)
	}
	r := &http.Request{Method: method, URL: u, Host: u.Host, Header: http.Header{}, ContentLength: -1}
	names := []string{"host"}
	for name, vs := range header {
		lower := strings.ToLower(name)
		if lower != "host" {
			r.Header[http.CanonicalHeaderKey(name)] = vs
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	a := s.auth(t)
	q := u.Query()
	q.Set(queryAlgorithm, Algorithm)
	q.Set(queryCredential, s.AccessKey+"/"+a.scope)
	q.Set(queryDate, a.amzDate)
	q.Set(queryExpires, strconv.FormatInt(int64(expires/time.Second), 10))
	q.Set(querySignedHeaders, strings.Join(names, ";"))
	q.Del(querySignature)
	params := make([]param, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			params = append(params, param{k, v})
		}
	}
	payload := UnsignedPayload
	if h := q.Get(queryContentSHA256); h != "" {
		payload = h
	}
	in := canonicalInput{method: method, escapedPath: u.EscapedPath(), path: u.Path, query: params,
		signedHeaders: names, payloadHash: payload}
	sig, err := a.sign(r, &in)
	if err != nil {
		return "", err
	}
	// The canonical query is a valid query string itself, and gives the
	// URL the parameter order of AWS's examples.
	u.RawQuery = string(appendCanonicalQuery(nil, params, "")) + "&" + querySignature + "=" + string(sig[:])
	return u.String(), nil
}

// StreamOptions shape an aws-chunked upload.
type StreamOptions struct {
	// ChunkSize is the number of data bytes per chunk; 0 means 64 KiB.
	ChunkSize int
	// Checksum is a trailing checksum header to send ("x-amz-checksum-
	// crc32", ...), or "" for none.
	Checksum string
	// Unsigned sends STREAMING-UNSIGNED-PAYLOAD-TRAILER (no chunk
	// signatures); otherwise chunks are signed, and with a Checksum the
	// mode is STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
	Unsigned bool
}

// SignStreaming signs r for an aws-chunked upload of size bytes read from
// body, at time t: it sets Content-Encoding, X-Amz-Decoded-Content-Length,
// X-Amz-Trailer, Content-Length (header and field: the encoded length, so
// it is signed as in AWS's example), signs the headers, and sets r.Body to
// the encoder, which signs each chunk as it goes. body must yield exactly
// size bytes.
func (s *Signer) SignStreaming(r *http.Request, body io.Reader, size int64, t time.Time, o StreamOptions) error {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 64 << 10
	}
	if o.ChunkSize > MaxChunkSize {
		return fmt.Errorf("sigv4: chunk size %d above %d", o.ChunkSize, MaxChunkSize)
	}
	mode := StreamingPayload
	switch {
	case o.Unsigned:
		mode = StreamingUnsignedPayloadTrailer
	case o.Checksum != "":
		mode = StreamingPayloadTrailer
	}
	e := &chunkEncoder{body: body, left: size, chunkSize: o.ChunkSize, signed: !o.Unsigned}
	if o.Checksum != "" {
		var ok bool
		if e.algo, ok = checksumByHeader(strings.ToLower(o.Checksum)); !ok {
			return fmt.Errorf("sigv4: unsupported checksum %q", o.Checksum)
		}
		e.sum = e.algo.new()
		r.Header.Set(headerTrailer, e.algo.header)
	}
	length := e.encodedLength(size)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set(headerDecodedContentLength, strconv.FormatInt(size, 10))
	r.Header.Set("Content-Length", strconv.FormatInt(length, 10))
	r.ContentLength = length
	if err := s.Sign(r, mode, t); err != nil {
		return err
	}
	if e.signed {
		h, err := parseAuthorization(r.Header.Get(headerAuthorization))
		if err != nil {
			return err
		}
		a := s.auth(t)
		e.key, e.amzDate, e.scope, e.prev = a.key, a.amzDate, a.scope, h.signature
	}
	r.Body = io.NopCloser(e)
	r.GetBody = nil
	return nil
}

// chunkEncoder produces an aws-chunked body.
type chunkEncoder struct {
	body      io.Reader
	left      int64
	chunkSize int
	signed    bool
	algo      checksum
	sum       hash.Hash

	key     [32]byte
	amzDate string
	scope   string
	prev    [64]byte

	out  []byte // encoded bytes not yet read
	buf  []byte // backing array of out, reused
	data []byte
	done bool
	err  error
}

// encodedLength is the length of the encoding of size data bytes.
func (e *chunkEncoder) encodedLength(size int64) int64 {
	header := func(n int64) int64 {
		l := int64(len(strconv.FormatInt(n, 16))) + 2
		if e.signed {
			l += int64(len(chunkSignaturePrefix)) + 64
		}
		return l
	}
	full := size / int64(e.chunkSize)
	n := full * (header(int64(e.chunkSize)) + int64(e.chunkSize) + 2)
	if rest := size % int64(e.chunkSize); rest > 0 {
		n += header(rest) + rest + 2
	}
	n += header(0)
	if e.algo.header != "" {
		n += int64(len(e.algo.header)) + 1 + int64(base64.StdEncoding.EncodedLen(e.algo.size)) + 2
		if e.signed {
			n += int64(len(trailerSignatureHeader)) + 1 + 64 + 2
		}
	}
	return n + 2
}

func (e *chunkEncoder) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.err != nil {
			return 0, e.err
		}
		if e.done {
			return 0, io.EOF
		}
		e.err = e.encodeNext()
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// encodeNext encodes the next chunk, or the final chunk and trailers.
func (e *chunkEncoder) encodeNext() error {
	n := int(min(e.left, int64(e.chunkSize)))
	if cap(e.data) < n {
		e.data = make([]byte, n)
	}
	data := e.data[:n]
	if _, err := io.ReadFull(e.body, data); err != nil {
		return fmt.Errorf("sigv4: chunked body shorter than its declared size: %w", err)
	}
	e.left -= int64(n)
	if e.sum != nil {
		e.sum.Write(data)
	}
	out := strconv.AppendInt(e.buf[:0], int64(n), 16)
	if e.signed {
		e.prev = signature(&e.key, appendChunkStringToSign(nil, e.amzDate, e.scope, &e.prev, sha256.Sum256(data)))
		out = append(out, chunkSignaturePrefix...)
		out = append(out, e.prev[:]...)
	}
	out = append(out, "\r\n"...)
	if n > 0 {
		out = append(append(out, data...), "\r\n"...)
		e.buf, e.out = out, out
		return nil
	}
	// The final chunk: trailers, then the closing empty line.
	if e.algo.header != "" {
		line := e.algo.header + ":" + base64.StdEncoding.EncodeToString(e.sum.Sum(nil))
		out = append(out, line...)
		out = append(out, "\r\n"...)
		if e.signed {
			e.prev = signature(&e.key, appendTrailerStringToSign(nil, e.amzDate, e.scope, &e.prev, []byte(line+"\n")))
			out = append(out, trailerSignatureHeader+":"...)
			out = append(out, e.prev[:]...)
			out = append(out, "\r\n"...)
		}
	}
	out = append(out, "\r\n"...)
	e.buf, e.out = out, out
	e.done = true
	return nil
}

// PayloadSHA256Hex is the x-amz-content-sha256 value of a body.
func PayloadSHA256Hex(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
