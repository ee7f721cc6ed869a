package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// GetObjectInfo returns the current version of an object (HEAD).
func (s *Set) GetObjectInfo(ctx context.Context, bucket, object string) (ObjectInfo, error) {
	fail := func(err error) (ObjectInfo, error) {
		return ObjectInfo{}, fmt.Errorf("head %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	lk, err := s.lock(ctx, false, bucket, object)
	if err != nil {
		return fail(err)
	}
	defer lk.Unlock()
	d, err := s.resolve(ctx, bucket, object)
	s.queueMetadataHeal(d, bucket, object)
	if err != nil {
		return fail(err)
	}
	return objectInfo(bucket, object, &d.answers[d.chosen].fi), nil
}

// resolve reads the current version of an object.
func (s *Set) resolve(ctx context.Context, bucket, object string) (decision, error) {
	d, err := s.readLatest(ctx, bucket, object)
	if err != nil {
		return d, err
	}
	if d.key.Deleted() {
		// A delete marker is the current version: the object is gone.
		return d, fmt.Errorf("%w (delete marker)", ErrObjectNotFound)
	}
	return d, nil
}

// queueMetadataHeal queues a heal of the drives whose latest version is not
// the current one, when a read decided what is current: a version, a delete
// marker or the object's absence. The drives left holding a version of an
// object that is absent or deleted are healed too: a write whose
// coordinator died after committing on a few drives leaves them so, and
// nothing else would notice them until the scanner's pass.
func (s *Set) queueMetadataHeal(d decision, bucket, object string) {
	switch d.verdict {
	case verdictFound:
		s.metadataHeal(d).queue(s.heal, bucket, object, d.key.VersionID())
	case verdictNotFound:
		s.metadataHeal(d).queue(s.heal, bucket, object, "")
	}
}

// metadataHeal notes the drives whose latest version is not the current one
// (for an absent object: the drives that hold any version).
func (s *Set) metadataHeal(d decision) *healNote {
	note := newHealNote(len(s.drives))
	for pos, a := range d.answers {
		switch {
		case d.verdict == verdictFound && d.agree[pos]:
		case d.verdict == verdictNotFound && isNotFound(a.err):
		case a.err == nil:
			note.missing[pos] = true // another (older, or uncommitted) version
		default:
			note.classify(pos, a.err)
		}
	}
	return note
}

// GetObject resolves the current version of an object (and the range of it
// asked for) and returns a reader of its bytes. Nothing is read from the
// shards until the reader is used.
//
// The object's read lock covers choosing the version and opening the shard
// streams of the range's first block: the reader releases it when that
// block has been decoded, just before its first byte goes to the caller's
// writer (which may block on a slow client), or at once when there is
// nothing to open (an inline object, whose shards came with its metadata,
// or an empty range). A writer of the key then waits for a GET's first
// block at most, never for its client.
//
// What the reader goes on reading stays the version it chose: a version's
// data dir is its own and never rewritten, and an open shard stream keeps
// its file (an open descriptor, on the drive's node for a remote drive)
// after a PUT's cleanup or a DELETE removed it. The data shards of a
// multipart object's later parts are opened ahead, under the lock (up to
// maxPreopenStreams; the lock waits for those opens as long as for a late
// shard). A stream opened after the lock is gone (a parity shard that
// replaces a late or failed data shard, parts beyond that budget, a retry)
// may find its file removed:
// that shard is missing, never other bytes (the path is the version's, and
// the bitrot check stands guard), and a block that cannot make its quorum
// without it fails the read with ErrReadQuorum after the bytes already
// delivered. So a GET racing an overwrite or delete of its key returns the
// old version whole, or an error part way; never a mix, never a short
// success. The caller must Close it.
func (s *Set) GetObject(ctx context.Context, bucket, object string, opts GetOptions) (*ObjectReader, error) {
	fail := func(err error) (*ObjectReader, error) {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	lk, err := s.lock(ctx, false, bucket, object)
	if err != nil {
		return fail(err)
	}
	d, err := s.resolve(ctx, bucket, object)
	if err != nil {
		lk.Unlock()
		s.queueMetadataHeal(d, bucket, object)
		return fail(err)
	}
	fi := &d.answers[d.chosen].fi
	offset, length := int64(0), fi.Size
	switch {
	case opts.PartNumber != 0:
		if offset, length, err = partRange(fi, opts); err != nil {
			lk.Unlock()
			return fail(err)
		}
	case opts.Range != nil:
		if offset, length, err = opts.Range.Resolve(fi.Size); err != nil {
			lk.Unlock()
			return fail(err)
		}
	}
	r := &ObjectReader{
		info: objectInfo(bucket, object, fi), offset: offset, length: length,
		ctx: ctx, set: s, d: d, lock: lk,
	}
	if fi.DataDir == "" || length == 0 {
		// Nothing left to open: the bytes are in the records read.
		r.release()
	}
	return r, nil
}

// ObjectReader streams the bytes of one version of an object, as resolved
// by GetObject. Use WriteTo (io.Copy does) or Read, once; not both.
//
// Once bytes have been delivered, a failure is still reported as an error
// (with the count of bytes delivered), never as a short success: the caller
// must not take a short stream for the object (an HTTP server must abort
// the response).
type ObjectReader struct {
	info           ObjectInfo
	offset, length int64
	ctx            context.Context
	set            *Set
	d              decision
	lock           Lock
	unlockOnce     sync.Once
	unlocked       chan struct{} // closed once lock is released
	used           bool

	// The Read path: WriteTo into a pipe from a goroutine.
	pr   *io.PipeReader
	done chan struct{}
}

var errReaderUsed = errors.New("object reader already used")

// Info describes the version being read.
func (r *ObjectReader) Info() ObjectInfo { return r.info }

// Range returns the offset and length of the bytes the reader delivers.
func (r *ObjectReader) Range() (offset, length int64) { return r.offset, r.length }

// release starts releasing the lock, once. A distributed lock's Unlock
// waits for its servers, which is no reason to delay a first byte.
func (r *ObjectReader) release() {
	r.unlockOnce.Do(func() {
		done := make(chan struct{})
		r.unlocked = done
		go func() {
			defer close(done)
			r.lock.Unlock()
		}()
	})
}

// unlock releases the lock and waits until it is released.
func (r *ObjectReader) unlock() {
	r.release()
	<-r.unlocked
}

// WriteTo writes the selected bytes to w. It returns early, with an error,
// when w fails or the context given to GetObject ends, cancelling every
// shard read in flight.
func (r *ObjectReader) WriteTo(w io.Writer) (int64, error) {
	if r.used {
		return 0, errReaderUsed
	}
	r.used = true
	return r.stream(w)
}

// stream is WriteTo once the reader is marked used.
func (r *ObjectReader) stream(w io.Writer) (int64, error) {
	defer r.unlock()
	w = &unlockingWriter{w: w, unlock: r.release}
	n, err := r.set.decodeTo(r.ctx, w, r.info.Bucket, r.info.Name, r.d, r.offset, r.length)
	if err != nil {
		return n, fmt.Errorf("get %s/%s: %w", r.info.Bucket, clip(r.info.Name), err)
	}
	return n, nil
}

// unlockingWriter releases the reader's lock at the first Write, before
// passing it on: by then the first block has been read, so the shard
// streams that block needed are open, and the Write is the first thing
// that can wait on the caller.
type unlockingWriter struct {
	w      io.Writer
	unlock func()
	// beforeUnlock, if set, runs first: decodeTo waits there for the
	// streams it opens ahead.
	beforeUnlock func()
	unlocked     bool
}

func (u *unlockingWriter) Write(p []byte) (int, error) {
	if !u.unlocked {
		u.unlocked = true
		if u.beforeUnlock != nil {
			u.beforeUnlock()
		}
		u.unlock()
	}
	return u.w.Write(p)
}

// Read implements io.Reader, through a pipe fed by WriteTo from a goroutine
// started on the first call.
func (r *ObjectReader) Read(p []byte) (int, error) {
	if r.pr == nil {
		if r.used {
			return 0, errReaderUsed
		}
		r.used = true
		pr, pw := io.Pipe()
		r.pr, r.done = pr, make(chan struct{})
		go func() {
			defer close(r.done)
			_, err := r.stream(pw)
			pw.CloseWithError(err)
		}()
	}
	return r.pr.Read(p)
}

// Close stops the reader and releases its lock if it still holds it. It
// waits for the shard reads in flight to end.
func (r *ObjectReader) Close() error {
	if r.pr != nil {
		r.pr.CloseWithError(fmt.Errorf("object reader: %w", io.ErrClosedPipe))
		<-r.done
	}
	r.used = true
	r.unlock()
	return nil
}

// decodeTo writes the bytes [offset, offset+length) of the version d chose
// to w, reading data shards first and parity only as needed (DESIGN §3),
// each shard prefetched, and queues what it found out of date for healing.
// A multipart object's parts are coded independently: the range is mapped
// to the parts it covers, decoded one after the other. The data shards of
// the parts after the first are opened at the start (preopenParts), so that
// they are open before the GET lets go of its lock.
func (s *Set) decodeTo(ctx context.Context, w io.Writer, bucket, object string, d decision, offset, length int64) (int64, error) {
	fi := &d.answers[d.chosen].fi
	note := s.metadataHeal(d)
	defer func() { note.queue(s.heal, bucket, object, fi.VersionID) }()
	if length == 0 {
		return 0, nil
	}
	coder, err := s.coder(fi.Erasure.DataBlocks, fi.Erasure.ParityBlocks, fi.Erasure.BlockSize)
	if err != nil {
		return 0, err
	}
	parts, err := dataParts(fi)
	if err != nil {
		return 0, err
	}
	plan := planParts(parts, offset, length)
	pre := s.preopenParts(ctx, bucket, object, d, coder, plan)
	defer pre.close()
	if u, ok := w.(*unlockingWriter); ok && len(pre.byPart) > 0 {
		// The streams opened ahead are only safe from a writer once open:
		// the lock waits for them, as long as a late shard is waited for
		// (an open slower than that is a late drive, whose shard parity
		// can stand in for).
		wait := s.late.threshold()
		if wait <= 0 {
			wait = maxLateShard
		}
		u.beforeUnlock = func() {
			began := time.Now()
			pre.wait(ctx, wait)
			traceStepOf(ctx, "wait for the shard streams opened ahead", began)
		}
	}
	var written int64
	// Drives whose shard stalled in an earlier part (a hung drive) are
	// left out of the next ones, so that one costs a shard timeout per
	// request, not per part; they are asked again if the others cannot
	// make the quorum of a block.
	stalled := make([]bool, len(s.drives))
	for i, pp := range plan {
		skip := stalled
		if countTrue(stalled) == 0 {
			skip = nil
		}
		stalledBefore := countTrue(stalled)
		k, err := s.decodePart(ctx, w, bucket, object, d, coder, note, skip, stalled, pp.part, pp.offset, pp.length, written, pre.of(i))
		written += k
		// A shard given up for being slow is not a lost shard: when the
		// others cannot make the quorum without it, ask again once, with
		// every drive, rather than fail a read a slow drive could serve.
		// (Streams opened now, after the lock, may find the version gone.)
		if err != nil && (skip != nil || countTrue(stalled) > stalledBefore) && errors.Is(err, ErrReadQuorum) && ctx.Err() == nil {
			var k2 int64
			k2, err = s.decodePart(ctx, w, bucket, object, d, coder, note, nil, stalled, pp.part, pp.offset+k, pp.length-k, written, nil)
			k += k2
			written += k2
		}
		// An inline object's shards are in the records: those of the
		// drives its metadata read did not need, or did not wait for, are
		// read now, when the others' shards fell short.
		if err != nil && fi.DataDir == "" && errors.Is(err, ErrReadQuorum) && ctx.Err() == nil && s.askTheRest(ctx, bucket, object, d, note) {
			var k2 int64
			k2, err = s.decodePart(ctx, w, bucket, object, d, coder, note, nil, stalled, pp.part, pp.offset+k, pp.length-k, written, nil)
			written += k2
		}
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// askTheRest reads the latest version of the object on the drives whose
// record the metadata read that made d did not get: those it did not ask
// (errNotNeeded) and those it stopped waiting for once the others had
// settled the version (errDriveTimeout). A drive that was merely late for
// that read may well hold a good record, and with corrupt shards elsewhere
// its shard can be the one the decode lacks; only a drive known down is
// not worth the call. It adds those that agree with d's choice to d (which
// shares its slices with its copies), and notes the others for healing. It
// reports whether any was added.
func (s *Set) askTheRest(ctx context.Context, bucket, object string, d decision, note *healNote) bool {
	rest := make([]bool, len(s.drives))
	for pos, a := range d.answers {
		drive := s.drives[pos]
		rest[pos] = drive != nil && errors.Is(a.err, errDriveTimeout) && !storage.KnownDown(drive)
	}
	if countTrue(rest) == 0 {
		return false
	}
	// As many more shards as the decode lacked are waited for, and the
	// others StragglerWait more: a hung drive among them costs nothing.
	short := d.answers[d.chosen].fi.Erasure.DataBlocks
	for pos, ok := range d.agree {
		if ok && !note.corrupt[pos] && !note.missing[pos] {
			short--
		}
	}
	agrees := func(fi *storage.FileInfo, err error) bool {
		return err == nil && versions.CheckErasure(&fi.FileVersion, len(s.drives)) == nil && versions.KeyOf(&fi.FileVersion) == d.key
	}
	vals, errs := fanOut(ctx, s.drivesWhere(rest), s.driveTimeout,
		func(ctx context.Context, _ int, d storage.Drive) (storage.FileInfo, error) {
			return d.ReadVersion(ctx, bucket, object, "")
		},
		func(vals []storage.FileInfo, errs []error, answered []bool, _ int) bool {
			more := 0
			for pos := range vals {
				if rest[pos] && answered[pos] && agrees(&vals[pos], errs[pos]) {
					more++
				}
			}
			return more >= short
		}, s.stragglerWait)
	added := false
	for pos := range rest {
		if !rest[pos] {
			continue
		}
		d.answers[pos] = metaAnswer{fi: vals[pos], err: errs[pos]}
		switch err := errs[pos]; {
		case agrees(&vals[pos], err):
			d.agree[pos], added = true, true
		case err == nil:
			note.missing[pos] = true // another (older, or uncommitted) version
		default:
			note.classify(pos, err)
		}
	}
	return added
}

// partSpan is the range of one part a read covers.
type partSpan struct {
	part           storage.PartInfo
	offset, length int64
}

// planParts maps the range [offset, offset+length) of a version to the
// parts it covers.
func planParts(parts []storage.PartInfo, offset, length int64) []partSpan {
	var plan []partSpan
	for _, p := range parts {
		if length == 0 {
			break
		}
		if offset >= p.Size {
			offset -= p.Size
			continue
		}
		n := min(length, p.Size-offset)
		plan = append(plan, partSpan{part: p, offset: offset, length: n})
		offset, length = 0, length-n
	}
	return plan
}

// maxPreopenStreams bounds the shard streams a GET opens ahead of their
// parts: file descriptors on local drives, connections (with the socket
// buffers the first bytes fill) to remote ones. 64 covers 16 parts of a
// set with 4 data shards, 8 of one with 8.
const maxPreopenStreams = 64

// preopened holds the streams a GET opened ahead, by part of its plan and
// set position.
type preopened struct {
	byPart [][]*preopen
	wg     sync.WaitGroup
}

// of returns part i's streams by position (nil: none).
func (p *preopened) of(i int) []*preopen {
	if i < len(p.byPart) {
		return p.byPart[i]
	}
	return nil
}

// wait waits until every open has returned, at most limit.
func (p *preopened) wait(ctx context.Context, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for _, ps := range p.byPart {
		for _, o := range ps {
			if o == nil {
				continue
			}
			select {
			case <-o.done:
			case <-t.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// close abandons the streams no reader took and waits for the opens still
// running.
func (p *preopened) close() {
	for _, ps := range p.byPart {
		for _, o := range ps {
			if o != nil {
				o.abandon()
			}
		}
	}
	p.wg.Wait()
}

// preopenParts starts opening the data shards of the parts of plan after
// the first (whose streams its first block opens), at most
// maxPreopenStreams, on the drives decodePart would read them from. Data
// shards only: parity is read only when a data shard fails, which
// multipart objects do not make more likely.
func (s *Set) preopenParts(ctx context.Context, bucket, object string, d decision, coder *erasure.Coder, plan []partSpan) *preopened {
	p := &preopened{}
	fi := &d.answers[d.chosen].fi
	if fi.DataDir == "" || len(plan) < 2 {
		return p
	}
	chunk := coder.ShardSize()
	budget := maxPreopenStreams
	p.byPart = make([][]*preopen, len(plan))
	for i := 1; i < len(plan) && budget >= fi.Erasure.DataBlocks; i++ {
		pp := plan[i]
		shardOffset, shardLength, err := coder.ShardRange(pp.offset, pp.length, pp.part.Size)
		if err != nil {
			break // decodePart reports it
		}
		diskOffset, err1 := erasure.BitrotDiskOffset(shardOffset, chunk)
		diskLength, err2 := erasure.BitrotDiskSize(shardLength, chunk)
		if err1 != nil || err2 != nil {
			break
		}
		path := storage.PartPath(object, fi.DataDir, pp.part.Number)
		p.byPart[i] = make([]*preopen, len(s.drives))
		for pos, drive := range s.drives {
			shard := fi.Erasure.Distribution[pos]
			if shard > fi.Erasure.DataBlocks || !s.readable(d, pos, nil) || s.lateness.avoided(pos) {
				continue
			}
			p.byPart[i][pos] = startPreopen(ctx, &p.wg, drive, bucket, path, diskOffset, diskLength)
			budget--
		}
	}
	return p
}

// readable reports whether decodePart reads the shard file of the drive
// at pos: it is there, agrees on the version (or did not answer in time:
// the data dir is unique to the version, so whatever is found there is it,
// and the bitrot check stands guard), is not left out, and not known down.
func (s *Set) readable(d decision, pos int, skip []bool) bool {
	drive := s.drives[pos]
	a := &d.answers[pos]
	return drive != nil && (d.agree[pos] || errors.Is(a.err, errDriveTimeout)) && (skip == nil || !skip[pos]) && !storage.KnownDown(drive)
}

// dataParts returns the parts of a version's data, in order: its Parts for
// an object with a data dir (one for a PUT, those listed at completion for
// a multipart upload), else one part of the whole size.
func dataParts(fi *storage.FileInfo) ([]storage.PartInfo, error) {
	if fi.DataDir == "" || len(fi.Parts) == 0 {
		return []storage.PartInfo{{Number: 1, Size: fi.Size}}, nil
	}
	var sum int64
	for _, p := range fi.Parts {
		if p.Size < 0 || p.Number < 1 {
			return nil, fmt.Errorf("%w: part %d of %d bytes", storage.ErrFileCorrupt, p.Number, p.Size)
		}
		sum += p.Size
	}
	if sum != fi.Size {
		return nil, fmt.Errorf("%w: parts of %d bytes in a version of %d", storage.ErrFileCorrupt, sum, fi.Size)
	}
	return fi.Parts, nil
}

// decodePart writes the bytes [offset, offset+length) of one part to w;
// done is what earlier parts wrote, for error messages. It leaves out the
// drives marked in skip (nil: none) and marks in stalled those whose shard
// made no progress in time.
func (s *Set) decodePart(ctx context.Context, w io.Writer, bucket, object string, d decision, coder *erasure.Coder,
	note *healNote, skip, stalled []bool, part storage.PartInfo, offset, length, done int64, pre []*preopen) (int64, error) {
	fi := &d.answers[d.chosen].fi
	shardOffset, shardLength, err := coder.ShardRange(offset, length, part.Size)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidRange, err)
	}
	chunk := coder.ShardSize()
	n := len(s.drives)
	readers := make([]io.Reader, n) // shard order
	posOf := make([]int, n)         // shard -> position
	var prefetchers []*prefetchReader
	byShard := make([]*prefetchReader, n) // the drives' readers, for driveLateness
	var avoid []bool                      // shard order: drives that keep being late
	defer func() {
		for _, p := range prefetchers {
			p.Close()
		}
	}()
	inline := fi.DataDir == ""
	partPath := storage.PartPath(object, fi.DataDir, part.Number)
	for pos, drive := range s.drives {
		shard := fi.Erasure.Distribution[pos]
		posOf[shard-1] = pos
		a := &d.answers[pos]
		if d.agree[pos] && a.fi.Erasure.Index != shard {
			note.corrupt[pos] = true // a record in the wrong place
			continue
		}
		if inline {
			if !d.agree[pos] {
				continue
			}
			data := a.fi.InlineData
			if int64(len(data)) != coder.ShardDiskSize(fi.Size) {
				note.corrupt[pos] = true
				continue
			}
			diskOffset, err := erasure.BitrotDiskOffset(shardOffset, chunk)
			if err != nil {
				return 0, err
			}
			br, err := erasure.NewBitrotReader(bytes.NewReader(data[diskOffset:]), s.key, chunk, shardOffset, shardLength)
			if err != nil {
				return 0, err
			}
			readers[shard-1] = br
			continue
		}
		if !s.readable(d, pos, skip) {
			continue
		}
		var po *preopen
		if pre != nil {
			po = pre[pos]
		}
		pr, err := s.newPrefetchReaderFrom(ctx, drive, bucket, partPath, chunk, shardOffset, shardLength, po)
		if err != nil {
			return 0, err
		}
		readers[shard-1] = pr
		byShard[shard-1] = pr
		prefetchers = append(prefetchers, pr)
		if s.lateness.avoided(pos) {
			// It keeps being late: parity stands in for it from the first
			// block, and it is read only if the others cannot make one.
			if avoid == nil {
				avoid = make([]bool, n)
			}
			avoid[shard-1] = true
		}
	}

	outrun := make([]bool, n)
	opts := erasure.DecodeOptions{Late: s.late.threshold(), Observe: s.late.observe, Avoid: avoid,
		Outrun: func(shard int) {
			if !outrun[shard] {
				outrun[shard] = true
				s.lateness.late(posOf[shard]) // now: concurrent GETs learn it at once
			}
		}}
	began := time.Now()
	written, shardErrs, err := coder.DecodeWith(ctx, w, readers, offset, length, part.Size, opts)
	if tr := traceOf(ctx); tr != nil && time.Since(began) >= TraceMinStep {
		tr.step(fmt.Sprintf("part %d, %d bytes", part.Number, written), began, shardDetail(s.drives, posOf, shardErrs, outrun))
	}
	if ctx.Err() == nil {
		// A cancelled request says nothing about the drives.
		for shard, e := range shardErrs {
			note.classify(posOf[shard], e)
			if errors.Is(e, errShardTimeout) || errors.Is(e, errDriveTimeout) {
				stalled[posOf[shard]] = true
			}
			s.scoreRead(posOf[shard], byShard[shard], e, outrun[shard])
		}
	}
	switch {
	case err == nil:
		return written, nil
	case ctx.Err() != nil:
		return written, fmt.Errorf("after %d bytes: %w", done+written, ctx.Err())
	case errors.Is(err, erasure.ErrReadQuorum):
		byPos := make([]error, n)
		for shard, e := range shardErrs {
			byPos[posOf[shard]] = e
		}
		return written, fmt.Errorf("after %d bytes: %w: %w%s", done+written, ErrReadQuorum, err, summarize(byPos))
	}
	return written, fmt.Errorf("after %d bytes: %w", done+written, err)
}

// shardDetail says, for a slow part's trace, which drives' shards failed
// or were outrun by parity (the time includes writing to the client: see
// the request's response_write).
func shardDetail(drives []storage.Drive, posOf []int, shardErrs []error, outrun []bool) string {
	var out []string
	for shard, e := range shardErrs {
		pos := posOf[shard]
		switch {
		case e != nil:
			out = append(out, fmt.Sprintf("%s: %v", drives[pos], e))
		case outrun[shard]:
			out = append(out, fmt.Sprintf("%s: late, parity read instead", drives[pos]))
		}
	}
	return strings.Join(out, ", ")
}

// scoreRead tells driveLateness how the GET's read of the drive at pos
// went: late when outrun by parity or given up for a drive fault, on time
// when it was read (pr started) and neither. A missing or corrupt shard
// says nothing about the drive's speed: healing deals with it.
func (s *Set) scoreRead(pos int, pr *prefetchReader, err error, outrun bool) {
	switch {
	case pr == nil, outrun: // not a drive read; an outrun one counted when it was
	case err != nil:
		if !isNotFound(err) && !isCorrupt(err) {
			s.lateness.late(pos)
		}
	case pr.started:
		s.lateness.onTime(pos)
	}
}
