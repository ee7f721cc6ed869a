package object

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object/nslock"
)

func TestLocalLocker(t *testing.T) {
	l := NewLocalLocker()
	ctx := context.Background()
	r1, err := l.RLock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.RLock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// A writer waits for the readers...
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if _, err := l.Lock(tctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write lock over readers: %v", err)
	}
	cancel()
	// ...and, waiting, keeps new readers out.
	got := make(chan Lock)
	go func() {
		w, err := l.Lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	eventually(t, "writer waiting", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.locks["a"].writersWaiting == 1
	})
	tctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	if _, err := l.RLock(tctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read lock with a writer waiting: %v", err)
	}
	cancel()
	r1.Unlock()
	r2.Unlock()
	r2.Unlock() // twice is fine
	w := <-got
	// Other resources are independent.
	o, err := l.Lock(ctx, "b", "c")
	if err != nil {
		t.Fatal(err)
	}
	o.Unlock()
	w.Unlock()
	if l.size() != 0 {
		t.Fatalf("%d entries left", l.size())
	}
	if _, err := l.Lock(ctx); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no resource: %v", err)
	}
}

func TestLocalLockerExclusion(t *testing.T) {
	l := NewLocalLocker()
	var inside, readers atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%4 == 0 {
				w, err := l.Lock(ctx, "x", "y")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 || readers.Load() != 0 {
					t.Error("writer not alone")
				}
				inside.Add(-1)
				w.Unlock()
				return
			}
			r, err := l.RLock(ctx, "y")
			if err != nil {
				t.Error(err)
				return
			}
			readers.Add(1)
			if inside.Load() != 0 {
				t.Error("reader beside a writer")
			}
			readers.Add(-1)
			r.Unlock()
		}()
	}
	wg.Wait()
	if l.size() != 0 {
		t.Fatalf("%d entries left", l.size())
	}
}

// lostLock is a lock that is lost from the start.
type lostLock struct{ ch chan struct{} }

func (l lostLock) Lost() <-chan struct{} { return l.ch }
func (l lostLock) Unlock()               {}

func TestAdaptLockerAndLostLock(t *testing.T) {
	t.Parallel()
	lost := lostLock{ch: make(chan struct{})}
	close(lost.ch)
	fn := func(context.Context, ...string) (lostLock, error) { return lost, nil }
	ts := newTestSet(t, 4, func(c *Config) { c.Locker = AdaptLocker(fn, fn) })
	_, err := ts.PutObject(context.Background(), testBucket, "k", nil, 0, PutOptions{})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("nil data: %v", err)
	}
	data := randomBytes(1, 3*testBlockSize)
	for _, d := range [][]byte{data[:10], data} {
		if _, err := ts.PutObject(context.Background(), testBucket, "k", bytesReader(d), int64(len(d)), PutOptions{}); !errors.Is(err, ErrLockLost) {
			t.Fatalf("put under a lost lock: %v", err)
		}
	}
	if _, _, err := ts.get("k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("after puts under a lost lock: %v", err)
	}
	ts.noTmpLeftovers(t)
}

// The cluster's namespace locks fit: AdaptLocker(l.Lock, l.RLock).
var (
	_ Lock = (*nslock.Lock)(nil)
	_      = func(l *nslock.Locker) Locker { return AdaptLocker(l.Lock, l.RLock) }
)

// TestLockTimeoutIsReported: a write that cannot take its lock within
// LockTimeout fails with ErrLockTimeout (a front end answers "retry"), while a
// cancelled request is not mistaken for one.
func TestLockTimeoutIsReported(t *testing.T) {
	locker := NewLocalLocker()
	ts := newTestSet(t, 4, func(c *Config) {
		c.Locker = locker
		c.LockTimeout = 100 * time.Millisecond
	})
	held, err := locker.Lock(context.Background(), lockKey(testBucket, "busy"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	_, err = ts.PutObject(context.Background(), testBucket, "busy", bytes.NewReader([]byte("x")), 1, PutOptions{})
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("PUT on a held lock: %v, want ErrLockTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ts.PutObject(ctx, testBucket, "busy", bytes.NewReader([]byte("x")), 1, PutOptions{})
	if err == nil || errors.Is(err, ErrLockTimeout) {
		t.Fatalf("cancelled PUT: %v, want a cancellation, not ErrLockTimeout", err)
	}
}
