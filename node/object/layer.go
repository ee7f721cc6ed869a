package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/listing"
	"github.com/gridstore/gridstore/storage"
)

// DefaultHealthMaxAge is how long Layer.Health reuses a probe of the drives.
const DefaultHealthMaxAge = time.Second

// LayerConfig describes a deployment's object layer: its layout and, per
// erasure set, the drives a node reaches them by.
type LayerConfig struct {
	// Layout is the deployment's erasure set layout (layout.New over the
	// endpoint list); every node builds the same one.
	Layout *layout.Layout
	// DeploymentID keys the object-to-set hash (layout.SetIndex). It must
	// be the deployment's, as its format records hold it: another key
	// sends every object to another set.
	DeploymentID layout.DeploymentID
	// Sets holds, per set of Layout, its drives in set position order
	// (Layout.SetSize each): the node's own local drives and remote clients
	// of the others'. A nil entry is a drive that could not be opened; it
	// counts as offline.
	Sets [][]storage.Drive
	// Set is the configuration every set shares; its Drives are ignored
	// (they come from Sets). Parity 0 means Layout.Parity. A nil Locker
	// means one LocalLocker shared by all sets; a cluster passes its
	// distributed locker (AdaptLocker over an *nslock.Locker).
	Set Config
	// ListStallTimeout bounds the wait of a listing for one drive's next
	// entry (listing.Config.StallTimeout); 0 means the listing's default.
	ListStallTimeout time.Duration
	// OnListDriveError, if set, hears about the drives a listing dropped
	// and the records it could not decode (listing.Config.OnDriveError).
	// It must not block.
	OnListDriveError func(set, pos int, err error)
	// HealthMaxAge is how long Health reuses its last probe of the drives;
	// 0 means DefaultHealthMaxAge.
	HealthMaxAge time.Duration
}

// Layer is the object layer of a whole deployment: every erasure set of its
// layout, each a Set, behind one API with the same methods and semantics as
// a Set's. It is safe for concurrent use.
//
// # Placement
//
// Every object call goes to the object's set, SipHash-2-4 of "bucket/object"
// keyed by the deployment ID (layout.SetIndex, SetIndex here), and only
// there: an object lives in exactly one set, and every node, given the same
// layout and deployment ID, sends it to the same one.
//
// # Buckets
//
// A bucket is a volume on every drive of every set. Bucket changes run on
// all sets at once, under a write lock of the bucket's own (a resource no
// object lock uses) so that a MakeBucket and a DeleteBucket of one bucket
// never interleave across sets:
//
//   - MakeBucket succeeds when every set took it. If any set fails
//     (ErrWriteQuorum, ...), the sets that created it drop it again and the
//     error is returned. A bucket that some set already had is
//     ErrBucketExists, and the sets that lacked it have it now: a MakeBucket
//     repairs a half-created bucket.
//   - HeadBucket needs every set to answer with its read quorum: found when
//     every set has it, ErrBucketNotFound when no set has it, ErrReadQuorum
//     when some sets have it and others not (being created or deleted, or
//     left half done: a MakeBucket completes it), as a set answers a bucket
//     on some drives only.
//   - DeleteBucket refuses with ErrBucketNotEmpty, touching nothing, when a
//     listing finds any object in the bucket; then every set deletes it,
//     each refusing if any of its drives still holds anything, and if any
//     set refused or failed, the sets that had deleted it get it back.
//     ErrBucketNotFound when no set had it.
//   - ListBuckets needs every set's listing (each with its read quorum) and
//     lists a bucket that any set has, with the earliest creation time: a
//     bucket half created or half deleted shows, so that it can be
//     completed either way, and one holding data never hides.
//
// # Listing
//
// ListObjects (S3 v1 and v2) walks every set's drives through package
// node/object/listing, which resolves each set's objects by that set's
// quorum and merges the sets' sorted streams: what a listing shows is what
// a GET of the name would return, in any set. A missing bucket is
// ErrBucketNotFound, never an empty listing (an empty page, or a walk that
// finds the bucket missing, is checked with HeadBucket, so a half-made
// bucket is ErrReadQuorum as there); a set without a read quorum of drives
// is ErrReadQuorum, never a short page. Objects found stale on some drives
// are queued for healing.
//
// # Multi-object calls
//
// DeleteObjects groups the keys by set, deletes each set's share as
// Set.DeleteObjects does (every key its own quorum delete) with the sets in
// parallel, and returns one result per key in request order.
//
// CopyObject within a set is Set.CopyObject. Across sets it reads the source
// from its set and writes the copy as a PUT into the other, with the same
// rules (metadata COPY or REPLACE, a new version, all or nothing). A copy
// never holds two namespace locks at once, which is what makes it
// deadlock-free whatever the order: the source's read lock is released
// before its first byte is handed over (see Set.GetObject), so before the PUT
// has read its data and takes the destination's write lock to commit. Two crossed copies (a to b and b to a, on different
// nodes, through the cluster's shared Locker) each wait for at most one lock,
// whose holder never waits for anything the other holds.
//
// # Health
//
// Health reports per set how many drives are online, by a DiskInfo probe
// of every drive under the sets' ProbeTimeout (a remote drive whose node
// the grid has lost answers at once, offline), reused for HealthMaxAge so
// that health checks cost at most one probe round per period. A set has its
// write quorum available when a PUT would be accepted with the offline
// drives left out (layout.AdjustParity), and its read quorum when at least
// its data shard count of drives is online. WriteQuorumAvailable (all sets)
// is what /health/cluster reports.
type Layer struct {
	layout *layout.Layout
	id     layout.DeploymentID
	sets   []*Set
	lister *listing.Lister
	locker Locker
	heal   HealQueue

	lockTimeout  time.Duration
	healthMaxAge time.Duration

	healthMu       sync.Mutex
	healthAt       time.Time
	health         []SetHealth
	healthInflight chan struct{} // closed when the probe in progress ends
}

