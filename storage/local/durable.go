package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The durability rules of this package, in one place:
//   - file contents are synced before the file is renamed into view;
//   - a rename, create or mkdir is durable only once its directory is
//     synced, so every directory an operation changed is synced before the
//     operation reports success;
//   - a commit is a single rename; everything it makes visible was synced
//     before it.

// syncDir fsyncs a directory, making the entries created, renamed or
// removed in it survive a crash.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileSynced creates path, which must not exist, with data and syncs
// it. The caller syncs the directory. On error the file is removed.
func writeFileSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // best effort: the file is garbage either way
	}
	return err
}

// makeParents creates base/rel and its missing parents (rel is a
// slash-separated path below base, which exists). With sync, it syncs the
// parent of every directory it creates so that they survive a crash; the
// tmp area does without, since what it holds is either moved out (and
// synced where it lands) or wiped at the next Open.
func makeParents(base, rel string, sync bool) error {
	if rel == "" || rel == "." {
		return nil
	}
	if st, err := os.Stat(filepath.Join(base, rel)); err == nil && st.IsDir() {
		return nil // the common case: one stat
	}
	dir := base
	for component := range strings.SplitSeq(rel, "/") {
		parent := dir
		dir = filepath.Join(dir, component)
		err := os.Mkdir(dir, 0o755)
		switch {
		case err == nil:
			if sync {
				if err := syncDir(parent); err != nil {
					return err
				}
			}
		case errors.Is(err, fs.ErrExist):
			// Exists: fine if it is a directory; a file in the way fails
			// the next Mkdir (or the caller) with ENOTDIR.
		default:
			return err
		}
	}
	return nil
}

// retryParentsGone runs makeParents(base, rel, sync) and then fn, and again
// (a few times) if fn fails because a directory vanished in between:
// another operation removing empty parent directories (removeEmptyParents)
// may delete one just after it was created here.
func retryParentsGone(base, rel string, sync bool, fn func() error) error {
	var err error
	for range 3 {
		if err = makeParents(base, rel, sync); err != nil {
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
		if err := syscall.Rmdir(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
