package object

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// Sentinel errors. Every error the package returns that a caller may act on
// wraps one of them (errors.Is), with the bucket, object and, for quorum
// failures, what each drive said.
var (
	// ErrWriteQuorum: fewer than the write quorum of drives took a write
	// (PUT, DELETE, bucket change). A failed PUT was rolled back: its
	// version is visible to no quorum read.
	ErrWriteQuorum = errors.New("object: write quorum not reached")
	// ErrReadQuorum: not enough drives answered, or agreed, to say what the
	// object (or bucket) is, or to decode its bytes. It is never a
	// "not found": absence needs a read quorum of its own.
	ErrReadQuorum = errors.New("object: read quorum not reached")
	// ErrObjectNotFound: a read quorum of drives agrees the object does not exist.
	ErrObjectNotFound = errors.New("object: object not found")
	// ErrBucketNotFound: a read quorum of drives agrees the bucket does not exist.
	ErrBucketNotFound = errors.New("object: bucket not found")
	// ErrBucketExists: MakeBucket of a bucket a write quorum already has.
	ErrBucketExists = errors.New("object: bucket already exists")
	// ErrBucketNotEmpty: DeleteBucket of a bucket that holds objects.
	ErrBucketNotEmpty = errors.New("object: bucket not empty")
	// ErrInvalidBucketName: a bucket name S3 (and the drives) refuse.
	ErrInvalidBucketName = errors.New("object: invalid bucket name")
	// ErrInvalidObjectName: an object name the drives cannot store.
	ErrInvalidObjectName = errors.New("object: invalid object name")
	// ErrInvalidRange: a byte range outside the object; see RangeError.
	ErrInvalidRange = errors.New("object: requested range not satisfiable")
	// ErrInvalidArgument: any other malformed request (bad metadata key,
	// negative size, parity outside 1..n/2, ...).
	ErrInvalidArgument = errors.New("object: invalid argument")
	// ErrIncompleteBody: the data ended before the announced size.
	ErrIncompleteBody = errors.New("object: data shorter than its announced size")
	// ErrEntityTooLarge: more than MaxObjectSize bytes.
	ErrEntityTooLarge = errors.New("object: object too large")
	// ErrBadDigest: the data's MD5 differs from the Content-MD5 given.
	ErrBadDigest = errors.New("object: content MD5 mismatch")
	// ErrMetadataTooLarge: user metadata over MaxUserMetadataSize bytes.
	ErrMetadataTooLarge = errors.New("object: user metadata too large")
	// ErrCopyToSelf: a copy of an object onto itself that changes nothing.
	ErrCopyToSelf = errors.New("object: copy onto itself without replacing metadata")
	// ErrPreconditionFailed: a write's Precondition does not hold for the
	// object's current version; nothing was written.
	ErrPreconditionFailed = errors.New("object: precondition failed")
	// ErrHealIncomplete: HealObject healed what it could, but some drives
	// that are online could not be healed (HealResult.Failed says why).
	ErrHealIncomplete = errors.New("object: heal incomplete")
	// ErrUnsettled: a drive holds, as its latest, a version newer than
	// the object's current one and younger than Config.CommitSettle,
	// which a commit may still be bringing to its quorum: a heal leaves
	// that drive alone until the version has settled (HealResult.Failed
	// names the drive with it).
	ErrUnsettled = errors.New("object: a version too young to judge, maybe still being committed")
	// ErrLockLost: the namespace lock of a write was lost before it
	// committed (another writer may hold it now), so nothing was committed.
	ErrLockLost = errors.New("object: namespace lock lost")
	// ErrLockTimeout: the namespace lock could not be taken within
	// Config.LockTimeout (another writer holds it, or too few lock servers
	// answer). Nothing was done; a retry may succeed.
	ErrLockTimeout = errors.New("object: namespace lock not acquired in time")
)

// RangeError reports a range that does not fit the object, with the
// object's size for the 416 reply's Content-Range: bytes */Size.
type RangeError struct {
	Range Range
	Size  int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("object: range %s not satisfiable for an object of %d bytes", e.Range, e.Size)
}

