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
	"unicode/utf8"

	"github.com/gridstore/gridstore/storage"
)

// WalkDir walks a volume in lexical order of object keys, one directory
// at a time: a directory's names are read, decoded into key segments
// (keypath.go), sorted, then visited in order, descending into the keys
// below each as they come. Memory is one directory's entry names per level
// of depth, never the volume.
//
// A segment's object directory ("%o") holds an object if it holds a
// record; its prefix directory holds the keys that go on past it (a common
// prefix, its key and "/"). A key may be both ("p" and "p/q"). For the
// order to be that of the full keys, a prefix sorts as its name plus "/":
// "a-b" < "a/" < "a0", as "a-b" < "a/x" < "a0".
//
// The cost is what the caller consumes. Reading a directory is one pass
// of getdents over its names (the file type comes with each name where the
// file system gives it), which tells objects from prefixes; no entry is
// opened or stat'ed then. An object's record is read only when it is the
// next one to come out, so a walk stopped after k entries of a directory
// of n costs the names of n and the records of about k, and a prefix costs
// nothing until it is walked.
func (d *Drive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) (err error) {
	defer d.track(opWalkDir, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("walk %s/%s: %w", opts.Volume, storage.ClipName(opts.Prefix), err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	if err := storage.CheckVolume(opts.Volume); err != nil {
		return fail(err)
	}
	if len(opts.Prefix) > storage.MaxKeyLength || !utf8.ValidString(opts.Prefix) {
		return fail(fmt.Errorf("%w: prefix of %d bytes or not valid UTF-8", storage.ErrInvalidPath, len(opts.Prefix)))
	}
	volDir := volumeDir(d.root, opts.Volume)
	if st, err := os.Stat(volDir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return fail(osError("stat volume", opts.Volume, err, storage.ErrVolumeNotFound))
	}
	base, diskBase, filter := "", "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		base, filter = opts.Prefix[:i+1], opts.Prefix[i+1:]
		diskBase = prefixRel(opts.Prefix[:i]) + "/"
	}
	w := walker{ctx: ctx, volDir: volDir, opts: opts, fn: fn}
	return w.dir(base, diskBase, filter)
}

type walker struct {
	ctx    context.Context
	volDir string
	opts   storage.WalkDirOptions
	fn     func(storage.MetaEntry) error

	classified int // entries whose record was looked for (tests)
}

// levelEntries are the key segments found in a level's directory: those
// with an object directory and those with a prefix directory, and the
// names (relative to the level's directory, without suffix) of the
// segments that are not their own name: escaped, or split into pieces.
// Most segments are their own names, so the map is usually nil and the
// segments sort as plain strings.
type levelEntries struct {
	objects, prefixes []string
	names             map[string]string
}

func (l *levelEntries) add(seg, name string, kind nameKind) {
	if kind == objectName {
		l.objects = append(l.objects, seg)
	} else {
		l.prefixes = append(l.prefixes, seg)
	}
	if name != seg {
		if l.names == nil {
			l.names = make(map[string]string)
		}
		l.names[seg] = name
	}
}

// name returns the name of seg's directories, without suffix.
func (l *levelEntries) name(seg string) string {
	if name, ok := l.names[seg]; ok {
		return name
	}
	return seg
}

// heldPrefix is a common prefix waiting for its turn.
type heldPrefix struct {
	name string // the keys' prefix, ending in "/"
	disk string // its directory, relative to the volume's, ending in "/"
}

// readDirBatch is how many entries a directory read asks for at a time:
// the names are kept, the os.DirEntry values are dropped batch by batch.
const readDirBatch = 1024

// maxPieces bounds how deep the pieces of one segment may nest: a segment
// of MaxKeyLength bytes, all escaped, needs 13.
const maxPieces = 16

// dir visits the keys key+seg for the segments found in the directory
// disk (both "" or ending in "/") that start with filter.
//
// The segments are sorted as plain strings, which is the walk's order
// except around prefixes: prefix "a/" comes after "a-b" and "a.c" (bytes
// below '/') that plain order puts after "a". A prefix is therefore held
// back on a stack until the next name sorts after it; an object comes out
// at once. The stack is in order (each prefix pushed sorts before the ones
// under it, being their extension by a byte below '/'), and whether the
// held prefix P comes before the next name N does not depend on what N
// is: if N extends P by a byte c, both N and N+"/" sort before P+"/"
// exactly when c < '/'; otherwise they differ from P+"/" before its end.
func (w *walker) dir(key, disk, filter string) error {
	var entries levelEntries
	if err := w.collect(key, disk, "", "", filter, 0, &entries); err != nil {
		return err
	}
	objects, prefixes := entries.objects, entries.prefixes
	slices.Sort(objects)
	slices.Sort(prefixes)

	start := w.opts.StartAfter
	levelDir := filepath.Join(w.volDir, filepath.FromSlash(disk))
	var held []heldPrefix // the next one last
	flush := func(before string) error {
		for len(held) > 0 && (before == "" || held[len(held)-1].name < before) {
			p := held[len(held)-1]
			held = held[:len(held)-1]
			if err := w.prefix(p); err != nil {
				return err
			}
		}
		return nil
	}
	// The two sorted lists, merged: a segment in both is an object and a
	// prefix, the object first (k < k+"/").
	for len(objects) > 0 || len(prefixes) > 0 {
		var seg string
		object := len(prefixes) == 0 || (len(objects) > 0 && objects[0] <= prefixes[0])
		if object {
			seg, objects = objects[0], objects[1:]
		} else {
			seg, prefixes = prefixes[0], prefixes[1:]
		}
		full := key + seg
		if err := flush(full); err != nil {
			return err
		}
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if !object {
			if prefix := full + "/"; prefix > start || w.opts.Recursive {
				held = append(held, heldPrefix{name: prefix, disk: disk + entries.name(seg) + "/"})
			}
			continue
		}
		w.classified++
		record := levelDir + string(filepath.Separator) + filepath.FromSlash(entries.name(seg)) + objectSuffix + string(filepath.Separator) + recordName
		raw, ok, err := readRecord(record)
		if err != nil {
			return osError("walk: read metadata of", w.opts.Volume+"/"+storage.ClipName(full), err, nil)
		}
		if ok {
			if err := w.fn(storage.MetaEntry{Name: full, Metadata: raw}); err != nil {
				return err
			}
		}
	}
	return flush("")
}

// prefix reports the prefix p (ending in "/"), or walks it if recursive.
func (w *walker) prefix(p heldPrefix) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.opts.Recursive {
		return w.dir(p.name, p.disk, "")
	}
	return w.fn(storage.MetaEntry{Name: p.name, Dir: true})
}

