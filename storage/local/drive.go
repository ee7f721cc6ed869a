package local

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/doublebuf"
)

// Options tune a Drive. The zero value is the production setting.
type Options struct {
	// Endpoint names the drive in errors, logs and DiskInfo; default: its
	// absolute path.
	Endpoint string
	// BufferedIO writes shard files through the page cache instead of
	// with O_DIRECT (which is used where the file system allows it).
	BufferedIO bool
	// BufferSize is the size of each of CreateFile's two write buffers;
	// 0 means doublebuf.DefaultBufferSize.
	BufferSize int
	// SyncEachFile syncs every file and directory a write changes one by
	// one, instead of flushing the drive's file system once for all the
	// writes in flight (group commit, flush.go; Linux only). A group flush
	// writes out whatever else is dirty on the file system too, so a drive
	// that shares its file system with busy neighbours may do better
	// without.
	SyncEachFile bool
}

// Drive is a local drive: one formatted directory. Use Open.
type Drive struct {
	root       string // absolute path of the drive
	endpoint   string
	sysDir     string
	stagingDir string
	format     FormatSpec
	writeOpts  doublebuf.Options
	group      *groupSync // nil: files and directories synced one by one
	leaveGroup func()     // d no longer uses group

	lock    *os.File // holds the drive's flock until Close
	closed  atomic.Bool
	healing atomic.Bool

	// objectLocks serialise the read-modify-write of one object's record.
	// Striped rather than per object: a fixed, small amount of memory, and
	// two objects sharing a stripe only wait for each other's few
	// milliseconds of commit.
	objectLocks [256]sync.Mutex
	lockSeed    maphash.Seed

	latency latencyStats
}

var _ storage.Drive = (*Drive)(nil)

// Open opens the formatted drive at path after checking that it is the
// drive exp describes (ErrDeploymentMismatch, ErrLayoutMismatch,
// ErrDrivePosition; LoadFormat's errors for a drive without a valid
// record). It locks the drive against other openers (ErrDriveInUse) and
// wipes what crashed writers left in the staging areas.
func Open(path string, exp Expected, opts Options) (*Drive, error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open drive %s: %w: %w", path, storage.ErrInvalidArgument, err)
	}
	format, err := LoadFormat(root)
	if err != nil {
		return nil, fmt.Errorf("open drive: %w", err)
	}
	if err := exp.check(format); err != nil {
		return nil, fmt.Errorf("open drive %s: %w", root, err)
	}
	sysDir := filepath.Join(root, sysDirName)
	lock, err := lockDrive(sysDir)
	if err != nil {
		return nil, fmt.Errorf("open drive: %w", err)
	}
	d := &Drive{
		root:       root,
		endpoint:   opts.Endpoint,
		sysDir:     sysDir,
		stagingDir: filepath.Join(sysDir, stagingName),
		format:     format,
		writeOpts:  doublebuf.Options{BufferSize: opts.BufferSize, DirectIO: !opts.BufferedIO},
		lock:       lock,
		lockSeed:   maphash.MakeSeed(),
	}
	if d.endpoint == "" {
		d.endpoint = root
	}
	if haveSyncfs && !opts.SyncEachFile {
		d.group, d.leaveGroup, err = joinGroupSync(root)
		if err != nil {
			lock.Close()
			return nil, fmt.Errorf("open drive: %w", err)
		}
		// Files are made durable by the flushes of the operations that
		// publish them.
		d.writeOpts.NoSync = true
	}
	if err := d.resetScratch(); err != nil {
		if d.leaveGroup != nil {
			d.leaveGroup()
		}
		lock.Close()
		return nil, fmt.Errorf("open drive %s: %w", root, err)
	}
	if _, err := os.Stat(filepath.Join(sysDir, healingName)); err == nil {
		d.healing.Store(true)
	}
	return d, nil
}

// resetScratch empties the tmp and staging areas: whatever is there was
// left by writers that died before committing, and nothing refers to it.
// The multipart area is kept; it is created if an older format lacked it.
func (d *Drive) resetScratch() error {
	for _, dir := range []string{d.stagingDir, volumeDir(d.root, storage.TmpVolume)} {
		if err := os.RemoveAll(dir); err != nil {
			return osError("clean", dir, err, nil)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return osError("clean", dir, err, nil)
		}
	}
	if err := os.Mkdir(volumeDir(d.root, storage.MultipartVolume), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return osError("create", storage.MultipartVolume, err, nil)
	}
	if err := syncDir(d.sysDir); err != nil {
		return osError("sync", d.sysDir, err, nil)
	}
	return nil
}

