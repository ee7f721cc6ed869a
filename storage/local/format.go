package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// FormatVersion is the version of the format record this package writes
// and the only one it reads. Version 2 stores keys as keypath.go says;
// version 1 drives (keys as plain paths) are refused, not migrated: no
// deployment of them exists.
const FormatVersion = 2

// Names inside the drive's system directory.
const (
	sysDirName     = ".gridstore.sys"
	formatFileName = "format.json"
	lockFileName   = "lock"
	healingName    = "healing"
	stagingName    = "staging" // the drive's own scratch space: record and object staging, trash
)

// FormatSpec is what a drive's format record says: whose drive it is and
// where it belongs.
type FormatSpec struct {
	// DeploymentID identifies the cluster (a UUID), the same on every drive.
	DeploymentID string `json:"deploymentID"`
	// DriveID identifies this drive (a UUID); it appears exactly once in Sets.
	DriveID string `json:"driveID"`
	// Sets is the erasure set layout: the drive IDs of every set, in
	// position order. It is the same on every drive of the deployment.
	Sets [][]string `json:"sets"`
	// BitrotKey is the HighwayHash key of the deployment's shard files.
	BitrotKey []byte `json:"bitrotKey"`
}

// formatRecord is the JSON document in the format file. JSON rather than
// msgp: the record is a few hundred bytes read once at start-up, so speed
// does not matter, while an operator who wonders which deployment and
// position a drive belongs to can read it with cat; and it is written
// exactly once, atomically, so it needs no checksum of its own (a record
// that does not parse is reported as ErrFileCorrupt).
type formatRecord struct {
	Version int `json:"version"`
	FormatSpec
}

// Expected is what the node knows a drive must be when it opens it: the
// deployment's format (agreed by its drives) and the drive's position in
// the layout, from the order of the endpoints in the configuration.
type Expected struct {
	DeploymentID string
	Sets         [][]string
	BitrotKey    []byte
	SetIndex     int
	DriveIndex   int
}

// ExpectedFor returns what a drive at position (set, drive) of the
// deployment described by ref must be.
func ExpectedFor(ref FormatSpec, set, drive int) Expected {
	return Expected{DeploymentID: ref.DeploymentID, Sets: ref.Sets, BitrotKey: ref.BitrotKey, SetIndex: set, DriveIndex: drive}
}

func (s FormatSpec) validate() error {
	if err := checkUUID("deployment ID", s.DeploymentID); err != nil {
		return err
	}
	if err := checkUUID("drive ID", s.DriveID); err != nil {
		return err
	}
	if len(s.BitrotKey) != erasure.BitrotKeySize {
		return fmt.Errorf("%w: bitrot key of %d bytes, want %d", storage.ErrInvalidArgument, len(s.BitrotKey), erasure.BitrotKeySize)
	}
	if len(s.Sets) == 0 {
		return fmt.Errorf("%w: no sets", storage.ErrInvalidArgument)
	}
	seen := map[string]bool{}
	for i, set := range s.Sets {
		if len(set) == 0 {
			return fmt.Errorf("%w: set %d is empty", storage.ErrInvalidArgument, i)
		}
		for _, id := range set {
			if err := checkUUID("drive ID in sets", id); err != nil {
				return err
			}
			if seen[id] {
				return fmt.Errorf("%w: drive %s twice in the sets", storage.ErrInvalidArgument, id)
			}
			seen[id] = true
		}
	}
	if !seen[s.DriveID] {
		return fmt.Errorf("%w: drive %s is in no set", storage.ErrInvalidArgument, s.DriveID)
	}
	return nil
}

func checkUUID(what, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return fmt.Errorf("%w: %s %q is not a UUID", storage.ErrInvalidArgument, what, id)
	}
	return nil
}

// Format formats the empty directory path as a drive of the deployment
// described by spec: it writes the format record and creates the system
// directory. path must exist (a missing mount point is ErrDriveOffline: a
// directory created in its place would be on the wrong disk). A drive
// that is already formatted is ErrAlreadyFormatted; a directory that holds
// anything but an unfinished format or lost+found is ErrDriveNotEmpty,
// since it is somebody's data.
func Format(path string, spec FormatSpec) error {
	if err := spec.validate(); err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	if err := checkDriveDir(path); err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	sysDir := filepath.Join(path, sysDirName)
	switch _, err := os.Stat(filepath.Join(sysDir, formatFileName)); {
	case err == nil:
		return fmt.Errorf("format %s: %w", path, storage.ErrAlreadyFormatted)
	case !errors.Is(err, fs.ErrNotExist):
		return osError("format", path, err, nil)
	}
	if foreign, err := foreignEntry(path); err != nil {
		return osError("format", path, err, nil)
	} else if foreign != "" {
		return fmt.Errorf("format %s: %w: found %q", path, storage.ErrDriveNotEmpty, foreign)
	}

	for _, dir := range []string{sysDir, filepath.Join(sysDir, stagingName), volumeDir(path, storage.TmpVolume), volumeDir(path, storage.MultipartVolume)} {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return osError("format", path, err, nil)
		}
	}
	data, err := json.MarshalIndent(formatRecord{Version: FormatVersion, FormatSpec: spec}, "", "  ")
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	staged := filepath.Join(sysDir, stagingName, formatFileName+"."+uuid.NewString())
	if err := writeFileSynced(staged, append(data, '\n')); err != nil {
		return osError("format: write record", path, err, nil)
	}
	// A link, unlike a rename, fails if the record exists: of two formats
	// racing, one wins and the other is told, with no lock to hold.
	err = os.Link(staged, filepath.Join(sysDir, formatFileName))
	_ = os.Remove(staged)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("format %s: %w", path, storage.ErrAlreadyFormatted)
	}
	if err != nil {
		return osError("format: commit record", path, err, nil)
	}
	// The record's directory, then the system directory's entry in the root.
	if err := syncDir(sysDir); err != nil {
		return osError("format: sync", path, err, nil)
	}
	if err := syncDir(path); err != nil {
		return osError("format: sync", path, err, nil)
	}
	return nil
}

