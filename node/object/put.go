package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// PutObject stores data as the object's new version and returns it once a
// write quorum of drives has committed it. size is the exact number of
// bytes data yields, or -1 if unknown (data is then read to EOF).
//
// On any error nothing of the new version is visible: what was written is
// removed (the data before the commit, the version on the drives that
// committed when too few did), and the object is as it was. That includes
// a failed opts.Precondition (ErrPreconditionFailed), decided under the
// object's write lock just before the commit.
func (s *Set) PutObject(ctx context.Context, bucket, object string, data io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	fail := func(err error) (ObjectInfo, error) {
		return ObjectInfo{}, fmt.Errorf("put %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	switch {
	case data == nil:
		return fail(fmt.Errorf("%w: no data", ErrInvalidArgument))
	case size < -1:
		return fail(fmt.Errorf("%w: size %d", ErrInvalidArgument, size))
	case size > MaxObjectSize:
		return fail(fmt.Errorf("%w: %d bytes, at most %d", ErrEntityTooLarge, size, int64(MaxObjectSize)))
	case opts.ContentMD5 != nil && len(opts.ContentMD5) != md5.Size:
		return fail(fmt.Errorf("%w: Content-MD5 of %d bytes", ErrInvalidArgument, len(opts.ContentMD5)))
	}
	if err := opts.Metadata.validate(); err != nil {
		return fail(err)
	}
	parity := opts.Parity
	if parity == 0 {
		parity = s.parity
	}
	if err := layout.ValidateParity(len(s.drives), parity); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidArgument, err))
	}
	// Before the body is read: a PUT bound to fail its precondition need
	// not store anything first.
	if err := s.precheck(ctx, bucket, object, opts.Precondition); err != nil {
		return fail(err)
	}

	// Small objects go inline. With an unknown size, reading one byte past
	// the limit tells which kind this is.
	var small []byte
	inline := false
	switch {
	case size >= 0 && size <= InlineLimit:
		small = make([]byte, size)
		if _, err := io.ReadFull(data, small); err != nil {
			return fail(readError(err))
		}
		inline = true
	case size < 0:
		head := make([]byte, InlineLimit+1)
		n, err := io.ReadFull(data, head)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			small, inline = head[:n], true
		case err != nil:
			return fail(readError(err))
		default:
			data = io.MultiReader(bytes.NewReader(head), data)
		}
	}

	job, err := s.newPutJob(ctx, bucket, object, parity, inline)
	if err != nil {
		return fail(err)
	}
	if inline {
		err = job.encodeInline(ctx, small)
	} else {
		err = job.encodeStream(ctx, data, size)
	}
	if err == nil && opts.ContentMD5 != nil && !bytes.Equal(opts.ContentMD5, job.md5) {
		err = fmt.Errorf("%w: computed %x, announced %x", ErrBadDigest, job.md5, opts.ContentMD5)
	}
	if err != nil {
		job.removeTmp(ctx, job.online)
		return fail(err)
	}
	storeMetadata(&job.version, opts.Metadata)
	info, err := job.commit(ctx, opts.Precondition)
	if err != nil {
		return fail(err)
	}
	return info, nil
}

// readError classifies a failure to read the client's data.
func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrIncompleteBody, err)
	}
	return fmt.Errorf("read data: %w", err)
}

// putJob is one PUT on its way to the drives.
type putJob struct {
	s              *Set
	bucket, object string
	coder          *erasure.Coder
	writeQuorum    int
	// dist[p] is the shard number (1-based) of set position p.
	dist []int
	// online marks the positions written to: the drives that were not
	// offline at the start. written marks those whose shard is complete.
	online, written []bool
	// version is the new version, without the per-drive fields (shard
	// index, inline data) and the ModTime, which the commit sets.
	version storage.FileVersion
	inline  [][]byte // per position, for inline objects
	tmpID   string   // TmpVolume directory of the shard files
	// shardVolume and shardPath name the shard file encodeStream writes on
	// every drive: TmpVolume/<tmpID>/part.1 for a PUT (RenameData moves
	// <tmpID> itself in as the data dir, leaving nothing to remove), the
	// part file in the upload's data dir for a multipart part.
	shardVolume, shardPath string
	md5                    []byte
}

