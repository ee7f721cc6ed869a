package grid

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestAuthenticator(t *testing.T) {
	a := newAuthenticator([]byte("a-cluster-secret-of-some-length"), time.Minute)
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }

	h := a.requestHeaders("n1:9000", "n2:9000")
	if from, err := a.verifyRequest(h, "n2:9000"); err != nil || from != "n1:9000" {
		t.Fatalf("valid token refused: %v", err)
	}
	if _, err := a.verifyRequest(h, "n2:9000"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("replayed token accepted: %v", err)
	}

	tamper := func(name, key, val string) {
		t.Helper()
		h := a.requestHeaders("n1:9000", "n2:9000")
		if val == "" {
			h.Del(key)
		} else {
			h.Set(key, val)
		}
		if _, err := a.verifyRequest(h, "n2:9000"); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	tamper("no token", hdrAuth, "")
	tamper("wrong scheme", hdrAuth, "Bearer abc")
	tamper("bad mac", hdrAuth, authScheme+strings.Repeat("0", 64))
	tamper("other caller", hdrFrom, "evil:9000")
	tamper("other target", hdrTo, "n3:9000")
	tamper("other nonce", hdrNonce, "00")
	tamper("malformed time", hdrTime, "yesterday")
	tamper("no time", hdrTime, "")

	// Addressed to another node.
	if _, err := a.verifyRequest(a.requestHeaders("n1:9000", "n3:9000"), "n2:9000"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("token for another node accepted: %v", err)
	}
	// Clock skew, both ways.
	for _, skew := range []time.Duration{-2 * time.Minute, 2 * time.Minute} {
		b := newAuthenticator([]byte("a-cluster-secret-of-some-length"), time.Minute)
		b.now = func() time.Time { return now.Add(skew) }
		if _, err := a.verifyRequest(b.requestHeaders("n1:9000", "n2:9000"), "n2:9000"); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token with clock skew %v accepted: %v", skew, err)
		}
	}
	b := newAuthenticator([]byte("a-cluster-secret-of-some-length"), time.Minute)
	b.now = func() time.Time { return now.Add(30 * time.Second) }
	if _, err := a.verifyRequest(b.requestHeaders("n1:9000", "n2:9000"), "n2:9000"); err != nil {
		t.Errorf("token within the allowed skew refused: %v", err)
	}
	// Another secret.
	c := newAuthenticator([]byte("another-secret-entirely-123456"), time.Minute)
	c.now = a.now
	if _, err := a.verifyRequest(c.requestHeaders("n1:9000", "n2:9000"), "n2:9000"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("token from another secret accepted: %v", err)
	}
}

// Point 6: a node with the wrong secret is refused (401) before the upgrade,
// and its dial reports ErrUnauthorized.
func TestWrongSecretRefused(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{
		register: registerEcho,
		noStart:  true,
		tweak: func(i int, c *Config) {
			if i == 1 {
				c.Secret = []byte("a-different-cluster-secret!!")
			}
		},
	})
	a, b := nodes[0], nodes[1]
	dialer, target := a, b
	if !a.m.peers[b.addr].dials {
		dialer, target = b, a
	}
	_, err := dialer.m.peers[target.addr].dial(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("dial with the wrong secret: %v, want ErrUnauthorized", err)
	}
	if target.m.Connection(dialer.addr).State() == StateConnected {
		t.Fatal("target accepted a connection with the wrong secret")
	}
}

// Point 6: plain HTTP without a token gets 401 and no upgrade.
func TestUnauthenticatedUpgradeRefused(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	n := nodes[0]
	for _, hdr := range []http.Header{
		{},
		{hdrAuth: {"GridHMAC deadbeef"}, hdrFrom: {nodes[1].addr}, hdrTo: {n.addr}, hdrTime: {"1"}, hdrNonce: {"x"}},
	} {
		req, _ := http.NewRequest("GET", "http://"+n.addr+n.cfg.Path, nil)
		req.Header = hdr.Clone()
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("upgrade without a valid token: HTTP %d, want 401", resp.StatusCode)
		}
	}
	// The cluster is untouched.
	if got := mustRequest(t, n.conn(nodes[1]), hEcho, []byte("ok")); string(got) != "ok" {
		t.Fatal("cluster broken by refused connections")
	}
}

