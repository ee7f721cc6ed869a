package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestGossipPort(t *testing.T) {
	for _, tc := range []struct{ node, gossip int }{
		{9000, 19000}, {1, 10001}, {55535, 65535}, {55536, 45536}, {65535, 55535},
	} {
		if got := GossipPort(tc.node); got != tc.gossip {
			t.Errorf("GossipPort(%d) = %d, want %d", tc.node, got, tc.gossip)
		}
	}
}

func TestGossipKey(t *testing.T) {
	a1, err := GossipKey([]byte("secret number one, long enough"))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := GossipKey([]byte("secret number one, long enough"))
	b, _ := GossipKey([]byte("secret number two, long enough"))
	if len(a1) != 32 {
		t.Fatalf("key is %d bytes, want 32 (AES-256)", len(a1))
	}
	if !bytes.Equal(a1, a2) {
		t.Error("the same secret gave two keys: nodes could not talk")
	}
	if bytes.Equal(a1, b) {
		t.Error("two secrets gave the same key")
	}
	if bytes.Contains(a1, []byte("secret")) {
		t.Error("the key contains the secret")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Self, ok.Peers, ok.Secret = "node1:9000", []string{"node1:9000", "node2:9000", "node2:9000"}, testSecret
	peers, err := ok.validate()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 2 || peers["node1:9000"] != "node1:19000" || peers["node2:9000"] != "node2:19000" {
		t.Errorf("peers = %v", peers)
	}
	// Self is added when the list leaves it out.
	noSelf := ok
	noSelf.Peers = []string{"node2:9000"}
	if peers, err := noSelf.validate(); err != nil || len(peers) != 2 {
		t.Errorf("without Self in Peers: %v, %v", peers, err)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no self", func(c *Config) { c.Self = "" }, "(Self) is empty"},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "at least 16 bytes"},
		{"no port", func(c *Config) { c.Peers = append(c.Peers, "node3") }, "node3"},
		{"bad port", func(c *Config) { c.Peers = append(c.Peers, "node3:70000") }, "1..65535"},
		{"bad bind", func(c *Config) { c.BindAddr = "eth0" }, "BindAddr"},
		{"probe timeout", func(c *Config) { c.ProbeTimeout = c.ProbeInterval }, "ProbeTimeout"},
		{"rejoin", func(c *Config) { c.RejoinMax = c.RejoinMin / 2 }, "RejoinMin"},
		{"buffer", func(c *Config) { c.EventBuffer = 0 }, "EventBuffer"},
		{"same gossip port", func(c *Config) {
			c.Port = 7946
			c.Peers = []string{"10.0.0.1:9000", "10.0.0.1:9001"}
			c.Self = "10.0.0.1:9000"
		}, "would both gossip on 10.0.0.1:7946"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Peers = append([]string(nil), ok.Peers...)
			tc.mutate(&c)
			_, err := c.validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrConfig mentioning %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), string(testSecret)) {
				t.Error("the error shows the secret")
			}
			if _, err := New(c, nil); !errors.Is(err, ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
}

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		lvl  zapcore.Level
		msg  string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1234\n", zapcore.DebugLevel, "Stream connection from=127.0.0.1:1234"},
		{"[INFO] memberlist: Suspect a has failed, no acks received\n", zapcore.InfoLevel, "Suspect a has failed, no acks received"},
		{"[WARN] memberlist: Refuting a suspect message (from: b)", zapcore.WarnLevel, "Refuting a suspect message (from: b)"},
		{"[ERR] memberlist: Failed fallback TCP ping: EOF\n", zapcore.ErrorLevel, "Failed fallback TCP ping: EOF"},
		{"[ERR] Failed to shutdown transport: x", zapcore.ErrorLevel, "Failed to shutdown transport: x"},
		{"[NOTE] memberlist: odd", zapcore.InfoLevel, "[NOTE] memberlist: odd"},
		{"no prefix at all", zapcore.InfoLevel, "no prefix at all"},
		{"", zapcore.InfoLevel, ""},
		{"[", zapcore.InfoLevel, "["},
	} {
		lvl, msg := parseLogLine(tc.line)
		if lvl != tc.lvl || msg != tc.msg {
			t.Errorf("parseLogLine(%q) = %v %q, want %v %q", tc.line, lvl, msg, tc.lvl, tc.msg)
		}
	}
}

func TestTransition(t *testing.T) {
	for _, tc := range []struct {
		from, to State
		kind     EventKind
		ok       bool
	}{
		{Unknown, Alive, Joined, true},
		{Dead, Alive, Returned, true},
		{Alive, Dead, Died, true},
		{Unknown, Dead, Died, true},
		{Alive, Alive, 0, false},
		{Dead, Dead, 0, false},
	} {
		kind, ok := transition(tc.from, tc.to)
		if kind != tc.kind || ok != tc.ok {
			t.Errorf("transition(%v, %v) = %v %v, want %v %v", tc.from, tc.to, kind, ok, tc.kind, tc.ok)
		}
	}
}

func TestResolveIP(t *testing.T) {
	if ip, err := resolveIP("10.1.2.3"); err != nil || ip != "10.1.2.3" {
		t.Errorf("resolveIP(10.1.2.3) = %q, %v", ip, err)
	}
	// localhost resolves to an IPv4 loopback where the system has one: the
	// preferred family.
	if ip, err := resolveIP("localhost"); err != nil || (ip != "127.0.0.1" && ip != "::1") {
		t.Errorf("resolveIP(localhost) = %q, %v", ip, err)
	}
	if _, err := resolveIP("no-such-host.invalid"); err == nil {
		t.Error("an unresolvable name resolved")
	}
}

// TestRepeatedErrorsLoggedOnce: memberlist fails every send to a cut-off
// peer, several times a second; the first failure of a kind is logged, the
// repeats within the window go to Debug, and the next one logged after it
// says how many were held back. Other kinds and Info lines are not held.
func TestRepeatedErrorsLoggedOnce(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	now := time.Unix(1000, 0)
	w := logWriter{z: zap.New(core), closing: new(atomic.Bool),
		repeats: newRepeatLimiter(repeatWindow, func() time.Time { return now })}
	write := func(line string) {
		if _, err := w.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		write(fmt.Sprintf("[ERR] memberlist: Failed to send UDP ping: write udp 127.0.0.1:24693->127.0.0.1:%d: sendto: operation not permitted", 22000+i%3))
		write("[INFO] memberlist: Suspect 127.0.0.1:12152 has failed, no acks received")
		now = now.Add(100 * time.Millisecond)
	}
	write("[ERR] memberlist: Failed to send gossip to 127.0.0.1:21616: write udp: sendto: operation not permitted")
	if got := logs.FilterLevelExact(zapcore.ErrorLevel).Len(); got != 2 {
		t.Fatalf("%d error lines logged, want 2 (one of each kind): %v", got, logs.All())
	}
	if got := logs.FilterLevelExact(zapcore.InfoLevel).Len(); got != 50 {
		t.Fatalf("%d info lines logged, want all 50", got)
	}
	now = now.Add(repeatWindow)
	write("[ERR] memberlist: Failed to send UDP ping: write udp 127.0.0.1:24693->127.0.0.1:22001: sendto: operation not permitted")
	last := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	if len(last) != 3 || last[2].ContextMap()["repeats_not_logged"] != int64(49) {
		t.Fatalf("after the window: %v", last)
	}
}
