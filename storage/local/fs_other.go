//go:build !linux

package local

import (
	"errors"
	"os"
	"time"
)

func capacity(path string) (total, free, used, inodes, freeInodes uint64, err error) {
	return 0, 0, 0, 0, 0, nil
}

func birthTime(path string, fallback time.Time) time.Time { return fallback }

func preallocate(f *os.File, size int64) error { return nil }

func datasync(f *os.File) error { return f.Sync() }

// haveSyncfs: without syncfs(2), files and directories are synced one by
// one.
const haveSyncfs = false

// deviceOf is not needed without group commit (haveSyncfs).
func deviceOf(string) (uint64, error) { return 0, errors.ErrUnsupported }

func syncfs(f *os.File) error { return f.Sync() }
