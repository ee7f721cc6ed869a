package grid

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// call is a single request waiting for its response. Calls are pooled: the
// result channel and timer are reused.
type call struct {
	result chan callResult // capacity 1: the reader never blocks delivering
	timer  *time.Timer
}

type callResult struct {
	msg []byte
	err error
}

var callPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &call{result: make(chan callResult, 1), timer: t}
}}

// deliver hands the result over. The session guarantees one delivery per call
// by removing the call from its table first.
func (c *call) deliver(msg []byte, err error) { c.result <- callResult{msg, err} }

// request performs one single request on this session.
func (s *session) request(ctx context.Context, id HandlerID, subroute string, req []byte) ([]byte, error) {
	if n := int64(len(req) + 1 + len(subroute)); n > s.peerLimits.maxMessage {
		return nil, fmt.Errorf("grid request %v: %d bytes, %s takes at most %d: %w", id, len(req), s.peer.addr, s.peerLimits.maxMessage, ErrMessageTooLarge)
	}
	deadline, hasDeadline := ctx.Deadline()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := callPool.Get().(*call)
	mux := s.newMux()

	s.mu.Lock()
	if s.closed {
		err := s.discErr
		s.mu.Unlock()
		callPool.Put(c)
		return nil, err
	}
	s.calls[mux] = c
	s.mu.Unlock()

	var timeout <-chan time.Time
	if !hasDeadline {
		deadline, hasDeadline = time.Now().Add(s.m.cfg.RequestTimeout), true
		c.timer.Reset(s.m.cfg.RequestTimeout)
		timeout = c.timer.C
	}
	m := outMsg{h: packetHeader{op: opRequest, handler: id, mux: mux, arg: deadlineArg(deadline, hasDeadline)}, payload: req}
	if subroute != "" {
		m.h.flags |= flagSubroute
		m.payload = appendOpening(nil, subroute, req)
		m.recycle = m.payload
	}
	s.sched.send(m) // a closed scheduler is a closed session: the close delivers the error

	var r callResult
	select {
	case r = <-c.result:
	case <-ctx.Done():
		r = s.abandon(mux, c, ctx.Err())
	case <-timeout:
		r = s.abandon(mux, c, fmt.Errorf("grid request %v to %s: no answer within %v: %w",
			id, s.peer.addr, s.m.cfg.RequestTimeout, context.DeadlineExceeded))
	}
	if timeout != nil {
		c.timer.Stop()
	}
	callPool.Put(c)
	return r.msg, r.err
}

// abandon gives up on a call: the remote handler is told to stop, and the
// unsent part of the request is dropped so the caller's buffer is free again.
// If the response won the race it is returned instead.
func (s *session) abandon(mux uint64, c *call, err error) callResult {
	s.mu.Lock()
	_, pending := s.calls[mux]
	if pending {
		delete(s.calls, mux)
	}
	s.mu.Unlock()
	if !pending {
		// The response (or the disconnect) is being delivered: take it.
		return <-c.result
	}
	s.sched.cancel(mux, errors.Is(err, context.DeadlineExceeded))
	return callResult{err: err}
}

func (s *session) handleResponse(h *packetHeader, msg []byte) {
	s.mu.Lock()
	c := s.calls[h.mux]
	delete(s.calls, h.mux)
	s.mu.Unlock()
	if c == nil {
		PutBuffer(msg) // the caller gave up
		return
	}
	if h.flags&flagError != 0 {
		err := decodeRemoteErr(msg)
		PutBuffer(msg)
		c.deliver(nil, err)
		return
	}
	c.deliver(msg, nil)
}

// served is the handler side of a request or stream: its context and, for
// streams, its flow-control state.
type served struct {
	ctx handlerCtx
	mux uint64
	// slotBytes is what the call counts against the connection's
	// servedLimit, given back when its answer is written or dropped.
	slotBytes int64
	recv      *recvQueue  // stream input; nil for single requests and no-input streams
	send      *sendCredit // streams only
	q         *sendQueue  // streams only: the handler's messages and end, in order
	ent       *handlerEntry
}

