package grid

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// session is one live websocket to a peer: its reader, writer and pinger
// goroutines and the calls and streams multiplexed over it. A peer gets a new
// session on every reconnect; everything in flight on an old one fails with
// ErrDisconnected.
type session struct {
	m     *Manager
	peer  *peer
	conn  net.Conn
	fr    frameReader
	sched *scheduler
	// checksums is set on connections without TLS: every packet written
	// carries packetSum, and every packet read is checked against it.
	checksums bool
	// The dialing side numbers its calls and streams with odd mux IDs, the
	// accepting side with even ones, so both can open calls without
	// coordinating and every packet's mux tells which side owns it.
	oddIDs bool
	nextID atomic.Uint64

	mu      sync.Mutex
	calls   map[uint64]*call
	streams map[uint64]*Stream
	served  map[uint64]*served
	closed  bool
	discErr error // what calls in flight get when the session dies
	done    chan struct{}

	// Reader goroutine only: messages whose first fragments arrived.
	partials     map[uint64]*partial
	partialBytes int64

	own, peerLimits limits      // what this side and the peer accept
	servedLim       servedLimit // calls served for the peer

	// wsem (capacity 1) serialises socket writes: the writer's frames and
	// the final close frame. A channel rather than a mutex so that close
	// can give up on it: a write may not return even past its deadline
	// (a wedged network stack, a connection wrapper that ignores it).
	wsem     chan struct{}
	lastRecv atomic.Int64 // Manager clock, ns
	rttNanos atomic.Int64
	wg       sync.WaitGroup
}

type partial struct {
	op  op
	h   packetHeader // of the first fragment
	buf []byte
}

func newSession(m *Manager, p *peer, conn net.Conn, buffered *bufio.Reader, dialer bool, peerLimits limits) *session {
	// TLS authenticates every record; without it, packets carry a checksum.
	_, isTLS := conn.(*tls.Conn)
	s := &session{
		m:          m,
		peer:       p,
		conn:       conn,
		own:        ownLimits(&m.cfg),
		peerLimits: peerLimits,
		oddIDs:     dialer,
		calls:      map[uint64]*call{},
		streams:    map[uint64]*Stream{},
		served:     map[uint64]*served{},
		done:       make(chan struct{}),
		wsem:       make(chan struct{}, 1),
		partials:   map[uint64]*partial{},
	}
	var src io.Reader = conn
	if buffered != nil && buffered.Buffered() > 0 {
		// The handshake reader already holds the first bytes of the stream.
		head, _ := buffered.Peek(buffered.Buffered())
		src = io.MultiReader(bytes.NewReader(append([]byte(nil), head...)), conn)
	}
	s.servedLim.maxCalls, s.servedLim.maxBytes = int64(m.cfg.MaxServed), m.cfg.MaxServedBytes
	s.sched = newScheduler(m.cfg.FrameSize/2, peerLimits.maxIncomplete, &s.servedLim)
	s.checksums = !isTLS
	s.fr = frameReader{
		r:          bufio.NewReaderSize(src, readBufferSize),
		maxFrame:   maxIncomingFrame,
		maxMessage: uint32(m.cfg.MaxMessageSize),
		checksums:  !isTLS,
	}
	s.lastRecv.Store(m.now())
	return s
}

// closeFrameTimeout bounds the wait to tell a peer we are closing.
const closeFrameTimeout = 100 * time.Millisecond

// readBufferSize is the reader's buffer, the most it takes from the socket
// per system call: several frames, so that the packets of many streams
// interleaved in them come in with few system calls. With the 64 KiB of a
// single frame, 8 streams of 1 MiB messages cost 39 % more CPU per byte
// (BenchmarkStream/send/streams=8, docs/benchmarks.md).
const readBufferSize = 256 << 10

func (s *session) start() {
	s.wg.Add(3)
	go s.readLoop()
	go s.writeLoop()
	go s.pingLoop()
}

// newMux returns a fresh mux ID owned by this side.
func (s *session) newMux() uint64 {
	n := s.nextID.Add(1)
	if s.oddIDs {
		return 2*n - 1
	}
	return 2 * n
}

