package sigv4

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// checksum is one of S3's additional checksum algorithms (x-amz-checksum-*),
// or Content-MD5.
type checksum struct {
	header string // lower-case header name
	size   int    // digest bytes
	new    func() hash.Hash
}

// crc64NVME is CRC-64/NVME (S3's CRC64NVME): the reflected polynomial
// 0x9a6c9329ac4bc9b5 with all-ones init and final xor, which is what
// hash/crc64 computes for a table of that polynomial.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var checksums = []checksum{
	{"x-amz-checksum-crc32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{"x-amz-checksum-crc32c", 4, func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{"x-amz-checksum-crc64nvme", 8, func() hash.Hash { return crc64.New(crc64NVME) }},
	{"x-amz-checksum-sha1", sha1.Size, sha1.New},
	{"x-amz-checksum-sha256", sha256.Size, sha256.New},
}

var contentMD5 = checksum{"content-md5", md5.Size, md5.New}

// checksumByHeader finds an algorithm by its lower-case header name.
func checksumByHeader(name string) (checksum, bool) {
	for _, c := range checksums {
		if c.header == name {
			return c, true
		}
	}
	return checksum{}, false
}

// ChecksumAlgorithms lists the lower-case names of the x-amz-checksum-*
// headers this package verifies, as headers or as trailers.
func ChecksumAlgorithms() []string {
	out := make([]string, len(checksums))
	for i, c := range checksums {
		out[i] = c.header
	}
	return out
}

// decodeDigest decodes a base64 digest of the algorithm's size.
func (c checksum) decode(value string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(value))
	if err != nil || len(b) != c.size {
		return nil, false
	}
	return b, true
}

// ParseContentMD5 decodes a Content-MD5 header: the base64 of 16 bytes.
// Anything else is InvalidDigest.
func ParseContentMD5(value string) ([]byte, error) {
	b, ok := contentMD5.decode(value)
	if !ok {
		return nil, s3err.Newf(s3err.InvalidDigest, "Content-MD5 %q is not the base64 of an MD5 digest", clip(value))
	}
	return b, nil
}

// DigestReader passes a body through and checks its digest when the body
// ends: at EOF it returns the mismatch error instead of io.EOF. Bytes it
// returned before are therefore unverified: a handler must not commit what
// it read until it has seen EOF (DESIGN §5: nothing half-written becomes
// visible).
type DigestReader struct {
	r        io.Reader
	h        hash.Hash
	want     []byte
	mismatch *s3err.Error
	err      error
}

// NewContentMD5Reader checks a body against its Content-MD5 header value:
// InvalidDigest now if the value is malformed, BadDigest at EOF if the body
// differs.
func NewContentMD5Reader(r io.Reader, value string) (*DigestReader, error) {
	want, err := ParseContentMD5(value)
	if err != nil {
		return nil, err
	}
	return &DigestReader{r: r, h: md5.New(), want: want,
		mismatch: s3err.Newf(s3err.BadDigest, "The Content-MD5 you specified did not match what we received.")}, nil
}

// NewChecksumReader checks a body against an x-amz-checksum-* header
// (name in any case, value base64): InvalidRequest now for an unknown
// algorithm, InvalidDigest for a malformed value, BadDigest at EOF if the
// body differs.
func NewChecksumReader(r io.Reader, name, value string) (*DigestReader, error) {
	c, ok := checksumByHeader(strings.ToLower(name))
	if !ok {
		return nil, s3err.Newf(s3err.InvalidRequest, "unsupported checksum header %q", clip(name))
	}
	want, ok := c.decode(value)
	if !ok {
		return nil, s3err.Newf(s3err.InvalidDigest, "Value for %s header is invalid.", c.header)
	}
	return &DigestReader{r: r, h: c.new(), want: want,
		mismatch: s3err.Newf(s3err.BadDigest, "The %s you specified did not match the calculated checksum.", c.header)}, nil
}

// newSHA256Reader checks a body against the hex SHA-256 of
// x-amz-content-sha256 (already validated).
func newSHA256Reader(r io.Reader, hexSum string) *DigestReader {
	want := make([]byte, sha256.Size)
	for i := range want {
		want[i] = unhex(hexSum[2*i])<<4 | unhex(hexSum[2*i+1])
	}
	return &DigestReader{r: r, h: sha256.New(), want: want, mismatch: s3err.New(s3err.XAmzContentSHA256Mismatch)}
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

// Read implements io.Reader.
func (d *DigestReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	switch {
	case err == io.EOF:
		var buf [64]byte
		if subtle.ConstantTimeCompare(d.h.Sum(buf[:0]), d.want) != 1 {
			d.err = d.mismatch
		} else {
			d.err = io.EOF
		}
		return n, d.err
	case err != nil:
		d.err = bodyError(err)
		return n, d.err
	}
	return n, nil
}

// bodyError maps an error of the underlying body: a body that ended before
// its Content-Length (net/http says io.ErrUnexpectedEOF) is IncompleteBody;
// other errors (a connection reset, a read deadline) pass as they are.
func bodyError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return s3err.Wrap(s3err.IncompleteBody, err)
	}
	return err
}
