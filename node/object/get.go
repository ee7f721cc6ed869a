package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gridstore/gridstore/erasure"
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
	if err != nil {
		return fail(err)
	}
	s.metadataHeal(d).queue(s.heal, bucket, object, d.key.VersionID())
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

// metadataHeal notes the drives whose latest version is not the current one.
func (s *Set) metadataHeal(d decision) *healNote {
	note := newHealNote(len(s.drives))
	for pos, a := range d.answers {
		switch {
		case d.agree[pos]:
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
// The reader holds the object's read lock until its bytes have been sent,
// or it fails, or it is closed, so that a PUT committing meanwhile cannot
// remove the data it reads: a GET returns the old version or the new one,
// whole. The caller must Close it.
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
	return &ObjectReader{
		info: objectInfo(bucket, object, fi), offset: offset, length: length,
		ctx: ctx, set: s, d: d, lock: lk,
	}, nil
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

func (r *ObjectReader) unlock() { r.unlockOnce.Do(r.lock.Unlock) }

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
	n, err := r.set.decodeTo(r.ctx, w, r.info.Bucket, r.info.Name, r.d, r.offset, r.length)
	if err != nil {
		return n, fmt.Errorf("get %s/%s: %w", r.info.Bucket, clip(r.info.Name), err)
	}
	return n, nil
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

// Close stops the reader and releases its lock. It waits for the shard
// reads in flight to end.
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
// to the parts it covers, decoded one after the other.
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
	var written int64
	// Drives whose shard stalled in an earlier part (a hung drive) are
	// left out of the next ones, so that one costs a shard timeout per
	// request, not per part; they are asked again if the others cannot
	// make the quorum of a block.
	stalled := make([]bool, len(s.drives))
	for _, p := range parts {
		if length == 0 {
			break
		}
		if offset >= p.Size {
			offset -= p.Size
			continue
		}
		n := min(length, p.Size-offset)
		skip := stalled
		if countTrue(stalled) == 0 {
			skip = nil
		}
		stalledBefore := countTrue(stalled)
		k, err := s.decodePart(ctx, w, bucket, object, d, coder, note, skip, stalled, p, offset, n, written)
		written += k
		// A shard given up for being slow is not a lost shard: when the
		// others cannot make the quorum without it, ask again once, with
		// every drive, rather than fail a read a slow drive could serve.
		if err != nil && (skip != nil || countTrue(stalled) > stalledBefore) && errors.Is(err, ErrReadQuorum) && ctx.Err() == nil {
			var k2 int64
			k2, err = s.decodePart(ctx, w, bucket, object, d, coder, note, nil, stalled, p, offset+k, n-k, written)
			written += k2
		}
		if err != nil {
			return written, err
		}
		offset, length = 0, length-n
	}
	return written, nil
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
	note *healNote, skip, stalled []bool, part storage.PartInfo, offset, length, done int64) (int64, error) {
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
		// A drive that did not answer in time may still have the shard:
		// the data dir is unique to the version, so whatever is found
		// there is it, and the bitrot check stands guard.
		if drive == nil || !(d.agree[pos] || errors.Is(a.err, errDriveTimeout)) || (skip != nil && skip[pos]) || knownDown(drive) {
			continue
		}
		pr, err := s.newPrefetchReader(ctx, drive, bucket, partPath, chunk, shardOffset, shardLength)
		if err != nil {
			return 0, err
		}
		readers[shard-1] = pr
		prefetchers = append(prefetchers, pr)
	}

	written, shardErrs, err := coder.DecodeWith(ctx, w, readers, offset, length, part.Size,
		erasure.DecodeOptions{Late: s.late.threshold(), Observe: s.late.observe})
	if ctx.Err() == nil {
		// A cancelled request says nothing about the drives.
		for shard, e := range shardErrs {
			note.classify(posOf[shard], e)
			if errors.Is(e, errShardTimeout) || errors.Is(e, errDriveTimeout) {
				stalled[posOf[shard]] = true
			}
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
