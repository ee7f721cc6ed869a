package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gridstore/gridstore/node/object/nslock"
)

// Locker takes namespace locks: a write lock orders the commits of writers of
// one object, a read lock keeps a reader's version (and its data) in place
// while it streams. Resources are "bucket/object" strings. A cluster uses
// locks held on a quorum of nodes (package node/object/nslock, through
// AdaptLocker); NewLocalLocker serves a single process and tests.
//
// Lock and RLock block until the lock is held or ctx ends (then they return
// an error that wraps ctx's). A Locker may fail sooner when the lock cannot
// be had at all (too few lock servers reachable); AdaptLocker turns
// nslock's ErrQuorumUnavailable into ErrWriteQuorum (write locks) or
// ErrReadQuorum (read locks), the errors of a set without enough drives,
// which the front end answers with a retryable 503.
type Locker interface {
	Lock(ctx context.Context, resources ...string) (Lock, error)
	RLock(ctx context.Context, resources ...string) (Lock, error)
}

// Lock is a held lock. A Lock that can also check that it is still held
// (Confirm, as *nslock.Lock does) is asked just before a commit; see
// stillHeld.
type Lock interface {
	// Lost is closed once the lock is lost (a distributed lock that could
	// not be refreshed); a writer checks it before it commits. A nil
	// channel means the lock cannot be lost.
	Lost() <-chan struct{}
	// Unlock releases the lock. It may be called more than once.
	Unlock()
}

// AdaptLocker turns a pair of lock functions returning a concrete lock type
// into a Locker, for example AdaptLocker(l.Lock, l.RLock) for an
// *nslock.Locker, whose *nslock.Lock has Lost, Unlock and Confirm.
func AdaptLocker[L Lock](lock, rlock func(ctx context.Context, resources ...string) (L, error)) Locker {
	return adaptedLocker[L]{lock: lock, rlock: rlock}
}

type adaptedLocker[L Lock] struct {
	lock, rlock func(ctx context.Context, resources ...string) (L, error)
}

func (a adaptedLocker[L]) Lock(ctx context.Context, resources ...string) (Lock, error) {
	l, err := a.lock(ctx, resources...)
	if err != nil {
		return nil, lockUnavailable(err, ErrWriteQuorum)
	}
	return l, nil
}

func (a adaptedLocker[L]) RLock(ctx context.Context, resources ...string) (Lock, error) {
	l, err := a.rlock(ctx, resources...)
	if err != nil {
		return nil, lockUnavailable(err, ErrReadQuorum)
	}
	return l, nil
}

// lockUnavailable marks a lock that failed for want of reachable lock
// servers with quorum, the sentinel of a set without enough drives: to a
// client both say the cluster cannot do this now, and waiting for the
// lock timeout would not change it.
func lockUnavailable(err, quorum error) error {
	if errors.Is(err, nslock.ErrQuorumUnavailable) {
		return fmt.Errorf("%w: %w", quorum, err)
	}
	return err
}

// confirmer is a Lock that can check that a quorum still holds it, at the
// cost of a round trip at most (nslock.Lock.Confirm).
type confirmer interface {
	Confirm(ctx context.Context) error
}

// stillHeld checks, just before a commit, that every one of locks is held:
// it returns an error wrapping ErrLockLost if one is known lost or, asked
// (confirmer), is found lost. A holder whose node was paused, or declared
// dead while busy, has had its grants dropped by the other nodes; asking
// is what makes its in-flight writes give up rather than commit under a
// lock that someone else may hold by now. ctx should not be the client's:
// the answer must not depend on the client staying.
func stillHeld(ctx context.Context, locks ...Lock) error {
	for _, l := range locks {
		if lost(l) {
			return ErrLockLost
		}
	}
	for _, l := range locks {
		c, ok := l.(confirmer)
		if !ok {
			continue
		}
		if err := c.Confirm(ctx); err != nil {
			if errors.Is(err, nslock.ErrLockLost) {
				return fmt.Errorf("%w: %w", ErrLockLost, err)
			}
			return fmt.Errorf("confirm lock: %w", err)
		}
	}
	return nil
}

// LocalLocker is an in-process Locker: readers-writer locks by resource
// name, created on demand and dropped when nobody holds or waits for them.
// Waiting writers block new readers, so a stream of GETs cannot starve a
// PUT. Multiple resources are locked in sorted order, so two callers
// locking overlapping sets cannot deadlock.
type LocalLocker struct {
	mu    sync.Mutex
	locks map[string]*localEntry
}

type localEntry struct {
	users          int // holders and waiters: the entry goes when it drops to 0
	writer         bool
	readers        int
	writersWaiting int
	// changed is closed (and replaced) whenever the entry is released, to
	// wake the waiters, which then look again.
	changed chan struct{}
}

// NewLocalLocker returns an empty LocalLocker.
func NewLocalLocker() *LocalLocker {
	return &LocalLocker{locks: map[string]*localEntry{}}
}

// Lock takes write locks on resources.
func (l *LocalLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	return l.acquire(ctx, true, resources)
}

// RLock takes read locks on resources.
func (l *LocalLocker) RLock(ctx context.Context, resources ...string) (Lock, error) {
	return l.acquire(ctx, false, resources)
}

func (l *LocalLocker) acquire(ctx context.Context, write bool, resources []string) (Lock, error) {
	if len(resources) == 0 || slices.Contains(resources, "") {
		return nil, fmt.Errorf("%w: lock without a resource name", ErrInvalidArgument)
	}
	sorted := slices.Clone(resources)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	held := &localLock{owner: l, write: write}
	for _, res := range sorted {
		if err := l.acquireOne(ctx, write, res); err != nil {
			held.Unlock()
			return nil, fmt.Errorf("lock %s: %w", res, err)
		}
		held.resources = append(held.resources, res)
	}
	return held, nil
}

func (l *LocalLocker) acquireOne(ctx context.Context, write bool, res string) error {
	l.mu.Lock()
	e := l.locks[res]
	if e == nil {
		e = &localEntry{changed: make(chan struct{})}
		l.locks[res] = e
	}
	e.users++
	if write {
		e.writersWaiting++
	}
	for {
		free := !e.writer && (write && e.readers == 0 || !write && e.writersWaiting == 0)
		if free {
			if write {
				e.writersWaiting--
				e.writer = true
			} else {
				e.readers++
			}
			l.mu.Unlock()
			return nil
		}
		changed := e.changed
		l.mu.Unlock()
		select {
		case <-changed:
			l.mu.Lock()
		case <-ctx.Done():
			l.mu.Lock()
			if write {
				e.writersWaiting--
			}
			l.releaseLocked(res, e)
			l.mu.Unlock()
			return ctx.Err()
		}
	}
}

// releaseLocked drops one user of e and wakes its waiters.
func (l *LocalLocker) releaseLocked(res string, e *localEntry) {
	e.users--
	close(e.changed)
	e.changed = make(chan struct{})
	if e.users == 0 {
		delete(l.locks, res)
	}
}

// size returns the number of resources with holders or waiters.
func (l *LocalLocker) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.locks)
}

type localLock struct {
	owner     *LocalLocker
	write     bool
	once      sync.Once
	resources []string
}

func (h *localLock) Lost() <-chan struct{} { return nil }

func (h *localLock) Unlock() {
	h.once.Do(func() {
		l := h.owner
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, res := range h.resources {
			e := l.locks[res]
			if h.write {
				e.writer = false
			} else {
				e.readers--
			}
			l.releaseLocked(res, e)
		}
	})
}