// ours reports whether mux was opened by this side.
func (s *session) ours(mux uint64) bool { return (mux&1 == 1) == s.oddIDs }

// close tears the session down once: the socket, the queues, and every call,
// stream and handler in flight. It is safe from any goroutine.
func (s *session) close(cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.discErr = fmt.Errorf("%w: %s: %v", ErrDisconnected, s.peer.addr, cause)
	calls, streams, served := s.calls, s.streams, s.served
	s.calls, s.streams, s.served = nil, nil, nil
	s.mu.Unlock()

	close(s.done)
	if errors.Is(cause, ErrClosed) {
		// Shutting down: tell the peer, so it logs an orderly close rather
		// than a lost connection. The deadline comes first: it also ends a
		// frame write blocked on a peer that stopped reading, which holds
		// wsem; the writer then sees done and writes nothing more.
		// Closing the socket when the time is up ends even a write that
		// ignores its deadline.
		_ = s.conn.SetWriteDeadline(time.Now().Add(closeFrameTimeout))
		expired := make(chan struct{})
		t := time.AfterFunc(closeFrameTimeout, func() {
			close(expired)
			_ = s.conn.Close()
		})
		select {
		case s.wsem <- struct{}{}:
			_, _ = s.conn.Write(closeFrame)
			<-s.wsem
		case <-expired: // the writer is stuck: close without the courtesy
		}
		t.Stop()
	}
	// Any other end: close the socket at once, which also ends a blocked
	// write, without waiting for the writer.
	_ = s.conn.Close()
	s.sched.close()
	for _, c := range calls {
		c.deliver(nil, s.discErr)
	}
	for _, st := range streams {
		st.finish(s.discErr, true)
	}
	for _, sv := range served {
		sv.ctx.cancel(s.discErr)
		if sv.recv != nil {
			sv.recv.abort(s.discErr)
		}
	}
	s.peer.sessionClosed(s, cause)
}

func (s *session) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *session) writeLoop() {
	defer s.wg.Done()
	buf := make([]byte, maxWSHeader, maxWSHeader+s.m.cfg.FrameSize)
	for {
		select {
		case <-s.sched.wake:
		case <-s.done:
			return
		}
		// One yield lets goroutines that are about to queue something (other
		// callers, handlers finishing) join this frame: fewer, fuller writes.
		// With nothing else runnable it returns at once.
		runtime.Gosched()
		for {
			b := s.sched.fill(buf[:maxWSHeader])
			if len(b) == maxWSHeader {
				break
			}
			if s.checksums {
				sealPackets(b[maxWSHeader:])
			}
			start := putWSHeader(b, len(b)-maxWSHeader)
			s.wsem <- struct{}{}
			if s.isClosed() {
				<-s.wsem
				return
			}
			// A peer that takes nothing for a whole PeerTimeout is as good
			// as dead; the deadline keeps a write from blocking forever.
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.m.cfg.PeerTimeout))
			_, err := s.conn.Write(b[start:])
			<-s.wsem
			if err != nil {
				s.close(fmt.Errorf("write: %w", err))
				return
			}
		}
	}
}

