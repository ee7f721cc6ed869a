package grid

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
)

// Config configures a Manager. Start from DefaultConfig (production) or
// LocalConfig (tests: fast timeouts) and set Self, Peers and Secret.
type Config struct {
	// Self is this node's grid address (host:port) exactly as the other nodes
	// list it in their Peers.
	Self string
	// Peers are the other nodes' addresses. Self may appear and is skipped.
	Peers []string
	// Secret is the cluster secret every node shares; it keys the HMAC tokens
	// that authenticate connections. It is never logged.
	Secret []byte
	// Path is the HTTP path the grid is served on (Manager.Handler).
	Path string

	// RequestTimeout is the deadline given to single requests whose context
	// has none.
	RequestTimeout time.Duration
	// PeerTimeout is how long a peer may stay silent before its connection is
	// declared dead and closed. Pings are sent every PeerTimeout/5.
	PeerTimeout time.Duration
	// DialTimeout bounds one connection attempt, handshake included.
	DialTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between connection attempts.
	ReconnectMin, ReconnectMax time.Duration
	// MaxClockSkew is how far apart two nodes' clocks may be for a token to
	// be accepted.
	MaxClockSkew time.Duration

	// MaxMessageSize bounds one request, response or stream message.
	MaxMessageSize int
	// FrameSize is the payload budget of one websocket frame. Small packets
	// queued together share a frame; larger messages are cut into fragments
	// of at most FrameSize/2 so at least two sources share each frame.
	FrameSize int

	// MaxServed and MaxServedBytes bound what one peer can make this node
	// hold on its connection: calls and streams being served for it, and
	// the bytes of their requests and opening payloads. Calls beyond either
	// are refused at once with ErrBusy. Stream messages are bounded
	// separately, by each stream's window.
	MaxServed      int
	MaxServedBytes int64

	// OnStateChange, if set, is called on every connection state change. It
	// runs on the grid's goroutines: keep it short and non-blocking. When a
	// connection ends, the contexts of the handlers serving that peer are
	// cancelled before the disconnected state is reported. A connection
	// replaced by a new one from the same peer (it restarted) is reported as
	// disconnected, then connected. Manager.Subscribe adds more listeners.
	OnStateChange func(peer string, state State)

	// TLS, when set, makes the grid run over TLS (wss): peers are dialed
	// with this client configuration, which must verify the peer's
	// certificate (RootCAs) and present this node's own (Certificates or
	// GetClientCertificate). The Manager then refuses upgrades that did not
	// arrive over TLS with a verified client certificate, so the HTTP server
	// that mounts Handler must ask for client certificates
	// (tls.VerifyClientCertIfGiven with the same CAs). Nil: plain ws, where
	// every packet carries a checksum (packetSum) so that a corrupted byte closes the
	// connection instead of reaching a handler.
	TLS *tls.Config

	// NetDial, if set, opens the TCP connection to a peer instead of
	// net.Dialer: for tests that need to freeze or cut a connection, and for
	// special networks.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Logger receives connection-level events (never per request). Nil means
	// no logging.
	Logger *zap.Logger
}

// DefaultConfig returns production settings.
func DefaultConfig() Config {
	return Config{
		Path:           "/gridstore/grid",
		RequestTimeout: time.Minute,
		PeerTimeout:    10 * time.Second,
		DialTimeout:    5 * time.Second,
		ReconnectMin:   100 * time.Millisecond,
		ReconnectMax:   5 * time.Second,
		MaxClockSkew:   2 * time.Minute,
		MaxMessageSize: 16 << 20,
		FrameSize:      64 << 10,
		MaxServed:      4096,
		MaxServedBytes: 1 << 30,
	}
}

// LocalConfig returns settings for tests on one machine: fast dead-peer
// detection and reconnects.
func LocalConfig() Config {
	c := DefaultConfig()
	c.PeerTimeout = 3 * time.Second
	c.DialTimeout = time.Second
	c.ReconnectMin = 10 * time.Millisecond
	c.ReconnectMax = 200 * time.Millisecond
	return c
}

func (c *Config) validate() error {
	var errs []error
	if c.Self == "" {
		errs = append(errs, errors.New("self address (Self) is empty"))
	}
	if len(c.Secret) < 16 {
		errs = append(errs, errors.New("cluster secret (Secret) must be at least 16 bytes"))
	}
	if c.Path == "" || c.Path[0] != '/' {
		errs = append(errs, fmt.Errorf("path %q must start with /", c.Path))
	}
	if c.RequestTimeout <= 0 || c.PeerTimeout <= 0 || c.DialTimeout <= 0 ||
		c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin || c.MaxClockSkew <= 0 {
		errs = append(errs, errors.New("timeouts must be positive and ReconnectMax >= ReconnectMin"))
	}
	if c.MaxMessageSize < 1<<10 || c.MaxMessageSize > 1<<30 {
		errs = append(errs, fmt.Errorf("MaxMessageSize %d outside [1 KiB, 1 GiB]", c.MaxMessageSize))
	}
	if c.MaxServed < 1 || c.MaxServedBytes < int64(c.MaxMessageSize) {
		errs = append(errs, fmt.Errorf("MaxServed %d must be positive and MaxServedBytes %d at least MaxMessageSize", c.MaxServed, c.MaxServedBytes))
	}
	if c.FrameSize < 4<<10 || c.FrameSize > 1<<20 {
		errs = append(errs, fmt.Errorf("FrameSize %d outside [4 KiB, 1 MiB]", c.FrameSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("grid config: %w", err)
	}
	return nil
}

// maxIncomingFrame is the largest websocket frame accepted from a peer. It is
// fixed rather than derived from our own FrameSize so that nodes with
// different FrameSize settings still talk.
const maxIncomingFrame = 1<<20 + packetHeaderSize

// State is the state of the connection to one peer.
type State int32

const (
	// StateDisconnected: no connection; calls fail with ErrDisconnected.
	StateDisconnected State = iota
	// StateConnecting: a dial or handshake is in progress.
	StateConnecting
	// StateConnected: the connection is up and calls flow.
	StateConnected
	// StateClosed: the Manager was closed.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "disconnected"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}
