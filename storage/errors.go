package storage

import "fmt"

// Error is a sentinel error of a drive. Callers branch on it with errors.Is;
// drives always return it wrapped with the operation and path.
//
// Each sentinel carries a stable code, so that the remote drive can register
// it with the grid (grid.RegisterError(e.Code(), e)) and errors.Is keeps
// working on the far side of a call. Codes are part of the wire contract:
// never change or reuse one.
type Error struct {
	code string
	msg  string
}

func (e *Error) Error() string { return e.msg }

// Code returns the stable wire code of the sentinel.
func (e *Error) Code() string { return e.code }

// Volume errors.
var (
	// ErrVolumeNotFound: the volume (bucket) does not exist on this drive.
	ErrVolumeNotFound = &Error{"storage.VolumeNotFound", "storage: volume not found"}
	// ErrVolumeExists: MakeVol of a volume that already exists.
	ErrVolumeExists = &Error{"storage.VolumeExists", "storage: volume already exists"}
	// ErrVolumeNotEmpty: DeleteVol of a volume that still holds files.
	ErrVolumeNotEmpty = &Error{"storage.VolumeNotEmpty", "storage: volume not empty"}
)

// File and object errors.
var (
	// ErrFileNotFound: no such file, directory or object on this drive.
	ErrFileNotFound = &Error{"storage.FileNotFound", "storage: file not found"}
	// ErrFileVersionNotFound: the object exists but not that version.
	ErrFileVersionNotFound = &Error{"storage.FileVersionNotFound", "storage: file version not found"}
	// ErrFileCorrupt: a metadata record or shard failed its integrity check
	// (bad checksum, truncated, bitrot). The copy on this drive is unusable
	// and must be healed; see CorruptError for where.
	ErrFileCorrupt = &Error{"storage.FileCorrupt", "storage: file corrupt"}
	// ErrUnknownFormat: a record written by a newer format version than this
	// binary understands, or a drive's format record of an older one it no
	// longer reads. Unlike ErrFileCorrupt it must not be overwritten.
	ErrUnknownFormat = &Error{"storage.UnknownFormat", "storage: unknown format version"}
	// ErrSizeMismatch: CreateFile got fewer or more bytes than announced.
	ErrSizeMismatch = &Error{"storage.SizeMismatch", "storage: input size does not match the announced size"}
	// ErrDirectoryNotEmpty: a non-recursive Delete of a non-empty directory.
	ErrDirectoryNotEmpty = &Error{"storage.DirectoryNotEmpty", "storage: directory not empty"}
	// ErrTooManyVersions: the object already has MaxVersions versions.
	ErrTooManyVersions = &Error{"storage.TooManyVersions", "storage: too many versions"}
)

// Argument errors: the request is wrong, retrying it cannot help.
var (
	// ErrInvalidVolume: a volume name this layer refuses (see CheckVolume).
	ErrInvalidVolume = &Error{"storage.InvalidVolume", "storage: invalid volume name"}
	// ErrInvalidPath: a path this layer refuses (see CheckPath).
	ErrInvalidPath = &Error{"storage.InvalidPath", "storage: invalid path"}
	// ErrInvalidArgument: any other malformed argument (negative size,
	// bad version ID or data dir, inconsistent FileInfo...).
	ErrInvalidArgument = &Error{"storage.InvalidArgument", "storage: invalid argument"}
)

