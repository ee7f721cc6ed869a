package storage

import "time"

//go:generate go tool msgp

// Every type here is msgp-encoded: FileVersion and ObjectMeta are the body
// of the on-disk metadata record, the others travel over the grid between a
// remote drive's client and server. Field tags are short because a record
// holds them once per version; they are part of the format, never rename
// one. The limits bound what a decoder allocates for an array or map header
// before it has seen the elements, so garbage cannot ask for gigabytes.

//msgp:newtime
//msgp:timezone utc
//msgp:limit arrays:10000 maps:1024

// PartInfo describes one part of a version (a single-part object has part 1).
type PartInfo struct {
	Number     int       `msg:"n"`
	Size       int64     `msg:"s"`  // bytes as erasure coded (after compression or encryption, if any)
	ActualSize int64     `msg:"as"` // bytes as the client sent them
	ETag       string    `msg:"e,omitempty"`
	ModTime    time.Time `msg:"mt"`
}

// ErasureInfo is the erasure layout of a version and this drive's place in it.
type ErasureInfo struct {
	DataBlocks   int   `msg:"d"`
	ParityBlocks int   `msg:"p"`
	BlockSize    int64 `msg:"bs"`
	// Index is the 1-based number of the shard this drive holds.
	Index int `msg:"i"`
	// Distribution maps the set's drive positions to shard numbers
	// (1-based), so that shards of different objects spread over the drives.
	Distribution []int `msg:"dist,limit=256"`
	// ChecksumAlgo is the bitrot algorithm of the shard files; see
	// BitrotHighwayHash256S, the only one there is. Empty means that one.
	ChecksumAlgo string `msg:"ca,omitempty"`
}

// BitrotHighwayHash256S is streaming HighwayHash-256: every chunk of a shard
// file is preceded by its hash (package erasure).
const BitrotHighwayHash256S = "highwayhash256S"

// FileVersion is one version of an object as its metadata record stores it.
type FileVersion struct {
	// VersionID is unique within the object; NullVersionID for the version
	// of an unversioned write.
	VersionID string `msg:"id"`
	// Deleted marks a delete marker: a version without data.
	Deleted bool `msg:"del,omitempty"`
	// DataDir names the directory beside the record that holds the part
	// files (a UUID); empty for inline data and delete markers.
	DataDir      string            `msg:"dd,omitempty"`
	ModTime      time.Time         `msg:"mt"`
	Size         int64             `msg:"sz"`
	ETag         string            `msg:"etag,omitempty"`
	ContentType  string            `msg:"ct,omitempty"`
	UserMetadata map[string]string `msg:"um,omitempty"`
	// SysMetadata is the object layer's own per-version state (heal status,
	// replication...), never shown to clients.
	SysMetadata map[string]string `msg:"sm,omitempty"`
	Erasure     ErasureInfo       `msg:"ec"`
	Parts       []PartInfo        `msg:"parts,omitempty"`
	// InlineData is this drive's shard of a small object, in the same
	// bitrot format a part file would have, kept in the record instead of a
	// data dir so that the object costs one write per drive.
	InlineData []byte `msg:"inl,omitempty,limit=16777216"`
}

// FileInfo is a version of an object as drives hand it out and take it in:
// the stored FileVersion plus where it lives and where it stands among the
// object's versions.
type FileInfo struct {
	Volume string `msg:"vol"`
	Name   string `msg:"name"`
	// IsLatest and NumVersions are filled in on reads and ignored on writes.
	IsLatest    bool `msg:"latest"`
	NumVersions int  `msg:"nv"`
	FileVersion `msg:",flatten"`
}

// ObjectMeta is the body of an object's metadata record: every version,
// newest first (see Newer). Encode and DecodeObjectMeta add and check the
// record header.
type ObjectMeta struct {
	Versions []FileVersion `msg:"v"`
}

// VolInfo describes a volume.
type VolInfo struct {
	Name    string    `msg:"n"`
	Created time.Time `msg:"c"`
}

