package missedlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/object"
)

// FileName is the log file's name in each of its directories.
const FileName = "missed-writes.log"

// Defaults of Config.
const (
	DefaultMaxEntries   = 1_000_000
	DefaultCompactBytes = 4 << 20
)

// Config configures a Log.
type Config struct {
	// Dirs are the directories of the log's files, one per local drive
	// (DirOf): every record goes to each of them. Required.
	Dirs []string
	// MaxEntries bounds the entries held (in memory too); beyond it, new
	// missed writes are not recorded one by one, and the log says it is
	// incomplete (a walk finds them). 0 means DefaultMaxEntries.
	MaxEntries int
	// CompactBytes is the file size past which a file is rewritten with
	// only the entries still waiting; 0 means DefaultCompactBytes.
	CompactBytes int64
	// Logger hears about files that fail, once each. Nil logs nothing.
	Logger *zap.Logger
}

// DirOf is where a drive keeps its log file: in the drive's system
// directory, beside its format record, where no bucket can reach.
func DirOf(driveRoot string) string {
	return filepath.Join(driveRoot, ".gridstore.sys", "missed")
}

// ErrNoFile: every file of the log failed; the record is not durable.
var ErrNoFile = errors.New("missedlog: no log file could store the record")

// ErrClosed: the log is closed.
var ErrClosed = errors.New("missedlog: closed")

// Log is the durable log of missed writes of one node. Open it with Open;
// it implements object.MissedWrites.
type Log struct {
	cfg   Config
	log   *zap.Logger
	files []*file

	mu      sync.Mutex
	entries map[uint64]*Entry
	nextID  uint64
	closed  bool

	// incomplete is set when records may be missing (see Incomplete).
	incomplete atomic.Bool
	lostAt     atomic.Int64 // Unix nanos of the first loss not yet walked over

	recorded, done, failed atomic.Uint64

	wg sync.WaitGroup
}

var _ object.MissedWrites = (*Log)(nil)

// Open opens (creating them as needed) the log's files and reads them:
// an entry in any of them that no file marks done is waiting. A record cut
// short at the end of a file (a crash while it was appended: it was never
// acknowledged) is dropped; damage anywhere else, a file that cannot be
// read or a directory that cannot hold one marks the log incomplete (a file
// that cannot be opened is left out, but Open fails only when none can).
// The files are then rewritten with only the waiting entries.
func Open(cfg Config) (*Log, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("missedlog: no directory")
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.CompactBytes <= 0 {
		cfg.CompactBytes = DefaultCompactBytes
	}
	l := &Log{cfg: cfg, log: cfg.Logger, entries: map[uint64]*Entry{}, nextID: 1}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	doneIDs := map[uint64]bool{}
	var opened []string
	for _, dir := range cfg.Dirs {
		recs, err := load(filepath.Join(dir, FileName))
		if err != nil {
			l.log.Warn("missed-write log: file damaged or unreadable; a walk will make up for what it held",
				zap.String("dir", dir), zap.Error(err))
			l.markLost(time.Now())
		}
		for _, r := range recs {
			if r.kind != kindLost {
				l.nextID = max(l.nextID, r.entry.ID+1)
			}
			switch r.kind {
			case kindMissed:
				if _, ok := l.entries[r.entry.ID]; !ok && len(l.entries) < cfg.MaxEntries {
					e := r.entry
					l.entries[e.ID] = &e
				}
			case kindDone:
				doneIDs[r.entry.ID] = true
			case kindLost:
				l.markLost(time.Unix(0, int64(r.entry.ID)))
			}
		}
		opened = append(opened, dir)
	}
	for id := range doneIDs {
		delete(l.entries, id)
	}
	for _, dir := range opened {
		f, err := l.openFile(dir)
		if err != nil {
			l.log.Warn("missed-write log: cannot write in this directory", zap.String("dir", dir), zap.Error(err))
			l.markLost(time.Now())
			continue
		}
		l.files = append(l.files, f)
	}
	if len(l.files) == 0 {
		return nil, fmt.Errorf("%w: in %v", ErrNoFile, cfg.Dirs)
	}
	for _, f := range l.files {
		l.wg.Go(f.run)
	}
	return l, nil
}

// load reads the records of a log file; a missing file has none. A torn
// tail is cut off the file (so that appends continue after the last valid
// record) and is not an error.
func load(path string) ([]record, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	case len(b) < len(magic):
		if string(b) == magic[:len(b)] {
			return nil, nil // created, never written to: torn
		}
		return nil, fmt.Errorf("read %s: %w: not a missed-write log", path, errCorrupt)
	case string(b[:len(magic)]) != magic:
		return nil, fmt.Errorf("read %s: %w: not a missed-write log", path, errCorrupt)
	}
	recs, _, err := decodeAll(b[len(magic):])
	if errors.Is(err, errTorn) {
		err = nil
	}
	if err != nil {
		return recs, fmt.Errorf("read %s: %w", path, err)
	}
	return recs, nil
}

// markLost records in memory that entries may be missing since t.
func (l *Log) markLost(t time.Time) {
	l.incomplete.Store(true)
	l.lostAt.CompareAndSwap(0, t.UnixNano())
}

