package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object/nslock"
	"github.com/gridstore/gridstore/storage"
)

// knownDrive is a drive that says, without a call, whether it is up
// (storage.Availability), as a remote drive with a liveness view does.
type knownDrive struct {
	storage.Drive
	down *atomic.Bool
}

func (k knownDrive) Available() (up, known bool) { return !k.down.Load(), true }

// countingLocker counts the locks asked of it.
type countingLocker struct {
	Locker
	calls atomic.Int64
}

func (c *countingLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	c.calls.Add(1)
	return c.Locker.Lock(ctx, resources...)
}

func (c *countingLocker) RLock(ctx context.Context, resources ...string) (Lock, error) {
	c.calls.Add(1)
	return c.Locker.RLock(ctx, resources...)
}

// TestWritesFailFastWithoutDrives: with too few drives known up for a write
// quorum, DELETE and multipart Complete fail with ErrWriteQuorum before they
// ask for a lock (a PUT already did, at its probe), while reads go on.
func TestWritesFailFastWithoutDrives(t *testing.T) {
	t.Parallel()
	var down [6]atomic.Bool
	locker := &countingLocker{Locker: NewLocalLocker()}
	ts := newMPSet(t, 6, 3, func(c *Config) {
		c.Locker = locker
		for i := range c.Drives {
			c.Drives[i] = knownDrive{Drive: c.Drives[i], down: &down[i]}
		}
	})
	ctx := context.Background()
	data := randomBytes(7, 1000)
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	id := ts.newUpload(t, "mp", PutOptions{})
	part, err := ts.PutObjectPart(ctx, testBucket, "mp", id, 1, bytes.NewReader(data), int64(len(data)), PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Three of six drives down: parity 3 needs 4 for a write, reads 3.
	for i := 3; i < 6; i++ {
		down[i].Store(true)
	}
	before := locker.calls.Load()
	if err := ts.DeleteObject(ctx, testBucket, "k"); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("delete with 3 of 6 drives: %v, want ErrWriteQuorum", err)
	}
	_, err = ts.CompleteMultipartUpload(ctx, testBucket, "mp", id, []CompletePart{{Number: 1, ETag: part.ETag}}, CompleteOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("complete with 3 of 6 drives: %v, want ErrWriteQuorum", err)
	}
	if n := locker.calls.Load() - before; n != 0 {
		t.Fatalf("%d locks asked for by writes bound to fail", n)
	}
	t.Logf("delete: %v", ts.DeleteObject(ctx, testBucket, "k"))
	if got := readAll(t, ts.Set, "k"); !bytes.Equal(got, data) {
		t.Fatalf("read with 3 of 6 drives: %d bytes", len(got))
	}
}

