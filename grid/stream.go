package grid

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// ErrStreamEnded is returned by Stream.Send once the handler has finished
// cleanly; the messages it sent are still there to Recv.
var ErrStreamEnded = errors.New("grid: stream ended by handler")

// Stream is the caller's side of a stream opened with Connection.NewStream.
// One goroutine may Send while another Recvs.
//
// The stream ends when the handler returns (Recv then reports io.EOF, or the
// handler's error, after every message it sent), when the context passed to
// NewStream is done or Cancel is called (Recv reports the context's error at
// once), or when the connection is lost (ErrDisconnected).
type Stream struct {
	s        *session
	mux      uint64
	id       HandlerID
	recv     *recvQueue
	send     *sendCredit
	q        *sendQueue
	accepted chan struct{}
	isOpen   atomic.Bool // the handler accepted the stream
	hasInput bool        // written before accepted is closed
	done     chan struct{}

	mu         sync.Mutex
	finished   bool
	endErr     error // why the stream finished; nil for a clean end
	stopCtx    func() bool
	sendMu     sync.Mutex
	sendClosed bool
}

func (s *session) newStream(ctx context.Context, id HandlerID, subroute string, payload []byte, w Window) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n := int64(len(payload) + 9 + len(subroute)); n > s.peerLimits.maxMessage {
		return nil, fmt.Errorf("grid stream %v: initial payload of %d bytes, %s takes at most %d: %w", id, len(payload), s.peer.addr, s.peerLimits.maxMessage, ErrMessageTooLarge)
	}
	w = w.normalized()
	st := &Stream{
		s:        s,
		mux:      s.newMux(),
		id:       id,
		recv:     newRecvQueue(int64(w.Msgs), int64(w.Bytes)),
		send:     newSendCredit(),
		q:        &sendQueue{},
		accepted: make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		err := s.discErr
		s.mu.Unlock()
		return nil, err
	}
	s.streams[st.mux] = st
	s.mu.Unlock()

	d, ok := ctx.Deadline()
	open := appendOpening(&w, subroute, payload)
	m := outMsg{h: packetHeader{op: opOpen, handler: id, mux: st.mux, arg: deadlineArg(d, ok)}, payload: open, recycle: open}
	if subroute != "" {
		m.h.flags |= flagSubroute
	}
	s.sched.send(m)

	// Only once the opening is queued: a cancel queued before it would
	// reach the peer first, find nothing to cancel, and leave the handler
	// that the opening then starts running with nobody to stop it.
	stop := context.AfterFunc(ctx, func() { st.cancel(ctx.Err()) })
	st.mu.Lock()
	if st.finished {
		st.mu.Unlock()
		stop()
	} else {
		st.stopCtx = stop
		st.mu.Unlock()
	}

	select {
	case <-st.accepted:
		return st, nil
	case <-st.done:
		if st.isOpen.Load() {
			return st, nil // accepted and already finished: the messages wait in Recv
		}
		if st.endErr != nil {
			return nil, st.endErr
		}
		return nil, fmt.Errorf("grid stream %v: %w before it was accepted", id, ErrStreamEnded)
	}
}

// finish ends the stream once. A clean end or a handler error (abort false)
// keeps the messages already received for Recv; cancellation and
// disconnection (abort true) drop them.
func (st *Stream) finish(err error, abort bool) {
	st.mu.Lock()
	if st.finished {
		st.mu.Unlock()
		return
	}
	st.finished, st.endErr = true, err
	stop := st.stopCtx
	st.mu.Unlock()
	if abort {
		st.recv.abort(err)
	} else {
		st.recv.end(err)
	}
	st.s.sched.drop(st.q)
	close(st.done)
	if stop != nil {
		stop()
	}
}

// cancel abandons a stream that is still live: the handler is told to stop.
func (st *Stream) cancel(err error) {
	s := st.s
	s.mu.Lock()
	live := s.streams[st.mux] == st
	if live {
		delete(s.streams, st.mux)
	}
	s.mu.Unlock()
	if !live {
		return // already finished; a clean end stays clean
	}
	s.sched.cancel(st.mux, errors.Is(err, context.DeadlineExceeded))
	st.finish(err, true)
}

