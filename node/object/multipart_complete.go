package object

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// CompleteOptions qualify a CompleteMultipartUpload.
type CompleteOptions struct {
	// Precondition makes the completion conditional on the object's
	// current version, as for a PUT. A failed one leaves the upload in
	// place (the client may abort it), though the parts the list leaves
	// out may be gone already if the object changed during the Complete.
	Precondition Precondition
}

// CompleteMultipartUpload assembles the listed parts of an upload into the
// object's new version, and ends the upload. parts must be in strictly
// ascending order of number (ErrInvalidPartOrder), name parts that exist
// with those ETags (ErrInvalidPart), all but the last at least
// Config.MinPartSize (ErrEntityTooSmall). Parts not listed are discarded.
//
// The commit is a PUT's: under the object's write lock, acknowledged once a
// write quorum of drives has the version (and every part's shard), rolled
// back below it (ErrWriteQuorum, nothing visible). See multipart.go.
//
// Sent again after it succeeded (its answer was lost), with the same parts,
// it answers as the first time, as long as the object's current version is
// still the one this upload made and the upload's tombstone has not
// expired; otherwise, and for another parts list, ErrNoSuchUpload. The
// precondition is not evaluated again for such a retry: it held when the
// version was committed.
func (s *Set) CompleteMultipartUpload(ctx context.Context, bucket, object, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	fail := func(err error) (ObjectInfo, error) {
		return ObjectInfo{}, fmt.Errorf("complete multipart upload %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	if err := checkUploadID(uploadID); err != nil {
		return fail(err)
	}
	switch {
	case len(parts) == 0:
		return fail(fmt.Errorf("%w: no parts", ErrInvalidArgument))
	case len(parts) > MaxPartNumber:
		return fail(fmt.Errorf("%w: %d parts, at most %d", ErrTooManyParts, len(parts), MaxPartNumber))
	}
	for i, p := range parts {
		if p.Number < 1 || p.Number > MaxPartNumber {
			return fail(fmt.Errorf("%w: part number %d outside 1..%d", ErrInvalidPart, p.Number, MaxPartNumber))
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return fail(fmt.Errorf("%w: part %d after part %d", ErrInvalidPartOrder, p.Number, parts[i-1].Number))
		}
	}
	// No write can succeed with fewer drives than the smallest write quorum
	// (the upload's parity may have been raised up to n/2): say so at once
	// rather than after the locks' retries.
	if err := s.writable(layout.WriteQuorum(len(s.drives), len(s.drives)/2)); err != nil {
		return fail(err)
	}
	base := uploadBase(bucket, object, uploadID)
	ul, err := s.lockNamed(ctx, true, uploadLockName(base, 0))
	if err != nil {
		return fail(err)
	}
	defer ul.Unlock()
	u, err := s.resolveUpload(ctx, bucket, object, uploadID)
	if err != nil {
		return fail(err)
	}
	// Completed already? Its tombstone says so, or (if the node stopped
	// between the commit and the tombstone) the object's current version
	// holds the upload's data dir, which is this upload's alone.
	switch info, done, err := s.completedBy(ctx, u, parts); {
	case err != nil:
		return fail(err)
	case done:
		s.finishUpload(context.WithoutCancel(ctx), u, info.VersionID)
		return info, nil
	}
	if err := s.precheck(ctx, bucket, object, opts.Precondition); err != nil {
		return fail(err)
	}
	have, undecided, err := s.readPartsUndecided(ctx, u, 0)
	if err != nil {
		return fail(err)
	}
	byNumber := make(map[int]*resolvedPart, len(have))
	for i := range have {
		byNumber[have[i].Number] = &have[i]
	}
	chosen := make([]*resolvedPart, len(parts))
	sums := make([]byte, 0, md5.Size*len(parts))
	var size int64
	for i, p := range parts {
		r := byNumber[p.Number]
		if r == nil && undecided[p.Number] {
			// Not a client's mistake: the drives that would settle it
			// did not answer.
			return fail(fmt.Errorf("part %d: no read quorum of its record: %w", p.Number, ErrReadQuorum))
		}
		if r == nil {
			return fail(fmt.Errorf("%w: part %d was not uploaded", ErrInvalidPart, p.Number))
		}
		if !strings.EqualFold(strings.Trim(p.ETag, `"`), r.ETag) {
			return fail(fmt.Errorf("%w: part %d has ETag %s, not %q", ErrInvalidPart, p.Number, r.ETag, clip(p.ETag)))
		}
		if i < len(parts)-1 && r.Size < s.minPartSize {
			return fail(fmt.Errorf("%w: part %d has %d bytes, at least %d needed", ErrEntityTooSmall, p.Number, r.Size, s.minPartSize))
		}
		sum, err := hex.DecodeString(r.ETag)
		if err != nil || len(sum) != md5.Size {
			return fail(fmt.Errorf("%w: part %d has a malformed ETag", ErrInvalidPart, p.Number))
		}
		sums = append(sums, sum...)
		size += r.Size
		chosen[i] = r
	}
	total := md5.Sum(sums)

	c := &completeJob{s: s, u: u, parts: chosen}
	c.version = storage.FileVersion{
		VersionID:    uuid.NewString(),
		DataDir:      u.dataDir,
		Size:         size,
		ETag:         hex.EncodeToString(total[:]) + "-" + strconv.Itoa(len(parts)),
		ContentType:  u.fi.ContentType,
		UserMetadata: u.fi.UserMetadata,
		Erasure:      u.fi.Erasure,
		Parts:        make([]storage.PartInfo, len(chosen)),
	}
	for i, r := range chosen {
		c.version.Parts[i] = storage.PartInfo{Number: r.Number, Size: r.Size, ActualSize: r.Size, ETag: r.ETag, ModTime: r.ModTime}
	}
	wctx := context.WithoutCancel(ctx)
	c.prune(wctx)
	info, err := c.commit(ctx, ul, opts.Precondition)
	if err != nil {
		return fail(err)
	}
	s.finishUpload(wctx, u, info.VersionID)
	return info, nil
}

// completeJob is a CompleteMultipartUpload past validation.
type completeJob struct {
	s       *Set
	u       *upload
	parts   []*resolvedPart
	version storage.FileVersion // without the shard index and ModTime
	// holds[pos][i] reports that drive pos holds the shard of parts[i]
	// (its record is the chosen one and its shard file is there) in a data
	// dir that holds nothing else: the drive can commit.
	holds [][]bool
}

// prune leaves in every drive's data dir only the shards of the listed
// parts as the quorum resolved them: every other shard file (of an
// unlisted part, of another attempt of a listed one) goes, its record
// first, so that no drive moves a shard into the object that the version
// does not describe. A drive that cannot be pruned, or holds none of the
// listed parts, does not commit.
func (c *completeJob) prune(ctx context.Context) {
	s, u := c.s, c.u
	n := len(s.drives)
	c.holds = make([][]bool, n)
	want := make([]map[int]int, n) // per drive: part number -> index in c.parts
	on := make([]bool, n)
	for pos := range n {
		for i, p := range c.parts {
			if p.holders[pos] {
				if want[pos] == nil {
					want[pos] = map[int]int{}
				}
				want[pos][p.Number] = i
			}
		}
		on[pos] = len(want[pos]) > 0
	}
	dataPath := u.dataPath()
	vals, _ := fanOut(ctx, s.drivesWhere(on), s.driveTimeout, func(ctx context.Context, pos int, d storage.Drive) ([]bool, error) {
		names, err := d.ListDir(ctx, storage.MultipartVolume, dataPath, 0)
		if err != nil {
			return nil, err
		}
		holds := make([]bool, len(c.parts))
		for _, name := range names {
			num, ok := parseShardName(name)
			if i, keep := want[pos][num]; ok && keep {
				holds[i] = true
				continue
			}
			if ok {
				if err := d.Delete(ctx, storage.MultipartVolume, partRecordPath(u.base, num), true); err != nil && !isNotFound(err) {
					return nil, err
				}
			}
			if err := d.Delete(ctx, storage.MultipartVolume, dataPath+"/"+strings.TrimSuffix(name, "/"), true); err != nil && !isNotFound(err) {
				return nil, err
			}
		}
		if countTrue(holds) == 0 {
			return nil, fmt.Errorf("%w: no shard of the listed parts", storage.ErrFileNotFound)
		}
		return holds, nil
	}, nil, 0)
	copy(c.holds, vals)
}

// parseShardName reads a shard file's name: part.N.
func parseShardName(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "part.")
	if !ok {
		return 0, false
	}
	num, err := strconv.Atoi(rest)
	if err != nil || num < 1 || num > MaxPartNumber || strconv.Itoa(num) != rest {
		return 0, false
	}
	return num, true
}