// checkDriveDir reports a drive path that is missing or not a directory.
func checkDriveDir(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return osError("stat", path, err, storage.ErrDriveOffline)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", storage.ErrDriveOffline, path)
	}
	return nil
}

// foreignEntry returns the name of an entry of an unformatted drive that
// formatting would not account for, or "".
func foreignEntry(path string) (string, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name() != sysDirName && e.Name() != "lost+found" {
			return e.Name(), nil
		}
	}
	return "", nil
}

// LoadFormat reads the format record of the drive at path. A drive without
// one is ErrUnformatted, and also ErrDriveNotEmpty if it holds foreign
// data; a record that does not parse or does not hold together is
// ErrFileCorrupt; one of a newer version, or of version 1, is
// ErrUnknownFormat.
func LoadFormat(path string) (FormatSpec, error) {
	if err := checkDriveDir(path); err != nil {
		return FormatSpec{}, fmt.Errorf("load format: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(path, sysDirName, formatFileName))
	if errors.Is(err, fs.ErrNotExist) {
		if foreign, ferr := foreignEntry(path); ferr == nil && foreign != "" {
			return FormatSpec{}, fmt.Errorf("load format %s: %w, %w: found %q", path, storage.ErrUnformatted, storage.ErrDriveNotEmpty, foreign)
		}
		return FormatSpec{}, fmt.Errorf("load format %s: %w", path, storage.ErrUnformatted)
	}
	if err != nil {
		return FormatSpec{}, osError("load format", path, err, nil)
	}
	var rec formatRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rec); err != nil {
		return FormatSpec{}, fmt.Errorf("load format %s: %w: %w", path, storage.ErrFileCorrupt, err)
	}
	if rec.Version > FormatVersion {
		return FormatSpec{}, fmt.Errorf("load format %s: %w: version %d, this binary reads up to %d", path, storage.ErrUnknownFormat, rec.Version, FormatVersion)
	}
	if rec.Version == 1 {
		return FormatSpec{}, fmt.Errorf("load format %s: %w: version 1, written by an earlier gridstore that stored keys another way; this binary reads version %d only and does not migrate: empty the drive to reuse it", path, storage.ErrUnknownFormat, FormatVersion)
	}
	if rec.Version != FormatVersion {
		return FormatSpec{}, fmt.Errorf("load format %s: %w: version %d", path, storage.ErrFileCorrupt, rec.Version)
	}
	if err := rec.FormatSpec.validate(); err != nil {
		return FormatSpec{}, fmt.Errorf("load format %s: %w: %w", path, storage.ErrFileCorrupt, err)
	}
	return rec.FormatSpec, nil
}

// check returns why a drive with format f cannot take the place exp
// describes, or nil.
func (exp Expected) check(f FormatSpec) error {
	if exp.SetIndex < 0 || exp.SetIndex >= len(exp.Sets) || exp.DriveIndex < 0 || exp.DriveIndex >= len(exp.Sets[exp.SetIndex]) {
		return fmt.Errorf("%w: position set %d drive %d is outside the expected layout", storage.ErrInvalidArgument, exp.SetIndex, exp.DriveIndex)
	}
	if f.DeploymentID != exp.DeploymentID {
		return fmt.Errorf("%w: drive has deployment %s, expected %s", storage.ErrDeploymentMismatch, f.DeploymentID, exp.DeploymentID)
	}
	if !bytes.Equal(f.BitrotKey, exp.BitrotKey) {
		return fmt.Errorf("%w: drive has another bitrot key", storage.ErrDeploymentMismatch)
	}
	if !slices.EqualFunc(f.Sets, exp.Sets, slices.Equal[[]string]) {
		return fmt.Errorf("%w: drive's layout of %d sets differs from the deployment's", storage.ErrLayoutMismatch, len(f.Sets))
	}
	if want := exp.Sets[exp.SetIndex][exp.DriveIndex]; f.DriveID != want {
		return fmt.Errorf("%w: drive %s found where drive %s belongs (set %d, drive %d)", storage.ErrDrivePosition, f.DriveID, want, exp.SetIndex, exp.DriveIndex)
	}
	return nil
}
