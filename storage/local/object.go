package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// crashPoint, when set (by crash tests only), is called at every step of a
// commit, named as in the calls to reached below, and may end the process
// there.
var crashPoint func(point string)

func reached(point string) {
	if crashPoint != nil {
		crashPoint(point)
	}
}

// RenameData publishes a version: see storage.Drive.
//
// The new record is written aside and synced, the data dir is moved into
// the object's directory (invisible: nothing refers to it yet), and the
// new record is renamed over the old one: the commit (commit).
func (d *Drive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (res storage.RenameDataResult, err error) {
	defer d.track(opRenameData, time.Now(), &err)
	fail := func(err error) (storage.RenameDataResult, error) {
		return storage.RenameDataResult{}, fmt.Errorf("rename data %s/%s to %s/%s: %w", srcVolume, srcPath, dstVolume, dstPath, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	v := fi.FileVersion
	if err := checkObject(dstVolume, dstPath, &v); err != nil {
		return fail(err)
	}
	var srcDir string
	if v.DataDir != "" {
		// Data is published from the staging volumes only: moving a
		// directory out of a bucket could take another object with it.
		if !storage.IsSystemVolume(srcVolume) {
			return fail(fmt.Errorf("%w: %s: data is published from %s or %s only", storage.ErrInvalidVolume, srcVolume, storage.TmpVolume, storage.MultipartVolume))
		}
		if err := storage.CheckPath(srcPath); err != nil {
			return fail(err)
		}
		srcDir = d.pathIn(srcVolume, srcPath)
		if st, err := os.Stat(srcDir); err != nil {
			return fail(d.fileError("stat", srcVolume, srcPath, err))
		} else if !st.IsDir() {
			return fail(fmt.Errorf("%w: source is not a directory", storage.ErrFileNotFound))
		}
	} else if srcVolume != "" || srcPath != "" {
		return fail(fmt.Errorf("%w: a source without a data dir to publish it as", storage.ErrInvalidArgument))
	}

	unlock := d.lockObject(dstVolume, dstPath)
	defer unlock()
	meta, err := d.loadForUpdate(dstVolume, dstPath)
	if err != nil {
		return fail(err)
	}
	if meta.UsesDataDir(v.DataDir) {
		return fail(fmt.Errorf("%w: data dir %s is already published", storage.ErrInvalidArgument, v.DataDir))
	}
	old, replaced := meta.Put(v)
	record, err := encodeRecord(meta)
	if err != nil {
		return fail(err)
	}
	if err := d.commit(dstVolume, dstPath, srcDir, v.DataDir, record); err != nil {
		return fail(err)
	}
	if replaced && old.DataDir != "" && !meta.UsesDataDir(old.DataDir) {
		res.OldDataDir = old.DataDir
	}
	return res, nil
}

// checkObject checks the names of an object operation and the version to
// store, normalising an empty version ID to the null version.
func checkObject(volume, path string, v *storage.FileVersion) error {
	if err := storage.CheckVolume(volume); err != nil {
		return err
	}
	if err := storage.CheckObjectKey(path); err != nil {
		return err
	}
	if v.VersionID == "" {
		v.VersionID = storage.NullVersionID
	}
	return v.Validate()
}

// encodeRecord encodes a record, telling too many versions apart.
func encodeRecord(meta *storage.ObjectMeta) ([]byte, error) {
	if len(meta.Versions) > storage.MaxVersions {
		return nil, fmt.Errorf("%w: %d versions, at most %d", storage.ErrTooManyVersions, len(meta.Versions), storage.MaxVersions)
	}
	return meta.Encode()
}

// loadForUpdate reads the record of an object about to change; an object
// without one starts empty. A corrupt record is replaced by a new one (the
// versions it held are lost on this drive, as they already were, and come
// back by healing); one of an unknown format is left alone.
func (d *Drive) loadForUpdate(volume, key string) (*storage.ObjectMeta, error) {
	raw, err := d.readRecord(volume, key)
	if errors.Is(err, storage.ErrFileNotFound) {
		return &storage.ObjectMeta{}, nil
	}
	if err != nil {
		return nil, err
	}
	meta, err := storage.DecodeObjectMeta(raw)
	if errors.Is(err, storage.ErrFileCorrupt) {
		return &storage.ObjectMeta{}, nil
	}
	return meta, err
}

// readRecord reads an object's metadata record, ErrFileNotFound if it has
// none (ErrVolumeNotFound if the volume is missing).
func (d *Drive) readRecord(volume, path string) ([]byte, error) {
	raw, err := readMetaFile(filepath.Join(d.objectDir(volume, path), recordName))
	if err != nil {
		return nil, d.fileError("read metadata of", volume, path, err)
	}
	return raw, nil
}

// readMetaFile reads a record file, refusing one too large to be a record
// before allocating for it. A record is a regular file: a symbolic link or
// anything else of that name is not one.
func readMetaFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			err = fmt.Errorf("%w: %s is a symbolic link", storage.ErrFileNotFound, name)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", storage.ErrFileNotFound, name)
	}
	if st.Size() > storage.MaxMetaSize {
		return nil, fmt.Errorf("%w: metadata record of %d bytes, more than %d", storage.ErrFileCorrupt, st.Size(), storage.MaxMetaSize)
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return buf, nil
}

// commit publishes an object's new record and, if dataDir is not "", the
// data dir srcDir as its data dir dataDir. The record is written aside
// and synced; the object's directory is made (durably) if it is new; the
// data dir is moved in and the directory synced, so that its entry is
// durable before anything refers to it; then the record is renamed over
// the old one, the commit, and the directory synced again so that the
// commit survives a power loss too. A crash before the commit leaves the
// old record and at most an unreferenced data dir (Sweep removes it).
//
// Other keys' operations may remove the directory, or one above it, while
// it is empty (removeEmptyParents); the steps that need it run again after
// making it anew when it vanished.
func (d *Drive) commit(volume, key, srcDir, dataDir string, record []byte) error {
	volDir := volumeDir(d.root, volume)
	rel := keyRel(key)
	objDir := filepath.Join(volDir, filepath.FromSlash(rel))
	if dataDir != "" {
		// The part files' entries in the data dir must be durable before
		// the record can point at them.
		if err := syncDir(srcDir); err != nil {
			return osError("sync", srcDir, err, nil)
		}
		reached("commit:data-synced")
	}
	staged := d.stagingPath()
	if err := writeFileSynced(staged, record); err != nil {
		return osError("stage record of", volume+"/"+key, err, nil)
	}
	reached("commit:record-staged")
	dataDst := filepath.Join(objDir, dataDirName(dataDir))
	moved := false
	err := retryParentsGone(volDir, rel, true, func() error {
		if dataDir != "" && !moved {
			if err := os.Rename(srcDir, dataDst); err != nil {
				return err
			}
			moved = true
			reached("commit:data-moved")
			if err := syncDir(objDir); err != nil {
				return err
			}
			reached("commit:data-dir-synced")
		}
		return os.Rename(staged, filepath.Join(objDir, recordName))
	})
	if err == nil {
		reached("commit:committed")
		err = syncDir(objDir)
		if err != nil {
			// Committed, but not known to be durable: report it, as a
			// failed write, and leave the data where the record says.
			return d.fileError("sync commit of", volume, key, err)
		}
		return nil
	}
	_ = os.Remove(staged)
	if moved {
		// Hand the data dir back, so that the caller's clean-up of its
		// source removes it instead of leaving it here unreferenced.
		_ = os.Rename(dataDst, srcDir)
	}
	return d.fileError("commit", volume, key, err)
}

// ReadVersion returns one version of an object.
func (d *Drive) ReadVersion(ctx context.Context, volume, path, versionID string) (fi storage.FileInfo, err error) {
	defer d.track(opReadVersion, time.Now(), &err)
	fail := func(err error) (storage.FileInfo, error) {
		return storage.FileInfo{}, fmt.Errorf("read version %q of %s/%s: %w", versionID, volume, path, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	if err := checkObjectName(volume, path); err != nil {
		return fail(err)
	}
	meta, err := d.loadRecord(volume, path)
	if err != nil {
		return fail(err)
	}
	i := meta.Find(versionID)
	if i < 0 {
		return fail(storage.ErrFileVersionNotFound)
	}
	return meta.FileInfo(volume, path, i), nil
}

func checkObjectName(volume, key string) error {
	if err := storage.CheckVolume(volume); err != nil {
		return err
	}
	return storage.CheckObjectKey(key)
}

// loadRecord reads and decodes an object's record.
func (d *Drive) loadRecord(volume, path string) (*storage.ObjectMeta, error) {
	raw, err := d.readRecord(volume, path)
	if err != nil {
		return nil, err
	}
	return storage.DecodeObjectMeta(raw)
}

// ReadMetadata returns an object's record as stored, once it has decoded.
func (d *Drive) ReadMetadata(ctx context.Context, volume, path string) (raw []byte, err error) {
	defer d.track(opReadMetadata, time.Now(), &err)
	if err := d.ready(ctx); err != nil {
		return nil, fmt.Errorf("read metadata of %s/%s: %w", volume, path, err)
	}
	if err := checkObjectName(volume, path); err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	raw, err = d.readRecord(volume, path)
	if err == nil {
		_, err = storage.DecodeObjectMeta(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s/%s: %w", volume, path, err)
	}
	return raw, nil
}

// WriteMetadata updates a version in place or adds one without data.
func (d *Drive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) (err error) {
	defer d.track(opWriteMetadata, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("write metadata of %s/%s: %w", volume, path, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	v := fi.FileVersion
	if err := checkObject(volume, path, &v); err != nil {
		return fail(err)
	}
	unlock := d.lockObject(volume, path)
	defer unlock()
	meta, err := d.loadForUpdate(volume, path)
	if err != nil {
		return fail(err)
	}
	if i := meta.Find(v.VersionID); i >= 0 && meta.Versions[i].DataDir != v.DataDir {
		return fail(fmt.Errorf("%w: version %s has data dir %q, not %q: data moves only with RenameData",
			storage.ErrInvalidArgument, v.VersionID, meta.Versions[i].DataDir, v.DataDir))
	} else if i < 0 && v.DataDir != "" {
		return fail(fmt.Errorf("%w: version %s with a data dir must be published with RenameData", storage.ErrFileVersionNotFound, v.VersionID))
	}
	meta.Put(v)
	record, err := encodeRecord(meta)
	if err != nil {
		return fail(err)
	}
	if err := d.commit(volume, path, "", "", record); err != nil {
		return fail(err)
	}
	return nil
}

// DeleteVersion removes one version: the record is rewritten without it
// (the commit), then its data dir goes. The last version takes the record
// with it, in one rename out of sight, and then every data dir of the
// object, and the directory if no key below it remains. A corrupt record
// is removed the same way, whatever the version: nothing on this drive
// can be read from it (as RenameData replaces one).
func (d *Drive) DeleteVersion(ctx context.Context, volume, path, versionID string) (err error) {
	defer d.track(opDeleteVersion, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("delete version %q of %s/%s: %w", versionID, volume, path, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	if err := checkObjectName(volume, path); err != nil {
		return fail(err)
	}
	if err := storage.CheckVersionID(versionID); err != nil {
		return fail(err)
	}
	unlock := d.lockObject(volume, path)
	defer unlock()
	meta, err := d.loadRecord(volume, path)
	var gone []string // data dirs that the record no longer names
	switch {
	case errors.Is(err, storage.ErrFileCorrupt):
		meta = &storage.ObjectMeta{}
	case err != nil:
		return fail(err)
	default:
		before := meta.DataDirs()
		if _, ok := meta.Remove(versionID); !ok {
			return fail(storage.ErrFileVersionNotFound)
		}
		gone = slices.DeleteFunc(before, meta.UsesDataDir)
	}
	objDir := d.objectDir(volume, path)
	if len(meta.Versions) == 0 {
		if err := d.removeObject(volume, objDir); err != nil {
			return fail(d.fileError("remove", volume, path, err))
		}
		return nil
	}
	record, err := encodeRecord(meta)
	if err != nil {
		return fail(err)
	}
	if err := d.commit(volume, path, "", "", record); err != nil {
		return fail(err)
	}
	// After the commit, nothing refers to a data dir the record no longer
	// names; if removing it fails it is garbage, not a failed delete.
	d.discardDataDirs(objDir, gone)
	return nil
}

// removeObject removes the object whose directory is objDir: its record,
// by a rename out of sight (the commit), then the directory with its data
// dirs (an object's directory holds nothing else), then the directories
// left empty up to the volume. The keys below it, in its prefix directory,
// stay. The caller holds the object's lock.
func (d *Drive) removeObject(volume, objDir string) error {
	trash := d.stagingPath()
	if err := os.Rename(filepath.Join(objDir, recordName), trash); err != nil {
		return err
	}
	reached("delete:committed")
	if err := syncDir(objDir); err != nil {
		return err
	}
	_ = os.Remove(trash)  // out of sight already; the staging area is wiped at Open
	_ = d.discard(objDir) // what a failure leaves, Sweep removes
	removeEmptyParents(volumeDir(d.root, volume), filepath.Dir(objDir))
	return nil
}

// discardDataDirs removes data dirs that no record refers to any more.
// Failures leave garbage for Sweep, not a failed operation.
func (d *Drive) discardDataDirs(objDir string, dataDirs []string) {
	for _, id := range dataDirs {
		_ = d.discard(filepath.Join(objDir, dataDirName(id)))
	}
}
