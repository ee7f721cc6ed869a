//go:build !linux

package doublebuf

import (
	"errors"
	"os"
)

// errNoDirectIO: O_DIRECT is a Linux flag; elsewhere the writer is always
// buffered.
var errNoDirectIO = errors.New("doublebuf: direct I/O is only supported on Linux")

func setDirect(f *os.File, on bool) error {
	if !on {
		return nil
	}
	return errNoDirectIO
}

// datasync falls back to a full fsync where fdatasync is not available.
func datasync(f *os.File) error {
	return f.Sync()
}
