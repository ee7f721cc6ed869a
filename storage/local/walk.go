package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// WalkDir walks a volume in lexical order of object names, one directory
// at a time: a directory's names are read, filtered and sorted, then
// visited in order, descending into subdirectories as they come. Memory is
// one directory's entry names per level of depth, never the volume.
//
// An entry is an object if it is a directory holding a record; the walk
// never looks inside an object. Other directories are common prefixes.
// For the order to be that of the full names, a prefix sorts as its name
// plus "/": "a-b" < "a/" < "a0", as "a-b" < "a/x" < "a0".
//
// The cost is what the caller consumes. Reading a directory is one pass
// of getdents over its names (the file type comes with each name where the
// file system gives it; os.ReadDir falls back to lstat where it does not);
// no entry is opened or stat'ed then. An entry is classified (object or
// prefix) and its record read only when it is the next one to come out, so
// a walk stopped after k entries of a directory of n costs the names of n
// and the records of about k.
func (d *Drive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) (err error) {
	defer d.track(opWalkDir, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("walk %s/%s: %w", opts.Volume, opts.Prefix, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	if err := storage.CheckVolume(opts.Volume); err != nil {
		return fail(err)
	}
	base, filter := "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		base, filter = opts.Prefix[:i+1], opts.Prefix[i+1:]
		if err := storage.CheckPath(base[:i]); err != nil {
			return fail(err)
		}
	}
	if len(filter) > storage.MaxComponentLength || strings.ContainsAny(filter, "\x00\\") {
		return fail(fmt.Errorf("%w: prefix %q", storage.ErrInvalidPath, filter))
	}
	volDir := volumeDir(d.root, opts.Volume)
	if st, err := os.Stat(volDir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return fail(osError("stat volume", opts.Volume, err, storage.ErrVolumeNotFound))
	}
	if base != "" && isRegularFile(filepath.Join(volDir, filepath.FromSlash(base), storage.MetaFileName)) {
		return nil // the inside of an object (its data dirs) is not listed
	}
	w := walker{ctx: ctx, volDir: volDir, opts: opts, fn: fn}
	return w.dir(base, filter)
}

type walker struct {
	ctx    context.Context
	volDir string
	opts   storage.WalkDirOptions
	fn     func(storage.MetaEntry) error

	classified int // entries whose record was looked for (tests)
}

// readDirBatch is how many entries a directory read asks for at a time:
// the names are kept, the os.DirEntry values are dropped batch by batch.
const readDirBatch = 1024

// dir visits the entries of the directory rel ("" or ending in "/") whose
// names start with filter.
//
// The names are sorted as plain strings, which is the walk's order except
// around prefixes: prefix "a" sorts as "a/", after "a-b" and "a.c" (bytes
// below '/') that plain order puts after it. Whether "a" is a prefix is
// only known once it is classified, which is left until it comes up in
// plain order. A prefix is then held back on a stack until the next name
// sorts after it; an object comes out at once. The stack is in order
// (each prefix pushed sorts before the ones under it, being their
// extension by a byte below '/'), and whether the held prefix P comes
// before the next name N does not depend on what N turns out to be: if N
// extends P by a byte c, both N and N+"/" sort before P+"/" exactly when
// c < '/'; otherwise they differ from P+"/" before its end.
func (w *walker) dir(rel, filter string) error {
	names, err := w.readNames(rel, filter)
	if err != nil || len(names) == 0 {
		return err
	}
	slices.Sort(names)

	start := w.opts.StartAfter
	var held []string // prefixes (full names, with "/"), the next one last
	flush := func(before string) error {
		for len(held) > 0 && (before == "" || held[len(held)-1] < before) {
			p := held[len(held)-1]
			held = held[:len(held)-1]
			if err := w.prefix(p); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range names {
		full := rel + name
		if err := flush(full); err != nil {
			return err
		}
		if err := w.ctx.Err(); err != nil {
			return err
		}
		w.classified++
		raw, object, err := readRecord(filepath.Join(w.volDir, filepath.FromSlash(full), storage.MetaFileName))
		if err != nil {
			return osError("walk: read metadata of", w.opts.Volume+"/"+full, err, nil)
		}
		if !object {
			if prefix := full + "/"; prefix > start || w.opts.Recursive {
				held = append(held, prefix)
			}
			continue
		}
		if full <= start {
			continue
		}
		if err := w.fn(storage.MetaEntry{Name: full, Metadata: raw}); err != nil {
			return err
		}
	}
	return flush("")
}

// prefix reports the prefix p (ending in "/"), or walks it if recursive.
func (w *walker) prefix(p string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.opts.Recursive {
		return w.dir(p, "")
	}
	return w.fn(storage.MetaEntry{Name: p})
}

// readNames returns the names of rel's subdirectories that start with
// filter and may hold something past the marker, unsorted. Files and
// symbolic links are not ours to list; the type comes from the directory
// read itself (os.ReadDir lstats only where the file system leaves it
// unknown).
func (w *walker) readNames(rel, filter string) ([]string, error) {
	f, err := os.Open(filepath.Join(w.volDir, filepath.FromSlash(rel)))
	if err != nil {
		if isNotFound(err) {
			return nil, nil // a prefix that names nothing lists nothing
		}
		return nil, osError("walk", w.opts.Volume+"/"+rel, err, nil)
	}
	defer f.Close()
	start := w.opts.StartAfter
	var names []string
	for {
		entries, err := f.ReadDir(readDirBatch)
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() || !strings.HasPrefix(name, filter) {
				continue
			}
			// Before the marker whatever it is, and all it may hold.
			if prefix := rel + name + "/"; prefix <= start && !strings.HasPrefix(start, prefix) {
				continue
			}
			names = append(names, name)
		}
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, osError("walk", w.opts.Volume+"/"+rel, err, nil)
		}
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// readRecord reads the record file name of a walk's entry, telling an
// object (a regular file there) from a prefix (nothing there, or something
// else) in the same open. A record too large to be one is an object whose
// record is reported as nil (it does not decode). It uses the system calls
// directly: os.OpenFile costs five more per file (fcntl, epoll
// registration) for nothing here, and a walk opens one per object.
// O_NONBLOCK keeps a FIFO named like a record from blocking the walk.
func readRecord(name string) (raw []byte, object bool, err error) {
	var fd int
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == nil:
	case isNotFound(err) || err == syscall.ELOOP:
		return nil, false, nil // no record, or a symbolic link: a prefix
	case !isRegularFile(name):
		// Not openable (EACCES on the directory, say): an entry whose
		// record cannot be seen is a prefix, as it always was.
		return nil, false, nil
	default:
		return nil, false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return nil, false, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, false, nil
	}
	if st.Size > storage.MaxMetaSize {
		return nil, true, nil
	}
	raw = make([]byte, st.Size)
	for n := 0; n < len(raw); {
		m, err := syscall.Read(fd, raw[n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, false, &os.PathError{Op: "read", Path: name, Err: err}
		case m == 0:
			return nil, false, fmt.Errorf("read %s: %w", name, io.ErrUnexpectedEOF)
		}
		n += m
	}
	return raw, true, nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}
