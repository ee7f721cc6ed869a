package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/doublebuf"
)

// CreateFile streams r into volume/path through the double-buffered
// writer. In TmpVolume the file is written in place (nothing reads it
// before RenameData); elsewhere it is written in the staging area and
// renamed into place once complete and synced, so it appears whole or not
// at all.
func (d *Drive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) (err error) {
	defer d.track(opCreateFile, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return fmt.Errorf("create %s/%s: %w", volume, path, err)
	}
	rel, err := fileRel(volume, path)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if size < -1 {
		return fmt.Errorf("create %s/%s: %w: size %d", volume, path, storage.ErrInvalidArgument, size)
	}
	volDir := volumeDir(d.root, volume)
	final := filepath.Join(volDir, filepath.FromSlash(rel))
	parent := pathpkg.Dir(rel)

	target := final
	inPlace := volume == storage.TmpVolume
	if !inPlace {
		// Checked before streaming, not found out at the final rename.
		if _, err := os.Stat(volDir); err != nil {
			return osError("create", volume+"/"+path, err, storage.ErrVolumeNotFound)
		}
		target = d.stagingPath()
	}
	var w *doublebuf.Writer
	open := func() (err error) {
		w, err = d.createShard(target, size)
		return err
	}
	if inPlace {
		err = retryParentsGone(volDir, parent, nil, open)
	} else {
		err = open()
	}
	if err != nil {
		return d.fileError("create", volume, path, err)
	}

	if err := fill(ctx, w, r, size); err != nil {
		_ = w.Abort()
		_ = removeFile(target)
		return d.fileError("create", volume, path, err)
	}
	if err := closeShard(w); err != nil {
		_ = removeFile(target)
		return d.fileError("create", volume, path, err)
	}
	if inPlace {
		// Not synced with group commit: nothing reads the file before the
		// RenameData that publishes it, which flushes it before its commit.
		return nil
	}
	// The file must be durable before its rename into view, and the
	// rename (with the directories made for it) before the call returns.
	var p pending
	if !d.syncsEachFile() {
		err = d.flush(&p)
	}
	if err == nil {
		err = retryParentsGone(volDir, parent, &p, func() error { return rename(target, final) })
	}
	if err == nil {
		p.add(filepath.Dir(final))
		err = d.flush(&p)
	}
	if err != nil {
		_ = removeFile(target)
		return d.fileError("create", volume, path, err)
	}
	return nil
}

// fileRel checks the volume and path of a file operation and returns the
// file's path relative to the volume's directory. In a system volume the
// path is the file's own (storage.CheckPath); in a bucket it names a file
// of a data dir of a key (storage.PartPath), which lives in the key's
// directory (keypath.go).
func fileRel(volume, path string) (string, error) {
	if err := storage.CheckVolume(volume); err != nil {
		return "", err
	}
	if storage.IsSystemVolume(volume) {
		return path, storage.CheckPath(path)
	}
	key, dataDir, name, err := storage.SplitFilePath(path)
	if err != nil {
		return "", err
	}
	return keyRel(key) + "/" + dataDirName(dataDir) + "/" + name, nil
}

// dirRel is fileRel for an operation on a directory: in a bucket, the path
// names a data dir of a key (storage.DataDirPath).
func dirRel(volume, path string) (string, error) {
	if err := storage.CheckVolume(volume); err != nil {
		return "", err
	}
	if storage.IsSystemVolume(volume) {
		return path, storage.CheckPath(path)
	}
	key, dataDir, err := storage.SplitDataDirPath(path)
	if err != nil {
		return "", err
	}
	return keyRel(key) + "/" + dataDirName(dataDir), nil
}

// createShard opens a shard file for writing. A shard larger than one
// buffer gets its space reserved first.
func (d *Drive) createShard(name string, size int64) (*doublebuf.Writer, error) {
	f, err := openFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if size >= int64(doublebuf.DefaultBufferSize) {
		if err := preallocate(f, size); err != nil {
			_ = f.Close()
			_ = removeFile(name)
			return nil, err
		}
	}
	return doublebuf.NewFile(f, size, d.writeOpts), nil
}

// closeShard closes a shard file's writer, which fdatasyncs the file
// unless it was opened with NoSync.
func closeShard(w *doublebuf.Writer) error {
	if !w.NoSync() {
		counters.flushes.Add(1)
	}
	return w.Close()
}

// fill copies r into w: exactly size bytes if size >= 0, else up to EOF.
func fill(ctx context.Context, w *doublebuf.Writer, r io.Reader, size int64) error {
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size)
	}
	n, err := w.ReadFrom(&ctxReader{ctx: ctx, r: src})
	if err != nil || size < 0 {
		return err
	}
	if n < size {
		return fmt.Errorf("%w: input ended after %d of %d bytes", storage.ErrSizeMismatch, n, size)
	}
	// The announced size is all there may be: one more byte is an error.
	var probe [1]byte
	switch _, err := io.ReadFull(r, probe[:]); {
	case err == nil:
		return fmt.Errorf("%w: input longer than %d bytes", storage.ErrSizeMismatch, size)
	case err != io.EOF:
		return err
	}
	return nil
}

