package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// checkUserVolume refuses invalid names and the system volumes, which
// exist on every drive and cannot be made or deleted.
func checkUserVolume(volume string) error {
	if err := storage.CheckVolume(volume); err != nil {
		return err
	}
	if storage.IsSystemVolume(volume) {
		return fmt.Errorf("%w %q: reserved", storage.ErrInvalidVolume, volume)
	}
	return nil
}

// MakeVol creates a volume.
func (d *Drive) MakeVol(ctx context.Context, volume string) (err error) {
	defer d.track(opMakeVol, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return fmt.Errorf("make volume %s: %w", volume, err)
	}
	if err := checkUserVolume(volume); err != nil {
		return fmt.Errorf("make volume: %w", err)
	}
	if err := os.Mkdir(volumeDir(d.root, volume), 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("make volume %s: %w", volume, storage.ErrVolumeExists)
		}
		return osError("make volume", volume, err, storage.ErrDriveOffline)
	}
	if err := syncDir(d.root); err != nil {
		return osError("make volume", volume, err, nil)
	}
	return nil
}

// StatVol describes a volume.
func (d *Drive) StatVol(ctx context.Context, volume string) (info storage.VolInfo, err error) {
	defer d.track(opStatVol, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return storage.VolInfo{}, fmt.Errorf("stat volume %s: %w", volume, err)
	}
	if err := storage.CheckVolume(volume); err != nil {
		return storage.VolInfo{}, fmt.Errorf("stat volume: %w", err)
	}
	dir := volumeDir(d.root, volume)
	st, err := os.Stat(dir)
	if err != nil {
		return storage.VolInfo{}, osError("stat volume", volume, err, storage.ErrVolumeNotFound)
	}
	if !st.IsDir() {
		return storage.VolInfo{}, fmt.Errorf("stat volume %s: %w: not a directory", volume, storage.ErrVolumeNotFound)
	}
	return storage.VolInfo{Name: volume, Created: birthTime(dir, st.ModTime().UTC())}, nil
}

// ListVols lists the volumes: the directories of the drive with a valid
// bucket-style name, which leaves out the system directory and lost+found.
func (d *Drive) ListVols(ctx context.Context) (vols []storage.VolInfo, err error) {
	defer d.track(opListVols, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, osError("list volumes on", d.endpoint, err, storage.ErrDriveOffline)
	}
	vols = make([]storage.VolInfo, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() || storage.IsSystemVolume(e.Name()) || storage.CheckVolume(e.Name()) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		dir := filepath.Join(d.root, e.Name())
		vols = append(vols, storage.VolInfo{Name: e.Name(), Created: birthTime(dir, info.ModTime().UTC())})
	}
	slices.SortFunc(vols, func(a, b storage.VolInfo) int { return strings.Compare(a.Name, b.Name) })
	return vols, nil
}

// DeleteVol deletes a volume that holds no object: no record. Empty
// directories, and data dirs that no record names (what a crash between
// the steps of a delete leaves), do not count: they go with it.
func (d *Drive) DeleteVol(ctx context.Context, volume string) (err error) {
	defer d.track(opDeleteVol, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return fmt.Errorf("delete volume %s: %w", volume, err)
	}
	if err := checkUserVolume(volume); err != nil {
		return fmt.Errorf("delete volume: %w", err)
	}
	dir := volumeDir(d.root, volume)
	err = syscall.Rmdir(dir)
	if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
		switch empty, werr := holdsNoRecords(dir); {
		case werr != nil:
			return osError("delete volume", volume, werr, nil)
		case !empty:
			return fmt.Errorf("delete volume %s: %w", volume, storage.ErrVolumeNotEmpty)
		}
		err = os.RemoveAll(dir)
	}
	if err != nil {
		return osError("delete volume", volume, err, storage.ErrVolumeNotFound)
	}
	if err := syncDir(d.root); err != nil {
		return osError("delete volume", volume, err, nil)
	}
	return nil
}

// errFound stops holdsNoRecords' walk at the first record.
var errFound = errors.New("found a record")

// holdsNoRecords reports whether the tree at dir holds no object record.
// Data dirs are not entered: records are never inside them.
func holdsNoRecords(dir string) (bool, error) {
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir() && isDataDirName(e.Name()):
			return filepath.SkipDir
		case e.Name() == recordName && !e.IsDir():
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return false, nil
	}
	return err == nil, err
}
