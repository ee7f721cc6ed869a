package grid

import (
	"sync"
)

// outMsg is one message waiting to be written: a header template and a
// payload, of which off bytes have gone out so far.
type outMsg struct {
	h       packetHeader // op, flags, handler, arg, mux; size and len are set when framed
	payload []byte
	off     int
	recycle []byte // returned to the buffer pool once written (often payload itself)
	dead    bool   // cancelled before it was fully written: skip it
}

func (m *outMsg) release() {
	if m.recycle != nil {
		PutBuffer(m.recycle)
	}
	m.payload, m.recycle = nil, nil
}

// sendQueue holds the messages of one source that must stay in order: one
// direction of a stream, or one single message too large for one fragment.
type sendQueue struct {
	msgs    []outMsg
	head    int
	linked  bool // in the scheduler's round-robin list
	dropped bool // the stream is gone: take nothing more
}

// scheduler decides what the connection's writer sends next. Small messages
// that fit in one fragment (control packets, single requests and responses)
// go first, in arrival order; then every queue with data gets one fragment in
// turn. This interleaving is what lets a 100-byte request overtake the rest of
// a 1 MiB stream message. Everything happens under one mutex that enqueuers
// hold only for an append, and the writer for one frame's worth of copying.
type scheduler struct {
	mu       sync.Mutex
	urgent   []outMsg
	uhead    int
	rr       []*sendQueue
	fragment int           // largest fragment payload
	wake     chan struct{} // signalled (cap 1) when there is something to write
	closed   bool
}

func newScheduler(fragment int) *scheduler {
	return &scheduler{fragment: fragment, wake: make(chan struct{}, 1)}
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send queues a message that belongs to no ordered queue. Messages larger
// than a fragment get a queue of their own so they are interleaved fairly.
// It returns false once the scheduler is closed.
func (s *scheduler) send(m outMsg) bool {
	if len(m.payload) > s.fragment {
		q := &sendQueue{}
		return s.sendQueued(q, m)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		m.release()
		return false
	}
	s.urgent = append(s.urgent, m)
	s.mu.Unlock()
	s.signal()
	return true
}

// sendQueued appends a message to an ordered queue.
func (s *scheduler) sendQueued(q *sendQueue, m outMsg) bool {
	s.mu.Lock()
	if s.closed || q.dropped {
		s.mu.Unlock()
		m.release()
		return false
	}
	q.msgs = append(q.msgs, m)
	if !q.linked {
		q.linked = true
		s.rr = append(s.rr, q)
	}
	s.mu.Unlock()
	s.signal()
	return true
}

// cancelOpening drops the unsent part of the request or stream opening sent
// on mux, wherever it waits. The caller's payload is not touched after it
// returns, so the caller may reuse it. A receiver holding the first fragments
// discards them when the opCancel that follows arrives.
func (s *scheduler) cancelOpening(mux uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mark := func(m *outMsg) {
		if m.h.mux == mux && (m.h.op == opRequest || m.h.op == opOpen) {
			m.dead = true
		}
	}
	for i := s.uhead; i < len(s.urgent); i++ {
		mark(&s.urgent[i])
	}
	for _, q := range s.rr {
		for i := q.head; i < len(q.msgs); i++ {
			mark(&q.msgs[i])
		}
	}
}

// drop discards what is still queued on q; used when a stream is cancelled.
// A message already partly written is finished, so the receiver never holds
// half a message for a stream that is gone.
func (s *scheduler) drop(q *sendQueue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.dropped = true
	for i := q.head; i < len(q.msgs); i++ {
		if q.msgs[i].off == 0 {
			q.msgs[i].dead = true
		}
	}
}

// close releases everything queued; later sends are refused.
func (s *scheduler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for i := s.uhead; i < len(s.urgent); i++ {
		s.urgent[i].release()
	}
	s.urgent, s.uhead = nil, 0
	for _, q := range s.rr {
		for i := q.head; i < len(q.msgs); i++ {
			q.msgs[i].release()
		}
		q.msgs, q.head, q.linked = nil, 0, false
	}
	s.rr = nil
}

// fill appends packets to buf (which has room up to its capacity) and returns
// it. It takes urgent messages first, then one fragment per queue in turn,
// until the frame is full or nothing is left.
func (s *scheduler) fill(buf []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.uhead < len(s.urgent) {
		m := &s.urgent[s.uhead]
		if !m.dead {
			if cap(buf)-len(buf) < packetHeaderSize+len(m.payload) {
				return buf
			}
			buf = appendPacket(buf, &m.h, m.payload, len(m.payload), 0)
		}
		m.release()
		*m = outMsg{}
		s.uhead++
	}
	s.urgent, s.uhead = s.urgent[:0], 0

	for len(s.rr) > 0 {
		room := cap(buf) - len(buf) - packetHeaderSize
		if room <= 0 {
			return buf
		}
		q := s.rr[0]
		copy(s.rr, s.rr[1:])
		s.rr = s.rr[:len(s.rr)-1]
		// Skip what was cancelled.
		for q.head < len(q.msgs) && q.msgs[q.head].dead {
			q.msgs[q.head].release()
			q.msgs[q.head] = outMsg{}
			q.head++
		}
		if q.head < len(q.msgs) {
			m := &q.msgs[q.head]
			left := len(m.payload) - m.off
			chunk := min(left, s.fragment)
			if chunk > room {
				if room < s.fragment/4 && len(buf) > 0 {
					// Not worth a sliver; this queue goes first in the next frame.
					s.rr = append(s.rr, nil)
					copy(s.rr[1:], s.rr)
					s.rr[0] = q
					return buf
				}
				chunk = room
			}
			buf = appendPacket(buf, &m.h, m.payload[m.off:m.off+chunk], len(m.payload), m.off)
			more := chunk < left
			m.off += chunk
			if !more {
				m.release()
				*m = outMsg{}
				q.head++
			}
		}
		if q.head == len(q.msgs) {
			q.msgs, q.head, q.linked = q.msgs[:0], 0, false
			continue
		}
		s.rr = append(s.rr, q)
	}
	return buf
}

// pending reports whether anything is waiting.
func (s *scheduler) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uhead < len(s.urgent) || len(s.rr) > 0
}

// appendPacket frames chunk, which starts at offset off of a message of size
// bytes, as one packet.
func appendPacket(buf []byte, tmpl *packetHeader, chunk []byte, size, off int) []byte {
	h := *tmpl
	h.size = uint32(size)
	h.len = uint32(len(chunk))
	h.flags &^= flagMore | flagCont
	if off+len(chunk) < size {
		h.flags |= flagMore
	}
	if off > 0 {
		h.flags |= flagCont
	}
	n := len(buf)
	buf = buf[:n+packetHeaderSize]
	h.put(buf[n:])
	return append(buf, chunk...)
}
