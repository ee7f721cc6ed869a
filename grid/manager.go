package grid

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/zap"
)

// Manager owns this node's grid: one connection per peer, the handlers served
// to peers, and the HTTP endpoint peers connect to.
type Manager struct {
	cfg      Config
	auth     *authenticator
	log      *zap.Logger
	peers    map[string]*peer
	handlers handlerTable
	epoch    time.Time

	ctx     context.Context // cancelled by Close; stops dial loops
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started atomic.Bool
	closed  atomic.Bool

	subsMu sync.Mutex
	subs   []func(peer string, state State)

	refusedMu sync.Mutex
	refused   map[string]time.Time // remote address -> last refusal logged
}

// NewManager validates cfg and returns a Manager. Register handlers, mount
// Handler() on the node's HTTP server, then call Start.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Peers = slices.Clone(cfg.Peers)
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	m := &Manager{
		cfg:     cfg,
		auth:    newAuthenticator(cfg.Secret, cfg.MaxClockSkew),
		log:     log.With(zap.String("self", cfg.Self)),
		peers:   map[string]*peer{},
		epoch:   time.Now(),
		refused: map[string]time.Time{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for _, addr := range cfg.Peers {
		if addr == cfg.Self {
			continue
		}
		if _, dup := m.peers[addr]; dup {
			return nil, fmt.Errorf("grid config: peer %q listed twice", addr)
		}
		m.peers[addr] = &peer{m: m, addr: addr, dials: dialerOf(cfg.Self, addr) == cfg.Self, wake: make(chan struct{}, 1)}
	}
	return m, nil
}

// dialerOf decides which of two nodes opens their connection. Both compute
// the same answer; hashing the pair spreads the dialing evenly instead of
// letting the lowest address dial everyone.
func dialerOf(a, b string) string {
	lo, hi := a, b
	if hi < lo {
		lo, hi = hi, lo
	}
	h := fnv.New64a()
	h.Write([]byte(lo))
	h.Write([]byte{0})
	h.Write([]byte(hi))
	if h.Sum64()&1 == 0 {
		return lo
	}
	return hi
}

// now is the Manager's clock for liveness bookkeeping: monotonic nanoseconds.
func (m *Manager) now() int64 { return int64(time.Since(m.epoch)) }

// Start begins connecting to the peers this node dials.
func (m *Manager) Start() {
	if m.closed.Load() || !m.started.CompareAndSwap(false, true) {
		return
	}
	for _, p := range m.peers {
		if p.dials {
			m.wg.Add(1)
			go p.dialLoop()
		}
	}
}

// Close closes every connection and waits for the grid's goroutines,
// including running handlers (which see their contexts cancelled).
func (m *Manager) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	m.cancel()
	for _, p := range m.peers {
		p.closeSession(ErrClosed)
	}
	m.wg.Wait()
	for _, p := range m.peers {
		p.setState(StateClosed)
	}
	return nil
}

// Connection returns the connection to peer addr. It is valid for the
// Manager's lifetime across reconnects; calls on it fail with ErrDisconnected
// while the peer is not connected, and with ErrUnknownPeer if addr is not a
// configured peer.
func (m *Manager) Connection(addr string) *Connection {
	return &Connection{p: m.peers[addr]}
}

// Subscribe adds a listener for connection state changes, with the same
// contract as Config.OnStateChange. It may be called at any time; the
// listener hears changes from then on.
func (m *Manager) Subscribe(fn func(peer string, state State)) {
	m.subsMu.Lock()
	defer m.subsMu.Unlock()
	m.subs = append(slices.Clip(m.subs), fn)
}

func (m *Manager) subscribers() []func(string, State) {
	m.subsMu.Lock()
	defer m.subsMu.Unlock()
	return m.subs
}