// Point 6: a protocol version mismatch is a clear error on both sides.
func TestVersionMismatch(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho, noStart: true})
	a, b := nodes[0], nodes[1]
	// Server side: a well-authenticated request speaking another version.
	h := a.m.auth.requestHeaders(a.addr, b.addr)
	h.Set(hdrVersion, "999")
	req, _ := http.NewRequest("GET", "http://"+b.addr+b.cfg.Path, nil)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), "version") ||
		resp.Header.Get(hdrVersion) != fmt.Sprint(ProtocolVersion) {
		t.Fatalf("version mismatch answered HTTP %d %q", resp.StatusCode, body)
	}

	// Client side: a peer that answers 426.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(hdrVersion, "2")
		http.Error(w, "grid: protocol version mismatch: this node speaks 2", http.StatusUpgradeRequired)
	}))
	defer srv.Close()
	p := &peer{m: a.m, addr: strings.TrimPrefix(srv.URL, "http://")}
	_, err = p.dial(context.Background())
	if !errors.Is(err, ErrVersionMismatch) || !strings.Contains(err.Error(), "speaks 2") {
		t.Fatalf("dial to a peer of another version: %v", err)
	}
}

// Point 6: the dialer refuses a server that cannot prove it knows the secret.
func TestServerMustProveSecret(t *testing.T) {
	nodes := newTestCluster(t, 1, clusterOpts{noStart: true})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w) // upgrades without any proof
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	p := &peer{m: nodes[0].m, addr: strings.TrimPrefix(srv.URL, "http://")}
	if _, err := p.dial(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("dial to an impostor: %v, want ErrUnauthorized", err)
	}
}

// impersonate opens an authenticated grid connection to target as if it were
// from, bypassing from's Manager, and returns the raw socket.
func impersonate(t *testing.T, from, target *testNode) net.Conn {
	t.Helper()
	hdr := from.m.auth.requestHeaders(from.addr, target.addr)
	ownLimits(&from.cfg).setHeaders(hdr)
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(hdr)}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+target.addr+target.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if br != nil {
		ws.PutReader(br)
	}
	return conn
}

func frame(payload []byte) []byte {
	var hdr [maxWSHeader]byte
	start := putWSHeader(hdr[:], len(payload))
	return append(hdr[start:], payload...)
}

func packet(h packetHeader, payload []byte) []byte {
	h.len = uint32(len(payload))
	if h.size == 0 {
		h.size = h.len
	}
	b := make([]byte, packetHeaderSize)
	h.put(b)
	b = append(b, payload...)
	binary.LittleEndian.PutUint32(b[sumOffset:], packetSum(b[:sumOffset], payload))
	return b
}

