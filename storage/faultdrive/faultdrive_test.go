package faultdrive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/drivetest"
	"github.com/gridstore/gridstore/storage/faultdrive"
	"github.com/gridstore/gridstore/storage/local"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newLocal returns a fresh local drive in a temporary directory, closed
// when t ends.
func newLocal(t *testing.T) storage.Drive {
	t.Helper()
	dir := t.TempDir()
	id := uuid.NewString()
	spec := local.FormatSpec{DeploymentID: uuid.NewString(), DriveID: id, Sets: [][]string{{id}}, BitrotKey: drivetest.BitrotKey}
	if err := local.Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	d, err := local.Open(dir, local.ExpectedFor(spec, 0, 0), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// newFault returns a fault drive over a fresh local drive with a bucket;
// every rule is cleared when t ends, so no call stays hung.
func newFault(t *testing.T) *faultdrive.Drive {
	t.Helper()
	d := faultdrive.New(newLocal(t))
	t.Cleanup(d.Release)
	if err := d.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestConformance: without rules, the fault drive is its inner drive.
func TestConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storage.Drive {
		return faultdrive.New(newLocal(t))
	})
}

func TestFail(t *testing.T) {
	d := newFault(t)
	ctx := t.Context()
	boom := errors.New("boom")
	d.Set(faultdrive.Fail(boom), faultdrive.OpReadVersion)
	if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, boom) {
		t.Fatalf("ReadVersion with a Fail rule: %v", err)
	}
	if _, err := d.StatVol(ctx, "bucket"); err != nil {
		t.Fatalf("StatVol has no rule: %v", err)
	}
	d.Clear(faultdrive.OpReadVersion)
	if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrFileNotFound) {
		t.Fatalf("ReadVersion after Clear: %v, want the drive's own answer", err)
	}
	if n := d.Calls(faultdrive.OpReadVersion); n != 2 {
		t.Fatalf("Calls(ReadVersion) = %d, want 2", n)
	}

	// A rule for all operations; an operation's own rule wins over it.
	d.Set(faultdrive.Fail(boom))
	d.Set(faultdrive.Fail(storage.ErrDiskFull), faultdrive.OpMakeVol)
	if _, err := d.ListVols(ctx); !errors.Is(err, boom) {
		t.Fatalf("ListVols under the rule for all: %v", err)
	}
	if err := d.MakeVol(ctx, "other"); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("MakeVol under its own rule: %v", err)
	}
	d.Clear()
	if _, err := d.ListVols(ctx); err != nil {
		t.Fatalf("ListVols after Clear(): %v", err)
	}
	if err := d.MakeVol(ctx, "other"); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("Clear() must leave the operations' own rules: %v", err)
	}
}

// TestHangIgnoresContext: a hung call stays hung after its context ends,
// as a call stuck in a system call does, and goes on to the drive once
// released.
func TestHangIgnoresContext(t *testing.T) {
	d := newFault(t)
	d.Set(faultdrive.Hang(), faultdrive.OpStatVol)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := d.StatVol(ctx, "bucket")
		done <- err
	}()
	waitFor(t, "the call to hang", func() bool { return d.Blocked() == 1 })
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("hung call returned when its context ended: %v", err)
	default:
	}
	// Other operations are not affected.
	if _, err := d.ListVols(t.Context()); err != nil {
		t.Fatal(err)
	}
	d.Release()
	// Released, it reaches the drive, which sees the expired context.
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("released call: %v", err)
	}
	if d.Blocked() != 0 {
		t.Fatalf("Blocked() = %d after Release", d.Blocked())
	}
}

// TestSetReleases: replacing a Hang rule releases the calls it hung.
func TestSetReleases(t *testing.T) {
	d := newFault(t)
	d.Set(faultdrive.Hang())
	done := make(chan error, 1)
	go func() {
		_, err := d.ListVols(context.Background())
		done <- err
	}()
	waitFor(t, "the call to hang", func() bool { return d.Blocked() == 1 })
	d.Set(faultdrive.Fail(errors.New("later calls fail")))
	if err := <-done; err != nil {
		t.Fatalf("the released call goes on to the drive: %v", err)
	}
}

