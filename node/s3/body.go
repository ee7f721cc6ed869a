package s3

import (
	"errors"
	"io"
	"net/http"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// bodyReader yields exactly size bytes of a verified request body and holds
// the last of them back until the body has reported its end.
//
// The object layer reads exactly the size it is given and commits once it
// has it; it never asks for the EOF behind the last byte. But the verifier
// (sigv4.Body) checks a signed SHA-256, a trailing checksum or Content-MD5
// only when it reaches EOF. So when a Read would complete the size,
// bodyReader first reads on to EOF, and returns the final bytes only if that
// succeeded: a body that fails its check fails the read that would have
// completed the object, and nothing is committed. (Returning the bytes
// together with the error is not enough: io.ReadFull drops an error that
// comes with the bytes it asked for.)
type bodyReader struct {
	r         io.Reader
	remaining int64
	err       error
}

// payload is the body of a PUT or UploadPart as the object layer must read
// it: verified by sigv4 (signed hash, aws-chunked signatures, trailers), by
// the x-amz-checksum-* header if one was sent, and cut at size with its last
// bytes held back until every check at its end has passed.
func payload(r *http.Request, rq *request, size int64) (io.Reader, error) {
	var body io.Reader = http.NoBody
	if rq.body != nil {
		body = rq.body
	}
	body, err := checksumHeaderReader(r.Header, body)
	if err != nil {
		return nil, err
	}
	return newBodyReader(body, size), nil
}

// newBodyReader reads size bytes of r; size must be known (>= 0).
func newBodyReader(r io.Reader, size int64) *bodyReader {
	return &bodyReader{r: r, remaining: size}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining == 0 {
		if err := b.confirmEnd(); err != nil {
			b.err = err
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.remaining -= int64(n)
	switch {
	case b.remaining == 0 && (err == nil || err == io.EOF):
		if err != io.EOF {
			err = b.confirmEnd()
		} else {
			err = nil
		}
		if err != nil {
			b.err = err
			return 0, err
		}
		return n, nil
	case err == io.EOF:
		b.err = s3err.Newf(s3err.IncompleteBody, "The request body ended %d bytes before its declared length.", b.remaining)
		return n, b.err
	case err != nil:
		// Without the bytes: a caller that got all it asked for with them
		// (io.ReadFull) would drop the error, and a body whose check failed
		// at its end would be committed.
		b.err = err
		return 0, err
	}
	return n, nil
}

// confirmEnd reads past the declared size: the body must end there, and
// whatever check the verifier makes at its end must pass.
func (b *bodyReader) confirmEnd() error {
	var one [1]byte
	for {
		n, err := b.r.Read(one[:])
		if n > 0 {
			return s3err.Newf(s3err.InvalidRequest, "The request body is longer than its declared length.")
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
