package object

import (
	"context"
	"fmt"
	"slices"

	"github.com/gridstore/gridstore/node/object/listing"
)

// HealWalk walks every bucket of the given sets (nil: every set) and heals
// the objects whose copies disagree: those a quorum of drives holds but
// some available drive does not hold as its latest version (absent, older,
// a newer version no quorum holds) or holds corrupt. heal is called for
// each, one at a time (it paces the walk and does the heal). It is the
// fallback for when the missed-write logs may be incomplete.
//
// What it does not find: an object deleted while a drive was away, which
// that drive alone still holds (no quorum lists it). The delete's own
// missed-write record covers it; a GET of the name finds it too.
func (l *Layer) HealWalk(ctx context.Context, sets []int, heal func(ctx context.Context, r HealRequest) error) error {
	if sets == nil {
		for i := range l.sets {
			sets = append(sets, i)
		}
	}
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return fmt.Errorf("heal walk: %w", err)
	}
	for _, si := range sets {
		if si < 0 || si >= len(l.sets) {
			return fmt.Errorf("heal walk: %w: set %d of %d", ErrInvalidArgument, si, len(l.sets))
		}
		s := l.sets[si]
		var stale []HealRequest
		lister, err := listing.New(listing.Config{
			Sets: []listing.Set{{Drives: s.drives, ReadQuorum: s.readQuorum}},
			OnStale: func(st listing.StaleObject) {
				stale = append(stale, HealRequest{Bucket: st.Bucket, Object: st.Object, VersionID: st.VersionID,
					Missing: slices.Clone(st.Missing), Corrupt: slices.Clone(st.Corrupt)})
			},
		})
		if err != nil {
			return fmt.Errorf("heal walk: set %d: %w", si, err)
		}
		for _, b := range buckets {
			for _, werr := range lister.Walk(ctx, listing.WalkOptions{Bucket: b.Name, Recursive: true}) {
				if werr != nil {
					return fmt.Errorf("heal walk: set %d, bucket %s: %w", si, b.Name, werr)
				}
				// OnStale ran on this goroutine, within the step.
				for _, r := range stale {
					if err := heal(ctx, r); err != nil && ctx.Err() != nil {
						return ctx.Err()
					}
				}
				stale = stale[:0]
			}
		}
	}
	return nil
}
