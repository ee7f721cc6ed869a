package listing

import (
	"context"
	"fmt"
	"iter"
	"time"
	"unicode/utf8"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// Defaults of Config.
const (
	// DefaultBuffer is how many entries a drive's walk may read ahead of
	// the merge: enough to keep a drive busy while the merge waits on
	// another, small enough that a listing of 16-drive sets buffers a few
	// thousand small entries.
	DefaultBuffer = 32
	// DefaultStallTimeout bounds the wait for a drive's next entry. It is
	// generous because a local drive reads a whole directory (and stats its
	// entries) before it yields the directory's first entry.
	DefaultStallTimeout = 30 * time.Second
	// DefaultLate is the least grace a set's lagging drives get once a
	// majority of it has answered (Config.Late).
	DefaultLate = 500 * time.Millisecond
)

// Set is one erasure set as a listing sees it.
type Set struct {
	// Drives are the set's drives in position order; a nil entry is a
	// drive that is offline.
	Drives []storage.Drive
	// ReadQuorum is the read quorum of the set's default parity
	// (layout.ReadQuorum): the drives that must be available for a
	// listing, and that must agree on a delete marker. An object version
	// needs its own data shard count.
	ReadQuorum int
}

// Config describes the sets a Lister lists.
type Config struct {
	// Sets are the deployment's erasure sets. Every object lives in exactly
	// one of them.
	Sets []Set
	// Buffer is the number of entries each drive's walk reads ahead; 0
	// means DefaultBuffer.
	Buffer int
	// StallTimeout is how long the merge waits for one drive's next entry
	// before it drops the drive (the drive is reported, and the listing
	// goes on while a read quorum remains); 0 means DefaultStallTimeout, a
	// negative value waits as long as the context allows.
	StallTimeout time.Duration
	// Late is the least time the merge still waits for a set's drives
	// that have not yielded their next entry once a majority of the set
	// (and its read quorum) have: then the drives still silent after
	// Late, or after 4 times what the others took if that is longer, are
	// given up for the rest of the listing (reported like a stalled
	// drive), as long as a read quorum remains. 0 means DefaultLate; a
	// negative value waits for every drive up to StallTimeout.
	Late time.Duration
	// OnDriveError, if set, is told about every drive dropped from a
	// listing (failed or stalled walk) and every record that does not
	// decode or fit the set (err wraps storage.ErrFileCorrupt or
	// storage.ErrUnknownFormat), for logs and metrics. set and pos locate
	// the drive. It is called on the listing's goroutine: it must not block.
	OnDriveError func(set, pos int, err error)
	// OnStale, if set, is told about listed objects that some available
	// drives of their set do not hold as the current version, so that the
	// object layer can queue them for healing. It must not block.
	OnStale func(StaleObject)
}

// StaleObject names an object that a listing found out of date on some
// drives of its set.
type StaleObject struct {
	Set            int
	Bucket, Object string
	// VersionID is the current version, as a quorum holds it.
	VersionID string
	// Missing lists the positions of available drives whose latest
	// version is absent or another; Corrupt those whose record did not
	// decode. Drives that were offline or failed are in neither.
	Missing, Corrupt []int
}

// ObjectInfo describes the current version of a listed object.
type ObjectInfo struct {
	Bucket, Name string
	// VersionID is the version's internal ID (see object.ObjectInfo).
	VersionID string
	Size      int64
	ETag      string
	ModTime   time.Time
	// ContentType and UserMetadata are the version's, as stored (the
	// metadata map also holds the other content headers; the object layer
	// splits them).
	ContentType  string
	UserMetadata map[string]string
	// DataShards and ParityShards are the version's erasure layout, from
	// which the S3 layer derives the storage class.
	DataShards, ParityShards int
	// Inline reports an object stored in its metadata records.
	Inline bool
}

// Entry is one entry of a Walk: an object, or (in a non-recursive walk) a
// directory, whose Name ends in "/" and whose Object is zero.
type Entry struct {
	Name   string
	Object ObjectInfo
	// Dir marks a directory: an object's name may end in "/" too ("dir/").
	Dir bool
}

// IsPrefix reports whether the entry is a directory rather than an object.
func (e Entry) IsPrefix() bool { return e.Dir }

// WalkOptions select what Walk visits; they are storage.WalkDirOptions'
// with the bucket as volume.
type WalkOptions struct {
	Bucket string
	// Prefix restricts the walk to names that start with it; it need not
	// end at a "/".
	Prefix string
	// StartAfter skips every name lexically <= it.
	StartAfter string
	// Recursive walks into directories and yields objects only;
	// otherwise only the directory of Prefix (up to its last "/") is read
	// and its subdirectories are yielded as entries ending in "/".
	Recursive bool
	// TrustDirectories: see ListOptions.
	TrustDirectories bool
}

// Lister lists the objects of buckets over a deployment's erasure sets. It
// is safe for concurrent use; it holds no state between calls (a page's
// position travels in its marker or continuation token).
type Lister struct {
	sets         []Set
	buffer       int
	stall        time.Duration
	late         time.Duration
	onDriveError func(set, pos int, err error)
	onStale      func(StaleObject)
}

// New returns a Lister for the sets of cfg. Every set must have
// layout.MinSetSize to layout.MaxSetSize drive positions and a read quorum
// of at least half of them (parity is at most half a set), at most all.
func New(cfg Config) (*Lister, error) {
	if len(cfg.Sets) == 0 {
		return nil, fmt.Errorf("%w: no erasure sets", ErrInvalidArgument)
	}
	l := &Lister{
		sets:         make([]Set, len(cfg.Sets)),
		buffer:       cfg.Buffer,
		stall:        cfg.StallTimeout,
		late:         cfg.Late,
		onDriveError: cfg.OnDriveError,
		onStale:      cfg.OnStale,
	}
	for i, s := range cfg.Sets {
		n := len(s.Drives)
		if n < layout.MinSetSize || n > layout.MaxSetSize {
			return nil, fmt.Errorf("%w: set %d has %d drives, want %d to %d", ErrInvalidArgument, i, n, layout.MinSetSize, layout.MaxSetSize)
		}
		if s.ReadQuorum < n-n/2 || s.ReadQuorum > n {
			return nil, fmt.Errorf("%w: set %d of %d drives has read quorum %d, want %d to %d", ErrInvalidArgument, i, n, s.ReadQuorum, n-n/2, n)
		}
		l.sets[i] = Set{Drives: append([]storage.Drive(nil), s.Drives...), ReadQuorum: s.ReadQuorum}
	}
	switch {
	case l.buffer < 0:
		return nil, fmt.Errorf("%w: buffer %d", ErrInvalidArgument, l.buffer)
	case l.buffer == 0:
		l.buffer = DefaultBuffer
	}
	if l.stall == 0 {
		l.stall = DefaultStallTimeout
	}
	if l.late == 0 {
		l.late = DefaultLate
	}
	return l, nil
}

func (l *Lister) driveError(set, pos int, err error) {
	if l.onDriveError != nil {
		l.onDriveError(set, pos, err)
	}
}

// Walk yields the bucket's entries that opts selects, in lexical order of
// their names, resolved by quorum and merged across sets as List's are, but
// without S3's grouping or paging. Stopping the iteration stops every
// drive's walk. After an error (ErrListQuorum, a missing bucket, the
// context's error) the iteration ends.
func (l *Lister) Walk(ctx context.Context, opts WalkOptions) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if err := storage.CheckVolume(opts.Bucket); err != nil {
			yield(Entry{}, fmt.Errorf("list: %w", err))
			return
		}
		if !prefixCanMatch(opts.Prefix) {
			return
		}
		w, err := l.open(ctx, storage.WalkDirOptions{Volume: opts.Bucket, Prefix: opts.Prefix, StartAfter: opts.StartAfter, Recursive: opts.Recursive}, opts.TrustDirectories)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		defer w.close()
		for {
			e, ok, err := w.next()
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if !ok || !yield(e, nil) {
				return
			}
		}
	}
}

