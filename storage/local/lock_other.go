//go:build !unix

package local

import (
	"os"
	"path/filepath"

	"github.com/gridstore/gridstore/storage"
)

// lockDrive only opens the lock file where flock is not available: the
// drive is then not protected against a second process.
func lockDrive(sysDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(sysDir, lockFileName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, osError("lock", sysDir, err, storage.ErrUnformatted)
	}
	return f, nil
}
