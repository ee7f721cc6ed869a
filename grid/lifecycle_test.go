package grid

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Point 5: with no connection up, calls fail at once with ErrDisconnected.
func TestDisconnectedFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A peer address where nothing listens.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	n := startTestNode(t, ln, ln.Addr().String(), []string{ln.Addr().String(), deadAddr}, nil, registerEchoFn, true)
	c := n.m.Connection(deadAddr)
	start := time.Now()
	_, err = c.Request(context.Background(), hEcho, []byte("x"))
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("request to an unreachable peer: %v, want ErrDisconnected", err)
	}
	if _, err := c.NewStream(context.Background(), hStream, nil); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("stream to an unreachable peer: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("calls to a disconnected peer waited instead of failing fast")
	}
	if _, err := n.m.Connection("10.255.255.1:1").Request(context.Background(), hEcho, nil); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("request to an unconfigured peer: %v", err)
	}
}

func registerEchoFn(m *Manager) { registerEchoStream(0, m) }

// A peer killed mid-stream (its sockets reset, no close frame, no orderly
// anything: its process died) fails everything in flight within a bound; the
// peer coming back is reconnected to within a bound, and calls work again.
func TestPeerKilledAndBack(t *testing.T) {
	blocked := make(chan struct{}, 2)
	register := func(m *Manager) {
		registerEchoStream(0, m)
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			blocked <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		})
	}
	var rec connRecorder
	var bDead atomic.Bool
	nodes := newTestCluster(t, 2, clusterOpts{
		register: func(_ int, m *Manager) { register(m) },
		wrap: func(i int, c net.Conn) net.Conn {
			p := rec.wrap(i, c).(*pausable)
			if i == 1 && bDead.Load() {
				p.kill() // a dead process makes no connections
			}
			return p
		},
	})
	a, b := nodes[0], nodes[1]

	// In flight: a stream mid-way and a blocked single request.
	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	st, err := a.conn(b).NewStream(sctx, hStream, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	reqErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := a.conn(b).Request(ctx, hTest, nil)
		reqErr <- err
	}()
	recvWithin(t, blocked, 10*time.Second, "the request to reach b's handler")

	// b's process dies: every socket it holds is reset, it accepts and dials
	// nothing more. Its Manager is closed afterwards only to free the
	// goroutines a real death would take with it.
	bDead.Store(true)
	_ = b.srv.Close()
	for _, c := range rec.of(1) {
		c.kill()
	}
	killed := time.Now()
	defer b.Close()

	if err := recvWithin(t, reqErr, 2*time.Second, "the in-flight request to fail after the kill"); !isDisconnected(err) {
		t.Fatalf("in-flight request: %v, want ErrDisconnected", err)
	}
	t.Logf("in-flight request failed %v after the kill", time.Since(killed))
	if _, err := st.Recv(); !isDisconnected(err) {
		t.Fatalf("in-flight stream Recv: %v, want ErrDisconnected", err)
	}
	if err := st.Send([]byte("y")); !isDisconnected(err) {
		t.Fatalf("in-flight stream Send: %v, want ErrDisconnected", err)
	}
	waitFor(t, 2*time.Second, "a to see b disconnected", func() bool { return a.conn(b).State() != StateConnected })
	b.Close()

	// b comes back on the same address.
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	b2 := startTestNode(t, ln, b.addr, []string{a.addr, b.addr}, nil, register, true)
	// LocalConfig reconnects within ReconnectMax (200 ms) of the peer being
	// back; 5 s only absorbs a loaded machine.
	waitFor(t, 5*time.Second, "a and the restarted b to reconnect", func() bool {
		return a.conn(b2).State() == StateConnected && b2.conn(a).State() == StateConnected
	})
	t.Logf("reconnected %v after the restart", time.Since(restarted))
	if got := mustRequest(t, a.conn(b2), hEcho, []byte("again")); string(got) != "again" {
		t.Fatalf("after reconnect: %q", got)
	}
	if got := mustRequest(t, b2.conn(a), hEcho, []byte("back")); string(got) != "back" {
		t.Fatalf("after reconnect, other way: %q", got)
	}
	var ps PeerStats
	for _, s := range a.m.Stats() {
		ps = s
	}
	if ps.Connects != 2 {
		t.Fatalf("a connected to b %d times, want 2", ps.Connects)
	}
	// The state callback reported the whole story.
	var seq []string
	for len(a.states) > 0 {
		e := recvWithin(t, a.states, time.Second, "a state change")
		seq = append(seq, e.state.String())
	}
	got := strings.Join(seq, ",")
	if !strings.Contains(got, "connected") || !strings.Contains(got, "disconnected") ||
		!strings.HasSuffix(got, "connected") {
		t.Fatalf("state changes seen by a: %s", got)
	}
}