// NewLayer validates cfg and builds the sets and the lister.
func NewLayer(cfg LayerConfig) (*Layer, error) {
	lo := cfg.Layout
	if lo == nil || len(lo.Sets) == 0 {
		return nil, fmt.Errorf("%w: no layout", ErrInvalidArgument)
	}
	if len(cfg.Sets) != len(lo.Sets) {
		return nil, fmt.Errorf("%w: %d sets of drives for a layout of %d sets", ErrInvalidArgument, len(cfg.Sets), len(lo.Sets))
	}
	tmpl := cfg.Set
	if tmpl.Parity == 0 {
		tmpl.Parity = lo.Parity
	}
	if tmpl.Locker == nil {
		tmpl.Locker = NewLocalLocker()
	}
	l := &Layer{
		layout:       lo,
		id:           cfg.DeploymentID,
		locker:       tmpl.Locker,
		heal:         tmpl.Heal,
		lockTimeout:  orDefault(tmpl.LockTimeout, DefaultLockTimeout),
		healthMaxAge: orDefault(cfg.HealthMaxAge, DefaultHealthMaxAge),
	}
	lcfg := listing.Config{StallTimeout: cfg.ListStallTimeout, OnDriveError: cfg.OnListDriveError}
	for i, drives := range cfg.Sets {
		if len(drives) != lo.SetSize {
			return nil, fmt.Errorf("%w: set %d has %d drives, the layout %d", ErrInvalidArgument, i, len(drives), lo.SetSize)
		}
		sc := tmpl
		sc.Drives = drives
		s, err := NewSet(sc)
		if err != nil {
			return nil, fmt.Errorf("set %d: %w", i, err)
		}
		l.sets = append(l.sets, s)
		lcfg.Sets = append(lcfg.Sets, listing.Set{Drives: s.drives, ReadQuorum: s.readQuorum})
	}
	if l.heal != nil {
		lcfg.OnStale = func(st listing.StaleObject) {
			l.heal.QueueHeal(HealRequest{Bucket: st.Bucket, Object: st.Object, VersionID: st.VersionID,
				Missing: st.Missing, Corrupt: st.Corrupt})
		}
	}
	lister, err := listing.New(lcfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	l.lister = lister
	return l, nil
}

// Layout returns the layout the layer was built with.
func (l *Layer) Layout() *layout.Layout { return l.layout }

// Sets returns the layer's sets, in layout order.
func (l *Layer) Sets() []*Set { return slices.Clone(l.sets) }

// SetIndex returns the index of the set that holds bucket/object.
func (l *Layer) SetIndex(bucket, object string) int {
	return l.layout.ObjectSet(l.id, bucket, object)
}

// SetFor returns the set that holds bucket/object: the one every call
// about that object must go to (multipart uploads too).
func (l *Layer) SetFor(bucket, object string) *Set { return l.sets[l.SetIndex(bucket, object)] }

// PutObject stores an object in its set; see Set.PutObject.
func (l *Layer) PutObject(ctx context.Context, bucket, object string, data io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	return l.SetFor(bucket, object).PutObject(ctx, bucket, object, data, size, opts)
}

// GetObject reads an object from its set; see Set.GetObject.
func (l *Layer) GetObject(ctx context.Context, bucket, object string, opts GetOptions) (*ObjectReader, error) {
	return l.SetFor(bucket, object).GetObject(ctx, bucket, object, opts)
}

// GetObjectInfo describes an object; see Set.GetObjectInfo.
func (l *Layer) GetObjectInfo(ctx context.Context, bucket, object string) (ObjectInfo, error) {
	return l.SetFor(bucket, object).GetObjectInfo(ctx, bucket, object)
}

// DeleteObject deletes an object from its set; see Set.DeleteObject.
func (l *Layer) DeleteObject(ctx context.Context, bucket, object string) error {
	return l.SetFor(bucket, object).DeleteObject(ctx, bucket, object)
}

// DeleteObjects deletes many objects of a bucket, each in its set, the sets
// in parallel, and returns one result per name in the order given.
func (l *Layer) DeleteObjects(ctx context.Context, bucket string, objects []string) []DeleteResult {
	results := make([]DeleteResult, len(objects))
	if len(objects) == 0 {
		return results
	}
	bySet := make([][]int, len(l.sets)) // set -> indexes into objects
	for i, name := range objects {
		si := l.SetIndex(bucket, name)
		bySet[si] = append(bySet[si], i)
	}
	var wg sync.WaitGroup
	for si, idx := range bySet {
		if len(idx) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			names := make([]string, len(idx))
			for k, i := range idx {
				names[k] = objects[i]
			}
			for k, r := range l.sets[si].DeleteObjects(ctx, bucket, names) {
				results[idx[k]] = r
			}
		}()
	}
	wg.Wait()
	return results
}

