package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// PutObjectPart uploads part partNumber (1..MaxPartNumber) of an upload:
// size bytes of data (-1: unknown, read to EOF, at most MaxPartSize),
// coded as a PUT is and stored once a write quorum of drives has it. A part
// uploaded again replaces the earlier one; while this one is in progress,
// the part number has no part (see the package comment in multipart.go).
func (s *Set) PutObjectPart(ctx context.Context, bucket, object, uploadID string, partNumber int, data io.Reader, size int64, opts PartOptions) (PartInfo, error) {
	fail := func(err error) (PartInfo, error) {
		return PartInfo{}, fmt.Errorf("upload part %d of %s/%s: %w", partNumber, bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	if err := checkUploadID(uploadID); err != nil {
		return fail(err)
	}
	switch {
	case partNumber < 1 || partNumber > MaxPartNumber:
		return fail(fmt.Errorf("%w: part number %d outside 1..%d", ErrInvalidArgument, partNumber, MaxPartNumber))
	case data == nil:
		return fail(fmt.Errorf("%w: no data", ErrInvalidArgument))
	case size < -1:
		return fail(fmt.Errorf("%w: size %d", ErrInvalidArgument, size))
	case size > MaxPartSize:
		return fail(fmt.Errorf("%w: part of %d bytes, at most %d", ErrEntityTooLarge, size, int64(MaxPartSize)))
	case opts.ContentMD5 != nil && len(opts.ContentMD5) != md5.Size:
		return fail(fmt.Errorf("%w: Content-MD5 of %d bytes", ErrInvalidArgument, len(opts.ContentMD5)))
	}
	base := uploadBase(bucket, object, uploadID)
	ul, err := s.lockNamed(ctx, false, uploadLockName(base, 0))
	if err != nil {
		return fail(err)
	}
	defer ul.Unlock()
	pl, err := s.lockNamed(ctx, true, uploadLockName(base, partNumber))
	if err != nil {
		return fail(err)
	}
	defer pl.Unlock()
	u, err := s.readUpload(ctx, bucket, object, uploadID)
	if err != nil {
		return fail(err)
	}
	wq := u.writeQuorum
	online := s.probe(ctx)
	if got := countTrue(online); got < wq {
		return fail(fmt.Errorf("%d of %d drives online, a part needs %d: %w", got, len(online), wq, ErrWriteQuorum))
	}

	// A drive's record must always describe the shard file beside it: the
	// old record goes before the file is replaced, and a drive that cannot
	// drop it keeps its old part and sits this attempt out.
	record := partRecordPath(base, partNumber)
	wctx := context.WithoutCancel(ctx)
	_, errs := fanOut(wctx, s.drivesWhere(online), s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		err := d.Delete(ctx, storage.MultipartVolume, record, true)
		if isNotFound(err) {
			err = nil
		}
		return struct{}{}, err
	}, nil, 0)
	for pos := range online {
		online[pos] = online[pos] && errs[pos] == nil
	}
	if got := countTrue(online); got < wq {
		return fail(quorumFailure(ErrWriteQuorum, "remove the previous part record", errs, got, wq))
	}

	j := &putJob{
		s: s, bucket: bucket, object: object, coder: u.coder, writeQuorum: wq,
		dist: u.fi.Erasure.Distribution, online: online, written: make([]bool, len(s.drives)),
		shardVolume: storage.MultipartVolume,
		shardPath:   u.dataPath() + "/part." + strconv.Itoa(partNumber),
	}
	src := data
	if size < 0 {
		src = &partLimitReader{r: data, left: MaxPartSize}
	}
	err = j.encodeStream(ctx, src, size)
	switch {
	case err != nil:
	case opts.ContentMD5 != nil && !bytes.Equal(opts.ContentMD5, j.md5):
		err = fmt.Errorf("%w: computed %x, announced %x", ErrBadDigest, j.md5, opts.ContentMD5)
	case lost(ul) || lost(pl):
		err = fmt.Errorf("before the part record: %w", ErrLockLost)
	}
	if err != nil {
		s.removePart(wctx, record, j.shardPath, online)
		return fail(err)
	}

	modTime := time.Now().UTC().Round(0)
	etag := hex.EncodeToString(j.md5)
	v := storage.FileVersion{
		VersionID: uuid.NewString(), // the attempt: records of two uploads of a part never agree
		ModTime:   modTime,
		Size:      j.version.Size,
		ETag:      etag,
		Erasure:   u.fi.Erasure,
		Parts:     []storage.PartInfo{{Number: partNumber, Size: j.version.Size, ActualSize: j.version.Size, ETag: etag, ModTime: modTime}},
	}
	_, errs = fanOut(wctx, s.drivesWhere(j.written), s.driveTimeout, func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
		fi := storage.FileInfo{Volume: storage.MultipartVolume, Name: record, FileVersion: v}
		fi.Erasure.Index = j.dist[pos]
		return struct{}{}, d.WriteMetadata(ctx, storage.MultipartVolume, record, fi)
	}, nil, 0)
	if ok := countNil(errs); ok < wq {
		s.removePart(wctx, record, j.shardPath, online)
		return fail(quorumFailure(ErrWriteQuorum, "write part record", errs, ok, wq))
	}
	return PartInfo{Number: partNumber, ETag: etag, Size: v.Size, ModTime: modTime}, nil
}