// collect adds to out the segments of the directory level+sub (level
// relative to the volume's, sub to level, both "" or ending in "/") that
// start with filter and may hold something past the marker, unsorted. key
// is the key of the level; sub is "" at the level's own directory, and in
// the directory of depth pieces of a long segment their path, and lead
// the part of the segment they spell. Files and symbolic links are not
// keys; the type comes from the directory read itself (os.ReadDir lstats
// only where the file system leaves it unknown). Names this drive does not
// write for keys (its own entries, anything foreign) are passed over.
func (w *walker) collect(key, level, sub, lead, filter string, depth int, out *levelEntries) error {
	f, err := os.Open(filepath.Join(w.volDir, filepath.FromSlash(level+sub)))
	if err != nil {
		if isNotFound(err) || errors.Is(err, syscall.ENOTDIR) {
			return nil // a prefix that names nothing lists nothing
		}
		return osError("walk", w.opts.Volume+"/"+storage.ClipName(key+lead), err, nil)
	}
	defer f.Close()
	start := w.opts.StartAfter
	for {
		entries, err := f.ReadDir(readDirBatch)
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() || name[0] == internalMark {
				continue
			}
			piece, kind, ok := decodeName(name)
			if !ok {
				continue
			}
			seg := lead + piece
			switch full := key + seg; {
			case kind == pieceName:
				// Every segment below starts with seg: look there only if
				// one may match the filter and come after the marker.
				if !strings.HasPrefix(seg, filter) && !strings.HasPrefix(filter, seg) {
					continue
				}
				if full < start && !strings.HasPrefix(start, full) {
					continue
				}
				if depth+1 < maxPieces {
					if err := w.collect(key, level, sub+name+"/", seg, filter, depth+1, out); err != nil {
						return err
					}
				}
				continue
			case !strings.HasPrefix(seg, filter):
				continue
			case kind == objectName && full <= start:
				continue
			case kind == prefixName && full+"/" <= start && !strings.HasPrefix(start, full+"/"):
				continue // before the marker, and all it holds
			}
			base := name
			if kind == objectName {
				base = name[:len(name)-len(objectSuffix)]
			}
			if sub != "" && string(appendSegment(nil, seg)) != sub+base {
				continue // pieces not split as this drive splits them
			}
			out.add(seg, sub+base, kind)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return osError("walk", w.opts.Volume+"/"+storage.ClipName(key+lead), err, nil)
		}
		if err := w.ctx.Err(); err != nil {
			return err
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
	raw, err = readOpenRecord(fd, name)
	switch {
	case errors.Is(err, errNotRegular):
		return nil, false, nil
	case errors.Is(err, errRecordTooLarge):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	return raw, true, nil
}

// Why readOpenRecord did not read a record.
var (
	errNotRegular     = errors.New("not a regular file")
	errRecordTooLarge = errors.New("too large for a metadata record")
)

// readOpenRecord reads the record file open as fd whole, with system calls
// (see readRecord): errNotRegular if it is not a regular file,
// errRecordTooLarge if it is larger than storage.MaxMetaSize.
func readOpenRecord(fd int, name string) ([]byte, error) {
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	if st.Size > storage.MaxMetaSize {
		return nil, fmt.Errorf("%s: %d bytes: %w", name, st.Size, errRecordTooLarge)
	}
	raw := make([]byte, st.Size)
	for n := 0; n < len(raw); {
		m, err := syscall.Read(fd, raw[n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, &os.PathError{Op: "read", Path: name, Err: err}
		case m == 0:
			return nil, fmt.Errorf("read %s: %w", name, io.ErrUnexpectedEOF)
		}
		n += m
	}
	return raw, nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}