// newPutJob finds the drives that are offline now, raises the parity by as
// many (so the object is as durable as the others once they are back:
// min(parity+offline, n/2)) and prepares the version.
func (s *Set) newPutJob(ctx context.Context, bucket, object string, parity int, inline bool) (*putJob, error) {
	n := len(s.drives)
	online := s.probe(ctx)
	offline := n - countTrue(online)
	adjusted, ok := layout.AdjustParity(n, parity, offline)
	if !ok {
		return nil, fmt.Errorf("%d of %d drives offline, a write needs %d: %w",
			offline, n, layout.WriteQuorum(n, adjusted), ErrWriteQuorum)
	}
	coder, err := s.coder(n-adjusted, adjusted, int64(s.blockSize))
	if err != nil {
		return nil, err
	}
	dist, err := layout.Distribution(bucket, object, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	j := &putJob{
		s: s, bucket: bucket, object: object, coder: coder,
		writeQuorum: layout.WriteQuorum(n, adjusted),
		dist:        dist, online: online, written: make([]bool, n),
		version: storage.FileVersion{
			VersionID: uuid.NewString(),
			Erasure: storage.ErasureInfo{
				DataBlocks:   n - adjusted,
				ParityBlocks: adjusted,
				BlockSize:    int64(s.blockSize),
				Distribution: dist,
				ChecksumAlgo: storage.BitrotHighwayHash256S,
			},
		},
	}
	if !inline {
		j.version.DataDir = uuid.NewString()
		j.tmpID = uuid.NewString()
		j.shardVolume, j.shardPath = storage.TmpVolume, j.tmpID+"/part.1"
	}
	return j, nil
}

// probe reports which drives are online: those that can tell say so
// (storage.Availability); the others are asked with DiskInfo, which must answer in
// time that they are.
func (s *Set) probe(ctx context.Context) []bool {
	return s.probeDrives(ctx, true)
}

// probeDrives is probe; with trustKnown false every drive is asked, as a
// health check should.
func (s *Set) probeDrives(ctx context.Context, trustKnown bool) []bool {
	online := make([]bool, len(s.drives))
	ask := make([]storage.Drive, len(s.drives))
	asking := false
	for pos, d := range s.drives {
		if a, ok := d.(storage.Availability); ok && trustKnown {
			if up, known := a.Available(); known {
				online[pos] = up
				continue
			}
		}
		ask[pos], asking = d, asking || d != nil
	}
	if !asking {
		return online
	}
	_, errs := fanOut(ctx, ask, s.probeTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		info, err := d.DiskInfo(ctx)
		if err == nil && !info.Online {
			err = storage.ErrDriveOffline
		}
		return struct{}{}, err
	}, nil, 0)
	for pos, err := range errs {
		if ask[pos] != nil {
			online[pos] = err == nil
		}
	}
	return online
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// encodeInline codes a small object in memory: each drive's shard, bitrot
// framed as a shard file would be, goes into its metadata record.
func (j *putJob) encodeInline(ctx context.Context, data []byte) error {
	n := len(j.dist)
	bufs := make([]bytes.Buffer, n) // shard order
	writers := make([]io.Writer, n)
	diskSize := j.coder.ShardDiskSize(int64(len(data)))
	for i := range bufs {
		bufs[i].Grow(int(diskSize))
		bw, err := erasure.NewBitrotWriter(&bufs[i], j.s.key, j.coder.ShardSize())
		if err != nil {
			return err
		}
		writers[i] = bw
	}
	if _, _, err := j.coder.Encode(ctx, writers, bytes.NewReader(data), int64(len(data)), n); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	sum := md5.Sum(data)
	j.md5 = sum[:]
	j.setSize(int64(len(data)))
	j.inline = make([][]byte, n)
	for pos := range j.inline {
		if b := bufs[j.dist[pos]-1].Bytes(); len(b) > 0 {
			j.inline[pos] = b
		}
	}
	copy(j.written, j.online)
	return nil
}

// encodeStream codes data block by block into shard files (shardVolume,
// shardPath), one per online drive, written in parallel through shard
// writers.
func (j *putJob) encodeStream(ctx context.Context, data io.Reader, size int64) error {
	n := len(j.dist)
	diskSize := int64(-1)
	if size >= 0 {
		diskSize = j.coder.ShardDiskSize(size)
	}
	writers := make([]io.Writer, n) // shard order
	sws := make([]*shardWriter, n)  // position order
	for pos, d := range j.s.drives {
		if !j.online[pos] {
			continue
		}
		sw := j.s.newShardWriter(ctx, d, j.shardVolume, j.shardPath, diskSize)
		bw, err := erasure.NewBitrotWriter(sw, j.s.key, j.coder.ShardSize())
		if err != nil {
			sw.abort(err)
			for _, w := range sws {
				if w != nil {
					w.abort(err)
				}
			}
			return err
		}
		writers[j.dist[pos]-1], sws[pos] = bw, sw
	}
	sum := md5.New()
	src := io.TeeReader(&limitedReader{r: data, left: MaxObjectSize + 1}, sum)
	// A drive that holds the others back by more than the write grace is
	// left behind (and healed later), as in every other fan-out of a write.
	began := time.Now()
	written, shardErrs, encErr := j.coder.EncodeWith(ctx, writers, src, size, j.writeQuorum,
		erasure.EncodeOptions{Grace: j.s.writeGrace()})
	if tr := traceOf(ctx); tr != nil && time.Since(began) >= TraceMinStep {
		// The client's upload is in it too: see the request's body_read.
		tr.step("encode and send shards", began, j.encodeDetail(shardErrs))
	}

	began = time.Now()
	j.finishShards(sws, shardErrs, encErr)
	if tr := traceOf(ctx); tr != nil && time.Since(began) >= TraceMinStep {
		tr.step("finish shard files", began, j.finishDetail(sws))
	}
	if encErr != nil {
		return encodeError(encErr)
	}
	if got := countTrue(j.written); got < j.writeQuorum {
		return fmt.Errorf("%d of %d shard files complete, need %d: %w", got, n, j.writeQuorum, ErrWriteQuorum)
	}
	j.md5 = sum.Sum(nil)
	j.setSize(written)
	return nil
}

// encodeDetail says, for a slow encode's trace, which drives' shard
// writes failed or were left behind.
func (j *putJob) encodeDetail(shardErrs []error) string {
	var out []string
	for pos, shard := range j.dist {
		if shardErrs != nil && shardErrs[shard-1] != nil {
			out = append(out, fmt.Sprintf("%s: %v", j.s.drives[pos], shardErrs[shard-1]))
		}
	}
	return strings.Join(out, ", ")
}

// finishDetail says, for a slow finish's trace, which shard files were
// not completed in time.
func (j *putJob) finishDetail(sws []*shardWriter) string {
	var behind []string
	for pos, sw := range sws {
		if sw != nil && !j.written[pos] {
			behind = append(behind, j.s.drives[pos].String())
		}
	}
	if len(behind) == 0 {
		return ""
	}
	return "incomplete: " + strings.Join(behind, ", ")
}

// finishShards finishes every shard file in parallel (finishing syncs the
// file) and marks in j.written those that are complete. Once a write
// quorum of them is, it waits at most writeGrace for the others: a drive
// slow to sync, or a paused one, is given up (its CreateFile cancelled, so
// it removes what it wrote) and healed later, rather than holding up the
// PUT for the shard timeout. The shards the encoder dropped are aborted
// without waiting. Files abandoned on an encode failure are waited for, so
// that a failed PUT leaves nothing behind, up to the probe timeout (a drive
// stuck in a system call removes its file when the call returns).
func (j *putJob) finishShards(sws []*shardWriter, shardErrs []error, encErr error) {
	type finished struct {
		pos int
		ok  bool
	}
	results := make(chan finished, len(sws)) // late finishers never block
	running, waiting := 0, make([]bool, len(sws))
	// givenUp marks the shards this PUT stopped waiting for. Their
	// CreateFile ends in its own time, possibly after the PUT removed its
	// staging directory, and a drive slow to start may even create it again
	// then: whoever sees the call end last removes it (tidy), not the PUT.
	givenUp := make([]atomic.Bool, len(sws))
	tidy := func(pos int) {
		if j.tmpID == "" || !givenUp[pos].Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), j.s.driveTimeout)
		defer cancel()
		_ = j.s.drives[pos].Delete(ctx, storage.TmpVolume, j.tmpID, true)
	}
	for pos, sw := range sws {
		if sw == nil {
			continue
		}
		var shardErr error
		if shardErrs != nil {
			shardErr = shardErrs[j.dist[pos]-1]
		}
		if encErr == nil && shardErr != nil {
			// Known failed, so nothing to wait for: the abort removes what
			// the drive wrote in its own time, which for a drive the
			// encoder left behind is when the drive next reads its input.
			givenUp[pos].Store(true)
			go func() {
				sw.abort(shardErr)
				tidy(pos)
			}()
			continue
		}
		running++
		waiting[pos] = true
		go func() {
			if encErr != nil {
				sw.abort(encErr)
				results <- finished{pos, false}
				tidy(pos)
				return
			}
			results <- finished{pos, sw.finish() == nil}
			tidy(pos)
		}()
	}
	var grace <-chan time.Time
	if encErr != nil && running > 0 {
		// A failed PUT waits for its shard files to be removed, but not
		// for a drive stuck in a call that ignores its cancellation: one
		// that has not finished its abort within the probe timeout
		// removes the file when it returns (tidy).
		t := time.NewTimer(j.s.probeTimeout)
		defer t.Stop()
		grace = t.C
	}
	complete := 0
	for running > 0 {
		select {
		case r := <-results:
			running--
			waiting[r.pos] = false
			if r.ok {
				j.written[r.pos] = true
				complete++
			}
			if grace == nil && encErr == nil && complete >= j.writeQuorum && running > 0 {
				t := time.NewTimer(j.s.writeGrace())
				defer t.Stop()
				grace = t.C
			}
			if encErr == nil && complete+running < j.writeQuorum {
				// The PUT has failed whatever the others do (their drives
				// declared down one node at a time, say): not waited for.
				break
			}
			continue
		case <-grace:
		}
		break
	}
	for pos, w := range waiting {
		if w {
			givenUp[pos].Store(true)
			sws[pos].cancel() // its finish fails; j.written[pos] stays false
		}
	}
}

