package cluster

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Generous bounds: the machine is shared and small, so a bound only says
// "it happened"; the measured figures are logged.
const (
	detectBound = 10 * time.Second
	returnBound = 30 * time.Second
	joinBound   = 20 * time.Second
)

// startAll starts every node of h with cfg, in a random order with random
// pauses, and waits until they all count each other alive.
func startAll(t *testing.T, h *harness, cfg Config) []*testNode {
	t.Helper()
	nodes := make([]*testNode, len(h.names))
	for _, i := range rand.Perm(len(h.names)) {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		nodes[i] = h.start(h.names[i], cfg)
	}
	took := waitAllAlive(t, nodes, joinBound)
	t.Logf("all %d nodes alive to each other %v after the last start", len(nodes), took.Round(time.Millisecond))
	return nodes
}

// others returns nodes without skip.
func others(nodes []*testNode, skip *testNode) []*testNode {
	var out []*testNode
	for _, n := range nodes {
		if n != skip {
			out = append(out, n)
		}
	}
	return out
}

// waitDied waits for every observer to report victim dead and returns how
// long after t0 each did.
func waitDied(t *testing.T, observers []*testNode, victim string, t0 time.Time) []time.Duration {
	t.Helper()
	var took []time.Duration
	for _, o := range observers {
		ev := o.rec.waitEvent(t, victim, Died, t0, detectBound)
		took = append(took, ev.At.Sub(t0).Round(time.Millisecond))
		if o.c.Alive(victim) || !o.c.Dead(victim) || o.c.State(victim) != Dead {
			t.Errorf("%s: after Died, %s is %v", o.name, victim, o.c.State(victim))
		}
	}
	return took
}

func TestStartInAnyOrderAndLeave(t *testing.T) {
	h := newHarness(t, 4)
	nodes := startAll(t, h, TestConfig())
	for _, a := range nodes {
		for _, b := range others(nodes, a) {
			if a.c.Dead(b.name) || a.rec.count(b.name, Died) != 0 {
				t.Errorf("%s: %s died during start-up", a.name, b.name)
			}
		}
		ms := a.c.Members()
		if len(ms) != 4 {
			t.Fatalf("%s: %d members, want 4", a.name, len(ms))
		}
		for _, m := range ms {
			if m.State != Alive || m.Self != (m.Name == a.name) || m.Addr == "" || m.Since.IsZero() {
				t.Errorf("%s: member %+v", a.name, m)
			}
		}
	}
	// Joined arrives for every peer started after the node subscribed
	// (events from before Subscribe are not replayed).
	for _, a := range nodes {
		for _, b := range others(nodes, a) {
			if b.started.Before(a.started) {
				continue
			}
			// The state is set before the recorder drains its channel.
			a.rec.waitEvent(t, b.name, Joined, time.Time{}, detectBound)
		}
	}

	// A graceful leave is seen at once, without waiting for a suspicion.
	leaver := nodes[0]
	t0 := time.Now()
	h.mu.Lock()
	delete(h.nodes, leaver.name)
	h.mu.Unlock()
	h.stopNode(leaver, true)
	took := waitDied(t, others(nodes, leaver), leaver.name, t0)
	t.Logf("leave: seen by the others after %v (TestConfig)", took)
}

// TestKillAndRestart runs on DefaultConfig: its figures are the ones in
// docs/benchmarks.md.
func TestKillAndRestart(t *testing.T) {
	h := newHarness(t, 4)
	nodes := startAll(t, h, DefaultConfig())
	victim := nodes[1]
	rest := others(nodes, victim)

	t0 := time.Now()
	h.kill(victim) // shut down without leaving: a crash
	took := waitDied(t, rest, victim.name, t0)
	t.Logf("detection (kill, DefaultConfig): %v", took)

	t1 := time.Now()
	back := h.start(victim.name, DefaultConfig())
	for _, o := range rest {
		ev := o.rec.waitEvent(t, victim.name, Returned, t1, returnBound)
		t.Logf("%s saw %s return %v after the restart", o.name, victim.name, ev.At.Sub(t1).Round(time.Millisecond))
		if !o.c.Alive(victim.name) {
			t.Errorf("%s: %s returned but is %v", o.name, victim.name, o.c.State(victim.name))
		}
	}
	waitAllAlive(t, append(rest, back), joinBound)
	// The restarted node met the others afresh (its Joined events may
	// predate its subscription, so they are not checked) and never
	// counted them dead.
	for _, o := range rest {
		if n := back.rec.count(o.name, Returned) + back.rec.count(o.name, Died); n != 0 {
			t.Errorf("restarted node: %d Died/Returned events for %s", n, o.name)
		}
	}
}