// newServed registers a call being served. prepare, if set, completes sv
// before it is registered: once in s.served, close may read it from another
// goroutine at any moment.
func (s *session) newServed(h *packetHeader, sub []byte, e *handlerEntry, prepare func(*served)) (*served, bool) {
	sv := &served{mux: h.mux, ent: e}
	sv.ctx.deadline = deadlineFromArg(time.Now(), h.arg)
	sv.ctx.caller = s.peer.addr
	sv.ctx.subroute = e.subroute
	if prepare != nil {
		prepare(sv)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if _, dup := s.served[h.mux]; dup {
		return nil, false
	}
	s.served[h.mux] = sv
	return sv, true
}

// endServed unregisters a call whose handler finished and reports whether
// the caller still waits for its answer: it did not cancel and the
// connection is up. A handler whose context ended for another reason (its
// deadline, a message too large) still answers.
func (s *session) endServed(sv *served) (stillWanted bool) {
	s.mu.Lock()
	cur, ok := s.served[sv.mux]
	if ok && cur == sv {
		delete(s.served, sv.mux)
	}
	s.mu.Unlock()
	return ok && cur == sv
}

func (s *session) handleRequest(h *packetHeader, msg []byte) error {
	sv, payload, err := s.admit(h, msg, msg, false, nil)
	if sv == nil {
		return err
	}
	s.wg.Add(1)
	go s.serveSingle(sv, msg, payload)
	return nil
}

// admit resolves the handler of an opening packet (a request, or a stream
// opening whose window prefix was already taken off body) and registers the
// call. It returns a nil served when the call goes no further: the packet
// was malformed (a protocol error), the handler is unknown (answered with
// ErrUnknownHandler), or the session is closing. msg is recycled then.
func (s *session) admit(h *packetHeader, msg, body []byte, stream bool, prepare func(*served)) (*served, []byte, error) {
	kind, answer := "single", opResponse
	if stream {
		kind, answer = "stream", opEnd
	}
	sub, payload, ok := splitSubroute(h, body)
	if !ok {
		PutBuffer(msg)
		return nil, nil, protocolErrorf("malformed subroute on %s mux %d", kind, h.mux)
	}
	e := s.m.handlers.lookup(h.handler, sub)
	if e == nil || (stream && e.stream == nil) || (!stream && e.single == nil) {
		err := &RemoteErr{Code: CodeUnknownHandler,
			Msg: fmt.Sprintf("no %s handler %v (subroute %q) on %s", kind, h.handler, sub, s.m.cfg.Self)}
		PutBuffer(msg)
		s.refuse(answer, h.mux, err)
		return nil, nil, nil
	}
	n := int64(len(msg))
	if !s.servedLim.admit(n) {
		err := &RemoteErr{Code: CodeBusy, Msg: fmt.Sprintf("%s %v refused: %s is serving %d calls (%d bytes) for %s, its limit is %d (%d bytes)",
			kind, h.handler, s.m.cfg.Self, s.servedLim.calls.Load(), s.servedLim.bytes.Load(), s.peer.addr, s.servedLim.maxCalls, s.servedLim.maxBytes)}
		PutBuffer(msg)
		s.refuse(answer, h.mux, err)
		return nil, nil, nil
	}
	sv, ok := s.newServed(h, sub, e, prepare)
	if !ok {
		s.servedLim.release(n)
		PutBuffer(msg)
		if s.isClosed() {
			return nil, nil, nil
		}
		return nil, nil, protocolErrorf("%s on mux %d already in use", kind, h.mux)
	}
	sv.slotBytes = n
	return sv, payload, nil
}

func (s *session) serveSingle(sv *served, buf, payload []byte) {
	defer s.wg.Done()
	resp, pooled, err := s.runSingle(sv, payload)
	wanted := s.endServed(sv)
	sv.ctx.cancel(context.Canceled) // the handler is done: release what it derived

	// Decide which buffer goes back to the pool once the answer is written.
	// A raw handler may answer with a slice of its own request (an echo), so
	// the request buffer is only recycled after the response is on the wire.
	var recycle []byte
	switch {
	case pooled:
		recycle = resp
		PutBuffer(buf)
	case aliases(resp, buf):
		recycle = buf
	default:
		PutBuffer(buf)
	}
	if !wanted || err != nil || int64(len(resp)) > s.peerLimits.maxMessage {
		PutBuffer(recycle)
		switch {
		case !wanted: // cancelled or disconnected: nobody wants the answer
			s.servedLim.release(sv.slotBytes)
		case err != nil:
			s.answerError(opResponse, sv, err)
		default:
			s.answerTooLarge(sv, len(resp))
		}
		return
	}
	s.sched.send(outMsg{h: packetHeader{op: opResponse, mux: sv.mux}, payload: resp, recycle: recycle, slot: true, slotBytes: sv.slotBytes})
}

// answerTooLarge fails a call whose answer the peer would refuse. It is
// kept out of serveSingle, which starts every served call's goroutine: a
// larger frame there makes each of those goroutines grow its stack.
//
//go:noinline
func (s *session) answerTooLarge(sv *served, size int) {
	s.answerError(opResponse, sv, fmt.Errorf("handler %v response of %d bytes, %s takes at most %d: %w",
		sv.ent.id, size, s.peer.addr, s.peerLimits.maxMessage, ErrMessageTooLarge))
}

// answerError ends a served single call with an error; the call's slot is
// given back once the answer is written.
func (s *session) answerError(op op, sv *served, err error) {
	b := errorPayload(err)
	s.sched.send(outMsg{h: packetHeader{op: op, mux: sv.mux, flags: flagError}, payload: b, recycle: b, slot: true, slotBytes: sv.slotBytes})
}

// aliases reports whether b points into the backing array of buf.
func aliases(b, buf []byte) bool {
	if cap(b) == 0 || cap(buf) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(buf[:1])))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))
	return p >= start && p < start+uintptr(cap(buf))
}

func (s *session) runSingle(sv *served, payload []byte) (resp []byte, pooled bool, err error) {
	defer s.recoverHandler(sv.ent.id, &err)
	return sv.ent.single(&sv.ctx, payload)
}

// handleCancel stops the handler serving mux, if it still runs.
func (s *session) handleCancel(mux uint64, deadline bool) {
	s.dropPartial(mux)
	s.mu.Lock()
	sv := s.served[mux]
	delete(s.served, mux)
	s.mu.Unlock()
	if sv == nil {
		return
	}
	cause := context.Canceled
	if deadline {
		cause = context.DeadlineExceeded
	}
	sv.ctx.cancel(cause)
	if sv.recv != nil {
		sv.recv.abort(cause)
	}
	if sv.q != nil {
		s.sched.drop(sv.q)
	}
	if sv.send != nil {
		sv.send.signal()
	}
}
