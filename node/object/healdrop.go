package object

import (
	"context"
	"errors"
	"slices"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// unacked is a version some drives hold as their latest that was never
// acknowledged, with the positions holding it.
type unacked struct {
	key     versions.Key
	holders []int
}

// unacknowledged returns the versions that drives report as their latest,
// newer than the current version (all of them if no read quorum agrees on
// anything, absence included: an absent object's leftovers are healAbsent's), that can
// never have been acknowledged: a write is acknowledged only once its write
// quorum of drives committed it, and a version newer than the current one
// is removed from a drive by nothing but a rollback (of a write that failed)
// or this heal. So if the drives holding it, plus every drive that might
// hold it unseen (offline, unreadable, a damaged record, a newer latest
// version above it), are fewer than its write quorum, it was never
// acknowledged: a failed write whose rollback missed a drive, a commit that
// completed on a drive after the writer gave up on it, a crash mid-commit.
// Such a version stays the latest of its drives and makes every read queue
// the object for healing again, while healing it onto other drives would
// resurrect a write that failed. (Without a current version, a version on
// so few drives may also be the leftover of an acknowledged delete, which
// the drives that answer "not found" took: removing it is right then too.)
// All of this holds only once every commit of the version its writer
// counted has landed: HealObject judges a version only once it is older
// than Config.CommitSettle, since a writer wrongly deemed to have lost its
// lock may be committing it as the heal reads (as happened: a heal read
// such a write two drives in, removed it, and the writer was acknowledged
// by the drives that committed after the read).
func (s *Set) unacknowledged(d decision) []unacked {
	n := len(s.drives)
	keys := make([]versions.Key, n)
	valid := make([]bool, n)
	unknown := 0 // drives whose versions cannot be seen
	for pos, a := range d.answers {
		switch {
		case a.err == nil && versions.CheckErasure(&d.answers[pos].fi.FileVersion, n) == nil:
			keys[pos], valid[pos] = versions.KeyOf(&d.answers[pos].fi.FileVersion), true
		case a.err == nil, !isNotFound(a.err):
			unknown++
		}
	}
	var out []unacked
	for pos := range n {
		if !valid[pos] || keys[pos].Deleted() {
			continue
		}
		k := keys[pos]
		if d.verdict == verdictFound && versions.Compare(k, d.key) >= 0 {
			continue // the current version or an older one
		}
		if slices.ContainsFunc(out, func(u unacked) bool { return u.key == k }) {
			continue
		}
		u := unacked{key: k}
		above := 0 // drives whose latest is newer: they may hold k below it
		for p := range n {
			switch {
			case !valid[p]:
			case keys[p] == k:
				u.holders = append(u.holders, p)
			case versions.Compare(keys[p], k) < 0:
				above++
			}
		}
		if len(u.holders)+above+unknown < layout.WriteQuorum(n, k.ParityBlocks()) {
			out = append(out, u)
		}
	}
	return out
}

// dropUnacknowledged removes the versions unacknowledged found from the
// drives holding them, with their data dirs, and the data dirs of the same
// name from every other drive that answered: a crash between moving a data
// dir in and committing the record that names it leaves one there, which
// no record names. It returns the positions a version was removed from;
// failures are left for the next heal (the version is still not current).
func (s *Set) dropUnacknowledged(ctx context.Context, bucket, object string, d decision, drop []unacked) []int {
	on := make([]bool, len(s.drives))
	for pos, a := range d.answers {
		on[pos] = a.err == nil || isNotFound(a.err)
	}
	holds := func(pos int, u unacked) bool { return slices.Contains(u.holders, pos) }
	_, errs := fanOut(context.WithoutCancel(ctx), s.drivesWhere(on), s.driveTimeout,
		func(ctx context.Context, pos int, dr storage.Drive) (struct{}, error) {
			var errs []error
			for _, u := range drop {
				if holds(pos, u) {
					if err := dr.DeleteVersion(ctx, bucket, object, u.key.VersionID()); err != nil && !isNotFound(err) {
						errs = append(errs, err)
						continue
					}
				}
				if dir := u.key.DataDir(); dir != "" {
					if err := dr.Delete(ctx, bucket, storage.DataDirPath(object, dir), true); err != nil && !isNotFound(err) {
						errs = append(errs, err)
					}
				}
			}
			return struct{}{}, errors.Join(errs...)
		}, nil, 0)
	var removed []int
	for pos, err := range errs {
		if err == nil && slices.ContainsFunc(drop, func(u unacked) bool { return holds(pos, u) }) {
			removed = append(removed, pos)
		}
	}
	return removed
}
