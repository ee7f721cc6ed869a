package grid

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
)

// What one side of a connection accepts from the other is told at the
// handshake, so that a sender keeps within it instead of finding out from a
// closed connection: peers configured differently fail one call (a message
// larger than the peer takes), never the connection.
const (
	hdrMaxMessage    = "X-Grid-Max-Message"
	hdrMaxIncomplete = "X-Grid-Max-Incomplete"
)

// limits are what a receiver accepts.
type limits struct {
	// maxMessage bounds one request, response or stream message.
	maxMessage int64
	// maxIncomplete bounds the bytes of messages whose first fragment has
	// arrived and whose last has not (the memory the reader holds for
	// messages being assembled).
	maxIncomplete int64
}

// ownLimits are what this node accepts. The bound on incomplete messages
// leaves room for many large messages at once, and always for the largest.
func ownLimits(cfg *Config) limits {
	return limits{maxMessage: int64(cfg.MaxMessageSize), maxIncomplete: max(256<<20, int64(cfg.MaxMessageSize))}
}

func (l limits) setHeaders(h http.Header) {
	h.Set(hdrMaxMessage, strconv.FormatInt(l.maxMessage, 10))
	h.Set(hdrMaxIncomplete, strconv.FormatInt(l.maxIncomplete, 10))
}

// parseLimits reads the peer's limits from its handshake headers.
func parseLimits(get func(string) string) (limits, error) {
	var l limits
	var err error
	if l.maxMessage, err = strconv.ParseInt(get(hdrMaxMessage), 10, 64); err != nil || l.maxMessage < 1<<10 || l.maxMessage > 1<<30 {
		return l, fmt.Errorf("peer's %s %q is missing or out of range", hdrMaxMessage, get(hdrMaxMessage))
	}
	if l.maxIncomplete, err = strconv.ParseInt(get(hdrMaxIncomplete), 10, 64); err != nil || l.maxIncomplete < l.maxMessage || l.maxIncomplete > 1<<40 {
		return l, fmt.Errorf("peer's %s %q is missing, out of range or below its largest message", hdrMaxIncomplete, get(hdrMaxIncomplete))
	}
	return l, nil
}

// servedLimit bounds what a peer can make this node hold on one connection:
// calls served for it (a handler running, or its answer not yet written)
// and the bytes of their requests. A call beyond either is refused at once
// with ErrBusy, which the caller may retry; nothing is read into memory for
// it beyond what the reader already holds.
type servedLimit struct {
	maxCalls, maxBytes int64
	calls, bytes       atomic.Int64
}

// admit takes a slot for a call whose request holds n bytes. Only the
// connection's reader admits, so checking and then adding cannot overshoot.
// One call is always admitted when none is served, whatever its size.
func (l *servedLimit) admit(n int64) bool {
	calls, bytes := l.calls.Load(), l.bytes.Load()
	if calls >= l.maxCalls || (calls > 0 && bytes+n > l.maxBytes) {
		return false
	}
	l.calls.Add(1)
	l.bytes.Add(n)
	return true
}

func (l *servedLimit) release(n int64) {
	l.calls.Add(-1)
	l.bytes.Add(-n)
}
