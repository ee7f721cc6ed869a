package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
)

// Bulk reads (ReadFileStream) do not go over the grid: a shard range is
// served by a plain HTTP GET on ReadPath, on the same port as the grid, so
// that the bytes can go from the file to the socket with sendfile(2), never
// through user space or a websocket frame.
//
//	GET ReadPath?drive=<endpoint>&volume=<v>&path=<p>&offset=<n>&length=<n|-1>
//
// The request is signed by the calling node (grid.Manager.SignHTTP, which
// covers the method and the whole URI) and refused with 401 unless
// VerifyHTTP accepts it. With OverTLS it must also arrive over TLS with a
// verified client certificate, else it is refused with 403 (the client
// reports grid.ErrTLSRequired). Over TLS the bytes are encrypted in user
// space (Go has no kernel TLS), so there is no sendfile: the range is copied
// through the TLS connection's buffers. A success is 200 with Content-Length and exactly the
// range's bytes. An error is a non-200 status with the error's wire code in
// the ErrorHeader header and its message as the body; the client turns the
// code back into the storage sentinel with the grid's error registry, so a
// read fails with the same errors over HTTP as any call over the grid.

// ReadPath is the HTTP path of the bulk read endpoint. The node mounts
// Server.HTTPHandler there, on the server that serves the grid.
const ReadPath = "/gridstore/storage/v1/read"

// ErrorHeader carries the wire code of a failed read (see grid.RegisterError).
const ErrorHeader = "X-Gridstore-Error"

// Query parameters of a read.
const (
	qDrive  = "drive"
	qVolume = "volume"
	qPath   = "path"
	qOffset = "offset"
	qLength = "length"
)

// maxErrorBody bounds how much of an error answer the client reads.
const maxErrorBody = 4 << 10

// fileRanger is implemented by the ReadCloser of a drive whose range is a
// plain file: f is positioned at the first byte of the range and remaining
// bytes of it are the range. The read endpoint then copies straight from f
// to the socket (sendfile). The drive opens a file per ReadFileStream call,
// so moving f's offset disturbs no other read.
type fileRanger interface {
	FileRange() (f *os.File, remaining int64)
}

// readQuery is a parsed read request.
type readQuery struct {
	drive, volume, path string
	offset, length      int64
}

func (q readQuery) encode() string {
	return url.Values{
		qDrive:  {q.drive},
		qVolume: {q.volume},
		qPath:   {q.path},
		qOffset: {strconv.FormatInt(q.offset, 10)},
		qLength: {strconv.FormatInt(q.length, 10)},
	}.Encode()
}

// parseReadQuery parses and checks a read's raw query: every parameter
// exactly once, nothing else, and a valid range. Names are not checked here:
// the drive checks them as for any caller, with its usual errors.
func parseReadQuery(raw string) (readQuery, error) {
	var q readQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("%w: malformed query: %v", storage.ErrInvalidArgument, err)
	}
	if len(vals) != 5 {
		return q, fmt.Errorf("%w: want the parameters %s, %s, %s, %s and %s, got %d", storage.ErrInvalidArgument,
			qDrive, qVolume, qPath, qOffset, qLength, len(vals))
	}
	get := func(name string) (string, error) {
		v, ok := vals[name]
		if !ok || len(v) != 1 {
			return "", fmt.Errorf("%w: parameter %q must appear exactly once", storage.ErrInvalidArgument, name)
		}
		return v[0], nil
	}
	num := func(name string, min int64) (int64, error) {
		s, err := get(name)
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < min {
			return 0, fmt.Errorf("%w: parameter %q: %q is not an integer >= %d", storage.ErrInvalidArgument, name, s, min)
		}
		return n, nil
	}
	if q.drive, err = get(qDrive); err != nil {
		return q, err
	}
	if q.drive == "" {
		return q, fmt.Errorf("%w: empty drive", storage.ErrInvalidArgument)
	}
	if q.volume, err = get(qVolume); err != nil {
		return q, err
	}
	if q.path, err = get(qPath); err != nil {
		return q, err
	}
	if q.offset, err = num(qOffset, 0); err != nil {
		return q, err
	}
	if q.length, err = num(qLength, -1); err != nil {
		return q, err
	}
	return q, nil
}

