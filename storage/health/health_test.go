package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/drivetest"
	"github.com/gridstore/gridstore/storage/faultdrive"
	"github.com/gridstore/gridstore/storage/local"
)

// Every test ends with its hangs released and its goroutines gone: a
// goroutine left in the drive is a leak goleak reports.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit)) }

// newLocal returns a fresh local drive in a temporary directory, closed
// when t ends.
func newLocal(t testing.TB) *local.Drive {
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

// newTest returns a health drive over a fault drive over a fresh local
// drive with a bucket. When t ends, every hang is released, the test waits
// for the abandoned goroutines to come back and checks that they gave back
// what they held, and the drive is closed.
func newTest(t *testing.T, cfg Config) (*Drive, *faultdrive.Drive) {
	t.Helper()
	f := faultdrive.New(newLocal(t))
	h := Wrap(f, cfg, nil)
	t.Cleanup(func() {
		f.Release()
		waitFor(t, "the abandoned calls to return", func() bool { return h.Health().Abandoned == 0 })
		if n := h.buffers.Load(); n != 0 {
			t.Errorf("%d stream buffers not returned", n)
		}
		if n := f.OpenStreams(); n != 0 {
			t.Errorf("%d streams of the drive left open", n)
		}
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := h.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	return h, f
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// onTime fails the test unless a call that should return at a deadline of
// 100-500 ms returned well under 5 s.
func onTime(t *testing.T, what string, start time.Time) {
	t.Helper()
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("%s returned after %v", what, elapsed)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want %v", what, err, target)
	}
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// putObjects writes inline objects.
func putObjects(t *testing.T, d storage.Drive, names ...string) {
	t.Helper()
	for _, name := range names {
		fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: storage.NullVersionID, ModTime: t0, InlineData: []byte(name),
			Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1024, Index: 1, Distribution: []int{1, 2}}}}
		if err := d.WriteMetadata(t.Context(), "bucket", name, fi); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConformance: the wrapper keeps the Drive contract of what it wraps.
func TestConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storage.Drive {
		h := Wrap(newLocal(t), Config{}, nil)
		t.Cleanup(func() { h.Close() })
		return h
	})
}

// metadataCalls calls each metadata method once.
var metadataCalls = map[faultdrive.Op]func(ctx context.Context, d storage.Drive) error{
	faultdrive.OpMakeVol:   func(ctx context.Context, d storage.Drive) error { return d.MakeVol(ctx, "other") },
	faultdrive.OpStatVol:   func(ctx context.Context, d storage.Drive) error { _, err := d.StatVol(ctx, "bucket"); return err },
	faultdrive.OpListVols:  func(ctx context.Context, d storage.Drive) error { _, err := d.ListVols(ctx); return err },
	faultdrive.OpDeleteVol: func(ctx context.Context, d storage.Drive) error { return d.DeleteVol(ctx, "other") },
	faultdrive.OpDelete:    func(ctx context.Context, d storage.Drive) error { return d.Delete(ctx, storage.TmpVolume, "x", true) },
	faultdrive.OpListDir: func(ctx context.Context, d storage.Drive) error {
		_, err := d.ListDir(ctx, storage.TmpVolume, "", -1)
		return err
	},
	faultdrive.OpRenameData: func(ctx context.Context, d storage.Drive) error {
		_, err := d.RenameData(ctx, "", "", storage.FileInfo{}, "bucket", "obj")
		return err
	},
	faultdrive.OpReadVersion: func(ctx context.Context, d storage.Drive) error {
		_, err := d.ReadVersion(ctx, "bucket", "obj", "")
		return err
	},
	faultdrive.OpReadMetadata: func(ctx context.Context, d storage.Drive) error {
		_, err := d.ReadMetadata(ctx, "bucket", "obj")
		return err
	},
	faultdrive.OpWriteMetadata: func(ctx context.Context, d storage.Drive) error {
		return d.WriteMetadata(ctx, "bucket", "obj", storage.FileInfo{})
	},
	faultdrive.OpDeleteVersion: func(ctx context.Context, d storage.Drive) error {
		return d.DeleteVersion(ctx, "bucket", "obj", "v")
	},
	faultdrive.OpVerifyFile: func(ctx context.Context, d storage.Drive) error {
		return d.VerifyFile(ctx, "bucket", "obj", storage.FileInfo{})
	},
	faultdrive.OpDiskInfo: func(ctx context.Context, d storage.Drive) error { _, err := d.DiskInfo(ctx); return err },
	faultdrive.OpReadFileStream: func(ctx context.Context, d storage.Drive) error {
		rc, err := d.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
		if err == nil {
			rc.Close()
		}
		return err
	},
}

// TestMetadataHangTimesOut: every call that opens or asks something
// returns storage.ErrDriveTimeout at its deadline when the drive hangs,
// and the goroutine left in the drive comes back once released.
func TestMetadataHangTimesOut(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 200 * time.Millisecond, FaultyAfter: 1000})
	ctx := t.Context()
	for op, call := range metadataCalls {
		f.Set(faultdrive.Hang(), op)
		start := time.Now()
		err := call(ctx, h)
		onTime(t, string(op), start)
		wantErr(t, string(op)+" on a hung drive", err, storage.ErrDriveTimeout)
		f.Release()
	}
	st := h.Health()
	if st.State != StateOK || st.Timeouts != uint64(len(metadataCalls)) || st.Consecutive != len(metadataCalls) {
		t.Fatalf("health after %d timeouts: %+v", len(metadataCalls), st)
	}
	waitFor(t, "the abandoned calls to return", func() bool { return h.Health().Abandoned == 0 })
	// An answer in time resets the run of timeouts.
	if _, err := h.StatVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if st := h.Health(); st.Consecutive != 0 || st.Timeouts != uint64(len(metadataCalls)) {
		t.Fatalf("health after an answer: %+v", st)
	}
}