// removePart deletes a part's record, then its shard file, from the drives
// marked in on.
func (s *Set) removePart(ctx context.Context, record, shard string, on []bool) {
	_, _ = fanOut(ctx, s.drivesWhere(on), s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		if err := d.Delete(ctx, storage.MultipartVolume, record, true); err != nil && !isNotFound(err) {
			return struct{}{}, err // the shard must stay with its record
		}
		return struct{}{}, d.Delete(ctx, storage.MultipartVolume, shard, false)
	}, nil, 0)
}

// partLimitReader fails with ErrEntityTooLarge once more than left bytes
// came through.
type partLimitReader struct {
	r    io.Reader
	left int64
}

func (l *partLimitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: part of more than %d bytes", ErrEntityTooLarge, int64(MaxPartSize))
	}
	return n, err
}

// resolvedPart is a part as the quorum of its records says.
type resolvedPart struct {
	PartInfo
	// holders marks the drives whose record is the chosen one, and so
	// whose shard file is the part's.
	holders []bool
}

// readParts resolves the part records of an upload numbered above after,
// in order: a part is there if its data shard count of drives hold the same
// record (of the upload's layout). Fewer than a read quorum of drives
// answering is ErrReadQuorum.
func (s *Set) readParts(ctx context.Context, u *upload, after int) ([]resolvedPart, error) {
	parts, _, err := s.readPartsUndecided(ctx, u, after)
	return parts, err
}

