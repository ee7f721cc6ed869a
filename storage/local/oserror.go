package local

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/gridstore/gridstore/storage"
)

// classify returns the storage sentinel for an operating system error that
// says something about the drive as a whole, or nil. Errors that depend on
// what the caller was doing (ENOENT: which volume or file?) are left to the
// caller.
func classify(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT:
		return storage.ErrDiskFull
	case syscall.EIO:
		return storage.ErrFaultyDisk
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return storage.ErrDiskAccessDenied
	case syscall.ENAMETOOLONG:
		return storage.ErrInvalidPath
	}
	return nil
}

// osError wraps an operating system error with the operation, the place
// and, when it has one, the storage sentinel that callers branch on. Both
// stay reachable with errors.Is. notFound is the sentinel for ENOENT and
// ENOTDIR (a path component that is a file); nil leaves them unclassified.
func osError(op, where string, err error, notFound error) error {
	sentinel := classify(err)
	if sentinel == nil && notFound != nil && isNotFound(err) {
		sentinel = notFound
	}
	if sentinel == nil {
		return fmt.Errorf("%s %s: %w", op, where, err)
	}
	return fmt.Errorf("%s %s: %w: %w", op, where, sentinel, err)
}

// isNotFound reports an error that means the path does not exist: ENOENT,
// or ENOTDIR when one of its components is a file.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
