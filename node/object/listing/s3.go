package listing

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/gridstore/gridstore/storage"
)

// S3 limits of a listing page.
const (
	// DefaultMaxKeys is the page size when the request gives none.
	DefaultMaxKeys = 1000
	// MaxKeysLimit caps the page size, as S3 does silently.
	MaxKeysLimit = 1000
)

// reseekAfter is how many consecutive entries of one common prefix a
// listing with a delimiter other than "/" skips in the stream before it
// restarts the walks past the prefix instead: a few skips are cheaper than
// restarting every drive's walk, a big prefix is not.
const reseekAfter = 64

// ListOptions is a ListObjects (v1) or ListObjectsV2 request. Keys are
// raw: URL encoding is the S3 layer's job.
type ListOptions struct {
	Bucket    string
	Prefix    string
	Delimiter string
	// Marker is v1's marker or v2's start-after: the listing starts after
	// it. It is ignored when ContinuationToken is set, as S3 does.
	Marker string
	// ContinuationToken is a NextContinuationToken of an earlier page.
	ContinuationToken string
	// TrustDirectories lists a directory that enough drives hold (at least
	// the smallest quorum a version can have) without probing it for a
	// listable object: MinIO's rule. The probe reads the first directory
	// level of every common prefix of the page on the drives that have it,
	// which a local drive does whole; skipping it makes a page of common
	// prefixes read one directory. Without the probe, a prefix that leads
	// only to delete markers, or to leftovers of failed writes that reached
	// enough drives, is listed although listing it shows nothing. The
	// object layer can set it for buckets that never had versioning, which
	// hold no delete markers and where failed writes are rolled back.
	TrustDirectories bool
	// MaxKeys bounds the keys and common prefixes of the page together; 0
	// means DefaultMaxKeys, more than MaxKeysLimit means MaxKeysLimit, a
	// negative value is ErrInvalidArgument. S3's max-keys=0 (an empty, not
	// truncated page) is the S3 layer's to answer without listing.
	MaxKeys int
}

// ListResult is one page of a listing.
type ListResult struct {
	// Objects and CommonPrefixes are in lexical order; together they hold
	// at most MaxKeys entries.
	Objects        []ObjectInfo
	CommonPrefixes []string
	// IsTruncated is exact: more entries follow the page.
	IsTruncated bool
	// NextMarker is the page's last key or common prefix when IsTruncated
	// (S3 shows it in v1 replies that have a delimiter; without one,
	// clients use the last key, which is the same). Used as Marker, it
	// continues the listing, skipping the whole of a common prefix.
	NextMarker string
	// NextContinuationToken encodes NextMarker for v2 when IsTruncated.
	NextContinuationToken string
}