// TestPausedNode cuts one node off the network (a SIGSTOP or a partition:
// it neither sends nor receives, its TCP connects hang), on DefaultConfig.
func TestPausedNode(t *testing.T) {
	fn := newFakeNet()
	cfg := DefaultConfig()
	cfg.wrapTransport = fn.wrap
	h := newHarness(t, 4)
	nodes := startAll(t, h, cfg)
	victim := nodes[2]
	rest := others(nodes, victim)

	t0 := time.Now()
	fn.setCut(victim.c.peers[victim.name], true)
	took := waitDied(t, rest, victim.name, t0)
	t.Logf("detection (pause, DefaultConfig): %v", took)
	// Cut off, the paused node sees everyone else die: its view is its own
	// business until it is back.
	for _, o := range rest {
		victim.rec.waitEvent(t, o.name, Died, t0, detectBound)
	}

	t1 := time.Now()
	fn.setCut(victim.c.peers[victim.name], false)
	for _, o := range rest {
		ev := o.rec.waitEvent(t, victim.name, Returned, t1, returnBound)
		t.Logf("%s saw %s return %v after the unpause", o.name, victim.name, ev.At.Sub(t1).Round(time.Millisecond))
		victim.rec.waitEvent(t, o.name, Returned, t1, returnBound)
	}
	waitAllAlive(t, nodes, joinBound)
}