func (e *RangeError) Unwrap() error { return ErrInvalidRange }

// errShardTimeout marks a shard read or write that made no progress within
// Config.ShardTimeout; the shard is then given up for this request.
var errShardTimeout = errors.New("shard made no progress within the shard timeout")

// errDriveTimeout marks a drive call abandoned at Config.DriveTimeout.
var errDriveTimeout = errors.New("drive did not answer within the drive timeout")

// errStraggler marks a drive a write stopped waiting for once its quorum
// had answered: the call goes on, and the object is queued for healing
// there. It wraps errDriveTimeout, which is what it amounts to for the
// request.
var errStraggler = fmt.Errorf("%w: still running after the write's quorum answered", errDriveTimeout)

// errShardStraggler marks a shard file a PUT stopped writing because its
// drive fell behind the other shards by more than the write grace
// (erasure.ErrShardStraggler): slow, not failed, and its copy is neither
// missing nor corrupt as far as reads go, since the version is never
// committed there. The object is queued for healing on the drive, as for
// any drive that missed the write.
var errShardStraggler = fmt.Errorf("%w: shard write left behind the write quorum", errStraggler)

// errKnownOffline marks a drive not asked because it said, without a call,
// that it is offline (storage.Availability): its node is dead or unreachable, or
// the drive is out of service.
var errKnownOffline = fmt.Errorf("%w: known offline, not asked", storage.ErrDriveOffline)

// errNotNeeded marks a drive a metadata read did not ask because the
// others' answers settled the outcome alone (fanOpts.later). Like a drive
// cut off once the outcome was settled, its copy is unknown, not missing:
// a GET may still read its shard files (the data dir is unique to the
// version; the bitrot check stands guard).
var errNotNeeded = fmt.Errorf("%w: not asked, the other drives' answers sufficed", errDriveTimeout)

// errNotAsked marks a set position an operation did not call: no drive
// handle (nil in Config.Drives), or a drive left out (offline at the start
// of a PUT, its shard not written).
var errNotAsked = fmt.Errorf("%w: drive not asked", storage.ErrDriveOffline)

// isNotFound reports whether a drive says the object (or its volume) is not
// there: an answer about the object, unlike an offline or failing drive.
func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrFileNotFound) || errors.Is(err, storage.ErrFileVersionNotFound) ||
		errors.Is(err, storage.ErrVolumeNotFound)
}

// isCorrupt reports whether err says stored bytes failed an integrity check.
func isCorrupt(err error) bool {
	return errors.Is(err, erasure.ErrBitrot) || errors.Is(err, storage.ErrFileCorrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// userError maps a drive error that says the request itself is wrong (and
// would be on any drive) to this package's sentinel, or returns nil.
func userError(err error) error {
	switch {
	case errors.Is(err, storage.ErrVolumeNotFound):
		return ErrBucketNotFound
	case errors.Is(err, storage.ErrInvalidPath):
		return ErrInvalidObjectName
	case errors.Is(err, storage.ErrInvalidVolume):
		return ErrInvalidBucketName
	}
	return nil
}

// quorumFailure builds the error of an operation that missed its quorum:
// when one request error (a missing bucket, a name conflict) alone made the
// quorum impossible, that error, since retrying cannot help; else sentinel
// with a summary of what the drives said.
func quorumFailure(sentinel error, op string, errs []error, ok, need int) error {
	counts := map[error]int{}
	for _, err := range errs {
		if u := userError(err); u != nil {
			counts[u]++
		}
	}
	for u, c := range counts {
		if c > len(errs)-need {
			return fmt.Errorf("%s: %w (%d of %d drives)", op, u, c, len(errs))
		}
	}
	return fmt.Errorf("%s: %d of %d drives succeeded, need %d: %w%s", op, ok, len(errs), need, sentinel, summarize(errs))
}

// summarize lists the distinct drive errors, for the message of a quorum error.
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
	const keep = 4 // enough to diagnose, short enough to log
	if len(msgs) > keep {
		msgs = append(slices.Clip(msgs[:keep]), fmt.Sprintf("and %d more", len(msgs)-keep))
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}
