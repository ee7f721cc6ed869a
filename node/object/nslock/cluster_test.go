package nslock

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

var testSecret = []byte("0123456789abcdef-nslock-test-secret")

// tnode is one node of a test cluster: a grid Manager served over loopback
// HTTP, its lock server and its locker. Every TCP connection it makes or
// accepts is tracked, so a test can cut a pair of nodes apart or kill a node
// the way a crash does (sockets closed under a running process).
type tnode struct {
	addr string
	m    *grid.Manager
	srv  *Server
	lk   *Locker
	hs   *http.Server
	ln   net.Listener

	mu    sync.Mutex
	conns map[net.Conn]string // -> remote node address ("" for accepted ones)
	dead  atomic.Bool
	once  sync.Once
	// thawed is closed while the node runs; freeze replaces it with an
	// open channel, on which every read and write of its connections
	// waits, as they would in a SIGSTOPped process.
	thawed chan struct{}
}

// freeze stops the node the way SIGSTOP does: its connections stay open but
// it reads nothing more (bytes already received are held back) and writes
// nothing, so its peers' calls go unanswered without any error.
func (n *tnode) freeze() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.isThawed() {
		n.thawed = make(chan struct{})
	}
}

// thaw resumes a frozen node.
func (n *tnode) thaw() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.isThawed() {
		close(n.thawed)
	}
}

func (n *tnode) isThawed() bool {
	select {
	case <-n.thawed:
		return true
	default:
		return false
	}
}

func (n *tnode) gate() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.thawed
}

// freezableConn is one of a node's connections, stopped while it is frozen.
type freezableConn struct {
	net.Conn
	n *tnode
}

func (c freezableConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	<-c.n.gate()
	return k, err
}

func (c freezableConn) Write(p []byte) (int, error) {
	<-c.n.gate()
	return c.Conn.Write(p)
}

func (n *tnode) track(c net.Conn, remote string) {
	n.mu.Lock()
	n.conns[c] = remote
	n.mu.Unlock()
}

// trackingListener records accepted connections and refuses them once the
// node is dead.
type trackingListener struct {
	net.Listener
	n *tnode
}

func (l trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.n.dead.Load() {
			_ = c.Close()
			continue
		}
		l.n.track(c, "")
		return freezableConn{c, l.n}, nil
	}
}

// kill makes the node vanish as a crashed process does: its sockets close at
// once (peers see a reset or EOF, not an orderly grid close), then its
// Manager and HTTP server are shut down.
func (n *tnode) kill() {
	n.once.Do(func() {
		n.thaw() // so that no goroutine stays blocked on a frozen connection
		n.dead.Store(true)
		n.mu.Lock()
		for c := range n.conns {
			_ = c.Close()
		}
		n.mu.Unlock()
		_ = n.ln.Close()
		_ = n.m.Close()
		_ = n.hs.Close()
	})
}

// cut closes the TCP connection between a and b; the grid reconnects.
func cut(a, b *tnode) {
	for _, p := range [][2]*tnode{{a, b}, {b, a}} {
		p[0].mu.Lock()
		for c, remote := range p[0].conns {
			if remote == p[1].addr {
				_ = c.Close()
				delete(p[0].conns, c)
			}
		}
		p[0].mu.Unlock()
	}
}

// newCluster starts n nodes on loopback, waits until every pair is connected
// and gives each a Locker over all of them.
func newCluster(t testing.TB, n int, cfg Config) []*tnode {
	t.Helper()
	return newClusterGrid(t, n, cfg, grid.LocalConfig())
}