// commit publishes the version on the drives that can hold it, under the
// object's write lock, if pre holds, as putJob.commit does; ul is the
// upload's lock, which must not have been lost either.
func (c *completeJob) commit(ctx context.Context, ul Lock, pre Precondition) (ObjectInfo, error) {
	s, u := c.s, c.u
	bucket, object := u.bucket, u.object
	n := len(s.drives)
	st, err := s.beginCommit(ctx, bucket, object, pre, ul)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer st.lk.Unlock()
	wctx := context.WithoutCancel(ctx)
	targets := make([]bool, n)
	var partial []int // drives that commit without the shard of some part
	for pos := range n {
		targets[pos] = c.holds[pos] != nil
		if targets[pos] && countTrue(c.holds[pos]) < len(c.parts) {
			partial = append(partial, pos)
		}
	}
	// Such a drive's record will name a part whose shard it lacks, which
	// nothing but a read of that shard or a deep scan would notice: it is
	// remembered before the commit, not only after it, so that a writer
	// killed in between still leaves it to be healed (its log is replayed
	// when it is back). A commit that then fails leaves an entry whose heal
	// finds nothing to do.
	s.rememberMissed(wctx, bucket, object, c.version.VersionID, partial)
	c.version.ModTime = st.modTime() // after the log, which may take seconds
	// As a PUT commits: at the write quorum plus a grace, the drives still
	// at it noted for healing (a drive of a node going away must not hold
	// the answer for its whole timeout).
	older, errs := fanOutWrite(wctx, s.drivesWhere(targets), s.driveTimeout, u.writeQuorum, s.writeGrace(), nil,
		func(ctx context.Context, pos int, d storage.Drive) ([]string, error) {
			res, err := d.RenameData(ctx, storage.MultipartVolume, u.dataPath(), c.fileInfo(pos), bucket, object)
			return res.Older, err
		})
	committed := countNil(errs)
	short := -1 // a part with too few committed shards
	for i := range c.parts {
		got := 0
		for pos := range n {
			if errs[pos] == nil && c.holds[pos][i] {
				got++
			}
		}
		if got < u.writeQuorum {
			short = i
			break
		}
	}

	note := newHealNote(n)
	if committed < u.writeQuorum || short >= 0 {
		copy(note.missing, c.rollback(wctx, targets, errs))
		noteUnsettled(note, s.drivesWhere(targets), errs)
		s.noteWrite(wctx, note, bucket, object, "")
		if committed >= u.writeQuorum {
			return ObjectInfo{}, fmt.Errorf("commit: part %d on fewer than %d drives: %w%s",
				c.parts[short].Number, u.writeQuorum, ErrWriteQuorum, summarize(errs))
		}
		return ObjectInfo{}, quorumFailure(ErrWriteQuorum, "commit", errs, committed, u.writeQuorum)
	}
	s.finishCommit(wctx, st, errs, older, nil, nil)
	for pos := range n {
		note.missing[pos] = errs[pos] != nil || countTrue(c.holds[pos]) < len(c.parts)
	}
	s.noteWrite(wctx, note, bucket, object, c.version.VersionID)
	fi := c.fileInfo(0)
	return objectInfo(bucket, object, &fi), nil
}

