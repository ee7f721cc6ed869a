package object

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// Limits of S3 that the object layer enforces itself, so that no front end
// can forget them.
const (
	// MaxObjectSize is the largest object a single PUT may store (S3: 5 TiB).
	MaxObjectSize = 5 << 40
	// MaxUserMetadataSize bounds the user metadata of an object, keys and
	// values together (S3: 2 KiB).
	MaxUserMetadataSize = 2 << 10
	// InlineLimit is the largest object stored inline in its metadata
	// records (DESIGN §5): one small write per drive and no data file.
	InlineLimit = 128 << 10
	// UserMetadataPrefix starts every user metadata key.
	UserMetadataPrefix = "x-amz-meta-"
)

// Metadata is what a client stores beside an object's bytes and gets back
// exactly as given: the content headers and the user metadata.
type Metadata struct {
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	// Expires is kept as the client sent it (an HTTP date, or anything:
	// S3 stores what it gets).
	Expires string
	// User holds the x-amz-meta-* headers, keys with their prefix, as given.
	User map[string]string
}

// Content header names under which Metadata is stored in a version's
// metadata map. User keys all start with UserMetadataPrefix, so the two
// never collide. Content-Type has a field of its own in the record.
const (
	keyContentEncoding    = "content-encoding"
	keyContentDisposition = "content-disposition"
	keyContentLanguage    = "content-language"
	keyCacheControl       = "cache-control"
	keyExpires            = "expires"
)

// validate refuses user metadata keys without the x-amz-meta- prefix and
// metadata larger than S3 allows.
func (m *Metadata) validate() error {
	size := 0
	for k, v := range m.User {
		if len(k) <= len(UserMetadataPrefix) || !strings.EqualFold(k[:len(UserMetadataPrefix)], UserMetadataPrefix) {
			return fmt.Errorf("%w: user metadata key %q does not start with %q", ErrInvalidArgument, clip(k), UserMetadataPrefix)
		}
		size += len(k) + len(v)
	}
	if size > MaxUserMetadataSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMetadataTooLarge, size, MaxUserMetadataSize)
	}
	return nil
}

// ObjectInfo describes one version of an object.
type ObjectInfo struct {
	Bucket string
	Name   string
	// VersionID identifies the version internally. Writes to unversioned
	// buckets get a fresh ID each, so that a failed overwrite can be undone
	// without touching the version it would have replaced; S3 shows such
	// versions as the "null" version, never this ID.
	VersionID string
	Size      int64
	// ETag is the hex MD5 of the object's bytes (single-part objects).
	ETag    string
	ModTime time.Time
	Metadata
	// DataShards and ParityShards are the erasure layout the version was
	// written with; ParityShards is above the set's parity when drives
	// were offline at write time.
	DataShards, ParityShards int
	// Inline reports an object stored in its metadata records.
	Inline bool
	// PartsCount is the number of parts of a multipart object (its ETag
	// ends in "-PartsCount"), 0 for any other.
	PartsCount int
}

// PutOptions qualify a PUT.
type PutOptions struct {
	Metadata
	// ContentMD5 is the raw 16-byte MD5 the client announced
	// (Content-MD5), or nil. A mismatch fails the PUT with ErrBadDigest
	// before anything is committed.
	ContentMD5 []byte
	// Parity overrides the set's parity for this object (the storage
	// class, resolved by the caller); 0 means the set's.
	Parity int
	// Precondition makes the PUT conditional on the object's current
	// version.
	Precondition Precondition
}

// Precondition makes a write (PUT, copy, multipart Complete) conditional
// on the object's current version, as S3's If-None-Match and If-Match on
// writes do. It is decided under the object's write lock, on the version a
// read quorum of drives agrees on (the rule reads use), just before the new
// version is published: of two writers racing to create an object with
// IfNoneMatch, exactly one succeeds. A write whose precondition fails
// leaves nothing behind and wraps ErrPreconditionFailed. The zero value is
// no condition.
type Precondition struct {
	// IfNoneMatch: only if the object does not exist (If-None-Match: *).
	IfNoneMatch bool
	// IfMatch, if not nil: only if the object exists, and its ETag is one
	// of these (compared without quotes, ignoring case; "*" is any). An
	// absent object fails with an error that wraps ErrObjectNotFound as
	// well, since S3 answers that with 404 NoSuchKey rather than 412.
	IfMatch []string
}