// freezableConn can stop passing bytes in one direction while the TCP
// connection stays open, like a peer that is paused or behind a cut cable.
type freezableConn struct {
	net.Conn
	mu          sync.Mutex
	readFrozen  chan struct{} // non-nil while reads are frozen
	writeFrozen chan struct{} // non-nil while writes are frozen
	closed      chan struct{}
	once        sync.Once
}

func newFreezableConn(c net.Conn) *freezableConn {
	return &freezableConn{Conn: c, closed: make(chan struct{})}
}

func (f *freezableConn) freeze(reads, writes bool) {
	f.mu.Lock()
	if reads {
		f.readFrozen = make(chan struct{})
	}
	if writes {
		f.writeFrozen = make(chan struct{})
	}
	f.mu.Unlock()
}

// wait blocks while the direction is frozen, until the conn is closed.
func (f *freezableConn) wait(write bool) error {
	f.mu.Lock()
	fr := f.readFrozen
	if write {
		fr = f.writeFrozen
	}
	f.mu.Unlock()
	if fr == nil {
		return nil
	}
	<-f.closed
	return net.ErrClosed
}

func (f *freezableConn) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	if werr := f.wait(false); werr != nil {
		return 0, werr
	}
	return n, err
}

func (f *freezableConn) Write(p []byte) (int, error) {
	if err := f.wait(true); err != nil {
		return 0, err
	}
	return f.Conn.Write(p)
}

func (f *freezableConn) Close() error {
	f.once.Do(func() { close(f.closed) })
	return f.Conn.Close()
}

// Point 5 and the lessons: a silent peer is declared dead by the ping check,
// and the connection is then re-established. Freezing one direction at a
// time makes exactly one side hear silence: the dialer when its reads stop,
// the acceptor when the dialer's writes stop.
func TestSilentPeerDeclaredDead(t *testing.T) {
	for _, side := range []string{"dialer", "acceptor"} {
		t.Run(side+" hears silence", func(t *testing.T) {
			var mu sync.Mutex
			var conns []*freezableConn
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				f := newFreezableConn(c)
				mu.Lock()
				conns = append(conns, f)
				mu.Unlock()
				return f, nil
			}
			nodes := newTestCluster(t, 2, clusterOpts{
				register: registerEcho,
				tweak: func(_ int, c *Config) {
					c.NetDial = dial
					c.PeerTimeout = 500 * time.Millisecond
				},
			})
			dialer, acceptor := nodes[0], nodes[1]
			if !dialer.m.peers[acceptor.addr].dials {
				dialer, acceptor = acceptor, dialer
			}
			mu.Lock()
			live := conns[len(conns)-1]
			mu.Unlock()
			deaf, other := dialer, acceptor
			if side == "dialer" {
				live.freeze(true, false)
			} else {
				live.freeze(false, true)
				deaf, other = acceptor, dialer
			}
			waitFor(t, 20*time.Second, side+" to declare its peer silent", func() bool {
				for _, ps := range deaf.m.Stats() {
					if ps.Addr == other.addr && strings.Contains(ps.LastError, "silent") {
						return true
					}
				}
				return false
			})
			// The dialing side reconnects over a fresh connection.
			waitConnected(t, dialer, acceptor)
			if got := mustRequest(t, dialer.conn(acceptor), hEcho, []byte("alive")); string(got) != "alive" {
				t.Fatalf("after reconnect: %q", got)
			}
		})
	}
}

