package drivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// BitrotKey is the key the drives under test must be formatted with, so
// that the suite can write shard files that VerifyFile accepts.
var BitrotKey = []byte("gridstore drivetest bitrot key!!")

// Run runs the conformance suite. newDrive must return a fresh, formatted,
// empty drive (no volumes) using BitrotKey, and arrange for it to be closed
// when the test ends (t.Cleanup). Subtests run in parallel, each on its own
// drive.
func Run(t *testing.T, newDrive func(t *testing.T) storage.Drive) {
	if len(BitrotKey) != erasure.BitrotKeySize {
		t.Fatalf("BitrotKey is %d bytes", len(BitrotKey))
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, d storage.Drive)
	}{
		{"Volumes", testVolumes},
		{"VolumeNames", testVolumeNames},
		{"CreateAndReadFile", testCreateAndReadFile},
		{"CreateFileSizeMismatch", testCreateFileSizeMismatch},
		{"CreateFileReaderError", testCreateFileReaderError},
		{"CreateFileCanceled", testCreateFileCanceled},
		{"CreateFileOutsideTmp", testCreateFileOutsideTmp},
		{"ReadFileStreamRanges", testReadFileStreamRanges},
		{"RenameDataPublishes", testRenameDataPublishes},
		{"VersionOrder", testVersionOrder},
		{"RenameDataReplacesVersion", testRenameDataReplacesVersion},
		{"RenameDataErrors", testRenameDataErrors},
		{"KeysBesideKeys", testKeysBesideKeys},
		{"KeysThatLookHostile", testKeysThatLookHostile},
		{"InlineAndDeleteMarkers", testInlineAndDeleteMarkers},
		{"WriteMetadataInPlace", testWriteMetadataInPlace},
		{"ReadMetadata", testReadMetadata},
		{"DeleteVersion", testDeleteVersion},
		{"Delete", testDelete},
		{"ListDir", testListDir},
		{"WalkDirOrder", testWalkDirOrder},
		{"WalkDirPrefixAndMarker", testWalkDirPrefixAndMarker},
		{"WalkDirStops", testWalkDirStops},
		{"DiskInfo", testDiskInfo},
		{"VerifyFile", testVerifyFile},
		{"VerifyFileCorrupt", testVerifyFileCorrupt},
		{"HostileNames", testHostileNames},
		{"ConcurrentWritersSameVersion", testConcurrentWritersSameVersion},
		{"ConcurrentWritersNewVersions", testConcurrentWritersNewVersions},
		{"ReadersWhileWriting", testReadersWhileWriting},
		{"Canceled", testCanceled},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDrive(t))
		})
	}
}

// layout is the erasure layout of the suite's versions: small blocks, so
// that a few KiB of object make shard files of several bitrot chunks.
var layout = storage.ErasureInfo{
	DataBlocks:   2,
	ParityBlocks: 1,
	BlockSize:    1024,
	Index:        1,
	Distribution: []int{1, 2, 3},
	ChecksumAlgo: storage.BitrotHighwayHash256S,
}

