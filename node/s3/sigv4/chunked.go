package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Bounds of the aws-chunked decoder. Memory per request is at most one
// chunk (signed mode) plus the line buffer, whatever the client declares.
const (
	// MaxChunkSize is the largest chunk accepted. AWS SDKs send 64 KiB
	// (some 128 KiB or 1 MiB); a larger declared size is refused before
	// anything is allocated for it.
	MaxChunkSize = 16 << 20
	// maxLineLength bounds a chunk header or trailer line (the bufio
	// buffer size: a longer line is refused, not buffered).
	maxLineLength = 4096
	// maxTrailers bounds the number of trailer lines.
	maxTrailers = 8
	// growStep is how much of a chunk buffer is allocated ahead of the
	// data actually received, so that a client that declares 16 MiB and
	// sends nothing holds little memory.
	growStep = 1 << 20

	trailerSignatureHeader = "x-amz-trailer-signature"
	chunkSignaturePrefix   = ";chunk-signature="
)

// Body is a request body as a verified request gives it: the payload
// decoded (aws-chunked) and checked as it streams. Read returns an error,
// never io.EOF, when a check fails at the end.
//
// What it guarantees, by mode:
//   - UNSIGNED-PAYLOAD: nothing; bytes pass through.
//   - hex SHA-256: the digest is checked at EOF (XAmzContentSHA256Mismatch);
//     bytes returned before are unverified, so the handler must not commit
//     before EOF.
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER): every chunk is read
//     whole and its signature checked before any of its bytes is returned,
//     like a bitrot reader: no unverified byte reaches the caller. The
//     final chunk, the decoded length and (trailer mode) the signed
//     trailing checksum are checked before EOF.
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: bytes stream through; the
//     trailing checksum is checked at EOF (BadDigest), so again the handler
//     must not commit before EOF.
//
// A body that ends early is IncompleteBody; a malformed encoding is
// InvalidRequest (framing) or MalformedTrailerError (trailers).
type Body struct {
	r       io.Reader
	chunked *chunkedReader
}

// Body wraps the request body (r.Body of the verified request) as the
// payload mode requires. Its Read is not safe for concurrent use.
func (a *Auth) Body(body io.Reader) *Body {
	switch a.Payload {
	case PayloadSHA256:
		return &Body{r: newSHA256Reader(body, a.PayloadHash)}
	case PayloadStreaming, PayloadStreamingTrailer, PayloadStreamingUnsignedTrailer:
		c := newChunkedReader(body, a)
		return &Body{r: c, chunked: c}
	}
	return &Body{r: body}
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// Checksum returns the trailing checksum header and its base64 value once
// Read has returned io.EOF, verified against the data; "", "" if the body
// had none or has not ended.
func (b *Body) Checksum() (header, value string) {
	if b.chunked == nil || b.chunked.err != io.EOF {
		return "", ""
	}
	return b.chunked.trailer, b.chunked.trailerValue
}

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailer:value\r\n ...] \r\n
type chunkedReader struct {
	br     *bufio.Reader
	signed bool // chunk signatures (and, with trailer, a trailer signature)

	// chain state for signed chunks
	key     [32]byte
	prev    [64]byte // previous signature, hex
	scratch []byte   // string to sign, reused
	amzDate string
	scope   string

	// trailing checksum
	trailer      string // declared header, "" for none
	sum          hash.Hash
	algo         checksum
	trailerValue string
	trailerMode  bool // the payload mode has a trailer section
	bareLF       bool // the last line readLine returned ended with LF alone

	buf   []byte // signed: the verified chunk, buf[off:] not yet returned
	off   int
	left  int64 // unsigned: bytes of the current chunk not yet read
	crlf  bool  // unsigned: the current chunk's data is read, its CRLF is not
	total int64 // decoded bytes so far
	want  int64 // declared decoded length, -1 if unknown
	err   error // sticky: the first error, or io.EOF
}

