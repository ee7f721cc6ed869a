package listing

import (
	"context"

	"github.com/gridstore/gridstore/storage"
)

// driveItem is one entry of a drive's walk as the merge sees it, or the end
// of the walk (end, with the walk's error if it failed).
type driveItem struct {
	name string
	dir  bool
	ver  version
	bad  error // the record does not decode or cannot be this set's: no vote
	end  bool
	err  error
}

// driveStream turns a drive's push walk (WalkDir calls a function per entry)
// into a pull iterator: a goroutine runs the walk and hands entries over a
// channel of bounded capacity, so that at most that many entries per drive
// are read ahead of the merge, and the drives of a set are read in
// parallel. The goroutine also decodes the records, which spreads that
// work over the drives too.
type driveStream struct {
	ch     chan driveItem
	wake   chan<- struct{} // the set walk's: told of every item sent
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned
}

// startDrive starts walking d. setSize is the number of drives of its set,
// which a record's erasure layout must match. wake (capacity 1) gets a
// signal, without blocking, after every item the walk hands over, so that
// the merge can wait for several drives at once.
func startDrive(ctx context.Context, d storage.Drive, opts storage.WalkDirOptions, setSize, buffer int, wake chan<- struct{}) *driveStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &driveStream{ch: make(chan driveItem, buffer), wake: wake, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, d, opts, setSize)
	return s
}

func (s *driveStream) run(ctx context.Context, d storage.Drive, opts storage.WalkDirOptions, setSize int) {
	defer close(s.done)
	send := func(it driveItem) error {
		select {
		case s.ch <- it:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case s.wake <- struct{}{}:
		default: // a signal is pending already
		}
		return nil
	}
	err := d.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
		if e.IsDir() {
			return send(driveItem{name: e.Name, dir: true})
		}
		it := driveItem{name: e.Name}
		it.ver, it.bad = latestVersion(e.Metadata, setSize)
		return send(it)
	})
	_ = send(driveItem{end: true, err: err}) // fails only once nobody listens
}

// stop cancels the walk and waits for its goroutine, so that nothing of a
// listing outlives it. Drives return promptly once their context is done
// (storage.Drive), so the wait is short.
func (s *driveStream) stop() {
	s.cancel()
	<-s.done
}
