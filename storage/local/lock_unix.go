//go:build unix

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gridstore/gridstore/storage"
)

// lockDrive takes an exclusive advisory lock on the drive's lock file, held
// until the returned file is closed. Two processes (or two Drives) on one
// directory would clean each other's tmp area and interleave metadata
// updates; the second one is refused instead. The kernel drops the lock
// when the process dies, so a crash never leaves a drive locked.
//
// A lock can outlive its Close for a moment: a child process forked
// meanwhile (by any goroutine) shares the descriptor until it executes its
// program and close-on-exec drops it. A conflict is therefore retried for
// lockPatience before it counts as a second owner.
func lockDrive(sysDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(sysDir, lockFileName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, osError("lock", sysDir, err, storage.ErrUnformatted)
	}
	deadline := time.Now().Add(lockPatience)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", sysDir, storage.ErrDriveInUse)
		}
		return nil, osError("lock", sysDir, err, nil)
	}
	return f, nil
}

// lockPatience is how long lockDrive waits out a lock held by a child
// process between its fork and its exec.
const lockPatience = 500 * time.Millisecond
