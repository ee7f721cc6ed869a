package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// A PUT and a multipart Complete publish a new version of an object the
// same way (see "PUT" in the package documentation): beginCommit takes the
// object's write lock and reads what the drives hold, the caller publishes
// its version on its drives and rolls it back below its quorum, and
// finishCommit removes the versions the new one replaced. HealObject
// commits differently (the same version again, drive by drive) and has
// its own.

// commitState is a commit of a new version under way: the object's write
// lock held, and what the drives held when it was taken.
type commitState struct {
	bucket, object string
	lk             Lock
	// olds holds, per drive, every version it holds (nil for none or no
	// answer): they go once the new version has its quorum.
	olds [][]storage.FileVersion
}

// beginCommit takes the object's write lock and reads every drive's
// versions of it. pre is decided there, on the current version by the
// rule reads use (decide), so that no other writer can come between the
// decision and the publication; a failed precondition, or a current
// version no read quorum agrees on while pre needs one, is an error and
// the lock is released. So is any lock of held (other locks the commit
// depends on, such as a Complete's upload lock) or the object's lock found
// lost. On success the caller must Unlock st.lk.
func (s *Set) beginCommit(ctx context.Context, bucket, object string, pre Precondition, held ...Lock) (*commitState, error) {
	lk, err := s.lock(ctx, true, bucket, object)
	if err != nil {
		return nil, err
	}
	// From here on the outcome must not depend on the client staying:
	// every step is bounded by the drive timeouts instead.
	wctx := context.WithoutCancel(ctx)
	olds, errs := s.readVersionLists(wctx, bucket, object)
	st := &commitState{bucket: bucket, object: object, lk: lk, olds: olds}
	if !pre.none() {
		cur, err := s.currentOf(bucket, object, olds, errs)
		if err == nil {
			err = pre.check(cur)
		}
		if err != nil {
			lk.Unlock()
			return nil, err
		}
	}
	if err := stillHeld(wctx, append([]Lock{lk}, held...)...); err != nil {
		lk.Unlock()
		return nil, fmt.Errorf("before commit: %w", err)
	}
	return st, nil
}

// modTime returns the new version's ModTime: now, or just after every
// version of olds if one is newer (the clocks of different nodes drift).
// The caller takes it right before it publishes, with nothing that can
// stall in between: a heal judges by it how long the version may still be
// landing on drives (Config.CommitSettle).
func (st *commitState) modTime() time.Time {
	t := time.Now().UTC().Round(0)
	for _, vs := range st.olds {
		for _, v := range vs {
			if !v.ModTime.Before(t) {
				t = v.ModTime.Add(time.Nanosecond)
			}
		}
	}
	return t
}

// currentOf returns the object's current version by the drives' version
// lists (the latest of each, decided as a read decides), nil if a read
// quorum says the object is absent or its current version is a delete
// marker.
func (s *Set) currentOf(bucket, object string, olds [][]storage.FileVersion, errs []error) (*storage.FileVersion, error) {
	n := len(s.drives)
	answers := latestAnswers(s.drives, olds, errs)
	d, _ := decide(answers, allTrue(n), s.readQuorum)
	switch d.verdict {
	case verdictFound:
		if d.key.Deleted() {
			return nil, nil
		}
		return &answers[d.chosen].fi.FileVersion, nil
	case verdictNotFound:
		return nil, nil
	case verdictBucketNotFound:
		return nil, fmt.Errorf("%s: %w", bucket, ErrBucketNotFound)
	}
	return nil, fmt.Errorf("%s/%s: current version: no version agreed by a read quorum of %d drives: %w%s",
		bucket, clip(object), s.readQuorum, ErrReadQuorum, summarize(errs))
}

