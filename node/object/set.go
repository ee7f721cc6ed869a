package object

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// Defaults of Config.
const (
	DefaultPrefetchDepth = 2
	DefaultDriveTimeout  = 10 * time.Second
	DefaultShardTimeout  = 30 * time.Second
	DefaultProbeTimeout  = 2 * time.Second
	DefaultStragglerWait = 25 * time.Millisecond
	DefaultLockTimeout   = 30 * time.Second
)

// Config describes one erasure set.
type Config struct {
	// Drives are the set's drives in set position order (4 to 16). A nil
	// entry is a drive that could not be opened: it counts as offline.
	Drives []storage.Drive
	// Parity is the set's default parity; 0 means layout.DefaultParity.
	Parity int
	// BitrotKey is the deployment's 32-byte HighwayHash key.
	BitrotKey []byte
	// BlockSize is the erasure block size of new objects; 0 means
	// erasure.DefaultBlockSize. Objects keep the block size they were
	// written with.
	BlockSize int
	// Locker orders writers; nil means a NewLocalLocker of the set's own,
	// which serialises the writers of this process only.
	Locker Locker
	// Heal receives what reads and writes found out of date on some
	// drives; nil drops it. It must not block.
	Heal HealQueue
	// Missed remembers, durably, the writes and deletes that succeeded
	// without some drives, so that they are healed once those drives are
	// back even if nothing reads them (missed.go); nil remembers nothing.
	Missed MissedWrites
	// PrefetchDepth is how many blocks ahead of the one being sent a GET
	// reads each shard; 0 means DefaultPrefetchDepth, a negative value
	// reads a block only when it is needed (and so only overlaps the next
	// block's read with writing this one, as erasure.Decode does).
	PrefetchDepth int
	// DriveTimeout bounds every metadata call on one drive (reading,
	// committing, deleting a version, bucket calls): a drive that does not
	// answer in time counts as failed for that request.
	DriveTimeout time.Duration
	// ShardTimeout bounds how long a shard read or write may go without
	// progress (one block) before it is given up for that request, and a
	// read switches to parity.
	ShardTimeout time.Duration
	// ProbeTimeout bounds the DiskInfo call that tells a PUT which drives
	// are offline.
	ProbeTimeout time.Duration
	// StragglerWait is how long a metadata read still waits for the
	// drives that have not answered once the others have decided the
	// outcome: their answers add shards (inline objects) and heal
	// information but cannot change the outcome.
	StragglerWait time.Duration
	// LateShard is how long a GET waits for a block's shards before it
	// also reads parity and decodes from whichever arrive first (see
	// erasure.DecodeOptions.Late); 0 means learned from recent reads
	// (lateTracker: 50–500 ms), a negative value never.
	LateShard time.Duration
	// LateDriveHalfLife is how fast a GET forgets that a drive was late
	// (driveLateness): a drive late twice in close succession has its
	// shards read only as a last resort until its score has decayed,
	// which takes about two half-lives at most. 0 means
	// DefaultLateDriveHalfLife, a negative value never avoids a drive.
	LateDriveHalfLife time.Duration
	// LockTimeout bounds the wait for a namespace lock.
	LockTimeout time.Duration
	// CommitSettle is how long after its ModTime a new version may still
	// be landing on drives: its writer commits it within DriveTimeout of
	// taking the ModTime, and may do so under a lock that was taken from
	// it meanwhile (nslock: a busy holder wrongly declared dead). A heal
	// leaves a version this young alone, however few drives hold it yet,
	// rather than remove what may become an acknowledged write. 0 means
	// twice DriveTimeout (the other half covers clocks that disagree);
	// a negative value judges every version at once (tests).
	CommitSettle time.Duration
	// MinPartSize is the smallest size of every part of a multipart
	// upload but the last; 0 means MinPartSize (S3's 5 MiB), a negative
	// value none. Tests lower it.
	MinPartSize int64
}

// Set is the object layer of one erasure set: it stores objects on the
// set's drives with S3 semantics. It is safe for concurrent use.
type Set struct {
	drives      []storage.Drive
	parity      int
	readQuorum  int // default parity's: what a "not found" or bucket answer needs
	writeQuorum int
	key         []byte
	blockSize   int
	locker      Locker
	heal        HealQueue
	missed      MissedWrites
	prefetch    int

	driveTimeout, shardTimeout, probeTimeout, stragglerWait, lockTimeout time.Duration
	commitSettle                                                         time.Duration
	minPartSize                                                          int64

	late      lateTracker    // when a GET's shard read is late
	lateness  *driveLateness // which drives keep being late
	readTurn  atomic.Uint32  // where the next metadata read starts (askLater)
	writeTurn atomic.Uint32  // where the next write's version read starts

	coders sync.Map // coderKey -> *erasure.Coder
}

type coderKey struct {
	data, parity int
	blockSize    int64
}

