package grid

import (
	"sync"
)

// Flow control is per stream and per direction, and credit based. The
// receiver grants a window of messages and bytes; the sender may have at most
// that much sent but not yet credited back. The receiver credits a message
// back only once its consumer has taken it. A message is always allowed when
// nothing is in flight, so a window smaller than one message cannot deadlock.
//
// Because every message that arrives was covered by credit, the connection's
// reader can always queue it without blocking: a stalled consumer stalls only
// its own stream.

// sendCredit is the sender's side of one stream direction.
type sendCredit struct {
	mu        sync.Mutex
	known     bool // the window has been granted (streams learn it on accept)
	winMsgs   int64
	winBytes  int64
	inMsgs    int64 // sent, not credited back
	inBytes   int64
	available chan struct{} // signalled (cap 1) whenever credit may have grown
}

func newSendCredit() *sendCredit {
	return &sendCredit{available: make(chan struct{}, 1)}
}

func (c *sendCredit) grant(msgs, bytes int64) {
	c.mu.Lock()
	c.known, c.winMsgs, c.winBytes = true, msgs, bytes
	c.mu.Unlock()
	c.signal()
}

func (c *sendCredit) signal() {
	select {
	case c.available <- struct{}{}:
	default:
	}
}

// tryTake reserves credit for one message of n bytes.
func (c *sendCredit) tryTake(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known || c.inMsgs >= c.winMsgs {
		return false
	}
	if c.inMsgs > 0 && c.inBytes+int64(n) > c.winBytes {
		return false
	}
	c.inMsgs++
	c.inBytes += int64(n)
	return true
}

// credit returns credit from the receiver. Returning more than is in flight
// is a protocol violation.
func (c *sendCredit) credit(msgs, bytes int64) error {
	c.mu.Lock()
	if msgs > c.inMsgs || bytes > c.inBytes {
		in, inb := c.inMsgs, c.inBytes
		c.mu.Unlock()
		return protocolErrorf("credit of %d msgs/%d bytes exceeds %d/%d in flight", msgs, bytes, in, inb)
	}
	c.inMsgs -= msgs
	c.inBytes -= bytes
	c.mu.Unlock()
	c.signal()
	return nil
}

// recvQueue is the receiver's side of one stream direction: messages that
// arrived and wait for the consumer, the end of the stream, and the credit
// owed back to the sender.
type recvQueue struct {
	mu       sync.Mutex
	msgs     [][]byte
	head     int
	ended    bool
	endErr   error // nil with ended: a clean end
	winMsgs  int64
	winBytes int64
	heldMsgs int64 // queued plus consumed-but-not-credited: what the sender counts in flight
	heldByte int64
	owedMsgs int64 // consumed, not yet credited back
	owedByte int64
	ready    chan struct{} // signalled (cap 1) when a message or the end arrives
}

func newRecvQueue(winMsgs, winBytes int64) *recvQueue {
	return &recvQueue{winMsgs: winMsgs, winBytes: winBytes, ready: make(chan struct{}, 1)}
}

func (q *recvQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// push queues a message that arrived. It never blocks; a sender that
// exceeded its window is a protocol violation. Messages after the end are
// dropped (the stream was cancelled while they were on the wire).
func (q *recvQueue) push(msg []byte) error {
	q.mu.Lock()
	if q.ended {
		q.mu.Unlock()
		PutBuffer(msg)
		return nil
	}
	n := int64(len(msg))
	if q.heldMsgs+1 > q.winMsgs || (q.heldMsgs > 0 && q.heldByte+n > q.winBytes) {
		held, heldB := q.heldMsgs, q.heldByte
		q.mu.Unlock()
		PutBuffer(msg)
		return protocolErrorf("stream message of %d bytes exceeds window (%d msgs/%d bytes held of %d/%d)",
			n, held, heldB, q.winMsgs, q.winBytes)
	}
	q.heldMsgs++
	q.heldByte += n
	q.msgs = append(q.msgs, msg)
	q.mu.Unlock()
	q.signal()
	return nil
}

// end marks the end of the stream after the messages already queued. The
// first end wins: a cancellation after a clean end does not replace it.
func (q *recvQueue) end(err error) {
	q.mu.Lock()
	if !q.ended {
		q.ended, q.endErr = true, err
	}
	q.mu.Unlock()
	q.signal()
}

// abort ends the stream at once, dropping queued messages: used on
// cancellation and connection loss, where nobody will read them.
func (q *recvQueue) abort(err error) {
	q.mu.Lock()
	for i := q.head; i < len(q.msgs); i++ {
		PutBuffer(q.msgs[i])
		q.msgs[i] = nil
	}
	q.msgs, q.head = q.msgs[:0], 0
	if !q.ended {
		q.ended, q.endErr = true, err
	}
	q.mu.Unlock()
	q.signal()
}

// pop takes the next message without blocking. ok is false when the queue
// is empty; done is true once the stream ended and every message was taken,
// with err the end's error (nil for a clean end).
func (q *recvQueue) pop() (msg []byte, ok, done bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.msgs) {
		return nil, false, q.ended, q.endErr
	}
	msg = q.msgs[q.head]
	q.msgs[q.head] = nil
	q.head++
	if q.head == len(q.msgs) {
		q.msgs, q.head = q.msgs[:0], 0
	} else {
		// Signals coalesce; pass the baton so a second waiter is not left
		// asleep with messages queued.
		q.signal()
	}
	return msg, true, false, nil
}

// consumed records that the consumer took a message of n bytes and returns
// the credit to send back now, if any. Credit goes back in batches of half a
// window, or at once when the queue runs empty, so that a sender waiting to
// fit a large message is never left stranded.
func (q *recvQueue) consumed(n int) (msgs, bytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.owedMsgs++
	q.owedByte += int64(n)
	if q.ended {
		return 0, 0 // nobody sends after the end
	}
	if q.head == len(q.msgs) || q.owedMsgs*2 >= q.winMsgs || q.owedByte*2 >= q.winBytes {
		msgs, bytes = q.owedMsgs, q.owedByte
		q.heldMsgs -= msgs
		q.heldByte -= bytes
		q.owedMsgs, q.owedByte = 0, 0
	}
	return msgs, bytes
}
