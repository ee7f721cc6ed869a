package nslock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
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
func NewLocker(m *grid.Manager, local *Server, nodes []string, cfg Config) (*Locker, error) {
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
	return l, nil
}

// Quorums returns how many servers must grant a write lock and a read lock.
func (l *Locker) Quorums() (write, read int) { return l.wq, l.rq }

// Lock takes a write lock on every one of resources, or on none: it excludes
// every other writer and reader of any of them. It retries while the
// resources are held elsewhere or too few servers answer, until ctx ends;
// then it returns a *TimeoutError (matching ErrLockTimeout and ctx's error).
// Give ctx a deadline: without one, Lock waits as long as it takes.
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
	replies := l.broadcast(ctx, opForceUnlock, &LockArgs{Resources: res}, nil, len(l.nodes), answered, false)
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
	if ctx.Err() != nil {
		return nil, timeout(0, nil)
	}
	backoff := l.cfg.RetryMin
	for {
		sent := time.Now()
		replies := l.broadcast(ctx, lockOp, args, nil, need, granted, true)
		n := count(replies, granted)
		if n >= need {
			return l.newLock(args, write, need, sent), nil
		}
		// Too few grants: give back those we got, and those we cannot be sure
		// of (a timed-out request may have been granted), before anyone else
		// can be blocked by a partial lock; then try again.
		l.release(ctx, args, write, replies)
		if ctx.Err() != nil {
			return nil, timeout(n, serverErrors(replies))
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

// release gives a lock back on every server, or, after a failed round, on
// every server whose reply is not a refusal. It waits for a quorum of answers
// (and briefly for the rest), never for a server that does not answer: such
// a grant, unrefreshed, expires after Validity.
func (l *Locker) release(ctx context.Context, args *LockArgs, write bool, replies []reply) {
	var targets []int // nil: all
	if replies != nil {
		targets = []int{}
		for i, r := range replies {
			if r.err != nil || r.ok {
				targets = append(targets, i)
			}
		}
		if len(targets) == 0 {
			return
		}
	}
	n := len(l.nodes)
	if targets != nil {
		n = len(targets)
	}
	o := opRUnlock
	if write {
		o = opUnlock
	}
	// Released even when the caller's context is already done: that is
	// exactly when a failed acquisition must clean up.
	l.broadcast(context.WithoutCancel(ctx), o, args, targets, min(l.quorum(write), n), answered, false)
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

// broadcast calls o on the servers listed in targets (all when nil), in
// parallel, for at most AttemptTimeout, and returns every server's reply
// (indexed like l.nodes; a server not called or not answering has an error).
//
// It stops waiting as soon as need replies are good and the others had a
// short grace (AttemptTimeout/20) to arrive, or, with failFast, as soon as
// need good replies have become impossible. So one paused or dead server does not slow down
// every lock operation, while a merely slower one still gets to grant: a lock
// granted by more than a quorum survives more disconnects. Calls still
// running are cancelled, which lock servers treat as "take the grant back".
func (l *Locker) broadcast(ctx context.Context, o op, args *LockArgs, targets []int, need int, good func(reply) bool, failFast bool) []reply {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.AttemptTimeout)
	defer cancel()
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
	local := -1
	for _, i := range targets {
		if l.nodes[i].conn == nil {
			local = i
			continue
		}
		go func() {
			ok, err := l.call(ctx, o, i, args)
			results <- result{i, reply{ok, err}}
		}()
	}
	pending, nGood, nBad := len(targets), 0, 0
	record := func(res result) {
		replies[res.i] = res.r
		pending--
		if good(res.r) {
			nGood++
		} else {
			nBad++
		}
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
	for pending > 0 && (!failFast || len(targets)-nBad >= need) {
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
		case <-ctx.Done():
			break wait
		}
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
