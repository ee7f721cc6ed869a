package nslock

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Lock is a held lock, returned by Locker.Lock and RLock. A background
// goroutine refreshes it on the servers until Unlock, or until it finds the
// lock lost.
type Lock struct {
	l     *Locker
	args  *LockArgs
	write bool
	need  int
	// targets are the servers the lock was asked of, nil for all: its
	// refreshes and its release go to them only (Locker.readServers).
	targets []int

	// life is cancelled with the reason (lost or released) when the lock
	// ends; WithContext derives from it.
	life context.Context
	end  context.CancelCauseFunc
	lost chan struct{}
	stop chan struct{} // closed by Unlock
	// rctx is the refresher's; Unlock cancels it so that it never waits for
	// a whole round in flight.
	rctx    context.Context
	rcancel context.CancelFunc
	done    chan struct{} // closed when the refresher has exited
	unlock  sync.Once

	// confirmed is when (UnixNano) the last round that a quorum confirmed
	// was sent: the acquisition, a refresh, a Confirm.
	confirmed atomic.Int64

	mu       sync.Mutex
	err      error // the ErrLockLost error, once lost
	released bool  // the release was already sent (by the refresher, on loss)

	// frozen, a test hook, makes the refresher send nothing (no refresh, no
	// release on loss) as if the holder were stuck or cut off, while its own
	// lease keeps running.
	frozen atomic.Bool
	// rounds counts completed refresh rounds, for tests.
	rounds atomic.Int64
}