// CopyObject copies the current version of src into dst and returns the
// new version, with Set.CopyObject's semantics. Source and destination may
// be in different sets (see the Layer documentation for why that cannot
// deadlock).
func (l *Layer) CopyObject(ctx context.Context, srcBucket, srcObject, dstBucket, dstObject string, opts CopyOptions) (ObjectInfo, error) {
	src, dst := l.SetFor(srcBucket, srcObject), l.SetFor(dstBucket, dstObject)
	if src == dst {
		return src.CopyObject(ctx, srcBucket, srcObject, dstBucket, dstObject, opts)
	}
	// Different sets: different names, so never a copy onto itself.
	if err := checkNames(dstBucket, dstObject); err != nil {
		return ObjectInfo{}, fmt.Errorf("copy to %s/%s: %w", dstBucket, clip(dstObject), err)
	}
	if opts.ReplaceMetadata {
		if err := opts.Metadata.validate(); err != nil {
			return ObjectInfo{}, fmt.Errorf("copy to %s/%s: %w", dstBucket, clip(dstObject), err)
		}
	}
	r, err := src.GetObject(ctx, srcBucket, srcObject, GetOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("copy: %w", err)
	}
	defer r.Close()
	info := r.Info()
	meta := info.Metadata
	if opts.ReplaceMetadata {
		meta = opts.Metadata
	}
	var data io.Reader
	if info.Size <= InlineLimit {
		// Small: read whole, and release the source, before the PUT.
		var buf bytes.Buffer
		if _, err := r.WriteTo(&buf); err != nil {
			return ObjectInfo{}, fmt.Errorf("copy: %w", err)
		}
		r.Close()
		data = &buf
	} else {
		data = &releasingReader{r: r, left: info.Size}
	}
	out, err := dst.PutObject(ctx, dstBucket, dstObject, data, info.Size, PutOptions{Metadata: meta, Parity: opts.Parity, Precondition: opts.Precondition})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("copy from %s/%s: %w", srcBucket, clip(srcObject), err)
	}
	return out, nil
}

