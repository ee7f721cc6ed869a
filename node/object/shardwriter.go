package object

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/remote"
)

// shardWriter writes one shard file into a drive's TmpVolume through
// storage/remote's ShardWriter (a 2 MiB ring buffer drained into the drive's
// CreateFile by a goroutine, for local and remote drives alike), so the
// encoder waits only when the drive has fallen a whole buffer behind
// (DESIGN §4).
//
// It adds a watchdog: a Write, or the final wait for the file to be synced,
// that makes no progress for the shard timeout cancels the drive's
// CreateFile, so that the call returns with errShardTimeout and the encoder
// drops the shard and goes on with the others instead of waiting for a hung
// drive.
type shardWriter struct {
	sw       *remote.ShardWriter
	cancel   context.CancelFunc
	timeout  time.Duration
	watchdog *time.Timer
	expired  atomic.Bool
}

// newShardWriter starts CreateFile(volume, path) on d (TmpVolume for a PUT,
// MultipartVolume for a part). size is the exact shard file size, or -1 if
// unknown.
func (s *Set) newShardWriter(ctx context.Context, d storage.Drive, volume, path string, size int64) *shardWriter {
	cctx, cancel := context.WithCancel(ctx)
	w := &shardWriter{cancel: cancel, timeout: s.shardTimeout}
	w.watchdog = time.AfterFunc(time.Hour, func() {
		w.expired.Store(true)
		cancel()
	})
	w.watchdog.Stop()
	w.sw = remote.NewShardWriter(cctx, d, volume, path, size)
	return w
}

// Write implements io.Writer for the bitrot writer in front.
func (w *shardWriter) Write(p []byte) (int, error) {
	w.watchdog.Reset(w.timeout)
	n, err := w.sw.Write(p)
	w.watchdog.Stop()
	return n, w.explain(err)
}

// finish ends the input and waits for the file to be complete and synced.
// It returns CreateFile's result.
func (w *shardWriter) finish() error {
	w.watchdog.Reset(w.timeout)
	err := w.sw.Close()
	w.watchdog.Stop()
	w.cancel()
	return w.explain(err)
}

// abort gives the shard up: CreateFile fails, removing what it wrote, and
// abort waits for that.
func (w *shardWriter) abort(cause error) {
	w.watchdog.Stop()
	_ = w.sw.CloseWithError(cause)
	w.cancel()
}

// explain names a failure the watchdog caused.
func (w *shardWriter) explain(err error) error {
	if err != nil && w.expired.Load() {
		return fmt.Errorf("%w (%v): %w", errShardTimeout, w.timeout, err)
	}
	return err
}
