package object

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// namedDrive stands in for a drive where only its place in a fan-out
// matters: the calls under test never reach it.
type namedDrive struct {
	storage.Drive
	name string
}

func (d namedDrive) String() string { return d.name }

func namedDrives(n int) []storage.Drive {
	ds := make([]storage.Drive, n)
	for i := range ds {
		ds[i] = namedDrive{name: string(rune('a' + i))}
	}
	return ds
}

// hangs is a call stuck the way a drive in a syscall is: it ignores its
// context until released, then reports whether that context had been
// cancelled meanwhile.
type hangs struct {
	release   chan struct{}
	mu        sync.Mutex
	cancelled []bool
	done      sync.WaitGroup
}

func newHangs() *hangs { return &hangs{release: make(chan struct{})} }

func (h *hangs) call(ctx context.Context) error {
	defer h.done.Done()
	<-h.release
	h.mu.Lock()
	h.cancelled = append(h.cancelled, ctx.Err() != nil)
	h.mu.Unlock()
	return nil
}

// A write returns once its quorum answered plus the grace, not after the
// drive timeout, and leaves the straggler running, uncancelled.
func TestFanOutWriteReturnsAtQuorum(t *testing.T) {
	h := newHangs()
	h.done.Add(1)
	start := time.Now()
	_, errs := fanOutWrite(context.Background(), namedDrives(6), time.Minute, 4, 20*time.Millisecond, nil,
		func(ctx context.Context, pos int, _ storage.Drive) (struct{}, error) {
			switch pos {
			case 4:
				return struct{}{}, h.call(ctx)
			case 5:
				return struct{}{}, storage.ErrDiskFull
			}
			return struct{}{}, nil
		})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("a write with one hung drive took %v; its drive timeout is a minute", took)
	}
	for pos := range 4 {
		if errs[pos] != nil {
			t.Fatalf("drive %d: %v", pos, errs[pos])
		}
	}
	if !errors.Is(errs[4], errStraggler) || !errors.Is(errs[4], errDriveTimeout) {
		t.Fatalf("hung drive reported %v, want errStraggler", errs[4])
	}
	if !errors.Is(errs[5], storage.ErrDiskFull) {
		t.Fatalf("failed drive reported %v", errs[5])
	}
	close(h.release)
	h.done.Wait()
	if h.cancelled[0] {
		t.Fatal("the straggler's call was cancelled when the write returned; it must finish")
	}
}

// A write that can no longer reach its quorum does not wait for the drives
// still pending either.
func TestFanOutWriteGivesUpWhenQuorumIsOutOfReach(t *testing.T) {
	h := newHangs()
	h.done.Add(2)
	defer func() { close(h.release); h.done.Wait() }()
	start := time.Now()
	_, errs := fanOutWrite(context.Background(), namedDrives(6), time.Minute, 4, 20*time.Millisecond, nil,
		func(ctx context.Context, pos int, _ storage.Drive) (struct{}, error) {
			if pos < 2 {
				return struct{}{}, h.call(ctx)
			}
			if pos < 5 {
				return struct{}{}, storage.ErrDriveOffline
			}
			return struct{}{}, nil
		})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("a write that lost its quorum took %v to say so", took)
	}
	if countNil(errs) != 1 || !errors.Is(errs[0], errStraggler) {
		t.Fatalf("errs = %v", errs)
	}
}

// A quorum of 0 (cleanups nobody waits for) waits the grace, then leaves
// everything that is still running to finish on its own.
func TestFanOutWriteCleanupWaitsOnlyTheGrace(t *testing.T) {
	h := newHangs()
	h.done.Add(3)
	start := time.Now()
	_, errs := fanOutWrite(context.Background(), namedDrives(3), time.Minute, 0, 20*time.Millisecond, nil,
		func(ctx context.Context, _ int, _ storage.Drive) (struct{}, error) {
			return struct{}{}, h.call(ctx)
		})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("a cleanup with hung drives took %v", took)
	}
	for _, err := range errs {
		if !errors.Is(err, errStraggler) {
			t.Fatalf("errs = %v", errs)
		}
	}
	close(h.release)
	h.done.Wait()
	for i, c := range h.cancelled {
		if c {
			t.Fatalf("cleanup call %d was cancelled", i)
		}
	}
}

// The custom success rule counts: a delete finds the bucket gone on some
// drives and that is as good as done.
func TestFanOutWriteSuccessRule(t *testing.T) {
	h := newHangs()
	h.done.Add(1)
	defer func() { close(h.release); h.done.Wait() }()
	_, errs := fanOutWrite(context.Background(), namedDrives(4), time.Minute, 3, time.Millisecond,
		func(err error) bool { return err == nil || errors.Is(err, storage.ErrVolumeNotFound) },
		func(ctx context.Context, pos int, _ storage.Drive) (struct{}, error) {
			switch pos {
			case 0:
				return struct{}{}, h.call(ctx)
			case 1:
				return struct{}{}, storage.ErrVolumeNotFound
			}
			return struct{}{}, nil
		})
	if !errors.Is(errs[0], errStraggler) || !errors.Is(errs[1], storage.ErrVolumeNotFound) {
		t.Fatalf("errs = %v", errs)
	}
}

// A fan-out waiting on drives that the liveness view then declares down
// (a paused node's, a second into its silence) stops waiting for them, as
// if they had been known down at its start, rather than at its timeout:
// a read reports them offline, a write as stragglers left running.
func TestFanOutStopsWaitingForDrivesDeclaredDown(t *testing.T) {
	for _, write := range []bool{false, true} {
		h := newHangs()
		h.done.Add(2)
		down := &atomic.Bool{}
		drives := namedDrives(8)
		for _, pos := range []int{6, 7} {
			drives[pos] = knownDrive{Drive: drives[pos], down: down}
		}
		called := make(chan struct{}, 8)
		fn := func(ctx context.Context, pos int, _ storage.Drive) (struct{}, error) {
			called <- struct{}{}
			if pos >= 6 {
				return struct{}{}, h.call(ctx)
			}
			return struct{}{}, nil
		}
		type out struct{ errs []error }
		got := make(chan out, 1)
		go func() {
			var errs []error
			if write {
				// A write quorum that needs one of the paused drives.
				_, errs = fanOutWrite(context.Background(), drives, time.Minute, 7, 20*time.Millisecond, nil, fn)
			} else {
				// A read that wants every answer.
				_, errs = fanOut(context.Background(), drives, time.Minute, fn, nil, 0)
			}
			got <- out{errs}
		}()
		for range 8 {
			<-called
		}
		down.Store(true)
		select {
		case o := <-got:
			for pos := range 6 {
				if o.errs[pos] != nil {
					t.Fatalf("write=%v: drive %d: %v", write, pos, o.errs[pos])
				}
			}
			for _, pos := range []int{6, 7} {
				want := errKnownOffline
				if write {
					want = errStraggler
				}
				if !errors.Is(o.errs[pos], want) {
					t.Fatalf("write=%v: drive %d declared down reported %v, want %v", write, pos, o.errs[pos], want)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("write=%v: fan-out still waiting 20 s after its paused drives were declared down (timeout a minute)", write)
		}
		close(h.release)
		h.done.Wait()
	}
}
