package object

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// scanUploads walks the upload records below prefix (in MultipartVolume)
// on every drive: per drive, what it holds by record name, or why it could
// not say.
func (s *Set) scanUploads(ctx context.Context, prefix string) ([]map[string]metaAnswer, []error) {
	return fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (map[string]metaAnswer, error) {
		found := map[string]metaAnswer{}
		err := d.WalkDir(ctx, storage.WalkDirOptions{Volume: storage.MultipartVolume, Prefix: prefix, Recursive: true},
			func(e storage.MetaEntry) error {
				meta, err := storage.DecodeObjectMeta(e.Metadata)
				if err != nil {
					found[e.Name] = metaAnswer{err: err}
				} else {
					found[e.Name] = metaAnswer{fi: meta.FileInfo(storage.MultipartVolume, e.Name, 0)}
				}
				return nil
			})
		return found, err
	}, nil, 0)
}

// scannedNames returns the record names any drive reported, sorted.
func scannedNames(vals []map[string]metaAnswer) []string {
	var names []string
	for _, m := range vals {
		for name := range m {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ListMultipartUploads lists the uploads in progress (not the tombstones of
// completed ones) in a bucket whose
// object names start with prefix, sorted by object name, then initiation
// time: those after keyMarker (and, for uploads of keyMarker itself, after
// uploadIDMarker), at most maxUploads (<= 0 or more than MaxListUploads:
// MaxListUploads) entries, a common prefix counting as one. With a
// delimiter, the names with one after the prefix are rolled up into
// CommonPrefixes. An upload is listed if its record's data shard count of
// drives agree on it.
func (s *Set) ListMultipartUploads(ctx context.Context, bucket, prefix, keyMarker, uploadIDMarker, delimiter string, maxUploads int) (ListMultipartUploadsResult, error) {
	fail := func(err error) (ListMultipartUploadsResult, error) {
		return ListMultipartUploadsResult{}, fmt.Errorf("list multipart uploads of %s: %w", bucket, err)
	}
	if _, err := s.HeadBucket(ctx, bucket); err != nil {
		return fail(err)
	}
	if maxUploads <= 0 || maxUploads > MaxListUploads {
		maxUploads = MaxListUploads
	}
	root := uploadsDir + "/" + bucket + "/"
	vals, errs := s.scanUploads(ctx, root)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	n := len(s.drives)
	if got := countNil(errs); got < s.readQuorum {
		return fail(fmt.Errorf("%d of %d drives answered, need %d: %w%s", got, n, s.readQuorum, ErrReadQuorum, summarize(errs)))
	}
	var all []MultipartUpload
	answers := make([]metaAnswer, n)
	for _, name := range scannedNames(vals) {
		for pos := range answers {
			a, ok := vals[pos][name]
			switch {
			case errs[pos] != nil:
				a = metaAnswer{err: errs[pos]}
			case !ok:
				a = metaAnswer{err: storage.ErrFileNotFound}
			}
			answers[pos] = a
		}
		d, _ := decide(answers, allTrue(n), s.readQuorum)
		if d.verdict != verdictFound {
			continue
		}
		fi := &answers[d.chosen].fi
		object, id := fi.SysMetadata[sysUploadObject], fi.VersionID
		if fi.SysMetadata[sysUploadCompleted] != "" || fi.SysMetadata[sysUploadBucket] != bucket || name != uploadsDir+"/"+uploadBase(bucket, object, id) ||
			!strings.HasPrefix(object, prefix) {
			continue
		}
		all = append(all, MultipartUpload{
			Bucket: bucket, Object: object, UploadID: id, Initiated: fi.ModTime,
			Metadata:   loadMetadata(&fi.FileVersion),
			DataShards: fi.Erasure.DataBlocks, ParityShards: fi.Erasure.ParityBlocks,
		})
	}
	slices.SortFunc(all, func(a, b MultipartUpload) int {
		return cmp.Or(strings.Compare(a.Object, b.Object), a.Initiated.Compare(b.Initiated), strings.Compare(a.UploadID, b.UploadID))
	})

	// The marker upload, if it still exists, says where its key's uploads
	// resume; else upload IDs above the marker's do.
	markerAt := -1
	if keyMarker != "" && uploadIDMarker != "" {
		markerAt = slices.IndexFunc(all, func(m MultipartUpload) bool { return m.Object == keyMarker && m.UploadID == uploadIDMarker })
	}
	var res ListMultipartUploadsResult
	count := 0
	for i, m := range all {
		switch {
		case keyMarker == "":
		case m.Object < keyMarker:
			continue
		case m.Object == keyMarker:
			if uploadIDMarker == "" || (markerAt >= 0 && i <= markerAt) || (markerAt < 0 && m.UploadID <= uploadIDMarker) {
				continue
			}
		}
		cp := ""
		if delimiter != "" {
			if j := strings.Index(m.Object[len(prefix):], delimiter); j >= 0 {
				cp = m.Object[:len(prefix)+j+len(delimiter)]
				if cp <= keyMarker || (len(res.CommonPrefixes) > 0 && res.CommonPrefixes[len(res.CommonPrefixes)-1] == cp) {
					continue // rolled up already, on this page or an earlier one
				}
			}
		}
		if count == maxUploads {
			res.IsTruncated = true
			break
		}
		count++
		if cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
			continue
		}
		res.Uploads = append(res.Uploads, m)
		res.NextKeyMarker, res.NextUploadIDMarker = m.Object, m.UploadID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}

// CleanupStaleUploads removes the uploads initiated more than olderThan
// ago, found on any drive, with their parts, the tombstones of uploads
// completed more than olderThan ago (a Complete sent again is answered
// until then), and the part trees no drive has an upload record for (left
// by a failed removal). It returns the number of uploads and tombstones
// removed. Each removal takes the upload's write lock, so
// it waits for a part upload or Complete in progress (up to LockTimeout;
// an upload still busy then is left for the next run, and reported in the
// error, after the others are done).
func (s *Set) CleanupStaleUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	return s.cleanupStaleUploads(ctx, time.Now().Add(-olderThan))
}

// cleanupStaleUploads removes the uploads initiated before cutoff.
func (s *Set) cleanupStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	vals, errs := s.scanUploads(ctx, uploadsDir+"/")
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if countNil(errs) == 0 {
		return 0, fmt.Errorf("cleanup uploads: no drive answered: %w%s", ErrReadQuorum, summarize(errs))
	}
	names := scannedNames(vals)
	known := make(map[string]bool, len(names))
	removed := 0
	var failed []error
	for _, name := range names {
		base := strings.TrimPrefix(name, uploadsDir+"/")
		known[base] = true
		// The newest initiation time any drive reports: a damaged record
		// must not make an upload look older than it is.
		var newest time.Time
		for _, m := range vals {
			if a, ok := m[name]; ok && a.err == nil && a.fi.ModTime.After(newest) {
				newest = a.fi.ModTime
			}
		}
		if newest.IsZero() || !newest.Before(cutoff) {
			continue
		}
		if err := s.removeLocked(ctx, base, false); err != nil {
			failed = append(failed, err) // busy: next time
			continue
		}
		removed++
	}
	for _, base := range s.partTrees(ctx) {
		if known[base] {
			continue
		}
		if err := s.removeLocked(ctx, base, true); err != nil {
			failed = append(failed, err)
		}
	}
	return removed, errors.Join(failed...)
}

// removeLocked removes the upload at base under its write lock; with
// orphan, only if no drive has its record.
func (s *Set) removeLocked(ctx context.Context, base string, orphan bool) error {
	lk, err := s.lockNamed(ctx, true, uploadLockName(base, 0))
	if err != nil {
		return fmt.Errorf("cleanup uploads: %w", err)
	}
	defer lk.Unlock()
	if orphan {
		_, errs := s.readRecord(ctx, uploadsDir+"/"+base)
		for _, err := range errs {
			if !isNotFound(err) {
				return nil // a record, or a drive that could not tell: not now
			}
		}
	}
	s.removeUpload(context.WithoutCancel(ctx), base, allTrue(len(s.drives)))
	return nil
}

// partTrees lists the uploads (B/H/U) that have a part tree on any drive.
func (s *Set) partTrees(ctx context.Context) []string {
	vals, _ := fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) ([]string, error) {
		var out []string
		level := func(dir string) []string {
			names, err := d.ListDir(ctx, storage.MultipartVolume, dir, 0)
			if err != nil {
				return nil
			}
			var dirs []string
			for _, name := range names {
				if name, ok := strings.CutSuffix(name, "/"); ok {
					dirs = append(dirs, name)
				}
			}
			return dirs
		}
		for _, b := range level(partsDir) {
			for _, h := range level(partsDir + "/" + b) {
				for _, id := range level(partsDir + "/" + b + "/" + h) {
					if u, err := uuid.Parse(id); err == nil && u.String() == id {
						out = append(out, b+"/"+h+"/"+id)
					}
				}
			}
		}
		return out, nil
	}, nil, 0)
	var all []string
	for _, v := range vals {
		all = append(all, v...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}
