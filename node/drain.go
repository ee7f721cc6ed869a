package node

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// A request refused before its body is read (the node over its budget, a
// write quorum out of reach, a bad signature) is answered at once, but a
// client that did not ask "Expect: 100-continue" is still sending the body.
// Go's server then closes the connection with the body unread; the client's
// write fails (broken pipe, connection reset) and most clients report that
// rather than the answer waiting to be read, so a SlowDown meant to make
// them back off looks like a network failure instead. So the answer is
// flushed first and the rest of the body read and thrown away after it, up
// to drainLimit bytes within drainTimeout (beyond that the connection is
// closed as before: re-sending gigabytes would cost more than the error).
const (
	drainLimit   = 64 << 20
	drainTimeout = 10 * time.Second
)

// drainer tracks whether a request's body was read to its end.
type drainer struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	body *eofBody // nil: no body
	// expectContinue: the client asked "Expect: 100-continue".
	expectContinue bool
}

// prepareDrain readies w to keep r's body readable after the answer
// (full duplex) and watches the body; call drain when the answer is
// written.
func prepareDrain(w http.ResponseWriter, r *http.Request) (*drainer, *http.Request) {
	d := &drainer{w: w, rc: http.NewResponseController(w)}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return d, r
	}
	if err := d.rc.EnableFullDuplex(); err != nil {
		return d, r // HTTP/2 is full duplex already; anything else drains as before
	}
	d.body = &eofBody{ReadCloser: r.Body}
	d.expectContinue = strings.EqualFold(r.Header.Get("Expect"), "100-continue")
	r2 := *r
	r2.Body = d.body
	return d, &r2
}

// drain flushes the answer and discards what is left of the body.
func (d *drainer) drain() {
	if d.body == nil || d.body.eof.Load() {
		return
	}
	if d.expectContinue && !d.body.read.Load() {
		// The client waits for "100 Continue" before it sends the body,
		// and Go's server sends none once the answer is written: there is
		// nothing to drain, and the client reads the refusal at once.
		return
	}
	_ = d.rc.Flush()
	_ = d.rc.SetReadDeadline(time.Now().Add(drainTimeout))
	_, _ = io.CopyN(io.Discard, d.body, drainLimit)
	_ = d.rc.SetReadDeadline(time.Time{}) // the connection may serve another request
}

// eofBody notes that its body was read, and read to the end.
type eofBody struct {
	io.ReadCloser
	read, eof atomic.Bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof.Store(true)
	}
	return n, err
}
