package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// A bucket is a volume on every drive of the set. Bucket changes take the
// write lock of "bucket/" (no object name is empty, so it is no object's
// lock), so that a MakeBucket and a DeleteBucket of one bucket cannot
// interleave their drive calls.

// MakeBucket creates a bucket on the set's drives. It succeeds once a write
// quorum of drives has it; if fewer took it, the drives that did are undone.
// A bucket a read quorum already had is ErrBucketExists (any drive that
// lacked it has it now).
func (s *Set) MakeBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return fmt.Errorf("make bucket: %w", err)
	}
	lk, err := s.lock(ctx, true, bucket, "")
	if err != nil {
		return fmt.Errorf("make bucket %s: %w", bucket, err)
	}
	defer lk.Unlock()
	wctx := context.WithoutCancel(ctx)
	_, errs := fanOut(wctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		return struct{}{}, d.MakeVol(ctx, bucket)
	}, nil, 0)
	created, existed := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, storage.ErrVolumeExists):
			existed++
		}
	}
	switch {
	case existed >= s.readQuorum:
		return fmt.Errorf("make bucket %s: %w", bucket, ErrBucketExists)
	case created+existed >= s.writeQuorum:
		return nil
	}
	s.undoBucket(wctx, bucket, errs, func(ctx context.Context, d storage.Drive) error { return d.DeleteVol(ctx, bucket) })
	return fmt.Errorf("make bucket %s: %w", bucket, quorumFailure(ErrWriteQuorum, "make", errs, created+existed, s.writeQuorum))
}

// undoBucket calls undo on the drives where the bucket change succeeded.
func (s *Set) undoBucket(ctx context.Context, bucket string, errs []error, undo func(ctx context.Context, d storage.Drive) error) {
	targets := make([]storage.Drive, len(s.drives))
	for pos, d := range s.drives {
		if errs[pos] == nil {
			targets[pos] = d
		}
	}
	_, _ = fanOut(ctx, targets, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		return struct{}{}, undo(ctx, d)
	}, nil, 0)
}

// HeadBucket describes a bucket that a read quorum of drives has;
// ErrBucketNotFound needs a read quorum without it, and anything between
// is ErrReadQuorum.
func (s *Set) HeadBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return BucketInfo{}, fmt.Errorf("head bucket: %w", err)
	}
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (storage.VolInfo, error) {
		return d.StatVol(ctx, bucket)
	}, nil, 0)
	info := BucketInfo{Name: bucket}
	have, lack := 0, 0
	for pos, err := range errs {
		switch {
		case err == nil:
			have++
			info.Created = earliest(info.Created, vals[pos].Created)
		case errors.Is(err, storage.ErrVolumeNotFound):
			lack++
		}
	}
	switch {
	case have >= s.readQuorum:
		return info, nil
	case lack >= s.readQuorum:
		return BucketInfo{}, fmt.Errorf("head bucket %s: %w", bucket, ErrBucketNotFound)
	}
	return BucketInfo{}, fmt.Errorf("head bucket %s: %d of %d drives have it, %d lack it, need %d either way: %w%s",
		bucket, have, len(errs), lack, s.readQuorum, ErrReadQuorum, summarize(errs))
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// ListBuckets lists the buckets a read quorum of drives has, sorted by
// name. A bucket that neither a read quorum has nor a read quorum lacks
// (half created or half deleted, with drives missing) makes it fail with
// ErrReadQuorum rather than answer wrong either way.
func (s *Set) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) ([]storage.VolInfo, error) {
		return d.ListVols(ctx)
	}, nil, 0)
	answered := countNil(errs)
	if answered < s.readQuorum {
		return nil, fmt.Errorf("list buckets: %d of %d drives answered, need %d: %w%s",
			answered, len(errs), s.readQuorum, ErrReadQuorum, summarize(errs))
	}
	seen := map[string]*struct {
		count   int
		created time.Time
	}{}
	for pos, vols := range vals {
		if errs[pos] != nil {
			continue
		}
		for _, v := range vols {
			if storage.IsSystemVolume(v.Name) || checkBucket(v.Name) != nil {
				continue
			}
			e := seen[v.Name]
			if e == nil {
				e = &struct {
					count   int
					created time.Time
				}{}
				seen[v.Name] = e
			}
			e.count++
			e.created = earliest(e.created, v.Created)
		}
	}
	var out []BucketInfo
	for name, e := range seen {
		switch {
		case e.count >= s.readQuorum:
			out = append(out, BucketInfo{Name: name, Created: e.created})
		case answered-e.count < s.readQuorum:
			return nil, fmt.Errorf("list buckets: bucket %s on %d of %d answering drives: %w", name, e.count, answered, ErrReadQuorum)
		}
	}
	slices.SortFunc(out, func(a, b BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteBucket deletes an empty bucket. If any drive holds something in it,
// the bucket stays (it is recreated on the drives that had already dropped
// it) and the answer is ErrBucketNotEmpty: a bucket is never deleted with
// data in it, even data only some drives hold. Like any write it needs a
// write quorum, and is undone below it.
func (s *Set) DeleteBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return fmt.Errorf("delete bucket: %w", err)
	}
	lk, err := s.lock(ctx, true, bucket, "")
	if err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	defer lk.Unlock()
	wctx := context.WithoutCancel(ctx)
	_, errs := fanOut(wctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		return struct{}{}, d.DeleteVol(ctx, bucket)
	}, nil, 0)
	deleted, absent, notEmpty := 0, 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			deleted++
		case errors.Is(err, storage.ErrVolumeNotFound):
			absent++
		case errors.Is(err, storage.ErrVolumeNotEmpty):
			notEmpty++
		}
	}
	remake := func(ctx context.Context, d storage.Drive) error { return d.MakeVol(ctx, bucket) }
	switch {
	case notEmpty > 0:
		s.undoBucket(wctx, bucket, errs, remake)
		return fmt.Errorf("delete bucket %s: %w (on %d of %d drives)", bucket, ErrBucketNotEmpty, notEmpty, len(errs))
	case deleted == 0 && absent >= s.readQuorum:
		return fmt.Errorf("delete bucket %s: %w", bucket, ErrBucketNotFound)
	case deleted+absent >= s.writeQuorum:
		return nil
	}
	s.undoBucket(wctx, bucket, errs, remake)
	return fmt.Errorf("delete bucket %s: %w", bucket, quorumFailure(ErrWriteQuorum, "delete", errs, deleted+absent, s.writeQuorum))
}
