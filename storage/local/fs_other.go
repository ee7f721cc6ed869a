//go:build !linux

package local

import (
	"os"
	"time"
)

func capacity(path string) (total, free, used, inodes, freeInodes uint64, err error) {
	return 0, 0, 0, 0, 0, nil
}

func birthTime(path string, fallback time.Time) time.Time { return fallback }

func preallocate(f *os.File, size int64) error { return nil }
