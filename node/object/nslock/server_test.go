package nslock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
)

// fakeClock is a settable clock for the server's expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T) (*Server, *fakeClock) {
	t.Helper()
	s, err := NewServer(LocalConfig())
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s.now = clk.now
	return s, clk
}

// do applies one op as owner with a live context and fails the test on error.
func do(t *testing.T, s *Server, o op, owner, uid string, res ...string) bool {
	t.Helper()
	ok, err := s.apply(context.Background(), o, owner, &LockArgs{UID: uid, Resources: res})
	if err != nil {
		t.Fatalf("%v %s %v: %v", o, uid, res, err)
	}
	return ok
}

func expect(t *testing.T, what string, got, want bool) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestServerWriteExcludes(t *testing.T) {
	s, _ := newTestServer(t)
	expect(t, "first writer", do(t, s, opLock, "n1", "u1", "b/o"), true)
	expect(t, "same UID again (retry)", do(t, s, opLock, "n1", "u1", "b/o"), true)
	expect(t, "second writer", do(t, s, opLock, "n2", "u2", "b/o"), false)
	expect(t, "reader while written", do(t, s, opRLock, "n2", "u3", "b/o"), false)
	expect(t, "other resource", do(t, s, opLock, "n2", "u2", "b/p"), true)
	expect(t, "unlock by another UID", do(t, s, opUnlock, "n2", "u2", "b/o"), false)
	expect(t, "still held", do(t, s, opLock, "n2", "u4", "b/o"), false)
	expect(t, "unlock by holder", do(t, s, opUnlock, "n1", "u1", "b/o"), true)
	expect(t, "free again", do(t, s, opLock, "n2", "u4", "b/o"), true)
	st := s.Stats()
	if st.Held != 2 || st.Writers != 2 || st.Readers != 0 || st.Released != 1 || st.Refused != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerReadersShare(t *testing.T) {
	s, _ := newTestServer(t)
	expect(t, "reader 1", do(t, s, opRLock, "n1", "r1", "x"), true)
	expect(t, "reader 2", do(t, s, opRLock, "n2", "r2", "x"), true)
	expect(t, "writer while read", do(t, s, opLock, "n3", "w", "x"), false)
	expect(t, "write-unlock of a read grant", do(t, s, opUnlock, "n1", "r1", "x"), false)
	expect(t, "runlock 1", do(t, s, opRUnlock, "n1", "r1", "x"), true)
	expect(t, "writer while one reader left", do(t, s, opLock, "n3", "w", "x"), false)
	expect(t, "runlock 2", do(t, s, opRUnlock, "n2", "r2", "x"), true)
	expect(t, "writer once readers gone", do(t, s, opLock, "n3", "w", "x"), true)
	if st := s.Stats(); st.Held != 1 || st.Writers != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerAllOrNothing(t *testing.T) {
	s, _ := newTestServer(t)
	expect(t, "hold b", do(t, s, opLock, "n1", "u1", "b"), true)
	expect(t, "a+b+c", do(t, s, opLock, "n2", "u2", "a", "b", "c"), false)
	if w, r := s.holderOf("a"); w != "" || r != nil {
		t.Fatalf("a partly granted: writer %q readers %v", w, r)
	}
	expect(t, "a+c", do(t, s, opLock, "n2", "u2", "a", "c"), true)
	expect(t, "refresh a+c", do(t, s, opRefresh, "n2", "u2", "a", "c"), true)
	expect(t, "refresh a+b (b not ours)", do(t, s, opRefresh, "n2", "u2", "a", "b"), false)
}

func TestServerExpiry(t *testing.T) {
	s, clk := newTestServer(t)
	v := LocalConfig().Validity
	expect(t, "lock", do(t, s, opLock, "n1", "old", "r"), true)
	clk.advance(v * 2 / 3)
	expect(t, "refresh in time", do(t, s, opRefresh, "n1", "old", "r"), true)
	clk.advance(v * 2 / 3) // past the first grant's validity, within the refresh's
	expect(t, "refreshed grant still excludes", do(t, s, opLock, "n2", "new", "r"), false)
	clk.advance(v) // now past the refresh's validity as well
	expect(t, "late refresh", do(t, s, opRefresh, "n1", "old", "r"), false)
	expect(t, "someone else after expiry", do(t, s, opLock, "n2", "new", "r"), true)
	expect(t, "stale unlock", do(t, s, opUnlock, "n1", "old", "r"), false)
	if w, _ := s.holderOf("r"); w != "new" {
		t.Fatalf("holder after stale unlock = %q, want new", w)
	}
	// An expired grant nobody touches again is swept by Stats.
	expect(t, "other", do(t, s, opRLock, "n1", "r1", "other"), true)
	clk.advance(2 * v)
	st := s.Stats()
	if st.Held != 0 || st.Expired != 3 {
		t.Fatalf("stats %+v, want nothing held and 3 expired", st)
	}
}

func TestServerPeerDown(t *testing.T) {
	s, _ := newTestServer(t)
	sig := s.downSignal()
	do(t, s, opLock, "a", "ua", "w")
	do(t, s, opRLock, "a", "ra", "r")
	do(t, s, opRLock, "b", "rb", "r")
	do(t, s, opLock, "b", "ub", "w2")
	s.OnStateChange("a", grid.StateConnected) // not a loss
	if n := s.Stats().Writers + s.Stats().Readers; n != 4 {
		t.Fatalf("%d grants after a connect event, want 4", n)
	}
	select {
	case <-sig:
		t.Fatal("down signal on a connect event")
	default:
	}
	s.OnStateChange("a", grid.StateDisconnected)
	select {
	case <-sig:
	default:
		t.Fatal("down signal not raised")
	}
	if w, _ := s.holderOf("w"); w != "" {
		t.Fatalf("a's write grant survived: %q", w)
	}
	if _, r := s.holderOf("r"); len(r) != 1 || r[0] != "rb" {
		t.Fatalf("readers of r = %v, want [rb]", r)
	}
	st := s.Stats()
	if st.DroppedByPeer != 2 || st.Held != 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := s.PeerDown("nobody"); n != 0 {
		t.Fatalf("PeerDown(nobody) dropped %d", n)
	}
}

// A grant whose caller gave up (or whose connection died) while it was being
// served is taken back, not left to block others until it expires.
func TestServerCancelledGrantTakenBack(t *testing.T) {
	s, _ := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, err := s.apply(ctx, opLock, "n1", &LockArgs{UID: "u", Resources: []string{"r"}})
	if err != nil || ok {
		t.Fatalf("cancelled lock: ok=%v err=%v", ok, err)
	}
	if st := s.Stats(); st.Held != 0 || st.Granted != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerForceUnlock(t *testing.T) {
	s, _ := newTestServer(t)
	do(t, s, opRLock, "a", "r1", "x")
	do(t, s, opRLock, "b", "r2", "x")
	do(t, s, opLock, "a", "w", "y")
	if n := s.ForceUnlock("x", "z"); n != 2 {
		t.Fatalf("ForceUnlock dropped %d, want 2", n)
	}
	expect(t, "force over the grid op", do(t, s, opForceUnlock, "b", "", "y"), true)
	if st := s.Stats(); st.Held != 0 || st.Forced != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerBadRequest(t *testing.T) {
	s, _ := newTestServer(t)
	for _, a := range []*LockArgs{{UID: "", Resources: []string{"r"}}, {UID: "u"}} {
		if _, err := s.apply(context.Background(), opLock, "n", a); !errors.Is(err, grid.ErrBadRequest) {
			t.Fatalf("apply(%+v) = %v, want ErrBadRequest", a, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), LocalConfig()} {
		if err := c.validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := LocalConfig()
	bad.Validity = bad.RefreshInterval
	if _, err := NewServer(bad); err == nil {
		t.Fatal("Validity == RefreshInterval accepted")
	}
	bad = LocalConfig()
	bad.AttemptTimeout = bad.RefreshInterval
	if _, err := NewServer(bad); err == nil {
		t.Fatal("AttemptTimeout == RefreshInterval accepted")
	}
}

func TestArgsReset(t *testing.T) {
	a := &LockArgs{UID: "u", Resources: []string{"a", "b"}}
	a.Reset()
	if a.UID != "" || len(a.Resources) != 0 || cap(a.Resources) != 2 {
		t.Fatalf("after Reset: %+v cap %d", a, cap(a.Resources))
	}
	var _ grid.Resetter = a
}