// serveRead serves one signed range read.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed")
		return
	}
	if s.opts.tls && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		s.log.Debug("remote read: refused", zap.String("remote", r.RemoteAddr), zap.Error(grid.ErrTLSRequired))
		writeError(w, http.StatusForbidden, "", "TLS with a verified client certificate required")
		return
	}
	peer, err := s.m.VerifyHTTP(r)
	if err != nil {
		s.log.Debug("remote read: refused", zap.String("remote", r.RemoteAddr), zap.Error(err))
		writeError(w, http.StatusUnauthorized, "", "unauthorized")
		return
	}
	q, err := parseReadQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeOf(err), err.Error())
		return
	}
	d, err := s.drive(q.drive)
	if err != nil {
		writeError(w, httpStatus(err), codeOf(err), err.Error())
		return
	}
	rc, err := d.ReadFileStream(r.Context(), q.volume, q.path, q.offset, q.length)
	if err != nil {
		writeError(w, httpStatus(err), codeOf(err), err.Error())
		return
	}
	defer rc.Close()

	h := w.Header()
	// A Content-Type of our own stops net/http from sniffing the body.
	h.Set("Content-Type", "application/octet-stream")
	var src io.Reader = rc
	want := q.length
	if fr, ok := rc.(fileRanger); ok {
		// The zero-copy path: a *io.LimitedReader over the *os.File is what
		// http's response.ReadFrom hands on to net.TCPConn.ReadFrom, which
		// calls sendfile for the exact range. Any other wrapper (an
		// io.SectionReader, our own type) would silently fall back to
		// read+write through a buffer.
		f, n := fr.FileRange()
		src, want = &io.LimitedReader{R: f, N: n}, n
	}
	if want >= 0 {
		// With a length the response is not chunked, which sendfile needs,
		// and a body cut short is visible to the client as such.
		h.Set("Content-Length", strconv.FormatInt(want, 10))
	}
	w.WriteHeader(http.StatusOK)
	// Sending the header now means http's response.ReadFrom has no first
	// 512 bytes to copy through a buffer (for content sniffing) before it
	// hands the rest to the socket: the whole range goes in sendfile calls,
	// and the header costs the write(2) it would have cost anyway.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	n, err := io.Copy(w, src)
	if err == nil && want >= 0 && n != want {
		err = fmt.Errorf("%w: drive yielded %d of %d bytes", io.ErrUnexpectedEOF, n, want)
	}
	if err != nil {
		s.log.Debug("remote read: range cut short", zap.String("peer", peer), zap.String("drive", q.drive),
			zap.String("volume", q.volume), zap.String("path", q.path), zap.Error(err))
		// The status is out: the only way left to say "failed" is to break
		// the connection before the body is complete, so the client reads
		// an unexpected EOF rather than short data. ErrAbortHandler is
		// net/http's way to do that; the server recovers it silently.
		panic(http.ErrAbortHandler)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	if code != "" {
		h.Set(ErrorHeader, code)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// ReadFileStream reads a range of a file on the remote drive over the read
// endpoint. The stream fails (io.ErrUnexpectedEOF) if the body ends before
// the range does.
func (c *Client) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	const op = "ReadFileStream"
	if err := c.ready(ctx); err != nil {
		return nil, c.wrap(op, err)
	}
	if offset < 0 || length < -1 {
		return nil, c.wrap(op, fmt.Errorf("read %s/%s: %w: offset %d length %d", volume, path, storage.ErrInvalidArgument, offset, length))
	}
	// The grid's view of the peer answers "is it down?" at once, where a
	// dial to a node that is gone from the network would hang.
	if st := c.conn.State(); st != grid.StateConnected {
		return nil, c.wrap(op, fmt.Errorf("%w: grid connection %s", storage.ErrDriveOffline, st))
	}
	q := readQuery{drive: c.endpoint, volume: volume, path: path, offset: offset, length: length}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.readURL+"?"+q.encode(), nil)
	if err != nil {
		return nil, c.wrap(op, err)
	}
	c.m.SignHTTP(req, c.peer)
	resp, err := c.http.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, c.wrap(op, cerr)
		}
		// Refused, reset, unreachable: the node is not there to serve.
		return nil, c.wrap(op, fmt.Errorf("%w: %w", storage.ErrDriveOffline, err))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		msg := strings.TrimSpace(string(body))
		code := resp.Header.Get(ErrorHeader)
		switch {
		case code != "":
			err = errorFromCode(code, msg)
		case resp.StatusCode == http.StatusUnauthorized:
			err = fmt.Errorf("%w: read endpoint refused our signature: %s", grid.ErrUnauthorized, msg)
		case resp.StatusCode == http.StatusForbidden:
			err = fmt.Errorf("%w: read endpoint refused the connection: %s", grid.ErrTLSRequired, msg)
		default:
			err = fmt.Errorf("HTTP %s: %s", resp.Status, msg)
		}
		return nil, c.wrap(op, err)
	}
	if length >= 0 && resp.ContentLength != length {
		resp.Body.Close()
		return nil, c.wrap(op, fmt.Errorf("read %s/%s: server announced %d bytes for a range of %d", volume, path, resp.ContentLength, length))
	}
	return &rangeBody{c: c, ctx: ctx, body: resp.Body, left: resp.ContentLength, volume: volume, path: path}, nil
}

// rangeBody is the client's side of a range being read.
type rangeBody struct {
	c            *Client
	ctx          context.Context
	body         io.ReadCloser
	left         int64 // bytes still due; -1 if the server did not say
	volume, path string
}

func (b *rangeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if b.left >= 0 {
		b.left -= int64(n)
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF && b.left > 0:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
		return n, io.EOF
	}
	if cerr := b.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return n, fmt.Errorf("ReadFileStream %s/%s on %s: %w", b.volume, b.path, b.c, err)
}

func (b *rangeBody) Close() error { return b.body.Close() }
