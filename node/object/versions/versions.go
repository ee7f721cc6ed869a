package versions

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// MaxDrives is the largest set there is (layout.MaxSetSize), and so the
// longest distribution a Key holds.
const MaxDrives = layout.MaxSetSize

// A Key's distribution entries and length are uint8s.
var _ [math.MaxUint8 - MaxDrives]struct{}

// distUnfit is the distLen of a Key whose record's distribution does not
// fit one: more than MaxDrives entries, or an entry outside 0..255.
const distUnfit = math.MaxUint8

// Key is what makes two drives' records the same version: everything the
// version is and how it was coded (modification time, version ID, data
// dir, ETag, size, delete marker or not, data and parity shard counts,
// block size, distribution), but nothing that differs per drive (the shard
// index, inline bytes) or that only a client sees (content type, user
// metadata). Two records are the same version exactly when their Keys are
// equal (==); Compare orders them.
//
// Make Keys with KeyOf. A Key holds no pointer into the record it was made
// from but its strings, so it is cheap to keep and copy.
type Key struct {
	sec       int64 // ModTime: seconds since the Unix epoch ...
	versionID string
	dataDir   string
	etag      string
	size      int64
	data      int
	parity    int
	blockSize int64
	nsec      int32 // ... and nanoseconds within the second
	deleted   bool
	// The distribution: dist[:distLen], or distLen == distUnfit (and dist
	// all zero) for one that does not fit. CheckErasure accepts only
	// distributions that fit, so only a delete marker can carry one that
	// does not: all such are one value of the key.
	distLen uint8
	dist    [MaxDrives]uint8
}

// KeyOf returns the Key of a version. It does not allocate: listings call
// it for every entry of every drive.
func KeyOf(v *storage.FileVersion) Key {
	e := &v.Erasure
	k := Key{
		sec:       v.ModTime.Unix(),
		nsec:      int32(v.ModTime.Nanosecond()),
		versionID: v.VersionID,
		dataDir:   v.DataDir,
		etag:      v.ETag,
		size:      v.Size,
		deleted:   v.Deleted,
		data:      e.DataBlocks,
		parity:    e.ParityBlocks,
		blockSize: e.BlockSize,
		distLen:   distUnfit,
	}
	if len(e.Distribution) > MaxDrives {
		return k
	}
	for i, d := range e.Distribution {
		if d < 0 || d > math.MaxUint8 {
			k.dist = [MaxDrives]uint8{}
			return k
		}
		k.dist[i] = uint8(d)
	}
	k.distLen = uint8(len(e.Distribution))
	return k
}

// ModTime returns the version's modification time, in UTC (as drives
// decode it).
func (k Key) ModTime() time.Time { return time.Unix(k.sec, int64(k.nsec)).UTC() }

// VersionID returns the version's ID.
func (k Key) VersionID() string { return k.versionID }

// DataDir returns the version's data dir, empty for inline data and delete
// markers.
func (k Key) DataDir() string { return k.dataDir }

// ETag returns the version's ETag.
func (k Key) ETag() string { return k.etag }

// Size returns the version's size in bytes.
func (k Key) Size() int64 { return k.size }

// Deleted reports whether the version is a delete marker.
func (k Key) Deleted() bool { return k.deleted }

// DataBlocks returns the version's data shard count.
func (k Key) DataBlocks() int { return k.data }

// ParityBlocks returns the version's parity shard count.
func (k Key) ParityBlocks() int { return k.parity }

// BlockSize returns the version's erasure block size.
func (k Key) BlockSize() int64 { return k.blockSize }

