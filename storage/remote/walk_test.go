package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// genDrive's WalkDir makes up n entries without touching a disk: every
// tenth a directory, the others objects with a record of their own. It
// counts the entries it has handed out, and fails with err after the last
// one if err is set.
type genDrive struct {
	faultDrive
	n      int
	err    error
	walked atomic.Int64
	ended  chan error // gets the walk's result, if not nil
}

func genName(i int) string { return fmt.Sprintf("obj-%07d", i) }

func genEntry(i int) storage.MetaEntry {
	if i%10 == 0 {
		return storage.MetaEntry{Name: genName(i) + "/", Dir: true}
	}
	return storage.MetaEntry{Name: genName(i), Metadata: []byte("record of " + genName(i))}
}

func (d *genDrive) WalkDir(ctx context.Context, _ storage.WalkDirOptions, fn func(storage.MetaEntry) error) (err error) {
	if d.ended != nil {
		defer func() { d.ended <- err }()
	}
	for i := range d.n {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.walked.Add(1)
		if err := fn(genEntry(i)); err != nil {
			return err
		}
	}
	if d.err != nil {
		return fmt.Errorf("walk on %s: %w", d.endpoint, d.err)
	}
	return nil
}

// TestWalkDirEntriesOutliveBatches: the client decodes every batch into one
// value, yet the entries it hands out are the caller's: kept until the end
// of a walk of many batches, each still has its own name and record, and a
// directory's record is nil.
func TestWalkDirEntriesOutliveBatches(t *testing.T) {
	c := newTestCluster(t)
	const n = 5000 // batches of 8, 16, ... 1024, 1024, ...
	d := c.serve(t, &genDrive{faultDrive: faultDrive{endpoint: "/gen/outlive"}, n: n})
	var kept []storage.MetaEntry
	err := d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "bucket"}, func(e storage.MetaEntry) error {
		kept = append(kept, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != n {
		t.Fatalf("walked %d entries, want %d", len(kept), n)
	}
	for i, e := range kept {
		want := genEntry(i)
		if e.Name != want.Name || e.Dir != want.Dir || string(e.Metadata) != string(want.Metadata) {
			t.Fatalf("entry %d is %+v, want %+v", i, e, want)
		}
		if e.Dir && e.Metadata != nil {
			t.Fatalf("directory %s with a record %q", e.Name, e.Metadata)
		}
	}
}

// TestWalkDirErrorAfterEntries: entries walked before the drive failed reach
// the caller before the failure, which is the drive's sentinel.
func TestWalkDirErrorAfterEntries(t *testing.T) {
	c := newTestCluster(t)
	for _, n := range []int{0, 5, 3000} {
		d := c.serve(t, &genDrive{faultDrive: faultDrive{endpoint: fmt.Sprintf("/gen/fail%d", n)}, n: n, err: storage.ErrFaultyDisk})
		seen := 0
		err := d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error {
			seen++
			return nil
		})
		if seen != n || !errors.Is(err, storage.ErrFaultyDisk) {
			t.Errorf("drive failing after %d entries: caller saw %d, then %v", n, seen, err)
		}
	}
}

