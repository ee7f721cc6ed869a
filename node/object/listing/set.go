package listing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// streamState is where one drive of a set walk stands.
type streamState uint8

const (
	// stOffline: no drive, or dropped after it failed or stalled. It holds
	// no vote and does not count towards the quorum of drives available.
	stOffline streamState = iota
	// stLive: walking; head holds its next entry when hasHead.
	stLive
	// stDone: the walk ended, everything it holds was seen. It counts as
	// available: from now on it says "I do not have this name".
	stDone
)

type setStream struct {
	s       *driveStream // nil if never started
	state   streamState
	head    driveItem
	hasHead bool
}

// vote is what one drive said about the name being resolved.
type vote struct {
	pos int
	ver version
	bad error
}

// group counts the drives that hold one version.
type group struct {
	first int // index in votes of a drive holding it
	count int
}

// setWalk merges the walks of one set's drives into one sorted stream of
// resolved entries (see the package documentation for the rules).
type setWalk struct {
	ctx  context.Context
	l    *Lister
	idx  int // the set's index in Config.Sets
	set  *Set
	opts storage.WalkDirOptions

	streams  []setStream
	errs     []error // per position: why it is offline, for quorum errors
	live     int     // streams that are stLive or stDone
	noVolume int     // streams that ended because the volume is missing

	trustDirs bool // list directories on enough drives without a probe

	timer *time.Timer   // fill's timer, made on first use
	wake  chan struct{} // signalled by the walks when they hand over an item

	// Scratch, reused for every name: no allocation per resolved name.
	votes   []vote
	groups  []group
	holders []bool
}

// newSetWalk starts the walks of the set's drives whose state is stLive;
// stDone positions count as drives known to hold nothing under opts (a
// probe's drives that lack the directory), stOffline ones as missing. It
// fails at once with ErrListQuorum if fewer than a read quorum are
// available.
func newSetWalk(ctx context.Context, l *Lister, idx int, opts storage.WalkDirOptions, states []streamState, errs []error) (*setWalk, error) {
	set := &l.sets[idx]
	n := len(set.Drives)
	w := &setWalk{
		ctx: ctx, l: l, idx: idx, set: set, opts: opts,
		streams: make([]setStream, n),
		errs:    errs,
		votes:   make([]vote, 0, n),
		groups:  make([]group, 0, n),
		holders: make([]bool, n),
		wake:    make(chan struct{}, 1),
	}
	for _, st := range states {
		if st != stOffline {
			w.live++
		}
	}
	if w.live < set.ReadQuorum {
		return nil, w.quorumError()
	}
	for i, st := range states {
		w.streams[i].state = st
		if st == stLive {
			w.streams[i].s = startDrive(ctx, set.Drives[i], opts, n, l.buffer, w.wake)
		}
	}
	return w, nil
}

// initialStates is the state of a set's drives at the start of a walk:
// every drive there is is live, the missing ones offline, and so are those
// known to be unreachable (their node is known dead): a walk started there
// would only be waited for.
func initialStates(set *Set) ([]streamState, []error) {
	states := make([]streamState, len(set.Drives))
	errs := make([]error, len(set.Drives))
	for i, d := range set.Drives {
		switch {
		case d == nil:
			errs[i] = errNoDrive
			continue
		case storage.KnownDown(d):
			errs[i] = fmt.Errorf("%w: %w (%s)", storage.ErrDriveOffline, errKnownDown, d)
			continue
		}
		states[i] = stLive
	}
	return states, errs
}

var errNoDrive = fmt.Errorf("%w: no drive at this position", storage.ErrDriveOffline)

// close stops every walk and waits for their goroutines.
func (w *setWalk) close() {
	for i := range w.streams {
		if s := w.streams[i].s; s != nil {
			s.stop()
		}
	}
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *setWalk) quorumError() error {
	return fmt.Errorf("list %s/%s: set %d: %d of %d drives available, need %d: %w%s",
		w.opts.Volume, w.opts.Prefix, w.idx, w.live, len(w.set.Drives), w.set.ReadQuorum, ErrListQuorum, summarize(w.errs))
}