// none reports a Precondition without conditions.
func (p Precondition) none() bool { return !p.IfNoneMatch && p.IfMatch == nil }

// check evaluates the precondition against the object's current version,
// nil if the object does not exist.
func (p Precondition) check(cur *storage.FileVersion) error {
	if p.IfNoneMatch && cur != nil {
		return fmt.Errorf("%w: If-None-Match *, and the object exists", ErrPreconditionFailed)
	}
	if p.IfMatch == nil {
		return nil
	}
	if cur == nil {
		return fmt.Errorf("%w: If-Match, and the object does not exist: %w", ErrPreconditionFailed, ErrObjectNotFound)
	}
	for _, etag := range p.IfMatch {
		if etag == "*" || strings.EqualFold(strings.Trim(etag, `"`), cur.ETag) {
			return nil
		}
	}
	return fmt.Errorf("%w: If-Match, and the object's ETag is %s", ErrPreconditionFailed, cur.ETag)
}

// GetOptions qualify a GET.
type GetOptions struct {
	// Range selects part of the object; nil means all of it.
	Range *Range
	// PartNumber, if > 0, selects the bytes of one part (S3's
	// ?partNumber=N): the Nth part of a multipart object, counting from 1
	// in the order the parts were listed at completion; part 1 of any
	// other object is all of it. Beyond the last part is
	// ErrInvalidPartNumber; with a Range too, ErrInvalidArgument.
	PartNumber int
}

// CopyOptions qualify a CopyObject.
type CopyOptions struct {
	// ReplaceMetadata takes Metadata for the copy (S3's REPLACE
	// directive); otherwise the source's metadata is copied (COPY).
	ReplaceMetadata bool
	Metadata        Metadata
	// Parity as in PutOptions.
	Parity int
	// Precondition is on the destination, as in PutOptions.
	Precondition Precondition
}

// Range is an HTTP byte range, as S3 clients ask for it: "bytes=First-Last",
// "bytes=First-" (Last < 0) or "bytes=-SuffixLength".
type Range struct {
	// First and Last are the first and last byte offsets, inclusive. A
	// negative Last means "to the end"; a Last past the end is clipped.
	First, Last int64
	// SuffixLength > 0 asks for the last SuffixLength bytes instead (all
	// of them for a smaller object); First and Last are then ignored.
	SuffixLength int64
}

func (r Range) String() string {
	switch {
	case r.SuffixLength > 0:
		return fmt.Sprintf("bytes=-%d", r.SuffixLength)
	case r.Last < 0:
		return fmt.Sprintf("bytes=%d-", r.First)
	default:
		return fmt.Sprintf("bytes=%d-%d", r.First, r.Last)
	}
}

// Resolve returns the offset and length the range selects in an object of
// size bytes, or a *RangeError (RFC 9110 §14.1.2: a range starting at or
// past the end, hence any range of an empty object, is not satisfiable).
func (r Range) Resolve(size int64) (offset, length int64, err error) {
	if r.SuffixLength > 0 {
		if size == 0 {
			return 0, 0, &RangeError{Range: r, Size: size}
		}
		length = min(r.SuffixLength, size)
		return size - length, length, nil
	}
	if r.SuffixLength < 0 || r.First < 0 || r.First >= size || (r.Last >= 0 && r.Last < r.First) {
		return 0, 0, &RangeError{Range: r, Size: size}
	}
	last := r.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.First, last - r.First + 1, nil
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name string
	// Created is the earliest creation time the drives report.
	Created time.Time
}

// DeleteResult is the outcome of one key of a DeleteObjects.
type DeleteResult struct {
	Name string
	Err  error // nil: deleted, or was not there
}

// clip shortens a client-supplied string before it goes into an error.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