func newChunkedReader(body io.Reader, a *Auth) *chunkedReader {
	c := &chunkedReader{
		br:          bufio.NewReaderSize(body, maxLineLength),
		signed:      a.Payload != PayloadStreamingUnsignedTrailer,
		trailerMode: a.Payload != PayloadStreaming,
		trailer:     a.Trailer,
		want:        a.ContentLength,
		amzDate:     a.amzDate,
		scope:       a.scope,
		prev:        a.seed,
	}
	if c.signed {
		c.key = a.key
	}
	if c.trailer != "" {
		c.algo, _ = checksumByHeader(c.trailer)
		c.sum = c.algo.new()
	}
	return c
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.signed && c.off < len(c.buf) {
			n := copy(p, c.buf[c.off:])
			c.off += n
			return n, nil
		}
		if !c.signed && c.left > 0 {
			return c.readUnsigned(p)
		}
		c.err = c.next()
	}
}

// readUnsigned streams data of an unsigned chunk.
func (c *chunkedReader) readUnsigned(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if c.left == 0 {
		c.crlf = true
	}
	if err != nil {
		if err == io.EOF && c.left > 0 {
			err = errTruncated()
		}
		if err != io.EOF {
			c.err = bodyError(err)
			return n, c.err
		}
	}
	return n, nil
}

// errTruncated is a new error each time: callers may add to an *s3err.Error.
func errTruncated() error {
	return s3err.Newf(s3err.IncompleteBody, "the aws-chunked body ended before its final chunk")
}

func malformed(format string, args ...any) *s3err.Error {
	return s3err.Newf(s3err.InvalidRequest, "malformed aws-chunked body: "+format, args...)
}

// next reads the next chunk header and, in signed mode, the whole chunk
// with its signature checked. It returns io.EOF after the final chunk
// and everything after it checked out.
func (c *chunkedReader) next() error {
	if c.crlf {
		if err := c.readCRLF(); err != nil {
			return err
		}
		c.crlf = false
	}
	line, err := c.readLine(false)
	if err != nil {
		return err
	}
	size, sig, err := c.parseHeader(line)
	if err != nil {
		return err
	}
	if c.want >= 0 && c.total+size > c.want {
		return s3err.Newf(s3err.InvalidRequest, "the aws-chunked body holds more than x-amz-decoded-content-length (%d) bytes", c.want)
	}
	c.total += size
	if c.signed {
		if err := c.readChunk(size); err != nil {
			return err
		}
		if err := c.verifyChunk(&sig); err != nil {
			return err
		}
		if size > 0 {
			return c.readCRLF()
		}
	} else if size > 0 {
		c.left = size
		return nil
	}
	return c.finish()
}

// parseHeader parses "hex-size;chunk-signature=<64 hex>" (signed) or
// "hex-size" (unsigned).
func (c *chunkedReader) parseHeader(line []byte) (int64, [64]byte, error) {
	var sig [64]byte
	sizeHex := line
	if c.signed {
		i := bytes.IndexByte(line, ';')
		if i < 0 || !bytes.HasPrefix(line[i:], []byte(chunkSignaturePrefix)) {
			return 0, sig, malformed("chunk header %q has no chunk signature", clipBytes(line))
		}
		s := line[i+len(chunkSignaturePrefix):]
		if !isLowerHex(s, 64) {
			return 0, sig, malformed("chunk signature %q is not 64 lower-case hex digits", clipBytes(s))
		}
		copy(sig[:], s)
		sizeHex = line[:i]
	}
	if len(sizeHex) == 0 || len(sizeHex) > 8 {
		return 0, sig, malformed("chunk size %q", clipBytes(sizeHex))
	}
	var size int64
	for _, b := range sizeHex {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, sig, malformed("chunk size %q is not hexadecimal", clipBytes(sizeHex))
		}
		size = size<<4 | int64(d)
	}
	if size > MaxChunkSize {
		return 0, sig, s3err.Newf(s3err.InvalidRequest, "aws-chunked chunk of %d bytes; at most %d are accepted", size, MaxChunkSize)
	}
	return size, sig, nil
}

