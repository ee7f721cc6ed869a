package object

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridstore/gridstore/node/object/listing"
	"github.com/gridstore/gridstore/storage"
)

// verifyRate is the slowest a drive is expected to read and check a shard
// file: VerifyFile's deadline grows with the shard by a second per this
// many bytes, on top of the drive timeout.
const verifyRate = 4 << 20

// ScanResult says what ScanObject found and did.
type ScanResult struct {
	// Size is the size of the object's current version; 0 when the
	// object is gone (deleted since it was listed) or a delete marker.
	Size int64
	// DataBlocks is the current version's data shard count (0 when gone).
	DataBlocks int
	// Verified reports whether the drives' shard files were checked
	// against their bitrot checksums (a deep scan of an object with data).
	Verified bool
	// Stale are the online drives whose latest record is not the current
	// version (absent, older, another, in the wrong shard position);
	// Corrupt those whose shards failed verification.
	Stale, Corrupt []int
	// Leftovers are the drives holding the current version and older
	// ones beside it, which a write's cleanup should have removed.
	Leftovers []int
	// Offline are the drives that could not be asked (offline, timed
	// out): neither checked nor healed.
	Offline []int
	// Heal is the heal's result, when one ran (Stale, Corrupt or
	// Leftovers not empty).
	Heal *HealResult
}

// ScanObject checks one object on every drive of its set, without a lock:
// that a read quorum agrees on its current version and every online drive
// holds that version and no older one (metadata agreement), and, with deep, that each
// drive's shard files still match their bitrot checksums (storage.Drive.
// VerifyFile: the drive reads its shards where they are, only the verdict
// travels). What disagrees is healed with HealObject (its Corrupt drives
// rebuilt even if their records are current). An object gone since it was
// listed is no error. The heal's error is returned with the result.
func (s *Set) ScanObject(ctx context.Context, bucket, object string, deep bool) (ScanResult, error) {
	var res ScanResult
	if err := checkNames(bucket, object); err != nil {
		return res, fmt.Errorf("scan: %w", err)
	}
	d, err := s.readEvery(ctx, bucket, object)
	switch {
	case err == nil && !d.key.Deleted():
	case err == nil, errors.Is(err, ErrObjectNotFound):
		// Deleted since it was listed: a delete's leftovers are healed
		// by the delete's own record and by reads.
		return res, nil
	default:
		return res, fmt.Errorf("scan %s/%s: %w", bucket, clip(object), err)
	}
	fi := d.answers[d.chosen].fi
	res.Size, res.DataBlocks = fi.Size, fi.Erasure.DataBlocks
	dist := fi.Erasure.Distribution
	good := make([]bool, len(s.drives))
	for pos, a := range d.answers {
		switch {
		case isOffline(s.drives[pos], a.err):
			res.Offline = append(res.Offline, pos)
		case !d.agree[pos] || pos >= len(dist) || a.fi.Erasure.Index != dist[pos]:
			res.Stale = append(res.Stale, pos)
		default:
			good[pos] = true
			if a.fi.NumVersions > 1 {
				res.Leftovers = append(res.Leftovers, pos)
			}
		}
	}
	if deep {
		res.Verified = true
		timeout := s.driveTimeout + time.Duration(fi.Size/verifyRate)*time.Second
		_, errs := fanOut(ctx, s.drivesWhere(good), timeout,
			func(ctx context.Context, pos int, dr storage.Drive) (struct{}, error) {
				return struct{}{}, dr.VerifyFile(ctx, bucket, object, d.answers[pos].fi)
			}, nil, 0)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		for pos, e := range errs {
			if good[pos] && badSource(e) {
				res.Corrupt = append(res.Corrupt, pos)
			}
		}
	}
	if len(res.Stale)+len(res.Corrupt)+len(res.Leftovers) == 0 {
		return res, nil
	}
	hr, err := s.HealObject(ctx, bucket, object, HealOptions{Corrupt: res.Corrupt})
	res.Heal = &hr
	return res, err
}

// EnsureBuckets creates the buckets on the drive at position pos that it
// lacks (a drive that missed their creation: replaced, or wiped): a bucket
// is a volume on every drive. It returns how many it created.
func (s *Set) EnsureBuckets(ctx context.Context, pos int, buckets []string) (int, error) {
	if pos < 0 || pos >= len(s.drives) || s.drives[pos] == nil {
		return 0, fmt.Errorf("ensure buckets: %w: no drive at position %d", ErrInvalidArgument, pos)
	}
	created := 0
	for _, b := range buckets {
		switch err := ensureVolume(ctx, s.drives[pos], b, s.driveTimeout); {
		case err == nil:
			created++
		case !errors.Is(err, errVolumeExisted):
			return created, err
		}
	}
	return created, nil
}

// errVolumeExisted is ensureVolume's way to say nothing was created.
var errVolumeExisted = errors.New("volume existed")

// ensureVolume creates bucket on d unless it is there.
func ensureVolume(ctx context.Context, d storage.Drive, bucket string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch err := d.MakeVol(ctx, bucket); {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrVolumeExists):
		return errVolumeExisted
	default:
		return fmt.Errorf("create bucket %s on %s: %w", bucket, d, err)
	}
}

// WalkPosition is a place in a walk of a set: after object Object of
// bucket Bucket. The zero value is the start.
type WalkPosition struct {
	Bucket, Object string
}

// WalkSet calls fn for every object of set si that a read quorum of its
// drives lists, bucket by bucket in name order and by name within one,
// starting after from; the buckets are the deployment's (ListBuckets).
// An error from fn stops the walk and is returned as is.
func (l *Layer) WalkSet(ctx context.Context, si int, from WalkPosition, fn func(bucket string, o listing.ObjectInfo) error) error {
	if si < 0 || si >= len(l.sets) {
		return fmt.Errorf("walk set: %w: set %d of %d", ErrInvalidArgument, si, len(l.sets))
	}
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return fmt.Errorf("walk set %d: %w", si, err)
	}
	s := l.sets[si]
	lister, err := listing.New(listing.Config{Sets: []listing.Set{{Drives: s.drives, ReadQuorum: s.readQuorum}}})
	if err != nil {
		return fmt.Errorf("walk set %d: %w", si, err)
	}
	for _, b := range buckets {
		if b.Name < from.Bucket {
			continue
		}
		opts := listing.WalkOptions{Bucket: b.Name, Recursive: true}
		if b.Name == from.Bucket {
			opts.StartAfter = from.Object
		}
		for e, werr := range lister.Walk(ctx, opts) {
			if werr != nil {
				if errors.Is(werr, storage.ErrVolumeNotFound) {
					break // deleted since it was listed
				}
				return fmt.Errorf("walk set %d, bucket %s: %w", si, b.Name, werr)
			}
			if e.Dir {
				continue
			}
			if err := fn(b.Name, e.Object); err != nil {
				return err
			}
		}
	}
	return nil
}

// Set returns set si of the layout; nil when there is none.
func (l *Layer) Set(si int) *Set {
	if si < 0 || si >= len(l.sets) {
		return nil
	}
	return l.sets[si]
}