// releasingReader reads an ObjectReader and closes it (ending its shard
// reads, releasing the source's read lock if it still held it) as soon as
// its last byte has been taken, so that the PUT it feeds never commits
// while the source is still being read.
type releasingReader struct {
	r    *ObjectReader
	left int64
}

func (rr *releasingReader) Read(p []byte) (int, error) {
	if rr.left <= 0 {
		rr.r.Close()
		return 0, io.EOF
	}
	if int64(len(p)) > rr.left {
		p = p[:rr.left]
	}
	n, err := rr.r.Read(p)
	rr.left -= int64(n)
	if rr.left <= 0 {
		rr.r.Close()
		if err == nil || errors.Is(err, io.EOF) {
			return n, io.EOF
		}
	}
	return n, err
}

// bucketLock names the lock that orders the bucket changes of a Layer. A
// name starting with "." is no valid bucket, so no object lock ("bucket/
// object") or set bucket lock ("bucket/") is ever this one.
func bucketLock(bucket string) string { return ".bucket/" + bucket }

func (l *Layer) lockBucket(ctx context.Context, bucket string) (Lock, error) {
	lctx, cancel := context.WithTimeout(ctx, l.lockTimeout)
	defer cancel()
	lk, err := l.locker.Lock(lctx, bucketLock(bucket))
	if err != nil {
		return nil, fmt.Errorf("lock bucket %s: %w", bucket, err)
	}
	return lk, nil
}

// eachSet calls fn on every set at once and returns the errors by set.
func (l *Layer) eachSet(fn func(i int, s *Set) error) []error {
	errs := make([]error, len(l.sets))
	var wg sync.WaitGroup
	for i, s := range l.sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, s)
		}()
	}
	wg.Wait()
	return errs
}

// MakeBucket creates a bucket on every set; see the Layer documentation.
func (l *Layer) MakeBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return fmt.Errorf("make bucket: %w", err)
	}
	lk, err := l.lockBucket(ctx, bucket)
	if err != nil {
		return fmt.Errorf("make bucket %s: %w", bucket, err)
	}
	defer lk.Unlock()
	wctx := context.WithoutCancel(ctx)
	errs := l.eachSet(func(_ int, s *Set) error { return s.MakeBucket(wctx, bucket) })
	var failed error
	existed := false
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, ErrBucketExists):
			existed = true
		case failed == nil:
			failed = err
		}
	}
	if failed == nil {
		if existed {
			return fmt.Errorf("make bucket %s: %w", bucket, ErrBucketExists)
		}
		return nil
	}
	// Undo where this call created it; a set that had it keeps it.
	undo := l.eachSet(func(i int, s *Set) error {
		if errs[i] != nil {
			return nil
		}
		return s.DeleteBucket(wctx, bucket)
	})
	if err := errors.Join(undo...); err != nil {
		return fmt.Errorf("make bucket %s: %w (undo: %v)", bucket, failed, err)
	}
	return fmt.Errorf("make bucket %s: %w", bucket, failed)
}

