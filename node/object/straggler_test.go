package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/faultdrive"
)

// TestPutLeavesSlowDriveBehind: one drive of six writes at 4 MB/s while
// the others go at disk speed, or stops reading its input after 1 MiB
// (stuck in a system call that ignores cancellation). A 16 MiB PUT does
// not go at that drive's pace, nor wait out the shard timeout (30 s) for
// the stuck one: the drive's shard is given up once it holds the others
// back by the write grace, the PUT succeeds with the other five, the object
// reads back, and the drive is queued for healing. With the default
// configuration (1 MiB blocks, default grace and timeouts) and the tests'
// (64 KiB blocks, shorter grace).
func TestPutLeavesSlowDriveBehind(t *testing.T) {
	faults := []struct {
		name  string
		fault faultdrive.Fault
	}{
		{"4MB/s", faultdrive.Slow(4 << 20)},
		{"stuck after 1MiB", faultdrive.HangAfter(1 << 20)},
	}
	for _, f := range faults {
		for _, defaults := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/defaults=%v", f.name, defaults), func(t *testing.T) {
				const slowPos, size = 2, 16 << 20
				var slow *faultdrive.Drive
				ts := newTestSet(t, 6, func(c *Config) {
					if defaults {
						c.BlockSize, c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout, c.StragglerWait = 0, 0, 0, 0, 0
					}
					slow = faultdrive.New(c.Drives[slowPos])
					c.Drives[slowPos] = slow
				})
				slow.Set(f.fault, faultdrive.OpCreateFile, faultdrive.OpReadFileStream)
				defer slow.Release() // a stuck call goes on, and its goroutines end
				data := randomBytes(7, size)

				start := time.Now()
				info := ts.put(t, "big", data)
				took := time.Since(start)
				t.Logf("16 MiB PUT with one drive of six %s: %v (write grace %v, shard timeout %v)", f.name, took, ts.writeGrace(), ts.shardTimeout)
				if took > 5*time.Second {
					t.Fatalf("PUT took %v: it waited for the slow drive", took)
				}

				ts.mustGet(t, "big", data)
				var named bool
				for _, r := range ts.heals.take() {
					if r.Object == "big" && r.VersionID == info.VersionID && slices.Contains(r.Missing, slowPos) {
						named = true
					} else if slices.ContainsFunc(r.Missing, func(p int) bool { return p != slowPos }) {
						t.Errorf("heal request names healthy drives: %+v", r)
					}
				}
				if !named {
					t.Fatal("no heal request names the slow drive")
				}
				// The slow drive has no version of the object, and its
				// abandoned shard file goes away.
				_, err := slow.Inner().ReadVersion(context.Background(), testBucket, "big", "")
				if !isNotFound(err) {
					t.Errorf("slow drive: ReadVersion = %v, want not found", err)
				}
				slow.Release()
				ts.noTmpLeftovers(t)
			})
		}
	}
}

// TestStragglerErrorClassified: a shard left behind is a slow drive, a
// timeout of sorts, never a missing or corrupt copy.
func TestStragglerErrorClassified(t *testing.T) {
	err := fmt.Errorf("shard write: %w: %w", errShardStraggler, fmt.Errorf("shard 3: block 7: %w", erasure.ErrShardStraggler))
	if isCorrupt(err) || isNotFound(err) || userError(err) != nil {
		t.Errorf("%v classified as corrupt, not found or a request error", err)
	}
	if !errors.Is(err, errDriveTimeout) || !errors.Is(err, errStraggler) {
		t.Errorf("%v is not a straggler's timeout", err)
	}
	if errors.Is(err, storage.ErrDriveOffline) {
		t.Errorf("%v says the drive is offline", err)
	}
}