// newLock starts the refresher of a lock granted by a round sent at sent
// to targets (nil: every server).
func (l *Locker) newLock(args *LockArgs, write bool, need int, targets []int, sent time.Time) *Lock {
	lk := &Lock{
		l: l, args: args, write: write, need: need, targets: targets,
		lost: make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	lk.life, lk.end = context.WithCancelCause(context.Background())
	lk.rctx, lk.rcancel = context.WithCancel(context.Background())
	lk.confirmed.Store(sent.UnixNano())
	go lk.refreshLoop(sent)
	return lk
}

// Resources returns the locked resources, sorted and deduplicated.
func (lk *Lock) Resources() []string { return slices.Clone(lk.args.Resources) }

// Lost returns a channel closed when the lock is lost: a refresh found it on
// fewer than a quorum of servers (they expired it, dropped it when they lost
// this node's connection, or were force-unlocked), or no refresh reached a
// quorum for Validity. Err says why. It is not closed by Unlock.
func (lk *Lock) Lost() <-chan struct{} { return lk.lost }

// Err returns nil while the lock is held, and an error matching ErrLockLost
// once it is lost.
func (lk *Lock) Err() error {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	return lk.err
}

// WithContext returns a context derived from parent that is also cancelled
// when the lock is lost (context.Cause matches ErrLockLost) or released
// (ErrLockReleased). Work done under the lock should use it, so that losing
// the lock aborts the work. Call cancel when done.
func (lk *Lock) WithContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(lk.life, func() { cancel(context.Cause(lk.life)) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// Confirm checks that the lock is still held, just before work that must
// not be done without it (a commit). It returns Err if the lock is known
// lost. Otherwise, if no round confirmed the lock on a quorum within the
// last AttemptTimeout, it runs one now, and reports the lock lost
// (ErrLockLost, and Lost fires) if too many servers say they no longer
// hold it, or cannot be reached (a server this node is disconnected from
// has dropped its grants), for a quorum to be left. Servers that answer
// late leave the question open: the lock's lease (Validity after the last
// confirmed round, which the refresher keeps) decides then, so a loaded
// cluster does not fail commits that hold their locks.
//
// That is what makes a holder that was paused, or so busy that the others
// declared its node dead and dropped its grants, find out before it acts
// rather than at its next periodic refresh (RefreshInterval): a request
// that resumes after a pause has not confirmed its lock for as long as it
// was stopped. A lock confirmed moments ago is trusted as it is, so a
// short critical section costs no extra round trip. No check can exclude
// a pause between Confirm and the work itself; the object layer's quorum
// writes remain the backstop.
//
// If ctx ends before the round could tell, Confirm returns ctx's error and
// the lock is not declared lost.
func (lk *Lock) Confirm(ctx context.Context) error {
	if err := lk.Err(); err != nil {
		return err
	}
	l := lk.l
	last := time.Unix(0, lk.confirmed.Load())
	if time.Since(last) < l.cfg.AttemptTimeout || lk.frozen.Load() {
		return nil
	}
	sent := time.Now()
	replies := l.broadcast(ctx, opRefresh, lk.args, lk.targets, lk.need, granted, roundOpts{failFast: true})
	held, gone := count(replies, granted), count(replies, notHeld)
	switch {
	case held >= lk.need:
		lk.confirm(sent)
		return nil
	case lk.servers()-gone < lk.need:
		lk.lose(fmt.Errorf("%w: held by %d of %d servers, %d needed, %d no longer hold it or cannot be reached",
			ErrLockLost, held, len(l.nodes), lk.need, gone))
		return lk.Err()
	case ctx.Err() != nil:
		return fmt.Errorf("nslock: confirm %s lock on %s: %w", lk.kind(), strings.Join(lk.args.Resources, ","), ctx.Err())
	case time.Since(last) >= l.cfg.Validity:
		lk.lose(fmt.Errorf("%w: no round reached a quorum for %v", ErrLockLost, l.cfg.Validity))
		return lk.Err()
	}
	return nil // too slow to tell: within its lease, the lock stands
}

// notHeld reports whether a refresh reply says the server does not hold the
// lock: it answered so, or it cannot be reached (disconnected from this
// node, it dropped this node's grants; known dead, it may have been told to).
func notHeld(r reply) bool { return (r.err == nil && !r.ok) || unreachable(r) }

// confirm records that a round sent at sent found the lock on a quorum.
func (lk *Lock) confirm(sent time.Time) {
	t := sent.UnixNano()
	for {
		cur := lk.confirmed.Load()
		if cur >= t || lk.confirmed.CompareAndSwap(cur, t) {
			return
		}
	}
}

// Unlock releases the lock on every server it was asked of and stops
// refreshing it. It waits for a quorum of servers to answer (at most
// AttemptTimeout), so once it returns another node can take the lock. Calling it more than once, or
// after the lock was lost, is harmless: a server releases a grant only for
// the UID that took it, never a later holder's.
func (lk *Lock) Unlock() {
	lk.unlock.Do(func() {
		close(lk.stop)
		lk.rcancel()
		<-lk.done
		lk.mu.Lock()
		send := !lk.released
		lk.released = true
		lk.mu.Unlock()
		lk.end(ErrLockReleased)
		if send {
			lk.l.releaseOn(context.Background(), lk.args, lk.write, lk.targets)
		}
	})
}

// refreshLoop keeps the lock alive on the servers every RefreshInterval, and
// at once whenever the node sees a peer's connection go down (that peer's
// server has just dropped this node's grants, so the lock may now be short of
// quorum). It also keeps the holder's own lease: Validity after the last
// round that a quorum confirmed, the servers may expire the lock, so the
// holder declares it lost then at the latest, even if it cannot reach them
// to ask.
func (lk *Lock) refreshLoop(sent time.Time) {
	defer close(lk.done)
	defer lk.rcancel()
	l := lk.l
	lease := time.NewTimer(time.Until(sent.Add(l.cfg.Validity)))
	defer lease.Stop()
	tick := time.NewTicker(l.cfg.RefreshInterval)
	defer tick.Stop()
	var down <-chan struct{}
	if l.local != nil {
		down = l.local.downSignal()
	}
	for {
		select {
		case <-lk.stop:
			return
		case <-lk.lost: // Confirm found it lost
			return
		case <-lease.C:
			lk.lose(fmt.Errorf("%w: no refresh reached a quorum for %v", ErrLockLost, l.cfg.Validity))
			return
		case <-tick.C:
		case <-down:
		}
		// Taken before the round, so a disconnect during it still triggers
		// the next one.
		if l.local != nil {
			down = l.local.downSignal()
		}
		if lk.frozen.Load() {
			continue
		}
		sent := time.Now()
		replies := l.broadcast(lk.rctx, opRefresh, lk.args, lk.targets, lk.need, granted, roundOpts{failFast: true})
		select {
		case <-lk.stop:
			return
		default:
		}
		lk.rounds.Add(1)
		if held := count(replies, granted); held < lk.need {
			lk.lose(fmt.Errorf("%w: held by %d of %d servers, %d needed", ErrLockLost, held, len(l.nodes), lk.need))
			return
		}
		lk.confirm(sent)
		lease.Reset(time.Until(sent.Add(l.cfg.Validity)))
	}
}

// lose marks the lock lost and gives back what is left of it, so the servers
// that still hold a grant do not block others until it expires. Only the
// first call counts (the refresher and Confirm may both find it lost).
func (lk *Lock) lose(err error) {
	err = fmt.Errorf("%w (%s lock on %s)", err, lk.kind(), strings.Join(lk.args.Resources, ","))
	frozen := lk.frozen.Load()
	lk.mu.Lock()
	if lk.err != nil {
		lk.mu.Unlock()
		return
	}
	lk.err = err
	send := !lk.released && !frozen
	lk.released = lk.released || send
	lk.mu.Unlock()
	close(lk.lost)
	lk.end(err)
	lk.l.log.Warn("nslock: lock lost", zap.Error(err))
	if send {
		lk.l.releaseOn(context.Background(), lk.args, lk.write, lk.targets)
	}
}

// servers is how many servers the lock was asked of.
func (lk *Lock) servers() int {
	if lk.targets != nil {
		return len(lk.targets)
	}
	return len(lk.l.nodes)
}

func (lk *Lock) kind() string {
	if lk.write {
		return "write"
	}
	return "read"
}
