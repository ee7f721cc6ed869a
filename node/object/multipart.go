package object

// # Multipart uploads
//
// S3's multipart upload on one erasure set (DESIGN §5): an upload is
// started, its parts are uploaded (in any order, in parallel, again to
// replace one), then completed into an object, or aborted.
//
// On-disk layout, in storage.MultipartVolume of every drive of the set,
// with B the bucket, H the hex SHA-256 of "B/object" and U the upload ID
// (a random UUID):
//
//	uploads/B/H/U/meta             the upload record: a metadata record
//	                               (storage.ObjectMeta) with one version,
//	                               ID U, ModTime the initiation time, the
//	                               object's content headers and user
//	                               metadata, the erasure layout (parity
//	                               raised for drives offline at initiation,
//	                               fixed for every part) and this drive's
//	                               shard index; bucket, object name and
//	                               data dir D in its SysMetadata
//	parts/B/H/U/NNNNN/meta         the record of part NNNNN (5 digits, so
//	                               that the lexical order of a walk is the
//	                               numeric one): one version whose ID names
//	                               the upload attempt, with the part's size,
//	                               MD5 ETag, time and layout
//	parts/B/H/U/D/part.N           this drive's shard of part N, bitrot
//	                               framed as a PUT's part.1
//
// Records and data are apart so that listing uploads is one walk of
// uploads/B/ per drive, and so that no shard file sits below a record
// (drives refuse files inside an object).
//
// Every record is read from every drive and resolved as object versions
// are (decide): a record exists if its data shard count of drives hold the
// same one, is absent if a read quorum lacks it, and anything between is
// ErrReadQuorum. Records are written with a write quorum of the upload's
// layout.
//
// # Locks
//
// Namespace locks (Config.Locker) named after the upload's path: a part
// upload holds the upload's read lock and its part number's write lock
// from start to end, so parts upload in parallel while two uploads of one
// part number are ordered; Complete, Abort and the stale upload cleanup
// hold the upload's write lock, so they never see a part half written.
// Complete takes the object's write lock too, for its commit only: it is
// ordered with PUTs and DELETEs of the object like any other writer.
//
// # Parts
//
// A part is coded exactly like a PUT's data (same block size, bitrot
// framing, shard writers; never inline) straight into part.N in the data
// dir. A drive's part record always describes the shard file beside it:
// the old record is removed (every drive that cannot do so is left out of
// the new attempt, keeping its old shard and record) before the shard file
// is replaced, and the new record written only once the new shard file is
// complete and synced. So a shard is never taken for another attempt's,
// even when drives fail halfway; a failed re-upload may leave the part
// number without a part, never with a mix. Fewer than a write quorum of
// records is ErrWriteQuorum.
//
// # Complete
//
// Under the upload's write lock: the list must be ascending
// (ErrInvalidPartOrder), every part listed must exist with the ETag given
// (ErrInvalidPart), every part but the last must be at least
// Config.MinPartSize (ErrEntityTooSmall). On every drive, the shard files
// that are not of a listed part as the quorum resolved it (unlisted parts,
// parts of another attempt) are removed with their records, so the data
// dir holds only the listed parts' shards. Then, under the object's write
// lock, one RenameData per drive moves the data dir into the object as a
// new version whose Parts are the listed parts (numbers kept, in order)
// and whose ETag is hex(md5(md5(part 1) || ... || md5(part n)))-n. It
// needs a write quorum of drives and, for every part, a write quorum of
// committed drives holding its shard; below that the new version is
// deleted again from the drives that committed (with the data they moved,
// whose part records go too: the upload is left as it is on disk, and a
// retry succeeds if enough remains) and the result is ErrWriteQuorum. A
// CompleteOptions.Precondition is decided under the object's lock, as for
// a PUT. Once committed, the object's previous versions and the upload's
// parts are removed, and the upload record becomes the upload's tombstone:
// the same record, dated at the completion, naming the version in
// SysMetadata. Written with a write quorum like any record, it makes the
// upload unknown to every call (ErrNoSuchUpload, not listed) but a
// Complete sent again, which clients do when the first answer was lost:
// with the same parts, while the object's current version is still the
// upload's (its data dir is the upload's own, which no other write can
// give it), it answers that version again; otherwise ErrNoSuchUpload.
// That test needs no tombstone, so a node stopping between the commit and
// the tombstone leaves a record of the upload in progress that the next
// Complete recognises, answers and ends just the same.
//
// A GET of a multipart object maps its range onto the parts and decodes
// each part it covers on its own; GetOptions.PartNumber reads one part.
//
// # Cleanup
//
// Uploads that are never completed or aborted are removed by
// CleanupStaleUploads, which walks the upload records of every drive and
// removes the uploads initiated (and the tombstones written) before the
// given age, and part trees left behind without any upload record.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// Multipart limits (S3's).
const (
	// MaxPartNumber is the highest part number, and so the most parts
	// an object may have.
	MaxPartNumber = storage.MaxParts
	// MinPartSize is the default Config.MinPartSize.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part.
	MaxPartSize = 5 << 30
	// MaxListParts and MaxListUploads bound one page of ListParts and
	// ListMultipartUploads, and are their defaults.
	MaxListParts   = 1000
	MaxListUploads = 1000
)