// TestDefaultCallTimeout: with the zero Config, a hung call returns at
// DefaultCallTimeout.
func TestDefaultCallTimeout(t *testing.T) {
	t.Parallel()
	h, f := newTest(t, Config{})
	f.Set(faultdrive.Hang(), faultdrive.OpStatVol)
	start := time.Now()
	_, err := h.StatVol(t.Context(), "bucket")
	elapsed := time.Since(start)
	wantErr(t, "StatVol on a hung drive", err, storage.ErrDriveTimeout)
	if elapsed < DefaultCallTimeout || elapsed > DefaultCallTimeout+10*time.Second {
		t.Fatalf("returned after %v, want about %v", elapsed, DefaultCallTimeout)
	}
}

// TestCallerDeadline: a deadline of the caller's that comes before the
// call's own returns the call then; the call counts as a timeout only if it
// is still in the drive a whole CallTimeout later.
func TestCallerDeadline(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 200 * time.Millisecond})
	f.Set(faultdrive.Hang(), faultdrive.OpStatVol)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.StatVol(ctx, "bucket")
	onTime(t, "StatVol", start)
	wantErr(t, "StatVol past the caller's deadline", err, context.DeadlineExceeded)
	if errors.Is(err, storage.ErrDriveTimeout) {
		t.Fatalf("the caller's deadline is not the drive's timeout: %v", err)
	}
	waitFor(t, "the stuck call to count as a timeout", func() bool { return h.Health().Timeouts == 1 })

	// One that comes back in time does not count.
	f.Set(faultdrive.Delay(50*time.Millisecond), faultdrive.OpStatVol)
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err = h.StatVol(ctx, "bucket")
	wantErr(t, "StatVol past the caller's deadline", err, context.DeadlineExceeded)
	waitFor(t, "the late call to return", func() bool { return h.Health().Abandoned == 1 }) // the hung one
	time.Sleep(300 * time.Millisecond)
	if n := h.Health().Timeouts; n != 1 {
		t.Fatalf("%d timeouts, want 1", n)
	}
}