// TestWalkDirPausesSlowCaller: while the caller does not take entries, the
// drive's walk stops once the stream's window is full instead of walking on
// into memory; cancelling the caller then ends the drive's walk.
func TestWalkDirPausesSlowCaller(t *testing.T) {
	c := newTestCluster(t)
	gd := &genDrive{faultDrive: faultDrive{endpoint: "/gen/slow"}, n: 1 << 20, ended: make(chan error, 1)}
	d := c.serve(t, gd)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	blocked := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error {
			select {
			case <-blocked:
			default:
				close(blocked) // the first entry: stall until cancelled
				<-ctx.Done()
			}
			return nil
		})
	}()
	<-blocked
	// Wait until the walk has stopped moving.
	last := int64(-1)
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(100 * time.Millisecond)
		now := gd.walked.Load()
		if now == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the walk is still going after 10s (%d entries) under a caller that reads nothing", now)
		}
		last = now
	}
	// Ahead of the caller, with batches doubling from walkFirstBatch: the
	// batch it is stuck in and those queued behind it (walkWindowMsgs in
	// all: the grid returns credit by halves of the window, so the credit
	// of the batch being read is still owed),
	// the one the grid holds waiting for credit and the one the handler is
	// sending: 8+16+...+256 = 504 entries, as the raw stream walked. WalkDir
	// is a typed stream now, whose sends go through one more stage (a typed
	// channel and its encoder goroutine): that holds a batch more when the
	// scheduling lets it, 1016 entries, still a bound.
	maxAhead := int64(walkFirstBatch * (1<<(walkWindowMsgs+3) - 1))
	if last > maxAhead {
		t.Errorf("the drive walked %d entries ahead of a stalled caller, want at most %d", last, maxAhead)
	}
	t.Logf("walked %d entries ahead of a stalled caller", last)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk returned %v", err)
	}
	select {
	case err := <-gd.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the drive's walk ended with %v, want Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drive's walk did not end after the caller cancelled")
	}
}

// TestWalkDirMalformedBatch: a peer that sends a message that is not a batch
// fails the walk promptly with an error that says so, after the entries of
// the good batches before it, and its handler is told to stop.
func TestWalkDirMalformedBatch(t *testing.T) {
	c := newTestCluster(t)
	good, err := (&walkBatch{Entries: []storage.MetaEntry{{Name: "a", Metadata: []byte("rec")}, {Name: "b/", Dir: true}}}).MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Messages of the retired WalkDir handler: entries back to back.
	var old []byte
	for _, e := range []storage.MetaEntry{{Name: "x", Metadata: []byte("rec")}, {Name: "y"}} {
		if old, err = e.MarshalMsg(old); err != nil {
			t.Fatal(err)
		}
	}
	bad := map[string][]byte{
		"old format":    old,
		"two batches":   append(slices.Clip(good), good...),
		"reserved byte": {0xc1},
		"truncated":     good[:len(good)-2],
		"huge array":    {0x81, 0xa1, 'e', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge record":   {0x81, 0xa1, 'e', 0x91, 0x81, 0xa1, 'm', 0xc6, 0xff, 0xff, 0xff, 0xff},
		"not a map":     {0x93, 0x01, 0x02, 0x03},
		"empty":         {},
	}
	i := 0
	for what, msg := range bad {
		i++
		endpoint := fmt.Sprintf("/rogue/%d", i)
		stopped := make(chan error, 1)
		err := c.server.m.RegisterStream(proto.HandlerDriveWalkDir, grid.StreamHandler{
			Handle: func(ctx context.Context, _ []byte, _ <-chan []byte, out chan<- []byte) error {
				out <- append(grid.GetBuffer(len(good)), good...)
				out <- append(grid.GetBuffer(len(msg)), msg...)
				// A well-behaved sender would go on; this one waits to be
				// told to stop.
				select {
				case <-ctx.Done():
					stopped <- ctx.Err()
				case <-time.After(10 * time.Second):
					stopped <- errors.New("never cancelled")
				}
				return nil
			},
		}, endpoint)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err = c.remote(endpoint).WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket"}, func(e storage.MetaEntry) error {
			names = append(names, e.Name)
			return nil
		})
		cancel()
		if strings.Join(names, ",") != "a,b/" {
			t.Errorf("%s: walked %q before the bad batch, want a, b/", what, names)
		}
		switch {
		case err == nil:
			t.Errorf("%s: the walk succeeded", what)
		case errors.Is(err, context.DeadlineExceeded):
			t.Errorf("%s: the walk hung: %v", what, err)
		case !strings.Contains(err.Error(), "undecodable message") || !strings.Contains(err.Error(), "WalkDir on "):
			t.Errorf("%s: unclear error %v", what, err)
		case errors.Is(err, storage.ErrDriveOffline):
			t.Errorf("%s: reported as offline: %v", what, err)
		}
		if err := <-stopped; !errors.Is(err, context.Canceled) {
			t.Errorf("%s: the sending handler: %v", what, err)
		}
	}
}
