package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
)

// SyscallCounts counts the file system calls that this package's drives
// make to change files, by kind, since the process started (all drives
// together). The calls a write pays for are what bounds its throughput on
// real disks, flushes above all: a benchmark reads the counts before and
// after a run to report them per operation (ReadSyscallCounts, Sub).
type SyscallCounts struct {
	Flushes int64 // fsync, fdatasync and syncfs
	Opens   int64 // opens of files and directories, to read, write or sync
	Renames int64
	Mkdirs  int64
	Unlinks int64 // unlink and rmdir
}

// Sub returns c - o, the calls made between two readings.
func (c SyscallCounts) Sub(o SyscallCounts) SyscallCounts {
	return SyscallCounts{
		Flushes: c.Flushes - o.Flushes,
		Opens:   c.Opens - o.Opens,
		Renames: c.Renames - o.Renames,
		Mkdirs:  c.Mkdirs - o.Mkdirs,
		Unlinks: c.Unlinks - o.Unlinks,
	}
}

// ReadSyscallCounts returns the counts so far.
func ReadSyscallCounts() SyscallCounts {
	return SyscallCounts{
		Flushes: counters.flushes.Load(),
		Opens:   counters.opens.Load(),
		Renames: counters.renames.Load(),
		Mkdirs:  counters.mkdirs.Load(),
		Unlinks: counters.unlinks.Load(),
	}
}

var counters struct {
	flushes, opens, renames, mkdirs, unlinks atomic.Int64
}

// traceHook, when set (by tests only), is told of the steps of a commit
// that durability depends on, with the object's key, and of every group
// flush (key ""); see flush.go.
var traceHook func(event, key string)

func trace(event, key string) {
	if traceHook != nil {
		traceHook(event, key)
	}
}

// The wrappers below are the package's only way to the calls it counts.

// openFile opens name like os.OpenFile, for what this package opens
// through an *os.File: files it writes and syncs, and directories it syncs,
// none of which the runtime's poller can wait on. os.OpenFile tries all the
// same, at five more system calls per open (fcntl F_GETFL and F_SETFL to
// set O_NONBLOCK, an epoll_ctl that fails with EPERM, two more fcntls to
// clear it again); os.NewFile on the descriptor costs one (F_GETFL). A
// small PUT opens a file per drive, a large one two, and their sum was
// about one system call in seven of a 4 KiB PUT (docs/benchmarks.md).
func openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	counters.opens.Add(1)
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = syscall.Open(name, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func readDir(name string) ([]os.DirEntry, error) {
	counters.opens.Add(1)
	return os.ReadDir(name)
}

func mkdir(name string) error {
	counters.mkdirs.Add(1)
	return os.Mkdir(name, 0o755)
}

// rename renames with the system call alone. os.Rename first lstats the
// target, to refuse replacing a directory, which costs a call per rename
// (a PUT renames once or twice per drive) for nothing here: the package
// renames files over files and directories to fresh names, and the kernel
// refuses a file over a directory or a directory over a non-empty one all
// the same.
func rename(from, to string) error {
	counters.renames.Add(1)
	if err := ignoringEINTR(func() error { return syscall.Rename(from, to) }); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// removeFile unlinks a file (not a directory).
func removeFile(name string) error {
	counters.unlinks.Add(1)
	if err := syscall.Unlink(name); err != nil {
		return &os.PathError{Op: "unlink", Path: name, Err: err}
	}
	return nil
}

func rmdir(name string) error {
	counters.unlinks.Add(1)
	if err := syscall.Rmdir(name); err != nil {
		return &os.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// removeTree removes name and, if it is a directory, everything below it,
// as os.RemoveAll does for the small trees of a drive (a staging or data
// dir), counting its calls. A name that does not exist is no error.
func removeTree(name string) error {
	err := removeFile(name)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	entries, rerr := readDir(name)
	if rerr != nil {
		if errors.Is(rerr, fs.ErrNotExist) {
			return nil
		}
		return err // not a directory either: the unlink's error says why
	}
	var first error
	for _, e := range entries {
		if err := removeTree(filepath.Join(name, e.Name())); err != nil && first == nil {
			first = err
		}
	}
	if err := rmdir(name); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
		first = err
	}
	return first
}

// fdatasyncFile makes f's data, and its size, durable.
func fdatasyncFile(f *os.File) error {
	counters.flushes.Add(1)
	return datasync(f)
}

// syncDir fsyncs a directory, making the entries created, renamed or
// removed in it survive a crash.
func syncDir(dir string) error {
	f, err := openFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	counters.flushes.Add(1)
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