// Cancel abandons the stream; the remote handler's context is cancelled.
func (st *Stream) Cancel() { st.cancel(context.Canceled) }

// Send sends one message to the handler, waiting for flow-control credit.
// The grid owns msg from then on and recycles it once written: pass a slice
// you own whole (for example from GetBuffer) and do not touch it again.
func (st *Stream) Send(msg []byte) error {
	return st.sendMsg(msg)
}

func (st *Stream) sendMsg(msg []byte) error {
	if !st.hasInput {
		return fmt.Errorf("grid stream %v: %w", st.id, ErrNoInput)
	}
	if n := int64(len(msg)); n > st.s.peerLimits.maxMessage {
		return fmt.Errorf("grid stream %v: message of %d bytes, %s takes at most %d: %w", st.id, len(msg), st.s.peer.addr, st.s.peerLimits.maxMessage, ErrMessageTooLarge)
	}
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.sendClosed {
		return ErrSendClosed
	}
	for !st.send.tryTake(len(msg)) {
		select {
		case <-st.send.available:
		case <-st.done:
			return st.sendErr()
		}
	}
	select {
	case <-st.done:
		return st.sendErr()
	default:
	}
	if !st.s.sched.sendQueued(st.q, outMsg{h: packetHeader{op: opMsg, mux: st.mux}, payload: msg, recycle: msg}) {
		return st.sendErr()
	}
	return nil
}

func (st *Stream) sendErr() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.endErr != nil {
		return st.endErr
	}
	return ErrStreamEnded
}

// CloseSend tells the handler no more messages will come; its input channel
// closes after the messages already sent.
func (st *Stream) CloseSend() error {
	if !st.hasInput {
		return nil
	}
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.sendClosed {
		return nil
	}
	st.sendClosed = true
	select {
	case <-st.done:
		return nil
	default:
	}
	st.s.sched.sendQueued(st.q, outMsg{h: packetHeader{op: opCloseSend, mux: st.mux}})
	return nil
}

// Recv returns the next message from the handler. It returns io.EOF after the
// last message of a clean end, or the handler's error (a *RemoteErr), the
// context's error, or ErrDisconnected. The caller owns the message and may
// give it back with PutBuffer.
func (st *Stream) Recv() ([]byte, error) {
	for {
		msg, ok, done, err := st.recv.pop()
		if ok {
			if cm, cb := st.recv.consumed(len(msg)); cm > 0 {
				st.s.sched.send(outMsg{h: packetHeader{op: opCredit, mux: st.mux, arg: uint32(cm), size: uint32(cb)}})
			}
			return msg, nil
		}
		if done {
			if err == nil {
				return nil, io.EOF
			}
			return nil, err
		}
		<-st.recv.ready
	}
}

// Results calls fn for every message until the stream ends, and returns nil
// after a clean end. If fn fails, the stream is cancelled and fn's error
// returned. The message is only valid during fn; it is recycled afterwards.
func (st *Stream) Results(fn func(msg []byte) error) error {
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(msg)
		PutBuffer(msg)
		if err != nil {
			st.Cancel()
			return err
		}
	}
}

func (s *session) handleAccept(h *packetHeader, msg []byte) {
	defer PutBuffer(msg)
	s.mu.Lock()
	st := s.streams[h.mux]
	s.mu.Unlock()
	if st == nil || st.isOpen.Load() {
		return
	}
	if len(msg) != 8 {
		err := protocolErrorf("accept of stream %v on mux %d has %d bytes, want 8", st.id, h.mux, len(msg))
		s.m.log.Warn("grid: failing a stream the peer accepted with a malformed message",
			zap.String("peer", s.peer.addr), zap.Error(err))
		st.cancel(err)
		return
	}
	msgs := binary.LittleEndian.Uint32(msg[0:])
	bytes := binary.LittleEndian.Uint32(msg[4:])
	if msgs > 0 {
		st.hasInput = true
		st.send.grant(int64(msgs), int64(bytes))
	}
	st.isOpen.Store(true)
	close(st.accepted)
}