// Compare orders versions newest first: it is negative when a is newer
// than b. Newer is a later modification time, then a greater version ID
// (storage.Newer, the drives' own order). Records that should not exist
// (the same time and ID, different contents) are ordered by the other
// fields, in this order: data dir, size, ETag, data shard count, block
// size, distribution (greater first for each), then a delete marker before
// a version, then parity, so that the choice never depends on the order
// the drives answered. The ETag comes late: every empty object has the
// same. Compare(a, b) == 0 exactly when a == b.
func Compare(a, b Key) int {
	if c := cmp.Or(cmp.Compare(b.sec, a.sec), cmp.Compare(b.nsec, a.nsec)); c != 0 {
		return c
	}
	if c := strings.Compare(b.versionID, a.versionID); c != 0 {
		return c
	}
	return cmp.Or(
		strings.Compare(b.dataDir, a.dataDir),
		cmp.Compare(b.size, a.size),
		strings.Compare(b.etag, a.etag),
		cmp.Compare(b.data, a.data),
		cmp.Compare(b.blockSize, a.blockSize),
		compareDist(&b, &a),
		boolCompare(b.deleted, a.deleted),
		cmp.Compare(b.parity, a.parity),
	)
}

// compareDist orders distributions as slices.Compare orders them, with
// one that does not fit a Key after all others.
func compareDist(a, b *Key) int {
	if a.distLen == distUnfit || b.distLen == distUnfit {
		return cmp.Compare(a.distLen, b.distLen)
	}
	return slices.Compare(a.dist[:a.distLen], b.dist[:b.distLen])
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

// Needed is the number of drives that must hold k as their latest version
// for it to be current. For a version, its own data shard count: what
// decoding it needs. Any two such quorums of different versions overlap a
// write quorum (data >= n/2 and write quorum > n/2), so a version that a
// read quorum agrees on cannot hide a newer acknowledged one. For a delete
// marker, which has no shards, the set's read quorum.
func Needed(k Key, readQuorum int) int {
	if k.deleted {
		return readQuorum
	}
	return k.data
}

// CheckErasure refuses a version whose erasure layout cannot be that of a
// set of n drives: a damaged or foreign record must not steer a decode nor
// count towards a quorum. It accepts a version only if n is a set size
// (layout.MinSetSize to layout.MaxSetSize), its data and parity shard
// counts add up to n with a parity layout.ValidateParity accepts, its block
// size is within 1..erasure.MaxBlockSize, its bitrot algorithm is the one
// there is, and its distribution is a permutation of 1..n
// (layout.ValidateDistribution). Delete markers have no layout and are
// always accepted. Errors wrap storage.ErrFileCorrupt (and, for the
// distribution, layout.ErrBadDistribution). An accepted version does not
// allocate: listings check every entry of every drive.
func CheckErasure(v *storage.FileVersion, n int) error {
	e := &v.Erasure
	switch {
	case v.Deleted:
		return nil
	case e.DataBlocks+e.ParityBlocks != n || layout.ValidateParity(n, e.ParityBlocks) != nil:
		return fmt.Errorf("%w: %d+%d shards on a set of %d drives", storage.ErrFileCorrupt, e.DataBlocks, e.ParityBlocks, n)
	case e.BlockSize < 1 || e.BlockSize > erasure.MaxBlockSize:
		return fmt.Errorf("%w: block size %d", storage.ErrFileCorrupt, e.BlockSize)
	case e.ChecksumAlgo != "" && e.ChecksumAlgo != storage.BitrotHighwayHash256S:
		return fmt.Errorf("%w: bitrot algorithm %q", storage.ErrFileCorrupt, e.ChecksumAlgo)
	case !isPermutation(e.Distribution, n):
		err := layout.ValidateDistribution(e.Distribution, n)
		if err == nil { // cannot happen: the two agree for every n a set can have
			err = fmt.Errorf("%w: %d entries for %d drives", layout.ErrBadDistribution, len(e.Distribution), n)
		}
		return fmt.Errorf("%w: %w", storage.ErrFileCorrupt, err)
	}
	return nil
}

// isPermutation reports whether d is a permutation of 1..n, as
// layout.ValidateDistribution does for n <= MaxDrives, without allocating.
func isPermutation(d []int, n int) bool {
	if len(d) != n || n > MaxDrives {
		return false
	}
	var seen uint32
	for _, s := range d {
		if s < 1 || s > n || seen&(1<<(s-1)) != 0 {
			return false
		}
		seen |= 1 << (s - 1)
	}
	return true
}
