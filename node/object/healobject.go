package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// HealOptions tunes HealObject.
type HealOptions struct {
	// Corrupt lists set positions whose copy the caller found damaged
	// (bitrot in a shard, a truncated part): they are rebuilt even if
	// their record is the current version.
	Corrupt []int
	// Verify lists set positions to check even where their record is the
	// current version: every shard file of the version is read and
	// bitrot-checked there (storage.Drive.VerifyFile), and a missing or
	// damaged one makes the drive a target. For drives a write went on
	// without: a drive can hold the record of a multipart version
	// without the shard of a part it missed.
	Verify []int
	// DryRun reports what would be healed (HealResult.Targets) and writes
	// nothing.
	DryRun bool
}

// HealResult says what HealObject found and did. Positions are set
// positions, in ascending order.
type HealResult struct {
	Bucket, Object string
	// Version is the version ID of the current version the drives were
	// healed to; "" when the object is absent (or a delete marker is its
	// current version).
	Version string
	// Size and DataBlocks are the current version's size and data shard
	// count (0 when absent): a healed drive got Size/DataBlocks bytes of
	// shards, rounded up per block.
	Size       int64
	DataBlocks int
	// Targets are the drives found out of date: not holding the current
	// version (or, for an absent object, holding some version), or named
	// in HealOptions.Corrupt, or found corrupt while being read from.
	Targets []int
	// Healed are the targets that now hold the current version.
	Healed []int
	// Removed are the drives an absent object's leftovers were removed
	// from.
	Removed []int
	// Leftovers are the drives holding the current version that also
	// hold older ones (a write's cleanup they missed: its commit there
	// answered late, or the removal failed); Pruned those the older
	// versions were removed from, with their data dirs.
	Leftovers, Pruned []int
	// Unacknowledged are the versions found that can never have been
	// acknowledged (newer than the current version, on fewer drives than
	// their write quorum could have been: see Set.unacknowledged); they
	// are removed (unless DryRun, which reports them and stops there).
	Unacknowledged []string
	// Dropped are the drives an unacknowledged version was removed from.
	Dropped []int
	// Unsettled are the versions newer than the current one (or, with no
	// current version, any) that are younger than Config.CommitSettle:
	// their commit may still be landing, so the drives holding them as
	// their latest are left alone (and reported in Targets and Failed,
	// with ErrUnsettled) until a later heal.
	Unsettled []string
	// SettledAt, when some drive was left for a version too young to
	// judge (Unsettled, or ErrUnsettled in Failed), is when every such
	// version will have settled: a heal from then on can judge them.
	SettledAt time.Time
	// Skipped are the drives that were offline: not healed, not an error.
	Skipped []int
	// Failed holds, per drive, why a target could not be healed or
	// cleaned (or why its state could not be read).
	Failed map[int]error
}

// healPasses bounds the rebuild rounds: the first heals the targets found
// from the records, the second the sources found corrupt during the first.
const healPasses = 2