func (s *session) handleEnd(h *packetHeader, msg []byte) {
	defer PutBuffer(msg)
	s.mu.Lock()
	st := s.streams[h.mux]
	if st != nil {
		delete(s.streams, h.mux)
	}
	s.mu.Unlock()
	if st == nil {
		return
	}
	var err error
	if h.flags&flagError != 0 {
		err = decodeRemoteErr(msg)
	}
	st.finish(err, false)
}

func (s *session) handleCredit(h *packetHeader) error {
	var c *sendCredit
	s.mu.Lock()
	if s.ours(h.mux) {
		if st := s.streams[h.mux]; st != nil {
			c = st.send
		}
	} else if sv := s.served[h.mux]; sv != nil {
		c = sv.send
	}
	s.mu.Unlock()
	if c == nil {
		return nil // the stream finished while the credit was on the wire
	}
	return c.credit(int64(h.arg), int64(h.size))
}

func (s *session) handleMsg(h *packetHeader) error {
	msg, complete, err := s.assemble(h)
	if err != nil || !complete {
		return err
	}
	var q *recvQueue
	s.mu.Lock()
	if s.ours(h.mux) {
		if st := s.streams[h.mux]; st != nil {
			q = st.recv
		}
	} else if sv := s.served[h.mux]; sv != nil {
		q = sv.recv
		if q == nil {
			s.mu.Unlock()
			PutBuffer(msg)
			return protocolErrorf("message for stream %v on mux %d, which takes no input", sv.ent.id, h.mux)
		}
	}
	s.mu.Unlock()
	if q == nil {
		PutBuffer(msg) // the stream is gone
		return nil
	}
	return q.push(msg)
}

func (s *session) handleCloseSend(mux uint64) {
	s.mu.Lock()
	sv := s.served[mux]
	s.mu.Unlock()
	if sv != nil && sv.recv != nil {
		sv.recv.end(nil)
	}
}

func (s *session) handleOpen(h *packetHeader, msg []byte) error {
	if len(msg) < 8 {
		PutBuffer(msg)
		return protocolErrorf("stream opening on mux %d too short", h.mux)
	}
	w := Window{Msgs: int(binary.LittleEndian.Uint32(msg[0:])), Bytes: int(binary.LittleEndian.Uint32(msg[4:]))}
	if w.Msgs < 1 || w.Msgs > maxWindowMsgs || w.Bytes < 1 || w.Bytes > maxWindowBytes {
		PutBuffer(msg)
		return protocolErrorf("stream opening on mux %d with window %d msgs/%d bytes", h.mux, w.Msgs, w.Bytes)
	}
	var inMsgs, inBytes int
	sv, payload, err := s.admit(h, msg, msg[8:], true, func(sv *served) {
		e := sv.ent
		sv.send = newSendCredit()
		sv.send.grant(int64(w.Msgs), int64(w.Bytes))
		sv.q = &sendQueue{}
		if e.stream.InCapacity > 0 {
			inMsgs, inBytes = e.stream.InCapacity, e.stream.InBytes
			if inBytes == 0 {
				inBytes = DefaultWindowBytes
			}
			sv.recv = newRecvQueue(int64(inMsgs), int64(inBytes))
		}
	})
	if sv == nil {
		return err
	}
	ack := GetBuffer(8)
	ack = binary.LittleEndian.AppendUint32(ack, uint32(inMsgs))
	ack = binary.LittleEndian.AppendUint32(ack, uint32(inBytes))
	// The accept is queued before the handler starts, so it precedes every
	// message the handler sends.
	s.sched.send(outMsg{h: packetHeader{op: opAccept, mux: h.mux}, payload: ack, recycle: ack})
	s.wg.Add(1)
	go s.serveStream(sv, msg, payload)
	return nil
}

