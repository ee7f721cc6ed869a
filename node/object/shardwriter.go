package object

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/remote"
)

// shardWriter writes one shard file into a drive's TmpVolume through
// storage/remote's ShardWriter (a ring buffer of up to 2 MiB drained into
// the drive's CreateFile by a goroutine, for local and remote drives
// alike), so the encoder waits only when the drive has fallen a whole
// buffer behind (DESIGN §4).
//
// It adds a watchdog: a Write, or the final wait for the file to be synced,
// that makes no progress for the shard timeout cancels the drive's
// CreateFile, so that the call returns with errShardTimeout and the encoder
// drops the shard and goes on with the others instead of waiting for a hung
// drive. While such a wait lasts, the watchdog also looks every
// shardLiveCheck whether the drive has been declared down (its node paused,
// cut off or dead, as the liveness view sees it): the shard is then given
// up at once, with errKnownOffline, as a fan-out stops waiting for such a
// drive. A drive that keeps going but falls behind the others is left
// behind by the encoder itself (Abandon).
type shardWriter struct {
	sw       *remote.ShardWriter
	drive    storage.Drive
	cancel   context.CancelFunc
	timeout  time.Duration
	watchdog *time.Timer
	armed    atomic.Int64 // unix nanos at which the wait being watched began; 0: none
	expired  atomic.Bool
	down     atomic.Bool
}

// shardLiveCheck is how often a blocked shard write asks whether its drive
// has been declared down.
const shardLiveCheck = 100 * time.Millisecond

// newShardWriter starts CreateFile(volume, path) on d (TmpVolume for a PUT,
// MultipartVolume for a part). size is the exact shard file size, or -1 if
// unknown.
func (s *Set) newShardWriter(ctx context.Context, d storage.Drive, volume, path string, size int64) *shardWriter {
	cctx, cancel := context.WithCancel(ctx)
	sw := remote.NewShardWriter(cctx, d, volume, path, size)
	w := &shardWriter{sw: sw, drive: d, cancel: cancel, timeout: s.shardTimeout}
	w.watchdog = time.AfterFunc(time.Hour, w.check)
	w.watchdog.Stop()
	return w
}

// arm starts watching a wait; disarm ends it.
func (w *shardWriter) arm() {
	w.armed.Store(time.Now().UnixNano())
	w.watchdog.Reset(min(w.timeout, shardLiveCheck))
}

func (w *shardWriter) disarm() {
	w.armed.Store(0)
	w.watchdog.Stop()
}

// check runs when a watched wait has lasted a while: it gives the shard up
// if its drive is known down or the wait reached the shard timeout, and
// otherwise looks again later.
func (w *shardWriter) check() {
	start := w.armed.Load()
	if start == 0 {
		return // the wait ended meanwhile
	}
	down := storage.KnownDown(w.drive)
	left := w.timeout - time.Since(time.Unix(0, start))
	if !down && left > 0 {
		w.watchdog.Reset(min(left, shardLiveCheck))
		return
	}
	if w.armed.Load() != start {
		return // that wait ended, another began
	}
	var cause error
	if down {
		w.down.Store(true)
		cause = fmt.Errorf("%w (%s)", errKnownOffline, w.drive)
	} else {
		w.expired.Store(true)
		cause = fmt.Errorf("%w (%v)", errShardTimeout, w.timeout)
	}
	// Cancelling alone would leave a Write blocked on the full ring
	// buffer of a drive that ignores its context (stuck in a system call)
	// blocked for good; the abort wakes it.
	w.sw.Abort(cause)
	w.cancel()
}

// Write implements io.Writer for the bitrot writer in front.
func (w *shardWriter) Write(p []byte) (int, error) {
	w.arm()
	n, err := w.sw.Write(p)
	w.disarm()
	return n, w.explain(err)
}

// finish ends the input and waits for the file to be complete and synced.
// It returns CreateFile's result.
func (w *shardWriter) finish() error {
	w.arm()
	err := w.sw.Close()
	w.disarm()
	w.cancel()
	return w.explain(err)
}

// Abandon implements erasure.Abandoner: the encoder leaves this shard
// behind, its drive having held the others back by more than the write
// grace. A Write in progress returns at once and CreateFile fails, so the
// drive removes what it wrote; the owner still aborts the writer. Safe
// while Write runs.
func (w *shardWriter) Abandon(cause error) {
	w.sw.Abort(fmt.Errorf("%w: %w", errShardStraggler, cause))
}

// abort gives the shard up: CreateFile fails, removing what it wrote, and
// abort waits for that.
func (w *shardWriter) abort(cause error) {
	w.disarm()
	_ = w.sw.CloseWithError(cause)
	w.cancel()
}

// explain names a failure the watchdog caused.
func (w *shardWriter) explain(err error) error {
	switch {
	case err == nil:
	case w.down.Load() && !errors.Is(err, errKnownOffline):
		return fmt.Errorf("%w (%s): %w", errKnownOffline, w.drive, err)
	case w.expired.Load() && !errors.Is(err, errShardTimeout):
		return fmt.Errorf("%w (%v): %w", errShardTimeout, w.timeout, err)
	}
	return err
}
