package node

import (
	"io"
	"net/http"
	"time"
)

// DefaultStallTimeout is Config.StallTimeout's default.
const DefaultStallTimeout = 5 * time.Second

// stallGuard bounds how long one S3 request may go without progress on its
// connection: a request body that delivers nothing, or a response the
// client takes nothing of, for timeout fails the read or write in progress
// (a stalled upload is dropped, and a PUT commits nothing it has not read
// whole; a stalled GET ends, releasing what it holds). Progress re-arms the
// deadline, so a slow client that keeps reading or sending is never cut.
//
// The deadlines are the connection's (http.ResponseController), re-armed at
// most every timeout/4 so that a stream of small reads or writes does not
// pay for a deadline update each; a stall is thus cut after between
// 3/4 and all of timeout. They are cleared when the request ends, before
// the connection serves its next request.
type stallGuard struct {
	rc      *http.ResponseController
	timeout time.Duration
	// When the read and write deadlines were last armed.
	readArmed, writeArmed time.Time
	// bodyDone: the body was read whole, and the read deadline is off.
	bodyDone bool
}

// guardStalls wraps w and r.Body for the request; done must be called when
// the handler returns.
func guardStalls(w http.ResponseWriter, r *http.Request, timeout time.Duration) (http.ResponseWriter, *http.Request, func()) {
	if timeout <= 0 {
		return w, r, func() {}
	}
	g := &stallGuard{rc: http.NewResponseController(w), timeout: timeout}
	if r.Body != nil && r.Body != http.NoBody {
		r2 := *r
		r2.Body = &stallBody{g: g, body: r.Body, left: r.ContentLength}
		r = &r2
	}
	return &stallWriter{g: g, w: w}, r, func() {
		_ = g.rc.SetReadDeadline(time.Time{})
		_ = g.rc.SetWriteDeadline(time.Time{})
	}
}

func (g *stallGuard) armRead() {
	if g.bodyDone {
		return
	}
	if now := time.Now(); now.Sub(g.readArmed) >= g.timeout/4 {
		g.readArmed = now
		_ = g.rc.SetReadDeadline(now.Add(g.timeout))
	}
}

func (g *stallGuard) armWrite() {
	if now := time.Now(); now.Sub(g.writeArmed) >= g.timeout/4 {
		g.writeArmed = now
		_ = g.rc.SetWriteDeadline(now.Add(g.timeout))
	}
}

// stallBody is a request body whose reads re-arm the read deadline, until
// the body has been read whole. From then on Go's server reads the
// connection only to notice a client that goes away (its background read,
// which starts with the deadline cleared); a deadline armed again by one
// more Read after the end would fire in that background read while the
// request is still being served (a slow commit under load) and cancel it
// as if the client had stalled.
type stallBody struct {
	g    *stallGuard
	body io.ReadCloser
	left int64 // bytes still to come; -1 when unknown (chunked)
}

func (b *stallBody) Read(p []byte) (int, error) {
	b.g.armRead()
	n, err := b.body.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	if (err == io.EOF || b.left == 0) && !b.g.bodyDone {
		b.g.bodyDone = true
		_ = b.g.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *stallBody) Close() error { return b.body.Close() }

// stallWriter is a ResponseWriter whose writes re-arm the write deadline.
// Unwrap lets http.ResponseController reach the connection's own writer.
type stallWriter struct {
	g *stallGuard
	w http.ResponseWriter
}

func (s *stallWriter) Header() http.Header { return s.w.Header() }

func (s *stallWriter) WriteHeader(code int) {
	s.g.armWrite()
	s.w.WriteHeader(code)
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.g.armWrite()
	return s.w.Write(p)
}

func (s *stallWriter) Flush() {
	s.g.armWrite()
	_ = s.g.rc.Flush()
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.w }