// encodeError maps an Encode failure to this package's errors.
func encodeError(err error) error {
	switch {
	case errors.Is(err, erasure.ErrWriteQuorum):
		return fmt.Errorf("%w: %w", ErrWriteQuorum, err)
	case errors.Is(err, ErrEntityTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ErrIncompleteBody, err)
	}
	return err
}

// limitedReader fails with ErrEntityTooLarge once more than left-1 bytes
// came through, so an unknown-size stream cannot exceed MaxObjectSize.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left <= 0 {
		return n, fmt.Errorf("%w: more than %d bytes", ErrEntityTooLarge, int64(MaxObjectSize))
	}
	return n, err
}

func (j *putJob) setSize(size int64) {
	etag := hex.EncodeToString(j.md5)
	j.version.Size = size
	j.version.ETag = etag
	j.version.Parts = []storage.PartInfo{{Number: 1, Size: size, ActualSize: size, ETag: etag}}
}

// commit publishes the version on every drive holding its shard, under the
// object's write lock, if pre holds, and acknowledges it only when a write
// quorum did.
//
// The new version has an ID of its own and is added beside the versions
// the drives hold, never over one of them: if too few drives commit, it is
// deleted again from those that did and the object is exactly as before
// (replacing the old version in place would have needed its data back).
// Once the quorum is there, the versions the drives held before go, after
// the lock is released. Whatever stops the commit before it publishes (no
// lock, a failed precondition) removes the staged shard files.
func (j *putJob) commit(ctx context.Context, pre Precondition) (ObjectInfo, error) {
	s := j.s
	wctx := context.WithoutCancel(ctx)
	st, err := s.beginCommit(ctx, j.bucket, j.object, pre)
	if err != nil {
		j.removeTmp(wctx, j.online)
		return ObjectInfo{}, err
	}
	defer st.lk.Unlock()
	j.version.ModTime = st.modTime()
	j.version.Parts[0].ModTime = j.version.ModTime

	targets := make([]storage.Drive, len(s.drives))
	for pos, d := range s.drives {
		if j.written[pos] {
			targets[pos] = d
		}
	}
	older, errs := fanOutWrite(wctx, targets, s.driveTimeout, j.writeQuorum, s.writeGrace(), nil,
		func(ctx context.Context, pos int, d storage.Drive) ([]string, error) {
			res, err := j.publish(ctx, pos, d)
			return res.Older, err
		})
	committed := countNil(errs)

	note := newHealNote(len(s.drives))
	if committed < j.writeQuorum {
		copy(note.missing, j.rollback(wctx, errs))
		noteUnsettled(note, targets, errs)
		s.noteWrite(wctx, note, j.bucket, j.object, "")
		return ObjectInfo{}, quorumFailure(ErrWriteQuorum, "commit", errs, committed, j.writeQuorum)
	}
	// A commit moved the staging directory in whole: only the drives
	// that did not commit may still hold one.
	staged := make([]bool, len(s.drives))
	for pos := range staged {
		staged[pos] = j.tmpID != "" && j.online[pos] && errs[pos] != nil
	}
	s.finishCommit(wctx, st, errs, older, staged, func(ctx context.Context, _ int, d storage.Drive) {
		_ = d.Delete(ctx, storage.TmpVolume, j.tmpID, true)
	})
	for pos, err := range errs {
		note.missing[pos] = err != nil
	}
	s.noteWrite(wctx, note, j.bucket, j.object, j.version.VersionID)
	fi := j.fileInfo(0)
	fi.InlineData = nil
	return objectInfo(j.bucket, j.object, &fi), nil
}

