package storage

import (
	"context"
	"io"
)

// Drive is one directory on one disk, local or reached over the grid. The
// object layer holds Drives and never knows which kind.
//
// Every method fails fast with ErrDriveOffline once the drive is closed or
// unreachable, checks its names before touching anything (CheckVolume;
// CheckObjectKey for keys; in a bucket, PartPath and DataDirPath for the
// files and data dirs of a key; CheckPath for paths in a system volume), returns errors that wrap one of this package's sentinels with the
// operation and path, and returns promptly once ctx is done where it can
// (long operations check it between blocks or entries; a single system call
// is not interrupted).
//
// Methods are safe for concurrent use. On one drive, the metadata updates of
// one object (RenameData, WriteMetadata, DeleteVersion) are serialised, so
// concurrent writers never lose each other's versions and a record is never
// torn; ordering writers across drives is the object layer's job (namespace
// locks).
type Drive interface {
	// String returns the endpoint, for logs.
	String() string
	// Endpoint returns where the drive is: its path, or URL for a remote one.
	Endpoint() string
	// Close releases the drive; every later call returns ErrDriveOffline.
	Close() error
	// DiskInfo reports capacity, identity, health and operation latencies.
	DiskInfo(ctx context.Context) (DiskInfo, error)

	// MakeVol creates a volume (ErrVolumeExists if it is there).
	MakeVol(ctx context.Context, volume string) error
	// StatVol describes a volume (ErrVolumeNotFound).
	StatVol(ctx context.Context, volume string) (VolInfo, error)
	// ListVols lists the volumes, system volumes excluded, sorted by name.
	ListVols(ctx context.Context) ([]VolInfo, error)
	// DeleteVol deletes an empty volume (ErrVolumeNotEmpty otherwise).
	DeleteVol(ctx context.Context, volume string) error

	// CreateFile streams r into the file volume/path, creating parent
	// directories, replacing any file there. In a bucket, path names a
	// file of a data dir of a key (PartPath). size is the exact number of
	// bytes r yields, or -1 if unknown; fewer or more is ErrSizeMismatch.
	// The file is synced before CreateFile returns, except in TmpVolume,
	// where a drive may leave that to the RenameData that publishes it
	// (which syncs data before its commit). On any error nothing is left at
	// the path. Shards are written to TmpVolume and published with
	// RenameData; in any other volume the file only appears, complete, when
	// CreateFile returns.
	CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error
	// ReadFileStream returns length bytes of the file from offset; length
	// -1 reads to the end. In a bucket, path is a PartPath. A range past the end of the file is
	// ErrFileCorrupt: the caller computed it from metadata, so the file is
	// shorter than it should be. The caller must Close the stream.
	ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error)
	// Delete removes a file or an empty directory; with recursive, a
	// directory and everything in it. It is for staging areas, aborted
	// uploads and leftover data dirs, not for versions (DeleteVersion): in
	// a bucket, path names a data dir of a key (DataDirPath) and nothing
	// else, so that no Delete can reach another key. In a system volume, a
	// recursive Delete also removes the object whose key is path.
	// Directories left empty up to the volume are removed too. A crash may
	// undo a Delete: it never leaves anything half removed, only garbage.
	Delete(ctx context.Context, volume, path string, recursive bool) error
	// ListDir returns up to count (<= 0: all) entries of a directory in
	// lexical order, directories with a trailing "/": in a system volume
	// (dirPath "" is the volume itself), or a data dir of a key in a bucket
	// (DataDirPath).
	ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error)

	// RenameData publishes a new version of the object dstVolume/dstPath:
	// it moves the data dir written at srcVolume/srcPath (normally in
	// TmpVolume) to dstPath/fi.DataDir and adds fi's FileVersion to the
	// object's metadata record, replacing a version with the same ID. A
	// version without a data dir (inline data, delete marker) is published
	// with empty srcVolume and srcPath. The source must be in TmpVolume or
	// MultipartVolume (ErrInvalidVolume). Data and metadata are synced before
	// it returns; the metadata rename is the commit, so a crash leaves the
	// old state or the new one. The replaced version's data dir is kept and
	// returned for the caller to delete.
	RenameData(ctx context.Context, srcVolume, srcPath string, fi FileInfo, dstVolume, dstPath string) (RenameDataResult, error)
	// ReadVersion returns a version of the object (ErrFileNotFound,
	// ErrFileVersionNotFound); versionID "" is the latest, which may be a
	// delete marker (Deleted). Inline data is included.
	ReadVersion(ctx context.Context, volume, path, versionID string) (FileInfo, error)
	// ReadMetadata returns the object's metadata record as stored, after
	// checking that it decodes (ErrFileCorrupt otherwise); DecodeObjectMeta
	// reads it. It is for comparing records across drives and healing.
	ReadMetadata(ctx context.Context, volume, path string) ([]byte, error)
	// WriteMetadata stores fi's FileVersion in the object's record: it
	// replaces the version with the same ID in place (its data dir must
	// not change: data moves only through RenameData), or adds a version
	// that has no data dir (inline data, delete marker), creating the
	// object if needed. Synced before it returns, like RenameData.
	WriteMetadata(ctx context.Context, volume, path string, fi FileInfo) error
	// DeleteVersion removes one version (NullVersionID for the null one;
	// "" is refused) and then its data dir, unless another version uses
	// it. The object goes with its last version; the keys below it stay.
	// On a record that does not decode (ErrFileCorrupt), any version ID
	// removes the object and its data dirs from the drive: nothing of it
	// can be read there, and healing restores it from the other drives.
	DeleteVersion(ctx context.Context, volume, path, versionID string) error
	// WalkDir calls fn for the objects (and, unless recursive, the common
	// prefixes, marked Dir) selected by opts, in lexical order of their
	// names, reading one directory at a time. A key may be an object and
	// the start of other keys at once ("p" and "p/q"). An error from fn stops the walk
	// and is returned as is. A prefix that names nothing yields nothing.
	WalkDir(ctx context.Context, opts WalkDirOptions, fn func(MetaEntry) error) error
	// VerifyFile reads every part of the version fi describes (its inline
	// data, if it has no data dir) and checks every bitrot chunk against
	// the layout in fi. A missing part is ErrFileNotFound; a truncated,
	// overlong or rotten one is a *CorruptError (ErrFileCorrupt).
	VerifyFile(ctx context.Context, volume, path string, fi FileInfo) error
}

// Availability is what a drive can say about itself without a call: a
// remote drive whose node the liveness checks find dead or unreachable, a
// local drive its health checks took out of service. It answers at once,
// so a request never waits to learn what is known already, and a drive
// that is merely busy is not taken for offline (a timed probe under load
// was). known is false when the drive cannot tell (a remote drive without
// a liveness view): then it is asked.
type Availability interface {
	Available() (up, known bool)
}

// KnownDown reports whether d says, without a call, that it is offline.
func KnownDown(d Drive) bool {
	if a, ok := d.(Availability); ok {
		up, known := a.Available()
		return known && !up
	}
	return false
}