// The default configuration, not a shortened one, declares a paused peer
// dead within the PeerTimeout it promises (10 s), and fails the calls in
// flight to it: the stall is not hidden by test timeouts.
func TestPausedPeerDefaultConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default 10 s peer timeout")
	}
	var rec connRecorder
	nodes := newTestCluster(t, 2, clusterOpts{
		wrap: rec.wrap,
		tweak: func(_ int, c *Config) {
			d := DefaultConfig()
			c.PeerTimeout, c.DialTimeout, c.ReconnectMin, c.ReconnectMax = d.PeerTimeout, d.DialTimeout, d.ReconnectMin, d.ReconnectMax
		},
		register: func(_ int, m *Manager) {
			_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			})
		},
	})
	a, b := nodes[0], nodes[1]
	reqErr := make(chan error, 1)
	go func() {
		_, err := a.conn(b).Request(context.Background(), hTest, nil) // the default one-minute deadline
		reqErr <- err
	}()
	waitFor(t, 10*time.Second, "the request to be in flight", func() bool { return a.m.Stats()[0].InFlight > 0 })
	rec.pause(t, 1)
	paused := time.Now()
	err := recvWithin(t, reqErr, DefaultConfig().PeerTimeout+5*time.Second, "the call to a paused peer to fail")
	if !isDisconnected(err) || !strings.Contains(err.Error(), "silent") {
		t.Fatalf("call to a paused peer: %v, want ErrDisconnected after silence", err)
	}
	t.Logf("declared dead %v after the pause", time.Since(paused))
}

func TestBackoffJitteredAndBounded(t *testing.T) {
	cur := 100 * time.Millisecond
	const max = 5 * time.Second
	distinct := map[time.Duration]bool{}
	for range 20 {
		var wait time.Duration
		prev := cur
		wait, cur = nextBackoff(cur, max)
		if wait < prev/2 || wait > prev {
			t.Fatalf("wait %v outside [%v, %v]", wait, prev/2, prev)
		}
		if cur > max {
			t.Fatalf("backoff grew to %v past the max %v", cur, max)
		}
		distinct[wait] = true
	}
	if cur != max {
		t.Fatalf("backoff did not reach its max: %v", cur)
	}
	if len(distinct) < 5 {
		t.Fatalf("waits are not jittered: %v", distinct)
	}
}

// Manager.Close leaves no goroutine behind (checked by goleak in TestMain)
// even with streams and requests in flight, and later calls fail cleanly.
func TestCloseWithTrafficInFlight(t *testing.T) {
	nodes := newTestCluster(t, 3, clusterOpts{register: func(_ int, m *Manager) {
		registerEchoStream(0, m)
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, nil
		})
	}})
	var wg sync.WaitGroup
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			st, err := a.conn(b).NewStream(context.Background(), hStream, nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				for st.Send([]byte("x")) == nil {
				}
			}()
			go func() {
				defer wg.Done()
				_, _ = a.conn(b).Request(context.Background(), hTest, nil)
			}()
		}
	}
	for _, n := range nodes {
		n.Close()
	}
	wg.Wait()
	if _, err := nodes[0].conn(nodes[1]).Request(context.Background(), hEcho, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("request after Close: %v", err)
	}
}

// A node that shuts down says so: its peers record an orderly close, not a
// lost connection.
func TestOrderlyCloseIsReported(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	a, b := nodes[0], nodes[1]
	b.Close()
	waitFor(t, 10*time.Second, "a to see b's orderly close", func() bool {
		for _, ps := range a.m.Stats() {
			if strings.Contains(ps.LastError, errPeerClosed.Error()) {
				return true
			}
		}
		return false
	})
}

func TestWaitConnected(t *testing.T) {
	nodes := newTestCluster(t, 3, clusterOpts{register: registerEcho, noStart: true})
	for _, n := range nodes {
		n.m.Start()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.m.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes[0].m.WaitConnected(ctx, "127.0.0.1:1"); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("unknown peer: %v", err)
	}
	nodes[2].Close()
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	waitFor(t, 10*time.Second, "node 2 to be seen down", func() bool {
		return nodes[0].conn(nodes[2]).State() != StateConnected
	})
	if err := nodes[0].m.WaitConnected(short, nodes[2].addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a dead peer: %v", err)
	}
}

// A peer that restarts and redials before its old connection is noticed dead
// replaces it; subscribers hear the old connection go.
func TestReplacedConnectionReported(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	dialer, acceptor := nodes[0], nodes[1]
	if !dialer.m.peers[acceptor.addr].dials {
		dialer, acceptor = acceptor, dialer
	}
	events := make(chan State, 16)
	acceptor.m.Subscribe(func(peer string, s State) {
		if peer == dialer.addr {
			events <- s
		}
	})
	// Open a second connection as the dialer would after a restart.
	conn := impersonate(t, dialer, acceptor)
	defer conn.Close()
	if s := recvWithin(t, events, 10*time.Second, "events"); s != StateDisconnected {
		t.Fatalf("first event %v, want disconnected", s)
	}
	if s := recvWithin(t, events, 10*time.Second, "events"); s != StateConnected {
		t.Fatalf("second event %v, want connected", s)
	}
}