// Multipart sentinel errors.
var (
	// ErrNoSuchUpload: no upload of that ID for that object, or no longer
	// (completed, aborted, cleaned up).
	ErrNoSuchUpload = errors.New("object: no such multipart upload")
	// ErrInvalidPart: a part listed in a Complete that does not exist, or
	// not with the ETag given.
	ErrInvalidPart = errors.New("object: invalid part")
	// ErrInvalidPartOrder: the parts of a Complete are not in strictly
	// ascending order.
	ErrInvalidPartOrder = errors.New("object: parts not in ascending order")
	// ErrEntityTooSmall: a part other than the last is smaller than the
	// minimum part size.
	ErrEntityTooSmall = errors.New("object: part smaller than the minimum part size")
	// ErrTooManyParts: a Complete listing more than MaxPartNumber parts.
	ErrTooManyParts = errors.New("object: too many parts")
	// ErrInvalidPartNumber: a GET of a part the object does not have.
	ErrInvalidPartNumber = errors.New("object: requested part number not satisfiable")
)

// PartOptions qualify an UploadPart.
type PartOptions struct {
	// ContentMD5 is the raw 16-byte MD5 the client announced, or nil; a
	// mismatch is ErrBadDigest and leaves no part.
	ContentMD5 []byte
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number int
	// ETag is the hex MD5 of the part's bytes.
	ETag    string
	Size    int64
	ModTime time.Time
}

// CompletePart names a part to assemble, as the client lists it.
type CompletePart struct {
	Number int
	// ETag is compared with the part's, ignoring quotes and case.
	ETag string
}

// MultipartUpload describes an upload in progress.
type MultipartUpload struct {
	Bucket, Object, UploadID string
	Initiated                time.Time
	Metadata
	// DataShards and ParityShards are the layout every part is coded with.
	DataShards, ParityShards int
}

// ListPartsResult is one page of the parts of an upload, by part number.
type ListPartsResult struct {
	MultipartUpload
	PartNumberMarker int
	// NextPartNumberMarker is the marker of the next page, if IsTruncated.
	NextPartNumberMarker int
	MaxParts             int
	IsTruncated          bool
	Parts                []PartInfo
}

// ListMultipartUploadsResult is one page of the uploads of a bucket, by
// object name, then initiation time.
type ListMultipartUploadsResult struct {
	Uploads []MultipartUpload
	// CommonPrefixes are the distinct prefixes, up to the first delimiter
	// after the prefix, of the object names rolled up by a delimiter.
	CommonPrefixes []string
	// NextKeyMarker and NextUploadIDMarker start the next page, if
	// IsTruncated.
	NextKeyMarker, NextUploadIDMarker string
	IsTruncated                       bool
}

