package local

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// capacity fills in the file system figures of the drive at path.
func capacity(path string) (total, free, used, inodes, freeInodes uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, 0, 0, 0, err
	}
	bsize := uint64(st.Bsize)
	// Bavail, not Bfree: blocks reserved for root are not ours to fill.
	return st.Blocks * bsize, st.Bavail * bsize, (st.Blocks - st.Bfree) * bsize, st.Files, st.Ffree, nil
}

// birthTime returns when path was created, where the file system records it
// (statx), else its modification time.
func birthTime(path string, fallback time.Time) time.Time {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &stx); err != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return fallback
	}
	return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec)).UTC()
}

// preallocate reserves size bytes for f without changing its length, so
// that a full drive fails the write at once instead of after streaming
// most of a shard, and the shard is laid out contiguously. File systems
// without fallocate are simply skipped.
func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		return nil
	}
	return err
}

// datasync fdatasyncs f: its data and the metadata needed to read it back
// (its size), not its times.
func datasync(f *os.File) error { return syncCall(f, "fdatasync", unix.Fdatasync) }

// syncCall runs the sync system call op on f's descriptor, again when a
// signal interrupts it.
func syncCall(f *os.File, op string, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		for {
			if opErr = call(int(fd)); opErr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if opErr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: opErr}
	}
	return nil
}

// deviceOf returns the number of the device (file system) path is on.
func deviceOf(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Dev), nil
}

// haveSyncfs: group commit flushes a drive's file system with syncfs.
const haveSyncfs = true

// syncfs flushes the whole file system that f is on: every file's data and
// metadata written before the call, and the device's write cache.
func syncfs(f *os.File) error { return syncCall(f, "syncfs", unix.Syncfs) }
