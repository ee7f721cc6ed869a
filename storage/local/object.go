package local

import (
	"context"
	"errors"
	"fmt"
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
	// Versions are kept newest first: the older ones follow the new one.
	if i := meta.Find(v.VersionID); i >= 0 {
		for _, o := range meta.Versions[i+1:] {
			res.Older = append(res.Older, o.VersionID)
		}
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
//
// A missing record is not told from a missing volume here, as readRecord
// would with a stat of the volume: every caller goes on to commit, whose
// directories cannot be made in a missing volume and which reports
// ErrVolumeNotFound then. That spares a new key's write a call per drive.
func (d *Drive) loadForUpdate(volume, key string) (*storage.ObjectMeta, error) {
	raw, err := readMetaFile(filepath.Join(d.objectDir(volume, key), recordName))
	if isNotFound(err) || errors.Is(err, storage.ErrFileNotFound) {
		return &storage.ObjectMeta{}, nil
	}
	if err != nil {
		return nil, d.fileError("read metadata of", volume, key, err)
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
	// Raw system calls rather than an *os.File: a record is read whole in
	// one read, and os.OpenFile's set-up of a file for the poller (two
	// fcntls and an epoll_ctl that fails for a regular file) and its
	// finalizer cost more than the read itself on small-object GETs.
	// O_NONBLOCK keeps a FIFO named like a record from blocking.
	counters.opens.Add(1)
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link", storage.ErrFileNotFound, name)
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	buf, err := readOpenRecord(fd, name)
	switch {
	case errors.Is(err, errNotRegular):
		return nil, fmt.Errorf("%w: %s is not a regular file", storage.ErrFileNotFound, name)
	case errors.Is(err, errRecordTooLarge):
		return nil, fmt.Errorf("%w: metadata record %v", storage.ErrFileCorrupt, err)
	}
	return buf, err
}

// commit publishes an object's new record and, if dataDir is not "", the
// data dir srcDir as its data dir dataDir, in two flushes (flush.go):
//
//  1. the record is written aside, in the staging area; the object's
//     directory is made if it is new; the data dir is moved in beside the
//     record, where nothing refers to it yet;
//  2. flush: the record, the data (whose files RenameData's caller wrote
//     unsynced, with group commit), the data dir's entries and the new
//     directories are durable;
//  3. the record is renamed over the old one: the commit;
//  4. flush: the commit is durable, and the call may report success.
//
// A crash before the commit leaves the old record and at most an
// unreferenced data dir (Sweep removes it) or a staged record (Open wipes
// the staging area); after it, the new record, with everything it names.
//
// Other keys' operations may remove the directory, or one above it, while
// it is empty (removeEmptyParents); the steps that need it run again after
// making it anew (and flushing that) when it vanished.
func (d *Drive) commit(volume, key, srcDir, dataDir string, record []byte) error {
	volDir := volumeDir(d.root, volume)
	rel := keyRel(key)
	objDir := filepath.Join(volDir, filepath.FromSlash(rel))
	recordPath := filepath.Join(objDir, recordName)
	staged := d.stagingPath()
	if err := writeNewFile(staged, record, d.syncsEachFile()); err != nil {
		return osError("stage record of", volume+"/"+key, err, nil)
	}
	reached("commit:record-staged")
	dataDst := filepath.Join(objDir, dataDirName(dataDir))
	moved := false
	var p pending
	err := retryParentsGone(volDir, rel, &p, func() error {
		if dataDir != "" && !moved {
			if err := rename(srcDir, dataDst); err != nil {
				return err
			}
			moved = true
			// The data dir's part files' entries, and its own.
			p.add(dataDst)
			p.add(objDir)
			reached("commit:data-moved")
		}
		trace("prepared", key)
		if err := d.flush(&p); err != nil {
			return err
		}
		reached("commit:flushed")
		trace("renaming", key)
		return rename(staged, recordPath)
	})
	if err == nil {
		trace("renamed", key)
		reached("commit:committed")
		p.add(objDir)
		err = d.flush(&p)
		if err != nil {
			// Committed, but not known to be durable: report it, as a
			// failed write, and leave the data where the record says.
			return d.fileError("sync commit of", volume, key, err)
		}
		trace("done", key)
		return nil
	}
	_ = removeFile(staged)
	if moved {
		// Hand the data dir back, so that the caller's clean-up of its
		// source removes it instead of leaving it here unreferenced.
		_ = rename(dataDst, srcDir)
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
	if err := rename(filepath.Join(objDir, recordName), trash); err != nil {
		return err
	}
	reached("delete:committed")
	p := pending{dirs: []string{objDir}}
	if err := d.flush(&p); err != nil {
		return err
	}
	_ = removeFile(trash) // out of sight already; the staging area is wiped at Open
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
