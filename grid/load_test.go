package grid

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recvWithin waits for one value on ch, failing the test after limit: a
// broken grid must fail a test, not hang it.
func recvWithin[T any](t testing.TB, ch <-chan T, limit time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("timed out after %v waiting for %s", limit, what)
		panic("unreachable")
	}
}

// pausable is one end of a grid connection that the test can pause (it stops
// reading and writing, so the other side hears nothing and its writes fill
// the socket buffers and block in the kernel, as with a SIGSTOPped peer) or
// kill (the socket is reset, as when the peer's process dies).
type pausable struct {
	net.Conn
	paused chan struct{}
	once   sync.Once
	closed chan struct{}
	cOnce  sync.Once
}

func newPausable(c net.Conn) *pausable {
	return &pausable{Conn: c, paused: make(chan struct{}), closed: make(chan struct{})}
}

func (p *pausable) pause() { p.once.Do(func() { close(p.paused) }) }

func (p *pausable) Read(b []byte) (int, error) {
	select {
	case <-p.paused:
		<-p.closed
		return 0, net.ErrClosed
	default:
	}
	return p.Conn.Read(b)
}

// Write of a paused end never happens: a stopped process writes nothing.
func (p *pausable) Write(b []byte) (int, error) {
	select {
	case <-p.paused:
		<-p.closed
		return 0, net.ErrClosed
	default:
	}
	return p.Conn.Write(b)
}

// Close of a paused end leaves the socket open: a stopped process closes
// nothing, and its own timers, which keep running here, must not tell the
// other side what a real pause would not (its silence timeout fires about
// when the other side's does, and a reset arriving first hid the silence
// the other side was to notice). release closes it when the test is over.
func (p *pausable) Close() error {
	p.cOnce.Do(func() { close(p.closed) })
	select {
	case <-p.paused:
		return nil
	default:
	}
	return p.Conn.Close()
}

// release closes the socket of a paused end, at the end of a test.
func (p *pausable) release() { _ = p.Conn.Close() }

// kill resets the TCP connection: no close frame, no FIN.
func (p *pausable) kill() {
	if tc, ok := p.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	p.cOnce.Do(func() { close(p.closed) })
	_ = p.Conn.Close()
}

// connRecorder collects the wrapped connections of a test cluster.
type connRecorder struct {
	mu     sync.Mutex
	conns  map[int][]*pausable
	paused map[int]bool
}

func (r *connRecorder) wrap(i int, c net.Conn) net.Conn {
	p := newPausable(c)
	r.mu.Lock()
	if r.conns == nil {
		r.conns = map[int][]*pausable{}
	}
	r.conns[i] = append(r.conns[i], p)
	if r.paused[i] {
		// A paused node's kernel still completes a connection, to it or
		// (here) from the redial its own timers started; the node says
		// nothing on it.
		p.pause()
	}
	r.mu.Unlock()
	return p
}

func (r *connRecorder) of(i int) []*pausable {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*pausable(nil), r.conns[i]...)
}

// pause pauses node i's ends of its connections, and of those it gets
// later, until the test is over.
func (r *connRecorder) pause(t *testing.T, i int) {
	t.Cleanup(func() {
		for _, c := range r.of(i) {
			c.release()
		}
	})
	r.mu.Lock()
	if r.paused == nil {
		r.paused = map[int]bool{}
	}
	r.paused[i] = true
	r.mu.Unlock()
	for _, c := range r.of(i) {
		c.pause()
	}
}

// Issue 11.1: a node whose writer is blocked in the kernel on a paused peer
// still closes at once.
func TestCloseWithPeerPaused(t *testing.T) {
	var rec connRecorder
	nodes := newTestCluster(t, 2, clusterOpts{
		wrap: rec.wrap,
		register: func(_ int, m *Manager) {
			_ = m.RegisterSingle(hTest, func(context.Context, []byte) ([]byte, error) { return nil, nil })
		},
	})
	a, b := nodes[0], nodes[1]
	rec.pause(t, 1)
	// 64 MiB of requests cannot fit in the socket buffers of a peer that
	// reads nothing: a's writer ends up blocked in write(2).
	big := make([]byte, 8<<20)
	for range 8 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = a.conn(b).Request(ctx, hTest, big)
		}()
	}
	waitFor(t, 10*time.Second, "a's writer to block on the paused peer", func() bool {
		s := a.m.peers[b.addr].cur.Load()
		return s != nil && s.sched.pending()
	})
	time.Sleep(200 * time.Millisecond) // let the writer fill the socket and block
	if s := a.m.peers[b.addr].cur.Load(); s == nil || !s.sched.pending() {
		t.Fatal("a's queue drained: the peer is not paused, and Close would not be tested")
	}
	closed := make(chan struct{})
	start := time.Now()
	go func() {
		_ = a.m.Close()
		close(closed)
	}()
	recvWithin(t, closed, time.Second, "Manager.Close with a paused peer")
	t.Logf("Close took %v", time.Since(start))
}

