package listing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// version is what one drive's record says about the latest version of an
// object: the fields that make two drives' records the same version (the
// key, as the object layer's read path compares them) and the few a listing
// shows. Inline data, parts and system metadata are dropped as soon as the
// record is decoded, so that the entries buffered per drive stay small.
type version struct {
	modTime   time.Time
	id        string
	dataDir   string
	etag      string
	size      int64
	deleted   bool
	data      int
	parity    int
	blockSize int64
	dist      []int

	contentType string
	userMeta    map[string]string
}

// latestVersion decodes an object's record as WalkDir reported it and
// returns its latest version, after checking that its erasure layout can be
// one of a set of n drives. A record that fails either check is not a vote.
func latestVersion(raw []byte, n int) (version, error) {
	m, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		return version{}, err
	}
	v := &m.Versions[0]
	if err := checkErasure(v, n); err != nil {
		return version{}, err
	}
	return version{
		modTime:     v.ModTime,
		id:          v.VersionID,
		dataDir:     v.DataDir,
		etag:        v.ETag,
		size:        v.Size,
		deleted:     v.Deleted,
		data:        v.Erasure.DataBlocks,
		parity:      v.Erasure.ParityBlocks,
		blockSize:   v.Erasure.BlockSize,
		dist:        v.Erasure.Distribution,
		contentType: v.ContentType,
		userMeta:    v.UserMetadata,
	}, nil
}

// checkErasure refuses a version whose erasure layout cannot be that of a
// set of n drives (the object layer refuses the same records on reads): a
// damaged or foreign record must not count towards a quorum. Delete markers
// have no layout.
func checkErasure(v *storage.FileVersion, n int) error {
	e := &v.Erasure
	switch {
	case v.Deleted:
		return nil
	case e.ParityBlocks < 1 || e.ParityBlocks > n/2 || e.DataBlocks+e.ParityBlocks != n:
		return fmt.Errorf("%w: %d+%d shards on a set of %d drives", storage.ErrFileCorrupt, e.DataBlocks, e.ParityBlocks, n)
	case e.BlockSize < 1 || e.BlockSize > erasure.MaxBlockSize:
		return fmt.Errorf("%w: block size %d", storage.ErrFileCorrupt, e.BlockSize)
	case e.ChecksumAlgo != "" && e.ChecksumAlgo != storage.BitrotHighwayHash256S:
		return fmt.Errorf("%w: bitrot algorithm %q", storage.ErrFileCorrupt, e.ChecksumAlgo)
	case !isPermutation(e.Distribution, n):
		return fmt.Errorf("%w: distribution %v is not a permutation of 1..%d", storage.ErrFileCorrupt, e.Distribution, n)
	}
	return nil
}

// isPermutation reports whether d is a permutation of 1..n (n <= 64),
// without allocating: it runs once per entry per drive.
func isPermutation(d []int, n int) bool {
	if len(d) != n || n > 64 {
		return false
	}
	var seen uint64
	for _, s := range d {
		if s < 1 || s > n || seen&(1<<(s-1)) != 0 {
			return false
		}
		seen |= 1 << (s - 1)
	}
	return true
}

// sameVersion reports whether two drives hold the same version: equal
// keys, everything but per-drive state (shard index, inline bytes).
func sameVersion(a, b *version) bool {
	return a.modTime.Equal(b.modTime) && a.id == b.id && a.dataDir == b.dataDir &&
		a.etag == b.etag && a.size == b.size && a.deleted == b.deleted &&
		a.data == b.data && a.parity == b.parity && a.blockSize == b.blockSize &&
		slices.Equal(a.dist, b.dist)
}

// compareVersions orders versions newest first: a later ModTime, then a
// greater version ID (storage.Newer, the drives' own order), then, for
// records that should not exist (the same time and ID, different contents),
// the other fields, so that the choice never depends on the order the
// drives were read in. The ETag comes late: every empty object has the same.
func compareVersions(a, b *version) int {
	if c := b.modTime.Compare(a.modTime); c != 0 {
		return c
	}
	if c := strings.Compare(b.id, a.id); c != 0 {
		return c
	}
	return cmp.Or(
		strings.Compare(b.dataDir, a.dataDir),
		cmp.Compare(b.size, a.size),
		strings.Compare(b.etag, a.etag),
		cmp.Compare(b.data, a.data),
		cmp.Compare(b.blockSize, a.blockSize),
		slices.Compare(b.dist, a.dist),
		boolCompare(b.deleted, a.deleted),
	)
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// quorumOf is the number of drives that must hold v as their latest
// version for it to be current: its own data shard count, which is what
// decoding it needs (and what the object layer's reads require, so a
// listing shows what a GET would find); the set's read quorum for a delete
// marker, which has no shards.
func quorumOf(v *version, readQuorum int) int {
	if v.deleted {
		return readQuorum
	}
	return v.data
}

func (v *version) objectInfo(bucket, name string) ObjectInfo {
	return ObjectInfo{
		Bucket:       bucket,
		Name:         name,
		VersionID:    v.id,
		Size:         v.size,
		ETag:         v.etag,
		ModTime:      v.modTime,
		ContentType:  v.contentType,
		UserMetadata: v.userMeta,
		DataShards:   v.data,
		ParityShards: v.parity,
		Inline:       v.dataDir == "",
	}
}