// HealObject brings every online drive of the set back to the object's
// current version, under the object's write lock.
//
// The current version is what a read would choose (decide), from every
// drive's answer (no straggler cut-off). Without a
// read quorum it fails with ErrReadQuorum and changes nothing. If a read
// quorum says the object is absent, or its current version is a delete
// marker, the drives that still hold another version of it have it removed
// as DELETE removes it from one drive (Removed).
//
// Otherwise the targets are the online drives whose latest record is not
// the current version (absent, older, different, unreadable, in the wrong
// shard position) and those in opts.Corrupt; the others are the sources.
// Each target's shard of every part is rebuilt (erasure.Coder.Heal) block
// by block from the sources' shards, read and bitrot-verified as a GET reads
// them, into a new shard file in the target's TmpVolume, and committed with
// RenameData as a PUT commits: the same version (ModTime, VersionID, DataDir,
// ETag, parts, layout), with the target's own shard index. Inline objects
// are rebuilt in memory from the sources' inline shards and committed with
// their own inline shard. A source found corrupt or missing while being read
// becomes a target of a second pass. The targets' versions older than the
// current one go, as a PUT removes the versions it replaces; so do those
// of the sources that hold older versions beside the current one
// (Leftovers, Pruned). Otherwise a drive that holds the current version
// and is not in opts.Corrupt is never written to.
//
// First, versions that no drive can have acknowledged (a failed write's
// leftovers: see Set.unacknowledged) are removed from the drives that hold
// them, with their data dirs, and the data dirs of the same name that no
// record names are removed from the other drives (Unacknowledged,
// Dropped); then the object is read again and healed as it is without
// them. A version newer than the current one and younger than
// Config.CommitSettle is neither judged nor removed: a writer may still
// be committing it, under a lock wrongly taken from it (Unsettled). The
// drives holding one as their latest are left out of this heal, as
// failed targets (ErrUnsettled), and so is any version younger than that
// when the object's leftovers are removed.
//
// Offline drives are skipped (Skipped), not an error. A target that cannot
// be healed is reported in Failed, the others are still healed, and the
// error wraps ErrHealIncomplete (the result is returned with it). Any other
// error is a heal that could not run or stopped: bad names, no lock, no
// read quorum (before or while rebuilding: ErrReadQuorum), a missing
// bucket, ctx ended; what it healed before is in the result.
func (s *Set) HealObject(ctx context.Context, bucket, object string, opts HealOptions) (HealResult, error) {
	res := HealResult{Bucket: bucket, Object: object}
	fail := func(err error) (HealResult, error) {
		return res, fmt.Errorf("heal %s/%s: %w", bucket, clip(object), err)
	}
	if err := checkNames(bucket, object); err != nil {
		return fail(err)
	}
	n := len(s.drives)
	corrupt := make([]bool, n)
	for _, pos := range opts.Corrupt {
		if pos < 0 || pos >= n {
			return fail(fmt.Errorf("%w: corrupt drive %d of a set of %d", ErrInvalidArgument, pos, n))
		}
		corrupt[pos] = true
	}
	lk, err := s.lock(ctx, true, bucket, object)
	if err != nil {
		return fail(err)
	}
	defer lk.Unlock()

	// Taken before the read: a version older than this had every commit
	// its writer counted land before the read began.
	settledBy := s.settledBy()
	d, err := s.readEvery(ctx, bucket, object)
	if ctx.Err() == nil && (d.verdict == verdictFound || d.verdict == verdictUndecided) {
		var drop []unacked
		for _, u := range s.unacknowledged(d) {
			if u.key.ModTime().After(settledBy) {
				res.Unsettled = append(res.Unsettled, u.key.VersionID())
				res.settles(u.key.ModTime(), s.commitSettle)
			} else {
				drop = append(drop, u)
			}
		}
		if len(drop) > 0 {
			for _, u := range drop {
				res.Unacknowledged = append(res.Unacknowledged, u.key.VersionID())
			}
			if opts.DryRun {
				return res, nil
			}
			res.Dropped = s.dropUnacknowledged(ctx, bucket, object, d, drop)
			if lost(lk) {
				return fail(ErrLockLost)
			}
			// What is left decides what the object is.
			d, err = s.readEvery(ctx, bucket, object)
		}
	}
	leave := unsettled(d, settledBy)
	switch {
	case err == nil && d.key.Deleted(), err != nil && d.verdict == verdictNotFound && ctx.Err() == nil:
		err = s.healAbsent(ctx, lk, bucket, object, d, leave, settledBy, opts, &res)
	case err == nil:
		err = s.healVersion(ctx, lk, bucket, object, d, leave, corrupt, opts, &res)
	}
	if err != nil {
		return fail(err)
	}
	for pos, young := range leave {
		if young {
			res.Targets = append(res.Targets, pos)
			res.failed(pos, fmt.Errorf("version %s: %w", d.answers[pos].fi.VersionID, ErrUnsettled))
			res.settles(d.answers[pos].fi.ModTime, s.commitSettle)
		}
	}
	slices.Sort(res.Targets)
	if len(res.Failed) > 0 {
		errs := make([]error, n)
		for pos, e := range res.Failed {
			errs[pos] = e
		}
		return fail(fmt.Errorf("%w: %d of %d drives failed%s", ErrHealIncomplete, len(res.Failed), len(res.Targets), summarize(errs)))
	}
	return res, nil
}

// settledBy returns the newest ModTime a heal starting now may judge: a
// version newer than that may still be being committed.
func (s *Set) settledBy() time.Time {
	if s.commitSettle < 0 {
		return time.Now().Add(100 * 365 * 24 * time.Hour) // judge all (tests)
	}
	return time.Now().Add(-s.commitSettle)
}