// WaitConnected waits until the given peers (all peers when none are given)
// are connected, and returns ctx's error if that does not happen first.
func (m *Manager) WaitConnected(ctx context.Context, peers ...string) error {
	if len(peers) == 0 {
		peers = m.Peers()
	}
	for _, a := range peers {
		if m.peers[a] == nil {
			return fmt.Errorf("%w: %s", ErrUnknownPeer, a)
		}
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if m.closed.Load() {
			return ErrClosed
		}
		waiting := 0
		for _, a := range peers {
			if m.peers[a].State() != StateConnected {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("grid: %d of %d peers not connected: %w", waiting, len(peers), ctx.Err())
		case <-t.C:
		}
	}
}

// Peers returns the configured peer addresses, sorted.
func (m *Manager) Peers() []string {
	out := make([]string, 0, len(m.peers))
	for a := range m.peers {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// PeerStats is a snapshot of one peer's connection, for metrics.
type PeerStats struct {
	Addr       string
	State      State
	RTT        time.Duration // last measured ping round trip
	Connects   uint64        // connections established, first included
	InFlight   int           // single requests and streams open on the connection
	LastActive time.Duration // time since anything was received
	LastError  string        // why the last connection ended or dial failed
}

// Stats returns a snapshot per peer, sorted by address.
func (m *Manager) Stats() []PeerStats {
	out := make([]PeerStats, 0, len(m.peers))
	for _, addr := range m.Peers() {
		p := m.peers[addr]
		ps := PeerStats{Addr: addr, State: p.State(), Connects: p.connects.Load()}
		if e := p.lastErr.Load(); e != nil {
			ps.LastError = *e
		}
		if s := p.cur.Load(); s != nil {
			ps.RTT = time.Duration(s.rttNanos.Load())
			ps.LastActive = time.Duration(m.now() - s.lastRecv.Load())
			s.mu.Lock()
			ps.InFlight = len(s.calls) + len(s.streams) + len(s.served)
			s.mu.Unlock()
		}
		out = append(out, ps)
	}
	return out
}

// Handler returns the HTTP handler peers connect to; mount it at
// Config.Path. It authenticates the upgrade request before upgrading.
func (m *Manager) Handler() http.Handler { return http.HandlerFunc(m.serveHTTP) }

func (m *Manager) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if m.closed.Load() {
		http.Error(w, "grid: shutting down", http.StatusServiceUnavailable)
		return
	}
	if m.cfg.TLS != nil && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		m.logRefusal(r.RemoteAddr, "grid: refused connection", ErrTLSRequired)
		http.Error(w, "grid: this node requires TLS with a client certificate", http.StatusForbidden)
		return
	}
	from, err := m.auth.verifyRequest(r.Header, m.cfg.Self)
	if err != nil {
		m.logRefusal(r.RemoteAddr, "grid: refused unauthenticated connection", err)
		http.Error(w, "grid: unauthorized", http.StatusUnauthorized)
		return
	}
	if v := r.Header.Get(hdrVersion); v != strconv.Itoa(ProtocolVersion) {
		err := fmt.Errorf("%w: peer %s speaks %q, this node speaks %d", ErrVersionMismatch, from, v, ProtocolVersion)
		m.logRefusal(r.RemoteAddr, "grid: refused connection", err)
		w.Header().Set(hdrVersion, strconv.Itoa(ProtocolVersion))
		http.Error(w, err.Error(), http.StatusUpgradeRequired)
		return
	}
	peerLimits, err := parseLimits(r.Header.Get)
	if err != nil {
		m.logRefusal(r.RemoteAddr, "grid: refused connection", fmt.Errorf("%w: %v", ErrVersionMismatch, err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := m.peers[from]
	if p == nil {
		m.logRefusal(r.RemoteAddr, "grid: refused connection from unknown peer", fmt.Errorf("%w: %s", ErrUnknownPeer, from))
		http.Error(w, "grid: unknown peer", http.StatusForbidden)
		return
	}
	if p.dials {
		// Both sides agree who dials; a connection the other way means the
		// two nodes were configured with different addresses.
		m.logRefusal(r.RemoteAddr, "grid: refused connection from a peer this node dials",
			fmt.Errorf("peer %s dialed, but %s is the dialing side: check both nodes list the same addresses", from, m.cfg.Self))
		http.Error(w, "grid: this node dials you", http.StatusConflict)
		return
	}
	answer := http.Header{hdrProof: []string{m.auth.proof(r.Header.Get(hdrAuth))}}
	ownLimits(&m.cfg).setHeaders(answer)
	up := ws.HTTPUpgrader{
		Timeout: m.cfg.DialTimeout,
		Header:  answer,
	}
	conn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		m.logRefusal(r.RemoteAddr, "grid: websocket upgrade failed", err)
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	var br = rw.Reader
	p.install(newSession(m, p, conn, br, false, peerLimits))
}

// logRefusal logs a refused connection at most once a minute per remote
// address, so a misconfigured node retrying every second does not flood the
// log.
func (m *Manager) logRefusal(remote, msg string, err error) {
	now := time.Now()
	m.refusedMu.Lock()
	last, seen := m.refused[remote]
	if !seen || now.Sub(last) > time.Minute {
		m.refused[remote] = now
		seen = false
	}
	if len(m.refused) > 4096 {
		clear(m.refused)
	}
	m.refusedMu.Unlock()
	if !seen {
		m.log.Warn(msg, zap.String("remote", remote), zap.Error(err))
	}
}

// SignHTTP signs an internode HTTP request from this node to peer, for
// endpoints served outside the grid (bulk reads that go file-to-socket).
// The request's method and URL must be final.
func (m *Manager) SignHTTP(r *http.Request, peer string) {
	m.auth.signHTTP(r, m.cfg.Self, peer)
}

// VerifyHTTP checks a request signed with SignHTTP by a configured peer and
// returns that peer's address. Failures wrap ErrUnauthorized.
func (m *Manager) VerifyHTTP(r *http.Request) (peer string, err error) {
	from, err := m.auth.verifyHTTP(r, m.cfg.Self)
	if err != nil {
		return "", err
	}
	if m.peers[from] == nil {
		return "", fmt.Errorf("%w: %w: %s", ErrUnauthorized, ErrUnknownPeer, from)
	}
	return from, nil
}

// Self returns this node's grid address.
func (m *Manager) Self() string { return m.cfg.Self }
