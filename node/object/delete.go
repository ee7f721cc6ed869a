package object

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// DeleteObject removes an object, every version of it, from the set. It is
// idempotent: deleting an absent object succeeds (S3 answers 204 either
// way), but like any write it is acknowledged only once a write quorum of
// drives has committed it: then no read quorum can see the object again,
// even when the drives that missed the delete come back.
func (s *Set) DeleteObject(ctx context.Context, bucket, object string) error {
	if err := checkNames(bucket, object); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object), err)
	}
	// Before the lock: with too few drives the delete cannot succeed, and
	// neither can the lock when their nodes are the lock servers that are
	// down; a retryable 503 at once beats one after the lock's retries.
	if err := s.writable(s.writeQuorum); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object), err)
	}
	lk, err := s.lock(ctx, true, bucket, object)
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object), err)
	}
	defer lk.Unlock()
	if err := stillHeld(context.WithoutCancel(ctx), lk); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object), err)
	}
	// Like a commit, the outcome must not depend on the client staying.
	_, errs := fanOutWrite(ctx, s.drives, s.driveTimeout, s.writeQuorum, s.writeGrace(),
		func(err error) bool { return err == nil || errors.Is(err, storage.ErrVolumeNotFound) },
		func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
			return struct{}{}, deleteAll(ctx, d, bucket, object)
		})
	done, noBucket := 0, 0
	note := newHealNote(len(s.drives))
	for pos, err := range errs {
		switch {
		case err == nil:
			done++
		case errors.Is(err, storage.ErrVolumeNotFound):
			done++ // the object is not on this drive either
			noBucket++
		default:
			note.missing[pos] = true // may still hold the object
		}
	}
	if noBucket >= s.readQuorum {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object), ErrBucketNotFound)
	}
	s.noteWrite(ctx, note, bucket, object, "")
	if done < s.writeQuorum {
		return fmt.Errorf("delete %s/%s: %w", bucket, clip(object),
			quorumFailure(ErrWriteQuorum, "delete", errs, done, s.writeQuorum))
	}
	return nil
}

// writable returns an error wrapping ErrWriteQuorum if fewer than quorum
// drives of the set may be up: those known offline without a call
// (storage.Availability: their node is dead or unreachable, or the drive is out of
// service) and missing ones do not count. It asks nothing, so a busy drive
// is never taken for a dead one; the write itself finds out about drives
// that fail without being known to.
func (s *Set) writable(quorum int) error {
	down := 0
	for _, d := range s.drives {
		if d == nil || storage.KnownDown(d) {
			down++
		}
	}
	if n := len(s.drives); n-down < quorum {
		return fmt.Errorf("%d of %d drives offline, a write needs %d: %w", down, n, quorum, ErrWriteQuorum)
	}
	return nil
}

// deleteAll removes every version of the object from one drive. It is not
// an error if there is none.
func deleteAll(ctx context.Context, d storage.Drive, bucket, object string) error {
	return deleteSettled(ctx, d, bucket, object, time.Time{})
}

// deleteSettled is deleteAll for the versions whose ModTime is not after
// settledBy (all of them if it is zero): the younger ones, which a commit
// may be landing as this runs (Config.CommitSettle), stay, and the error
// then wraps ErrUnsettled. The drive's versions are read here, not taken
// from an earlier read, so that one committed since is seen.
func deleteSettled(ctx context.Context, d storage.Drive, bucket, object string, settledBy time.Time) error {
	raw, err := d.ReadMetadata(ctx, bucket, object)
	var meta *storage.ObjectMeta
	if err == nil {
		meta, err = storage.DecodeObjectMeta(raw)
	}
	switch {
	case errors.Is(err, storage.ErrFileNotFound):
		return nil
	case errors.Is(err, storage.ErrFileCorrupt):
		// Nothing can be read from the record, so it cannot be deleted
		// version by version; deleting any version of it removes what the
		// drive holds of the object (storage.Drive.DeleteVersion).
		if err := d.DeleteVersion(ctx, bucket, object, storage.NullVersionID); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	case err != nil:
		return err
	}
	// Oldest first, the latest last: a drive that fails halfway still
	// shows its latest version, never an older one brought back. (The
	// young versions are the newest: what stays is the latest ones.)
	for i := len(meta.Versions) - 1; i >= 0; i-- {
		v := &meta.Versions[i]
		if !settledBy.IsZero() && v.ModTime.After(settledBy) {
			return fmt.Errorf("version %s kept: %w", v.VersionID, ErrUnsettled)
		}
		err := d.DeleteVersion(ctx, bucket, object, v.VersionID)
		if err != nil && !errors.Is(err, storage.ErrFileVersionNotFound) && !errors.Is(err, storage.ErrFileNotFound) {
			return err
		}
	}
	return nil
}

// deleteObjectsParallel bounds the deletes a DeleteObjects runs at once.
const deleteObjectsParallel = 16

// DeleteObjects deletes many objects of a bucket (S3's multi-object delete)
// and returns one result per name, in order. Every delete is a DeleteObject
// with its own quorum.
func (s *Set) DeleteObjects(ctx context.Context, bucket string, objects []string) []DeleteResult {
	results := make([]DeleteResult, len(objects))
	sem := make(chan struct{}, deleteObjectsParallel)
	var wg sync.WaitGroup
	for i, name := range objects {
		results[i].Name = name
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i].Err = s.DeleteObject(ctx, bucket, name)
		}()
	}
	wg.Wait()
	return results
}