// Drive errors: the drive as a whole is unusable, for now or for good.
var (
	// ErrDiskFull: the file system is out of space or quota (ENOSPC, EDQUOT).
	ErrDiskFull = &Error{"storage.DiskFull", "storage: drive full"}
	// ErrFaultyDisk: the device reported an I/O error (EIO).
	ErrFaultyDisk = &Error{"storage.FaultyDisk", "storage: faulty drive"}
	// ErrDiskAccessDenied: the file system refuses the access (EACCES,
	// EPERM, EROFS): a read-only remount or wrong ownership.
	ErrDiskAccessDenied = &Error{"storage.DiskAccessDenied", "storage: drive access denied"}
	// ErrDriveOffline: the drive is closed, unmounted or unreachable.
	ErrDriveOffline = &Error{"storage.DriveOffline", "storage: drive offline"}
	// ErrDriveTimeout: a call did not return within its deadline (see
	// storage/health), as a drive stuck in a system call does. The call was
	// abandoned, so whether it took effect is unknown; for the caller the
	// drive is offline for this request.
	ErrDriveTimeout = &Error{"storage.DriveTimeout", "storage: drive call timed out"}
	// ErrDriveFaulty: the drive kept timing out and is out of service until
	// a probe finds it working again (see storage/health). Calls fail at once
	// without touching the disk; callers treat it as offline.
	ErrDriveFaulty = &Error{"storage.DriveFaulty", "storage: drive faulty, out of service"}
)

// Format errors, from opening or formatting a drive.
var (
	// ErrUnformatted: the drive has no format record.
	ErrUnformatted = &Error{"storage.Unformatted", "storage: drive not formatted"}
	// ErrDriveNotEmpty: an unformatted drive holds data that is not ours,
	// so formatting it could clobber someone's files.
	ErrDriveNotEmpty = &Error{"storage.DriveNotEmpty", "storage: unformatted drive is not empty"}
	// ErrAlreadyFormatted: Format of a drive that already has a format record.
	ErrAlreadyFormatted = &Error{"storage.AlreadyFormatted", "storage: drive already formatted"}
	// ErrDeploymentMismatch: the drive belongs to another deployment.
	ErrDeploymentMismatch = &Error{"storage.DeploymentMismatch", "storage: drive belongs to another deployment"}
	// ErrLayoutMismatch: the drive's record of the erasure set layout
	// differs from the deployment's.
	ErrLayoutMismatch = &Error{"storage.LayoutMismatch", "storage: drive has a different set layout"}
	// ErrDrivePosition: the drive is in the wrong place in the layout (for
	// example two drives swapped between mount points).
	ErrDrivePosition = &Error{"storage.DrivePosition", "storage: drive is not at its position in the layout"}
	// ErrDriveInUse: another process (or Drive) has the drive open.
	ErrDriveInUse = &Error{"storage.DriveInUse", "storage: drive in use by another process"}
)

var sentinels = []*Error{
	ErrVolumeNotFound, ErrVolumeExists, ErrVolumeNotEmpty,
	ErrFileNotFound, ErrFileVersionNotFound, ErrFileCorrupt, ErrUnknownFormat,
	ErrSizeMismatch, ErrDirectoryNotEmpty, ErrTooManyVersions,
	ErrInvalidVolume, ErrInvalidPath, ErrInvalidArgument,
	ErrDiskFull, ErrFaultyDisk, ErrDiskAccessDenied, ErrDriveOffline, ErrDriveTimeout, ErrDriveFaulty,
	ErrUnformatted, ErrDriveNotEmpty, ErrAlreadyFormatted, ErrDeploymentMismatch,
	ErrLayoutMismatch, ErrDrivePosition, ErrDriveInUse,
}

// Sentinels returns every sentinel error of the package, for registering
// their codes with the grid. The slice is a copy.
func Sentinels() []*Error {
	return append([]*Error(nil), sentinels...)
}

// CorruptError says where a shard failed verification. It wraps
// ErrFileCorrupt; only that sentinel survives the grid, the position travels
// in the message.
type CorruptError struct {
	Volume, Path string
	Part         int   // part number, 0 for inline data
	Offset       int64 // shard data offset of the first bad chunk, -1 if the file is the wrong size
	Reason       string
}

func (e *CorruptError) Error() string {
	where := "inline data"
	if e.Part > 0 {
		where = fmt.Sprintf("part.%d", e.Part)
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" at shard offset %d", e.Offset)
	}
	return fmt.Sprintf("storage: file corrupt: %s/%s: %s: %s", e.Volume, e.Path, where, e.Reason)
}

func (e *CorruptError) Unwrap() error { return ErrFileCorrupt }
