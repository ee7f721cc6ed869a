package nslock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/grid"
	"go.uber.org/zap"
)

// Locker takes namespace locks on a set of lock servers, one per node, on
// behalf of one node. It is safe for concurrent use; every node needs only
// one.
type Locker struct {
	self  string
	cfg   Config
	log   *zap.Logger
	local *Server
	nodes []lockNode
	wq    int // write quorum
	rq    int // read quorum
	// dead is the liveness view (WithLiveness): servers it holds dead are
	// not asked to grant or refresh. Nil: none is known dead.
	dead func(node string) bool
	// readTurn rotates the servers a read lock asks first (readServers).
	readTurn atomic.Uint32
}

// LockerOption changes how NewLocker builds a Locker.
type LockerOption func(*Locker)

// WithLiveness gives the Locker a view of which nodes are known dead (the
// node's memberlist view: a crashed, partitioned or paused node within a
// second or two). Their servers are not asked to grant or refresh locks,
// and a Lock or RLock that cannot reach a quorum of the others returns an
// *UnavailableError at once instead of retrying. dead must be cheap and
// safe for concurrent use; it is never asked about this node.
func WithLiveness(dead func(node string) bool) LockerOption {
	return func(l *Locker) { l.dead = dead }
}

// lockNode is one lock server: the local one (conn nil) or a peer's.
type lockNode struct {
	addr string
	conn *grid.Connection
}