// HeadBucket describes a bucket every set has; see the Layer documentation.
func (l *Layer) HeadBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return BucketInfo{}, fmt.Errorf("head bucket: %w", err)
	}
	infos := make([]BucketInfo, len(l.sets))
	errs := l.eachSet(func(i int, s *Set) (err error) {
		infos[i], err = s.HeadBucket(ctx, bucket)
		return err
	})
	info := BucketInfo{Name: bucket}
	have, lack := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			have++
			info.Created = earliest(info.Created, infos[i].Created)
		case errors.Is(err, ErrBucketNotFound):
			lack++
		default:
			return BucketInfo{}, fmt.Errorf("set %d: %w", i, err)
		}
	}
	switch {
	case lack == 0:
		return info, nil
	case have == 0:
		return BucketInfo{}, fmt.Errorf("head bucket %s: %w", bucket, ErrBucketNotFound)
	}
	return BucketInfo{}, fmt.Errorf("head bucket %s: on %d of %d sets only (being created or deleted, or half done): %w",
		bucket, have, len(l.sets), ErrReadQuorum)
}

// ListBuckets lists the buckets of every set, merged; see the Layer
// documentation.
func (l *Layer) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	lists := make([][]BucketInfo, len(l.sets))
	errs := l.eachSet(func(i int, s *Set) (err error) {
		lists[i], err = s.ListBuckets(ctx)
		return err
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("set %d: %w", i, err)
		}
	}
	merged := map[string]time.Time{}
	for _, list := range lists {
		for _, b := range list {
			created, seen := merged[b.Name]
			if !seen {
				merged[b.Name] = b.Created
				continue
			}
			merged[b.Name] = earliest(created, b.Created)
		}
	}
	out := make([]BucketInfo, 0, len(merged))
	for name, created := range merged {
		out = append(out, BucketInfo{Name: name, Created: created})
	}
	slices.SortFunc(out, func(a, b BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteBucket deletes an empty bucket from every set; see the Layer
// documentation.
func (l *Layer) DeleteBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return fmt.Errorf("delete bucket: %w", err)
	}
	lk, err := l.lockBucket(ctx, bucket)
	if err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	defer lk.Unlock()
	// The common refusal first, before any set is touched. Errors here are
	// left to the sets' own answers below.
	if name, ok := l.firstObject(ctx, bucket); ok {
		return fmt.Errorf("delete bucket %s: %w (it holds %s)", bucket, ErrBucketNotEmpty, clip(name))
	}
	wctx := context.WithoutCancel(ctx)
	errs := l.eachSet(func(_ int, s *Set) error { return s.DeleteBucket(wctx, bucket) })
	deleted, absent := 0, 0
	var failed error
	for _, err := range errs {
		switch {
		case err == nil:
			deleted++
		case errors.Is(err, ErrBucketNotFound):
			absent++
		case errors.Is(err, ErrBucketNotEmpty):
			failed = err // the answer that matters most
		case failed == nil:
			failed = err
		}
	}
	switch {
	case failed == nil && deleted == 0:
		return fmt.Errorf("delete bucket %s: %w", bucket, ErrBucketNotFound)
	case failed == nil:
		return nil
	}
	undo := l.eachSet(func(i int, s *Set) error {
		if errs[i] != nil {
			return nil
		}
		if err := s.MakeBucket(wctx, bucket); err != nil && !errors.Is(err, ErrBucketExists) {
			return err
		}
		return nil
	})
	if err := errors.Join(undo...); err != nil {
		return fmt.Errorf("delete bucket %s: %w (undo: %v)", bucket, failed, err)
	}
	return fmt.Errorf("delete bucket %s: %w", bucket, failed)
}

// firstObject returns the name of some listable object of the bucket, if
// a listing finds one.
func (l *Layer) firstObject(ctx context.Context, bucket string) (string, bool) {
	next, stop := iter.Pull2(l.lister.Walk(ctx, listing.WalkOptions{Bucket: bucket, Recursive: true}))
	defer stop()
	e, err, ok := next()
	return e.Name, ok && err == nil
}