func TestDelay(t *testing.T) {
	d := newFault(t)
	d.Set(faultdrive.Delay(100*time.Millisecond), faultdrive.OpListVols)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	_, err := d.ListVols(ctx)
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Fatalf("delayed call returned after %v", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("delayed call with a cancelled context: %v, want the drive's answer", err)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestSlow(t *testing.T) {
	d := newFault(t)
	ctx := t.Context()
	data := bytes.Repeat([]byte("slow"), 50_000) // 200 kB at 1 MB/s: 200 ms
	d.Set(faultdrive.Slow(1_000_000), faultdrive.OpCreateFile, faultdrive.OpReadFileStream)
	start := time.Now()
	if err := d.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 190*time.Millisecond {
		t.Fatalf("CreateFile of 200 kB at 1 MB/s took %v", elapsed)
	}
	start = time.Now()
	rc, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("slow read: %d bytes, %v", len(got), err)
	}
	if elapsed := time.Since(start); elapsed < 190*time.Millisecond {
		t.Fatalf("reading 200 kB at 1 MB/s took %v", elapsed)
	}
	// Metadata calls are not slowed.
	if _, err := d.StatVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
}

// TestHangAfterCreateFile: CreateFile reads exactly n bytes of its input,
// then hangs, whatever its context, until released.
func TestHangAfterCreateFile(t *testing.T) {
	d := newFault(t)
	data := bytes.Repeat([]byte{7}, 100_000)
	src := &countingReader{r: bytes.NewReader(data)}
	d.Set(faultdrive.HangAfter(10_000), faultdrive.OpCreateFile)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), src) }()
	waitFor(t, "CreateFile to hang", func() bool { return d.Blocked() == 1 })
	cancel()
	time.Sleep(20 * time.Millisecond)
	if n := src.n.Load(); n != 10_000 {
		t.Fatalf("hung after reading %d bytes, want 10000", n)
	}
	select {
	case err := <-done:
		t.Fatalf("CreateFile returned while hung: %v", err)
	default:
	}
	d.Clear(faultdrive.OpCreateFile)
	// Released, the drive goes on and notices the cancellation.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("released CreateFile: %v", err)
	}

	// Uncancelled, a released CreateFile completes the file.
	d.Set(faultdrive.HangAfter(10_000), faultdrive.OpCreateFile)
	go func() {
		done <- d.CreateFile(t.Context(), storage.TmpVolume, "g", int64(len(data)), bytes.NewReader(data))
	}()
	waitFor(t, "CreateFile to hang", func() bool { return d.Blocked() == 1 })
	d.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rc, err := d.ReadFileStream(t.Context(), storage.TmpVolume, "g", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file after the released hang: %d bytes, %v", len(got), err)
	}
}

// TestHangAfterReadFileStream: the stream yields n bytes, then its Read
// hangs until released; open streams are counted until closed.
func TestHangAfterReadFileStream(t *testing.T) {
	d := newFault(t)
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789"), 2_000)
	if err := d.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	d.Set(faultdrive.HangAfter(5_000), faultdrive.OpReadFileStream)
	rc, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if d.OpenStreams() != 1 {
		t.Fatalf("OpenStreams() = %d", d.OpenStreams())
	}
	head := make([]byte, 5_000)
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, data[:5_000]) {
		t.Fatalf("first 5000 bytes: %v", err)
	}
	done := make(chan []byte, 1)
	go func() {
		rest, _ := io.ReadAll(rc)
		done <- rest
	}()
	waitFor(t, "the Read to hang", func() bool { return d.Blocked() == 1 })
	d.Release()
	if rest := <-done; !bytes.Equal(rest, data[5_000:]) {
		t.Fatalf("after the hang: %d bytes", len(rest))
	}
	rc.Close()
	rc.Close()
	if d.OpenStreams() != 0 {
		t.Fatalf("OpenStreams() = %d after Close", d.OpenStreams())
	}

	// Hang set while a stream is open applies to its next Read.
	rc, err = d.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	d.Set(faultdrive.Hang(), faultdrive.OpReadFileStream)
	go func() {
		b, _ := io.ReadAll(rc)
		done <- b
	}()
	waitFor(t, "the Read to hang", func() bool { return d.Blocked() == 1 })
	d.Release()
	if b := <-done; !bytes.Equal(b, data) {
		t.Fatalf("read %d bytes after the hang", len(b))
	}
	// The stream hides the inner stream's zero-copy methods, which would
	// bypass the faults.
	if _, ok := rc.(io.WriterTo); ok {
		t.Fatal("the fault stream is an io.WriterTo")
	}
}

// TestHangAfterWalkDir: WalkDir delivers n entries, then hangs before the
// next until released.
func TestHangAfterWalkDir(t *testing.T) {
	d := newFault(t)
	ctx := t.Context()
	for _, name := range []string{"a", "b", "c"} {
		fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: storage.NullVersionID, ModTime: time.Unix(1, 0), InlineData: []byte(name),
			Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1024, Index: 1, Distribution: []int{1, 2}}}}
		if err := d.WriteMetadata(ctx, "bucket", name, fi); err != nil {
			t.Fatal(err)
		}
	}
	d.Set(faultdrive.HangAfter(1), faultdrive.OpWalkDir)
	var seen atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(storage.MetaEntry) error {
			seen.Add(1)
			return nil
		})
	}()
	waitFor(t, "the walk to hang", func() bool { return d.Blocked() == 1 })
	if n := seen.Load(); n != 1 {
		t.Fatalf("%d entries before the hang, want 1", n)
	}
	d.Release()
	if err := <-done; err != nil || seen.Load() != 3 {
		t.Fatalf("walk after the hang: %v, %d entries", err, seen.Load())
	}
}

// TestHangAfterOnMetadataCall: HangAfter hangs a metadata call at once.
func TestHangAfterOnMetadataCall(t *testing.T) {
	d := newFault(t)
	d.Set(faultdrive.HangAfter(100), faultdrive.OpListDir)
	done := make(chan error, 1)
	go func() {
		_, err := d.ListDir(context.Background(), storage.TmpVolume, "", -1)
		done <- err
	}()
	waitFor(t, "ListDir to hang", func() bool { return d.Blocked() == 1 })
	d.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
