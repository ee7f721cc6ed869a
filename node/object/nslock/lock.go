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

// newLock starts the refresher of a lock granted by a round sent at sent.
func (l *Locker) newLock(args *LockArgs, write bool, need int, sent time.Time) *Lock {
	lk := &Lock{
		l: l, args: args, write: write, need: need,
		lost: make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	lk.life, lk.end = context.WithCancelCause(context.Background())
	lk.rctx, lk.rcancel = context.WithCancel(context.Background())
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

// Unlock releases the lock on every server and stops refreshing it. It waits
// for a quorum of servers to answer (at most AttemptTimeout), so once it
// returns another node can take the lock. Calling it more than once, or
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
			lk.l.release(context.Background(), lk.args, lk.write, nil)
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
		replies := l.broadcast(lk.rctx, opRefresh, lk.args, nil, lk.need, granted, true)
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
		lease.Reset(time.Until(sent.Add(l.cfg.Validity)))
	}
}

// lose marks the lock lost and gives back what is left of it, so the servers
// that still hold a grant do not block others until it expires.
func (lk *Lock) lose(err error) {
	err = fmt.Errorf("%w (%s lock on %s)", err, lk.kind(), strings.Join(lk.args.Resources, ","))
	frozen := lk.frozen.Load()
	lk.mu.Lock()
	lk.err = err
	send := !lk.released && !frozen
	lk.released = lk.released || send
	lk.mu.Unlock()
	close(lk.lost)
	lk.end(err)
	lk.l.log.Warn("nslock: lock lost", zap.Error(err))
	if send {
		lk.l.release(context.Background(), lk.args, lk.write, nil)
	}
}

func (lk *Lock) kind() string {
	if lk.write {
		return "write"
	}
	return "read"
}
