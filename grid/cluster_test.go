package grid

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/proto"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testSecret = []byte("0123456789abcdef-test-cluster-secret")

// testNode is one Manager served over real loopback HTTP.
type testNode struct {
	t    testing.TB
	m    *Manager
	addr string
	ln   *countingListener
	srv  *http.Server
	cfg  Config

	states   chan stateEvent
	closedMu sync.Mutex
	closed   bool
}

type stateEvent struct {
	peer  string
	state State
}

// countingListener counts the TCP connections a node accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

// wrapListener wraps every accepted connection.
type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l *wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

type clusterOpts struct {
	tweak func(i int, c *Config)
	// wrap, if set, wraps node i's end of every grid connection, dialed or
	// accepted: to freeze or kill it from the test.
	wrap func(i int, c net.Conn) net.Conn
	// serverTLS, if set, makes node i's HTTP server serve TLS.
	serverTLS func(i int) *tls.Config
	register  func(i int, m *Manager)
	noStart   bool
}

// newTestCluster starts n managers on loopback that all know each other and
// waits until every pair is connected (unless noStart).
func newTestCluster(t testing.TB, n int, o clusterOpts) []*testNode {
	t.Helper()
	lns := make([]net.Listener, n)
	addrs := make([]string, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		if o.wrap != nil {
			ln = &wrapListener{Listener: ln, wrap: func(c net.Conn) net.Conn { return o.wrap(i, c) }}
		}
		if o.serverTLS != nil {
			ln = tls.NewListener(ln, o.serverTLS(i))
		}
		lns[i] = ln
	}
	nodes := make([]*testNode, n)
	for i := range n {
		nodes[i] = startTestNode(t, lns[i], addrs[i], addrs, func(c *Config) {
			if o.wrap != nil {
				c.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return o.wrap(i, conn), nil
				}
			}
			if o.tweak != nil {
				o.tweak(i, c)
			}
		}, func(m *Manager) {
			if o.register != nil {
				o.register(i, m)
			}
		}, !o.noStart)
	}
	if !o.noStart {
		waitConnected(t, nodes...)
	}
	return nodes
}

func startTestNode(t testing.TB, ln net.Listener, self string, all []string, tweak func(*Config), register func(*Manager), start bool) *testNode {
	t.Helper()
	cfg := LocalConfig()
	cfg.Self = self
	cfg.Peers = all
	cfg.Secret = testSecret
	if tl, ok := t.(*testing.T); ok {
		cfg.Logger = zaptest.NewLogger(tl, zaptest.Level(zap.WarnLevel))
	}
	n := &testNode{t: t, addr: self, states: make(chan stateEvent, 1024)}
	cfg.OnStateChange = func(peer string, s State) {
		select {
		case n.states <- stateEvent{peer, s}:
		default:
		}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if register != nil {
		register(m)
	}
	n.m, n.cfg = m, cfg
	n.ln = &countingListener{Listener: ln}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, m.Handler())
	n.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = n.srv.Serve(n.ln) }()
	if start {
		m.Start()
	}
	t.Cleanup(n.Close)
	return n
}

// Close stops the node: its manager and its HTTP server.
func (n *testNode) Close() {
	n.closedMu.Lock()
	defer n.closedMu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	_ = n.m.Close()
	_ = n.srv.Close()
}

func (n *testNode) conn(to *testNode) *Connection { return n.m.Connection(to.addr) }

// waitConnected waits until every node reports every other as connected.
// The limit only bounds a broken test; nothing asserts on how long it took.
func waitConnected(t testing.TB, nodes ...*testNode) {
	t.Helper()
	waitFor(t, 10*time.Second, "all peers connected", func() bool {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b && a.m.Connection(b.addr).State() != StateConnected {
					return false
				}
			}
		}
		return true
	})
}

func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func echo(ctx context.Context, p []byte) ([]byte, error) { return p, nil }

func registerEcho(_ int, m *Manager) {
	if err := m.RegisterSingle(hEcho, echo); err != nil {
		panic(err)
	}
}

// Handler IDs used by the tests.
const (
	hEcho       = proto.HandlerEcho
	hStream     = proto.HandlerEchoStream
	hTest       = proto.HandlerTest
	hTestStream = proto.HandlerTestStream
)

func mustRequest(t testing.TB, c *Connection, id HandlerID, req []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, id, req)
	if err != nil {
		t.Fatalf("request %v to %s: %v", id, c.Addr(), err)
	}
	return resp
}

func isDisconnected(err error) bool { return errors.Is(err, ErrDisconnected) }
