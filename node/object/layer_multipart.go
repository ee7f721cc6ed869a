package object

import (
	"context"
	"errors"
	"io"
	"time"
)

// Multipart uploads of a Layer: an upload lives in the set of its object
// (SetFor), like the object it completes into, so every call about one
// upload goes there. ListMultipartUploads merges the sets' listings;
// CleanupStaleUploads runs on every set.

// NewMultipartUpload starts an upload of bucket/object in the object's set
// (Set.NewMultipartUpload).
func (l *Layer) NewMultipartUpload(ctx context.Context, bucket, object string, opts PutOptions) (string, error) {
	return l.SetFor(bucket, object).NewMultipartUpload(ctx, bucket, object, opts)
}

// PutObjectPart uploads a part in the object's set (Set.PutObjectPart).
func (l *Layer) PutObjectPart(ctx context.Context, bucket, object, uploadID string, partNumber int, data io.Reader, size int64, opts PartOptions) (PartInfo, error) {
	return l.SetFor(bucket, object).PutObjectPart(ctx, bucket, object, uploadID, partNumber, data, size, opts)
}

// ListParts lists the parts of an upload in the object's set
// (Set.ListParts).
func (l *Layer) ListParts(ctx context.Context, bucket, object, uploadID string, partNumberMarker, maxParts int) (ListPartsResult, error) {
	return l.SetFor(bucket, object).ListParts(ctx, bucket, object, uploadID, partNumberMarker, maxParts)
}

// AbortMultipartUpload removes an upload from the object's set
// (Set.AbortMultipartUpload).
func (l *Layer) AbortMultipartUpload(ctx context.Context, bucket, object, uploadID string) error {
	return l.SetFor(bucket, object).AbortMultipartUpload(ctx, bucket, object, uploadID)
}

// CompleteMultipartUpload assembles an upload into its object, in the
// object's set (Set.CompleteMultipartUpload).
func (l *Layer) CompleteMultipartUpload(ctx context.Context, bucket, object, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	return l.SetFor(bucket, object).CompleteMultipartUpload(ctx, bucket, object, uploadID, parts, opts)
}

// uploadEntry is one entry of a page of uploads: an upload, or a common
// prefix (prefix set, upload zero).
type uploadEntry struct {
	key    string
	prefix bool
	upload MultipartUpload
}

func uploadEntries(r ListMultipartUploadsResult) []uploadEntry {
	out := make([]uploadEntry, 0, len(r.Uploads)+len(r.CommonPrefixes))
	ui, pi := 0, 0
	for ui < len(r.Uploads) || pi < len(r.CommonPrefixes) {
		if pi == len(r.CommonPrefixes) || (ui < len(r.Uploads) && r.Uploads[ui].Object < r.CommonPrefixes[pi]) {
			out = append(out, uploadEntry{key: r.Uploads[ui].Object, upload: r.Uploads[ui]})
			ui++
			continue
		}
		out = append(out, uploadEntry{key: r.CommonPrefixes[pi], prefix: true})
		pi++
	}
	return out
}

// ListMultipartUploads lists the uploads of bucket in every set, with the
// semantics of Set.ListMultipartUploads. Each set lists its first
// maxUploads entries after the markers; as the uploads of one object are
// all in one set, merging these pages by object name (a common prefix
// several sets report counts once) and keeping the first maxUploads gives
// the page of the whole layer. It is truncated if entries were cut or any
// set's page was truncated. Any set failing fails the listing.
func (l *Layer) ListMultipartUploads(ctx context.Context, bucket, prefix, keyMarker, uploadIDMarker, delimiter string, maxUploads int) (ListMultipartUploadsResult, error) {
	if maxUploads <= 0 || maxUploads > MaxListUploads {
		maxUploads = MaxListUploads
	}
	pages := make([]ListMultipartUploadsResult, len(l.sets))
	errs := l.eachSet(func(i int, s *Set) error {
		var err error
		pages[i], err = s.ListMultipartUploads(ctx, bucket, prefix, keyMarker, uploadIDMarker, delimiter, maxUploads)
		return err
	})
	for _, err := range errs {
		if err != nil {
			return ListMultipartUploadsResult{}, err
		}
	}
	lists := make([][]uploadEntry, len(pages))
	truncated := false
	for i, p := range pages {
		lists[i] = uploadEntries(p)
		truncated = truncated || p.IsTruncated
	}
	var res ListMultipartUploadsResult
	count := 0
	for {
		// The smallest head; among equal keys (the same common prefix from
		// several sets, or uploads of one object, all in one set) the first.
		best := -1
		for i, lst := range lists {
			if len(lst) > 0 && (best < 0 || lst[0].key < lists[best][0].key) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		e := lists[best][0]
		lists[best] = lists[best][1:]
		if e.prefix && len(res.CommonPrefixes) > 0 && res.CommonPrefixes[len(res.CommonPrefixes)-1] == e.key {
			continue
		}
		if count == maxUploads {
			truncated = true
			break
		}
		count++
		if e.prefix {
			res.CommonPrefixes = append(res.CommonPrefixes, e.key)
			res.NextKeyMarker, res.NextUploadIDMarker = e.key, ""
			continue
		}
		res.Uploads = append(res.Uploads, e.upload)
		res.NextKeyMarker, res.NextUploadIDMarker = e.upload.Object, e.upload.UploadID
	}
	res.IsTruncated = truncated
	if !truncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}

// CleanupStaleUploads runs Set.CleanupStaleUploads on every set at once
// and returns the number of uploads removed in all of them, with the
// sets' errors joined.
func (l *Layer) CleanupStaleUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	counts := make([]int, len(l.sets))
	errs := l.eachSet(func(i int, s *Set) error {
		var err error
		counts[i], err = s.CleanupStaleUploads(ctx, olderThan)
		return err
	})
	total := 0
	for _, c := range counts {
		total += c
	}
	return total, errors.Join(errs...)
}
