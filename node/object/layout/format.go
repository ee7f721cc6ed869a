package layout

import (
	"errors"
	"fmt"
)

// FormatSets returns the set layout a format record stores: the drive IDs of
// every set in position order, driveIDs[d] being the ID of drive index d.
// Every ID must be non-empty and unique.
func (l *Layout) FormatSets(driveIDs []string) ([][]string, error) {
	if len(driveIDs) != l.drives {
		return nil, fmt.Errorf("%w: %d drive IDs for %d drives", ErrBadArgument, len(driveIDs), l.drives)
	}
	seen := make(map[string]int, len(driveIDs))
	for d, id := range driveIDs {
		if id == "" {
			return nil, fmt.Errorf("%w: drive %d has an empty ID", ErrBadArgument, d)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: drives %d and %d have the same ID %s", ErrBadArgument, prev, d, id)
		}
		seen[id] = d
	}
	sets := make([][]string, len(l.Sets))
	for s, set := range l.Sets {
		sets[s] = make([]string, len(set.Drives))
		for p, d := range set.Drives {
			sets[s][p] = driveIDs[d]
		}
	}
	return sets, nil
}

// CheckFormat checks a stored set layout (sets, as a format record holds it)
// against this layout, built from the endpoint list: the same number of sets
// of the same size (ErrLayoutMismatch), no empty or repeated ID (ErrBadFormat),
// and every drive whose ID is known where the stored layout puts it
// (ErrDrivePosition). driveIDs[d] is the ID read from drive index d's own
// format record, "" when unknown (offline, unformatted); it may be nil when no
// drive was read. All position errors are reported together, so an operator
// who swapped mounts sees the whole picture at once.
func (l *Layout) CheckFormat(sets [][]string, driveIDs []string) error {
	if len(sets) != len(l.Sets) {
		return fmt.Errorf("%w: stored layout has %d sets, the endpoints make %d of %d drives", ErrLayoutMismatch, len(sets), len(l.Sets), l.SetSize)
	}
	where := map[string]setPos{}
	for s, set := range sets {
		if len(set) != l.SetSize {
			return fmt.Errorf("%w: stored set %d has %d drives, the endpoints make sets of %d", ErrLayoutMismatch, s, len(set), l.SetSize)
		}
		for p, id := range set {
			if id == "" {
				return fmt.Errorf("%w: set %d position %d has no drive ID", ErrBadFormat, s, p)
			}
			if prev, dup := where[id]; dup {
				return fmt.Errorf("%w: drive %s at set %d position %d and at set %d position %d", ErrBadFormat, id, prev.set, prev.pos, s, p)
			}
			where[id] = setPos{s, p}
		}
	}
	if driveIDs != nil && len(driveIDs) != l.drives {
		return fmt.Errorf("%w: %d drive IDs for %d drives", ErrBadArgument, len(driveIDs), l.drives)
	}
	var errs []error
	for d, id := range driveIDs {
		if id == "" {
			continue
		}
		want := l.position[d]
		if sets[want.set][want.pos] == id {
			continue
		}
		if got, ok := where[id]; ok {
			errs = append(errs, fmt.Errorf("%w: drive %d (ID %s) belongs at set %d position %d, the endpoints put it at set %d position %d",
				ErrDrivePosition, d, id, got.set, got.pos, want.set, want.pos))
		} else {
			errs = append(errs, fmt.Errorf("%w: drive %d (ID %s) is in no set of the stored layout", ErrDrivePosition, d, id))
		}
	}
	return errors.Join(errs...)
}