// publish commits the version on drive d, at set position pos, with
// RenameData: its shard files from the staging directory, or its inline
// shard in the record. HealObject commits the same way.
func (j *putJob) publish(ctx context.Context, pos int, d storage.Drive) (storage.RenameDataResult, error) {
	fi := j.fileInfo(pos)
	if j.tmpID == "" {
		return d.RenameData(ctx, "", "", fi, j.bucket, j.object)
	}
	return d.RenameData(ctx, storage.TmpVolume, j.tmpID, fi, j.bucket, j.object)
}

// fileInfo returns the version as position pos stores it.
func (j *putJob) fileInfo(pos int) storage.FileInfo {
	fi := storage.FileInfo{Volume: j.bucket, Name: j.object, FileVersion: j.version}
	fi.Erasure.Index = j.dist[pos]
	if j.inline != nil {
		fi.InlineData = j.inline[pos]
	}
	return fi
}

// noteUnsettled adds to note the drives asked to commit that did not say
// they had: a commit that timed out, or whose answer was lost, may still
// land after the rollback, and leave a version that never had a quorum
// until a heal removes it.
func noteUnsettled(note *healNote, targets []storage.Drive, commitErrs []error) {
	for pos, err := range commitErrs {
		if err != nil && targets[pos] != nil {
			note.missing[pos] = true
		}
	}
}