// TestCancelWaitsForDrive: a cancelled call still waits for the drive's
// answer, within its deadline: a drive that honours the cancellation
// answers at once, a hung one times out.
func TestCancelWaitsForDrive(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	f.Set(faultdrive.Delay(50*time.Millisecond), faultdrive.OpStatVol)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := h.StatVol(ctx, "bucket")
	// The drive's own answer: it saw the cancelled context after the delay.
	wantErr(t, "cancelled StatVol", err, context.Canceled)
	if errors.Is(err, storage.ErrDriveTimeout) || h.Health().Abandoned != 0 {
		t.Fatalf("a drive that answered in time was abandoned: %v", err)
	}

	f.Set(faultdrive.Hang(), faultdrive.OpStatVol)
	ctx, cancel = context.WithCancel(t.Context())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err = h.StatVol(ctx, "bucket")
	onTime(t, "cancelled StatVol on a hung drive", start)
	wantErr(t, "cancelled StatVol on a hung drive", err, storage.ErrDriveTimeout)
	wantErr(t, "cancelled StatVol on a hung drive", err, context.Canceled)
}

// guardedReader is a caller's reader that must not be read once the call
// it was given to has returned.
type guardedReader struct {
	t        *testing.T
	buf      []byte // the caller's memory, reused after the call
	off      int
	returned atomic.Bool
	late     atomic.Int32
	delay    time.Duration
}