// SysMetadata keys of an upload record.
const (
	sysUploadBucket  = "mp-bucket"
	sysUploadObject  = "mp-object"
	sysUploadDataDir = "mp-data-dir"
	// sysUploadCompleted, in the tombstone of a completed upload, holds
	// the version ID the upload was completed into.
	sysUploadCompleted = "mp-completed"
)

// Top-level directories of MultipartVolume.
const (
	uploadsDir = "uploads"
	partsDir   = "parts"
)

// uploadBase is the upload's place below uploads/ and parts/: B/H/U.
func uploadBase(bucket, object, uploadID string) string {
	h := sha256.Sum256([]byte(bucket + "/" + object))
	return bucket + "/" + hex.EncodeToString(h[:]) + "/" + uploadID
}

// uploadLockName is the namespace lock of an upload (of one of its part
// numbers, with part > 0). No object lock ("bucket/object") can start with
// the volume's name, as no bucket name starts with a dot.
func uploadLockName(base string, part int) string {
	name := storage.MultipartVolume + "/" + base
	if part > 0 {
		name += "/" + strconv.Itoa(part)
	}
	return name
}

func partRecordPath(base string, part int) string {
	return fmt.Sprintf("%s/%s/%05d", partsDir, base, part)
}

// checkUploadID refuses anything but a canonical UUID: it becomes a path
// component.
func checkUploadID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return fmt.Errorf("%w: upload ID %q", ErrNoSuchUpload, clip(id))
	}
	return nil
}

// drivesWhere returns the set's drives at the positions marked in on, nil
// elsewhere (for fanOut).
func (s *Set) drivesWhere(on []bool) []storage.Drive {
	out := make([]storage.Drive, len(s.drives))
	for pos, d := range s.drives {
		if on[pos] {
			out[pos] = d
		}
	}
	return out
}

// upload is an upload as its record's quorum says.
type upload struct {
	bucket, object, id string
	base               string
	fi                 storage.FileInfo // the chosen record, without per-drive fields
	dataDir            string
	coder              *erasure.Coder
	writeQuorum        int
}

// completed reports whether the record is the tombstone of a completed
// upload.
func (u *upload) completed() bool { return u.fi.SysMetadata[sysUploadCompleted] != "" }

func (u *upload) dataPath() string { return partsDir + "/" + u.base + "/" + u.dataDir }

func (u *upload) info() MultipartUpload {
	return MultipartUpload{
		Bucket: u.bucket, Object: u.object, UploadID: u.id,
		Initiated:    u.fi.ModTime,
		Metadata:     loadMetadata(&u.fi.FileVersion),
		DataShards:   u.fi.Erasure.DataBlocks,
		ParityShards: u.fi.Erasure.ParityBlocks,
	}
}

