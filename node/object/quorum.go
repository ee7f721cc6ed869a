package object

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// versionKey is what makes two drives' records the same version: everything
// the version is and how it was coded, but nothing that differs per drive
// (the shard index, inline bytes). Order between versions is decided by
// (ModTime, VersionID) alone; the other fields only keep apart two versions
// that should never share those, so that they can never be counted as one.
type versionKey struct {
	modTime   int64
	versionID string
	dataDir   string
	etag      string
	size      int64
	deleted   bool
	data      int
	parity    int
	blockSize int64
	dist      string
}

func keyOf(fi *storage.FileInfo) versionKey {
	var dist strings.Builder
	for i, d := range fi.Erasure.Distribution {
		if i > 0 {
			dist.WriteByte(',')
		}
		dist.WriteString(strconv.Itoa(d))
	}
	return versionKey{
		modTime:   fi.ModTime.UnixNano(),
		versionID: fi.VersionID,
		dataDir:   fi.DataDir,
		etag:      fi.ETag,
		size:      fi.Size,
		deleted:   fi.Deleted,
		data:      fi.Erasure.DataBlocks,
		parity:    fi.Erasure.ParityBlocks,
		blockSize: fi.Erasure.BlockSize,
		dist:      dist.String(),
	}
}

// compareKeys orders versions newest first: a later ModTime, then a greater
// VersionID (storage.Newer, the drives' own order), then, for records that
// should not exist (the same time and ID but different contents), the other
// fields, so that the choice never depends on the order drives answered.
// It never looks at the ETag before everything else failed to decide: the
// ETag of every empty object is the same.
func compareKeys(a, b versionKey) int {
	if c := cmp.Compare(b.modTime, a.modTime); c != 0 {
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
		strings.Compare(b.dist, a.dist),
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

// checkErasure refuses a record whose erasure layout cannot be this set's:
// a damaged or foreign record must not steer a decode.
func checkErasure(fi *storage.FileInfo, n int) error {
	e := &fi.Erasure
	switch {
	case fi.Deleted:
		return nil
	case e.DataBlocks+e.ParityBlocks != n || layout.ValidateParity(n, e.ParityBlocks) != nil:
		return fmt.Errorf("%w: %d+%d shards on a set of %d drives", storage.ErrFileCorrupt, e.DataBlocks, e.ParityBlocks, n)
	case e.BlockSize < 1 || e.BlockSize > erasure.MaxBlockSize:
		return fmt.Errorf("%w: block size %d", storage.ErrFileCorrupt, e.BlockSize)
	case e.ChecksumAlgo != "" && e.ChecksumAlgo != storage.BitrotHighwayHash256S:
		return fmt.Errorf("%w: bitrot algorithm %q", storage.ErrFileCorrupt, e.ChecksumAlgo)
	}
	if err := layout.ValidateDistribution(e.Distribution, n); err != nil {
		return fmt.Errorf("%w: %w", storage.ErrFileCorrupt, err)
	}
	return nil
}

// quorumOf is the number of drives that must agree on a version for it to
// be current: its own data shard count, which is also what decoding it
// needs. Any two such quorums of different versions overlap a write quorum
// (data >= n/2 and write quorum > n/2), so a version that a read quorum
// agrees on cannot hide a newer acknowledged one.
func quorumOf(k versionKey, readQuorum int) int {
	if k.deleted {
		return readQuorum
	}
	return k.data
}

// verdict is what a set's drives say about an object.
type verdict int

const (
	verdictUndecided      verdict = iota // no quorum either way: ErrReadQuorum
	verdictFound                         // chosen holds the current version
	verdictNotFound                      // a read quorum says the object is absent
	verdictBucketNotFound                // ... because the bucket is
)

// decision is the outcome of decide.
type decision struct {
	verdict verdict
	chosen  int          // a drive whose answer is the chosen version
	key     versionKey   // the chosen version
	agree   []bool       // per drive: its latest version is the chosen one
	votes   int          // drives that agree
	answers []metaAnswer // what each drive said, for heal records
}

// metaAnswer is one drive's latest version of an object, or why it has none.
type metaAnswer struct {
	fi  storage.FileInfo
	err error
}

// decide picks the current version from what each drive reported as its
// latest version (answers, by position; answered marks those that
// reported; pending drives have not yet). readQuorum is the set's (default
// parity) read quorum, which a "not found" needs.
//
// The current version is the newest, by (ModTime, VersionID), of the
// versions that at least their own data shard count of drives report as
// their latest. With no such version, the object is absent if readQuorum
// drives say so, else undecided. settled reports that the drives still
// pending cannot change that outcome, whatever they answer: for a version
// to be chosen, no newer version seen can still reach its quorum, and too
// few are pending to form one of their own; for "absent", no version can.
// With nothing pending the outcome is always settled.
func decide(answers []metaAnswer, answered []bool, readQuorum int) (d decision, settled bool) {
	n := len(answers)
	pending := 0
	for _, a := range answered {
		if !a {
			pending++
		}
	}
	type group struct {
		key   versionKey
		count int
		first int
	}
	var groups []group
	keys := make([]versionKey, n)
	valid := make([]bool, n)
	absent, noBucket := 0, 0
	for i, a := range answers {
		if !answered[i] {
			continue
		}
		switch {
		case errors.Is(a.err, storage.ErrVolumeNotFound):
			noBucket++
			continue
		case isNotFound(a.err):
			absent++
			continue
		case a.err != nil:
			continue
		}
		if checkErasure(&answers[i].fi, n) != nil {
			continue
		}
		keys[i], valid[i] = keyOf(&answers[i].fi), true
		if g := slices.IndexFunc(groups, func(g group) bool { return g.key == keys[i] }); g >= 0 {
			groups[g].count++
		} else {
			groups = append(groups, group{key: keys[i], count: 1, first: i})
		}
	}
	// Newest first, so that the first group with its quorum is the answer.
	slices.SortFunc(groups, func(a, b group) int { return compareKeys(a.key, b.key) })

	// A version nobody reported yet needs at least ceil(n/2) drives.
	minQuorum := n - n/2
	unseenPossible := pending >= minQuorum
	d = decision{answers: answers, chosen: -1}
	for gi, g := range groups {
		if g.count < quorumOf(g.key, readQuorum) {
			continue
		}
		settled = !unseenPossible
		for _, newer := range groups[:gi] {
			if newer.count+pending >= quorumOf(newer.key, readQuorum) {
				settled = false
			}
		}
		d.verdict, d.chosen, d.key, d.votes = verdictFound, g.first, g.key, g.count
		d.agree = make([]bool, n)
		for i := range answers {
			d.agree[i] = valid[i] && keys[i] == g.key
		}
		return d, settled || pending == 0
	}
	if absent+noBucket >= readQuorum {
		settled = !unseenPossible
		for _, g := range groups {
			if g.count+pending >= quorumOf(g.key, readQuorum) {
				settled = false
			}
		}
		d.verdict = verdictNotFound
		if noBucket >= readQuorum {
			d.verdict = verdictBucketNotFound
		}
		return d, settled || pending == 0
	}
	return d, pending == 0
}

// readLatest asks every drive for its latest version of the object at once
// and decides which is current (decide). Each drive gets DriveTimeout; once
// the answers so far settle the outcome, the others get StragglerWait more.
func (s *Set) readLatest(ctx context.Context, bucket, object string) (decision, error) {
	n := len(s.drives)
	answers := make([]metaAnswer, n)
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout,
		func(ctx context.Context, _ int, d storage.Drive) (storage.FileInfo, error) {
			return d.ReadVersion(ctx, bucket, object, "")
		},
		func(vals []storage.FileInfo, errs []error, answered []bool, pending int) bool {
			if pending >= n-n/2 {
				return false // enough drives pending to outvote any answer yet
			}
			for i := range answers {
				answers[i] = metaAnswer{fi: vals[i], err: errs[i]}
			}
			_, settled := decide(answers, answered, s.readQuorum)
			return settled
		}, s.stragglerWait)
	for i := range answers {
		answers[i] = metaAnswer{fi: vals[i], err: errs[i]}
	}
	d, _ := decide(answers, allTrue(n), s.readQuorum)
	if err := ctx.Err(); err != nil {
		return d, err
	}
	switch d.verdict {
	case verdictFound:
		return d, nil
	case verdictNotFound:
		return d, fmt.Errorf("%s/%s: %w", bucket, object, ErrObjectNotFound)
	case verdictBucketNotFound:
		return d, fmt.Errorf("%s: %w", bucket, ErrBucketNotFound)
	}
	return d, fmt.Errorf("%s/%s: no version agreed by a read quorum of %d drives: %w%s",
		bucket, object, s.readQuorum, ErrReadQuorum, summarize(errs))
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