// ListOptions is a ListObjects (v1) or ListObjectsV2 request. Keys are
// raw: URL encoding them is the S3 layer's job.
type ListOptions struct {
	// Prefix selects the keys that start with it (any string, not only up
	// to a "/").
	Prefix string
	// Delimiter rolls the keys that contain it after the prefix up into
	// common prefixes; "" lists recursively.
	Delimiter string
	// Marker is v1's marker or v2's start-after: the listing starts after
	// it. Ignored when ContinuationToken is set.
	Marker string
	// ContinuationToken is a NextContinuationToken of an earlier page (v2).
	ContinuationToken string
	// MaxKeys bounds the keys and common prefixes of the page together:
	// 0 means 1000, more than 1000 means 1000. S3's max-keys=0 (an empty
	// page) is the S3 layer's to answer without listing.
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
	// (v1); as Marker it continues the listing.
	NextMarker string
	// NextContinuationToken continues the listing when IsTruncated (v2).
	NextContinuationToken string
}

// ListObjects returns one page of a bucket's objects over all sets with
// S3's ListObjects (v1) and ListObjectsV2 semantics; see the Layer
// documentation and package node/object/listing.
func (l *Layer) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	fail := func(err error) (ListResult, error) {
		return ListResult{}, fmt.Errorf("list %s: %w", bucket, err)
	}
	if opts.MaxKeys < 0 {
		return fail(fmt.Errorf("%w: max keys %d", ErrInvalidArgument, opts.MaxKeys))
	}
	if err := checkBucket(bucket); err != nil {
		return fail(err)
	}
	page, err := l.lister.List(ctx, listing.ListOptions{
		Bucket: bucket, Prefix: opts.Prefix, Delimiter: opts.Delimiter, Marker: opts.Marker,
		ContinuationToken: opts.ContinuationToken, MaxKeys: opts.MaxKeys,
	})
	if errors.Is(err, storage.ErrVolumeNotFound) {
		// Missing on some set: HeadBucket tells a missing bucket from a
		// half-made one, as it answers them.
		if _, herr := l.HeadBucket(ctx, bucket); herr != nil {
			return fail(herr)
		}
	}
	if err != nil {
		return fail(listError(err))
	}
	if len(page.Objects)+len(page.CommonPrefixes) == 0 {
		// An empty page may come from a bucket that is not there (the walk
		// of a prefix no name can have reads nothing): ask.
		if _, err := l.HeadBucket(ctx, bucket); err != nil {
			return fail(err)
		}
	}
	out := ListResult{
		CommonPrefixes:        page.CommonPrefixes,
		IsTruncated:           page.IsTruncated,
		NextMarker:            page.NextMarker,
		NextContinuationToken: page.NextContinuationToken,
	}
	if len(page.Objects) > 0 {
		out.Objects = make([]ObjectInfo, len(page.Objects))
	}
	for i, o := range page.Objects {
		v := storage.FileVersion{ContentType: o.ContentType, UserMetadata: o.UserMetadata}
		out.Objects[i] = ObjectInfo{
			Bucket: o.Bucket, Name: o.Name, VersionID: o.VersionID, Size: o.Size, ETag: o.ETag,
			ModTime: o.ModTime, Metadata: loadMetadata(&v),
			DataShards: o.DataShards, ParityShards: o.ParityShards, Inline: o.Inline,
		}
	}
	return out, nil
}

// listError maps the listing's errors to this package's sentinels, keeping
// the original in the chain.
func listError(err error) error {
	switch {
	case errors.Is(err, listing.ErrListQuorum):
		return fmt.Errorf("%w: %w", ErrReadQuorum, err)
	case errors.Is(err, listing.ErrInvalidContinuationToken), errors.Is(err, listing.ErrInvalidArgument):
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	case errors.Is(err, storage.ErrVolumeNotFound):
		return fmt.Errorf("%w: %w", ErrBucketNotFound, err)
	}
	return err
}