// next returns the set's next entry: an object whose current version (by
// quorum) is not a delete marker, or, in a non-recursive walk, a directory
// that a probe found leads to such an object. ok is false at the end.
func (w *setWalk) next() (e Entry, ok bool, err error) {
	for {
		if err := w.fill(); err != nil {
			return Entry{}, false, err
		}
		name, found := "", false
		for i := range w.streams {
			st := &w.streams[i]
			if st.state == stLive && st.hasHead && (!found || st.head.name < name) {
				name, found = st.head.name, true
			}
		}
		if !found {
			return Entry{}, false, nil
		}
		w.votes = w.votes[:0]
		dirs := 0
		for i := range w.streams {
			st := &w.streams[i]
			if st.state != stLive || !st.hasHead || st.head.name != name {
				continue
			}
			if st.head.dir {
				dirs++
				w.holders[i] = true
			} else {
				w.votes = append(w.votes, vote{pos: i, ver: st.head.ver, bad: st.head.bad})
			}
			st.head, st.hasHead = driveItem{}, false
		}
		if dirs > 0 {
			keep, err := w.keepDir(name, dirs)
			clear(w.holders)
			if err != nil {
				return Entry{}, false, err
			}
			if keep {
				return Entry{Name: name, Dir: true}, true, nil
			}
			continue
		}
		if v := w.resolve(name); v != nil && !v.key.Deleted() {
			return Entry{Name: name, Object: v.objectInfo(w.opts.Volume, name)}, true, nil
		}
	}
}

// keepDir decides whether a directory that dirs drives hold is listed.
//
// A drive has a directory only while it holds an object under it, so an
// object under it that a quorum agrees on puts it on at least that many
// drives: a directory on fewer drives than the smallest quorum any version
// can have (n - n/2, parity being at most n/2) leads to nothing listable and
// is dropped without more I/O (half-written or half-deleted objects). One
// held by more may still lead to nothing: only delete markers, or stale
// objects of different names on different drives. So a probe walks it,
// recursively, on the drives that have it, and keeps it when the first
// object it resolves is visible: usually the first entry of each drive,
// one directory read per level. With trustDirs the probe is skipped.
func (w *setWalk) keepDir(name string, dirs int) (bool, error) {
	n := len(w.set.Drives)
	if dirs < n-n/2 {
		return false, nil
	}
	if w.trustDirs {
		return true, nil
	}
	states := make([]streamState, n)
	for i := range w.streams {
		switch {
		case w.holders[i]:
			states[i] = stLive
		case w.streams[i].state != stOffline:
			states[i] = stDone
		}
	}
	opts := storage.WalkDirOptions{Volume: w.opts.Volume, Prefix: name, Recursive: true}
	probe, err := newSetWalk(w.ctx, w.l, w.idx, opts, states, append([]error(nil), w.errs...))
	if err != nil {
		return false, err
	}
	defer probe.close()
	_, ok, err := probe.next()
	return ok, err
}

