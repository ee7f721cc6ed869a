package nslock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
)

// deadSet is a liveness view a test controls.
type deadSet struct {
	mu   sync.Mutex
	dead map[string]bool
}

func (d *deadSet) set(addr string, dead bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead[addr] = dead
}

func (d *deadSet) isDead(addr string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dead[addr]
}

// withLiveness gives every node of the cluster a new Locker that uses view.
func withLiveness(t testing.TB, nodes []*tnode, cfg Config, view *deadSet) {
	t.Helper()
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	for _, n := range nodes {
		lk, err := NewLocker(n.m, n.srv, addrs, cfg, WithLiveness(view.isDead))
		if err != nil {
			t.Fatal(err)
		}
		n.lk = lk
	}
}

// TestKnownDeadFailsAtOnce: with two of four lock servers held dead by the
// liveness view, a write lock fails at once with ErrQuorumUnavailable
// (before any call: the servers, alive in fact, grant nothing), while read
// locks are granted by the two others alone. Once the view sees them alive
// again, write locks work.
func TestKnownDeadFailsAtOnce(t *testing.T) {
	cfg := LocalConfig()
	nodes := newCluster(t, 4, cfg)
	view := &deadSet{dead: map[string]bool{}}
	withLiveness(t, nodes, cfg, view)
	view.set(nodes[2].addr, true)
	view.set(nodes[3].addr, true)

	ue := mustBeUnavailable(t, nodes[0].lk, true, "k")
	if ue.Reachable != 2 || ue.Quorum != 3 || len(ue.Dead) != 2 || ue.Last != nil {
		t.Fatalf("unavailable detail: %+v", ue)
	}
	for _, n := range nodes {
		if st := n.srv.Stats(); st.Granted != 0 || st.Refused != 0 {
			t.Fatalf("server %s was asked: %+v", n.addr, st)
		}
	}
	r := mustLock(t, nodes[1].lk, false, "k")
	for i, n := range nodes {
		_, readers := n.srv.holderOf("k")
		if want := i < 2; (len(readers) == 1) != want {
			t.Fatalf("server %d: readers %v; only the servers not known dead should grant", i, readers)
		}
	}
	r.Unlock()

	view.set(nodes[2].addr, false)
	mustLock(t, nodes[0].lk, true, "k").Unlock()
}

// TestUnreachableGivesUpQuickly: without a liveness view, two of four
// servers killed: a write lock gives up after UnreachableTimeout, not when
// its context ends, with the default timing as with the test timing. A
// write lock that is only contended still waits for its context.
func TestUnreachableGivesUpQuickly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"local", LocalConfig()}, {"default", DefaultConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := newCluster(t, 4, tc.cfg)
			held := mustLock(t, nodes[1].lk, true, "busy")
			defer held.Unlock()
			mustTimeOut(t, nodes[0].lk, true, "busy") // contention is not unreachability

			nodes[2].kill()
			nodes[3].kill()
			ue := mustBeUnavailable(t, nodes[0].lk, true, "k")
			if ue.Reachable != 2 || len(ue.Dead) != 0 || ue.Last == nil {
				t.Fatalf("unavailable detail: %+v", ue)
			}
			mustLock(t, nodes[0].lk, false, "k").Unlock()
		})
	}
}

// TestDeclaredDeadHolderLosesLock: memberlist declares a busy but live node
// dead (a false suspicion): every other server drops its grants (PeerDown,
// which the node wires to memberlist's deaths), so another node takes the
// lock at once, long before Validity. The holder, whose grid connections
// never dropped, finds out at its next Confirm (before a commit): the lock
// is reported lost, Lost fires and its WithContext is cancelled.
func TestDeclaredDeadHolderLosesLock(t *testing.T) {
	cfg := LocalConfig()
	// No periodic refresh during the test: the holder learns from Confirm.
	cfg.RefreshInterval, cfg.Validity, cfg.AttemptTimeout = 10*time.Second, 30*time.Second, 200*time.Millisecond
	nodes := newCluster(t, 4, cfg)
	held := mustLock(t, nodes[0].lk, true, "o")
	defer held.Unlock()
	wctx, cancel := held.WithContext(context.Background())
	defer cancel()

	for _, n := range nodes[1:] {
		n.srv.PeerDown(nodes[0].addr)
	}
	next := mustLock(t, nodes[1].lk, true, "o")
	defer next.Unlock()

	// Confirmed moments ago, the lock is trusted without a round trip: the
	// window Confirm leaves is AttemptTimeout.
	time.Sleep(cfg.AttemptTimeout)
	err := held.Confirm(context.Background())
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("Confirm after the holder was declared dead: %v, want ErrLockLost", err)
	}
	select {
	case <-held.Lost():
	default:
		t.Fatal("Lost not closed after Confirm found the lock lost")
	}
	<-wctx.Done()
	if !errors.Is(context.Cause(wctx), ErrLockLost) {
		t.Fatalf("WithContext cause: %v", context.Cause(wctx))
	}
	// The lost holder's release does not touch the new holder's grants.
	uid := next.args.UID
	for i, w := range writerOn(nodes, "o") {
		if w != uid && w != "" {
			t.Fatalf("server %d: writer %q, want the new holder %q", i, w, uid)
		}
	}
	if err := next.Confirm(context.Background()); err != nil {
		t.Fatalf("the new holder's Confirm: %v", err)
	}
}