// finishCommit runs once the new version has its quorum: it releases the
// object's lock and, on every drive that committed (commitErrs[pos] nil),
// removes the versions the new one replaces (their data dirs with them):
// those beginCommit read there and those the drive's RenameData reported
// older (older[pos], storage.RenameDataResult.Older), which covers a drive
// late to answer the read and an earlier write's straggler landing since;
// also, if set, runs in the same pass on the drives alsoOn marks. Drives
// with nothing to do are not called (a new key's write has no cleanup).
// Failures leave garbage, never a wrong answer: the new version is the
// newest everywhere it is; the object is queued for healing, which removes
// what is left, as do the next write or delete of the object and the
// scanner.
func (s *Set) finishCommit(ctx context.Context, st *commitState, commitErrs []error, older [][]string,
	alsoOn []bool, also func(ctx context.Context, pos int, d storage.Drive)) {
	// Only versions older than the new one go, by ID, so this needs no
	// lock: the next writer of the name need not wait for it.
	// Nor need the writer to wait for a slow drive: it waits for a write
	// quorum of drives and writeGrace more, and leaves the rest to finish
	// on their own. The drives with nothing to do count as done at once:
	// of those asked, it waits for what the quorum lacks beyond them (for
	// a new key, none: it gives the failed commits' staging directories
	// writeGrace, never the drive timeout of a paused drive).
	st.lk.Unlock()
	n := len(s.drives)
	replaced := make([][]string, n)
	targets := make([]storage.Drive, n)
	asked := 0
	for pos, d := range s.drives {
		if commitErrs[pos] == nil {
			for _, v := range st.olds[pos] {
				replaced[pos] = append(replaced[pos], v.VersionID)
			}
			if pos < len(older) {
				for _, id := range older[pos] {
					if !slices.Contains(replaced[pos], id) {
						replaced[pos] = append(replaced[pos], id)
					}
				}
			}
		}
		if d != nil && (len(replaced[pos]) > 0 || (also != nil && alsoOn[pos])) {
			targets[pos] = d
			asked++
		}
	}
	if asked == 0 {
		return
	}
	_, _ = fanOutWrite(ctx, targets, s.driveTimeout, max(s.writeQuorum-(n-asked), 0), s.writeGrace(), nil,
		func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
			failed := false
			for _, id := range replaced[pos] {
				if err := d.DeleteVersion(ctx, st.bucket, st.object, id); err != nil && !isNotFound(err) {
					failed = true
				}
			}
			if failed && s.heal != nil {
				// A heal removes the garbage (HealResult.Pruned)
				// rather than the next write, which may never come.
				s.heal.QueueHeal(HealRequest{Bucket: st.bucket, Object: st.object, Missing: []int{pos}})
			}
			if also != nil && alsoOn[pos] {
				also(ctx, pos, d)
			}
			return struct{}{}, nil
		})
}

// writeGrace is how long a step of a write (commit, delete, cleanup)
// waits for the drives beyond its quorum: longer than a metadata read's
// StragglerWait, since a drive that misses a commit must be healed and
// one that misses a cleanup keeps garbage until the next write, but far
// below the drive timeout a paused drive would cost.
func (s *Set) writeGrace() time.Duration { return 10 * s.stragglerWait }

// readVersionLists returns every version each drive holds of the object
// (nil for a drive that has none or did not say), and each drive's error.
// Like readLatest it asks max(read quorum, n/2+1) drives first, the others
// only when those do not settle which version is current (or have not
// answered within StragglerWait), and stops waiting, after StragglerWait,
// once the answers so far settle it: the versions of a drive that did not
// answer, or was not asked (errNotNeeded), go all the same, by what its
// RenameData reports (finishCommit), and the new version's ModTime is
// still after every version a read quorum holds, since any quorum shares a
// drive with the answers it waited for.
func (s *Set) readVersionLists(ctx context.Context, bucket, object string) ([][]storage.FileVersion, []error) {
	n := len(s.drives)
	settled := func(olds [][]storage.FileVersion, errs []error, answered []bool, pending int) bool {
		if pending >= n-n/2 {
			return false
		}
		_, settled := decide(latestAnswers(s.drives, olds, errs), answered, s.readQuorum)
		return settled
	}
	opts := fanOpts[[]storage.FileVersion]{
		timeout: s.driveTimeout, settled: settled, grace: s.stragglerWait,
		later: s.askLater(&s.writeTurn), hedge: s.stragglerWait,
	}
	return fanOutWith(ctx, s.drives, opts, func(ctx context.Context, _ int, d storage.Drive) ([]storage.FileVersion, error) {
		raw, err := d.ReadMetadata(ctx, bucket, object)
		if err != nil {
			return nil, err
		}
		meta, err := storage.DecodeObjectMeta(raw)
		if err != nil {
			return nil, err
		}
		for i := range meta.Versions {
			meta.Versions[i].InlineData = nil // only what defines the versions is needed
		}
		return meta.Versions, nil
	})
}

