package drivetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func testCreateAndReadFile(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	// Sizes around the write buffer (1 MiB by default) and its alignment.
	for i, n := range []int{0, 1, 4095, 4096, 100_000, 1<<20 + 13, 3 << 20} {
		data := randomBytes(uint64(i), n)
		for _, known := range []bool{true, false} {
			size := int64(n)
			if !known {
				size = -1
			}
			name := fmt.Sprintf("up/%d-%v/part.1", n, known)
			// OneByteReader and a plain reader: the drive must not rely
			// on reads filling its buffer.
			var r io.Reader = bytes.NewReader(data)
			if n < 5000 {
				r = iotest.OneByteReader(r)
			}
			noErr(t, "CreateFile "+name, d.CreateFile(ctx, storage.TmpVolume, name, size, r))
			if got := readFile(t, d, storage.TmpVolume, name); !bytes.Equal(got, data) {
				t.Fatalf("%s: read back %d bytes, want the %d written", name, len(got), len(data))
			}
		}
	}

	// CreateFile replaces a file.
	noErr(t, "CreateFile", d.CreateFile(ctx, storage.TmpVolume, "x/f", 3, bytes.NewReader([]byte("old"))))
	noErr(t, "CreateFile over it", d.CreateFile(ctx, storage.TmpVolume, "x/f", 2, bytes.NewReader([]byte("ne"))))
	if got := readFile(t, d, storage.TmpVolume, "x/f"); string(got) != "ne" {
		t.Fatalf("replaced file reads %q", got)
	}

	wantErr(t, "CreateFile in a missing volume",
		d.CreateFile(ctx, "missing", filePath("missing", "f"), 1, bytes.NewReader([]byte("x"))), storage.ErrVolumeNotFound)
	wantErr(t, "CreateFile with size -2",
		d.CreateFile(ctx, storage.TmpVolume, "f", -2, bytes.NewReader(nil)), storage.ErrInvalidArgument)
}

func testReadFileStreamRanges(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	data := randomBytes(9, 10_000)
	noErr(t, "CreateFile", d.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)))
	for _, r := range [][2]int64{{0, 0}, {0, 1}, {0, 10_000}, {1, 9_999}, {4096, 4096}, {9_999, 1}, {10_000, 0}, {5000, -1}, {10_000, -1}} {
		got, err := readRange(ctx, d, storage.TmpVolume, "f", r[0], r[1])
		noErr(t, fmt.Sprintf("range %v", r), err)
		end := r[0] + r[1]
		if r[1] < 0 {
			end = int64(len(data))
		}
		if !bytes.Equal(got, data[r[0]:end]) {
			t.Fatalf("range %v: got %d bytes, not the file's", r, len(got))
		}
	}
	// A range past the end: the file is shorter than the caller's metadata
	// says, which is a corrupt (truncated) file.
	for _, r := range [][2]int64{{0, 10_001}, {10_001, 0}, {9_000, 2_000}, {10_001, -1}} {
		_, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", r[0], r[1])
		wantErr(t, fmt.Sprintf("range %v past the end", r), err, storage.ErrFileCorrupt)
	}
	for _, r := range [][2]int64{{-1, 1}, {0, -2}} {
		_, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", r[0], r[1])
		wantErr(t, fmt.Sprintf("range %v", r), err, storage.ErrInvalidArgument)
	}
	_, err := d.ReadFileStream(ctx, storage.TmpVolume, "missing", 0, -1)
	wantErr(t, "ReadFileStream of a missing file", err, storage.ErrFileNotFound)
	_, err = d.ReadFileStream(ctx, storage.TmpVolume, "f/below-a-file", 0, -1)
	wantErr(t, "ReadFileStream below a file", err, storage.ErrFileNotFound)
	_, err = d.ReadFileStream(ctx, "missing", filePath("missing", "f"), 0, -1)
	wantErr(t, "ReadFileStream in a missing volume", err, storage.ErrVolumeNotFound)
	noErr(t, "CreateFile", d.CreateFile(ctx, storage.TmpVolume, "dir/f", 0, bytes.NewReader(nil)))
	_, err = d.ReadFileStream(ctx, storage.TmpVolume, "dir", 0, -1)
	wantErr(t, "ReadFileStream of a directory", err, storage.ErrFileNotFound)

	// The stream can be handed to io.Copy with a file-like destination
	// (WriterTo/ReaderFrom fast paths) and still yields just the range.
	rc, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", 100, 200)
	noErr(t, "ReadFileStream", err)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, rc)
	noErr(t, "io.Copy", err)
	noErr(t, "Close", rc.Close())
	if n != 200 || !bytes.Equal(buf.Bytes(), data[100:300]) {
		t.Fatalf("io.Copy of range got %d bytes", n)
	}
}

