package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// The metadata record of an object (its "meta" file) is
//
//	offset  size  field
//	0       4     magic "GSMT"
//	4       2     format version, big endian (MetaFormatVersion)
//	6       4     body length, big endian
//	10      4     CRC-32C of bytes 0..9 and the body, big endian
//	14      n     body: ObjectMeta, msgp encoded
//
// The record is always replaced whole (written aside, synced, renamed over),
// so a torn write should never be seen; the length and checksum are there
// for when it is anyway (a file system that lost a block, a disk that rots)
// and make it ErrFileCorrupt instead of a wrong answer. The version comes
// before anything whose layout it may change, so an older binary can tell a
// newer record (ErrUnknownFormat, to be left alone) from a broken one.
const (
	// MetaFormatVersion is the record format this package writes.
	MetaFormatVersion = 1
	// MaxMetaSize bounds a whole record, so a reader never loads more.
	MaxMetaSize = 16 << 20
	// MaxVersions bounds the versions of one object.
	MaxVersions = 10000
	// MaxParts bounds the parts of one version (S3's limit).
	MaxParts = 10000

	metaMagic      = "GSMT"
	metaHeaderSize = 14
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns m as a complete record, header included. It refuses a
// record that DecodeObjectMeta would refuse, so nothing unreadable is ever
// written.
func (m *ObjectMeta) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	buf := make([]byte, metaHeaderSize, metaHeaderSize+m.Msgsize())
	buf, err := m.MarshalMsg(buf)
	if err != nil {
		return nil, fmt.Errorf("%w: encode metadata: %w", ErrInvalidArgument, err)
	}
	if len(buf) > MaxMetaSize {
		return nil, fmt.Errorf("%w: metadata record of %d bytes, more than %d", ErrInvalidArgument, len(buf), MaxMetaSize)
	}
	copy(buf, metaMagic)
	binary.BigEndian.PutUint16(buf[4:], MetaFormatVersion)
	binary.BigEndian.PutUint32(buf[6:], uint32(len(buf)-metaHeaderSize))
	binary.BigEndian.PutUint32(buf[10:], recordChecksum(buf))
	return buf, nil
}

func recordChecksum(record []byte) uint32 {
	sum := crc32.Update(0, castagnoli, record[:10])
	return crc32.Update(sum, castagnoli, record[metaHeaderSize:])
}

// DecodeObjectMeta decodes a record written by Encode. A record of a newer
// format version is ErrUnknownFormat; anything else that is not a valid
// record (truncated, bad checksum, bad body, broken invariants) is
// ErrFileCorrupt. It never panics and allocates at most a few MiB more than
// len(b), whatever b holds.
func DecodeObjectMeta(b []byte) (*ObjectMeta, error) {
	if len(b) < 6 || string(b[:4]) != metaMagic {
		return nil, fmt.Errorf("%w: not a metadata record (%d bytes, no header)", ErrFileCorrupt, len(b))
	}
	if v := binary.BigEndian.Uint16(b[4:]); v != MetaFormatVersion {
		if v > MetaFormatVersion {
			return nil, fmt.Errorf("%w: metadata record version %d, this binary reads up to %d", ErrUnknownFormat, v, MetaFormatVersion)
		}
		return nil, fmt.Errorf("%w: metadata record version %d", ErrFileCorrupt, v)
	}
	if len(b) < metaHeaderSize {
		return nil, fmt.Errorf("%w: metadata record header truncated at %d bytes", ErrFileCorrupt, len(b))
	}
	if n := binary.BigEndian.Uint32(b[6:]); int64(n) != int64(len(b)-metaHeaderSize) {
		return nil, fmt.Errorf("%w: metadata record body is %d bytes, header says %d", ErrFileCorrupt, len(b)-metaHeaderSize, n)
	}
	if want, got := binary.BigEndian.Uint32(b[10:]), recordChecksum(b); want != got {
		return nil, fmt.Errorf("%w: metadata record checksum %08x, want %08x", ErrFileCorrupt, got, want)
	}
	return decodeMetaBody(b[metaHeaderSize:])
}

// decodeMetaBody decodes and checks a record body that passed its checksum.
func decodeMetaBody(body []byte) (*ObjectMeta, error) {
	m := new(ObjectMeta)
	rest, err := m.UnmarshalMsg(body)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata record body: %w", ErrFileCorrupt, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the metadata record body", ErrFileCorrupt, len(rest))
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFileCorrupt, err)
	}
	return m, nil
}

// check verifies what every stored record holds: 1 to MaxVersions valid
// versions with distinct IDs, newest first.
func (m *ObjectMeta) check() error {
	if len(m.Versions) == 0 || len(m.Versions) > MaxVersions {
		return fmt.Errorf("%w: %d versions, want 1..%d", ErrInvalidArgument, len(m.Versions), MaxVersions)
	}
	var seen map[string]struct{}
	if len(m.Versions) > 1 {
		seen = make(map[string]struct{}, len(m.Versions))
	}
	for i := range m.Versions {
		v := &m.Versions[i]
		if v.VersionID == "" {
			return fmt.Errorf("%w: version %d has no ID", ErrInvalidArgument, i)
		}
		if err := v.Validate(); err != nil {
			return err
		}
		if i > 0 && !Newer(&m.Versions[i-1], v) {
			return fmt.Errorf("%w: versions %d and %d out of order", ErrInvalidArgument, i-1, i)
		}
		if seen != nil {
			if _, dup := seen[v.VersionID]; dup {
				return fmt.Errorf("%w: version ID %q twice", ErrInvalidArgument, ClipName(v.VersionID))
			}
			seen[v.VersionID] = struct{}{}
		}
	}
	return nil
}