// DiskInfo describes a drive's capacity and health.
type DiskInfo struct {
	Total       uint64 `msg:"t"` // bytes
	Free        uint64 `msg:"f"` // bytes available to us
	Used        uint64 `msg:"u"` // bytes in use by anyone
	TotalInodes uint64 `msg:"ti"`
	FreeInodes  uint64 `msg:"fi"`
	Endpoint    string `msg:"ep"`
	DriveID     string `msg:"id"`
	// Healing is set while a replaced drive is being filled from its set.
	Healing bool `msg:"h"`
	// Online is false when the drive could not be reached, or is out of
	// service (Health.State HealthFaulty); the figures are then the last
	// ones known.
	Online bool `msg:"o"`
	// Latency has one entry per Drive method name ("RenameData", ...).
	Latency map[string]OpLatency `msg:"lat,limit=64"`
	// Health is what the drive's hang detection (storage/health) knows;
	// zero for a drive without it.
	Health DriveHealth `msg:"hl"`
}

// Drive health states (DriveHealth.State).
const (
	// HealthOK: the drive answers within its deadlines.
	HealthOK = "ok"
	// HealthFaulty: the drive kept timing out and is out of service until
	// a probe finds it working; its calls fail with ErrDriveFaulty.
	HealthFaulty = "faulty"
)

// DriveHealth describes how a drive has been answering: whether it is in
// service, and how many of its calls hung. storage/health keeps it.
type DriveHealth struct {
	// State is HealthOK or HealthFaulty; "" for a drive whose calls are
	// not watched.
	State string `msg:"s"`
	// Since is when State last changed (or the watching began).
	Since time.Time `msg:"since"`
	// Timeouts counts the calls that did not return within their
	// deadline since the watching began.
	Timeouts uint64 `msg:"to"`
	// Consecutive counts the timeouts since a call last returned in time.
	Consecutive int `msg:"c"`
	// Abandoned counts the calls given up on whose goroutines are still
	// inside the drive (stuck in a system call, as far as anyone can tell).
	Abandoned int `msg:"ab"`
	// LastErr says why the drive was last taken out of service, or why
	// the last probe failed; "" if it never was.
	LastErr string `msg:"le,omitempty"`
}

// OpLatency summarises recent calls of one drive operation.
type OpLatency struct {
	Count  uint64 `msg:"n"` // calls since the drive was opened
	Errors uint64 `msg:"e"` // of which failed
	// Avg is an exponentially weighted moving average of the call duration
	// that weighs the last call 1/8, so it follows the last few dozen calls.
	Avg time.Duration `msg:"a"`
	// Last is the duration of the most recent call.
	Last time.Duration `msg:"l"`
}

// WalkDirOptions selects what WalkDir visits.
type WalkDirOptions struct {
	Volume string `msg:"v"`
	// Prefix restricts the walk to names starting with it. Up to its last
	// "/" it names a directory to walk; the rest filters that directory's
	// entries ("photos/2024-" walks photos/ for entries starting "2024-").
	Prefix string `msg:"p"`
	// StartAfter skips every name lexically <= it (a listing marker).
	StartAfter string `msg:"s"`
	// Recursive walks into directories and reports objects only; otherwise
	// only the one directory is read and its subdirectories are reported
	// as entries whose name ends in "/".
	Recursive bool `msg:"r"`
}

// MetaEntry is one entry of a WalkDir.
type MetaEntry struct {
	// Name is relative to the volume: an object key, or a common prefix
	// (keys up to a "/", ending in it). An object key may end in "/" too
	// ("dir/"): Dir tells them apart.
	Name string `msg:"n"`
	// Metadata is the object's raw metadata record (DecodeObjectMeta), as
	// read, unverified; nil for a directory.
	Metadata []byte `msg:"m,limit=16777216"`
	// Dir marks a common prefix of a non-recursive walk.
	Dir bool `msg:"d"`
}

// IsDir reports whether the entry is a directory (a common prefix) rather
// than an object.
func (e MetaEntry) IsDir() bool { return e.Dir }

// RenameDataResult tells the caller what RenameData left for it to do.
type RenameDataResult struct {
	// OldDataDir is the data dir of the version the new one replaced (same
	// version ID), now unreferenced but still on disk so that a write that
	// misses its quorum can be rolled back. Once the write has quorum, the
	// caller removes it with Delete(volume, path+"/"+OldDataDir, true).
	OldDataDir string `msg:"odd"`
	// Older are the IDs of the versions the drive holds that are older
	// than the new one (storage.Newer), as the drive saw them when it
	// committed: what a write that has its quorum removes. A caller's own
	// read of the versions before the commit may have missed some (a drive
	// late to answer it, a straggler of an earlier write landing since).
	Older []string `msg:"old"`
}