// readPartsUndecided is readParts that also returns the part numbers some
// drive holds a record of that no read quorum agrees on or that too few
// drives hold in place to be read: with drives offline or late, a part
// acknowledged on a write quorum can be one of them, so it is not known
// to be absent.
func (s *Set) readPartsUndecided(ctx context.Context, u *upload, after int) ([]resolvedPart, map[int]bool, error) {
	undecided := map[int]bool{}
	n := len(s.drives)
	dir := partsDir + "/" + u.base + "/"
	opts := storage.WalkDirOptions{Volume: storage.MultipartVolume, Prefix: dir}
	if after > 0 {
		opts.StartAfter = partRecordPath(u.base, after)
	}
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (map[int]metaAnswer, error) {
		found := map[int]metaAnswer{}
		err := d.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
			num, ok := parsePartName(strings.TrimPrefix(e.Name, dir))
			if e.IsDir() || !ok {
				return nil // the data dir
			}
			meta, err := storage.DecodeObjectMeta(e.Metadata)
			if err != nil {
				found[num] = metaAnswer{err: err}
				return nil
			}
			found[num] = metaAnswer{fi: meta.FileInfo(storage.MultipartVolume, e.Name, 0)}
			return nil
		})
		return found, err
	}, nil, 0)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if got := countNil(errs); got < s.readQuorum {
		return nil, nil, fmt.Errorf("list parts: %d of %d drives answered, need %d: %w%s", got, n, s.readQuorum, ErrReadQuorum, summarize(errs))
	}
	var numbers []int
	for pos := range vals {
		for num := range vals[pos] {
			numbers = append(numbers, num)
		}
	}
	slices.Sort(numbers)
	numbers = slices.Compact(numbers)
	dist := u.fi.Erasure.Distribution
	parts := make([]resolvedPart, 0, len(numbers))
	answers := make([]metaAnswer, n)
	for _, num := range numbers {
		for pos := range answers {
			a, ok := vals[pos][num]
			switch {
			case errs[pos] != nil:
				a = metaAnswer{err: errs[pos]}
			case !ok:
				a = metaAnswer{err: storage.ErrFileNotFound}
			}
			answers[pos] = a
		}
		d, _ := decide(answers, allTrue(n), s.readQuorum)
		if d.verdict == verdictUndecided {
			undecided[num] = true
			continue
		}
		if d.verdict != verdictFound || !u.partRecordFits(&answers[d.chosen].fi, num) {
			continue
		}
		p := resolvedPart{holders: make([]bool, n)}
		for pos := range answers {
			p.holders[pos] = d.agree[pos] && answers[pos].fi.Erasure.Index == dist[pos]
		}
		if countTrue(p.holders) < u.fi.Erasure.DataBlocks {
			undecided[num] = true
			continue
		}
		fi := &answers[d.chosen].fi
		p.PartInfo = PartInfo{Number: num, ETag: fi.ETag, Size: fi.Size, ModTime: fi.ModTime}
		parts = append(parts, p)
	}
	return parts, undecided, nil
}

// partRecordFits checks that a part record is one of this upload's: its
// layout, and one part of its own number and size.
func (u *upload) partRecordFits(fi *storage.FileInfo, num int) bool {
	e, ue := &fi.Erasure, &u.fi.Erasure
	return !fi.Deleted && fi.DataDir == "" && fi.Size >= 0 &&
		e.DataBlocks == ue.DataBlocks && e.ParityBlocks == ue.ParityBlocks && e.BlockSize == ue.BlockSize &&
		slices.Equal(e.Distribution, ue.Distribution) &&
		len(fi.Parts) == 1 && fi.Parts[0].Number == num && fi.Parts[0].Size == fi.Size && fi.Parts[0].ETag == fi.ETag
}

// parsePartName reads a part record's name: 5 digits, 1..MaxPartNumber.
func parsePartName(name string) (int, bool) {
	if len(name) != 5 {
		return 0, false
	}
	num, err := strconv.Atoi(name)
	if err != nil || num < 1 || num > MaxPartNumber {
		return 0, false
	}
	return num, true
}

// ListParts lists the parts of an upload numbered above partNumberMarker,
// at most maxParts (<= 0 or more than MaxListParts: MaxListParts), with the
// upload's description.
func (s *Set) ListParts(ctx context.Context, bucket, object, uploadID string, partNumberMarker, maxParts int) (ListPartsResult, error) {
	fail := func(err error) (ListPartsResult, error) {
		return ListPartsResult{}, fmt.Errorf("list parts of %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	if err := checkUploadID(uploadID); err != nil {
		return fail(err)
	}
	if partNumberMarker < 0 || partNumberMarker > MaxPartNumber {
		return fail(fmt.Errorf("%w: part number marker %d", ErrInvalidArgument, partNumberMarker))
	}
	if maxParts <= 0 || maxParts > MaxListParts {
		maxParts = MaxListParts
	}
	u, err := s.readUpload(ctx, bucket, object, uploadID)
	if err != nil {
		return fail(err)
	}
	parts, err := s.readParts(ctx, u, partNumberMarker)
	if err != nil {
		return fail(err)
	}
	res := ListPartsResult{MultipartUpload: u.info(), PartNumberMarker: partNumberMarker, MaxParts: maxParts}
	if len(parts) > maxParts {
		parts = parts[:maxParts]
		res.IsTruncated = true
	}
	res.Parts = make([]PartInfo, len(parts))
	for i, p := range parts {
		res.Parts[i] = p.PartInfo
	}
	if res.IsTruncated {
		res.NextPartNumberMarker = parts[len(parts)-1].Number
	}
	return res, nil
}
