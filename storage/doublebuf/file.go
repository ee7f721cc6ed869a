package doublebuf

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
)

// Create creates or truncates name for writing (mode 0o644 before umask) and
// returns a Writer for it; see OpenFile.
func Create(name string, opts Options) (*Writer, error) {
	return OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644, opts)
}

// OpenFile opens name with os.OpenFile's flag and perm and returns a Writer
// that owns the file; see NewFile.
func OpenFile(name string, flag int, perm os.FileMode, opts Options) (*Writer, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, fmt.Errorf("doublebuf: %w", err)
	}
	return NewFile(f, -1, opts), nil
}

// NewFile returns a Writer that owns f, a file open for writing at its
// start or end: Close fdatasyncs it (unless opts.NoSync) and closes it.
// With opts.DirectIO full buffers are written with O_DIRECT where the file
// system allows it. It is for callers that open their files themselves,
// with flags or calls of their own. size is the number of bytes the file
// will get, if known (else -1): one shorter than directMinSize (and than a
// buffer) is written buffered from the start, sparing the fcntls that
// would set O_DIRECT and clear it again before its only write.
func NewFile(f *os.File, size int64, opts Options) *Writer {
	fd := &fileDest{f: f}
	if opts.DirectIO && (size < 0 || size >= min(directMinSize, int64(opts.bufferSize()))) {
		// O_DIRECT is switched on after the open rather than passed to it:
		// a file system without direct I/O fails such an open with EINVAL
		// only after O_CREAT has made the file, so a retry without it
		// would trip over O_EXCL. fcntl refuses the same way, cleanly, and
		// the refusal simply leaves the file buffered.
		if setDirect(f, true) == nil {
			fd.fdDirect = true
			fd.direct.Store(true)
		}
	}
	w := New(fd, opts)
	w.file = fd
	return w
}

// fileDest writes buffers to a file, with O_DIRECT while it lasts.
//
// The final, short buffer that Close writes is written direct up to its last
// whole block; only that block's unaligned rest cannot go through O_DIRECT.
// The shards of a 1 MiB object are shorter than one buffer, so without the
// direct head they went through the page cache whole, and on the virtual
// machines measured that was the largest cost of such a PUT: the first touch
// of each new page-cache page (docs/benchmarks.md). fileDest
// clears O_DIRECT on the same descriptor (fcntl F_SETFL) before writing the rest,
// rather than writing it through a second, buffered descriptor: the tail must
// land at the current file offset, which the same descriptor already has; a
// second open by name could race with a rename or fail on permissions; and
// padding the tail to a block and truncating would add a metadata update to
// every file. The cost is that the last partial block goes through the page
// cache, which the fdatasync in Close writes out anyway.
type fileDest struct {
	f        *os.File
	fdDirect bool        // O_DIRECT is set on f right now; touched only by the one goroutine writing
	direct   atomic.Bool // full buffers go out with O_DIRECT; read by Writer.DirectIO from any goroutine
}

func (d *fileDest) Write(p []byte) (int, error) {
	if d.fdDirect && !isAligned(p) {
		// The final, short buffer: its whole blocks still go direct
		// (the buffer starts aligned), only the last partial block
		// through the page cache.
		head := 0
		if isAlignedStart(p) {
			head = len(p) / Alignment * Alignment
		}
		if head > 0 {
			n, err := d.write(p[:head])
			if err != nil || n < head {
				return n, err
			}
		}
		if err := d.dropDirect(); err != nil {
			return head, err
		}
		n, err := d.f.Write(p[head:])
		return head + n, err
	}
	return d.write(p)
}

// directMinSize is the smallest file announced to NewFile that is written
// with O_DIRECT (when the buffers are not smaller): below it, the two
// fcntls that set and clear the flag cost more than the page-cache copy
// they spare.
const directMinSize = 64 << 10

// write writes p as the descriptor is set up, falling back to buffered
// writes for good if the file system refuses a direct one.
func (d *fileDest) write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	if n == 0 && d.fdDirect && errors.Is(err, syscall.EINVAL) {
		// The file system took O_DIRECT but refuses the write, as some
		// FUSE and network file systems do, or the file offset is not
		// aligned (a file opened with O_APPEND onto odd-sized content).
		// Nothing was written, so the same bytes go again, buffered, and
		// direct I/O stays off for the rest of the file.
		d.direct.Store(false)
		if derr := d.dropDirect(); derr != nil {
			return 0, errors.Join(err, derr)
		}
		return d.f.Write(p)
	}
	return n, err
}

func (d *fileDest) dropDirect() error {
	if err := setDirect(d.f, false); err != nil {
		return fmt.Errorf("clear O_DIRECT on %s: %w", d.f.Name(), err)
	}
	d.fdDirect = false
	return nil
}

// Sync makes the data durable. fdatasync is enough for a shard file: its
// size is flushed with it, and the mtime it skips is not needed; the file
// becomes visible only through a rename whose directory gets synced by the
// caller.
func (d *fileDest) Sync() error {
	if err := datasync(d.f); err != nil {
		return fmt.Errorf("fdatasync %s: %w", d.f.Name(), err)
	}
	return nil
}
