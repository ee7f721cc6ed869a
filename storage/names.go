package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Name limits. The object layer checks S3's own rules first; these are the
// drive's defence in depth, so that no name can reach outside the volume,
// hit an internal file, or fail differently on different file systems.
const (
	MaxPathLength      = 1024 // bytes of a path within a volume (S3's key limit)
	MaxComponentLength = 255  // bytes of one path component (NAME_MAX)
	MaxVersionIDLength = 128
)

// System volumes: drive-private areas that callers address like volumes.
// They live under the drive's system directory, which no bucket name can
// reach, and are refused by MakeVol and DeleteVol.
const (
	// TmpVolume is the staging area for shards being written: CreateFile
	// there, then RenameData the data dir into place. It is wiped whenever
	// the drive is opened.
	TmpVolume = ".gridstore.sys/tmp"
	// MultipartVolume keeps multipart uploads until they complete or are
	// aborted; it survives restarts.
	MultipartVolume = ".gridstore.sys/multipart"
)

// NullVersionID is the version ID of a version written without versioning.
// A FileVersion with an empty VersionID is stored under it.
const NullVersionID = "null"

// MetaFileName is the name of an object's metadata record inside its
// directory. A file path may not end in it (see CheckFilePath).
const MetaFileName = "meta"

// IsSystemVolume reports whether volume is one of the system volumes.
func IsSystemVolume(volume string) bool {
	return volume == TmpVolume || volume == MultipartVolume
}

// CheckVolume refuses what cannot be a volume: anything but a system volume
// or a bucket-style name of 3 to 63 lowercase letters, digits, dots and
// hyphens that starts and ends with a letter or digit. That keeps volumes
// off the system directory (".gridstore.sys"), "." and "..", lost+found,
// separators, and case-insensitive file system collisions.
func CheckVolume(volume string) error {
	if IsSystemVolume(volume) {
		return nil
	}
	if reason := checkBucketName(volume); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidVolume, clip(volume), reason)
	}
	return nil
}

// checkBucketName returns why name is not a bucket-style name, or "".
func checkBucketName(name string) string {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Sprintf("length %d outside 3..63", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-') && i > 0 && i < len(name)-1:
		default:
			return fmt.Sprintf("byte %q at %d not allowed", c, i)
		}
	}
	if strings.Contains(name, "..") {
		return `contains ".."`
	}
	return ""
}

// CheckPath refuses a path (an object name, or a file or directory inside a
// volume) that is empty, longer than MaxPathLength, absolute, not valid
// UTF-8, or holds a NUL, a backslash, an empty, "." or ".." component, or a
// component longer than MaxComponentLength. Backslashes are refused although
// S3 allows them, because another tool or platform reading the drive would
// take them as separators; the object layer must encode such names.
func CheckPath(path string) error {
	if reason := checkPath(path); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidPath, clip(path), reason)
	}
	return nil
}

// CheckFilePath is CheckPath for a path that names a file or directory to
// read, write or delete directly (CreateFile, ReadFileStream, Delete): its
// last component must not be MetaFileName, which would reach an object's
// metadata record past the checks that guard it.
func CheckFilePath(path string) error {
	if err := CheckPath(path); err != nil {
		return err
	}
	if path == MetaFileName || strings.HasSuffix(path, "/"+MetaFileName) {
		return fmt.Errorf("%w %q: %q is reserved for metadata records", ErrInvalidPath, clip(path), MetaFileName)
	}
	return nil
}

// checkPath returns why path is refused, or "" if it is not.
func checkPath(path string) string {
	switch {
	case path == "":
		return "empty"
	case len(path) > MaxPathLength:
		return fmt.Sprintf("%d bytes, more than %d", len(path), MaxPathLength)
	case !utf8.ValidString(path):
		return "not valid UTF-8"
	case strings.IndexByte(path, 0) >= 0:
		return "contains NUL"
	case strings.IndexByte(path, '\\') >= 0:
		return "contains a backslash"
	}
	for rest := path; ; {
		component, tail, more := strings.Cut(rest, "/")
		switch {
		case component == "":
			return "empty component (leading, trailing or double slash)"
		case component == "." || component == "..":
			return fmt.Sprintf("%q component", component)
		case len(component) > MaxComponentLength:
			return fmt.Sprintf("component of %d bytes, more than %d", len(component), MaxComponentLength)
		}
		if !more {
			return ""
		}
		rest = tail
	}
}

// CheckVersionID refuses a version ID that is empty, too long, not valid
// UTF-8, or holds a NUL or a slash.
func CheckVersionID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty version ID", ErrInvalidArgument)
	case len(id) > MaxVersionIDLength:
		return fmt.Errorf("%w: version ID of %d bytes, more than %d", ErrInvalidArgument, len(id), MaxVersionIDLength)
	case !utf8.ValidString(id) || strings.ContainsAny(id, "\x00/"):
		return fmt.Errorf("%w: version ID %q", ErrInvalidArgument, clip(id))
	}
	return nil
}

// CheckDataDir refuses a data dir name that is not a UUID in canonical
// form: it becomes a path component, so it must not be able to point
// anywhere else.
func CheckDataDir(dataDir string) error {
	u, err := uuid.Parse(dataDir)
	if err != nil || u.String() != dataDir {
		return fmt.Errorf("%w: data dir %q is not a canonical UUID", ErrInvalidArgument, clip(dataDir))
	}
	return nil
}

// clip shortens a hostile name before it goes into an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