// prefixCanMatch reports whether any valid object key can start with
// prefix (storage.CheckObjectKey). A prefix that cannot match lists
// nothing, as in S3, rather than failing.
func prefixCanMatch(prefix string) bool {
	return len(prefix) <= storage.MaxKeyLength && utf8.ValidString(prefix)
}

// entryStream is a sorted stream of resolved entries.
type entryStream interface {
	next() (Entry, bool, error)
	close()
}

// open starts the walks of every set.
func (l *Lister) open(ctx context.Context, opts storage.WalkDirOptions, trustDirs bool) (entryStream, error) {
	walks := make([]*setWalk, 0, len(l.sets))
	for i := range l.sets {
		states, errs := initialStates(&l.sets[i])
		w, err := newSetWalk(ctx, l, i, opts, states, errs)
		if err != nil {
			for _, w := range walks {
				w.close()
			}
			return nil, err
		}
		w.trustDirs = trustDirs
		walks = append(walks, w)
	}
	if len(walks) == 1 {
		return walks[0], nil
	}
	return &mergeWalk{sets: walks, heads: make([]Entry, len(walks)), state: make([]uint8, len(walks))}, nil
}

// mergeWalk merges the sorted streams of several sets into one.
type mergeWalk struct {
	sets  []*setWalk
	heads []Entry
	state []uint8 // 0: needs a head, 1: head valid, 2: ended
}

func (m *mergeWalk) close() {
	for _, w := range m.sets {
		w.close()
	}
}

// next returns the smallest head. Several sets can yield the same name only
// for a directory (each holds objects under it): it is yielded once. Two
// sets with an object of the same name should not happen (an object maps to
// one set); if a layout change or a bug left one, the newer version wins,
// the lower set on a tie, so that a name is never listed twice.
func (m *mergeWalk) next() (Entry, bool, error) {
	for i, w := range m.sets {
		if m.state[i] != 0 {
			continue
		}
		e, ok, err := w.next()
		if err != nil {
			return Entry{}, false, err
		}
		if !ok {
			m.state[i] = 2
			continue
		}
		m.heads[i], m.state[i] = e, 1
	}
	best := -1
	for i := range m.sets {
		if m.state[i] != 1 {
			continue
		}
		switch {
		case best < 0 || m.heads[i].Name < m.heads[best].Name:
			best = i
		case m.heads[i].Name == m.heads[best].Name:
			if newer(&m.heads[i].Object, &m.heads[best].Object) {
				m.state[best] = 0
				best = i
			} else {
				m.state[i] = 0
			}
		}
	}
	if best < 0 {
		return Entry{}, false, nil
	}
	m.state[best] = 0
	// Drop the duplicates of the chosen name not yet marked.
	for i := range m.sets {
		if m.state[i] == 1 && m.heads[i].Name == m.heads[best].Name {
			m.state[i] = 0
		}
	}
	return m.heads[best], true, nil
}

func newer(a, b *ObjectInfo) bool {
	if c := a.ModTime.Compare(b.ModTime); c != 0 {
		return c > 0
	}
	return a.VersionID > b.VersionID
}