// serveStream runs a stream handler and forwards its output under flow
// control; the stream's end follows its last message.
func (s *session) serveStream(sv *served, buf, payload []byte) {
	defer s.wg.Done()
	// The end is small and queued last; the stream's slot goes back once
	// the handler is done.
	defer s.servedLim.release(sv.slotBytes)
	out := make(chan []byte)
	var in chan []byte
	if sv.recv != nil {
		in = make(chan []byte)
		s.wg.Add(1)
		go s.forwardIn(sv, in)
	}
	var herr error
	handlerDone := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(handlerDone) // after herr is set: the close publishes it
		herr = s.runStream(sv, payload, in, out)
		if !closeOut(out) && herr == nil {
			herr = &RemoteErr{Code: CodePanic, Msg: fmt.Sprintf("handler %v closed its out channel, which the grid owns", sv.ent.id)}
			s.m.log.Error("grid: stream handler closed its out channel", zap.Stringer("handler", sv.ent.id))
		}
	}()
	tooLarge := s.forwardOut(sv, out)
	var wanted bool
	select {
	case <-handlerDone:
		wanted = s.endServed(sv)
	default:
		// out was closed while the handler runs: by the handler itself.
		// Stop it; its end is an error whatever it returns.
		wanted = s.endServed(sv)
		sv.ctx.cancel(context.Canceled)
		<-handlerDone
	}
	PutBuffer(buf)
	if herr == nil && tooLarge != nil {
		herr = tooLarge
	}
	sv.ctx.cancel(context.Canceled)
	if sv.recv != nil {
		sv.recv.abort(context.Canceled)
	}
	if !wanted {
		s.sched.drop(sv.q)
		return
	}
	m := outMsg{h: packetHeader{op: opEnd, mux: sv.mux}}
	if herr != nil {
		m.h.flags |= flagError
		m.payload = errorPayload(herr)
		m.recycle = m.payload
	}
	s.sched.sendQueued(sv.q, m)
}

// closeOut closes a handler's out channel and reports false if the handler
// had closed it already: a contract violation that must not crash the node.
func closeOut(out chan []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	close(out)
	return true
}

func (s *session) runStream(sv *served, payload []byte, in <-chan []byte, out chan<- []byte) (err error) {
	defer s.recoverHandler(sv.ent.id, &err)
	return sv.ent.stream.Handle(&sv.ctx, payload, in, out)
}

// forwardOut moves the handler's messages to the wire as credit allows, until
// the handler returns. After cancellation it keeps draining, so a handler
// never blocks on out. It returns an error if the handler sent a message over
// the size limit (that message is dropped and the stream cancelled).
func (s *session) forwardOut(sv *served, out <-chan []byte) error {
	var tooLarge error
	for msg := range out {
		if int64(len(msg)) > s.peerLimits.maxMessage && tooLarge == nil {
			tooLarge = fmt.Errorf("stream %v message of %d bytes, %s takes at most %d: %w", sv.ent.id, len(msg), s.peer.addr, s.peerLimits.maxMessage, ErrMessageTooLarge)
			sv.ctx.cancel(tooLarge)
		}
		if !s.waitCredit(sv, len(msg)) {
			PutBuffer(msg)
			continue
		}
		s.sched.sendQueued(sv.q, outMsg{h: packetHeader{op: opMsg, mux: sv.mux}, payload: msg, recycle: msg})
	}
	return tooLarge
}

func (s *session) waitCredit(sv *served, n int) bool {
	for {
		if sv.ctx.Err() != nil {
			return false
		}
		if sv.send.tryTake(n) {
			return true
		}
		select {
		case <-sv.send.available:
		case <-sv.ctx.Done():
			return false
		}
	}
}

// forwardIn hands the caller's messages to the handler one at a time and
// returns credit as the handler takes them.
func (s *session) forwardIn(sv *served, in chan<- []byte) {
	defer s.wg.Done()
	defer close(in)
	done := sv.ctx.Done()
	for {
		msg, ok, end, _ := sv.recv.pop()
		if !ok {
			if end {
				return
			}
			select {
			case <-sv.recv.ready:
			case <-done:
				return
			}
			continue
		}
		select {
		case in <- msg:
		case <-done:
			PutBuffer(msg)
			return
		}
		if cm, cb := sv.recv.consumed(len(msg)); cm > 0 {
			s.sched.send(outMsg{h: packetHeader{op: opCredit, mux: sv.mux, arg: uint32(cm), size: uint32(cb)}})
		}
	}
}

func errorPayload(err error) []byte {
	w := toWire(err)
	b := GetBuffer(w.Msgsize())
	b, mErr := w.MarshalMsg(b)
	if mErr != nil {
		return b[:0] // two strings always encode; an empty error still ends the stream
	}
	return b
}