// List returns one page of the bucket's objects with S3's semantics:
//
//   - keys that start with Prefix (any string, not only up to a "/") and
//     come after the marker (Marker, or the one in ContinuationToken);
//   - with a Delimiter, keys that contain it after the prefix are rolled up
//     into their common prefix, Prefix plus everything up to and including
//     the first delimiter after it, listed once and counting as one entry;
//   - an entry (key or common prefix) is listed only if it sorts after the
//     marker, so a marker inside or equal to a common prefix skips all of
//     that prefix, as NextMarker needs;
//   - at most MaxKeys entries; IsTruncated when more follow.
//
// A prefix that no valid object name can start with lists nothing. List does
// not check that the bucket exists beyond what the walk finds (a read quorum
// of drives without the volume is storage.ErrVolumeNotFound): with such a
// prefix, a missing bucket lists empty; the object layer checks the bucket.
func (l *Lister) List(ctx context.Context, opts ListOptions) (ListResult, error) {
	if err := storage.CheckVolume(opts.Bucket); err != nil {
		return ListResult{}, fmt.Errorf("list: %w", err)
	}
	maxKeys := opts.MaxKeys
	switch {
	case maxKeys < 0:
		return ListResult{}, fmt.Errorf("list %s: %w: max-keys %d", opts.Bucket, ErrInvalidArgument, maxKeys)
	case maxKeys == 0:
		maxKeys = DefaultMaxKeys
	case maxKeys > MaxKeysLimit:
		maxKeys = MaxKeysLimit
	}
	marker := opts.Marker
	if opts.ContinuationToken != "" {
		m, err := decodeToken(opts.ContinuationToken)
		if err != nil {
			return ListResult{}, fmt.Errorf("list %s: %w", opts.Bucket, err)
		}
		marker = m
	}
	var res ListResult
	if !prefixCanMatch(opts.Prefix) {
		return res, nil
	}
	prefix, delim := opts.Prefix, opts.Delimiter

	// With "/" the drives group for us: a non-recursive walk of the
	// prefix's directory yields its subdirectories as single entries and
	// never reads their contents (beyond a probe's first object). Other
	// delimiters can split names anywhere, so the walk is recursive and
	// the grouping done here: correct, but a common prefix costs a walk of
	// what it holds (bounded by reseekAfter skips before a restart past it).
	recursive := delim != "/"
	walkOpts := storage.WalkDirOptions{Volume: opts.Bucket, Prefix: prefix, StartAfter: marker, Recursive: recursive}
	if cp := commonPrefix(marker, prefix, delim); cp != "" {
		// The marker lies in (or is) a common prefix: all of it is
		// skipped, so the drives need not walk it.
		walkOpts.StartAfter = max(marker, pastPrefix(cp))
	}
	stream, err := l.open(ctx, walkOpts, opts.TrustDirectories)
	if err != nil {
		return ListResult{}, err
	}
	defer func() { stream.close() }()

	var last, lastCP string
	count, skipped := 0, 0
	for {
		e, ok, err := stream.next()
		if err != nil {
			return ListResult{}, err
		}
		if !ok {
			break
		}
		if !strings.HasPrefix(e.Name, prefix) {
			continue // cannot happen with a conforming drive
		}
		cp := ""
		switch {
		case e.IsPrefix():
			cp = e.Name // a directory of a "/" listing is its common prefix
		case delim != "":
			cp = commonPrefix(e.Name, prefix, delim)
		}
		if cp != "" && (cp == lastCP || cp <= marker) {
			// Rolled up into a prefix already listed or skipped.
			if skipped++; recursive && skipped >= reseekAfter {
				stream.close()
				walkOpts.StartAfter = max(walkOpts.StartAfter, pastPrefix(cp))
				if stream, err = l.open(ctx, walkOpts, opts.TrustDirectories); err != nil {
					stream = nopStream{}
					return ListResult{}, err
				}
				skipped = 0
			}
			continue
		}
		skipped = 0
		if cp == "" && e.Name <= marker {
			continue // cannot happen: the walk starts after the marker
		}
		if count == maxKeys {
			res.IsTruncated = true
			break
		}
		count++
		if cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			last, lastCP = cp, cp
			continue
		}
		res.Objects = append(res.Objects, e.Object)
		last = e.Name
	}
	if res.IsTruncated {
		res.NextMarker = last
		res.NextContinuationToken = encodeToken(last)
	}
	return res, nil
}

// commonPrefix returns the common prefix name rolls up into: prefix plus
// name's rest up to and including the first delimiter, or "" if name does
// not start with prefix or its rest has no delimiter.
func commonPrefix(name, prefix, delim string) string {
	if delim == "" || !strings.HasPrefix(name, prefix) {
		return ""
	}
	i := strings.Index(name[len(prefix):], delim)
	if i < 0 {
		return ""
	}
	return name[:len(prefix)+i+len(delim)]
}

// pastPrefix returns a StartAfter that skips every name starting with cp and
// nothing else: object names are valid UTF-8, which never holds the byte
// 0xFF, so every name that starts with cp sorts below cp+"\xff", and a name
// between the two would have to start with cp.
func pastPrefix(cp string) string { return cp + "\xff" }

// Continuation tokens are opaque to clients: a version byte, then the
// marker, base64url encoded. The version lets a later format be told apart.
const (
	tokenVersion = 1
	// maxTokenLen bounds what decodeToken accepts: a marker of at most
	// storage.MaxPathLength bytes (plus a common prefix's "\xff" never
	// appears: NextMarker is a key or a prefix) and the version byte.
	maxTokenLen = (storage.MaxPathLength + 1 + 2) / 3 * 4
)

func encodeToken(marker string) string {
	b := make([]byte, 0, 1+len(marker))
	b = append(b, tokenVersion)
	b = append(b, marker...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(token string) (string, error) {
	if len(token) > maxTokenLen {
		return "", fmt.Errorf("%w: %d bytes", ErrInvalidContinuationToken, len(token))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidContinuationToken, err)
	}
	if len(b) < 2 || b[0] != tokenVersion {
		return "", fmt.Errorf("%w: unknown format", ErrInvalidContinuationToken)
	}
	return string(b[1:]), nil
}

// nopStream stands in for a stream that could not be reopened, so that the
// deferred close has something to close.
type nopStream struct{}

func (nopStream) next() (Entry, bool, error) { return Entry{}, false, nil }
func (nopStream) close()                     {}