func (g *guardedReader) Read(p []byte) (int, error) {
	if g.returned.Load() {
		g.late.Add(1)
		return 0, errors.New("read after the call returned")
	}
	time.Sleep(g.delay)
	if g.off == len(g.buf) {
		return 0, io.EOF
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// TestCreateFileHangMidWrite: a CreateFile whose drive hangs after part of
// the data returns ErrDriveTimeout on time, and its reader, and the
// caller's memory behind it, are never touched after the call returned
// (the race detector watches the buffer the caller overwrites).
func TestCreateFileHangMidWrite(t *testing.T) {
	h, f := newTest(t, Config{StreamIdleTimeout: 200 * time.Millisecond})
	src := &guardedReader{t: t, buf: bytes.Repeat([]byte("caller"), 400_000)}
	f.Set(faultdrive.HangAfter(300_000), faultdrive.OpCreateFile)
	start := time.Now()
	err := h.CreateFile(t.Context(), storage.TmpVolume, "f", int64(len(src.buf)), src)
	onTime(t, "CreateFile on a drive hung mid-write", start)
	src.returned.Store(true)
	wantErr(t, "CreateFile on a drive hung mid-write", err, storage.ErrDriveTimeout)
	if src.off < 300_000 {
		t.Fatalf("the drive had read %d bytes when it hung", src.off)
	}
	// The caller reuses its memory at once.
	for i := range src.buf {
		src.buf[i] = 'x'
	}
	if st := h.Health(); st.Abandoned != 1 || st.Timeouts != 1 {
		t.Fatalf("health: %+v", st)
	}
	f.Release()
	waitFor(t, "the abandoned CreateFile to return", func() bool { return h.Health().Abandoned == 0 })
	if n := src.late.Load(); n != 0 {
		t.Fatalf("the caller's reader was read %d times after CreateFile returned", n)
	}
	// The drive failed the write when it woke up: nothing is left.
	_, err = h.ReadFileStream(t.Context(), storage.TmpVolume, "f", 0, -1)
	wantErr(t, "ReadFileStream of the abandoned file", err, storage.ErrFileNotFound)
}

// TestCreateFileSlowIsNotHung: neither a slow caller (its reader) nor a
// slow drive that keeps moving is a hang.
func TestCreateFileSlowIsNotHung(t *testing.T) {
	h, f := newTest(t, Config{StreamIdleTimeout: 600 * time.Millisecond})
	ctx := t.Context()
	// The caller's reader takes longer than the idle deadline per read:
	// its time is not the drive's.
	src := &guardedReader{t: t, buf: bytes.Repeat([]byte("slow client"), 1000), delay: 700 * time.Millisecond}
	if err := h.CreateFile(ctx, storage.TmpVolume, "slow-client", int64(len(src.buf)), src); err != nil {
		t.Fatalf("CreateFile from a slow client: %v", err)
	}
	// A drive that writes 1 MB/s shows progress every 256 KiB it reads
	// (0.26 s).
	f.Set(faultdrive.Slow(1_000_000), faultdrive.OpCreateFile)
	data := bytes.Repeat([]byte("slow drive"), 60_000)
	if err := h.CreateFile(ctx, storage.TmpVolume, "slow-drive", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("CreateFile on a drive writing 1 MB/s: %v", err)
	}
	if n := h.Health().Timeouts; n != 0 {
		t.Fatalf("%d timeouts", n)
	}
}

// TestReadFileStreamSlowAndHung: a stream read at 1 MB/s makes progress
// within the idle deadline and reads fine; one that stops yielding fails
// on time, and what it held is released when the drive comes back.
func TestReadFileStreamSlowAndHung(t *testing.T) {
	h, f := newTest(t, Config{StreamIdleTimeout: 500 * time.Millisecond})
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), 96<<10) // 1.5 MiB
	if err := h.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	read := func() ([]byte, error) {
		rc, err := h.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}

	// 1 MB/s: 256 KiB every ~0.26 s, within the 0.5 s idle deadline.
	f.Set(faultdrive.Slow(1_000_000), faultdrive.OpReadFileStream)
	got, err := read()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read at 1 MB/s: %d bytes, %v", len(got), err)
	}
	if n := h.Health().Timeouts; n != 0 {
		t.Fatalf("a drive reading 1 MB/s timed out %d times", n)
	}

	// 200 kB/s: one 256 KiB read takes 1.3 s, longer than the idle
	// deadline: slower than the slowest rate Config says is working.
	f.Set(faultdrive.Slow(200_000), faultdrive.OpReadFileStream)
	start := time.Now()
	_, err = read()
	onTime(t, "read at 200 kB/s", start)
	wantErr(t, "read at 200 kB/s", err, storage.ErrDriveTimeout)
	waitFor(t, "the slow Read to return", func() bool { return h.Health().Abandoned == 0 })

	// A stream that stops after 100 kB.
	f.Set(faultdrive.HangAfter(100_000), faultdrive.OpReadFileStream)
	rc, err := h.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 64<<10) // the caller's buffer, reused after the timeout
	var n int
	for err == nil {
		var k int
		k, err = rc.Read(p)
		n += k
	}
	wantErr(t, "Read of a stream hung mid-way", err, storage.ErrDriveTimeout)
	if n != 100_000 {
		t.Fatalf("read %d bytes before the hang, want 100000", n)
	}
	clear(p)
	if _, err2 := rc.Read(p); err2 != err {
		t.Fatalf("Read after the timeout: %v, want the same error again", err2)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if f.OpenStreams() != 1 || h.buffers.Load() != 1 {
		t.Fatalf("the stuck Read holds the stream (%d open) and its buffer (%d)", f.OpenStreams(), h.buffers.Load())
	}
	f.Release()
	waitFor(t, "the stuck Read to return", func() bool { return h.Health().Abandoned == 0 })
	waitFor(t, "the stream to be closed", func() bool { return f.OpenStreams() == 0 })
	if n := h.buffers.Load(); n != 0 {
		t.Fatalf("%d buffers not returned", n)
	}
}

// TestReadFileStreamLateOpen: a stream the drive opens after the caller
// has gone is closed.
func TestReadFileStreamLateOpen(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 100 * time.Millisecond})
	ctx := t.Context()
	if err := h.CreateFile(ctx, storage.TmpVolume, "f", 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	f.Set(faultdrive.Hang(), faultdrive.OpReadFileStream)
	_, err := h.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	wantErr(t, "ReadFileStream on a hung drive", err, storage.ErrDriveTimeout)
	f.Release()
	waitFor(t, "the late open to return", func() bool { return h.Health().Abandoned == 0 })
	waitFor(t, "the late stream to be closed", func() bool { return f.OpenStreams() == 0 })
	if f.Calls(faultdrive.OpReadFileStream) != 1 {
		t.Fatal("the open did not reach the drive")
	}
}