// rollback takes the new version back from the drives the commit was sent
// to (Set.withdraw) and removes the shard files from the others. It
// returns the drives where the version may remain, to be healed.
func (j *putJob) rollback(ctx context.Context, commitErrs []error) []bool {
	w := withdrawal{bucket: j.bucket, object: j.object, versionID: j.version.VersionID}
	if j.tmpID != "" {
		w.srcVolume, w.srcPath = storage.TmpVolume, j.tmpID
	}
	stale := j.s.withdraw(ctx, w, j.written, commitErrs)
	j.removeTmp(ctx, j.online)
	return stale
}

// removeTmp deletes the staging directory of the shard files on the given
// drives. Whatever it misses is wiped when the drive is next opened.
func (j *putJob) removeTmp(ctx context.Context, on []bool) {
	if j.tmpID == "" {
		return
	}
	targets := make([]storage.Drive, len(j.s.drives))
	for pos, d := range j.s.drives {
		if on[pos] {
			targets[pos] = d
		}
	}
	// A staging directory a slow drive still holds costs space only, and is
	// wiped when the drive next opens: nobody waits long for it.
	_, _ = fanOutWrite(ctx, targets, j.s.driveTimeout, j.writeQuorum, j.s.writeGrace(), nil,
		func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
			return struct{}{}, d.Delete(ctx, storage.TmpVolume, j.tmpID, true)
		})
}