// unsettled marks the drives whose latest version is newer than d's
// current one (or, with none, any version) and younger than settledBy:
// a commit may still be bringing it to its quorum, so a heal leaves them.
func unsettled(d decision, settledBy time.Time) []bool {
	leave := make([]bool, len(d.answers))
	for pos := range d.answers {
		a := &d.answers[pos]
		if a.err != nil || !a.fi.ModTime.After(settledBy) {
			continue
		}
		if d.verdict == verdictFound && versions.Compare(versions.KeyOf(&a.fi.FileVersion), d.key) >= 0 {
			continue // the current version or an older one
		}
		leave[pos] = true
	}
	return leave
}

// readEvery is readLatest without the straggler cut-off: a heal needs
// every drive's answer (each still bounded by DriveTimeout), since a drive
// cut off would be neither healed nor known to be healthy. The version
// rule is decide's, as for every read.
func (s *Set) readEvery(ctx context.Context, bucket, object string) (decision, error) {
	n := len(s.drives)
	vals, errs := fanOut(ctx, s.drives, s.driveTimeout,
		func(ctx context.Context, _ int, d storage.Drive) (storage.FileInfo, error) {
			return d.ReadVersion(ctx, bucket, object, "")
		}, nil, 0)
	answers := make([]metaAnswer, n)
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

// isOffline reports whether a drive's answer says it is offline (or it could
// not be opened at all). A drive whose call hung past its deadline, or that
// was taken out of service for hanging (storage/health), is offline too:
// its copy may well be fine, it just cannot be reached now.
func isOffline(d storage.Drive, err error) bool {
	return d == nil || errors.Is(err, storage.ErrDriveOffline) ||
		errors.Is(err, storage.ErrDriveTimeout) || errors.Is(err, storage.ErrDriveFaulty)
}

// verifySources checks the shard files of the sources named in verify and
// turns those with a part missing or damaged into targets. A drive whose
// check did not say (offline, timed out, failed otherwise) is reported in
// res, Skipped or Failed, though it stays a source (what it serves is
// bitrot-checked): its shards are not known whole, and whoever asked for
// the check must ask again (a missed-write entry stays).
func (s *Set) verifySources(ctx context.Context, bucket, object string, d decision, verify []int, sources, targets []bool, res *HealResult) {
	check := make([]bool, len(s.drives))
	for _, pos := range verify {
		if pos >= 0 && pos < len(check) && sources[pos] {
			check[pos] = true
		}
	}
	if countTrue(check) == 0 {
		return
	}
	_, errs := fanOut(ctx, s.drivesWhere(check), s.driveTimeout, func(ctx context.Context, pos int, dr storage.Drive) (struct{}, error) {
		return struct{}{}, dr.VerifyFile(ctx, bucket, object, d.answers[pos].fi)
	}, nil, 0)
	for pos := range check {
		switch err := errs[pos]; {
		case !check[pos] || err == nil:
		case isNotFound(err) || isCorrupt(err):
			sources[pos], targets[pos] = false, true
		case isOffline(s.drives[pos], err):
			res.Skipped = append(res.Skipped, pos)
		default:
			res.failed(pos, fmt.Errorf("verify: %w", err))
		}
	}
}

// healAbsent removes the leftovers of an object a read quorum says is
// absent (or whose current version is a delete marker, which the drives
// that agree keep) from the drives that still hold a version of it, but
// for the drives marked in leave and any version younger than settledBy
// (a commit of it may be landing as the heal runs).
func (s *Set) healAbsent(ctx context.Context, lk Lock, bucket, object string, d decision, leave []bool, settledBy time.Time, opts HealOptions, res *HealResult) error {
	n := len(s.drives)
	targets := make([]bool, n)
	for pos, a := range d.answers {
		switch {
		case isOffline(s.drives[pos], a.err):
			res.Skipped = append(res.Skipped, pos)
		case leave[pos]:
		case d.agree != nil && d.agree[pos]:
			// Holds the delete marker that is current.
		case a.err == nil || isCorrupt(a.err):
			targets[pos] = true
			res.Targets = append(res.Targets, pos)
		}
	}
	if opts.DryRun || len(res.Targets) == 0 {
		return nil
	}
	if lost(lk) {
		return ErrLockLost
	}
	_, errs := fanOut(context.WithoutCancel(ctx), s.drivesWhere(targets), s.driveTimeout,
		func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
			return struct{}{}, deleteSettled(ctx, d, bucket, object, settledBy)
		}, nil, 0)
	for _, pos := range res.Targets {
		switch err := errs[pos]; {
		case err == nil:
			res.Removed = append(res.Removed, pos)
		case isOffline(s.drives[pos], err):
			res.Skipped = append(res.Skipped, pos)
		default:
			res.failed(pos, err)
			if errors.Is(err, ErrUnsettled) {
				// Committed since the read: it is younger than now.
				res.settles(time.Now(), s.commitSettle)
			}
		}
	}
	slices.Sort(res.Skipped)
	return nil
}