// Issue 11.2: a stream whose context is cancelled while NewStream is opening
// it never leaves a handler running on the remote side.
func TestStreamCancelledWhileOpening(t *testing.T) {
	var running atomic.Int64
	var started atomic.Int64
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, _ []byte, _ <-chan []byte, _ chan<- []byte) error {
			started.Add(1)
			running.Add(1)
			defer running.Add(-1)
			<-ctx.Done()
			return nil
		}})
	}})
	a, b := nodes[0], nodes[1]
	for range 500 {
		ctx := &flippingCtx{done: make(chan struct{})}
		close(ctx.done)
		st, err := a.conn(b).NewStream(ctx, hTestStream, nil)
		if err == nil {
			st.Cancel()
		}
	}
	waitFor(t, 10*time.Second, "the opens to reach b", func() bool {
		s := a.m.peers[b.addr].cur.Load()
		return s != nil && !s.sched.pending()
	})
	// Every handler that started must see its context cancelled.
	deadline := time.Now().Add(time.Second)
	for running.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := running.Load(); n > 0 {
		t.Fatalf("%d of %d handlers still running 1s after their streams were cancelled", n, started.Load())
	}
	t.Logf("%d handlers started and were cancelled", started.Load())
}

// flippingCtx reports no error on its first Err call and is done from then
// on: it is cancelled "while NewStream opens the stream", after the early
// check and before the opening is sent.
type flippingCtx struct {
	done  chan struct{}
	calls atomic.Int64
}

func (c *flippingCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *flippingCtx) Done() <-chan struct{}       { return c.done }
func (c *flippingCtx) Value(any) any               { return nil }
func (c *flippingCtx) Err() error {
	if c.calls.Add(1) == 1 {
		return nil
	}
	return context.Canceled
}

// Issue 11.3: legitimate load never breaks the connection: many large
// requests at once, and many streams each with a large message in flight.
func TestManyLargeMessagesInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1.5 GiB")
	}
	var got atomic.Int64
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterSingle(hTest, func(_ context.Context, p []byte) ([]byte, error) {
			got.Add(int64(len(p)))
			return []byte("ok"), nil
		})
		_ = m.RegisterStream(hTestStream, StreamHandler{InCapacity: 1, InBytes: 1 << 20, Handle: func(ctx context.Context, _ []byte, in <-chan []byte, out chan<- []byte) error {
			for msg := range in {
				got.Add(int64(len(msg)))
				PutBuffer(msg)
			}
			out <- append(GetBuffer(2), "ok"...)
			return nil
		}})
	}})
	a, b := nodes[0], nodes[1]
	c := a.conn(b)
	connects := a.m.Stats()[0].Connects

	t.Run("64 requests of 16 MiB", func(t *testing.T) {
		req := make([]byte, a.cfg.MaxMessageSize-16)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				resp, err := c.Request(ctx, hTest, req)
				if err == nil && string(resp) != "ok" {
					err = errors.New("wrong answer " + string(resp))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("1024 streams with 512 KiB in flight", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 1024)
		for range 1024 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- func() error {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					st, err := c.NewStream(ctx, hTestStream, nil)
					if err != nil {
						return err
					}
					if err := st.Send(GetBuffer(512 << 10)[:512<<10]); err != nil {
						return err
					}
					_ = st.CloseSend()
					msg, err := st.Recv()
					if err != nil {
						return err
					}
					PutBuffer(msg)
					if _, err := st.Recv(); err != io.EOF {
						return errors.New("stream did not end cleanly")
					}
					return nil
				}()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if n := a.m.Stats()[0].Connects; n != connects {
		t.Fatalf("the connection was re-established under load (%d connects, was %d)", n, connects)
	}
	runtime.GC()
}

// Issue 11.5: a stream handler that closes its out channel fails its call
// with a RemoteErr; the node and the connection carry on.
func TestHandlerClosingOut(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		registerEcho(0, m)
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, _ []byte, _ <-chan []byte, out chan<- []byte) error {
			out <- append(GetBuffer(3), "one"...)
			close(out)
			return nil
		}})
		_ = m.RegisterStream(hStream, StreamHandler{Handle: func(ctx context.Context, _ []byte, _ <-chan []byte, out chan<- []byte) error {
			out <- make([]byte, m.cfg.MaxMessageSize+1)
			<-ctx.Done()
			return nil
		}})
	}})
	a, b := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := a.conn(b).NewStream(ctx, hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	var endErr error
	for endErr == nil {
		var msg []byte
		msg, endErr = st.Recv()
		PutBuffer(msg)
	}
	var re *RemoteErr
	if !errors.As(endErr, &re) {
		t.Fatalf("stream whose handler closed out ended with %v, want a RemoteErr", endErr)
	}
	if got := mustRequest(t, a.conn(b), hEcho, []byte("still here")); string(got) != "still here" {
		t.Fatalf("after the bad handler: %q", got)
	}

	// A message larger than the caller takes ends the stream with
	// ErrMessageTooLarge instead of leaving the caller waiting.
	st, err = a.conn(b).NewStream(ctx, hStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("stream whose handler sent a message too large ended with %v, want ErrMessageTooLarge", err)
	}
}

