package grid

import (
	"bufio"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/zap"
)

// Connection is the caller's handle on one peer. It stays valid across
// reconnects: each call uses whatever connection is up at that moment.
type Connection struct {
	p        *peer
	subroute string
}

// Subroute returns a Connection whose calls go to handlers registered on the
// given static subroute.
func (c *Connection) Subroute(name string) *Connection {
	return &Connection{p: c.p, subroute: name}
}

// Addr returns the peer's address.
func (c *Connection) Addr() string {
	if c.p == nil {
		return ""
	}
	return c.p.addr
}

// State returns the current state of the connection to the peer.
func (c *Connection) State() State {
	if c.p == nil {
		return StateDisconnected
	}
	return c.p.State()
}

func (c *Connection) session() (*session, error) {
	if c.p == nil {
		return nil, ErrUnknownPeer
	}
	if c.p.m.closed.Load() {
		return nil, ErrClosed
	}
	s := c.p.cur.Load()
	if s == nil {
		return nil, fmt.Errorf("%w: %s", ErrDisconnected, c.p.addr)
	}
	return s, nil
}

// Request sends req to handler id on the peer and returns its response. The
// context's deadline travels to the handler (RequestTimeout when it has
// none); cancelling returns at once and cancels the handler. An error from
// the handler is a *RemoteErr; anything else is local. req may be reused once
// Request returns. The response belongs to the caller, who may give it back
// with PutBuffer.
func (c *Connection) Request(ctx context.Context, id HandlerID, req []byte) ([]byte, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	return s.request(ctx, id, c.subroute, req)
}

// NewStream opens a stream to handler id with an initial payload and returns
// once the handler accepted it. The default receive window applies; see
// NewStreamWindow. The stream lives until the handler returns or ctx is done.
func (c *Connection) NewStream(ctx context.Context, id HandlerID, payload []byte) (*Stream, error) {
	return c.NewStreamWindow(ctx, id, payload, Window{})
}

// NewStreamWindow is NewStream with an explicit receive window: how many of
// the handler's messages (and bytes) may wait for this side's Recv.
func (c *Connection) NewStreamWindow(ctx context.Context, id HandlerID, payload []byte, w Window) (*Stream, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	return s.newStream(ctx, id, c.subroute, payload, w)
}

var errReplaced = errors.New("replaced by a new connection from the peer")

// peer is the Manager's state for one remote node.
type peer struct {
	m        *Manager
	addr     string
	dials    bool // this side opens the connection
	state    atomic.Int32
	cur      atomic.Pointer[session]
	mu       sync.Mutex // serialises installing and removing sessions
	wake     chan struct{}
	connects atomic.Uint64
	lastErr  atomic.Pointer[string] // why the last connection ended or the last dial failed
}

func (p *peer) noteError(err error) {
	msg := err.Error()
	p.lastErr.Store(&msg)
}

func (p *peer) State() State { return State(p.state.Load()) }

func (p *peer) setState(s State) {
	if State(p.state.Swap(int32(s))) == s {
		return
	}
	if p.m.cfg.OnStateChange != nil {
		p.m.cfg.OnStateChange(p.addr, s)
	}
	for _, fn := range p.m.subscribers() {
		fn(p.addr, s)
	}
}

// install makes s the peer's live session, replacing (and closing) any older
// one: the peer restarted and dialed again before we noticed the old
// connection was gone.
func (p *peer) install(s *session) {
	p.mu.Lock()
	if p.m.closed.Load() {
		p.mu.Unlock()
		s.close(ErrClosed)
		return
	}
	old := p.cur.Swap(s)
	p.m.wg.Add(1)
	p.mu.Unlock()
	if old != nil {
		// The old connection's handlers are cancelled by close; report the
		// loss too, so listeners (lock servers dropping the peer's grants)
		// learn that everything tied to the old connection is gone.
		old.close(errReplaced)
		p.noteError(errReplaced)
		p.setState(StateDisconnected)
	}
	p.connects.Add(1)
	s.start()
	p.setState(StateConnected)
	p.m.log.Info("grid: connected", zap.String("peer", p.addr), zap.Bool("dialed", p.dials))
	go func() {
		defer p.m.wg.Done()
		<-s.done
		s.wg.Wait()
	}()
}