// TestConfirmKeepsHeldLock: Confirm on a lock that a quorum still holds
// succeeds, with or without a round trip, and leaves it held.
func TestConfirmKeepsHeldLock(t *testing.T) {
	cfg := LocalConfig()
	nodes := newCluster(t, 4, cfg)
	held := mustLock(t, nodes[0].lk, true, "o")
	defer held.Unlock()
	if err := held.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	nodes[3].kill() // one vote fewer: still a quorum
	time.Sleep(cfg.AttemptTimeout)
	if err := held.Confirm(context.Background()); err != nil {
		t.Fatalf("Confirm with 3 of 4 servers holding: %v", err)
	}
	if held.Err() != nil {
		t.Fatal(held.Err())
	}
}

// TestPausedServerDeclaredDeadMidRound: one of four lock servers is paused
// (its connections stay open, nothing is answered, as under SIGSTOP) and
// another refuses (a grant held by someone else), so a write lock needs the
// paused server's grant. The liveness view declares the paused node dead
// while the round is waiting on it: the round gives up on it at once
// rather than at the end of AttemptTimeout, the release of the failed
// round does not wait for it either (it never answered), and once the
// other grant is gone the lock is had from the three live servers.
// AttemptTimeout is set far above what the lock should take, so a wait on
// the paused server is a failure, not a slow pass; the grid's PeerTimeout
// (10 s, the default) is longer still, so nothing but the view reports it.
func TestPausedServerDeclaredDeadMidRound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AttemptTimeout = 5 * time.Second
	cfg.RefreshInterval = 20 * time.Second
	cfg.Validity = time.Minute
	cfg.RetryMax = 100 * time.Millisecond
	nodes := newClusterGrid(t, 4, cfg, grid.DefaultConfig())
	view := &deadSet{dead: map[string]bool{}}
	withLiveness(t, nodes, cfg, view)

	// Someone else's grant on server 2 only.
	other := &LockArgs{UID: "other", Resources: []string{"k"}}
	if ok, err := nodes[2].srv.apply(context.Background(), opLock, "elsewhere", other); err != nil || !ok {
		t.Fatalf("grant on server 2: %v %v", ok, err)
	}
	nodes[3].freeze()
	t.Cleanup(nodes[3].thaw)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		lk  *Lock
		err error
	}
	got := make(chan result, 1)
	go func() {
		lk, err := nodes[0].lk.Lock(ctx, "k")
		got <- result{lk, err}
	}()
	// The first round is now waiting on server 3: 0 and 1 granted, 2
	// refused, and 3 could still make the quorum.
	waitFor(t, 10*time.Second, "servers 0 and 1 to grant", func() bool {
		return nodes[0].srv.Stats().Granted >= 1 && nodes[1].srv.Stats().Granted >= 1 && nodes[2].srv.Stats().Refused >= 1
	})
	declared := time.Now()
	view.set(nodes[3].addr, true)
	time.Sleep(100 * time.Millisecond)
	if ok, err := nodes[2].srv.apply(context.Background(), opUnlock, "elsewhere", other); err != nil || !ok {
		t.Fatalf("release on server 2: %v %v", ok, err)
	}
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("lock with three live servers: %v", r.err)
		}
		// Well under AttemptTimeout: waiting on the paused server for a
		// round or a release would take all of it.
		if took := time.Since(declared); took > cfg.AttemptTimeout/2 {
			t.Fatalf("lock took %v after the paused server was declared dead; AttemptTimeout is %v", took, cfg.AttemptTimeout)
		}
		r.lk.Unlock()
	case <-ctx.Done():
		t.Fatal("no lock within 30 s")
	}
}