// fill makes sure every live stream has its head entry, dropping the
// drives that fail, stall or lag.
//
// It waits for all the drives at once. A drive that yields nothing for
// StallTimeout is dropped. Once enough of the set has its next entry (a
// majority of the set's drives, and at least its read quorum), the others
// get a grace: Config.Late, or lateFactor times what the answered ones
// took if that is longer (a large directory is slow on every drive alike).
// Drives still silent after it are dropped, as long as a read quorum
// remains: a paused node's drives cost a listing that grace, not the stall
// timeout. What a dropped drive holds no longer counts, as for a drive
// that failed: a name then needs its quorum among the drives left, the
// rule a GET's metadata read applies to drives that do not answer.
func (w *setWalk) fill() error {
	start := time.Now()
	var settled time.Time // when enough drives first had their entry
	for {
		waiting := 0
		for i := range w.streams {
			st := &w.streams[i]
			if st.state != stLive || st.hasHead {
				continue
			}
			select {
			case it := <-st.s.ch:
				if !it.end {
					st.head, st.hasHead = it, true
					continue
				}
				if err := w.ended(i, it.err); err != nil {
					return err
				}
			default:
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		// A drive declared down while it is waited for (a paused or cut
		// off node, a second or two into its silence) is dropped as if it
		// had been known down at the start: without this the walk waits
		// for it until the stall timeout, unless a majority answered.
		if dropped, err := w.dropKnownDown(); err != nil {
			return err
		} else if dropped {
			continue
		}
		var deadline time.Time
		reason := errStalled
		if w.l.stall > 0 {
			deadline = start.Add(w.l.stall)
		}
		if ready := w.live - waiting; w.l.late >= 0 && ready >= w.settleCount() {
			if settled.IsZero() {
				settled = time.Now()
			}
			grace := max(w.l.late, lateFactor*settled.Sub(start))
			if until := settled.Add(grace); deadline.IsZero() || until.Before(deadline) {
				deadline, reason = until, errLate
			}
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			if err := w.dropWaiting(reason); err != nil {
				return err
			}
			continue
		}
		// Wake to look again at the waiting drives' liveness.
		if recheck := time.Now().Add(liveRecheck); deadline.IsZero() || recheck.Before(deadline) {
			deadline = recheck
		}
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			if w.timer == nil {
				w.timer = time.NewTimer(time.Until(deadline))
			} else {
				w.timer.Reset(time.Until(deadline)) // Go 1.23 timers: no stale tick after Reset
			}
			timeout = w.timer.C
		}
		select {
		case <-w.wake:
		case <-timeout:
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
		if w.timer != nil {
			w.timer.Stop()
		}
	}
}

// liveRecheck is how often a walk waiting on drives asks whether one of
// them has been declared down.
const liveRecheck = 100 * time.Millisecond

// dropKnownDown drops the waited-for drives that now say, without a call,
// that they are unavailable. It reports whether it dropped any.
func (w *setWalk) dropKnownDown() (bool, error) {
	dropped := false
	for i := range w.streams {
		st := &w.streams[i]
		if st.state != stLive || st.hasHead || !storage.KnownDown(w.set.Drives[i]) {
			continue
		}
		st.s.cancel()
		dropped = true
		if err := w.drop(i, fmt.Errorf("%w: %w (%s)", storage.ErrDriveOffline, errKnownDown, w.set.Drives[i])); err != nil {
			return true, err
		}
	}
	return dropped, nil
}

// lateFactor: a drive is late once it has taken this many times what the
// drives that answered took (and at least Config.Late).
const lateFactor = 4

// settleCount is how many drives of the set must have their next entry
// before the others are only given a grace: a majority of the set, and
// its read quorum.
func (w *setWalk) settleCount() int {
	n := len(w.set.Drives)
	return max(w.set.ReadQuorum, n/2+1)
}

// dropWaiting drops every live drive that has no entry yet, cancelling
// its walk (close waits for it).
func (w *setWalk) dropWaiting(reason error) error {
	what := fmt.Sprintf("%v", w.l.stall)
	if errors.Is(reason, errLate) {
		what = "behind the others"
	}
	for i := range w.streams {
		st := &w.streams[i]
		if st.state != stLive || st.hasHead {
			continue
		}
		st.s.cancel()
		if err := w.drop(i, fmt.Errorf("%w (%s)", reason, what)); err != nil {
			return err
		}
	}
	return nil
}

// ended handles the end of drive i's walk.
func (w *setWalk) ended(i int, err error) error {
	st := &w.streams[i]
	switch {
	case err == nil:
		st.state = stDone
		return nil
	case w.ctx.Err() != nil:
		return w.ctx.Err()
	case errors.Is(err, storage.ErrVolumeNotFound):
		// The drive has no such bucket, so none of its objects: an
		// answer, not a failure (a drive that missed the bucket's creation
		// until healed). A quorum of them means the bucket is not there.
		st.state = stDone
		w.noVolume++
		if w.noVolume >= w.set.ReadQuorum {
			return fmt.Errorf("list %s: set %d: %d of %d drives: %w", w.opts.Volume, w.idx, w.noVolume, len(w.set.Drives), storage.ErrVolumeNotFound)
		}
		return nil
	case errors.Is(err, storage.ErrInvalidVolume), errors.Is(err, storage.ErrInvalidPath), errors.Is(err, storage.ErrInvalidArgument):
		// The request is wrong and would be on any drive.
		st.state = stOffline
		return fmt.Errorf("list: set %d drive %d: %w", w.idx, i, err)
	}
	return w.drop(i, err)
}

// drop takes drive i out of the merge, reports it, and fails the walk if
// the set is left without a read quorum.
func (w *setWalk) drop(i int, err error) error {
	w.streams[i].state = stOffline
	w.streams[i].hasHead = false
	w.errs[i] = err
	w.live--
	w.l.driveError(w.idx, i, fmt.Errorf("list %s/%s: set %d drive %d (%s): %w",
		w.opts.Volume, w.opts.Prefix, w.idx, i, w.set.Drives[i], err))
	if w.live < w.set.ReadQuorum {
		return w.quorumError()
	}
	return nil
}

// resolve picks the current version of name from w.votes: the newest
// version (versions.Compare) that at least its quorum (versions.Needed)
// of drives hold as their latest, or nil if none has one. Drives that miss the name,
// hold another version or a bad record do not count for a version.
func (w *setWalk) resolve(name string) *version {
	w.groups = w.groups[:0]
	for vi := range w.votes {
		v := &w.votes[vi]
		if v.bad != nil {
			w.l.driveError(w.idx, v.pos, fmt.Errorf("list %s: set %d drive %d (%s): object %s: %w",
				w.opts.Volume, w.idx, v.pos, w.set.Drives[v.pos], name, v.bad))
			continue
		}
		found := false
		for gi := range w.groups {
			if w.votes[w.groups[gi].first].ver.key == v.ver.key {
				w.groups[gi].count++
				found = true
				break
			}
		}
		if !found {
			w.groups = append(w.groups, group{first: vi, count: 1})
		}
	}
	// Newest first; insertion sort: a handful of groups at most, usually one.
	for i := 1; i < len(w.groups); i++ {
		for j := i; j > 0 && versions.Compare(w.votes[w.groups[j].first].ver.key, w.votes[w.groups[j-1].first].ver.key) < 0; j-- {
			w.groups[j], w.groups[j-1] = w.groups[j-1], w.groups[j]
		}
	}
	for _, g := range w.groups {
		v := &w.votes[g.first].ver
		if g.count >= versions.Needed(v.key, w.set.ReadQuorum) {
			if w.l.onStale != nil && g.count < w.live {
				w.reportStale(name, v)
			}
			return v
		}
	}
	return nil
}

// reportStale tells Config.OnStale which available drives do not hold the
// chosen version of name as their latest.
func (w *setWalk) reportStale(name string, chosen *version) {
	s := StaleObject{Set: w.idx, Bucket: w.opts.Volume, Object: name, VersionID: chosen.key.VersionID()}
	agree := make([]bool, len(w.streams))
	for vi := range w.votes {
		v := &w.votes[vi]
		switch {
		case v.bad != nil:
			s.Corrupt = append(s.Corrupt, v.pos)
		case v.ver.key == chosen.key:
			agree[v.pos] = true
		}
	}
	for i := range w.streams {
		if w.streams[i].state != stOffline && !agree[i] && !containsInt(s.Corrupt, i) {
			s.Missing = append(s.Missing, i)
		}
	}
	if len(s.Missing)+len(s.Corrupt) > 0 {
		w.l.onStale(s)
	}
}

func containsInt(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