// pingLoop pings the peer and declares it dead when it has been silent for
// too long. Every packet received counts as a sign of life, not only pongs.
func (s *session) pingLoop() {
	defer s.wg.Done()
	interval := s.m.cfg.PeerTimeout / 5
	silentLimit := int64(s.m.cfg.PeerTimeout - interval)
	t := time.NewTicker(interval)
	defer t.Stop()
	first := true // ping at once, so RTT is known right after connecting
	for {
		if !first {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
		first = false
		now := s.m.now()
		if silent := now - s.lastRecv.Load(); silent > silentLimit {
			s.close(fmt.Errorf("%w after %v", ErrPeerSilent, time.Duration(silent).Round(time.Millisecond)))
			return
		}
		p := GetBuffer(8)[:8]
		binary.LittleEndian.PutUint64(p, uint64(now))
		s.sched.send(outMsg{h: packetHeader{op: opPing}, payload: p, recycle: p})
	}
}

func (s *session) readLoop() {
	defer s.wg.Done()
	for {
		h, err := s.fr.next()
		if err == nil {
			s.lastRecv.Store(s.m.now())
			err = s.dispatch(&h)
		}
		if err != nil {
			if errors.Is(err, errProtocol) {
				s.m.log.Warn("grid: closing connection after protocol violation",
					zap.String("peer", s.peer.addr), zap.Error(err))
			}
			s.close(fmt.Errorf("read: %w", err))
			return
		}
	}
}

// dispatch handles one packet. It never blocks on anything but reading the
// packet's own payload: handlers run on their own goroutines, and stream
// messages go into queues whose room the flow control guarantees.
func (s *session) dispatch(h *packetHeader) error {
	switch h.op {
	case opPing:
		p := GetBuffer(8)[:8]
		if err := s.fr.readPayload(p); err != nil {
			PutBuffer(p)
			return err
		}
		s.sched.waitAnswerRoom(s.done)
		s.sched.send(outMsg{h: packetHeader{op: opPong}, payload: p, recycle: p, answer: true})
		return nil
	case opPong:
		var p [8]byte
		if err := s.fr.readPayload(p[:]); err != nil {
			return err
		}
		if rtt := s.m.now() - int64(binary.LittleEndian.Uint64(p[:])); rtt >= 0 {
			s.rttNanos.Store(rtt)
		}
		return nil
	case opCredit:
		return s.handleCredit(h)
	case opCancel, opCloseSend:
		if s.ours(h.mux) {
			return protocolErrorf("%v for our own mux %d", h.op, h.mux)
		}
		if err := s.fr.skip(int(h.len)); err != nil {
			return err
		}
		if h.op == opCancel {
			s.handleCancel(h.mux, h.arg == cancelDeadline)
		} else {
			s.handleCloseSend(h.mux)
		}
		return nil
	case opRequest, opOpen:
		if s.ours(h.mux) {
			return protocolErrorf("%v on our own mux %d", h.op, h.mux)
		}
	case opResponse, opAccept, opEnd:
		if !s.ours(h.mux) {
			return protocolErrorf("%v for peer's mux %d", h.op, h.mux)
		}
	case opMsg:
		return s.handleMsg(h)
	}
	// The rest carry whole messages that may be fragmented.
	msg, complete, err := s.assemble(h)
	if err != nil || !complete {
		return err
	}
	switch h.op {
	case opRequest:
		return s.handleRequest(h, msg)
	case opOpen:
		return s.handleOpen(h, msg)
	case opResponse:
		s.handleResponse(h, msg)
	case opAccept:
		s.handleAccept(h, msg)
	case opEnd:
		s.handleEnd(h, msg)
	}
	return nil
}

// assemble reads the payload of a packet that carries (part of) a
// connection-level message, and returns the message once it is complete.
func (s *session) assemble(h *packetHeader) (msg []byte, complete bool, err error) {
	n := int(h.len)
	if h.flags&flagCont == 0 {
		if _, dup := s.partials[h.mux]; dup {
			return nil, false, protocolErrorf("%v on mux %d starts while another is incomplete", h.op, h.mux)
		}
		if h.flags&flagMore == 0 {
			buf := GetBuffer(n)[:n]
			if err := s.fr.readPayload(buf); err != nil {
				PutBuffer(buf)
				return nil, false, err
			}
			return buf, true, nil
		}
		if s.partialBytes+int64(h.size) > s.own.maxIncomplete {
			return nil, false, protocolErrorf("%d bytes of incomplete messages exceed the %d agreed", s.partialBytes+int64(h.size), s.own.maxIncomplete)
		}
		buf := GetBuffer(int(h.size))[:n]
		if err := s.fr.readPayload(buf); err != nil {
			PutBuffer(buf)
			return nil, false, err
		}
		s.partials[h.mux] = &partial{op: h.op, h: *h, buf: buf}
		s.partialBytes += int64(h.size)
		return nil, false, nil
	}
	p := s.partials[h.mux]
	if p == nil {
		// The start was abandoned (its call was cancelled): skip the rest.
		return nil, false, s.fr.skip(n)
	}
	if p.op != h.op || p.h.size != h.size || len(p.buf)+n > int(h.size) {
		return nil, false, protocolErrorf("fragment of %v on mux %d does not continue its message", h.op, h.mux)
	}
	end := len(p.buf) + n
	if err := s.fr.readPayload(p.buf[len(p.buf):end]); err != nil {
		return nil, false, err
	}
	p.buf = p.buf[:end]
	if h.flags&flagMore != 0 {
		return nil, false, nil
	}
	if end != int(h.size) {
		return nil, false, protocolErrorf("%v on mux %d ended at %d of %d bytes", h.op, h.mux, end, h.size)
	}
	delete(s.partials, h.mux)
	s.partialBytes -= int64(h.size)
	// The handler ID and arguments come from the first fragment.
	*h = p.h
	return p.buf, true, nil
}

func (s *session) dropPartial(mux uint64) {
	if p := s.partials[mux]; p != nil {
		delete(s.partials, mux)
		s.partialBytes -= int64(p.h.size)
		PutBuffer(p.buf)
	}
}

// splitSubroute separates the subroute prefix of an opening payload.
func splitSubroute(h *packetHeader, msg []byte) (sub, rest []byte, ok bool) {
	if h.flags&flagSubroute == 0 {
		return nil, msg, true
	}
	if len(msg) < 1 || len(msg) < 1+int(msg[0]) || msg[0] == 0 {
		return nil, nil, false
	}
	n := int(msg[0])
	return msg[1 : 1+n], msg[1+n:], true
}

// appendOpening builds an opening payload: stream window (streams only),
// subroute prefix, then the caller's payload, in one pooled buffer.
func appendOpening(window *Window, subroute string, payload []byte) []byte {
	n := len(payload) + 1 + len(subroute)
	if window != nil {
		n += 8
	}
	b := GetBuffer(n)
	if window != nil {
		b = binary.LittleEndian.AppendUint32(b, uint32(window.Msgs))
		b = binary.LittleEndian.AppendUint32(b, uint32(window.Bytes))
	}
	if subroute != "" {
		b = append(b, byte(len(subroute)))
		b = append(b, subroute...)
	}
	return append(b, payload...)
}

// refuse answers an opening the reader will not serve (unknown handler,
// busy) with an error. It waits while too many such answers are queued: a
// peer that sends without reading stops being read.
func (s *session) refuse(op op, mux uint64, err error) {
	s.sched.waitAnswerRoom(s.done)
	b := errorPayload(err)
	s.sched.send(outMsg{h: packetHeader{op: op, mux: mux, flags: flagError}, payload: b, recycle: b, answer: true})
}

func deadlineFromArg(now time.Time, ms uint32) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(ms) * time.Millisecond)
}

