package clusterproc

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// clientTrace times the HTTP exchanges of one workload request, from the
// moment the operation began (for a PUT, a little before its sample's
// start: the body is made first), from the client's side (net/http/httptrace): when a connection was asked for and
// got (new or reused), when the request was written, when the first byte
// of the answer came. For the slowest request, with the server's own
// slow-request log, it tells where the time went: waiting for a
// connection, for the server to read the request, for its answer, or in
// the body after it.
type clientTrace struct {
	start time.Time
	mu    sync.Mutex
	// One per HTTP request of the operation (a listing may take several).
	exchanges []exchange
}

type exchange struct {
	getConn, gotConn, wrote, firstByte time.Duration
	reused                             bool
}

// with returns ctx carrying the trace's hooks.
func (c *clientTrace) with(ctx context.Context) context.Context {
	at := func() time.Duration { return time.Since(c.start) }
	last := func(f func(e *exchange)) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.exchanges) > 0 {
			f(&c.exchanges[len(c.exchanges)-1])
		}
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.exchanges = append(c.exchanges, exchange{getConn: at()})
		},
		GotConn: func(info httptrace.GotConnInfo) {
			last(func(e *exchange) { e.gotConn, e.reused = at(), info.Reused })
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { last(func(e *exchange) { e.wrote = at() }) },
		GotFirstResponseByte: func() { last(func(e *exchange) { e.firstByte = at() }) },
	})
}

// String lists the exchanges: "asked for a connection at 0s, got it
// (reused) at 1ms, request written at 2ms, first byte at 9.8s".
func (c *clientTrace) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, e := range c.exchanges {
		conn := "new"
		if e.reused {
			conn = "reused"
		}
		parts = append(parts, fmt.Sprintf("asked for a connection at %s, got it (%s) at %s, request written at %s, first byte at %s",
			roundTrace(e.getConn), conn, roundTrace(e.gotConn), roundTrace(e.wrote), roundTrace(e.firstByte)))
	}
	return strings.Join(parts, "; ")
}

func roundTrace(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