// ctxReader stops a copy once ctx is done. It cannot interrupt a Read that
// blocks; a remote stream is unblocked by its own cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ReadFileStream opens a byte range of a file.
func (d *Drive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (rc io.ReadCloser, err error) {
	defer d.track(opReadFileStream, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", volume, path, err)
	}
	rel, err := fileRel(volume, path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if offset < 0 || length < -1 {
		return nil, fmt.Errorf("read %s/%s: %w: offset %d length %d", volume, path, storage.ErrInvalidArgument, offset, length)
	}
	f, err := openFile(d.pathIn(volume, rel), os.O_RDONLY, 0)
	if err != nil {
		return nil, d.fileError("read", volume, path, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%w: not a regular file", storage.ErrFileNotFound)
	}
	if err == nil {
		if length == -1 {
			length = st.Size() - offset
		}
		if offset > st.Size() || length < 0 || length > st.Size()-offset {
			err = fmt.Errorf("%w: file has %d bytes, range of %d at %d asked for", storage.ErrFileCorrupt, st.Size(), length, offset)
		}
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, d.fileError("read", volume, path, err)
	}
	return &fileSection{ctx: ctx, f: f, r: io.LimitedReader{R: f, N: length}}, nil
}

// fileSection is a byte range of an open file.
type fileSection struct {
	ctx context.Context
	f   *os.File
	r   io.LimitedReader // R is f itself, which WriteTo relies on
}

func (s *fileSection) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	return s.r.Read(p)
}

// WriteTo hands the range to w as an *io.LimitedReader over the *os.File,
// which is what net.TCPConn.ReadFrom (sendfile) and os.File.ReadFrom
// (copy_file_range) recognise: a shard served to a socket never passes
// through user space.
func (s *fileSection) WriteTo(w io.Writer) (int64, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	return io.Copy(w, &s.r)
}

func (s *fileSection) Close() error { return s.f.Close() }

// FileRange exposes the open file, positioned at the start of the section,
// and the bytes left in it, so that a server can hand them to sendfile
// (storage/remote's read endpoint) instead of copying through user space.
func (s *fileSection) FileRange() (*os.File, int64) { return s.f, s.r.N }

// Delete removes a file or directory of a system volume, or a data dir of
// a key in a bucket. A directory removed recursively is first renamed into
// the staging area, so it vanishes at once and whole from every reader's
// view, and then deleted there.
func (d *Drive) Delete(ctx context.Context, volume, path string, recursive bool) (err error) {
	defer d.track(opDelete, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return fmt.Errorf("delete %s/%s: %w", volume, path, err)
	}
	rel, err := dirRel(volume, path)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	full := d.pathIn(volume, rel)
	st, err := os.Lstat(full)
	switch {
	case err != nil:
	case !st.IsDir():
		err = removeFile(full)
	case recursive:
		err = d.discard(full)
	default:
		err = rmdir(full)
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("delete %s/%s: %w", volume, path, storage.ErrDirectoryNotEmpty)
		}
	}
	if recursive && storage.IsSystemVolume(volume) {
		// The callers' names there are keys of records too (an upload's
		// record at "uploads/<id>"): a recursive Delete takes the object
		// stored under the path with what is at it, as it takes those
		// stored below it.
		if objErr := d.discard(d.objectDir(volume, path)); objErr == nil {
			err = nil
		} else if !isNotFound(objErr) && err == nil {
			err = objErr
		}
	}
	if err != nil {
		return d.fileError("delete", volume, path, err)
	}
	removeEmptyParents(volumeDir(d.root, volume), filepath.Dir(full))
	return nil
}

// discard makes the tree at path disappear with one rename into the
// staging area, then removes it. A failure of the removal is not reported:
// the tree is out of sight and the staging area is wiped at the next Open.
func (d *Drive) discard(path string) error {
	trash := d.stagingPath()
	if err := rename(path, trash); err != nil {
		return err
	}
	_ = removeTree(trash)
	return nil
}

// ListDir lists a directory of a system volume, or a data dir of a key in
// a bucket.
func (d *Drive) ListDir(ctx context.Context, volume, dirPath string, count int) (names []string, err error) {
	defer d.track(opListDir, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", volume, dirPath, err)
	}
	if err := storage.CheckVolume(volume); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	dirPath = strings.TrimSuffix(dirPath, "/")
	rel := ""
	if dirPath != "" || !storage.IsSystemVolume(volume) {
		var err error
		if rel, err = dirRel(volume, dirPath); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
	}
	entries, err := readDir(d.pathIn(volume, rel))
	if err != nil {
		return nil, d.fileError("list", volume, dirPath, err)
	}
	names = make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
		if e.IsDir() {
			names[i] += "/"
		}
	}
	// Sorted again: the slash of a directory changes its place ("a-b" < "a/").
	slices.Sort(names)
	if count > 0 && len(names) > count {
		names = names[:count]
	}
	return names, nil
}

// isRegularFile reports whether name is a regular file (not following a
// symbolic link).
func isRegularFile(name string) bool {
	st, err := os.Lstat(name)
	return err == nil && st.Mode().IsRegular()
}