// deadlineArg encodes the time left until d in milliseconds for the wire:
// 0 means no deadline, so a deadline that has all but passed is sent as 1 ms.
func deadlineArg(d time.Time, ok bool) uint32 {
	if !ok {
		return 0
	}
	ms := time.Until(d).Milliseconds()
	switch {
	case ms < 1:
		return 1
	case ms > 1<<31:
		return 1 << 31
	}
	return uint32(ms)
}

// recoverHandler turns a handler panic into an error for its caller and one
// log line with the stack, instead of a dead node.
func (s *session) recoverHandler(id HandlerID, errp *error) {
	if r := recover(); r != nil {
		s.handlerPanicked(id, r, errp)
	}
}

// handlerPanicked is recoverHandler's cold half. recover must be called by
// the deferred function itself, which runs on every served call's
// goroutine; keeping the logging out of its frame keeps those goroutines
// within their first stack (growing it cost 8 % of a small request).
//
//go:noinline
func (s *session) handlerPanicked(id HandlerID, r any, errp *error) {
	s.m.log.Error("grid: handler panicked", zap.Stringer("handler", id),
		zap.String("caller", s.peer.addr), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
	*errp = &RemoteErr{Code: CodePanic, Msg: fmt.Sprintf("handler %v panicked: %v", id, r)}
}