// String returns the endpoint.
func (d *Drive) String() string { return d.endpoint }

// Endpoint returns the endpoint (by default the drive's absolute path).
func (d *Drive) Endpoint() string { return d.endpoint }

// Format returns the drive's format record.
func (d *Drive) Format() FormatSpec { return d.format }

// Close releases the drive's lock; every later call fails with
// ErrDriveOffline. Calls in progress finish normally.
func (d *Drive) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	if d.leaveGroup != nil {
		d.leaveGroup()
	}
	return d.lock.Close()
}

// SetHealing marks the drive as being healed (a replaced drive that is
// being filled from its set), or no longer. The mark survives restarts and
// shows in DiskInfo. It is local-only: the node's heal manager owns it.
func (d *Drive) SetHealing(healing bool) error {
	if err := d.ready(context.Background()); err != nil {
		return err
	}
	name := filepath.Join(d.sysDir, healingName)
	var err error
	if healing {
		err = writeFileSynced(name, nil)
		if errors.Is(err, fs.ErrExist) {
			err = nil
		}
	} else if err = os.Remove(name); errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err == nil {
		err = syncDir(d.sysDir)
	}
	if err != nil {
		return osError("set healing on", d.endpoint, err, nil)
	}
	d.healing.Store(healing)
	return nil
}

// DiskInfo reports capacity, identity, health and operation latencies.
func (d *Drive) DiskInfo(ctx context.Context) (info storage.DiskInfo, err error) {
	defer d.track(opDiskInfo, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return storage.DiskInfo{}, fmt.Errorf("disk info: %w", err)
	}
	total, free, used, inodes, freeInodes, err := capacity(d.root)
	if err != nil {
		return storage.DiskInfo{}, osError("disk info", d.endpoint, err, storage.ErrDriveOffline)
	}
	return storage.DiskInfo{
		Total:       total,
		Free:        free,
		Used:        used,
		TotalInodes: inodes,
		FreeInodes:  freeInodes,
		Endpoint:    d.endpoint,
		DriveID:     d.format.DriveID,
		Healing:     d.healing.Load(),
		Online:      true,
		Latency:     d.latency.snapshot(),
	}, nil
}

// ready returns why the drive cannot take a call now, or nil.
func (d *Drive) ready(ctx context.Context) error {
	if d.closed.Load() {
		return fmt.Errorf("%w: %s is closed", storage.ErrDriveOffline, d.endpoint)
	}
	return ctx.Err()
}

// lockObject serialises updates of one object's metadata record.
func (d *Drive) lockObject(volume, path string) (unlock func()) {
	var h maphash.Hash
	h.SetSeed(d.lockSeed)
	h.WriteString(volume)
	h.WriteByte('/')
	h.WriteString(path)
	mu := &d.objectLocks[h.Sum64()%uint64(len(d.objectLocks))]
	mu.Lock()
	return mu.Unlock
}

// volumeDir returns the directory of a volume (which CheckVolume passed).
func volumeDir(root, volume string) string {
	return filepath.Join(root, filepath.FromSlash(volume))
}

// pathIn returns the file system path of rel inside a volume: a path that
// CheckPath passed, one that keypath.go made, or "".
func (d *Drive) pathIn(volume, rel string) string {
	return filepath.Join(d.root, filepath.FromSlash(volume), filepath.FromSlash(rel))
}

// stagingPath returns a fresh name in the staging area, where records and
// new objects are put together before they are renamed into place, and
// where deleted trees go to be removed out of sight.
func (d *Drive) stagingPath() string {
	return filepath.Join(d.stagingDir, uuid.NewString())
}

// missing returns the sentinel for a path that does not exist:
// ErrVolumeNotFound if the volume itself is gone, else ErrFileNotFound.
func (d *Drive) missing(volume string) error {
	if _, err := os.Stat(volumeDir(d.root, volume)); errors.Is(err, fs.ErrNotExist) {
		return storage.ErrVolumeNotFound
	}
	return storage.ErrFileNotFound
}

// fileError wraps an operating system error of an operation on
// volume/path, telling a missing volume from a missing file.
func (d *Drive) fileError(op, volume, path string, err error) error {
	var notFound error
	if isNotFound(err) {
		notFound = d.missing(volume)
	}
	return osError(op, volume+"/"+path, err, notFound)
}