// TestPartLeavesStuckDriveBehind: a multipart part is coded like a PUT: a
// drive that stops taking a part's shard after 1 MiB (its 4 MiB shard
// then fills the ring buffer and blocks the encoder) costs each part the
// write grace, not the shard timeout (default configuration), and the
// completed object reads back.
func TestPartLeavesStuckDriveBehind(t *testing.T) {
	const stuckPos, partSize = 4, 16 << 20
	var stuck *faultdrive.Drive
	ts := newMPSet(t, 6, 0, func(c *Config) {
		c.BlockSize, c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout, c.StragglerWait = 0, 0, 0, 0, 0
		stuck = faultdrive.New(c.Drives[stuckPos])
		c.Drives[stuckPos] = stuck
	})
	defer stuck.Release()
	id := ts.newUpload(t, "mp", PutOptions{})
	stuck.Set(faultdrive.HangAfter(1<<20), faultdrive.OpCreateFile)
	parts := [][]byte{randomBytes(11, partSize), randomBytes(12, partSize)}
	var done []CompletePart
	for i, data := range parts {
		start := time.Now()
		p := ts.putPart(t, "mp", id, i+1, data)
		took := time.Since(start)
		t.Logf("16 MiB part %d with one drive of six stuck: %v", i+1, took)
		if took > 5*time.Second {
			t.Fatalf("part %d took %v: it waited for the stuck drive", i+1, took)
		}
		done = append(done, CompletePart{Number: p.Number, ETag: p.ETag})
	}
	stuck.Release()
	ts.complete(t, "mp", id, done)
	ts.mustGet(t, "mp", append(append([]byte(nil), parts[0]...), parts[1]...))
}

// TestShardWatchdogWakesBlockedWrite: a Write blocked on the full ring
// buffer of a drive that reads nothing and ignores its context (stuck in a
// system call) fails with errShardTimeout once the shard timeout passes
// without progress, rather than waiting for the drive for good.
func TestShardWatchdogWakesBlockedWrite(t *testing.T) {
	ts := newTestSet(t, 4, func(c *Config) { c.ShardTimeout = 200 * time.Millisecond })
	stuck := faultdrive.New(ts.drives[0])
	stuck.Set(faultdrive.HangAfter(0), faultdrive.OpCreateFile)
	defer stuck.Release()
	w := ts.newShardWriter(context.Background(), stuck, storage.TmpVolume, "stuck/part.1", 8<<20)
	start := time.Now()
	_, err := w.Write(make([]byte, 8<<20))
	took := time.Since(start)
	if !errors.Is(err, errShardTimeout) {
		t.Fatalf("Write = %v, want errShardTimeout", err)
	}
	if took > 10*time.Second {
		t.Fatalf("Write returned after %v", took)
	}
	stuck.Release()
	w.abort(err)
	if _, err := ts.local[0].ReadFileStream(context.Background(), storage.TmpVolume, "stuck/part.1", 0, -1); !isNotFound(err) {
		t.Fatalf("the timed out shard is still there: %v", err)
	}
}

// goingDownDrive says it is available until at, and known down from then
// on, as a remote drive does once the liveness view declares its node dead.
type goingDownDrive struct {
	storage.Drive
	at atomic.Int64 // unix nanos
}

func newGoingDownDrive(d storage.Drive, at time.Time) *goingDownDrive {
	g := &goingDownDrive{Drive: d}
	g.at.Store(at.UnixNano())
	return g
}

func (d *goingDownDrive) Available() (up, known bool) {
	return time.Now().UnixNano() < d.at.Load(), true
}

// TestShardWriterGivesUpADriveDeclaredDown: a shard Write blocked on a
// drive that reads nothing and ignores its context returns with
// errKnownOffline once the drive is declared down, with the default shard
// timeout (30 s) still far off.
func TestShardWriterGivesUpADriveDeclaredDown(t *testing.T) {
	ts := newTestSet(t, 4, nil)
	stuck := faultdrive.New(ts.drives[0])
	stuck.Set(faultdrive.HangAfter(0), faultdrive.OpCreateFile)
	defer stuck.Release()
	d := newGoingDownDrive(stuck, time.Now().Add(300*time.Millisecond))
	w := ts.newShardWriter(context.Background(), d, storage.TmpVolume, "down/part.1", 8<<20)
	start := time.Now()
	_, err := w.Write(make([]byte, 8<<20))
	took := time.Since(start)
	if !errors.Is(err, errKnownOffline) {
		t.Fatalf("Write = %v, want errKnownOffline", err)
	}
	if took > 10*time.Second {
		t.Fatalf("Write returned after %v (shard timeout %v)", took, ts.shardTimeout)
	}
	stuck.Release()
	w.abort(err)
}

