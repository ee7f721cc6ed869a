package grid

import (
	"bufio"
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// decodeFrame splits one filled frame payload back into packets.
func decodeFrame(t *testing.T, payload []byte) []packetHeader {
	t.Helper()
	fr := frameReader{r: bufio.NewReader(bytes.NewReader(frame(payload))), maxFrame: maxIncomingFrame, maxMessage: 1 << 30}
	var out []packetHeader
	for {
		h, err := fr.next()
		if err != nil {
			return out
		}
		out = append(out, h)
		if err := fr.skip(int(h.len)); err != nil {
			t.Fatal(err)
		}
	}
}

// Point 4: small messages queued together share one frame.
func TestSchedulerBatchesSmallMessages(t *testing.T) {
	s := newScheduler(32<<10, 1<<30, nil)
	for i := range 10 {
		s.send(outMsg{h: packetHeader{op: opRequest, handler: hEcho, mux: uint64(2*i + 1)}, payload: []byte("small")})
	}
	buf := s.fill(make([]byte, 0, 64<<10))
	if got := decodeFrame(t, buf); len(got) != 10 {
		t.Fatalf("10 small messages went into %d packets of the first frame, want all 10", len(got))
	}
	if s.pending() {
		t.Fatal("messages left after one frame")
	}
}

// Point 4: a large message is cut into fragments, and a small message queued
// after it goes out in the very next frame, not after the whole message.
func TestSchedulerInterleavesBulkAndSmall(t *testing.T) {
	const frag = 32 << 10
	s := newScheduler(frag, 1<<30, nil)
	bulk := &sendQueue{}
	s.sendQueued(bulk, outMsg{h: packetHeader{op: opMsg, mux: 1}, payload: make([]byte, 1<<20)})
	other := &sendQueue{}
	s.sendQueued(other, outMsg{h: packetHeader{op: opMsg, mux: 3}, payload: make([]byte, 1<<20)})

	first := decodeFrame(t, s.fill(make([]byte, 0, 2*(frag+packetHeaderSize))))
	if len(first) != 2 || first[0].mux != 1 || first[1].mux != 3 {
		t.Fatalf("first frame %+v: want one fragment of each stream", first)
	}
	if first[0].flags&flagMore == 0 || first[0].flags&flagCont != 0 || first[0].len != frag || first[0].size != 1<<20 {
		t.Fatalf("first fragment header %+v", first[0])
	}

	s.send(outMsg{h: packetHeader{op: opRequest, handler: hEcho, mux: 5}, payload: make([]byte, 100)})
	second := decodeFrame(t, s.fill(make([]byte, 0, 2*(frag+packetHeaderSize))))
	if len(second) == 0 || second[0].mux != 5 || second[0].op != opRequest {
		t.Fatalf("second frame %+v: the small request must come first", second)
	}

	// Drain: every fragment arrives, in order per stream, flags consistent.
	got := map[uint64]int{1: frag, 3: frag}
	for _, h := range second[1:] {
		got[h.mux] += int(h.len)
	}
	for s.pending() {
		for _, h := range decodeFrame(t, s.fill(make([]byte, 0, 64<<10))) {
			if h.op != opMsg {
				continue
			}
			if h.flags&flagCont == 0 {
				t.Fatalf("later fragment without flagCont: %+v", h)
			}
			got[h.mux] += int(h.len)
			if (got[h.mux] < 1<<20) != (h.flags&flagMore != 0) {
				t.Fatalf("flagMore wrong at %d of %d: %+v", got[h.mux], 1<<20, h)
			}
		}
	}
	if got[1] != 1<<20 || got[3] != 1<<20 {
		t.Fatalf("fragments add up to %v", got)
	}
}

func TestSchedulerCancelAndDrop(t *testing.T) {
	s := newScheduler(1024, 1<<30, nil)
	req := make([]byte, 4096)
	s.send(outMsg{h: packetHeader{op: opRequest, handler: hEcho, mux: 1}, payload: req})
	// First fragment goes out, then the caller gives up.
	if hs := decodeFrame(t, s.fill(make([]byte, 0, 1024+packetHeaderSize))); len(hs) != 1 {
		t.Fatalf("%+v", hs)
	}
	s.cancel(1, false)
	for s.pending() {
		if hs := decodeFrame(t, s.fill(make([]byte, 0, 64<<10))); len(hs) != 1 || hs[0].op != opCancel || hs[0].mux != 1 {
			t.Fatalf("after cancel %+v went out, want the cancel alone", hs)
		}
	}

	// A dropped stream finishes the message it started, and sends nothing more.
	q := &sendQueue{}
	s.sendQueued(q, outMsg{h: packetHeader{op: opMsg, mux: 3}, payload: make([]byte, 3000)})
	s.sendQueued(q, outMsg{h: packetHeader{op: opMsg, mux: 3}, payload: make([]byte, 10)})
	_ = s.fill(make([]byte, 0, 1024+packetHeaderSize))
	s.drop(q)
	var rest int
	for s.pending() {
		for _, h := range decodeFrame(t, s.fill(make([]byte, 0, 64<<10))) {
			rest += int(h.len)
		}
	}
	if rest != 3000-1024 {
		t.Fatalf("after drop %d bytes went out, want the %d left of the started message", rest, 3000-1024)
	}
	if s.sendQueued(q, outMsg{h: packetHeader{op: opMsg, mux: 3}, payload: []byte("x")}) {
		t.Fatal("a dropped queue accepted a message")
	}
}

// Point 4, end to end: a 100-byte request issued while one 48 MiB message is
// being written completes before that message has arrived.
func TestSmallRequestOvertakesBulkMessage(t *testing.T) {
	const big = 48 << 20
	arrived := make(chan struct{})
	nodes := newTestCluster(t, 2, clusterOpts{
		tweak: func(_ int, c *Config) { c.MaxMessageSize = 64 << 20 },
		register: func(_ int, m *Manager) {
			registerEcho(0, m)
			_ = m.RegisterStream(hTestStream, StreamHandler{InCapacity: 1, InBytes: 64 << 20, Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
				for msg := range in {
					if len(msg) == big {
						close(arrived)
					}
				}
				return nil
			}})
		},
	})
	c := nodes[0].conn(nodes[1])
	st, err := c.NewStream(context.Background(), hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(make([]byte, big)); err != nil {
		t.Fatal(err)
	}
	_ = mustRequest(t, c, hEcho, make([]byte, 100))
	select {
	case <-arrived:
		t.Fatal("the small request waited for the whole bulk message")
	default:
	}
	recvWithin(t, arrived, 10*time.Second, "arrived")
	_ = st.CloseSend()
}

// The flow-control bookkeeping, deterministically.
func TestCreditRules(t *testing.T) {
	c := newSendCredit()
	if c.tryTake(1) {
		t.Fatal("credit before the window is granted")
	}
	c.grant(2, 100)
	if !c.tryTake(60) || c.tryTake(60) {
		t.Fatal("byte window not enforced")
	}
	if !c.tryTake(40) || c.tryTake(0) {
		t.Fatal("message window not enforced")
	}
	if err := c.credit(3, 10); err == nil {
		t.Fatal("more credit returned than in flight was accepted")
	}
	if err := c.credit(2, 100); err != nil {
		t.Fatal(err)
	}
	// A message larger than the byte window is allowed when nothing is in flight.
	if !c.tryTake(1000) || c.tryTake(1) {
		t.Fatal("oversized message with an empty window")
	}

	q := newRecvQueue(4, 1000)
	for range 4 {
		if err := q.push(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.push(make([]byte, 100)); err == nil {
		t.Fatal("a fifth message in a window of 4 was accepted")
	}
	// Consuming returns credit in batches of half the window.
	var msgs, bytes int64
	for i := range 4 {
		m, ok, _, _ := q.pop()
		if !ok {
			t.Fatal("queued message missing")
		}
		cm, cb := q.consumed(len(m))
		msgs, bytes = msgs+cm, bytes+cb
		if i == 0 && cm != 0 {
			t.Fatal("credit returned after one message of four, want batching")
		}
	}
	if msgs != 4 || bytes != 400 {
		t.Fatalf("credited %d msgs/%d bytes after consuming everything, want 4/400", msgs, bytes)
	}
	q.end(nil)
	if _, ok, done, err := q.pop(); ok || !done || err != nil {
		t.Fatal("clean end not reported")
	}
}

// The reader never blocks: while a stream's consumer is stuck, the session's
// reader keeps serving other traffic (exercised end to end in
// TestSlowConsumerStallsAlone); here the queue side: push never blocks.
func TestRecvQueuePushNeverBlocks(t *testing.T) {
	q := newRecvQueue(1<<16, 1<<30)
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	go func() {
		defer wg.Done()
		for range 10000 {
			_ = q.push([]byte("x"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("push blocked with nobody consuming")
	}
	wg.Wait()
}

// Issue 11.3: the scheduler never has more bytes of half-sent messages out
// than the receiver accepts, whatever is queued, and everything still goes
// out; a cancelled half-sent message frees its share only behind its cancel.
func TestSchedulerKeepsIncompleteWithinLimit(t *testing.T) {
	const (
		frag  = 16 << 10
		limit = 3 << 20
	)
	s := newScheduler(frag, limit, nil)
	sizes := []int{1 << 20, 2 << 20, 1 << 20, 3 << 20, 512 << 10, 1<<20 + 1, 700 << 10, 2 << 20}
	for i, n := range sizes {
		q := &sendQueue{}
		op := opMsg
		if i%2 == 1 {
			op = opRequest
		}
		s.sendQueued(q, outMsg{h: packetHeader{op: op, mux: uint64(2*i + 1)}, payload: make([]byte, n)})
	}
	// The receiver's view: sizes of messages whose first fragment arrived
	// and whose last has not.
	held := map[uint64]int64{}
	var heldBytes, peak int64
	done := map[uint64]bool{}
	cancelled := false
	for frames := 0; s.pending(); frames++ {
		if frames > 100000 {
			t.Fatal("scheduler stopped making progress")
		}
		for _, h := range decodeFrame(t, s.fill(make([]byte, 0, 64<<10))) {
			switch {
			case h.op == opCancel:
				heldBytes -= held[h.mux]
				delete(held, h.mux)
				continue
			case h.flags&flagCont == 0 && h.flags&flagMore != 0:
				held[h.mux] = int64(h.size)
				heldBytes += int64(h.size)
			case h.flags&flagMore == 0:
				if h.flags&flagCont != 0 {
					heldBytes -= held[h.mux]
					delete(held, h.mux)
				}
				done[h.mux] = true
			}
			peak = max(peak, heldBytes)
			if heldBytes > limit {
				t.Fatalf("receiver holds %d bytes of incomplete messages, limit %d", heldBytes, limit)
			}
		}
		if !cancelled && len(held) > 0 {
			// Give up on one half-sent request, as a caller that times out.
			for mux := range held {
				if mux%4 == 3 {
					s.cancel(mux, false)
					cancelled = true
					break
				}
			}
		}
	}
	if !cancelled {
		t.Fatal("no request was half sent: the test did not test cancellation")
	}
	if len(held) != 0 {
		t.Fatalf("messages left half sent: %v", held)
	}
	if peak < limit/2 {
		t.Fatalf("peak incomplete bytes %d: the limit of %d is not used, messages went one by one", peak, limit)
	}
	if got := len(done); got != len(sizes)-1 {
		t.Fatalf("%d messages completed, want %d (all but the cancelled one)", got, len(sizes)-1)
	}
}