// Point 6: garbage on an authenticated connection closes that connection,
// never the node; the real peer reconnects and the cluster works.
func TestGarbageOnGridConnection(t *testing.T) {
	cases := map[string][]byte{
		"random":          []byte("\x00\xff garbage \x13\x37 that is not a websocket frame at all ......"),
		"huge frame":      {0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0},
		"text frame":      {0x81, 3, 'a', 'b', 'c'},
		"masked frame":    {0x82, 0x80 | 4, 1, 2, 3, 4, 9, 9, 9, 9},
		"fragmented":      {0x02, 1, 0},
		"short packet":    frame([]byte{1, 2, 3}),
		"unknown op":      frame(packet(packetHeader{op: 200, mux: 3}, nil)),
		"unknown flags":   frame(packet(packetHeader{op: opRequest, flags: 0x80, mux: 3, handler: hEcho}, nil)),
		"overrun":         frame(append(packet(packetHeader{op: opRequest, mux: 3, handler: hEcho}, []byte("abc"))[:packetHeaderSize+1], 'a')),
		"too large":       frame(packet(packetHeader{op: opRequest, mux: 3, handler: hEcho, size: 1 << 30, flags: flagMore}, []byte("abc"))),
		"wrong mux owner": frame(packet(packetHeader{op: opResponse, mux: 3}, []byte("x"))),
		"bad credit":      frame(packet(packetHeader{op: opCredit, mux: 3, arg: 1 << 20, size: 1 << 20}, nil)),
		"truncated":       frame(packet(packetHeader{op: opRequest, mux: 3, handler: hEcho}, []byte("abcdef")))[:20],
		"ping on a mux":   frame(packet(packetHeader{op: opPing, mux: 5}, make([]byte, 8))),
	}
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEchoStream})
	for name, garbage := range cases {
		t.Run(name, func(t *testing.T) {
			// Speak as the node that dials, so the target accepts us.
			from, target := nodes[0], nodes[1]
			if !from.m.peers[target.addr].dials {
				from, target = target, from
			}
			waitConnected(t, nodes...)
			conn := impersonate(t, from, target)
			defer conn.Close()
			if _, err := conn.Write(garbage); err != nil {
				t.Fatal(err)
			}
			if name == "truncated" {
				conn.(*net.TCPConn).CloseWrite()
			}
			// The target closes the connection on us.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, conn); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("connection not closed by the target: %v", err)
			}
			// The real peer reconnects and the cluster works.
			waitConnected(t, nodes...)
			for _, pair := range [][2]*testNode{{nodes[0], nodes[1]}, {nodes[1], nodes[0]}} {
				if got := mustRequest(t, pair[0].conn(pair[1]), hEcho, []byte("ok")); string(got) != "ok" {
					t.Fatal("cluster not working after garbage")
				}
			}
		})
	}
}

// Garbage on the HTTP port itself is an HTTP error, nothing more.
func TestGarbageOnHTTPPort(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	for _, g := range []string{"\x16\x03\x01 tls hello?", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", strings.Repeat("A", 1<<16)} {
		c, err := net.Dial("tcp", nodes[0].addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte(g))
		// Only survival matters here, not what the server answers.
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	if got := mustRequest(t, nodes[1].conn(nodes[0]), hEcho, []byte("ok")); string(got) != "ok" {
		t.Fatal("cluster not working after HTTP garbage")
	}
}

// Unknown handler IDs and malformed msgp are rejected per request; the
// connection stays up.
func TestBadRequestsKeepConnection(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(i int, m *Manager) {
		registerEcho(i, m)
	}})
	c := nodes[0].conn(nodes[1])
	for _, id := range []HandlerID{0, hTest, 999} {
		if _, err := c.Request(context.Background(), id, []byte("x")); !errors.Is(err, ErrUnknownHandler) {
			t.Fatalf("handler %d: %v", id, err)
		}
	}
	if got := mustRequest(t, c, hEcho, []byte("ok")); string(got) != "ok" {
		t.Fatal("connection broken by bad requests")
	}
	for _, ps := range nodes[0].m.Stats() {
		if ps.Connects != 1 {
			t.Fatalf("connection was re-established %d times", ps.Connects)
		}
	}
}

func TestSignedHTTP(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{noStart: true})
	a, b := nodes[0], nodes[1]
	newReq := func() *http.Request {
		r, _ := http.NewRequest("GET", "http://"+b.addr+"/gridstore/storage/v1/read?vol=x&path=y&off=0&len=10", nil)
		return r
	}
	r := newReq()
	a.m.SignHTTP(r, b.addr)
	if peer, err := b.m.VerifyHTTP(r); err != nil || peer != a.addr {
		t.Fatalf("signed request refused: %v", err)
	}
	// Any change to the request invalidates it.
	r2 := newReq()
	a.m.SignHTTP(r2, b.addr)
	r2.URL.RawQuery = "vol=x&path=../../etc/passwd&off=0&len=10"
	if _, err := b.m.VerifyHTTP(r2); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("tampered request accepted: %v", err)
	}
	// Signed for another node.
	r3 := newReq()
	a.m.SignHTTP(r3, a.addr)
	if _, err := b.m.VerifyHTTP(r3); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("request signed for another node accepted: %v", err)
	}
	if _, err := b.m.VerifyHTTP(newReq()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("unsigned request accepted: %v", err)
	}
}
