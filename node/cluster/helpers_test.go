package cluster

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

var testSecret = []byte("gridstore-test-cluster-secret-0123456789")

// freeNames returns n node names 127.0.0.1:P whose derived gossip ports
// (P+10000) were free a moment ago on UDP and TCP. Nothing listens on P:
// in this package a node's own port is only a name.
func freeNames(t *testing.T, n int) []string {
	t.Helper()
	var names []string
	var hold []func()
	defer func() {
		for _, f := range hold {
			f()
		}
	}()
	for len(names) < n {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hold = append(hold, func() { _ = tl.Close() })
		g := tl.Addr().(*net.TCPAddr).Port
		if g <= 10000 || GossipPort(g-10000) != g {
			continue
		}
		ul, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(g))
		if err != nil {
			continue
		}
		hold = append(hold, func() { _ = ul.Close() })
		names = append(names, "127.0.0.1:"+strconv.Itoa(g-10000))
	}
	return names
}

// recorder keeps every event one node's subscription delivers.
type recorder struct {
	mu     sync.Mutex
	events []Event
	cancel func()
	done   chan struct{}
}

func record(c *Cluster) *recorder {
	ch, cancel := c.Subscribe()
	r := &recorder{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range ch {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	return r
}

// find returns the first event about node of that kind at or after from.
func (r *recorder) find(node string, kind EventKind, from time.Time) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Node == node && ev.Kind == kind && !ev.At.Before(from) {
			return ev, true
		}
	}
	return Event{}, false
}

// count returns how many events of kind the recorder saw (about any node
// when node is "").
func (r *recorder) count(node string, kind EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if (node == "" || ev.Node == node) && ev.Kind == kind {
			n++
		}
	}
	return n
}

// waitEvent waits up to bound for an event and returns it.
func (r *recorder) waitEvent(t *testing.T, node string, kind EventKind, from time.Time, bound time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		if ev, ok := r.find(node, kind, from); ok {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %v event for %s within %v", kind, node, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testNode is one Cluster of a test, with what it logged and its events.
type testNode struct {
	name string
	c    *Cluster
	rec  *recorder
	logs *observer.ObservedLogs
	// started is when the node was subscribed to, before the next node
	// of the test started.
	started time.Time
}

// harness starts nodes and stops whatever is still running at the end.
type harness struct {
	t     *testing.T
	names []string
	mu    sync.Mutex
	nodes map[string]*testNode
	logOn atomic.Bool
}

func newHarness(t *testing.T, n int) *harness {
	h := &harness{t: t, names: freeNames(t, n), nodes: map[string]*testNode{}}
	h.logOn.Store(true)
	t.Cleanup(func() { h.logOn.Store(false) }) // runs last: after the nodes are closed
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, tn := range h.nodes {
			h.stopNode(tn, true)
		}
	})
	return h
}

// testLogger writes warnings and errors to the test's log and keeps
// everything from Info up for the test to count. Lines that come after the
// test's cleanup (a memberlist timer firing late) are dropped, since
// testing.T must not be written to once a test has ended.
func testLogger(t *testing.T, name string, on *atomic.Bool) (*zap.Logger, *observer.ObservedLogs) {
	obs, logs := observer.New(zapcore.InfoLevel)
	g := &gatedCore{Core: zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core(), on: on}
	return zap.New(zapcore.NewTee(g, obs)).With(zap.String("node", name)), logs
}

// gatedCore writes to its Core only while on.
type gatedCore struct {
	zapcore.Core
	on *atomic.Bool
}

func (g *gatedCore) With(f []zapcore.Field) zapcore.Core {
	return &gatedCore{Core: g.Core.With(f), on: g.on}
}

func (g *gatedCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if g.Enabled(e.Level) {
		return ce.AddCore(e, g)
	}
	return ce
}

func (g *gatedCore) Write(e zapcore.Entry, f []zapcore.Field) error {
	if !g.on.Load() {
		return nil
	}
	return g.Core.Write(e, f)
}

// start starts the node called name with cfg (Self, Peers and, if unset,
// Secret filled in).
func (h *harness) start(name string, cfg Config) *testNode {
	h.t.Helper()
	cfg.Self, cfg.Peers = name, h.names
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	log, logs := testLogger(h.t, name, &h.logOn)
	c, err := New(cfg, log)
	if err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	tn := &testNode{name: name, c: c, rec: record(c), logs: logs, started: time.Now()}
	h.mu.Lock()
	h.nodes[name] = tn
	h.mu.Unlock()
	return tn
}

// stopNode closes tn gracefully (leave) or as a crash would (no leave).
func (h *harness) stopNode(tn *testNode, leave bool) {
	if err := tn.c.stop(leave); err != nil {
		h.t.Logf("stop %s: %v", tn.name, err)
	}
	tn.rec.cancel()
	<-tn.rec.done
}

func (h *harness) kill(tn *testNode) {
	h.mu.Lock()
	delete(h.nodes, tn.name)
	h.mu.Unlock()
	h.stopNode(tn, false)
}

// waitAllAlive waits until every node in nodes counts every other alive.
func waitAllAlive(t *testing.T, nodes []*testNode, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		missing := ""
		for _, a := range nodes {
			for _, b := range nodes {
				if !a.c.Alive(b.name) {
					missing = a.name + " does not see " + b.name + " (" + a.c.State(b.name).String() + ")"
				}
			}
		}
		if missing == "" {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("not all alive within %v: %s", bound, missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countLogs counts log lines containing substr, ignoring case.
func countLogs(logs *observer.ObservedLogs, substr string) int {
	n := 0
	for _, e := range logs.All() {
		if strings.Contains(strings.ToLower(e.Message), strings.ToLower(substr)) {
			n++
		}
	}
	return n
}

// dumpLogs writes every node's Info-and-up lines (memberlist's suspicions
// and failures included) to the test log, merged in time order.
func dumpLogs(t *testing.T, nodes []*testNode) {
	type line struct {
		at   time.Time
		text string
	}
	var all []line
	for _, n := range nodes {
		for _, e := range n.logs.All() {
			all = append(all, line{e.Time, fmt.Sprintf("%s %-5s %s %s %v", e.Time.Format("15:04:05.000"), e.Level, n.name, e.Message, e.ContextMap())})
		}
	}
	slices.SortFunc(all, func(a, b line) int { return a.at.Compare(b.at) })
	for _, l := range all {
		t.Log(l.text)
	}
}