// NewSet validates cfg and returns the set.
func NewSet(cfg Config) (*Set, error) {
	n := len(cfg.Drives)
	if cfg.Parity == 0 {
		cfg.Parity = layout.DefaultParity(n)
	}
	if err := layout.ValidateParity(n, cfg.Parity); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if len(cfg.BitrotKey) != erasure.BitrotKeySize {
		return nil, fmt.Errorf("%w: bitrot key of %d bytes, want %d", ErrInvalidArgument, len(cfg.BitrotKey), erasure.BitrotKeySize)
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = erasure.DefaultBlockSize
	}
	if cfg.BlockSize < 0 || cfg.BlockSize > erasure.MaxBlockSize {
		return nil, fmt.Errorf("%w: block size %d outside 1..%d", ErrInvalidArgument, cfg.BlockSize, erasure.MaxBlockSize)
	}
	s := &Set{
		drives:        append([]storage.Drive(nil), cfg.Drives...),
		parity:        cfg.Parity,
		readQuorum:    layout.ReadQuorum(n, cfg.Parity),
		writeQuorum:   layout.WriteQuorum(n, cfg.Parity),
		key:           append([]byte(nil), cfg.BitrotKey...),
		blockSize:     cfg.BlockSize,
		locker:        cfg.Locker,
		heal:          cfg.Heal,
		missed:        cfg.Missed,
		prefetch:      orDefault(cfg.PrefetchDepth, DefaultPrefetchDepth),
		driveTimeout:  orDefault(cfg.DriveTimeout, DefaultDriveTimeout),
		shardTimeout:  orDefault(cfg.ShardTimeout, DefaultShardTimeout),
		probeTimeout:  orDefault(cfg.ProbeTimeout, DefaultProbeTimeout),
		stragglerWait: orDefault(cfg.StragglerWait, DefaultStragglerWait),
		lockTimeout:   orDefault(cfg.LockTimeout, DefaultLockTimeout),
		minPartSize:   orDefault(cfg.MinPartSize, MinPartSize),
	}
	if s.prefetch < 0 {
		s.prefetch = 0
	}
	s.commitSettle = orDefault(cfg.CommitSettle, 2*s.driveTimeout)
	s.late.fixed = cfg.LateShard
	s.lateness = newDriveLateness(n, orDefault(cfg.LateDriveHalfLife, DefaultLateDriveHalfLife))
	if s.locker == nil {
		s.locker = NewLocalLocker()
	}
	if _, err := s.coder(n-s.parity, s.parity, int64(s.blockSize)); err != nil {
		return nil, err
	}
	return s, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Drives returns the number of drives of the set.
func (s *Set) Drives() int { return len(s.drives) }

// Parity returns the set's default parity.
func (s *Set) Parity() int { return s.parity }

// coder returns the shared coder of a layout; coders pool their block
// buffers, so one per layout rather than one per request.
func (s *Set) coder(data, parity int, blockSize int64) (*erasure.Coder, error) {
	k := coderKey{data, parity, blockSize}
	if c, ok := s.coders.Load(k); ok {
		return c.(*erasure.Coder), nil
	}
	c, err := erasure.NewCoder(erasure.Config{DataShards: data, ParityShards: parity, BlockSize: int(blockSize)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	actual, _ := s.coders.LoadOrStore(k, c)
	return actual.(*erasure.Coder), nil
}

// lockKey names the namespace lock of an object.
func lockKey(bucket, object string) string { return bucket + "/" + object }

// lock takes the write (or read) lock of an object, waiting at most
// LockTimeout.
func (s *Set) lock(ctx context.Context, write bool, bucket, object string) (Lock, error) {
	return s.lockNamed(ctx, write, lockKey(bucket, object))
}

// lockNamed takes a namespace lock by name, waiting at most LockTimeout.
// Running out of that time (while ctx itself is still live) is
// ErrLockTimeout, so that a front end can tell contention or lost lock
// servers, worth a retry, from a cancelled request.
func (s *Set) lockNamed(ctx context.Context, write bool, name string) (Lock, error) {
	lctx, cancel := context.WithTimeout(ctx, s.lockTimeout)
	defer cancel()
	var l Lock
	var err error
	began := time.Now()
	if write {
		l, err = s.locker.Lock(lctx, name)
		traceStepOf(ctx, "write lock", began)
	} else {
		l, err = s.locker.RLock(lctx, name)
		traceStepOf(ctx, "read lock", began)
	}
	switch {
	case err == nil:
		return l, nil
	case ctx.Err() == nil && lctx.Err() != nil:
		return nil, fmt.Errorf("lock %s: %w after %v: %w", name, ErrLockTimeout, s.lockTimeout, err)
	default:
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
}

// lost reports whether a held lock has been lost.
func lost(l Lock) bool {
	select {
	case <-l.Lost():
		return true
	default:
		return false
	}
}

// checkNames validates a bucket and object name.
func checkNames(bucket, object string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if err := storage.CheckObjectKey(object); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidObjectName, err)
	}
	return nil
}

func checkBucket(bucket string) error {
	if err := storage.CheckVolume(bucket); err != nil || storage.IsSystemVolume(bucket) {
		return fmt.Errorf("%w: %q", ErrInvalidBucketName, clip(bucket))
	}
	return nil
}

// countNil returns the number of nil errors.
func countNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}