// sessionClosed is called once by a session as it dies.
func (p *peer) sessionClosed(s *session, cause error) {
	p.mu.Lock()
	current := p.cur.CompareAndSwap(s, nil)
	p.mu.Unlock()
	if !current {
		return
	}
	p.noteError(cause)
	if !p.m.closed.Load() {
		p.setState(StateDisconnected)
		if errors.Is(cause, errPeerClosed) {
			p.m.log.Info("grid: peer closed the connection", zap.String("peer", p.addr))
		} else {
			p.m.log.Warn("grid: connection lost", zap.String("peer", p.addr), zap.Error(cause))
		}
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// closeSession closes the live session. Taking p.mu orders it after any
// install that raced with Manager.Close.
func (p *peer) closeSession(cause error) {
	p.mu.Lock()
	s := p.cur.Load()
	p.mu.Unlock()
	if s != nil {
		s.close(cause)
	}
}

// dialLoop keeps a connection to the peer up, reconnecting with jittered
// exponential backoff. Failures are logged when they change, not on every
// attempt.
func (p *peer) dialLoop() {
	defer p.m.wg.Done()
	cfg := &p.m.cfg
	backoff := cfg.ReconnectMin
	var lastErr string
	for p.m.ctx.Err() == nil {
		p.setState(StateConnecting)
		s, err := p.dial(p.m.ctx)
		if err == nil {
			backoff, lastErr = cfg.ReconnectMin, ""
			p.install(s)
			select {
			case <-s.done:
			case <-p.m.ctx.Done():
				return
			}
		} else if p.m.ctx.Err() == nil {
			p.noteError(err)
			p.setState(StateDisconnected)
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				p.m.log.Warn("grid: cannot connect", zap.String("peer", p.addr), zap.Error(err))
			}
		}
		var d time.Duration
		d, backoff = nextBackoff(backoff, cfg.ReconnectMax)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.m.ctx.Done():
			t.Stop()
			return
		}
	}
}

// nextBackoff returns how long to wait now and the backoff for next time. The
// wait is drawn from the upper half of the current backoff, so nodes that
// restarted together do not reconnect in lockstep.
func nextBackoff(cur, max time.Duration) (wait, next time.Duration) {
	wait = cur/2 + rand.N(cur/2+1)
	return wait, min(cur*2, max)
}

// dial opens and authenticates one connection to the peer.
func (p *peer) dial(ctx context.Context) (*session, error) {
	cfg := &p.m.cfg
	hdr := p.m.auth.requestHeaders(cfg.Self, p.addr)
	ownLimits(cfg).setHeaders(hdr)
	var (
		status  int
		refusal string
		proof   string
		answer  = http.Header{}
	)
	scheme := "ws://"
	d := ws.Dialer{
		Timeout: cfg.DialTimeout,
		NetDial: cfg.NetDial,
		Header:  ws.HandshakeHeaderHTTP(hdr),
		OnStatusError: func(code int, reason []byte, resp io.Reader) {
			status = code
			refusal = readRefusal(resp)
		},
		OnHeader: func(key, value []byte) error {
			if strings.EqualFold(string(key), hdrProof) {
				proof = string(value)
			}
			answer.Set(string(key), string(value))
			return nil
		},
	}
	if cfg.TLS != nil {
		scheme, d.TLSConfig = "wss://", cfg.TLS
	}
	conn, br, _, err := d.Dial(ctx, scheme+p.addr+cfg.Path)
	if err != nil {
		switch status {
		case http.StatusUnauthorized:
			return nil, fmt.Errorf("dial %s: %w: peer refused our token (is the cluster secret the same on both nodes and are clocks within %v?)", p.addr, ErrUnauthorized, cfg.MaxClockSkew)
		case http.StatusUpgradeRequired:
			return nil, fmt.Errorf("dial %s: %w: we speak %d; peer says: %s", p.addr, ErrVersionMismatch, ProtocolVersion, refusal)
		case 0:
			return nil, fmt.Errorf("dial %s: %w", p.addr, err)
		}
		return nil, fmt.Errorf("dial %s: HTTP %d: %s", p.addr, status, refusal)
	}
	if !hmac.Equal([]byte(proof), []byte(p.m.auth.proof(hdr.Get(hdrAuth)))) {
		_ = conn.Close()
		return nil, fmt.Errorf("dial %s: %w: peer could not prove it holds the cluster secret", p.addr, ErrUnauthorized)
	}
	peerLimits, err := parseLimits(answer.Get)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("dial %s: %w: %v", p.addr, ErrVersionMismatch, err)
	}
	s := newSession(p.m, p, conn, br, true, peerLimits)
	if br != nil {
		ws.PutReader(br)
	}
	return s, nil
}

// readRefusal extracts the body of a refused upgrade for the error message.
func readRefusal(resp io.Reader) string {
	r, err := http.ReadResponse(bufio.NewReader(resp), nil)
	if err != nil {
		return "(unreadable response)"
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(r.Body, 512))
	return strings.TrimSpace(string(b))
}