// TestWalkDirHang: a walk whose drive hangs between entries fails on time
// and never calls the callback again; a slow callback is not a hang.
func TestWalkDirHang(t *testing.T) {
	h, f := newTest(t, Config{StreamIdleTimeout: 200 * time.Millisecond})
	ctx := t.Context()
	putObjects(t, h, "a", "b", "c")
	opts := storage.WalkDirOptions{Volume: "bucket", Recursive: true}

	var seen []string
	err := h.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
		time.Sleep(300 * time.Millisecond) // the caller's time
		seen = append(seen, e.Name)
		return nil
	})
	if err != nil || len(seen) != 3 {
		t.Fatalf("walk with a slow callback: %v, %q", err, seen)
	}

	f.Set(faultdrive.HangAfter(1), faultdrive.OpWalkDir)
	var returned, late atomic.Bool
	seen = nil
	start := time.Now()
	err = h.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
		if returned.Load() {
			late.Store(true)
		}
		seen = append(seen, e.Name)
		return nil
	})
	returned.Store(true)
	onTime(t, "WalkDir on a drive hung mid-walk", start)
	wantErr(t, "WalkDir on a drive hung mid-walk", err, storage.ErrDriveTimeout)
	if len(seen) != 1 {
		t.Fatalf("entries before the hang: %q", seen)
	}
	f.Release()
	waitFor(t, "the walk to return", func() bool { return h.Health().Abandoned == 0 })
	if late.Load() || len(seen) != 1 {
		t.Fatalf("the callback ran after WalkDir returned: %q", seen)
	}
}