// Issue 11.5: the handler's context ends at the caller's deadline with
// DeadlineExceeded, not Canceled.
func TestHandlerContextDeadline(t *testing.T) {
	ended := make(chan error, 2)
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			ended <- ctx.Err()
			return nil, ctx.Err()
		})
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, _ []byte, _ <-chan []byte, _ chan<- []byte) error {
			<-ctx.Done()
			ended <- ctx.Err()
			return ctx.Err()
		}})
	}})
	a, b := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := a.conn(b).Request(ctx, hTest, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request past its deadline: %v", err)
	}
	if err := recvWithin(t, ended, 5*time.Second, "the single handler's context to end"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("single handler's context ended with %v, want DeadlineExceeded", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer scancel()
	if _, err := a.conn(b).NewStream(sctx, hTestStream, nil); err != nil {
		t.Fatal(err)
	}
	if err := recvWithin(t, ended, 5*time.Second, "the stream handler's context to end"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stream handler's context ended with %v, want DeadlineExceeded", err)
	}
}

// Issue 11.5: a malformed accept from the peer fails the opening call
// instead of leaving it waiting.
func TestMalformedAcceptFailsCall(t *testing.T) {
	// The test plays the dialer and answers the acceptor's stream opening
	// with a bad accept.
	dialer, acceptor, conn := fakeDialer(t)
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := acceptor.conn(dialer).NewStream(ctx, hStream, []byte("x"))
		res <- err
	}()
	fr := frameReader{r: bufio.NewReader(conn), maxFrame: maxIncomingFrame, maxMessage: 1 << 20}
	for {
		h, err := fr.next()
		if err != nil {
			t.Fatal(err)
		}
		if err := fr.skip(int(h.len)); err != nil {
			t.Fatal(err)
		}
		if h.op == opOpen {
			bad := packet(packetHeader{op: opAccept, mux: h.mux}, []byte{1, 2, 3})
			if _, err := conn.Write(frame(bad)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if err := recvWithin(t, res, 5*time.Second, "NewStream to fail on a malformed accept"); err == nil {
		t.Fatal("NewStream succeeded on a malformed accept")
	}
}

// Issue 11.4: a flood of calls beyond what one connection may hold is
// refused with ErrBusy while the calls admitted run; memory stays bounded by
// the limits, not by the flood; once the load is gone calls succeed again.
func TestFloodGetsBusy(t *testing.T) {
	const (
		maxServed = 64
		flood     = 4000
		reqSize   = 64 << 10
	)
	release := make(chan struct{})
	var running, peak atomic.Int64
	nodes := newTestCluster(t, 2, clusterOpts{
		tweak: func(_ int, c *Config) {
			c.MaxServed = maxServed
			c.MaxServedBytes = int64(c.MaxMessageSize)
		},
		register: func(_ int, m *Manager) {
			registerEcho(0, m)
			_ = m.RegisterSingle(hTest, func(ctx context.Context, p []byte) ([]byte, error) {
				n := running.Add(1)
				defer running.Add(-1)
				for {
					if p := peak.Load(); n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return []byte("done"), nil
			})
		},
	})
	a, b := nodes[0], nodes[1]
	heap := func() uint64 {
		// Twice: the buffer pool's victim cache survives one collection.
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()

	req := make([]byte, reqSize)
	var busy, ok, other atomic.Int64
	var wg sync.WaitGroup
	for range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := a.conn(b).Request(ctx, hTest, req)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			default:
				other.Add(1)
				t.Errorf("flooding call: %v", err)
			}
		}()
	}
	waitFor(t, 30*time.Second, "every call beyond the limit to be refused", func() bool {
		return busy.Load()+other.Load() >= flood-maxServed
	})
	during := heap()
	if n := running.Load(); n > maxServed || n == 0 {
		t.Fatalf("%d handlers running, limit %d", n, maxServed)
	}
	// Unbounded, 4000 calls of 64 KiB would hold 250 MiB on the server.
	if grown := int64(during) - int64(before); grown > 64<<20 {
		t.Fatalf("heap grew by %d MiB under the flood", grown>>20)
	}
	close(release)
	wg.Wait()
	if peak.Load() > maxServed {
		t.Fatalf("%d handlers ran at once, limit %d", peak.Load(), maxServed)
	}
	t.Logf("%d served, %d refused busy; heap %d → %d MiB", ok.Load(), busy.Load(), before>>20, during>>20)
	if got := mustRequest(t, a.conn(b), hEcho, []byte("after")); string(got) != "after" {
		t.Fatalf("after the flood: %q", got)
	}
	if s := b.m.peers[a.addr].cur.Load(); s != nil {
		if c, n := s.servedLim.calls.Load(), s.servedLim.bytes.Load(); c != 0 || n != 0 {
			t.Fatalf("after the flood the connection still counts %d calls, %d bytes served", c, n)
		}
	}
}

// Issue 11.4: a peer that sends calls without reading the answers is
// stopped being read once the answers it does not take reach their bound,
// instead of making the node queue answers without end.
func TestUnreadAnswersStopTheReader(t *testing.T) {
	dialer, acceptor, conn := fakeDialer(t)
	// Frames of calls to a handler that does not exist: each one is
	// answered by the reader itself. The fake peer never reads.
	var batch []byte
	for i := range 2000 {
		batch = append(batch, packet(packetHeader{op: opRequest, handler: hTest, mux: uint64(2*i + 1)}, nil)...)
	}
	f := frame(batch)
	var sent int
	blocked := false
	for range 5000 {
		_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write(f); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				blocked = true
				break
			}
			t.Fatal(err)
		}
		sent += 2000
	}
	if !blocked {
		t.Fatalf("the node read %d calls whose answers nobody took without pushing back", sent)
	}
	s := acceptor.m.peers[dialer.addr].cur.Load()
	if s == nil {
		t.Fatal("the acceptor dropped the connection")
	}
	queued := func() int {
		s.sched.mu.Lock()
		defer s.sched.mu.Unlock()
		return s.sched.answers
	}
	// The write may have blocked only because the reader is slow; it is the
	// bound that must stop it.
	waitFor(t, 10*time.Second, "the answer queue to reach its bound", func() bool { return queued() >= maxQueuedAnswers })
	for range 10 {
		if n := queued(); n > maxQueuedAnswers {
			t.Fatalf("%d answers queued, bound %d", n, maxQueuedAnswers)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("pushed back after %d calls with %d answers queued", sent, queued())
}

// fakeDialer starts two nodes without dialing and connects to the accepting
// one as the dialing one would, returning the raw connection for the test
// to play the dialer on. The peer timeout is long: whatever the test checks
// must not be the silent fake peer being declared dead.
func fakeDialer(t *testing.T) (dialer, acceptor *testNode, conn net.Conn) {
	t.Helper()
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho, noStart: true,
		tweak: func(_ int, c *Config) { c.PeerTimeout = time.Minute }})
	dialer, acceptor = nodes[0], nodes[1]
	if !dialer.m.peers[acceptor.addr].dials {
		dialer, acceptor = acceptor, dialer
	}
	conn = impersonate(t, dialer, acceptor)
	t.Cleanup(func() { _ = conn.Close() })
	waitFor(t, 10*time.Second, "the acceptor to install the connection", func() bool {
		return acceptor.conn(dialer).State() == StateConnected
	})
	return dialer, acceptor, conn
}
