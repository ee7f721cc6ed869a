package grid

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gridstore/gridstore/internal/testpki"
)

// Issue 11.7: with certificates, the grid runs over TLS with the peer's
// certificate verified both ways; requests and streams work, and the
// packets carry no checksum (TLS authenticates them). A node running TLS
// refuses a grid connection without a client certificate.
func TestGridOverTLS(t *testing.T) {
	ca := testpki.NewCA(t, "grid test CA")
	roots := ca.Pool()
	certs := []tls.Certificate{ca.Issue(t, testpki.Leaf{}).TLS, ca.Issue(t, testpki.Leaf{}).TLS}
	nodes := newTestCluster(t, 2, clusterOpts{
		register: registerEchoStream,
		serverTLS: func(i int) *tls.Config {
			return &tls.Config{Certificates: certs[i : i+1], ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: roots, MinVersion: tls.VersionTLS13}
		},
		tweak: func(i int, c *Config) {
			c.TLS = &tls.Config{RootCAs: roots, Certificates: certs[i : i+1], MinVersion: tls.VersionTLS13}
		},
	})
	a, b := nodes[0], nodes[1]
	for _, pair := range [][2]*testNode{{a, b}, {b, a}} {
		if got := mustRequest(t, pair[0].conn(pair[1]), hEcho, []byte("over tls")); string(got) != "over tls" {
			t.Fatalf("echo over TLS: %q", got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := a.conn(b).NewStream(ctx, hStream, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(bytes.Repeat([]byte{1}, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if msg, err := st.Recv(); err != nil || !strings.HasPrefix(string(msg), "hello") {
		t.Fatalf("stream over TLS: %q, %v", msg, err)
	}
	st.Cancel()
	s := a.m.peers[b.addr].cur.Load()
	if s == nil || s.fr.checksums || s.checksums {
		t.Fatal("a TLS connection still checksums its packets (or is gone)")
	}

	// No client certificate: refused before any grid traffic.
	hdr := a.m.auth.requestHeaders(a.addr, b.addr)
	ownLimits(&a.cfg).setHeaders(hdr)
	var status int
	d := ws.Dialer{
		Header:        ws.HandshakeHeaderHTTP(hdr),
		TLSConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13},
		OnStatusError: func(code int, _ []byte, _ io.Reader) { status = code },
	}
	if conn, _, _, err := d.Dial(context.Background(), "wss://"+b.addr+b.cfg.Path); err == nil {
		conn.Close()
		t.Fatal("a grid connection without a client certificate was accepted")
	}
	if status != http.StatusForbidden {
		t.Fatalf("grid connection without a client certificate answered %d, want 403", status)
	}
	// Plain ws to a TLS node gets nowhere either.
	if conn, _, _, err := (ws.Dialer{Header: ws.HandshakeHeaderHTTP(hdr)}).Dial(context.Background(), "ws://"+b.addr+b.cfg.Path); err == nil {
		conn.Close()
		t.Fatal("a plain grid connection to a TLS node was accepted")
	}
}

// flipper flips one bit of the first byte equal to target that it reads
// once armed: corruption in transit that TCP's own checksum missed.
type flipper struct {
	net.Conn
	armed   atomic.Bool
	flipped chan struct{}
	once    sync.Once
	target  byte
}

func (f *flipper) Read(b []byte) (int, error) {
	n, err := f.Conn.Read(b)
	if f.armed.Load() {
		if i := bytes.IndexByte(b[:n], f.target); i >= 0 {
			b[i] ^= 0x10
			f.armed.Store(false)
			f.once.Do(func() { close(f.flipped) })
		}
	}
	return n, err
}

// Issue 11.7: without TLS, a bit flipped in transit closes the connection
// instead of reaching a handler; the peers reconnect and carry on.
func TestFlippedBitClosesConnection(t *testing.T) {
	const pattern = 0xA5
	var mu sync.Mutex
	var flippers []*flipper
	var corrupt atomic.Int64
	var served atomic.Int64
	nodes := newTestCluster(t, 2, clusterOpts{
		wrap: func(i int, c net.Conn) net.Conn {
			if i != 1 {
				return c
			}
			f := &flipper{Conn: c, flipped: make(chan struct{}), target: pattern}
			mu.Lock()
			flippers = append(flippers, f)
			mu.Unlock()
			return f
		},
		register: func(_ int, m *Manager) {
			registerEcho(0, m)
			_ = m.RegisterSingle(hTest, func(_ context.Context, p []byte) ([]byte, error) {
				served.Add(1)
				for _, c := range p {
					if c != pattern {
						corrupt.Add(1)
						break
					}
				}
				return nil, nil
			})
		},
	})
	a, b := nodes[0], nodes[1]
	mu.Lock()
	f := flippers[len(flippers)-1]
	mu.Unlock()
	f.armed.Store(true)
	req := bytes.Repeat([]byte{pattern}, 256<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.conn(b).Request(ctx, hTest, req)
	recvWithin(t, f.flipped, 5*time.Second, "the bit to be flipped")
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("request whose bytes were corrupted: %v, want ErrDisconnected", err)
	}
	if corrupt.Load() != 0 || served.Load() != 0 {
		t.Fatalf("a corrupted request reached the handler (%d served, %d corrupt)", served.Load(), corrupt.Load())
	}
	waitFor(t, 10*time.Second, "b to report the checksum failure", func() bool {
		for _, ps := range b.m.Stats() {
			if strings.Contains(ps.LastError, "checksum") {
				return true
			}
		}
		return false
	})
	waitConnected(t, a, b)
	if _, err := a.conn(b).Request(ctx, hTest, req); err != nil {
		t.Fatalf("after reconnecting: %v", err)
	}
	if corrupt.Load() != 0 || served.Load() != 1 {
		t.Fatalf("after reconnecting: %d served, %d corrupt", served.Load(), corrupt.Load())
	}
}
