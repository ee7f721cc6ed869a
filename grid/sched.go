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
	// incomplete: the first fragment went out and the last has not, so the
	// receiver holds it half assembled; its size counts against the
	// receiver's limit until it is finished or cancelled.
	incomplete bool
	// answer: queued by the connection's reader in reply to the peer (a
	// pong, a refusal), so that a peer that sends without reading cannot
	// grow the queue: the reader waits while too many are queued.
	answer bool
	// slot: this answer ends a call served for the peer, whose slot and
	// request bytes (slotBytes) are given back once it is written.
	slot      bool
	slotBytes int64
}

// sendQueue holds the messages of one source that must stay in order: one
// direction of a stream, or one single message too large for one fragment.
type sendQueue struct {
	msgs    []outMsg
	head    int
	linked  bool // in the scheduler's round-robin list
	dropped bool // the stream is gone: take nothing more
}

// maxQueuedAnswers bounds the reader's own answers waiting to be written.
const maxQueuedAnswers = 1024

// scheduler decides what the connection's writer sends next. Small messages
// that fit in one fragment (control packets, single requests and responses)
// go first, in arrival order; then every queue with data gets one fragment in
// turn. This interleaving is what lets a 100-byte request overtake the rest of
// a 1 MiB stream message. Everything happens under one mutex that enqueuers
// hold only for an append, and the writer for one frame's worth of copying.
//
// Interleaving leaves messages half sent, and the receiver holds each of them
// half assembled; it allows only so many bytes of those (incompleteLimit,
// learnt at the handshake). The scheduler starts a fragmented message only
// when its size fits in what is left of that limit, so legitimate load never
// looks like abuse to the receiver. One message always fits, and the started
// ones are always finished first, so this cannot deadlock.
type scheduler struct {
	mu         sync.Mutex
	urgent     []outMsg
	uhead      int
	rr         []*sendQueue
	fragment   int           // largest fragment payload
	wake       chan struct{} // signalled (cap 1) when there is something to write
	closed     bool
	limit      int64 // the receiver's bound on bytes of incomplete messages
	incomplete int64 // bytes of messages started and not finished
	answers    int   // queued outMsgs with answer set
	answerRoom chan struct{}
	served     *servedLimit // given back what a written answer held
}

func newScheduler(fragment int, limit int64, served *servedLimit) *scheduler {
	return &scheduler{fragment: fragment, limit: limit, served: served,
		wake: make(chan struct{}, 1), answerRoom: make(chan struct{}, 1)}
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// finished is called, under s.mu, once for every message the scheduler
// accepted: written, skipped as dead, or discarded on close.
func (s *scheduler) finished(m *outMsg) {
	if m.incomplete {
		s.incomplete -= int64(len(m.payload))
	}
	if m.answer {
		s.answers--
		select {
		case s.answerRoom <- struct{}{}:
		default:
		}
	}
	if m.slot && s.served != nil {
		s.served.release(m.slotBytes)
	}
	if m.recycle != nil {
		PutBuffer(m.recycle)
	}
	*m = outMsg{}
}

// refuse is finished for a message that never got into a queue.
func (s *scheduler) refuse(m outMsg) {
	m.answer = false // never counted
	s.finished(&m)
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
		s.refuse(m)
		s.mu.Unlock()
		return false
	}
	if m.answer {
		s.answers++
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
		s.refuse(m)
		s.mu.Unlock()
		return false
	}
	if m.answer {
		s.answers++
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

// waitAnswerRoom blocks the reader while too many of its answers wait to be
// written: the peer is sending faster than it reads. It returns early when
// done closes.
func (s *scheduler) waitAnswerRoom(done <-chan struct{}) {
	for {
		s.mu.Lock()
		room := s.closed || s.answers < maxQueuedAnswers
		s.mu.Unlock()
		if room {
			return
		}
		select {
		case <-s.answerRoom:
		case <-done:
			return
		}
	}
}

// cancel drops the unsent part of the request or stream opening sent on
// mux, wherever it waits, and queues the opCancel that tells the peer. Both
// happen under one lock, so the cancel is written before any fragment that
// the dropped opening's share of the receiver's limit lets start. The
// caller's payload is not touched after it returns, so the caller may reuse
// it. A receiver holding the first fragments discards them when the cancel
// arrives. deadline tells the peer the call ran out of time rather than
// being abandoned.
func (s *scheduler) cancel(mux uint64, deadline bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
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
	m := outMsg{h: packetHeader{op: opCancel, mux: mux}}
	if deadline {
		m.h.arg = cancelDeadline
	}
	s.urgent = append(s.urgent, m)
	s.signal()
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
		s.finished(&s.urgent[i])
	}
	s.urgent, s.uhead = nil, 0
	for _, q := range s.rr {
		for i := q.head; i < len(q.msgs); i++ {
			s.finished(&q.msgs[i])
		}
		q.msgs, q.head, q.linked = nil, 0, false
	}
	s.rr = nil
	select {
	case s.answerRoom <- struct{}{}:
	default:
	}
}

// fill appends packets to buf (which has room up to its capacity) and returns
// it. It takes urgent messages first, then one fragment per queue in turn,
// until the frame is full or nothing is left that may go.
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
		s.finished(m)
		s.uhead++
	}
	s.urgent, s.uhead = s.urgent[:0], 0

	// waiting counts the queues at the front of s.rr whose next message may
	// not start yet; once every queue waits, the frame is done.
	waiting := 0
	for len(s.rr) > waiting {
		room := cap(buf) - len(buf) - packetHeaderSize
		if room <= 0 {
			return buf
		}
		q := s.rr[0]
		copy(s.rr, s.rr[1:])
		s.rr = s.rr[:len(s.rr)-1]
		// Skip what was cancelled.
		for q.head < len(q.msgs) && q.msgs[q.head].dead {
			s.finished(&q.msgs[q.head])
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
			if m.off == 0 && chunk < left {
				size := int64(len(m.payload))
				if s.incomplete > 0 && s.incomplete+size > s.limit {
					s.rr = append(s.rr, q)
					waiting++
					continue
				}
				s.incomplete += size
				m.incomplete = true
			}
			waiting = 0
			buf = appendPacket(buf, &m.h, m.payload[m.off:m.off+chunk], len(m.payload), m.off)
			m.off += chunk
			if chunk == left {
				s.finished(m)
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
// bytes, as one packet. Its checksum, if the connection wants one, is
// written by sealPackets once the frame is full.
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