// readChunk reads a signed chunk's data into c.buf, growing the buffer no
// faster than data arrives.
func (c *chunkedReader) readChunk(size int64) error {
	c.buf, c.off = c.buf[:0], 0
	for int64(len(c.buf)) < size {
		step := int(min(size-int64(len(c.buf)), growStep))
		c.buf = slices.Grow(c.buf, step)
		n, err := io.ReadFull(c.br, c.buf[len(c.buf):len(c.buf)+step])
		c.buf = c.buf[:len(c.buf)+n]
		if err != nil {
			return c.eofIsTruncation(err)
		}
	}
	if c.sum != nil {
		c.sum.Write(c.buf)
	}
	return nil
}

// verifyChunk checks a chunk's signature, chained from the previous one:
//
//	AWS4-HMAC-SHA256-PAYLOAD \n date \n scope \n previous-signature \n sha256("") \n sha256(data)
func (c *chunkedReader) verifyChunk(sig *[64]byte) error {
	c.scratch = appendChunkStringToSign(c.scratch[:0], c.amzDate, c.scope, &c.prev, sha256.Sum256(c.buf))
	return c.verifyLink(c.scratch, sig, "chunk")
}

// appendChunkStringToSign appends the string to sign of a chunk whose data
// hashes to sum, chained to the previous signature prev:
//
//	AWS4-HMAC-SHA256-PAYLOAD \n date \n scope \n prev \n sha256("") \n hex(sum)
func appendChunkStringToSign(b []byte, amzDate, scope string, prev *[64]byte, sum [32]byte) []byte {
	b = append(b, "AWS4-HMAC-SHA256-PAYLOAD\n"...)
	b = appendChainHead(b, amzDate, scope, prev)
	b = append(b, EmptySHA256...)
	b = append(b, '\n')
	return hex.AppendEncode(b, sum[:])
}

// appendTrailerStringToSign appends the string to sign of the trailing
// headers, canonical being "name:value\n" for each:
//
//	AWS4-HMAC-SHA256-TRAILER \n date \n scope \n prev \n hex(sha256(canonical))
func appendTrailerStringToSign(b []byte, amzDate, scope string, prev *[64]byte, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	b = append(b, "AWS4-HMAC-SHA256-TRAILER\n"...)
	b = appendChainHead(b, amzDate, scope, prev)
	return hex.AppendEncode(b, sum[:])
}

func appendChainHead(b []byte, amzDate, scope string, prev *[64]byte) []byte {
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	b = append(b, prev[:]...)
	return append(b, '\n')
}

func (c *chunkedReader) verifyLink(stringToSign []byte, sig *[64]byte, what string) error {
	want := signature(&c.key, stringToSign)
	if !hmac.Equal(want[:], sig[:]) {
		return s3err.Newf(s3err.SignatureDoesNotMatch, "the %s signature after byte %d does not match", what, c.total-int64(len(c.buf)))
	}
	c.prev = want
	return nil
}

