package storage

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Name limits. An object key may be anything S3 accepts (CheckObjectKey):
// the drive maps it to directories itself, so that no key can reach outside
// its volume or touch another key's or the drive's own files. The paths of
// files in the system volumes are the drive's callers' own names and are
// held to a narrow set (CheckPath).
const (
	MaxKeyLength       = 1024 // bytes of an object key (S3's limit)
	MaxPathLength      = 1024 // bytes of a file path in a system volume
	MaxComponentLength = 255  // bytes of one component of such a path (NAME_MAX)
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
		return fmt.Errorf("%w %q: %s", ErrInvalidVolume, ClipName(volume), reason)
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

// CheckObjectKey refuses what cannot be an object key: an empty one, one
// longer than MaxKeyLength, or one that is not valid UTF-8. Every other key
// is stored as it is, "dir/", "a//b", "..", control characters and all.
func CheckObjectKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty object key", ErrInvalidPath)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w %q: %d bytes, more than %d", ErrInvalidPath, ClipName(key), len(key), MaxKeyLength)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidPath, ClipName(key))
	}
	return nil
}

// CheckPath refuses a path of a file or directory in a system volume that
// is empty, longer than MaxPathLength, absolute, not valid UTF-8, or holds
// a NUL, a backslash, an empty component, a component that starts with "."
// (".", ".." and the drive's own entries) or one longer than
// MaxComponentLength. These paths are the callers' own names (upload IDs,
// data dirs, part numbers), never keys, so they are held to what every file
// system and tool takes as it is.
func CheckPath(path string) error {
	if reason := checkPath(path); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidPath, ClipName(path), reason)
	}
	return nil
}

// DataDirPath is how a caller names the data dir of a version of key in a
// bucket volume, for Drive.Delete.
func DataDirPath(key, dataDir string) string { return key + "/" + dataDir }

// PartPath is how a caller names a part file of a version of key in a
// bucket volume, for Drive.ReadFileStream and Drive.CreateFile.
func PartPath(key, dataDir string, part int) string {
	return key + "/" + dataDir + "/" + PartFileName(part)
}

// PartFileName is the name of part n's shard file in a data dir.
func PartFileName(part int) string { return "part." + strconv.Itoa(part) }

// SplitDataDirPath parses DataDirPath. Keys may hold any characters, "/"
// included, so the path is read from its end: the data dir is its last
// component.
func SplitDataDirPath(path string) (key, dataDir string, err error) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", "", fmt.Errorf("%w %q: not key/data-dir", ErrInvalidPath, ClipName(path))
	}
	key, dataDir = path[:i], path[i+1:]
	if err := CheckObjectKey(key); err != nil {
		return "", "", err
	}
	if err := CheckDataDir(dataDir); err != nil {
		return "", "", fmt.Errorf("%w %q: %w", ErrInvalidPath, ClipName(path), err)
	}
	return key, dataDir, nil
}

// SplitFilePath parses PartPath, or any key/data-dir/name path of a file in
// a data dir: the name is the last component (one that CheckPath takes),
// the data dir the one before.
func SplitFilePath(path string) (key, dataDir, name string, err error) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", "", "", fmt.Errorf("%w %q: not key/data-dir/file", ErrInvalidPath, ClipName(path))
	}
	name = path[i+1:]
	if reason := checkPath(name); reason != "" {
		return "", "", "", fmt.Errorf("%w %q: file name: %s", ErrInvalidPath, ClipName(path), reason)
	}
	key, dataDir, err = SplitDataDirPath(path[:i])
	if err != nil {
		return "", "", "", err
	}
	return key, dataDir, name, nil
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
		case component[0] == '.':
			return fmt.Sprintf("component %q starts with a dot", ClipName(component))
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
		return fmt.Errorf("%w: version ID %q", ErrInvalidArgument, ClipName(id))
	}
	return nil
}

// CheckDataDir refuses a data dir name that is not a UUID in canonical
// form: it becomes a path component, so it must not be able to point
// anywhere else.
func CheckDataDir(dataDir string) error {
	u, err := uuid.Parse(dataDir)
	if err != nil || u.String() != dataDir {
		return fmt.Errorf("%w: data dir %q is not a canonical UUID", ErrInvalidArgument, ClipName(dataDir))
	}
	return nil
}

// ClipName shortens a hostile name before it goes into an error message.
func ClipName(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
