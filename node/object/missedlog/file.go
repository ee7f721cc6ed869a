package missedlog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// ack is what a synced append waits for: the first file to sync the
// record answers ok; if every file fails, not ok.
type ack struct {
	once sync.Once
	done chan struct{}
	left atomic.Int32 // files that have not answered
	ok   atomic.Bool
}

func (a *ack) answer(ok bool) {
	if ok {
		a.ok.Store(true)
		a.once.Do(func() { close(a.done) })
		return
	}
	if a.left.Add(-1) <= 0 {
		a.once.Do(func() { close(a.done) })
	}
}

// file is one of the log's files, with the goroutine that writes to it.
// Appends gather in pending while the writer syncs the previous batch, and
// go out in one write and one sync: a burst of missed writes shares the
// syncs (group commit).
type file struct {
	l    *Log
	path string
	f    *os.File
	size int64 // bytes in the file; the writer's own

	mu      sync.Mutex
	pending []byte
	acks    []*ack
	failed  error // once set, the file takes no more records
	stopped bool
	compact bool          // rewrite at the next write, whatever the size
	wake    chan struct{} // capacity 1
}

// openFile rewrites the file in dir with the log's waiting entries (so a
// torn tail or done entries do not stay) and opens it for appending.
func (l *Log) openFile(dir string) (*file, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f := &file{l: l, path: filepath.Join(dir, FileName), wake: make(chan struct{}, 1)}
	if err := f.rewrite(l.snapshot()); err != nil {
		return nil, err
	}
	return f, nil
}

// rewrite replaces the file with content, durably: a new file, synced,
// renamed over the old one, the directory synced. The file is then open
// for appending at its end.
func (f *file) rewrite(content []byte) error {
	tmp := f.path + ".new"
	nf, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", f.path, err)
	}
	_, err = nf.Write(content)
	if err == nil {
		err = nf.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(f.path))
	}
	if err != nil {
		nf.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("rewrite %s: %w", f.path, err)
	}
	if f.f != nil {
		f.f.Close()
	}
	f.f, f.size = nf, int64(len(content))
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// add queues b (whole records) for the file; a, if set, is answered once
// the file has synced it or failed.
func (f *file) add(b []byte, a *ack) {
	f.mu.Lock()
	if f.failed != nil || f.stopped {
		f.mu.Unlock()
		if a != nil {
			a.answer(false)
		}
		return
	}
	f.pending = append(f.pending, b...)
	if a != nil {
		f.acks = append(f.acks, a)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// rewriteSoon makes the writer rewrite the file from the log's entries.
func (f *file) rewriteSoon() {
	f.mu.Lock()
	f.compact = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// stop makes the writer write what is pending and end.
func (f *file) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run writes batches until stopped.
func (f *file) run() {
	for {
		<-f.wake
		f.mu.Lock()
		batch, acks, stopped, compact := f.pending, f.acks, f.stopped, f.compact
		f.pending, f.acks, f.compact = nil, nil, false
		f.mu.Unlock()
		if len(batch) > 0 || compact {
			err := f.write(batch, len(acks) > 0, compact)
			for _, a := range acks {
				a.answer(err == nil)
			}
			if err != nil {
				f.fail(err)
			}
		}
		if stopped {
			return
		}
	}
}

// write appends batch, synced if sync, or rewrites the file with the
// waiting entries when it has grown past CompactBytes (the batch's records
// are in that snapshot or, for done marks, already gone from it; writing
// them after it as well is harmless).
func (f *file) write(batch []byte, sync, compact bool) error {
	if compact || f.size+int64(len(batch)) > f.l.cfg.CompactBytes {
		snap := f.l.snapshot()
		if compact || int64(len(snap)) < f.l.cfg.CompactBytes/2 {
			return f.rewrite(append(snap, batch...))
		}
	}
	n, err := f.f.Write(batch)
	f.size += int64(n)
	if err == nil && sync {
		err = f.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("append to %s: %w", f.path, err)
	}
	return nil
}

// fail takes the file out of the log: what it holds stays valid for the
// next Open, but it misses records from here on, so the log is incomplete
// unless another file has them (the ack tells the appender).
func (f *file) fail(err error) {
	f.mu.Lock()
	first := f.failed == nil
	f.failed = err
	acks := f.acks
	f.pending, f.acks = nil, nil
	f.mu.Unlock()
	for _, a := range acks {
		a.answer(false)
	}
	if first {
		f.l.log.Warn("missed-write log: file failed; the other files (if any) go on", zap.String("path", f.path), zap.Error(err))
	}
}