// t0 is the suite's clock: versions are t0 plus a few seconds.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func coder(t *testing.T) *erasure.Coder {
	t.Helper()
	c, err := erasure.NewCoder(erasure.Config{DataShards: layout.DataBlocks, ParityShards: layout.ParityBlocks, BlockSize: int(layout.BlockSize)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shardFile returns a valid shard file for a part of size object bytes:
// random shard data framed in bitrot records.
func shardFile(t *testing.T, rng *rand.Rand, size int64) []byte {
	t.Helper()
	c := coder(t)
	data := make([]byte, c.ShardFileSize(size))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var out bytes.Buffer
	w, err := erasure.NewBitrotWriter(&out, BitrotKey, c.ShardSize())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if int64(out.Len()) != c.ShardDiskSize(size) {
		t.Fatalf("shard file of %d bytes, want %d", out.Len(), c.ShardDiskSize(size))
	}
	return out.Bytes()
}

// staged is a data dir written to TmpVolume, ready for RenameData.
type staged struct {
	tmpPath string   // the data dir in TmpVolume
	dataDir string   // the data dir's name once published
	files   [][]byte // part.1, part.2... as written
	sizes   []int64  // object bytes of each part
}

// stage writes the shard files of a version with parts of the given
// object sizes to TmpVolume. mangle, if not nil, may change each file
// before it is written.
func stage(t *testing.T, d storage.Drive, seed uint64, sizes []int64, mangle func(part int, file []byte) []byte) staged {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	s := staged{dataDir: uuid.NewString(), sizes: sizes}
	s.tmpPath = uuid.NewString() + "/" + s.dataDir
	for i, size := range sizes {
		file := shardFile(t, rng, size)
		if mangle != nil {
			file = mangle(i+1, file)
		}
		name := fmt.Sprintf("%s/part.%d", s.tmpPath, i+1)
		if err := d.CreateFile(t.Context(), storage.TmpVolume, name, int64(len(file)), bytes.NewReader(file)); err != nil {
			t.Fatalf("CreateFile %s: %v", name, err)
		}
		s.files = append(s.files, file)
	}
	return s
}

// version returns the FileInfo of a version stored in s.
func (s staged) version(id string, mod time.Time) storage.FileInfo {
	var total int64
	parts := make([]storage.PartInfo, len(s.sizes))
	for i, size := range s.sizes {
		parts[i] = storage.PartInfo{Number: i + 1, Size: size, ActualSize: size, ETag: etag(s.files[i]), ModTime: mod}
		total += size
	}
	return storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID:    id,
		DataDir:      s.dataDir,
		ModTime:      mod,
		Size:         total,
		ETag:         etag(bytes.Join(s.files, nil)),
		ContentType:  "application/octet-stream",
		UserMetadata: map[string]string{"x-amz-meta-seed": id},
		Erasure:      layout,
		Parts:        parts,
	}}
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// publish stages and publishes a version with one part of size bytes.
func publish(t *testing.T, d storage.Drive, volume, object, id string, mod time.Time, size int64) (storage.FileInfo, staged) {
	t.Helper()
	s := stage(t, d, uint64(mod.UnixNano())^uint64(len(object)), []int64{size}, nil)
	fi := s.version(id, mod)
	if _, err := d.RenameData(t.Context(), storage.TmpVolume, s.tmpPath, fi, volume, object); err != nil {
		t.Fatalf("RenameData %s/%s %s: %v", volume, object, id, err)
	}
	return fi, s
}

// inline returns a version whose data is inline.
func inline(id string, mod time.Time, data []byte) storage.FileInfo {
	return storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID:  id,
		ModTime:    mod,
		Size:       int64(len(data)),
		ETag:       etag(data),
		Erasure:    layout,
		InlineData: data,
	}}
}

func makeVol(t *testing.T, d storage.Drive, volume string) {
	t.Helper()
	if err := d.MakeVol(t.Context(), volume); err != nil {
		t.Fatalf("MakeVol %s: %v", volume, err)
	}
}

// readFile reads a whole file through ReadFileStream.
func readFile(t *testing.T, d storage.Drive, volume, path string) []byte {
	t.Helper()
	b, err := readRange(t.Context(), d, volume, path, 0, -1)
	if err != nil {
		t.Fatalf("read %s/%s: %v", volume, path, err)
	}
	return b
}

func readRange(ctx context.Context, d storage.Drive, volume, path string, offset, length int64) ([]byte, error) {
	rc, err := d.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return b, err
}

// wantErr fails unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkVersion fails unless got is the version want, as published on
// volume/object.
func checkVersion(t *testing.T, got, want storage.FileInfo, volume, object string) {
	t.Helper()
	if got.Volume != volume || got.Name != object {
		t.Errorf("version at %s/%s, want %s/%s", got.Volume, got.Name, volume, object)
	}
	w := want.FileVersion
	if w.VersionID == "" {
		w.VersionID = storage.NullVersionID
	}
	g := got.FileVersion
	if g.VersionID != w.VersionID || g.DataDir != w.DataDir || !g.ModTime.Equal(w.ModTime) || g.Size != w.Size ||
		g.ETag != w.ETag || g.Deleted != w.Deleted || !bytes.Equal(g.InlineData, w.InlineData) ||
		len(g.Parts) != len(w.Parts) || fmt.Sprint(g.UserMetadata) != fmt.Sprint(w.UserMetadata) ||
		fmt.Sprint(g.Erasure) != fmt.Sprint(w.Erasure) {
		t.Fatalf("got version\n%+v\nwant\n%+v", g, w)
	}
}
