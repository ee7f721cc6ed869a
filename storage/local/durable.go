package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The durability rules of this package, in one place:
//   - file contents are synced before the file is renamed into view;
//   - a rename, create or mkdir is durable only once its directory is
//     synced, so every directory an operation changed is synced before the
//     operation reports success;
//   - a commit is a single rename; everything it makes visible was synced
//     before it.

// writeFileSynced creates path, which must not exist, with data and syncs
// it. The caller syncs the directory. On error the file is removed.
func writeFileSynced(path string, data []byte) error { return writeNewFile(path, data, true) }

// writeNewFile creates path, which must not exist, with data, and with
// sync fdatasyncs it (which persists its size with its data: all a new
// file that is renamed into view needs). On error the file is removed.
func writeNewFile(path string, data []byte, sync bool) error {
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = fdatasyncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = removeFile(path) // best effort: the file is garbage either way
	}
	return err
}

// makeParents creates base/rel and its missing parents (rel is a
// slash-separated path below base, which exists). With p, it adds the
// parent of every directory it creates to p, for the caller's next flush;
// without, nothing is synced: the tmp area does without, since what it
// holds is either moved out (and synced where it lands) or wiped at the
// next Open.
func makeParents(base, rel string, p *pending) error {
	if rel == "" || rel == "." {
		return nil
	}
	dir := filepath.Join(base, filepath.FromSlash(rel))
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return nil // the common case: one stat
	}
	return makeDir(base, dir, p)
}

// makeDir creates dir, below base, and its missing parents, from the
// bottom up: a new object under an existing prefix costs one mkdir
// whatever the depth of its key. An existing directory is fine; a file in
// the way fails the next Mkdir (or the caller) with ENOTDIR.
func makeDir(base, dir string, p *pending) error {
	err := mkdir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(dir)
		if parent == base || !strings.HasPrefix(parent, base+string(filepath.Separator)) {
			return err // base itself is missing: not created here
		}
		if err := makeDir(base, parent, p); err != nil {
			return err
		}
		err = mkdir(dir)
	}
	switch {
	case err == nil:
		if p != nil {
			p.add(filepath.Dir(dir))
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return err
}

// retryParentsGone runs makeParents(base, rel, p) and then fn, and again
// (a few times) if fn fails because a directory vanished in between:
// another operation removing empty parent directories (removeEmptyParents)
// may delete one just after it was created here.
func retryParentsGone(base, rel string, p *pending, fn func() error) error {
	var err error
	for range 3 {
		if err = makeParents(base, rel, p); err != nil {
			return err
		}
		if err = fn(); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// removeEmptyParents removes dir and its parents up to, not including,
// stop, as long as they are empty. It stops quietly at the first one that
// is not empty or cannot be removed: leftover empty directories are only
// untidy. Not synced: an empty directory that comes back after a crash is
// harmless.
func removeEmptyParents(stop, dir string) {
	for dir != stop && strings.HasPrefix(dir, stop+string(filepath.Separator)) {
		if err := rmdir(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