// TestPutGivesUpDrivesDeclaredDown: three drives of four stop taking their
// shards (their node cut off) and are then declared down. The PUT cannot
// leave them behind (one drive is not a write quorum), so it used to wait
// for the shard timeout (30 s); it now fails with ErrWriteQuorum as soon
// as they are known down. With the default configuration.
func TestPutGivesUpDrivesDeclaredDown(t *testing.T) {
	var stuck []*faultdrive.Drive
	downAt := time.Now().Add(500 * time.Millisecond)
	ts := newTestSet(t, 4, func(c *Config) {
		c.BlockSize, c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout, c.StragglerWait = 0, 0, 0, 0, 0
		for pos := 1; pos < 4; pos++ {
			f := faultdrive.New(c.Drives[pos])
			stuck = append(stuck, f)
			c.Drives[pos] = newGoingDownDrive(f, downAt)
		}
	})
	for _, f := range stuck {
		f.Set(faultdrive.HangAfter(1<<20), faultdrive.OpCreateFile)
		defer f.Release()
	}
	data := randomBytes(3, 16<<20)
	start := time.Now()
	_, err := ts.PutObject(context.Background(), testBucket, "cut", bytes.NewReader(data), int64(len(data)), PutOptions{})
	took := time.Since(start)
	t.Logf("PUT with three drives of four stuck, declared down 500 ms in: %v after %v", err, took)
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("PUT = %v, want ErrWriteQuorum", err)
	}
	if took > 10*time.Second {
		t.Fatalf("PUT failed after %v: it waited for drives known down", took)
	}
}

// TestPutFailsOnceQuorumIsOutOfReach: a small PUT's shards all fit in
// their ring buffers, so it waits only in the final sync of each shard
// file. Three drives of four stall there; two are then declared down, the
// third never is. Once the two are given up no write quorum is possible,
// and the PUT fails then, without waiting for the third drive's shard
// timeout (30 s, the default kept here). The stalled drives ignore
// cancellation, behind what a remote drive's client does: its stream
// returns when cancelled, whatever the far end does (remoteLike).
func TestPutFailsOnceQuorumIsOutOfReach(t *testing.T) {
	var stuck []*faultdrive.Drive
	now := time.Now()
	ts := newTestSet(t, 4, func(c *Config) {
		c.BlockSize, c.DriveTimeout, c.ShardTimeout, c.ProbeTimeout, c.StragglerWait = 0, 0, 0, 0, 0
		for pos := 1; pos < 4; pos++ {
			f := faultdrive.New(c.Drives[pos])
			stuck = append(stuck, f)
			downAt := now.Add(time.Duration(pos) * 300 * time.Millisecond)
			if pos == 3 {
				downAt = now.Add(time.Hour)
			}
			c.Drives[pos] = newGoingDownDrive(remoteLike{f}, downAt)
		}
	})
	for _, f := range stuck {
		f.Set(faultdrive.HangAfter(0), faultdrive.OpCreateFile)
		defer f.Release()
	}
	data := randomBytes(4, 300<<10) // streamed, not inline; fits the ring buffers
	start := time.Now()
	_, err := ts.PutObject(context.Background(), testBucket, "small", bytes.NewReader(data), int64(len(data)), PutOptions{})
	took := time.Since(start)
	t.Logf("PUT with two drives declared down and one stuck: %v after %v", err, took)
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("PUT = %v, want ErrWriteQuorum", err)
	}
	if took > 10*time.Second {
		t.Fatalf("PUT failed after %v: it waited for a drive after the quorum was out of reach", took)
	}
}

// remoteLike returns from CreateFile when its context is cancelled, as
// storage/remote's client does for a peer that stopped answering, leaving
// the inner call to end on its own.
type remoteLike struct{ storage.Drive }

func (d remoteLike) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	done := make(chan error, 1)
	go func() { done <- d.Drive.CreateFile(context.WithoutCancel(ctx), volume, path, size, r) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