// settles notes that a version of modTime was left as too young to judge.
func (r *HealResult) settles(modTime time.Time, settle time.Duration) {
	if at := modTime.Add(settle); at.After(r.SettledAt) {
		r.SettledAt = at
	}
}

func (r *HealResult) failed(pos int, err error) {
	if r.Failed == nil {
		r.Failed = map[int]error{}
	}
	r.Failed[pos] = err
}

// healVersion rebuilds the current version d chose on the drives that do
// not hold it (see HealObject).
func (s *Set) healVersion(ctx context.Context, lk Lock, bucket, object string, d decision, leave, corrupt []bool, opts HealOptions, res *HealResult) error {
	n := len(s.drives)
	fi := d.answers[d.chosen].fi // a copy: the per-drive fields are reset below
	fi.InlineData = nil
	res.Version = fi.VersionID
	res.Size, res.DataBlocks = fi.Size, fi.Erasure.DataBlocks
	coder, err := s.coder(fi.Erasure.DataBlocks, fi.Erasure.ParityBlocks, fi.Erasure.BlockSize)
	if err != nil {
		return err
	}
	inline := fi.DataDir == ""
	dist := fi.Erasure.Distribution

	// Sources hold the version, in the right place; targets get it.
	// Absent targets held no record of the object at all (a wiped or
	// replaced drive, a write it missed): nothing of theirs to clean.
	sources, targets, absent := make([]bool, n), make([]bool, n), make([]bool, n)
	inlineOf := make([][]byte, n) // the sources' inline shards
	for pos, a := range d.answers {
		switch {
		case isOffline(s.drives[pos], a.err):
			res.Skipped = append(res.Skipped, pos)
		case leave[pos]:
		case corrupt[pos]:
			targets[pos] = true
		case d.agree[pos] && a.fi.Erasure.Index == dist[pos] &&
			(!inline || int64(len(a.fi.InlineData)) == coder.ShardDiskSize(fi.Size)):
			sources[pos] = true
			inlineOf[pos] = a.fi.InlineData
		case a.err == nil || isNotFound(a.err) || isCorrupt(a.err):
			targets[pos] = true // another version, none, or a damaged record
			absent[pos] = errors.Is(a.err, storage.ErrFileNotFound) || errors.Is(a.err, storage.ErrVolumeNotFound)
		default:
			res.failed(pos, fmt.Errorf("read version: %w", a.err)) // its state is unknown
		}
	}
	s.verifySources(ctx, bucket, object, d, opts.Verify, sources, targets, res)
	res.Targets = trues(targets)
	leftovers := make([]bool, n)
	for pos := range sources {
		leftovers[pos] = sources[pos] && d.answers[pos].fi.NumVersions > 1
	}
	res.Leftovers = trues(leftovers)
	if !opts.DryRun && len(res.Leftovers) > 0 {
		if lost(lk) {
			return ErrLockLost
		}
		s.pruneLeftovers(ctx, bucket, object, &fi.FileVersion, leftovers, res)
		slices.Sort(res.Skipped)
	}
	if opts.DryRun || len(res.Targets) == 0 {
		return nil
	}
	defer func() {
		slices.Sort(res.Targets)
		res.Targets = slices.Compact(res.Targets)
		slices.Sort(res.Healed)
		slices.Sort(res.Skipped)
	}()

	for pass := 0; pass < healPasses && countTrue(targets) > 0; pass++ {
		if lost(lk) {
			return ErrLockLost
		}
		job := &putJob{
			s: s, bucket: bucket, object: object, dist: dist,
			online: targets, written: make([]bool, n), version: fi.FileVersion,
		}
		var bad []bool
		if inline {
			bad, err = s.healInline(ctx, job, coder, sources, inlineOf)
		} else {
			job.tmpID = uuid.NewString()
			bad, err = s.healShards(ctx, job, coder, sources, res)
		}
		if err != nil {
			job.removeTmp(ctx, targets)
			return err
		}
		if err := ctx.Err(); err != nil {
			job.removeTmp(ctx, targets)
			return err
		}
		if lost(lk) {
			job.removeTmp(ctx, targets)
			return ErrLockLost
		}
		// A commit moves the staging directory in whole: the targets that
		// did not commit may still hold one.
		leftover := slices.Clone(targets)
		for pos, e := range s.commitHeal(ctx, job, absent) {
			switch {
			case !job.written[pos]:
			case e == nil:
				leftover[pos] = false
				res.Healed = append(res.Healed, pos)
				sources[pos] = true
				if inline {
					inlineOf[pos] = job.inline[pos]
				}
			case isOffline(s.drives[pos], e):
				res.Skipped = append(res.Skipped, pos)
			default:
				res.failed(pos, e)
			}
		}
		job.removeTmp(ctx, leftover)

		// Sources found corrupt or missing are healed in the next pass.
		targets, absent = make([]bool, n), make([]bool, n)
		for pos := range bad {
			if bad[pos] && sources[pos] {
				sources[pos], targets[pos] = false, true
				res.Targets = append(res.Targets, pos)
			}
		}
	}
	for pos := range targets {
		if targets[pos] {
			// Found bad again after the last pass: reported, not healed.
			res.failed(pos, errors.New("shard found corrupt or missing in the last heal pass"))
			res.Healed = slices.DeleteFunc(res.Healed, func(p int) bool { return p == pos })
		}
	}
	return nil
}

