package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"path/filepath"
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
// For an object that exists, the data dir is moved in beside the record
// (invisible: nothing refers to it yet), the directory is synced, and the
// new record replaces the old one by rename: the commit. For a new object,
// its whole directory (data dir and record) is put together in the staging
// area and renamed into place: one rename makes it exist, complete.
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
		if err := checkFile(srcVolume, srcPath); err != nil {
			return fail(err)
		}
		// Data is published from the staging volumes only: moving a
		// directory out of a bucket could take another object with it.
		if !storage.IsSystemVolume(srcVolume) {
			return fail(fmt.Errorf("%w: %s: data is published from %s or %s only", storage.ErrInvalidVolume, srcVolume, storage.TmpVolume, storage.MultipartVolume))
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
	meta, exists, err := d.loadForUpdate(dstVolume, dstPath)
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
	if exists {
		err = d.commitExisting(dstVolume, dstPath, srcDir, v.DataDir, record)
	} else {
		err = d.commitNew(dstVolume, dstPath, srcDir, v.DataDir, record)
	}
	if err != nil {
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
	if err := storage.CheckPath(path); err != nil {
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

// loadForUpdate reads the record of an object about to change. exists
// tells whether the object's directory has a record to replace. A corrupt
// record is replaced by a new one (the versions it held are lost on this
// drive, as they already were, and come back by healing); one of an
// unknown format is left alone.
func (d *Drive) loadForUpdate(volume, path string) (meta *storage.ObjectMeta, exists bool, err error) {
	raw, err := d.readRecord(volume, path)
	if errors.Is(err, storage.ErrFileNotFound) {
		return &storage.ObjectMeta{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	meta, err = storage.DecodeObjectMeta(raw)
	if errors.Is(err, storage.ErrFileCorrupt) {
		return &storage.ObjectMeta{}, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return meta, true, nil
}

// readRecord reads an object's metadata record, ErrFileNotFound if it has
// none (ErrVolumeNotFound if the volume is missing).
func (d *Drive) readRecord(volume, path string) ([]byte, error) {
	raw, err := readMetaFile(filepath.Join(d.pathIn(volume, path), storage.MetaFileName))
	if err != nil {
		return nil, d.fileError("read metadata of", volume, path, err)
	}
	return raw, nil
}

// readMetaFile reads a record file, refusing one too large to be a record
// before allocating for it. A record is a regular file: a directory of
// that name (the object "x/meta" inside the prefix "x/") or a symbolic link
// is not one.
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

// commitExisting publishes a new record (and data dir) of an object that
// has a record.
func (d *Drive) commitExisting(volume, path, srcDir, dataDir string, record []byte) error {
	objDir := d.pathIn(volume, path)
	if dataDir != "" {
		// The part files' entries in the data dir must be durable before
		// the record can point at them.
		if err := syncDir(srcDir); err != nil {
			return osError("sync", srcDir, err, nil)
		}
		reached("existing:data-synced")
		dst := filepath.Join(objDir, dataDir)
		if err := os.Rename(srcDir, dst); err != nil {
			return d.fileError("move data dir to", volume, path, err)
		}
		reached("existing:data-moved")
		err := syncDir(objDir)
		if err == nil {
			reached("existing:data-dir-synced")
			err = d.replaceRecord(objDir, record, "existing")
		}
		if err != nil {
			// Hand the data dir back, so that the caller's clean-up of its
			// source removes it instead of leaving it here unreferenced.
			_ = os.Rename(dst, srcDir)
			return d.fileError("commit", volume, path, err)
		}
		return nil
	}
	if err := d.replaceRecord(objDir, record, "existing"); err != nil {
		return d.fileError("commit", volume, path, err)
	}
	return nil
}

// replaceRecord writes record aside, syncs it and renames it over the
// object's record: the commit. Then it syncs the object's directory, so
// that the commit survives a power loss too.
func (d *Drive) replaceRecord(objDir string, record []byte, step string) error {
	staged := d.stagingPath()
	if err := writeFileSynced(staged, record); err != nil {
		return err
	}
	reached(step + ":record-staged")
	if err := os.Rename(staged, filepath.Join(objDir, storage.MetaFileName)); err != nil {
		_ = os.Remove(staged)
		return err
	}
	reached(step + ":committed")
	return syncDir(objDir)
}

// commitNew creates an object: its directory is assembled in the staging
// area and renamed into place.
func (d *Drive) commitNew(volume, path, srcDir, dataDir string, record []byte) (err error) {
	if err := d.checkNoObjectAbove(volume, path); err != nil {
		return err
	}
	stage := d.stagingPath()
	if err := os.Mkdir(stage, 0o755); err != nil {
		return osError("stage", path, err, nil)
	}
	movedData := false
	defer func() {
		if err != nil {
			if movedData {
				_ = os.Rename(filepath.Join(stage, dataDir), srcDir)
			}
			_ = os.RemoveAll(stage)
		}
	}()
	if dataDir != "" {
		if err := syncDir(srcDir); err != nil {
			return osError("sync", srcDir, err, nil)
		}
		if err := os.Rename(srcDir, filepath.Join(stage, dataDir)); err != nil {
			return d.fileError("stage data dir of", volume, path, err)
		}
		movedData = true
		reached("new:data-staged")
	}
	if err := writeFileSynced(filepath.Join(stage, storage.MetaFileName), record); err != nil {
		return osError("stage record of", path, err, nil)
	}
	if err := syncDir(stage); err != nil {
		return osError("stage", path, err, nil)
	}
	reached("new:staged")
	objDir := d.pathIn(volume, path)
	err = retryParentsGone(volumeDir(d.root, volume), pathpkg.Dir(path), true, func() error { return os.Rename(stage, objDir) })
	if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("%w: %s holds other objects", storage.ErrDirectoryNotEmpty, path)
	}
	if err != nil {
		return d.fileError("commit", volume, path, err)
	}
	reached("new:committed")
	if err := syncDir(filepath.Dir(objDir)); err != nil {
		return d.fileError("commit", volume, path, err)
	}
	return nil
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

func checkObjectName(volume, path string) error {
	if err := storage.CheckVolume(volume); err != nil {
		return err
	}
	return storage.CheckPath(path)
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
	meta, exists, err := d.loadForUpdate(volume, path)
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
	if exists {
		err = d.commitExisting(volume, path, "", "", record)
	} else {
		err = d.commitNew(volume, path, "", "", record)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// DeleteVersion removes one version: the record is rewritten without it
// (the commit), then its data dir goes. The last version takes the whole
// object directory with it, in one rename out of sight.
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
	if err != nil {
		return fail(err)
	}
	gone, ok := meta.Remove(versionID)
	if !ok {
		return fail(storage.ErrFileVersionNotFound)
	}
	objDir := d.pathIn(volume, path)
	if len(meta.Versions) == 0 {
		trash := d.stagingPath()
		if err := os.Rename(objDir, trash); err != nil {
			return fail(d.fileError("remove", volume, path, err))
		}
		reached("delete:committed")
		parent := filepath.Dir(objDir)
		if err := syncDir(parent); err != nil {
			return fail(d.fileError("remove", volume, path, err))
		}
		_ = os.RemoveAll(trash) // out of sight already; the staging area is wiped at Open
		removeEmptyParents(volumeDir(d.root, volume), parent)
		return nil
	}
	record, err := encodeRecord(meta)
	if err != nil {
		return fail(err)
	}
	if err := d.replaceRecord(objDir, record, "delete"); err != nil {
		return fail(d.fileError("commit", volume, path, err))
	}
	if gone.DataDir != "" && !meta.UsesDataDir(gone.DataDir) {
		// After the commit, nothing refers to it; if this fails it is
		// garbage, not a failed delete.
		_ = d.discard(filepath.Join(objDir, gone.DataDir))
	}
	return nil
}