// fileInfo returns the version as position pos stores it.
func (c *completeJob) fileInfo(pos int) storage.FileInfo {
	fi := storage.FileInfo{Volume: c.u.bucket, Name: c.u.object, FileVersion: c.version}
	fi.Erasure.Index = c.u.fi.Erasure.Distribution[pos]
	return fi
}

// rollback takes the new version back from the drives the commit was sent
// to (Set.withdraw), with the data they moved into the object; their part
// records go too, as their shards are gone from the upload. It returns the
// drives where the version may remain.
func (c *completeJob) rollback(ctx context.Context, sent []bool, commitErrs []error) []bool {
	return c.s.withdraw(ctx, withdrawal{
		bucket: c.u.bucket, object: c.u.object, versionID: c.version.VersionID,
		srcVolume: storage.MultipartVolume, srcPath: partsDir + "/" + c.u.base,
	}, sent, commitErrs)
}

// completedBy reports whether the upload has been completed into the
// object's current version (which holds the upload's data dir, unique to
// the upload, as only this upload's Complete can make it) and, if so, that
// version, for a Complete sent again with parts. A completed upload whose
// object has changed since, or a parts list other than the one completed,
// is ErrNoSuchUpload: that upload is over. For an upload in progress, an
// object that cannot be read is not an error here: the commit decides.
func (s *Set) completedBy(ctx context.Context, u *upload, parts []CompletePart) (ObjectInfo, bool, error) {
	lk, err := s.lock(ctx, false, u.bucket, u.object)
	if err != nil {
		return ObjectInfo{}, false, err
	}
	defer lk.Unlock()
	d, err := s.resolve(ctx, u.bucket, u.object)
	var fi *storage.FileInfo
	switch {
	case err == nil:
		fi = &d.answers[d.chosen].fi
	case !u.completed():
		return ObjectInfo{}, false, nil
	case !errors.Is(err, ErrObjectNotFound):
		return ObjectInfo{}, false, err
	}
	switch {
	case fi != nil && fi.DataDir == u.dataDir:
	case u.completed():
		return ObjectInfo{}, false, fmt.Errorf("upload %s: completed, and the object has changed since: %w", u.id, ErrNoSuchUpload)
	default:
		return ObjectInfo{}, false, nil
	}
	if !sameParts(fi.Parts, parts) {
		return ObjectInfo{}, false, fmt.Errorf("upload %s: completed with another list of parts: %w", u.id, ErrNoSuchUpload)
	}
	return objectInfo(u.bucket, u.object, fi), true, nil
}