// TestFaultyAndBack: three timeouts take the drive out of service: calls
// fail at once without reaching it, DiskInfo says so, a probe that hangs
// keeps it out; once the drive works again a probe puts it back, and
// OnStateChange hears of both.
func TestFaultyAndBack(t *testing.T) {
	changes := make(chan bool, 4)
	h, f := newTest(t, Config{
		CallTimeout:   100 * time.Millisecond,
		ProbeInterval: 20 * time.Millisecond,
		OnStateChange: func(healthy bool) { changes <- healthy },
	})
	ctx := t.Context()
	if _, err := h.DiskInfo(ctx); err != nil { // figures to report later
		t.Fatal(err)
	}
	f.Set(faultdrive.Hang()) // every operation: the probe too
	for i := range DefaultFaultyAfter {
		_, err := h.ReadVersion(ctx, "bucket", "obj", "")
		wantErr(t, fmt.Sprintf("ReadVersion %d", i), err, storage.ErrDriveTimeout)
	}
	if st := h.Health(); st.State != StateFaulty || st.Timeouts != 3 || st.LastErr == "" {
		t.Fatalf("health after 3 timeouts: %+v", st)
	}
	select {
	case healthy := <-changes:
		if healthy {
			t.Fatal("OnStateChange(true) first")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnStateChange(false) not called")
	}

	// Out of service: calls fail without reaching the drive.
	calls := f.Calls(faultdrive.OpReadVersion)
	_, err := h.ReadVersion(ctx, "bucket", "obj", "")
	wantErr(t, "ReadVersion on a faulty drive", err, storage.ErrDriveFaulty)
	src := &guardedReader{t: t, buf: []byte("data")}
	err = h.CreateFile(ctx, storage.TmpVolume, "f", 4, src)
	wantErr(t, "CreateFile on a faulty drive", err, storage.ErrDriveFaulty)
	if f.Calls(faultdrive.OpReadVersion) != calls || f.Calls(faultdrive.OpCreateFile) != 0 || src.off != 0 {
		t.Fatal("a call reached the faulty drive")
	}
	info, err := h.DiskInfo(ctx)
	if err != nil || info.Online || info.Health.State != StateFaulty || info.Total == 0 || info.Endpoint != h.Endpoint() {
		t.Fatalf("DiskInfo of a faulty drive: %+v, %v", info, err)
	}

	// The probe hangs in the drive: still out of service, one probe stuck.
	waitFor(t, "a probe to hang", func() bool { return f.Calls(faultdrive.OpDiskInfo) == 2 })
	waitFor(t, "the probe to be abandoned", func() bool { return h.Health().Abandoned == 4 }) // 3 calls, 1 probe
	time.Sleep(100 * time.Millisecond)                                                        // several probe intervals
	if st := h.Health(); st.State != StateFaulty {
		t.Fatalf("health with the probe hung: %+v", st)
	}
	if n := f.Calls(faultdrive.OpDiskInfo); n != 2 {
		t.Fatalf("%d DiskInfo calls: probes piled up behind the hung one", n)
	}

	f.Release()
	select {
	case healthy := <-changes:
		if !healthy {
			t.Fatal("OnStateChange(false) twice")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drive did not come back")
	}
	st := h.Health()
	if st.State != StateOK || st.Abandoned != 0 || st.Consecutive != 0 {
		t.Fatalf("health after the probe passed: %+v", st)
	}
	_, err = h.ReadVersion(ctx, "bucket", "obj", "")
	wantErr(t, "ReadVersion after the drive came back", err, storage.ErrFileNotFound)
	if info, err := h.DiskInfo(ctx); err != nil || !info.Online || info.Health.State != StateOK {
		t.Fatalf("DiskInfo after the drive came back: %+v, %v", info, err)
	}
	// The probe cleaned up after itself.
	if names, err := h.ListDir(ctx, storage.TmpVolume, "", -1); err != nil || len(names) != 0 {
		t.Fatalf("tmp volume after the probes: %q, %v", names, err)
	}
}

// TestFaultyFailsWaitingCalls: a call waiting on the drive when it is taken
// out of service fails at once, not at its own deadline.
func TestFaultyFailsWaitingCalls(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 100 * time.Millisecond, StreamIdleTimeout: time.Hour})
	ctx := t.Context()
	putObjects(t, h, "a")
	f.Set(faultdrive.Hang(), faultdrive.OpWalkDir, faultdrive.OpReadVersion)
	walked := make(chan error, 1)
	go func() {
		walked <- h.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error { return nil })
	}()
	waitFor(t, "the walk to hang", func() bool { return f.Blocked() == 1 })
	start := time.Now()
	for range DefaultFaultyAfter {
		_, err := h.ReadVersion(ctx, "bucket", "a", "")
		wantErr(t, "ReadVersion", err, storage.ErrDriveTimeout)
	}
	wantErr(t, "WalkDir waiting when the drive went faulty", <-walked, storage.ErrDriveFaulty)
	onTime(t, "WalkDir", start)
}