func trues(b []bool) []int {
	var out []int
	for i, v := range b {
		if v {
			out = append(out, i)
		}
	}
	return out
}

// badSource reports whether a source's read error says its copy is damaged
// or missing (to be healed), rather than slow, offline or cancelled.
func badSource(err error) bool {
	return err != nil && (isCorrupt(err) || isNotFound(err))
}

// healError maps a Heal failure to this package's errors.
func healError(err error, readerErrs []error) error {
	if errors.Is(err, erasure.ErrReadQuorum) {
		return fmt.Errorf("%w: %w%s", ErrReadQuorum, err, summarize(readerErrs))
	}
	return err
}

// healInline rebuilds the inline shards of job.online (the targets) from
// the sources' inline shards, into job.inline. It returns the sources found
// corrupt.
func (s *Set) healInline(ctx context.Context, job *putJob, coder *erasure.Coder, sources []bool, inlineOf [][]byte) ([]bool, error) {
	n := len(s.drives)
	size := job.version.Size
	readers := make([]io.Reader, n) // shard order
	writers := make([]io.Writer, n)
	bufs := make([]*bytes.Buffer, n) // position order
	chunk := coder.ShardSize()
	shardLen := coder.ShardFileSize(size)
	for pos := range n {
		shard := job.dist[pos] - 1
		switch {
		case job.online[pos]:
			bufs[pos] = bytes.NewBuffer(make([]byte, 0, coder.ShardDiskSize(size)))
			bw, err := erasure.NewBitrotWriter(bufs[pos], s.key, chunk)
			if err != nil {
				return nil, err
			}
			writers[shard] = bw
		case sources[pos]:
			br, err := erasure.NewBitrotReader(bytes.NewReader(inlineOf[pos]), s.key, chunk, 0, shardLen)
			if err != nil {
				return nil, err
			}
			readers[shard] = br
		}
	}
	bad := make([]bool, n)
	var werrs, rerrs []error
	var err error
	if size > 0 {
		werrs, rerrs, err = coder.Heal(ctx, writers, readers, size)
	}
	for pos := range n {
		shard := job.dist[pos] - 1
		if rerrs != nil && badSource(rerrs[shard]) {
			bad[pos] = true
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		byPos := make([]error, n)
		for pos := range n {
			if rerrs != nil {
				byPos[pos] = rerrs[job.dist[pos]-1]
			}
		}
		return bad, healError(err, byPos)
	}
	job.inline = make([][]byte, n)
	for pos, b := range bufs {
		switch {
		case b == nil:
		case werrs != nil && werrs[job.dist[pos]-1] != nil:
			// An in-memory writer does not fail; never commit it if it did.
		default:
			if b.Len() > 0 {
				job.inline[pos] = b.Bytes()
			}
			job.written[pos] = true
		}
	}
	return bad, nil
}

// healShards rebuilds, part by part, the shard files of job.online (the
// targets) into their TmpVolume/<job.tmpID> (moved in whole as the data
// dir by the commit), from the sources' shard files. It marks in
// job.written the targets whose every part is complete, records the
// others' failures in res, and returns the sources found corrupt or
// missing.
func (s *Set) healShards(ctx context.Context, job *putJob, coder *erasure.Coder, sources []bool, res *HealResult) ([]bool, error) {
	n := len(s.drives)
	fi := &job.version
	parts, err := dataParts(&storage.FileInfo{FileVersion: *fi})
	if err != nil {
		return nil, err
	}
	bad := make([]bool, n)
	werr := make([]error, n) // per target position: its first failure
	live := func() int {
		k := 0
		for pos := range n {
			if job.online[pos] && werr[pos] == nil {
				k++
			}
		}
		return k
	}
	chunk := coder.ShardSize()
	for _, p := range parts {
		if live() == 0 {
			break
		}
		file := "/part." + strconv.Itoa(p.Number)
		name := "/" + fi.DataDir + file // the sources' shard
		readers := make([]io.Reader, n) // shard order
		writers := make([]io.Writer, n)
		sws := make([]*shardWriter, n) // position order
		var prs []*prefetchReader
		closeAll := func(cause error) {
			for _, pr := range prs {
				pr.Close()
			}
			for _, sw := range sws {
				if sw != nil {
					sw.abort(cause)
				}
			}
		}
		for pos, drive := range s.drives {
			shard := job.dist[pos] - 1
			switch {
			case job.online[pos] && werr[pos] == nil:
				sw := s.newShardWriter(ctx, drive, storage.TmpVolume, job.tmpID+file, coder.ShardDiskSize(p.Size))
				sws[pos] = sw
				bw, err := erasure.NewBitrotWriter(sw, s.key, chunk)
				if err != nil {
					closeAll(err)
					return bad, err
				}
				writers[shard] = bw
			case sources[pos] && !bad[pos]:
				pr, err := s.newPrefetchReader(ctx, drive, job.bucket, job.object+name, chunk, 0, coder.ShardFileSize(p.Size))
				if err != nil {
					closeAll(err)
					return bad, err
				}
				prs = append(prs, pr)
				readers[shard] = pr
			}
		}
		werrs, rerrs, herr := coder.Heal(ctx, writers, readers, p.Size)
		for _, pr := range prs {
			pr.Close()
		}
		if ctx.Err() == nil {
			for pos := range n {
				if rerrs != nil && badSource(rerrs[job.dist[pos]-1]) {
					bad[pos] = true
				}
			}
		}
		if cerr := ctx.Err(); cerr != nil {
			// A cancelled heal says nothing about the drives.
			herr = cerr
		}
		if errors.Is(herr, erasure.ErrWriteQuorum) && ctx.Err() == nil {
			// Every target's writer failed: they are reported, the
			// heal itself did not fail.
			for pos, sw := range sws {
				if sw == nil {
					continue
				}
				e := herr
				if werrs != nil && werrs[job.dist[pos]-1] != nil {
					e = werrs[job.dist[pos]-1]
				}
				sw.abort(e)
				werr[pos] = fmt.Errorf("part %d: %w", p.Number, e)
			}
			break
		}
		if herr != nil {
			for _, sw := range sws {
				if sw != nil {
					sw.abort(herr)
				}
			}
			byPos := make([]error, n)
			for pos := range n {
				if rerrs != nil {
					byPos[pos] = rerrs[job.dist[pos]-1]
				}
			}
			return bad, fmt.Errorf("part %d: %w", p.Number, healError(herr, byPos))
		}
		// Every shard file is finished (synced) or abandoned, in parallel.
		done := make(chan struct{}, n)
		for pos, sw := range sws {
			if sw == nil {
				continue
			}
			var e error
			if werrs != nil {
				e = werrs[job.dist[pos]-1]
			}
			go func() {
				defer func() { done <- struct{}{} }()
				if e != nil {
					sw.abort(e)
				} else {
					e = sw.finish()
				}
				if e != nil {
					werr[pos] = fmt.Errorf("part %d: %w", p.Number, e)
				}
			}()
		}
		for _, sw := range sws {
			if sw != nil {
				<-done
			}
		}
	}
	for pos := range n {
		switch {
		case !job.online[pos]:
		case werr[pos] == nil:
			job.written[pos] = true
		case isOffline(s.drives[pos], werr[pos]):
			res.Skipped = append(res.Skipped, pos)
		default:
			res.failed(pos, werr[pos])
		}
	}
	return bad, nil
}

// commitHeal commits the rebuilt version on every target whose shards are
// complete (job.written), as a PUT commits (putJob.publish). What the
// target held of the version before (a damaged copy, an unreferenced data
// dir of the same name) goes first, since RenameData will not publish a
// data dir twice; once committed, the target's versions older than the
// current one go. A target that held no record of the object when it was
// read (absent) has no copy nor older versions to remove: those two steps,
// a record read each, are skipped for it. (A straggling write of an older
// version that lands on it meanwhile would stay as an older version, as a
// failed cleanup leaves one.) It returns each drive's commit error
// (errNotAsked for the others).
func (s *Set) commitHeal(ctx context.Context, job *putJob, absent []bool) []error {
	v := &job.version
	// Each commit is bounded by the drive timeout; a half-done one
	// (the damaged copy removed, the new one not yet there) is worse than
	// a finished one, so they no longer depend on ctx.
	_, errs := fanOut(context.WithoutCancel(ctx), s.drivesWhere(job.written), s.driveTimeout,
		func(ctx context.Context, pos int, d storage.Drive) (struct{}, error) {
			if !absent[pos] {
				if err := d.DeleteVersion(ctx, job.bucket, job.object, v.VersionID); err != nil && !isNotFound(err) {
					return struct{}{}, fmt.Errorf("remove the damaged copy: %w", err)
				}
			}
			if v.DataDir != "" {
				if err := d.Delete(ctx, job.bucket, storage.DataDirPath(job.object, v.DataDir), true); err != nil && !isNotFound(err) {
					return struct{}{}, fmt.Errorf("remove a stale data dir: %w", err)
				}
			}
			_, err := job.publish(ctx, pos, d)
			if errors.Is(err, storage.ErrVolumeNotFound) {
				// The drive lacks the bucket: it missed its creation
				// (replaced, or wiped). A quorum holds this object, so
				// the bucket exists and cannot be deleted meanwhile
				// (it is not empty): the drive gets it, as MakeBucket
				// would have given it.
				if verr := ensureVolume(ctx, d, job.bucket, s.driveTimeout); verr != nil && !errors.Is(verr, errVolumeExisted) {
					return struct{}{}, verr
				}
				_, err = job.publish(ctx, pos, d)
			}
			if err != nil || absent[pos] {
				return struct{}{}, err
			}
			// The versions it replaces, as a PUT's cleanup: failures leave
			// garbage, never a wrong answer.
			_ = removeOlder(ctx, d, job.bucket, job.object, v)
			return struct{}{}, nil
		}, nil, 0)
	return errs
}

// pruneLeftovers removes the versions older than v from the drives marked
// in leftovers, which hold v as their latest: garbage a write's cleanup
// left there (see HealResult.Leftovers).
func (s *Set) pruneLeftovers(ctx context.Context, bucket, object string, v *storage.FileVersion, leftovers []bool, res *HealResult) {
	_, errs := fanOut(context.WithoutCancel(ctx), s.drivesWhere(leftovers), s.driveTimeout,
		func(ctx context.Context, _ int, d storage.Drive) (struct{}, error) {
			return struct{}{}, removeOlder(ctx, d, bucket, object, v)
		}, nil, 0)
	for pos, err := range errs {
		switch {
		case !leftovers[pos]:
		case err == nil:
			res.Pruned = append(res.Pruned, pos)
		case isOffline(s.drives[pos], err):
			res.Skipped = append(res.Skipped, pos)
		default:
			res.failed(pos, fmt.Errorf("remove older versions: %w", err))
		}
	}
}

// removeOlder removes from d every version of the object older than v
// (storage.Newer), with its data dir, as a write's cleanup does.
func removeOlder(ctx context.Context, d storage.Drive, bucket, object string, v *storage.FileVersion) error {
	raw, err := d.ReadMetadata(ctx, bucket, object)
	if err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	meta, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	for i := range meta.Versions {
		old := &meta.Versions[i]
		if !storage.Newer(v, old) {
			continue
		}
		if err := d.DeleteVersion(ctx, bucket, object, old.VersionID); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove version %s: %w", old.VersionID, err)
		}
	}
	return nil
}
