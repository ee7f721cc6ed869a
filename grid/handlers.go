package grid

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gridstore/gridstore/proto"
)

// HandlerID is the wire ID of a handler; the IDs live in package proto.
type HandlerID = proto.HandlerID

// SingleHandlerFunc serves one single request. payload's buffer is reused
// once the answer is written: copy what must outlive the call. The handler may
// answer with payload itself or a slice of it (an echo); the grid keeps the
// buffer until that answer is on the wire. The grid owns the returned slice
// from then on. ctx is cancelled when the caller cancels or its deadline
// passes, or when the connection is lost.
type SingleHandlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// StreamHandlerFunc serves one stream. payload is the initial payload (valid
// until the function returns). in delivers the caller's messages (nil when
// the handler takes no input) and is closed when the caller closes its send
// side or the stream is cancelled; check ctx.Err() to tell which. Every
// message sent on out reaches the caller, in order, before the stream's end.
// The grid owns slices sent on out. Never close out: returning ends the
// stream, and a non-nil error reaches the caller as a *RemoteErr.
type StreamHandlerFunc func(ctx context.Context, payload []byte, in <-chan []byte, out chan<- []byte) error

// StreamHandler registers a stream handler.
type StreamHandler struct {
	Handle StreamHandlerFunc
	// InCapacity is how many messages from the caller may be in flight
	// unconsumed (the handler's receive window). Zero: the handler takes no
	// input and the caller's Send fails with ErrNoInput.
	InCapacity int
	// InBytes bounds the bytes of those messages; 0 means DefaultWindowBytes.
	InBytes int
}

// Window is a receiver's flow-control grant: how many messages and bytes may
// be sent to it and not yet consumed. One message is always allowed, however
// large, so a window smaller than a message cannot deadlock.
type Window struct {
	Msgs  int
	Bytes int
}

// Defaults and limits of stream windows.
const (
	DefaultWindowMsgs  = 16
	DefaultWindowBytes = 8 << 20
	maxWindowMsgs      = 1 << 16
	maxWindowBytes     = 1 << 30
)

func (w Window) normalized() Window {
	if w.Msgs <= 0 {
		w.Msgs = DefaultWindowMsgs
	}
	if w.Bytes <= 0 {
		w.Bytes = DefaultWindowBytes
	}
	return Window{Msgs: min(w.Msgs, maxWindowMsgs), Bytes: min(w.Bytes, maxWindowBytes)}
}

// handlerEntry is what a handler ID (and subroute) resolves to.
type handlerEntry struct {
	id       HandlerID
	subroute string
	// single returns pooled=true when the response came from GetBuffer.
	single func(ctx context.Context, payload []byte) (resp []byte, pooled bool, err error)
	stream *StreamHandler
}

// handlerTable maps IDs and subroutes to handlers. Lookups happen on every
// request from the connection readers, so the table is an immutable snapshot
// behind an atomic pointer; registration copies it.
type handlerTable struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[map[HandlerID]*routes]
}

type routes struct {
	root *handlerEntry
	subs map[string]*handlerEntry
}

func (t *handlerTable) lookup(id HandlerID, subroute []byte) *handlerEntry {
	p := t.snap.Load()
	if p == nil {
		return nil
	}
	r := (*p)[id]
	if r == nil {
		return nil
	}
	if len(subroute) == 0 {
		return r.root
	}
	return r.subs[string(subroute)] // no allocation: the compiler special-cases this lookup
}

func (t *handlerTable) add(e *handlerEntry) error {
	if !e.id.Valid() {
		return fmt.Errorf("grid: register handler %v: invalid handler ID", e.id)
	}
	if len(e.subroute) > 255 {
		return fmt.Errorf("grid: register handler %v: subroute longer than 255 bytes", e.id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := map[HandlerID]*routes{}
	if p := t.snap.Load(); p != nil {
		for k, v := range *p {
			c := &routes{root: v.root, subs: make(map[string]*handlerEntry, len(v.subs))}
			for s, e := range v.subs {
				c.subs[s] = e
			}
			next[k] = c
		}
	}
	r := next[e.id]
	if r == nil {
		r = &routes{subs: map[string]*handlerEntry{}}
		next[e.id] = r
	}
	if e.subroute == "" {
		if r.root != nil {
			return fmt.Errorf("grid: handler %v registered twice", e.id)
		}
		r.root = e
	} else {
		if r.subs[e.subroute] != nil {
			return fmt.Errorf("grid: handler %v subroute %q registered twice", e.id, e.subroute)
		}
		r.subs[e.subroute] = e
	}
	t.snap.Store(&next)
	return nil
}

// RegisterSingle registers a single-request handler under id, optionally on
// a static subroute (callers use Connection.Subroute with the same name).
func (m *Manager) RegisterSingle(id HandlerID, fn SingleHandlerFunc, subroute ...string) error {
	if fn == nil {
		return fmt.Errorf("grid: register handler %v: nil function", id)
	}
	return m.registerSingle(id, func(ctx context.Context, p []byte) ([]byte, bool, error) {
		resp, err := fn(ctx, p)
		return resp, false, err
	}, subroute...)
}

func (m *Manager) registerSingle(id HandlerID, fn func(context.Context, []byte) ([]byte, bool, error), subroute ...string) error {
	sub, err := oneSubroute(subroute)
	if err != nil {
		return err
	}
	return m.handlers.add(&handlerEntry{id: id, subroute: sub, single: fn})
}

// RegisterStream registers a stream handler under id, optionally on a static
// subroute.
func (m *Manager) RegisterStream(id HandlerID, h StreamHandler, subroute ...string) error {
	if h.Handle == nil {
		return fmt.Errorf("grid: register stream handler %v: nil function", id)
	}
	if h.InCapacity < 0 || h.InCapacity > maxWindowMsgs || h.InBytes < 0 || h.InBytes > maxWindowBytes {
		return fmt.Errorf("grid: register stream handler %v: capacity out of range", id)
	}
	sub, err := oneSubroute(subroute)
	if err != nil {
		return err
	}
	return m.handlers.add(&handlerEntry{id: id, subroute: sub, stream: &h})
}

func oneSubroute(s []string) (string, error) {
	switch len(s) {
	case 0:
		return "", nil
	case 1:
		return s[0], nil
	}
	return "", fmt.Errorf("grid: at most one subroute per registration, got %d", len(s))
}