// checkNothingAt fails if volume/path can be read or listed.
func checkNothingAt(t *testing.T, d storage.Drive, volume, path string) {
	t.Helper()
	_, err := d.ReadFileStream(t.Context(), volume, path, 0, -1)
	wantErr(t, "ReadFileStream of "+path+" after a failed CreateFile", err, storage.ErrFileNotFound)
}

// fileDataDir is the data dir of the files filePath names in buckets.
const fileDataDir = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"

// filePath returns a path for a file called name in volume: name itself in
// a system volume, and a part file of a data dir of the key name in a
// bucket (storage.PartPath).
func filePath(volume, name string) string {
	if storage.IsSystemVolume(volume) {
		return name
	}
	return storage.PartPath(name, fileDataDir, 1)
}

func testCreateFileSizeMismatch(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	data := randomBytes(3, 3<<20)
	for _, volume := range []string{storage.TmpVolume, "bucket"} {
		for _, c := range []struct {
			name string
			size int64
			give int
		}{
			{"short-empty", 10, 0},
			{"short", int64(len(data)), len(data) - 1},
			{"long", int64(len(data)) - 1, len(data)},
			{"long-small", 1, 2},
			{"long-zero", 0, 1},
		} {
			path := filePath(volume, "f/"+c.name)
			err := d.CreateFile(ctx, volume, path, c.size, bytes.NewReader(data[:c.give]))
			wantErr(t, fmt.Sprintf("%s in %s", c.name, volume), err, storage.ErrSizeMismatch)
			checkNothingAt(t, d, volume, path)
		}
	}
}

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func testCreateFileReaderError(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	boom := errors.New("sender went away")
	for _, volume := range []string{storage.TmpVolume, "bucket"} {
		for _, n := range []int{0, 100, 2<<20 + 1} {
			for _, size := range []int64{-1, int64(n) + 10} {
				name := filePath(volume, fmt.Sprintf("f/%d-%d", n, size))
				err := d.CreateFile(ctx, volume, name, size, &failingReader{n: n, err: boom})
				if !errors.Is(err, boom) {
					t.Fatalf("CreateFile %s/%s with a failing reader: %v, want the reader's error", volume, name, err)
				}
				checkNothingAt(t, d, volume, name)
			}
		}
	}
}

// cancelingReader cancels a context after n bytes and goes on yielding.
type cancelingReader struct {
	n      int
	cancel context.CancelFunc
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cancel()
	}
	k := min(len(p), 64<<10)
	r.n -= k
	return k, nil
}

func testCreateFileCanceled(t *testing.T, d storage.Drive) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// An endless input: only the cancellation can stop it.
	err := d.CreateFile(ctx, storage.TmpVolume, "f", -1, &cancelingReader{n: 3 << 20, cancel: cancel})
	wantErr(t, "CreateFile canceled mid-stream", err, context.Canceled)
	checkNothingAt(t, d, storage.TmpVolume, "f")
}

func testCreateFileOutsideTmp(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	data := randomBytes(5, 2<<20)
	dataDir := uuid.NewString()
	path := storage.PartPath("uploads/u1", dataDir, 1)
	noErr(t, "CreateFile in a volume", d.CreateFile(ctx, "bucket", path, int64(len(data)), bytes.NewReader(data)))
	if got := readFile(t, d, "bucket", path); !bytes.Equal(got, data) {
		t.Fatal("file in a volume does not read back")
	}
	names, err := d.ListDir(ctx, "bucket", storage.DataDirPath("uploads/u1", dataDir), -1)
	noErr(t, "ListDir", err)
	if !slices.Equal(names, []string{"part.1"}) {
		t.Fatalf("ListDir = %v: staging left traces", names)
	}
	noErr(t, "CreateFile in the multipart volume", d.CreateFile(ctx, storage.MultipartVolume, "upload/part.1", 2, bytes.NewReader([]byte("ok"))))
	if got := readFile(t, d, storage.MultipartVolume, "upload/part.1"); string(got) != "ok" {
		t.Fatalf("multipart file reads %q", got)
	}

	// In a bucket, a file path names a file of a data dir of a key.
	err = d.CreateFile(ctx, "bucket", "obj/extra/part.1", 1, bytes.NewReader([]byte("x")))
	wantErr(t, "CreateFile outside a data dir", err, storage.ErrInvalidPath)
}
