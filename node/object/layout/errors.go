package layout

import (
	"errors"

	"github.com/gridstore/gridstore/storage"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them (test with errors.Is) and adds the specifics in its message.
var (
	// ErrNoSetSize: no erasure set size in [MinSetSize, MaxSetSize]
	// divides the number of drives.
	ErrNoSetSize = errors.New("layout: drive count fits no erasure set size")
	// ErrBadSetSize: a set size outside [MinSetSize, MaxSetSize], or one
	// that does not divide the number of drives.
	ErrBadSetSize = errors.New("layout: invalid erasure set size")
	// ErrBadParity: a parity outside [1, setSize/2], or a reduced
	// redundancy parity above the standard one.
	ErrBadParity = errors.New("layout: invalid parity")
	// ErrUnknownStorageClass: a storage class this deployment does not offer.
	ErrUnknownStorageClass = errors.New("layout: unknown storage class")
	// ErrBadDistribution: a distribution that is not a permutation of
	// 1..setSize, or does not match the slice it is applied to.
	ErrBadDistribution = errors.New("layout: invalid distribution")
	// ErrBadArgument: input that cannot describe any layout (no drives, a
	// negative count, a malformed deployment ID, ...).
	ErrBadArgument = errors.New("layout: invalid argument")
	// ErrLayoutMismatch: a stored set layout whose shape (number of sets,
	// drives per set) differs from the one the endpoints give.
	//
	// It is storage.ErrLayoutMismatch, which a drive returns when its own
	// format record disagrees the same way: one sentinel for one condition,
	// so that errors.Is matches whichever package found it (and the error
	// keeps its identity over the grid, where storage's sentinels are
	// registered).
	ErrLayoutMismatch = storage.ErrLayoutMismatch
	// ErrDrivePosition: a drive that is not where the stored layout puts it
	// (drives swapped between mount points, endpoints reordered, a foreign
	// drive).
	//
	// It is storage.ErrDrivePosition, for the same reason as
	// ErrLayoutMismatch.
	ErrDrivePosition = storage.ErrDrivePosition
	// ErrBadFormat: a stored layout that is inconsistent in itself (an
	// empty or repeated drive ID).
	ErrBadFormat = errors.New("layout: stored layout is inconsistent")
)
