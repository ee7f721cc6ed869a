package object

import (
	"context"
	"fmt"
)

// CopyObject copies the current version of src into dst on the server side
// and returns the new version. With opts.ReplaceMetadata the copy takes
// opts.Metadata (S3's REPLACE directive; this is how an object's metadata
// is changed in place), otherwise the source's (COPY), which for an object
// onto itself is ErrCopyToSelf, as S3 has it.
//
// The bytes stream from a GET of the source into a PUT of the copy, which
// writes a new version like any PUT (atomic, quorum, rollback, and
// opts.Precondition decided on the destination under its write lock). The GET
// releases the source's read lock before it hands over its first byte (see
// GetObject), and the PUT takes the destination's write lock only once it has
// read its data, so a copy of an object onto itself, or two crossed copies,
// never holds two locks and cannot deadlock. A source overwritten or deleted
// while it is copied is copied whole or the copy fails (GetObject), leaving
// the destination as it was.
func (s *Set) CopyObject(ctx context.Context, srcBucket, srcObject, dstBucket, dstObject string, opts CopyOptions) (ObjectInfo, error) {
	if srcBucket == dstBucket && srcObject == dstObject && !opts.ReplaceMetadata {
		return ObjectInfo{}, fmt.Errorf("copy %s/%s: %w", srcBucket, clip(srcObject), ErrCopyToSelf)
	}
	if err := checkNames(dstBucket, dstObject); err != nil {
		return ObjectInfo{}, fmt.Errorf("copy to %s/%s: %w", dstBucket, clip(dstObject), err)
	}
	if opts.ReplaceMetadata {
		if err := opts.Metadata.validate(); err != nil {
			return ObjectInfo{}, fmt.Errorf("copy to %s/%s: %w", dstBucket, clip(dstObject), err)
		}
	}
	r, err := s.GetObject(ctx, srcBucket, srcObject, GetOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("copy: %w", err)
	}
	defer r.Close()
	src := r.Info()
	meta := src.Metadata
	if opts.ReplaceMetadata {
		meta = opts.Metadata
	}
	info, err := s.PutObject(ctx, dstBucket, dstObject, r, src.Size, PutOptions{Metadata: meta, Parity: opts.Parity, Precondition: opts.Precondition})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("copy from %s/%s: %w", srcBucket, clip(srcObject), err)
	}
	return info, nil
}