// NewMultipartUpload starts a multipart upload of bucket/object and returns
// its ID. opts gives the object's metadata and parity (ContentMD5 is
// ignored): parity is raised for the drives offline now, as for a PUT, and
// every part is coded with it.
func (s *Set) NewMultipartUpload(ctx context.Context, bucket, object string, opts PutOptions) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("new multipart upload %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	if err := opts.Metadata.validate(); err != nil {
		return fail(err)
	}
	n := len(s.drives)
	parity := opts.Parity
	if parity == 0 {
		parity = s.parity
	}
	if err := layout.ValidateParity(n, parity); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidArgument, err))
	}
	online := s.probe(ctx)
	adjusted, ok := layout.AdjustParity(n, parity, n-countTrue(online))
	if !ok {
		return fail(fmt.Errorf("%d of %d drives offline: %w", n-countTrue(online), n, ErrWriteQuorum))
	}
	if _, err := s.HeadBucket(ctx, bucket); err != nil {
		return fail(err)
	}
	if _, err := s.coder(n-adjusted, adjusted, int64(s.blockSize)); err != nil {
		return fail(err)
	}
	dist, err := layout.Distribution(bucket, object, n)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidArgument, err))
	}
	id, dataDir := uuid.NewString(), uuid.NewString()
	v := storage.FileVersion{
		VersionID: id,
		ModTime:   time.Now().UTC().Round(0),
		SysMetadata: map[string]string{
			sysUploadBucket: bucket, sysUploadObject: object, sysUploadDataDir: dataDir,
		},
		Erasure: storage.ErasureInfo{
			DataBlocks:   n - adjusted,
			ParityBlocks: adjusted,
			BlockSize:    int64(s.blockSize),
			Distribution: dist,
			ChecksumAlgo: storage.BitrotHighwayHash256S,
		},
	}
	storeMetadata(&v, opts.Metadata)
	base := uploadBase(bucket, object, id)
	record := uploadsDir + "/" + base
	wctx := context.WithoutCancel(ctx)
	_, errs := fanOut(wctx, s.drivesWhere(online), s.driveTimeout, func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
		fi := storage.FileInfo{Volume: storage.MultipartVolume, Name: record, FileVersion: v}
		fi.Erasure.Index = dist[pos]
		return struct{}{}, d.WriteMetadata(ctx, storage.MultipartVolume, record, fi)
	}, nil, 0)
	wq := layout.WriteQuorum(n, adjusted)
	if ok := countNil(errs); ok < wq {
		s.removeUpload(wctx, base, online)
		return fail(quorumFailure(ErrWriteQuorum, "write upload record", errs, ok, wq))
	}
	return id, nil
}

// readUpload resolves the record of an upload in progress: a completed
// upload, like an absent one, is ErrNoSuchUpload.
func (s *Set) readUpload(ctx context.Context, bucket, object, uploadID string) (*upload, error) {
	u, err := s.resolveUpload(ctx, bucket, object, uploadID)
	if err != nil {
		return nil, err
	}
	if u.completed() {
		return nil, fmt.Errorf("upload %s: completed: %w", uploadID, ErrNoSuchUpload)
	}
	return u, nil
}

// resolveUpload resolves the upload's record, which may be the tombstone
// of a completed upload.
func (s *Set) resolveUpload(ctx context.Context, bucket, object, uploadID string) (*upload, error) {
	base := uploadBase(bucket, object, uploadID)
	d, errs := s.readRecord(ctx, uploadsDir+"/"+base)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch d.verdict {
	case verdictNotFound, verdictBucketNotFound:
		return nil, fmt.Errorf("upload %s: %w", uploadID, ErrNoSuchUpload)
	case verdictUndecided:
		return nil, fmt.Errorf("upload %s: no record agreed by a read quorum of %d drives: %w%s",
			uploadID, s.readQuorum, ErrReadQuorum, summarize(errs))
	}
	fi := d.answers[d.chosen].fi
	fi.Erasure.Index = 0
	fi.InlineData = nil
	u := &upload{bucket: bucket, object: object, id: uploadID, base: base, fi: fi, dataDir: fi.SysMetadata[sysUploadDataDir]}
	if fi.VersionID != uploadID || fi.SysMetadata[sysUploadBucket] != bucket || fi.SysMetadata[sysUploadObject] != object ||
		storage.CheckDataDir(u.dataDir) != nil || fi.Deleted {
		return nil, fmt.Errorf("upload %s: record of another upload: %w", uploadID, ErrNoSuchUpload)
	}
	coder, err := s.coder(fi.Erasure.DataBlocks, fi.Erasure.ParityBlocks, fi.Erasure.BlockSize)
	if err != nil {
		return nil, err
	}
	u.coder = coder
	u.writeQuorum = layout.WriteQuorum(len(s.drives), fi.Erasure.ParityBlocks)
	return u, nil
}