// finish handles what follows the final chunk: the trailer section, the
// decoded length, the trailing checksum and the end of the body.
func (c *chunkedReader) finish() error {
	if c.want >= 0 && c.total != c.want {
		return s3err.Newf(s3err.IncompleteBody, "the aws-chunked body holds %d bytes, x-amz-decoded-content-length says %d", c.total, c.want)
	}
	var canonical []byte // "name:value\n" of each trailer, for the trailer signature
	var trailerSig [64]byte
	haveSig := false
	afterLF := false // the previous trailer line ended with LF alone
	for n := 0; ; n++ {
		line, err := c.readLine(c.trailerMode)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			// minio-go ends its trailer lines with LF and their block with
			// a CRLF, then the section with another CRLF (before which a
			// signed body has its trailer signature): "name:value\n\r\n
			// [x-amz-trailer-signature:sig\r\n]\r\n". So a CRLF right
			// after an LF-ended line ends the section only if nothing
			// follows it.
			if afterLF && !c.bareLF {
				if _, err := c.br.Peek(1); err == nil {
					afterLF = false
					continue
				}
			}
			break
		}
		afterLF = c.bareLF
		if !c.trailerMode {
			return malformed("data after the final chunk")
		}
		if n == maxTrailers {
			return s3err.Newf(s3err.MalformedTrailerError, "more than %d trailer lines", maxTrailers)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return s3err.Newf(s3err.MalformedTrailerError, "trailer line %q is not name:value", clipBytes(line))
		}
		key := strings.ToLower(string(bytes.TrimSpace(name)))
		val := string(bytes.TrimSpace(value))
		switch {
		case haveSig:
			return s3err.Newf(s3err.MalformedTrailerError, "trailer %q after the trailer signature", clip(key))
		case key == trailerSignatureHeader && c.signed:
			if !isLowerHex(val, 64) {
				return s3err.Newf(s3err.MalformedTrailerError, "the trailer signature is not 64 lower-case hex digits")
			}
			copy(trailerSig[:], val)
			haveSig = true
		case key == c.trailer && c.trailerValue == "":
			c.trailerValue = val
			canonical = append(append(append(append(canonical, key...), ':'), val...), '\n')
		default:
			return s3err.Newf(s3err.MalformedTrailerError, "trailer %q was not declared in x-amz-trailer", clip(key))
		}
	}
	if c.trailerMode && c.signed && (haveSig || c.trailer != "") {
		// A trailer signature is required when something was declared,
		// and checked whenever present.
		if !haveSig {
			return s3err.Newf(s3err.MalformedTrailerError, "the trailer signature is missing")
		}
		c.scratch = appendTrailerStringToSign(c.scratch[:0], c.amzDate, c.scope, &c.prev, canonical)
		if err := c.verifyLink(c.scratch, &trailerSig, "trailer"); err != nil {
			return err
		}
	}
	if c.trailer != "" {
		if c.trailerValue == "" {
			return s3err.Newf(s3err.MalformedTrailerError, "the declared trailer %s is missing", c.trailer)
		}
		want, ok := c.algo.decode(c.trailerValue)
		if !ok {
			return s3err.Newf(s3err.InvalidDigest, "Value for %s trailing header is invalid.", c.trailer)
		}
		var buf [64]byte
		if !bytes.Equal(c.sum.Sum(buf[:0]), want) {
			return s3err.Newf(s3err.BadDigest, "The %s you specified did not match the calculated checksum.", c.trailer)
		}
	}
	// Nothing may follow: bytes after the end would be data nobody checked.
	if _, err := c.br.ReadByte(); err != io.EOF {
		if err != nil {
			return bodyError(err)
		}
		return malformed("data after the end of the body")
	}
	c.buf, c.off = nil, 0
	return io.EOF
}

// readLine reads a CRLF-terminated line of at most maxLineLength bytes and
// returns it without the CRLF. The slice is valid until the next read.
// lenient accepts a bare LF too (trailer lines: some clients end them so).
func (c *chunkedReader) readLine(lenient bool) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, malformed("a line longer than %d bytes", maxLineLength)
	case err != nil:
		return nil, c.eofIsTruncation(err)
	case len(line) >= 2 && line[len(line)-2] == '\r':
		c.bareLF = false
		return line[:len(line)-2], nil
	case lenient:
		c.bareLF = true
		return line[:len(line)-1], nil
	}
	return nil, malformed("a line not ended by CRLF")
}

func (c *chunkedReader) readCRLF() error {
	for _, want := range []byte("\r\n") {
		b, err := c.br.ReadByte()
		if err != nil {
			return c.eofIsTruncation(err)
		}
		if b != want {
			return malformed("chunk data not followed by CRLF")
		}
	}
	return nil
}

func (c *chunkedReader) eofIsTruncation(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return s3err.Newf(s3err.IncompleteBody, "the aws-chunked body ended early").WithCause(err)
	}
	return err
}

func clipBytes(b []byte) string { return clip(string(b)) }