// NewLocker returns a Locker for node m.Self() that locks on the servers of
// nodes: every node's grid address, this one included, the same list (in any
// order) on every node. The quorums are computed from len(nodes). local is
// this node's own Server, called directly rather than over the grid; it is
// required when nodes lists m.Self().
func NewLocker(m *grid.Manager, local *Server, nodes []string, cfg Config, opts ...LockerOption) (*Locker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if m == nil || len(nodes) == 0 {
		return nil, errors.New("nslock: NewLocker needs a grid Manager and at least one node")
	}
	peers := map[string]bool{}
	for _, p := range m.Peers() {
		peers[p] = true
	}
	l := &Locker{self: m.Self(), cfg: cfg, log: cfg.logger(), local: local}
	seen := map[string]bool{}
	for _, addr := range nodes {
		if seen[addr] {
			return nil, fmt.Errorf("nslock: node %q listed twice", addr)
		}
		seen[addr] = true
		switch {
		case addr == l.self:
			if local == nil {
				return nil, fmt.Errorf("nslock: node list includes this node %q but no local Server was given", addr)
			}
			l.nodes = append(l.nodes, lockNode{addr: addr})
		case peers[addr]:
			l.nodes = append(l.nodes, lockNode{addr: addr, conn: m.Connection(addr)})
		default:
			return nil, fmt.Errorf("nslock: node %q is not a peer of the grid Manager: %w", addr, grid.ErrUnknownPeer)
		}
	}
	l.wq, l.rq = WriteQuorum(len(nodes)), ReadQuorum(len(nodes))
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Quorums returns how many servers must grant a write lock and a read lock.
func (l *Locker) Quorums() (write, read int) { return l.wq, l.rq }

// Lock takes a write lock on every one of resources, or on none: it excludes
// every other writer and reader of any of them. It retries while the
// resources are held elsewhere or servers are slow to answer, until ctx
// ends; then it returns a *TimeoutError (matching ErrLockTimeout and ctx's
// error). Give ctx a deadline: without one, Lock waits as long as it takes.
//
// When too few servers are reachable for a quorum it does not wait for
// ctx: it returns an *UnavailableError (matching ErrQuorumUnavailable) at
// once if the liveness view (WithLiveness) holds enough of them dead, or
// after its attempts have found them unreachable for UnreachableTimeout.
//
// The lock is refreshed in the background until Unlock. Watch Lost (or use
// WithContext): a held lock can be lost, and then the caller must stop.
func (l *Locker) Lock(ctx context.Context, resources ...string) (*Lock, error) {
	return l.acquire(ctx, true, resources)
}

// RLock takes a read lock on every one of resources, or on none: it excludes
// writers but not other readers. Otherwise it behaves like Lock.
func (l *Locker) RLock(ctx context.Context, resources ...string) (*Lock, error) {
	return l.acquire(ctx, false, resources)
}

// ForceUnlock drops every grant on resources on every server, whoever holds
// them (admin, tests). Holders find out at their next refresh. It returns the
// servers' errors, if any could not be reached.
func (l *Locker) ForceUnlock(ctx context.Context, resources ...string) error {
	res, err := normalize(resources)
	if err != nil {
		return err
	}
	replies := l.broadcast(ctx, opForceUnlock, &LockArgs{Resources: res}, nil, len(l.nodes), answered, roundOpts{})
	var errs []error
	for _, r := range replies {
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nslock: force unlock %v: %w", res, err)
	}
	return nil
}

func (l *Locker) quorum(write bool) int {
	if write {
		return l.wq
	}
	return l.rq
}

// normalize copies, sorts and deduplicates resources. Sorting gives every
// request for the same set the same shape; deduplicating keeps a read lock
// from counting a name twice. (Deadlock between overlapping multi-resource
// locks cannot happen anyway: each server grants a request all-or-nothing,
// and a locker that misses quorum releases everything before retrying.)
func normalize(resources []string) ([]string, error) {
	if len(resources) == 0 {
		return nil, ErrNoResources
	}
	res := slices.Clone(resources)
	slices.Sort(res)
	res = slices.Compact(res)
	if res[0] == "" {
		return nil, fmt.Errorf("%w: empty resource name", ErrNoResources)
	}
	return res, nil
}

func (l *Locker) acquire(ctx context.Context, write bool, resources []string) (*Lock, error) {
	res, err := normalize(resources)
	if err != nil {
		return nil, err
	}
	args := &LockArgs{UID: rand.Text(), Resources: res}
	lockOp, need := opRLock, l.quorum(write)
	if write {
		lockOp = opLock
	}
	timeout := func(granted int, last error) error {
		return &TimeoutError{Resources: res, Write: write, Granted: granted, Quorum: need, Nodes: len(l.nodes), Last: last, Err: ctx.Err()}
	}
	unavailable := func(reachable int, dead []string, last error) error {
		return &UnavailableError{Resources: res, Write: write, Reachable: reachable, Quorum: need, Nodes: len(l.nodes), Dead: dead, Last: last}
	}
	if ctx.Err() != nil {
		return nil, timeout(0, nil)
	}
	if !write {
		// A read lock needs the read quorum, which meets every write
		// quorum: asking that many servers first (this node's own among
		// them) spares the others a round trip, to acquire and to
		// release, when they grant. Any refusal or failure falls back to
		// asking every server.
		if targets := l.readServers(need); targets != nil {
			sent := time.Now()
			replies := l.broadcast(ctx, lockOp, args, targets, need, granted, roundOpts{failFast: true})
			if count(replies, granted) >= need {
				return l.newLock(args, write, need, targets, sent), nil
			}
			l.release(ctx, args, write, replies)
			if ctx.Err() != nil {
				return nil, timeout(count(replies, granted), serverErrors(replies))
			}
		}
	}
	backoff := l.cfg.RetryMin
	// unreachableSince is when the current run of attempts that failed for
	// want of reachable servers began; zero when the last one did not.
	var unreachableSince time.Time
	for {
		// What the liveness view knows needs no round trip: with a quorum
		// of servers known dead the lock cannot be had, however long the
		// caller is willing to wait.
		if dead := l.knownDead(); len(l.nodes)-len(dead) < need {
			return nil, unavailable(len(l.nodes)-len(dead), dead, nil)
		}
		sent := time.Now()
		replies := l.broadcast(ctx, lockOp, args, nil, need, granted, roundOpts{failFast: true})
		n := count(replies, granted)
		if n >= need {
			return l.newLock(args, write, need, nil, sent), nil
		}
		// Too few grants: give back those we got, and those we cannot be sure
		// of (a timed-out request may have been granted), before anyone else
		// can be blocked by a partial lock; then try again.
		l.release(ctx, args, write, replies)
		if ctx.Err() != nil {
			return nil, timeout(n, serverErrors(replies))
		}
		// Servers that refuse (the resource is held) or are slow may grant
		// on a later attempt; servers that cannot be reached will not
		// before they come back. A restarting peer reconnects within
		// UnreachableTimeout; a dead one does not, and then waiting on
		// until ctx ends (LockTimeout, 30 s) only holds the request.
		if reachable := len(l.nodes) - count(replies, unreachable); reachable < need {
			if unreachableSince.IsZero() {
				unreachableSince = sent
			}
			if time.Since(unreachableSince) >= l.cfg.unreachableTimeout() {
				return nil, unavailable(reachable, l.knownDead(), serverErrors(replies))
			}
		} else {
			unreachableSince = time.Time{}
		}
		// Jittered, so that lockers that collided do not collide again.
		t := time.NewTimer(backoff/2 + mrand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, timeout(n, serverErrors(replies))
		case <-t.C:
		}
		backoff = min(2*backoff, l.cfg.RetryMax)
	}
}

// readServers picks need servers for a read lock's first round: this
// node's own, then the others in turn from one lock to the next, passing
// over those the liveness view holds dead. It returns nil when there are
// not that many, or no fewer than all: then every server is asked.
func (l *Locker) readServers(need int) []int {
	n := len(l.nodes)
	if need >= n {
		return nil
	}
	targets := make([]int, 0, need)
	for i, node := range l.nodes {
		if node.conn == nil {
			targets = append(targets, i)
		}
	}
	remotes := n - len(targets)
	start := int(l.readTurn.Add(1) % uint32(remotes))
	for k := 0; k < remotes && len(targets) < need; k++ {
		i := l.remoteAt((start + k) % remotes)
		if l.dead == nil || !l.dead(l.nodes[i].addr) {
			targets = append(targets, i)
		}
	}
	if len(targets) < need {
		return nil
	}
	return targets
}

// remoteAt returns the index in l.nodes of the k-th server that is not
// this node's own.
func (l *Locker) remoteAt(k int) int {
	for i, node := range l.nodes {
		if node.conn != nil {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return -1
}

// knownDead lists the servers the liveness view holds dead (never this
// node's own).
func (l *Locker) knownDead() []string {
	if l.dead == nil {
		return nil
	}
	var dead []string
	for _, n := range l.nodes {
		if n.conn != nil && l.dead(n.addr) {
			dead = append(dead, n.addr)
		}
	}
	return dead
}

// errKnownDead marks a server not called because the liveness view holds
// its node dead.
var errKnownDead = errors.New("nslock: node known dead, not asked")

// unreachable reports whether a reply says its server could not be
// reached at all, as opposed to refusing (the resource is held), failing
// or answering too late (busy or paused, which the liveness view turns
// into known dead within a second or two if it lasts).
func unreachable(r reply) bool {
	return r.err != nil && (errors.Is(r.err, errKnownDead) || errors.Is(r.err, grid.ErrDisconnected) ||
		errors.Is(r.err, grid.ErrPeerSilent) || errors.Is(r.err, grid.ErrClosed))
}

// release gives a lock back on every server, or, after a failed round, on
// every server whose reply is not a refusal. It waits for a quorum of answers
// (and briefly for the rest), never for a server that does not answer. The
// calls it stops waiting for go on in the background for the rest of
// AttemptTimeout rather than being cancelled: a release still queued behind
// other traffic to a busy peer would otherwise be dropped unsent, and its
// grant would block that resource there for Validity (with one node down,
// a write lock needs every other server, so that blocks its writers). A
// grant whose release never arrives, unrefreshed, expires after Validity.
func (l *Locker) release(ctx context.Context, args *LockArgs, write bool, replies []reply) {
	var targets []int // nil: all
	if replies != nil {
		targets = []int{}
		for i, r := range replies {
			if (r.err != nil && !errors.Is(r.err, errNotCalled)) || r.ok {
				targets = append(targets, i)
			}
		}
		if len(targets) == 0 {
			return
		}
	}
	l.releaseOn(ctx, args, write, targets)
}

// releaseOn is release on the servers of targets (nil: every server).
func (l *Locker) releaseOn(ctx context.Context, args *LockArgs, write bool, targets []int) {
	// How many answers to wait for. Every target is sent its release, but
	// not one the liveness view holds dead is waited for (it is released
	// anyway, in case the view is wrong): with one of four servers down a
	// failed write round leaves three targets, the dead one among them, so
	// waiting for a quorum of them was waiting AttemptTimeout for it before
	// every retry. The live targets are waited for even when they did not
	// grant: a release left in flight could otherwise reach its server
	// after the next attempt's request under the same UID and take back
	// the new grant. (Waiting only for the servers that granted made
	// TestClusterPausedNodeUnderLoad in node/object starve a hot key for
	// 7-9 s, every run.)
	canAnswer := 0
	for i := range l.nodes {
		if targets != nil && !slices.Contains(targets, i) {
			continue
		}
		if n := l.nodes[i]; n.conn != nil && l.dead != nil && l.dead(n.addr) {
			continue
		}
		canAnswer++
	}
	o := opRUnlock
	if write {
		o = opUnlock
	}
	// Released even when the caller's context is already done: that is
	// exactly when a failed acquisition must clean up.
	l.broadcast(context.WithoutCancel(ctx), o, args, targets, min(l.quorum(write), canAnswer), answered, roundOpts{detach: true})
}

// reply is one server's answer to one call.
type reply struct {
	ok  bool
	err error
}

func granted(r reply) bool  { return r.err == nil && r.ok }
func answered(r reply) bool { return r.err == nil }

func count(rs []reply, good func(reply) bool) int {
	n := 0
	for _, r := range rs {
		if good(r) {
			n++
		}
	}
	return n
}

// serverErrors joins the errors of a round's calls, for TimeoutError.
func serverErrors(rs []reply) error {
	var errs []error
	for _, r := range rs {
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return errors.Join(errs...)
}

// roundOpts are broadcast's choices.
type roundOpts struct {
	// failFast stops waiting as soon as need good replies have become
	// impossible.
	failFast bool
	// detach leaves the calls still running when broadcast stops waiting to
	// finish in the background (within AttemptTimeout) instead of
	// cancelling them; their replies are not reported.
	detach bool
}

// broadcast calls o on the servers listed in targets (all when nil), in
// parallel, for at most AttemptTimeout, and returns every server's reply
// (indexed like l.nodes; a server not called or not answering has an error).
// Lock and refresh calls skip the servers the liveness view holds dead
// (errKnownDead); releases go to every target, in case the view is wrong.
//
// It stops waiting as soon as need replies are good and the others had a
// short grace (AttemptTimeout/20) to arrive, or, with failFast, as soon as
// need good replies have become impossible. So one paused or dead server does not slow down
// every lock operation, while a merely slower one still gets to grant: a lock
// granted by more than a quorum survives more disconnects. Calls still
// running are cancelled, which lock servers treat as "take the grant back",
// unless detached.
func (l *Locker) broadcast(ctx context.Context, o op, args *LockArgs, targets []int, need int, good func(reply) bool, ro roundOpts) []reply {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.AttemptTimeout)
	if targets == nil {
		targets = make([]int, len(l.nodes))
		for i := range targets {
			targets[i] = i
		}
	}
	replies := make([]reply, len(l.nodes))
	for i := range replies {
		replies[i].err = errNotCalled
	}
	type result struct {
		i int
		r reply
	}
	results := make(chan result, len(targets))
	skipDead := l.dead != nil && (o == opLock || o == opRLock || o == opRefresh)
	local, remote := -1, 0
	var dead []int
	for _, i := range targets {
		switch n := l.nodes[i]; {
		case n.conn == nil:
			local = i
		case skipDead && l.dead(n.addr):
			dead = append(dead, i)
		default:
			remote++
			go func() {
				ok, err := l.call(ctx, o, i, args)
				results <- result{i, reply{ok, err}}
			}()
		}
	}
	pending, nGood, nBad := len(targets), 0, 0
	// A paused server is declared dead by the liveness view a second or so
	// into its silence, often while a round is waiting on it. With
	// failFast, a call to a server the view now holds dead is no longer
	// counted on to reach need (its reply is still recorded if it comes):
	// otherwise a round that needs every live server, of which one
	// refused, waits out AttemptTimeout for an answer that will not come.
	givenUp := make([]bool, len(l.nodes))
	nGivenUp := 0
	var recheck <-chan time.Time
	if ro.failFast && l.dead != nil && remote > 0 {
		t := time.NewTicker(l.cfg.AttemptTimeout / 20)
		defer t.Stop()
		recheck = t.C
	}
	record := func(res result) {
		if givenUp[res.i] {
			givenUp[res.i] = false
			nGivenUp--
		}
		replies[res.i] = res.r
		pending--
		if good(res.r) {
			nGood++
		} else {
			nBad++
		}
	}
	for _, i := range dead {
		record(result{i, reply{err: fmt.Errorf("nslock %v on %s: %w", o, l.nodes[i].addr, errKnownDead)}})
	}
	if local >= 0 {
		// The local server answers in microseconds: called inline, while the
		// remote calls are on the wire.
		ok, err := l.local.apply(ctx, o, l.self, args)
		if err != nil {
			err = fmt.Errorf("nslock %v on %s (local): %w", o, l.self, err)
		}
		record(result{local, reply{ok, err}})
	}
	var grace <-chan time.Time
wait:
	for pending > 0 && (!ro.failFast || len(targets)-nBad-nGivenUp >= need) {
		if nGood >= need && grace == nil {
			t := time.NewTimer(l.cfg.AttemptTimeout / 20)
			defer t.Stop()
			grace = t.C
		}
		select {
		case res := <-results:
			record(res)
		case <-grace:
			break wait
		case <-recheck:
			for _, i := range targets {
				if n := l.nodes[i]; n.conn != nil && !givenUp[i] && errors.Is(replies[i].err, errNotCalled) && l.dead(n.addr) {
					givenUp[i] = true
					nGivenUp++
				}
			}
		case <-ctx.Done():
			break wait
		}
	}
	if ro.detach && pending > 0 {
		// The rest run on under the round's own deadline; nobody reads
		// their replies.
		go func(pending int) {
			defer cancel()
			for range pending {
				<-results
			}
		}(pending)
		return replies
	}
	// Cancelled calls return at once; collect them so no goroutine outlives
	// the round, and so a late grant is known to the caller (who releases it
	// if the round failed).
	cancel()
	for pending > 0 {
		record(<-results)
	}
	return replies
}

var errNotCalled = errors.New("nslock: server not called")

// call performs o on remote server i.
func (l *Locker) call(ctx context.Context, o op, i int, args *LockArgs) (bool, error) {
	n := l.nodes[i]
	r, err := rpcs[o].Call(ctx, n.conn, args)
	if err != nil {
		return false, fmt.Errorf("nslock %v on %s: %w", o, n.addr, err)
	}
	return r.OK, nil
}