// TestBusyNodeStaysAlive holds up one node's traffic the way a busy node's
// answers are held up, on DefaultConfig, and checks that nobody is declared
// dead. A node whose goroutines are all busy still answers memberlist's UDP
// probes from memberlist's own goroutines; what delays them in practice is
// CPU starvation, cgroup throttling, steal or a long GC: late answers, or
// stalls of a few hundred milliseconds.
func TestBusyNodeStaysAlive(t *testing.T) {
	const watch = 8 * time.Second
	for _, tc := range []struct {
		name  string
		delay func(start time.Time) func(time.Time) time.Duration
	}{
		{
			// Every packet and connection to or from the node 150 ms
			// late: a round trip of 300 ms, longer than ProbeInterval,
			// so every probe of it fails and it must refute.
			name: "slow answers",
			delay: func(time.Time) func(time.Time) time.Duration {
				return func(time.Time) time.Duration { return 150 * time.Millisecond }
			},
		},
		{
			// Stalled for 500 ms every 1.5 s: what arrives or leaves
			// during a stall waits for its end.
			name: "stalls",
			delay: func(start time.Time) func(time.Time) time.Duration {
				const period, stall = 1500 * time.Millisecond, 500 * time.Millisecond
				return func(now time.Time) time.Duration {
					in := now.Sub(start) % period
					if in < stall {
						return stall - in
					}
					return 0
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := newFakeNet()
			cfg := DefaultConfig()
			cfg.wrapTransport = fn.wrap
			h := newHarness(t, 4)
			nodes := startAll(t, h, cfg)
			busy := nodes[3]
			fn.setDelay(busy.c.peers[busy.name], tc.delay(time.Now()))
			time.Sleep(watch)
			fn.setDelay(busy.c.peers[busy.name], nil)

			suspected, refuted, busyWrong := 0, 0, 0
			for _, n := range nodes {
				suspected += countLogs(n.logs, "Suspect "+busy.name+" has failed")
				refuted += countLogs(n.logs, "Refuting a suspect message")
				for _, m := range others(nodes, n) {
					d := n.rec.count(m.name, Died)
					switch {
					case d == 0:
					case n == busy:
						// The busy node's own view: it cannot hear a
						// peer's refutation while it is stalled, and in
						// about one run in twenty (with -race, on a
						// loaded machine) it once counted a healthy
						// peer dead for a moment. Its peers' view is
						// what the promise is about.
						busyWrong += d
					default:
						t.Errorf("%s declared %s dead %d times", n.name, m.name, d)
					}
				}
			}
			if t.Failed() || busyWrong > 0 {
				dumpLogs(t, nodes)
			}
			// Not asserted: they show Lifeguard at work (or not needed).
			t.Logf("%s for %v: the busy node was suspected %d times and refuted %d suspicions; "+
				"nobody declared it dead; it declared a healthy peer dead %d times",
				tc.name, watch, suspected, refuted, busyWrong)
		})
	}
}

// TestWrongSecret: a node started with another cluster secret cannot join,
// and the others never count it alive.
func TestWrongSecret(t *testing.T) {
	h := newHarness(t, 4)
	cfg := TestConfig()
	cfg.StartupGrace = 0 // keep the stranger Unknown: never heard of
	var good []*testNode
	for _, name := range h.names[:3] {
		good = append(good, h.start(name, cfg))
	}
	bad := cfg
	bad.Secret = []byte("another-cluster-secret-entirely-0123456789")
	foreign := h.start(h.names[3], bad)
	waitAllAlive(t, good, joinBound)
	// Several join attempts of the foreign node in both directions
	// (RejoinMin 100 ms, RejoinMax 1 s).
	time.Sleep(3 * time.Second)

	for _, m := range foreign.c.Members() {
		if m.Self != (m.State == Alive) {
			t.Errorf("foreign node: member %s is %v", m.Name, m.State)
		}
	}
	undecrypted := 0
	for _, g := range good {
		if st := g.c.State(foreign.name); st != Unknown {
			t.Errorf("%s: the foreign node is %v, want unknown", g.name, st)
		}
		if n := g.rec.count(foreign.name, Joined) + g.rec.count(foreign.name, Returned); n != 0 {
			t.Errorf("%s: %d join events for the foreign node", g.name, n)
		}
		undecrypted += countLogs(g.logs, "no installed keys could decrypt")
	}
	t.Logf("the good nodes logged %d messages they could not decrypt", undecrypted)
}

// TestNotInList: a node with the secret but not in the others' endpoint
// list is refused by them.
func TestNotInList(t *testing.T) {
	h := newHarness(t, 3)
	cfg := TestConfig()
	a := h.start(h.names[0], cfg)
	b := h.start(h.names[1], cfg)
	waitAllAlive(t, []*testNode{a, b}, joinBound)

	// The stranger knows a and b; a and b do not know it.
	stranger := freeNames(t, 1)[0]
	sc := cfg
	sc.Self, sc.Peers, sc.Secret = stranger, h.names[:2], testSecret
	log, _ := testLogger(t, stranger, &h.logOn)
	c, err := New(sc, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	time.Sleep(2 * time.Second)
	for _, n := range []*testNode{a, b} {
		for _, m := range n.c.Members() {
			if m.Name == stranger {
				t.Errorf("%s lists the stranger", n.name)
			}
		}
		if countLogs(n.logs, "not in the endpoint list") == 0 {
			t.Errorf("%s did not log the refusal", n.name)
		}
	}
}

// TestStartupGrace: a peer never heard of is Unknown (not dead) until the
// grace runs out, then Dead; when it finally starts it Returns, since the
// others may have skipped its drives.
func TestStartupGrace(t *testing.T) {
	h := newHarness(t, 3)
	cfg := TestConfig()
	cfg.StartupGrace = time.Second
	late := h.names[2]
	t0 := time.Now()
	a := h.start(h.names[0], cfg)
	b := h.start(h.names[1], cfg)
	for _, n := range []*testNode{a, b} {
		if st := n.c.State(late); st != Unknown && time.Since(t0) < cfg.StartupGrace {
			t.Errorf("%s: a peer not started yet is %v, want unknown", n.name, st)
		}
		if n.c.Dead(late) && time.Since(t0) < cfg.StartupGrace {
			t.Errorf("%s: a peer not started yet counts as dead", n.name)
		}
	}
	waitAllAlive(t, []*testNode{a, b}, joinBound)
	for _, n := range []*testNode{a, b} {
		ev := n.rec.waitEvent(t, late, Died, t0, detectBound)
		if d := ev.At.Sub(t0); d < cfg.StartupGrace {
			t.Errorf("%s: declared dead %v after start, before the grace", n.name, d)
		}
	}
	t1 := time.Now()
	c := h.start(late, cfg)
	for _, n := range []*testNode{a, b} {
		n.rec.waitEvent(t, late, Returned, t1, returnBound)
	}
	// The late node's own Joined events may predate its subscription.
	waitAllAlive(t, []*testNode{a, b, c}, joinBound)
}

// TestStuckSubscriber: a subscriber that never reads loses events but
// holds up neither liveness nor the other subscribers.
func TestStuckSubscriber(t *testing.T) {
	h := newHarness(t, 3)
	cfg := TestConfig()
	cfg.EventBuffer = 1
	nodes := startAll(t, h, cfg)
	watcher := nodes[0]
	stuck, cancel := watcher.c.Subscribe() // never read
	defer cancel()

	// The watcher's recorder has a buffer of 1 as well and may lose
	// events under load: watch the state itself.
	waitState := func(name string, want State) time.Duration {
		t.Helper()
		t0 := time.Now()
		for watcher.c.State(name) != want {
			if time.Since(t0) > returnBound {
				t.Fatalf("%s is still %v, want %v", name, watcher.c.State(name), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(t0)
	}
	victim := nodes[2]
	h.kill(victim)
	waitState(victim.name, Dead)
	h.start(victim.name, cfg)
	waitState(victim.name, Alive)

	if watcher.c.DroppedEvents() == 0 {
		t.Error("no event counted as dropped")
	}
	if ev := <-stuck; ev.Node != victim.name || ev.Kind != Died {
		t.Errorf("the stuck subscriber kept %+v, want the first event after it subscribed", ev)
	}
	cancel()
	if _, ok := <-stuck; ok {
		t.Error("the channel is still open after cancel")
	}
	t.Logf("%d events dropped", watcher.c.DroppedEvents())
}