// SetHealth is the state of one erasure set's drives, as last probed.
type SetHealth struct {
	// Set is the set's index in the layout.
	Set int
	// Drives is the set's size; Online how many answered the probe online.
	Drives, Online int
	// Offline lists the positions of the drives that did not.
	Offline []int
	// ReadQuorum and WriteQuorum are the set's at its default parity, with
	// every drive online.
	ReadQuorum, WriteQuorum int
	// ReadQuorumAvailable: at least ReadQuorum drives are online, so
	// objects written at the default parity can be read.
	ReadQuorumAvailable bool
	// WriteQuorumAvailable: a PUT would be accepted now, at the parity it
	// is raised to with the offline drives left out (layout.AdjustParity).
	WriteQuorumAvailable bool
}

// Health probes every drive (at most once per HealthMaxAge; callers in
// between share the last probe) and returns the state of every set, in
// layout order. A probe takes at most the sets' ProbeTimeout.
func (l *Layer) Health(ctx context.Context) []SetHealth {
	for {
		l.healthMu.Lock()
		if l.health != nil && time.Since(l.healthAt) < l.healthMaxAge {
			h := cloneHealth(l.health)
			l.healthMu.Unlock()
			return h
		}
		if ch := l.healthInflight; ch != nil {
			l.healthMu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return l.lastHealth()
			}
		}
		ch := make(chan struct{})
		l.healthInflight = ch
		l.healthMu.Unlock()

		// The probe serves every waiter: it must not end with this caller.
		h := l.probeHealth(context.WithoutCancel(ctx))
		l.healthMu.Lock()
		l.health, l.healthAt, l.healthInflight = h, time.Now(), nil
		close(ch)
		l.healthMu.Unlock()
		return cloneHealth(h)
	}
}

// lastHealth returns the last probe's answer, or every set unknown (no
// drive online) if there was none.
func (l *Layer) lastHealth() []SetHealth {
	l.healthMu.Lock()
	defer l.healthMu.Unlock()
	if l.health != nil {
		return cloneHealth(l.health)
	}
	out := make([]SetHealth, len(l.sets))
	for i, s := range l.sets {
		out[i] = s.health(i, make([]bool, len(s.drives)))
	}
	return out
}

func cloneHealth(h []SetHealth) []SetHealth {
	out := slices.Clone(h)
	for i := range out {
		out[i].Offline = slices.Clone(out[i].Offline)
	}
	return out
}

// probeHealth probes every set's drives at once.
func (l *Layer) probeHealth(ctx context.Context) []SetHealth {
	out := make([]SetHealth, len(l.sets))
	var wg sync.WaitGroup
	for i, s := range l.sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.health(i, s.probeDrives(ctx, false))
		}()
	}
	wg.Wait()
	return out
}

// health summarises which drives of the set are online.
func (s *Set) health(index int, online []bool) SetHealth {
	n := len(s.drives)
	h := SetHealth{Set: index, Drives: n, ReadQuorum: s.readQuorum, WriteQuorum: s.writeQuorum}
	for pos, on := range online {
		if on {
			h.Online++
		} else {
			h.Offline = append(h.Offline, pos)
		}
	}
	_, h.WriteQuorumAvailable = layout.AdjustParity(n, s.parity, n-h.Online)
	h.ReadQuorumAvailable = h.Online >= s.readQuorum
	return h
}

// WriteQuorumAvailable reports whether every set would accept a write now
// (see Health): what /health/cluster answers.
func (l *Layer) WriteQuorumAvailable(ctx context.Context) bool {
	for _, h := range l.Health(ctx) {
		if !h.WriteQuorumAvailable {
			return false
		}
	}
	return true
}

// HealObject heals an object in its set (Set.HealObject).
func (l *Layer) HealObject(ctx context.Context, bucket, object string, opts HealOptions) (HealResult, error) {
	return l.SetFor(bucket, object).HealObject(ctx, bucket, object, opts)
}