// latestAnswers turns version lists into what decide weighs: each drive's
// latest version, or why it has none.
func latestAnswers(drives []storage.Drive, olds [][]storage.FileVersion, errs []error) []metaAnswer {
	answers := make([]metaAnswer, len(drives))
	for pos := range drives {
		switch {
		case errs[pos] != nil:
			answers[pos] = metaAnswer{err: errs[pos]}
		case len(olds[pos]) == 0:
			answers[pos] = metaAnswer{err: storage.ErrFileNotFound}
		default:
			answers[pos] = metaAnswer{fi: storage.FileInfo{FileVersion: olds[pos][0]}}
		}
	}
	return answers
}

// precheck evaluates pre against the object's current version before a
// write does its work (reads a body, prunes an upload), so that a write
// bound to fail says so at once. It is advisory: the decision that counts
// is beginCommit's, under the lock. It fails only on a precondition that
// does not hold; a read that cannot tell is left to the commit.
func (s *Set) precheck(ctx context.Context, bucket, object string, pre Precondition) error {
	if pre.none() {
		return nil
	}
	var cur *storage.FileVersion
	d, err := s.resolve(ctx, bucket, object)
	switch {
	case err == nil:
		cur = &d.answers[d.chosen].fi.FileVersion
	case d.verdict == verdictNotFound || (d.verdict == verdictFound && d.key.Deleted()):
	default:
		return nil
	}
	if err := pre.check(cur); err != nil {
		return fmt.Errorf("%s/%s: %w", bucket, clip(object), err)
	}
	return nil
}

// withdrawal names a version a commit could not give its quorum, to be
// taken back from the drives it was sent to (Set.withdraw).
type withdrawal struct {
	bucket, object, versionID string
	// srcVolume and srcPath are the directory the commit publishes from
	// (a PUT's staging directory, a Complete's upload; "" for an inline
	// version, published from the record alone).
	srcVolume, srcPath string
}

// withdraw deletes w's version from every drive marked in sent. It returns
// the drives where the version may remain, to be healed.
//
// A drive whose commit did not answer in time, or whose answer was lost
// (mayLand), may still carry it out: the call goes on there. Its source is
// removed first, and only then the version: a commit that has not moved
// the source into the object yet fails for want of it, and one that has
// holds the drive's lock on the object until its record is in place,
// which the DeleteVersion waits for. Deleting the version alone could run
// before such a commit lands, and every heal queued for the drive with it,
// finding the drive as it was, would leave the failed version there for
// good, newest of the drive's versions. Where the commit answered, the
// source goes after the version, best effort: what the commit left of it
// (a Complete's part records). A drive whose commit failed for certain
// keeps its source (a Complete sent again needs its parts).
//
// Within a grace: a drive still at it is reported as one where the
// version may remain.
func (s *Set) withdraw(ctx context.Context, w withdrawal, sent []bool, commitErrs []error) []bool {
	late := make([]bool, len(s.drives))
	for pos, err := range commitErrs {
		late[pos] = sent[pos] && err != nil && mayLand(s.drives[pos], err)
	}
	src := func(ctx context.Context, d storage.Drive) error {
		if w.srcPath == "" {
			return nil
		}
		if err := d.Delete(ctx, w.srcVolume, w.srcPath, true); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	}
	_, errs := fanOutWrite(ctx, s.drivesWhere(sent), s.driveTimeout, 0, s.writeGrace(), nil,
		func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
			if late[pos] {
				if err := src(ctx, d); err != nil {
					return struct{}{}, fmt.Errorf("fence a late commit: %w", err)
				}
			}
			err := d.DeleteVersion(ctx, w.bucket, w.object, w.versionID)
			if isNotFound(err) {
				err = nil
			}
			if commitErrs[pos] == nil {
				_ = src(ctx, d)
			}
			return struct{}{}, err
		})
	stale := make([]bool, len(errs))
	for pos := range errs {
		stale[pos] = sent[pos] && errs[pos] != nil
	}
	return stale
}

// mayLand reports whether a commit that failed with err may yet take
// effect on its drive: it was still running when the writer stopped
// waiting or its deadline passed, or the drive (its node) could not be
// reached to answer.
func mayLand(d storage.Drive, err error) bool {
	return errors.Is(err, errDriveTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) || isOffline(d, err)
}