// TestMaxAbandoned: the drive is taken out of service once MaxAbandoned
// goroutines are stuck in it, even without a run of timeouts.
func TestMaxAbandoned(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 50 * time.Millisecond, FaultyAfter: 1000, MaxAbandoned: 3, ProbeInterval: 10 * time.Millisecond})
	ctx := t.Context()
	f.Set(faultdrive.Hang(), faultdrive.OpReadVersion)
	for i := range 3 {
		_, err := h.ReadVersion(ctx, "bucket", "obj", "")
		wantErr(t, "ReadVersion", err, storage.ErrDriveTimeout)
		if i < 2 {
			// Answers in between keep the run of timeouts short.
			if _, err := h.StatVol(ctx, "bucket"); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := h.StatVol(ctx, "bucket")
	wantErr(t, "StatVol with 3 calls stuck", err, storage.ErrDriveFaulty)
	if st := h.Health(); st.State != StateFaulty || st.Abandoned != 3 {
		t.Fatalf("health: %+v", st)
	}
	// The probe passes (ReadVersion is not part of it), but the stuck
	// calls keep the drive out.
	waitFor(t, "a probe", func() bool { return f.Calls(faultdrive.OpDiskInfo) >= 2 })
	if st := h.Health(); st.State != StateFaulty {
		t.Fatalf("back in service with 3 calls stuck: %+v", st)
	}
	f.Release()
	waitFor(t, "the drive to come back", func() bool { return h.Health().State == StateOK })
}

// TestManyHungCalls: concurrent calls of every kind on a hanging drive all
// return, the drive goes faulty and comes back, and nothing is left behind
// (the cleanup and goleak check).
func TestManyHungCalls(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 100 * time.Millisecond, StreamIdleTimeout: 100 * time.Millisecond, ProbeInterval: 10 * time.Millisecond})
	ctx := t.Context()
	putObjects(t, h, "a", "b")
	data := bytes.Repeat([]byte{1}, 100_000)
	if err := h.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	f.Set(faultdrive.HangAfter(10))
	f.Set(faultdrive.Hang(), faultdrive.OpWalkDir) // it has fewer than 10 entries
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			var err error
			switch i % 4 {
			case 0:
				_, err = h.ReadVersion(ctx, "bucket", "a", "")
			case 1:
				err = h.CreateFile(ctx, storage.TmpVolume, fmt.Sprintf("g%d", i), int64(len(data)), bytes.NewReader(data))
			case 2:
				err = h.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(storage.MetaEntry) error { return nil })
			case 3:
				var rc io.ReadCloser
				if rc, err = h.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1); err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
			if !errors.Is(err, storage.ErrDriveTimeout) && !errors.Is(err, storage.ErrDriveFaulty) {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if st := h.Health(); st.State != StateFaulty {
		t.Fatalf("health: %+v", st)
	}
	f.Release()
	waitFor(t, "the drive to come back", func() bool { return h.Health().State == StateOK })
}

// TestClose: a closed drive refuses calls, and Close stops the probe loop
// of a faulty drive.
func TestClose(t *testing.T) {
	h, f := newTest(t, Config{CallTimeout: 50 * time.Millisecond, FaultyAfter: 1, ProbeInterval: 10 * time.Millisecond})
	f.Set(faultdrive.Hang())
	_, err := h.ListVols(t.Context())
	wantErr(t, "ListVols", err, storage.ErrDriveTimeout)
	if h.Health().State != StateFaulty {
		t.Fatal("not faulty")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = h.ListVols(t.Context())
	wantErr(t, "ListVols after Close", err, storage.ErrDriveOffline)
	_, err = h.DiskInfo(t.Context())
	wantErr(t, "DiskInfo after Close", err, storage.ErrDriveOffline)
}

// TestFileRange: a stream over a local file offers the file for sendfile
// until it has been read through the wrapper.
func TestFileRange(t *testing.T) {
	h := Wrap(newLocal(t), Config{}, nil)
	t.Cleanup(func() { h.Close() })
	ctx := t.Context()
	data := bytes.Repeat([]byte("range"), 1000)
	if err := h.CreateFile(ctx, storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	type fileRanger interface {
		FileRange() (*os.File, int64)
	}
	rc, err := h.ReadFileStream(ctx, storage.TmpVolume, "f", 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fr, ok := rc.(fileRanger)
	if !ok {
		t.Fatal("the stream of a local drive has no FileRange")
	}
	f, n := fr.FileRange()
	if f == nil || n != 1000 {
		t.Fatalf("FileRange() = %v, %d", f, n)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, data[100:1100]) {
		t.Fatalf("the file at its range: %v", err)
	}
	rc.Close()

	rc, err = h.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if f, n := rc.(fileRanger).FileRange(); f != nil || n != 0 {
		t.Fatalf("FileRange after a Read: %v, %d", f, n)
	}
	// A huge size claimed by fi does not overflow VerifyFile's deadline.
	err = h.VerifyFile(ctx, "missing", "obj", storage.FileInfo{FileVersion: storage.FileVersion{Size: 1<<63 - 1}})
	wantErr(t, "VerifyFile without a layout", err, storage.ErrInvalidArgument)
}
