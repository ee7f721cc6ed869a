package listing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors. Every error this package returns that a caller may act
// on wraps one of them, or one of package storage's (errors.Is), with the
// bucket and what the drives said.
var (
	// ErrListQuorum: fewer than a read quorum of a set's drives could be
	// walked (offline at the start, failed or stalled during the walk), so
	// the set's objects cannot be resolved. Retry later; it is never an
	// empty listing.
	ErrListQuorum = errors.New("listing: read quorum of drives not available")
	// ErrInvalidContinuationToken: a continuation token this package did
	// not issue (S3: InvalidArgument).
	ErrInvalidContinuationToken = errors.New("listing: invalid continuation token")
	// ErrInvalidArgument: a malformed request (negative MaxKeys) or Config.
	ErrInvalidArgument = errors.New("listing: invalid argument")
)

// A bucket that a read quorum of a set's drives does not have is reported
// with an error that wraps storage.ErrVolumeNotFound; an invalid bucket name
// with one that wraps storage.ErrInvalidVolume.

// errStalled marks a drive dropped because its walk made no progress within
// Config.StallTimeout while the merge waited for it.
var errStalled = errors.New("drive walk made no progress within the stall timeout")

// errLate marks a drive given up because its walk lagged behind the
// others (Config.Late) once enough of the set had answered.
var errLate = errors.New("drive walk lagged behind the rest of its set")

// errKnownDown marks a drive not walked because it says, without a call,
// that it is unavailable (its node is known dead).
var errKnownDown = errors.New("drive known to be unavailable")

// summarize lists the drive errors of a set, for the message of a quorum
// error: enough to diagnose, short enough to log.
func summarize(errs []error) string {
	var msgs []string
	for i, err := range errs {
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("drive %d: %v", i, err))
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	const keep = 4
	if len(msgs) > keep {
		msgs = append(slices.Clip(msgs[:keep]), fmt.Sprintf("and %d more", len(msgs)-keep))
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}