// readRecord reads the record at path in MultipartVolume from every drive
// and resolves it as object versions are.
func (s *Set) readRecord(ctx context.Context, path string) (decision, []error) {
	n := len(s.drives)
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (storage.FileInfo, error) {
		return d.ReadVersion(ctx, storage.MultipartVolume, path, "")
	}, nil, 0)
	answers := make([]metaAnswer, n)
	for i := range answers {
		answers[i] = metaAnswer{fi: vals[i], err: errs[i]}
	}
	d, _ := decide(answers, allTrue(n), s.readQuorum)
	return d, errs
}

// AbortMultipartUpload removes an upload and its parts. It needs a write
// quorum of drives to drop the record; once done, the upload is
// ErrNoSuchUpload. A part upload in progress holds the upload's lock: the
// abort waits for it (up to LockTimeout).
func (s *Set) AbortMultipartUpload(ctx context.Context, bucket, object, uploadID string) error {
	fail := func(err error) error {
		return fmt.Errorf("abort multipart upload %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	if err := checkUploadID(uploadID); err != nil {
		return fail(err)
	}
	base := uploadBase(bucket, object, uploadID)
	lk, err := s.lockNamed(ctx, true, uploadLockName(base, 0))
	if err != nil {
		return fail(err)
	}
	defer lk.Unlock()
	u, err := s.readUpload(ctx, bucket, object, uploadID)
	if err != nil {
		return fail(err)
	}
	errs := s.removeUpload(context.WithoutCancel(ctx), base, allTrue(len(s.drives)))
	if ok := countNil(errs); ok < u.writeQuorum {
		return fail(quorumFailure(ErrWriteQuorum, "remove upload record", errs, ok, u.writeQuorum))
	}
	return nil
}

// removeUpload deletes an upload's record, then its parts, from the drives
// marked in on, and returns per drive whether the record is gone (nil) or
// why not. The parts go even where the record could not: without a record
// quorum nothing refers to them.
func (s *Set) removeUpload(ctx context.Context, base string, on []bool) []error {
	_, errs := fanOut(ctx, s.drivesWhere(on), s.driveTimeout, func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
		err := d.Delete(ctx, storage.MultipartVolume, uploadsDir+"/"+base, true)
		if isNotFound(err) {
			err = nil
		}
		// Whatever stays of the parts is garbage once the record is gone:
		// CleanupStaleUploads removes part trees without a record.
		_ = d.Delete(ctx, storage.MultipartVolume, partsDir+"/"+base, true)
		return struct{}{}, err
	}, nil, 0)
	return errs
}

// multipartCount returns the part count of a multipart object's version,
// known by its ETag's "-N" suffix; 0 for any other.
func multipartCount(fi *storage.FileInfo) int {
	if i := strings.LastIndexByte(fi.ETag, '-'); i < 0 || fi.DataDir == "" {
		return 0
	}
	return len(fi.Parts)
}

// partRange returns the byte range of part opts.PartNumber of the version.
func partRange(fi *storage.FileInfo, opts GetOptions) (offset, length int64, err error) {
	if opts.Range != nil {
		return 0, 0, fmt.Errorf("%w: a part number and a range", ErrInvalidArgument)
	}
	if opts.PartNumber < 0 || opts.PartNumber > MaxPartNumber {
		return 0, 0, fmt.Errorf("%w: part number %d", ErrInvalidArgument, opts.PartNumber)
	}
	if multipartCount(fi) == 0 {
		if opts.PartNumber != 1 {
			return 0, 0, fmt.Errorf("part %d of a single-part object: %w", opts.PartNumber, ErrInvalidPartNumber)
		}
		return 0, fi.Size, nil
	}
	if opts.PartNumber > len(fi.Parts) {
		return 0, 0, fmt.Errorf("part %d of %d: %w", opts.PartNumber, len(fi.Parts), ErrInvalidPartNumber)
	}
	for _, p := range fi.Parts[:opts.PartNumber-1] {
		offset += p.Size
	}
	return offset, fi.Parts[opts.PartNumber-1].Size, nil
}
