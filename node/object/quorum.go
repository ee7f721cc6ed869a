package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// verdict is what a set's drives say about an object.
type verdict int

const (
	verdictUndecided      verdict = iota // no quorum either way: ErrReadQuorum
	verdictFound                         // chosen holds the current version
	verdictNotFound                      // a read quorum says the object is absent
	verdictBucketNotFound                // ... because the bucket is
)

// decision is the outcome of decide.
type decision struct {
	verdict verdict
	chosen  int          // a drive whose answer is the chosen version
	key     versions.Key // the chosen version
	agree   []bool       // per drive: its latest version is the chosen one
	votes   int          // drives that agree
	answers []metaAnswer // what each drive said, for heal records
}

// metaAnswer is one drive's latest version of an object, or why it has none.
type metaAnswer struct {
	fi  storage.FileInfo
	err error
}

// decide picks the current version from what each drive reported as its
// latest version (answers, by position; answered marks those that
// reported; pending drives have not yet). readQuorum is the set's (default
// parity) read quorum, which a "not found" needs.
//
// The current version is the newest (versions.Compare: by ModTime, then
// VersionID) of the versions (versions.KeyOf) that at least their own
// quorum of drives (versions.Needed: the data shard count) report as their
// latest; records versions.CheckErasure refuses do not vote. With no such
// version, the object is absent if readQuorum
// drives say so, else undecided. settled reports that the drives still
// pending cannot change that outcome, whatever they answer: for a version
// to be chosen, no newer version seen can still reach its quorum, and too
// few are pending to form one of their own; for "absent", no version can.
// With nothing pending the outcome is always settled.
func decide(answers []metaAnswer, answered []bool, readQuorum int) (d decision, settled bool) {
	n := len(answers)
	pending := 0
	for _, a := range answered {
		if !a {
			pending++
		}
	}
	type group struct {
		key   versions.Key
		count int
		first int
	}
	var groups []group
	keys := make([]versions.Key, n)
	valid := make([]bool, n)
	absent, noBucket := 0, 0
	for i, a := range answers {
		if !answered[i] {
			continue
		}
		switch {
		case errors.Is(a.err, storage.ErrVolumeNotFound):
			noBucket++
			continue
		case isNotFound(a.err):
			absent++
			continue
		case a.err != nil:
			continue
		}
		if versions.CheckErasure(&answers[i].fi.FileVersion, n) != nil {
			continue
		}
		keys[i], valid[i] = versions.KeyOf(&answers[i].fi.FileVersion), true
		if g := slices.IndexFunc(groups, func(g group) bool { return g.key == keys[i] }); g >= 0 {
			groups[g].count++
		} else {
			groups = append(groups, group{key: keys[i], count: 1, first: i})
		}
	}
	// Newest first, so that the first group with its quorum is the answer.
	slices.SortFunc(groups, func(a, b group) int { return versions.Compare(a.key, b.key) })

	// A version nobody reported yet needs at least ceil(n/2) drives.
	minQuorum := n - n/2
	unseenPossible := pending >= minQuorum
	d = decision{answers: answers, chosen: -1}
	for gi, g := range groups {
		if g.count < versions.Needed(g.key, readQuorum) {
			continue
		}
		settled = !unseenPossible
		for _, newer := range groups[:gi] {
			if newer.count+pending >= versions.Needed(newer.key, readQuorum) {
				settled = false
			}
		}
		d.verdict, d.chosen, d.key, d.votes = verdictFound, g.first, g.key, g.count
		d.agree = make([]bool, n)
		for i := range answers {
			d.agree[i] = valid[i] && keys[i] == g.key
		}
		return d, settled || pending == 0
	}
	if absent+noBucket >= readQuorum {
		settled = !unseenPossible
		for _, g := range groups {
			if g.count+pending >= versions.Needed(g.key, readQuorum) {
				settled = false
			}
		}
		d.verdict = verdictNotFound
		if noBucket >= readQuorum {
			d.verdict = verdictBucketNotFound
		}
		return d, settled || pending == 0
	}
	return d, pending == 0
}

// readLatest asks the drives for their latest version of the object and
// decides which is current (decide). It asks the read quorum, and at least
// n/2+1, of them first (rotating from one read to the next, drives found
// late last): the fewest whose answers can settle the outcome alone, since
// a version needs at least n-n/2 drives and so cannot hide among the
// others. The others are asked when those answers do not settle it (the
// drives disagree, one failed or lacks the object) or have not within
// StragglerWait. Each drive gets DriveTimeout; once the answers so far
// settle the outcome, the others get StragglerWait more, and those not
// asked report errNotNeeded.
func (s *Set) readLatest(ctx context.Context, bucket, object string) (decision, error) {
	n := len(s.drives)
	answers := make([]metaAnswer, n)
	vals, errs := fanOutWith(ctx, s.drives, fanOpts[storage.FileInfo]{
		timeout: s.driveTimeout,
		settled: func(vals []storage.FileInfo, errs []error, answered []bool, pending int) bool {
			if pending >= n-n/2 {
				return false // enough drives pending to outvote any answer yet
			}
			for i := range answers {
				answers[i] = metaAnswer{fi: vals[i], err: errs[i]}
			}
			_, settled := decide(answers, answered, s.readQuorum)
			return settled
		},
		grace: s.stragglerWait,
		later: s.askLater(&s.readTurn),
		hedge: s.stragglerWait,
	}, func(ctx context.Context, _ int, d storage.Drive) (storage.FileInfo, error) {
		return d.ReadVersion(ctx, bucket, object, "")
	})
	for i := range answers {
		answers[i] = metaAnswer{fi: vals[i], err: errs[i]}
	}
	d, _ := decide(answers, allTrue(n), s.readQuorum)
	if err := ctx.Err(); err != nil {
		return d, err
	}
	switch d.verdict {
	case verdictFound:
		return d, nil
	case verdictNotFound:
		return d, fmt.Errorf("%s/%s: %w", bucket, object, ErrObjectNotFound)
	case verdictBucketNotFound:
		return d, fmt.Errorf("%s: %w", bucket, ErrBucketNotFound)
	}
	return d, fmt.Errorf("%s/%s: no version agreed by a read quorum of %d drives: %w%s",
		bucket, object, s.readQuorum, ErrReadQuorum, summarize(errs))
}

// askLater picks the drives a metadata read asks only if the others do
// not settle it: all but max(read quorum, n/2+1), the first ones taken in
// turn from a position that moves on with every read (spreading the
// reads, and the differences they notice for healing, over the set),
// those known down or found late (driveLateness) passed over while others
// remain. turn is the position's counter: reads and writes keep their
// own, so that each spreads evenly whatever the mix.
func (s *Set) askLater(turn *atomic.Uint32) []bool {
	n := len(s.drives)
	first := max(s.readQuorum, n/2+1)
	later := make([]bool, n)
	for i := range later {
		later[i] = true
	}
	start := int(turn.Add(1) % uint32(n))
	for pass := 0; pass < 2 && first > 0; pass++ {
		for i := range n {
			pos := (start + i) % n
			d := s.drives[pos]
			if first == 0 || !later[pos] {
				continue
			}
			if pass == 0 && (d == nil || storage.KnownDown(d) || s.lateness.avoided(pos)) {
				continue
			}
			later[pos] = false
			first--
		}
	}
	return later
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