// Validate refuses a version that a drive must not store: a bad version ID
// (empty is fine: it stands for NullVersionID) or data dir, a delete marker
// with data, a version with both inline data and a data dir, negative sizes,
// or parts out of order.
func (v *FileVersion) Validate() error {
	if v.VersionID != "" {
		if err := CheckVersionID(v.VersionID); err != nil {
			return err
		}
	}
	if v.DataDir != "" {
		if err := CheckDataDir(v.DataDir); err != nil {
			return err
		}
	}
	switch {
	case v.Deleted && (v.DataDir != "" || len(v.InlineData) > 0 || len(v.Parts) > 0):
		return fmt.Errorf("%w: delete marker %q with data", ErrInvalidArgument, ClipName(v.VersionID))
	case v.DataDir != "" && len(v.InlineData) > 0:
		return fmt.Errorf("%w: version %q has both a data dir and inline data", ErrInvalidArgument, ClipName(v.VersionID))
	case v.Size < 0:
		return fmt.Errorf("%w: version %q has size %d", ErrInvalidArgument, ClipName(v.VersionID), v.Size)
	case len(v.Parts) > MaxParts:
		return fmt.Errorf("%w: version %q has %d parts, more than %d", ErrInvalidArgument, ClipName(v.VersionID), len(v.Parts), MaxParts)
	}
	for i, p := range v.Parts {
		if p.Number < 1 || p.Number > MaxParts || (i > 0 && p.Number <= v.Parts[i-1].Number) || p.Size < 0 {
			return fmt.Errorf("%w: version %q part %d (number %d, size %d): numbers must increase within 1..%d, sizes be >= 0",
				ErrInvalidArgument, ClipName(v.VersionID), i, p.Number, p.Size, MaxParts)
		}
	}
	return nil
}

// Newer reports whether a comes before b in a record: a later ModTime, or
// the same ModTime and a greater VersionID. The tie-break makes the order,
// and so "the latest version", the same on every drive.
func Newer(a, b *FileVersion) bool {
	if c := a.ModTime.Compare(b.ModTime); c != 0 {
		return c > 0
	}
	return a.VersionID > b.VersionID
}

// Find returns the index of the version with the given ID, the latest (0)
// for "", or -1.
func (m *ObjectMeta) Find(versionID string) int {
	if versionID == "" {
		if len(m.Versions) == 0 {
			return -1
		}
		return 0
	}
	return slices.IndexFunc(m.Versions, func(v FileVersion) bool { return v.VersionID == versionID })
}

// Put adds v in its place by Newer, replacing the version with the same ID
// if there is one (the last write of a version wins), and returns the
// replaced version. An empty VersionID is stored as NullVersionID.
func (m *ObjectMeta) Put(v FileVersion) (old FileVersion, replaced bool) {
	if v.VersionID == "" {
		v.VersionID = NullVersionID
	}
	if i := m.Find(v.VersionID); i >= 0 {
		old, replaced = m.Versions[i], true
		m.Versions = slices.Delete(m.Versions, i, i+1)
	}
	at, _ := slices.BinarySearchFunc(m.Versions, &v, func(e FileVersion, t *FileVersion) int {
		if Newer(&e, t) {
			return -1
		}
		return 1
	})
	m.Versions = slices.Insert(m.Versions, at, v)
	return old, replaced
}

// Remove deletes the version with the given ID and returns it.
func (m *ObjectMeta) Remove(versionID string) (FileVersion, bool) {
	i := m.Find(versionID)
	if versionID == "" || i < 0 {
		return FileVersion{}, false
	}
	v := m.Versions[i]
	m.Versions = slices.Delete(m.Versions, i, i+1)
	return v, true
}

// UsesDataDir reports whether any version keeps its parts in dataDir.
func (m *ObjectMeta) UsesDataDir(dataDir string) bool {
	return dataDir != "" && slices.ContainsFunc(m.Versions, func(v FileVersion) bool { return v.DataDir == dataDir })
}

// DataDirs returns the data dirs the versions use, each once, never nil.
func (m *ObjectMeta) DataDirs() []string {
	dirs := []string{}
	for _, v := range m.Versions {
		if v.DataDir != "" && !slices.Contains(dirs, v.DataDir) {
			dirs = append(dirs, v.DataDir)
		}
	}
	return dirs
}

// FileInfo returns version i as the FileInfo of object name in volume.
func (m *ObjectMeta) FileInfo(volume, name string, i int) FileInfo {
	return FileInfo{
		Volume:      volume,
		Name:        name,
		IsLatest:    i == 0,
		NumVersions: len(m.Versions),
		FileVersion: m.Versions[i],
	}
}