// newClusterGrid is newCluster with the given grid settings (Self, Peers,
// Secret, Logger, OnStateChange and NetDial are filled in).
func newClusterGrid(t testing.TB, n int, cfg Config, gridCfg grid.Config) []*tnode {
	t.Helper()
	addrs := make([]string, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i], addrs[i] = ln, ln.Addr().String()
	}
	var log *zap.Logger
	if tt, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(tt, zaptest.Level(zap.ErrorLevel))
	}
	cfg.Logger = log
	nodes := make([]*tnode, n)
	for i := range n {
		nd := &tnode{addr: addrs[i], conns: map[net.Conn]string{}, thawed: make(chan struct{})}
		close(nd.thawed)
		srv, err := NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		gc := gridCfg
		gc.Self, gc.Peers, gc.Secret, gc.Logger = addrs[i], addrs, testSecret, log
		gc.OnStateChange = srv.OnStateChange
		gc.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if nd.dead.Load() {
				return nil, errors.New("node is dead")
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			nd.track(c, addr)
			return freezableConn{c, nd}, nil
		}
		m, err := grid.NewManager(gc)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Register(m); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(gc.Path, m.Handler())
		nd.m, nd.srv, nd.ln = m, srv, trackingListener{Listener: lns[i], n: nd}
		nd.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = nd.hs.Serve(nd.ln) }()
		m.Start()
		t.Cleanup(nd.kill)
		nodes[i] = nd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, nd := range nodes {
		if err := nd.m.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range nodes {
		lk, err := NewLocker(nd.m, nd.srv, addrs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		nd.lk = lk
	}
	return nodes
}

// waitFor polls cond until it holds; the limit only catches a hang.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustLock(t testing.TB, l *Locker, write bool, res ...string) *Lock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lock := l.RLock
	if write {
		lock = l.Lock
	}
	lk, err := lock(ctx, res...)
	if err != nil {
		t.Fatalf("lock %v: %v", res, err)
	}
	return lk
}

// mustTimeOut checks that a lock cannot be had within a short wait.
func mustTimeOut(t testing.TB, l *Locker, write bool, res ...string) *TimeoutError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	lock := l.RLock
	if write {
		lock = l.Lock
	}
	lk, err := lock(ctx, res...)
	if err == nil {
		lk.Unlock()
		t.Fatalf("lock %v (write %v) acquired, want a timeout", res, write)
	}
	var te *TimeoutError
	if !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) {
		t.Fatalf("lock %v: %v, want a TimeoutError matching ErrLockTimeout and DeadlineExceeded", res, err)
	}
	return te
}

// holders reports, for every node's server, who holds res.
func writerOn(nodes []*tnode, res string) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i], _ = n.srv.holderOf(res)
	}
	return out
}