// sameParts reports whether a Complete's list names exactly the parts of
// a version (numbers, and ETags compared as Complete compares them).
func sameParts(have []storage.PartInfo, list []CompletePart) bool {
	if len(have) != len(list) {
		return false
	}
	for i, p := range list {
		if have[i].Number != p.Number || !strings.EqualFold(strings.Trim(p.ETag, `"`), have[i].ETag) {
			return false
		}
	}
	return true
}

// finishUpload ends a completed upload: its record becomes its tombstone
// (the same record, dated now and naming the version it was completed
// into), so that a Complete sent again can be answered until the stale
// upload cleanup removes it, and its parts go. Both are best effort, after
// the fact: the object is committed whatever happens here. A tombstone on
// too few drives leaves the old record in force, which completedBy
// recognises by the object's data dir just the same; what a drive keeps of
// the parts is removed with the record by CleanupStaleUploads.
func (s *Set) finishUpload(ctx context.Context, u *upload, versionID string) {
	on := allTrue(len(s.drives))
	if !u.completed() {
		v := u.fi.FileVersion
		v.SysMetadata = maps.Clone(v.SysMetadata)
		v.SysMetadata[sysUploadCompleted] = versionID
		// The tombstone must be newer than the record it replaces on every
		// drive, whatever the clocks say, to be the one a quorum agrees on.
		v.ModTime = time.Now().UTC().Round(0)
		if !v.ModTime.After(u.fi.ModTime) {
			v.ModTime = u.fi.ModTime.Add(time.Nanosecond)
		}
		record := uploadsDir + "/" + u.base
		_, _ = fanOut(ctx, s.drivesWhere(on), s.driveTimeout, func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
			fi := storage.FileInfo{Volume: storage.MultipartVolume, Name: record, FileVersion: v}
			fi.Erasure.Index = v.Erasure.Distribution[pos]
			return struct{}{}, d.WriteMetadata(ctx, storage.MultipartVolume, record, fi)
		}, nil, 0)
	}
	_, _ = fanOut(ctx, s.drivesWhere(on), s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		return struct{}{}, d.Delete(ctx, storage.MultipartVolume, partsDir+"/"+u.base, true)
	}, nil, 0)
}