// readAll reads an object whole.
func readAll(t testing.TB, s *Set, key string) []byte {
	t.Helper()
	var buf bytes.Buffer
	r, err := s.GetObject(context.Background(), testBucket, key, GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unavailableLocker fails every lock, once on, as nslock does when too few
// lock servers are reachable; before, it is a LocalLocker.
type unavailableLocker struct {
	plain   *LocalLocker
	on      atomic.Bool
	adapted Locker
}

func newUnavailableLocker() *unavailableLocker {
	u := &unavailableLocker{plain: NewLocalLocker()}
	fail := func(write bool) func(ctx context.Context, resources ...string) (*nslock.Lock, error) {
		return func(_ context.Context, resources ...string) (*nslock.Lock, error) {
			return nil, &nslock.UnavailableError{Resources: resources, Write: write, Reachable: 2, Quorum: 3, Nodes: 4}
		}
	}
	u.adapted = AdaptLocker(fail(true), fail(false))
	return u
}

func (u *unavailableLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	if u.on.Load() {
		return u.adapted.Lock(ctx, resources...)
	}
	return u.plain.Lock(ctx, resources...)
}

func (u *unavailableLocker) RLock(ctx context.Context, resources ...string) (Lock, error) {
	if u.on.Load() {
		return u.adapted.RLock(ctx, resources...)
	}
	return u.plain.RLock(ctx, resources...)
}

// TestLockServersUnavailableIsQuorumError: a namespace lock that fails for
// want of lock servers makes the request fail as a set without enough
// drives does (ErrWriteQuorum, ErrReadQuorum: a retryable 503), at once,
// and not as a busy object (ErrLockTimeout, after LockTimeout).
func TestLockServersUnavailableIsQuorumError(t *testing.T) {
	t.Parallel()
	locker := newUnavailableLocker()
	ts := newTestSet(t, 6, func(c *Config) { c.Locker = locker })
	ctx := context.Background()
	data := randomBytes(8, 1000)
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	locker.on.Store(true)
	start := time.Now()
	for _, tc := range []struct {
		op   string
		do   func() error
		want error
	}{
		{"delete", func() error { return ts.DeleteObject(ctx, testBucket, "k") }, ErrWriteQuorum},
		{"put", func() error {
			_, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(data), int64(len(data)), PutOptions{})
			return err
		}, ErrWriteQuorum},
		{"get", func() error {
			r, err := ts.GetObject(ctx, testBucket, "k", GetOptions{})
			if err == nil {
				r.Close()
			}
			return err
		}, ErrReadQuorum},
	} {
		err := tc.do()
		if !errors.Is(err, tc.want) || errors.Is(err, ErrLockTimeout) || !errors.Is(err, nslock.ErrQuorumUnavailable) {
			t.Fatalf("%s: %v, want %v (and not ErrLockTimeout)", tc.op, err, tc.want)
		}
		t.Logf("%s: %v", tc.op, err)
	}
	if took := time.Since(start); took > 5*time.Second { // LockTimeout is 10 s
		t.Fatalf("the requests took %v: they waited for the lock timeout", took)
	}
}

// lostOnConfirmLocker hands out locks that look held (Lost not closed) but
// that Confirm finds lost, as a node that was paused or declared dead finds
// its locks once the others dropped its grants.
type lostOnConfirmLocker struct{ Locker }

type lostOnConfirmLock struct{ Lock }

func (l lostOnConfirmLock) Confirm(context.Context) error {
	return fmt.Errorf("%w: held by 1 of 4 servers, 3 needed", nslock.ErrLockLost)
}

func (l lostOnConfirmLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	lk, err := l.Locker.Lock(ctx, resources...)
	if err != nil {
		return nil, err
	}
	return lostOnConfirmLock{lk}, nil
}

// TestCommitConfirmsLock: a PUT, a DELETE and a multipart Complete whose
// lock is found lost when confirmed just before the commit fail with
// ErrLockLost and change nothing.
func TestCommitConfirmsLock(t *testing.T) {
	t.Parallel()
	var confirm atomic.Bool
	ts := newMPSet(t, 6, 2, func(c *Config) { c.Locker = &switchLocker{plain: NewLocalLocker(), on: &confirm} })
	ctx := context.Background()
	old := randomBytes(9, 1000)
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(old), int64(len(old)), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(10, 3*testBlockSize+5)
	id := ts.newUpload(t, "k", PutOptions{})
	part, err := ts.PutObjectPart(ctx, testBucket, "k", id, 1, bytes.NewReader(data), int64(len(data)), PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	confirm.Store(true)
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(data), int64(len(data)), PutOptions{}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("put under a lost lock: %v, want ErrLockLost", err)
	}
	if err := ts.DeleteObject(ctx, testBucket, "k"); !errors.Is(err, ErrLockLost) {
		t.Fatalf("delete under a lost lock: %v, want ErrLockLost", err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, []CompletePart{{Number: 1, ETag: part.ETag}}, CompleteOptions{}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("complete under a lost lock: %v, want ErrLockLost", err)
	}
	confirm.Store(false)
	if got := readAll(t, ts.Set, "k"); !bytes.Equal(got, old) {
		t.Fatalf("after the failed writes the object has %d bytes, want the old %d", len(got), len(old))
	}
}

// switchLocker is a LocalLocker whose write locks fail Confirm while on.
type switchLocker struct {
	plain *LocalLocker
	on    *atomic.Bool
}

func (s *switchLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	if s.on.Load() {
		return lostOnConfirmLocker{s.plain}.Lock(ctx, resources...)
	}
	return s.plain.Lock(ctx, resources...)
}

func (s *switchLocker) RLock(ctx context.Context, resources ...string) (Lock, error) {
	return s.plain.RLock(ctx, resources...)
}