// TestMutualExclusion: goroutines on every node increment a shared counter
// under the write lock of one resource. The counter is read and written in
// two separate steps with a yield between, so without mutual exclusion
// updates get lost; the holders count must never exceed one. (Atomics, not
// plain variables: the race detector cannot see the happens-before edge a
// lock creates across the network.)
func TestMutualExclusion(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	const perNode, iters = 3, 6
	var counter, holding atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*perNode)
	for _, n := range nodes {
		for range perNode {
			wg.Go(func() {
				for range iters {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					lk, err := n.lk.Lock(ctx, "bucket/object")
					cancel()
					if err != nil {
						errs <- err
						return
					}
					if h := holding.Add(1); h != 1 {
						errs <- errors.New("two write holders at once")
					}
					v := counter.Load()
					time.Sleep(100 * time.Microsecond)
					counter.Store(v + 1)
					holding.Add(-1)
					lk.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, want := counter.Load(), int64(len(nodes)*perNode*iters); got != want {
		t.Fatalf("counter = %d, want %d: updates lost", got, want)
	}
}

// TestReadersAndWriters mixes readers and writers of one resource across the
// nodes: readers may overlap each other, never a writer.
func TestReadersAndWriters(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	var readers, writers, maxReaders atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i, n := range nodes {
		for g := range 3 {
			write := (i+g)%3 == 0
			wg.Go(func() {
				for range 5 {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					lock := n.lk.RLock
					if write {
						lock = n.lk.Lock
					}
					lk, err := lock(ctx, "shared")
					cancel()
					if err != nil {
						errs <- err
						return
					}
					if write {
						if w := writers.Add(1); w != 1 || readers.Load() != 0 {
							errs <- errors.New("writer not alone")
						}
						time.Sleep(200 * time.Microsecond)
						writers.Add(-1)
					} else {
						r := readers.Add(1)
						for m := maxReaders.Load(); r > m && !maxReaders.CompareAndSwap(m, r); m = maxReaders.Load() {
						}
						if writers.Load() != 0 {
							errs <- errors.New("reader alongside a writer")
						}
						time.Sleep(time.Millisecond)
						readers.Add(-1)
					}
					lk.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("at most %d readers at once", maxReaders.Load())
}

// TestReadersShareWriterWaits: two nodes read-lock the same resource at once;
// a writer cannot get in until both are gone, and then does.
func TestReadersShareWriterWaits(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	r1 := mustLock(t, nodes[0].lk, false, "b/o")
	r2 := mustLock(t, nodes[1].lk, false, "b/o")
	mustTimeOut(t, nodes[2].lk, true, "b/o")

	got := make(chan error, 1)
	var w *Lock
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var err error
		w, err = nodes[2].lk.Lock(ctx, "b/o")
		got <- err
	}()
	r1.Unlock()
	mustTimeOut(t, nodes[3].lk, true, "b/o") // one reader is still there
	r2.Unlock()
	if err := <-got; err != nil {
		t.Fatalf("writer after the readers left: %v", err)
	}
	mustTimeOut(t, nodes[0].lk, false, "b/o") // and now readers wait
	w.Unlock()
	mustLock(t, nodes[0].lk, false, "b/o").Unlock()
}

// TestQuorum: with one node of four down, both kinds of lock work (W=3,
// R=2); with two down, write locks cannot get a quorum but read locks can.
func TestQuorum(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	if w, r := nodes[0].lk.Quorums(); w != 3 || r != 2 {
		t.Fatalf("quorums of 4: W=%d R=%d", w, r)
	}
	nodes[3].kill()
	mustLock(t, nodes[0].lk, true, "q").Unlock()
	mustLock(t, nodes[1].lk, false, "q").Unlock()

	nodes[2].kill()
	ue := mustBeUnavailable(t, nodes[0].lk, true, "q")
	if ue.Reachable != 2 || ue.Quorum != 3 || ue.Nodes != 4 || !errors.Is(ue.Last, grid.ErrDisconnected) && !errors.Is(ue.Last, grid.ErrClosed) {
		t.Fatalf("unavailable detail: %+v", ue)
	}
	t.Logf("write lock with 2 of 4 down: %v", ue)
	r := mustLock(t, nodes[0].lk, false, "q")
	r2 := mustLock(t, nodes[1].lk, false, "q")
	r.Unlock()
	r2.Unlock()
}

// mustBeUnavailable checks that a lock fails with an *UnavailableError, and
// long before its 10 s context ends: the bound only catches a wait for the
// context.
func mustBeUnavailable(t testing.TB, l *Locker, write bool, res ...string) *UnavailableError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lock := l.RLock
	if write {
		lock = l.Lock
	}
	start := time.Now()
	lk, err := lock(ctx, res...)
	took := time.Since(start)
	if err == nil {
		lk.Unlock()
		t.Fatalf("lock %v (write %v) acquired, want ErrQuorumUnavailable", res, write)
	}
	var ue *UnavailableError
	if !errors.Is(err, ErrQuorumUnavailable) || errors.Is(err, ErrLockTimeout) || !errors.As(err, &ue) {
		t.Fatalf("lock %v: %v, want an UnavailableError (not a timeout)", res, err)
	}
	if took > 5*time.Second {
		t.Fatalf("lock %v failed after %v: it waited for its context", res, took)
	}
	t.Logf("lock %v (write %v) gave up after %v", res, write, took)
	return ue
}

// TestHolderKilled: the node holding a write lock crashes. With a Validity of
// 30 s, another node still gets the lock within a 10 s deadline: the servers
// released it when they saw the holder's connection go, not by expiry.
func TestHolderKilled(t *testing.T) {
	cfg := LocalConfig()
	cfg.RefreshInterval, cfg.Validity, cfg.AttemptTimeout = 10*time.Second, 30*time.Second, time.Second
	nodes := newCluster(t, 4, cfg)
	held := mustLock(t, nodes[0].lk, true, "b/o")
	defer held.Unlock() // stops the dead node's refresher

	nodes[0].kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lk, err := nodes[1].lk.Lock(ctx, "b/o")
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	lk.Unlock()
	var dropped uint64
	for _, n := range nodes[1:] {
		dropped += n.srv.Stats().DroppedByPeer
	}
	if dropped < 2 {
		t.Fatalf("%d grants dropped by peer loss, want at least 2 (a quorum of the survivors)", dropped)
	}
}

// TestRefreshExpiry: a holder that stops refreshing reports its lock lost
// (its own lease ends no later than the servers' validity); the servers
// expire it and another node takes it; the old holder's late Unlock does not
// release the new holder's grants.
func TestRefreshExpiry(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	old := mustLock(t, nodes[0].lk, true, "r")
	ctx, cancel := old.WithContext(context.Background())
	defer cancel()
	old.frozen.Store(true)

	select {
	case <-old.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost did not fire")
	}
	<-ctx.Done() // follows Lost asynchronously (context.AfterFunc)
	if !errors.Is(old.Err(), ErrLockLost) || !errors.Is(context.Cause(ctx), ErrLockLost) {
		t.Fatalf("Err = %v, context cause = %v; want ErrLockLost", old.Err(), context.Cause(ctx))
	}
	t.Logf("lost: %v", old.Err())

	next := mustLock(t, nodes[1].lk, true, "r")
	defer next.Unlock()
	old.Unlock() // stale: sends a release with the old UID
	uid := next.args.UID
	for i, w := range writerOn(nodes, "r") {
		if w != uid && w != "" {
			t.Fatalf("node %d: writer %q, want the new holder %q", i, w, uid)
		}
	}
	mustTimeOut(t, nodes[2].lk, true, "r")
	var expired uint64
	for _, n := range nodes {
		expired += n.srv.Stats().Expired
	}
	if expired < 3 {
		t.Fatalf("%d grants expired, want at least a write quorum", expired)
	}
	select {
	case <-next.Lost():
		t.Fatalf("new holder lost its lock: %v", next.Err())
	default:
	}
}

// TestForceUnlockLosesLock: ForceUnlock drops a lock on every server; the
// holder's next refresh finds it gone and reports it lost.
func TestForceUnlockLosesLock(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	held := mustLock(t, nodes[0].lk, true, "r")
	defer held.Unlock()
	ctx, cancel := held.WithContext(context.Background())
	defer cancel()
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	if err := nodes[1].lk.ForceUnlock(fctx, "r"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("lock context not cancelled after ForceUnlock")
	}
	if !errors.Is(context.Cause(ctx), ErrLockLost) {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
	mustLock(t, nodes[2].lk, true, "r").Unlock()

	// Unlock ends a WithContext context with ErrLockReleased.
	lk := mustLock(t, nodes[3].lk, false, "r")
	ctx2, cancel2 := lk.WithContext(context.Background())
	defer cancel2()
	lk.Unlock()
	<-ctx2.Done()
	if !errors.Is(context.Cause(ctx2), ErrLockReleased) || lk.Err() != nil {
		t.Fatalf("after Unlock: cause %v, Err %v", context.Cause(ctx2), lk.Err())
	}
}

// TestBriefDisconnect: a live holder's connection to one server drops; that
// server drops its grant. The holder re-checks at once, still has 3 of 4 and
// keeps the lock. When a second server drops it, the holder is down to 2 of 4,
// below quorum, and reports the lock lost instead of carrying on.
func TestBriefDisconnect(t *testing.T) {
	cfg := LocalConfig()
	// Slow periodic refresh, so the re-checks seen here are the ones the
	// disconnects trigger; a longer attempt timeout gives all four servers
	// time to grant under the race detector.
	cfg.RefreshInterval, cfg.Validity, cfg.AttemptTimeout = 2*time.Second, 20*time.Second, time.Second
	nodes := newCluster(t, 4, cfg)
	held := mustLock(t, nodes[0].lk, true, "r")
	defer held.Unlock()
	uid := held.args.UID
	for i, w := range writerOn(nodes, "r") {
		if w != uid {
			t.Skipf("node %d did not grant within the grace period (writer %q); nothing to test", i, w)
		}
	}

	before := held.rounds.Load()
	cut(nodes[0], nodes[1])
	waitFor(t, 10*time.Second, "node 1 to drop the grant", func() bool { w, _ := nodes[1].srv.holderOf("r"); return w == "" })
	waitFor(t, 10*time.Second, "a refresh after the disconnect", func() bool { return held.rounds.Load() > before })
	select {
	case <-held.Lost():
		t.Fatalf("lock lost with 3 of 4 grants: %v", held.Err())
	default:
	}
	mustTimeOut(t, nodes[1].lk, true, "r") // node 1 is free, but the others are not

	cut(nodes[0], nodes[2])
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("lock not reported lost with 2 of 4 grants")
	}
	t.Logf("lost: %v", held.Err())
	mustLock(t, nodes[3].lk, true, "r").Unlock()
}

// TestCancelWhileWaiting: cancelling the context of a Lock that waits for a
// held resource returns at once with ErrLockTimeout and context.Canceled.
func TestCancelWhileWaiting(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	held := mustLock(t, nodes[0].lk, true, "r")
	defer held.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		lk, err := nodes[1].lk.Lock(ctx, "r")
		if err == nil {
			lk.Unlock()
		}
		got <- err
	}()
	waitFor(t, 10*time.Second, "the waiter to be refused", func() bool { return nodes[2].srv.Stats().Refused >= 2 })
	cancel()
	select {
	case err := <-got:
		if !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want ErrLockTimeout and context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after its context was cancelled")
	}
	// And a context that is already done fails at once.
	if _, err := nodes[1].lk.RLock(ctx, "other"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("lock with a done context: %v", err)
	}
}

// TestMultiResource: several resources are locked all or nothing, and
// overlapping sets taken in opposite orders do not deadlock.
func TestMultiResource(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	b := mustLock(t, nodes[0].lk, true, "b")
	mustTimeOut(t, nodes[1].lk, true, "a", "b")
	mustTimeOut(t, nodes[1].lk, false, "b", "a")
	a := mustLock(t, nodes[2].lk, true, "a") // the failed attempts left nothing on a
	a.Unlock()
	b.Unlock()

	lk := mustLock(t, nodes[1].lk, true, "y", "x", "y")
	if got := lk.Resources(); len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Fatalf("Resources() = %v", got)
	}
	lk.Unlock()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			res := []string{"p", "q"}
			if i%2 == 1 {
				res = []string{"q", "p"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			lk, err := nodes[i%4].lk.Lock(ctx, res...)
			if err != nil {
				errs <- err
				return
			}
			lk.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := nodes[0].lk.Lock(context.Background()); !errors.Is(err, ErrNoResources) {
		t.Fatalf("Lock() without resources: %v", err)
	}
	if _, err := nodes[0].lk.Lock(context.Background(), "a", ""); !errors.Is(err, ErrNoResources) {
		t.Fatalf("Lock with an empty name: %v", err)
	}
}

// TestClusterSizes runs the basic exclusion rules on 1, 2, 3 and 5 nodes.
func TestClusterSizes(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		nodes := newCluster(t, n, LocalConfig())
		last := nodes[n-1].lk
		w := mustLock(t, nodes[0].lk, true, "s")
		mustTimeOut(t, last, true, "s")
		mustTimeOut(t, last, false, "s")
		w.Unlock()
		r1 := mustLock(t, nodes[0].lk, false, "s")
		r2 := mustLock(t, last, false, "s")
		mustTimeOut(t, last, true, "s")
		r1.Unlock()
		r2.Unlock()
		mustLock(t, last, true, "s").Unlock()
		for _, nd := range nodes {
			nd.kill()
		}
	}
}

func TestNewLockerValidation(t *testing.T) {
	nodes := newCluster(t, 2, LocalConfig())
	m, srv := nodes[0].m, nodes[0].srv
	self, peer := nodes[0].addr, nodes[1].addr
	cfg := LocalConfig()
	for _, c := range []struct {
		name  string
		local *Server
		nodes []string
	}{
		{"no nodes", srv, nil},
		{"duplicate", srv, []string{self, peer, peer}},
		{"unknown peer", srv, []string{self, "127.0.0.1:1"}},
		{"self without a local server", nil, []string{self, peer}},
	} {
		if _, err := NewLocker(m, c.local, c.nodes, cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// A locker need not include its own node.
	if _, err := NewLocker(m, nil, []string{peer}, cfg); err != nil {
		t.Fatal(err)
	}
}

// TestReadLockAsksItsQuorumFirst: a read lock is asked of a read quorum of
// servers (this node's own and the others in turn), not of every one, and
// still keeps every writer out.
func TestReadLockAsksItsQuorumFirst(t *testing.T) {
	nodes := newCluster(t, 4, LocalConfig())
	_, rq := nodes[0].lk.Quorums()
	granted := func() []uint64 {
		out := make([]uint64, len(nodes))
		for i, n := range nodes {
			out[i] = n.srv.Stats().Granted
		}
		return out
	}
	before := granted()
	const locks = 6
	for range locks {
		mustLock(t, nodes[0].lk, false, "b/o").Unlock()
	}
	after := granted()
	total := uint64(0)
	for i := range nodes {
		d := after[i] - before[i]
		total += d
		switch {
		case i == 0 && d != locks:
			t.Errorf("the locking node's own server granted %d of %d read locks", d, locks)
		case i > 0 && d != locks*uint64(rq-1)/3:
			t.Errorf("server %d granted %d of %d read locks, want its turn's %d", i, d, locks, locks*uint64(rq-1)/3)
		}
	}
	if total != locks*uint64(rq) {
		t.Errorf("%d grants for %d read locks, want %d (the read quorum each)", total, locks, locks*uint64(rq))
	}

	r := mustLock(t, nodes[0].lk, false, "b/o")
	for _, n := range nodes[1:] {
		mustTimeOut(t, n.lk, true, "b/o")
	}
	r.Unlock()
	mustLock(t, nodes[1].lk, true, "b/o").Unlock()
}