// Incomplete reports whether missed writes may have gone unrecorded: a file
// was damaged or could not be written, a record could not be stored, or
// more entries were waiting than MaxEntries. Then the node must walk its
// sets to find what its drives' peers missed (see the package doc), and call
// Walked when it has.
func (l *Log) Incomplete() bool { return l.incomplete.Load() }

// Walked says that a walk that started at start found every object that
// disagreed: losses before start are made up for. The loss mark is dropped
// from the files (they are rewritten soon).
func (l *Log) Walked(start time.Time) {
	at := l.lostAt.Load()
	if at != 0 && at < start.UnixNano() && l.lostAt.CompareAndSwap(at, 0) {
		l.incomplete.Store(false)
		for _, f := range l.files {
			f.rewriteSoon() // without the loss mark
		}
	}
}

// RememberMissed implements object.MissedWrites: it stores w in every file
// and returns once one of them has synced it. Calls that arrive while a
// sync is under way share the next one.
func (l *Log) RememberMissed(ctx context.Context, w object.MissedWrite) error {
	e := Entry{Time: time.Now().UTC(), Bucket: w.Bucket, Object: w.Object, VersionID: w.VersionID, Drives: slices.Clone(w.Drives)}
	slices.Sort(e.Drives)
	e.Drives = slices.Compact(e.Drives)
	if err := checkEntry(&e); err != nil {
		return fmt.Errorf("missedlog: %s/%s: %w", w.Bucket, w.Object, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if len(l.entries) >= l.cfg.MaxEntries {
		l.mu.Unlock()
		return l.overflow(ctx)
	}
	e.ID = l.nextID
	l.nextID++
	l.entries[e.ID] = &e
	l.mu.Unlock()
	if err := l.append(ctx, record{kind: kindMissed, entry: e}, true); err != nil {
		l.failed.Add(1)
		return err
	}
	l.recorded.Add(1)
	return nil
}

// overflow records, durably if it can, that entries are no longer recorded
// one by one.
func (l *Log) overflow(ctx context.Context) error {
	now := time.Now()
	first := l.lostAt.Load() == 0
	l.markLost(now)
	if first {
		l.log.Warn("missed-write log full: further missed writes are found by a walk", zap.Int("entries", l.cfg.MaxEntries))
		return l.append(ctx, record{kind: kindLost, entry: Entry{ID: uint64(now.UnixNano())}}, true)
	}
	return nil
}

// append hands the record to every file and, with sync, waits until one
// has it on disk, or every one has failed, or ctx ends. A record that no
// file stored marks the log incomplete.
func (l *Log) append(ctx context.Context, r record, sync bool) error {
	b := appendRecord(nil, r)
	var a *ack
	if sync {
		a = &ack{done: make(chan struct{})}
		a.left.Store(int32(len(l.files)))
	}
	for _, f := range l.files {
		f.add(b, a)
	}
	if !sync {
		return nil
	}
	select {
	case <-a.done:
		if a.ok.Load() {
			return nil
		}
		l.markLost(time.Now())
		return ErrNoFile
	case <-ctx.Done():
		l.markLost(time.Now())
		return fmt.Errorf("missedlog: waiting for the sync: %w", ctx.Err())
	}
}

// Entries returns the waiting entries, oldest first.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, *e)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int { return cmpID(a.ID, b.ID) })
	return out
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Done removes the entries with these IDs: their objects are healed. It
// does not wait for the disk: a done mark lost in a crash only makes the
// object be healed (found healthy) once more.
func (l *Log) Done(ids ...uint64) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	var b []byte
	for _, id := range ids {
		if _, ok := l.entries[id]; ok {
			delete(l.entries, id)
			b = appendRecord(b, record{kind: kindDone, entry: Entry{ID: id}})
		}
	}
	l.mu.Unlock()
	if len(b) == 0 {
		return
	}
	l.done.Add(uint64(len(ids)))
	for _, f := range l.files {
		f.add(b, nil)
	}
}

// Stats counts what the log did.
type Stats struct {
	Waiting    int    // entries waiting to be healed
	Recorded   uint64 // missed writes stored
	Done       uint64 // entries healed
	Failed     uint64 // missed writes that no file could store
	Incomplete bool
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	waiting := len(l.entries)
	l.mu.Unlock()
	return Stats{Waiting: waiting, Recorded: l.recorded.Load(), Done: l.done.Load(), Failed: l.failed.Load(), Incomplete: l.Incomplete()}
}

// Close writes what is pending, stops the files' writers and closes them.
// Later calls fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	for _, f := range l.files {
		f.stop()
	}
	l.wg.Wait()
	var errs []error
	for _, f := range l.files {
		if err := f.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", f.path, err))
		}
	}
	return errors.Join(errs...)
}

// snapshot encodes the waiting entries (and a loss mark, if the log is
// incomplete) as the content of a rewritten file.
func (l *Log) snapshot() []byte {
	b := []byte(magic)
	if at := l.lostAt.Load(); at != 0 {
		b = appendRecord(b, record{kind: kindLost, entry: Entry{ID: uint64(at)}})
	}
	l.mu.Lock()
	ids := slices.Sorted(maps.Keys(l.entries))
	for _, id := range ids {
		b = appendRecord(b, record{kind: kindMissed, entry: *l.entries[id]})
	}
	l.mu.Unlock()
	return b
}
