package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

var testKey = []byte("gridstore object test bitrot key")

// testBlockSize keeps multi-block objects small, so that block edges are
// cheap to test.
const testBlockSize = 64 << 10

const testBucket = "bucket"

// testSet is a set of local drives in t.TempDir(), each behind a fault
// injecting wrapper.
type testSet struct {
	*Set
	drives []*faultyDrive
	local  []*local.Drive
	heals  *healLog
}

// newTestSet formats and opens n drives and builds a set over them with a
// bucket; tweak adjusts the configuration.
func newTestSet(t testing.TB, n int, tweak func(*Config)) *testSet {
	t.Helper()
	return newSetWith(t, n, local.Options{BufferedIO: true}, tweak)
}

// newSetWith is newTestSet with the drives opened with opts.
func newSetWith(t testing.TB, n int, opts local.Options, tweak func(*Config)) *testSet {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	deployment := uuid.NewString()
	ts := &testSet{heals: &healLog{}}
	drives := make([]storage.Drive, n)
	for i := range n {
		dir := t.TempDir()
		spec := local.FormatSpec{DeploymentID: deployment, DriveID: ids[i], Sets: [][]string{ids}, BitrotKey: testKey}
		if err := local.Format(dir, spec); err != nil {
			t.Fatal(err)
		}
		d, err := local.Open(dir, local.ExpectedFor(spec, 0, i), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		fd := &faultyDrive{Drive: d}
		ts.local = append(ts.local, d)
		ts.drives = append(ts.drives, fd)
		drives[i] = fd
	}
	// Before the drives close: a write acknowledged without a hung drive
	// leaves that drive's call behind until its timeout, which may outlast
	// the test (and then goleak's look at the package's goroutines).
	t.Cleanup(func() { ts.waitFaultsOver(t) })
	cfg := Config{
		Drives:        drives,
		BitrotKey:     testKey,
		BlockSize:     testBlockSize,
		Heal:          ts.heals,
		DriveTimeout:  3 * time.Second,
		ShardTimeout:  3 * time.Second,
		ProbeTimeout:  time.Second,
		StragglerWait: 10 * time.Millisecond,
		LockTimeout:   10 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Set = s
	if err := s.MakeBucket(context.Background(), testBucket); err != nil {
		t.Fatal(err)
	}
	return ts
}

// shortTimeouts makes hung drives cost little in tests that hang them. They
// must still be long enough that a healthy drive on a loaded 2-core machine
// (race detector, other packages' tests) is never taken for a hung one: at
// 300 ms that happened, and a read at the quorum edge failed.
func shortTimeouts(c *Config) {
	c.DriveTimeout = time.Second
	c.ShardTimeout = time.Second
	c.ProbeTimeout = 700 * time.Millisecond
}

// waitFaultsOver releases the drives' stuck calls and waits, at most 10 s,
// for every call a fault holds to return.
func (ts *testSet) waitFaultsOver(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for i, d := range ts.drives {
		d.unstick()
		for d.blocked.Load() > 0 {
			if time.Now().After(deadline) {
				t.Logf("drive %d: %d calls still held by a fault at the end of the test", i, d.blocked.Load())
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (ts *testSet) put(t testing.TB, key string, data []byte) ObjectInfo {
	t.Helper()
	info, err := ts.PutObject(context.Background(), testBucket, key, bytes.NewReader(data), int64(len(data)), PutOptions{})
	if err != nil {
		t.Fatalf("put %s (%d bytes): %v", key, len(data), err)
	}
	return info
}

// get reads a whole object.
func (ts *testSet) get(key string, opts GetOptions) ([]byte, ObjectInfo, error) {
	r, err := ts.GetObject(context.Background(), testBucket, key, opts)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	defer r.Close()
	var buf bytes.Buffer
	_, err = r.WriteTo(&buf)
	return buf.Bytes(), r.Info(), err
}

func (ts *testSet) mustGet(t testing.TB, key string, want []byte) {
	t.Helper()
	got, _, err := ts.get(key, GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s: %d bytes differ from the %d put (first difference at %d)", key, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// versions returns the version IDs each drive holds of key (nil if none).
func (ts *testSet) versions(t testing.TB, key string) [][]string {
	t.Helper()
	out := make([][]string, len(ts.local))
	for i, d := range ts.local {
		raw, err := d.ReadMetadata(context.Background(), testBucket, key)
		if errors.Is(err, storage.ErrFileNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("drive %d: %v", i, err)
		}
		meta, err := storage.DecodeObjectMeta(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range meta.Versions {
			out[i] = append(out[i], v.VersionID)
		}
	}
	return out
}

// noTmpLeftovers fails if any drive has anything in its tmp area.
// Cleanups finish after the answer when a drive is slow (fanOutWrite), so
// this waits a while for them before it calls what is left a leftover.
// settled waits until every drive holds key's one version, whatever it
// is: for tests that check drives right after a write of a fresh key.
func (ts *testSet) settled(t testing.TB, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		vs := ts.versions(t, key)
		ok := len(vs) > 0 && len(vs[0]) == 1
		for _, v := range vs {
			if !ok {
				break
			}
			if len(v) != 1 || v[0] != vs[0][0] {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drives hold %v of %s after 10 s, want one version on every drive", vs, key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// onlyVersion waits until every drive holds exactly versionID of key: the
// calls of a write's fan-out that outlived its grace (stragglers on a busy
// machine) finish on their own after the write returned.
func (ts *testSet) onlyVersion(t testing.TB, key, versionID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var bad []string
		for i, v := range ts.versions(t, key) {
			if len(v) != 1 || v[0] != versionID {
				bad = append(bad, fmt.Sprintf("drive %d holds %v", i, v))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want only version %s after 10 s: %s", versionID, strings.Join(bad, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (ts *testSet) noTmpLeftovers(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i, d := range ts.local {
		for {
			names, err := d.ListDir(context.Background(), storage.TmpVolume, "", 0)
			if err != nil && !errors.Is(err, storage.ErrFileNotFound) {
				t.Fatal(err)
			}
			if len(names) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("drive %d: tmp holds %v", i, names)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// shardHolders returns the set positions holding data shards (first) and
// parity shards of key, by the distribution of its current version.
func (ts *testSet) shardHolders(t testing.TB, key string) (data, parity []int) {
	t.Helper()
	fi, err := ts.local[0].ReadVersion(context.Background(), testBucket, key, "")
	if err != nil {
		// Try the others: drive 0 may be the one that missed the write.
		for _, d := range ts.local[1:] {
			if fi, err = d.ReadVersion(context.Background(), testBucket, key, ""); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	byShard := make([]int, len(fi.Erasure.Distribution))
	for pos, shard := range fi.Erasure.Distribution {
		byShard[shard-1] = pos
	}
	return byShard[:fi.Erasure.DataBlocks], byShard[fi.Erasure.DataBlocks:]
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 1})
	_, _ = r.Read(b)
	return b
}

// healLog records heal requests.
type healLog struct {
	mu   sync.Mutex
	reqs []HealRequest
}

func (h *healLog) QueueHeal(r HealRequest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, r)
}

func (h *healLog) take() []HealRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.reqs
	h.reqs = nil
	return r
}

// fault is what a faultyDrive does to a call.
type fault int

const (
	faultNone      fault = iota
	faultOffline         // fail with ErrDriveOffline (DiskInfo too)
	faultError           // fail with ErrFaultyDisk
	faultHang            // block until the call's context ends
	faultCorrupt         // reads return damaged bytes (shard streams, inline data)
	faultStallOnce       // block the first call until its context ends, then heal
	// faultLate blocks a RenameData until its context ends, then carries it
	// out all the same: a commit whose caller gave up on it, landing late.
	faultLate
	// faultLater is faultLate whose commit runs only once unstick is
	// called: one still running on a slow node after its writer gave up
	// on it, and after the writer's rollback too. The call counts as
	// blocked until it has run.
	faultLater
	// faultStuck blocks the call, ignoring its context, until unstick:
	// a disk stuck in a system call.
	faultStuck
	// faultHeld blocks the call, ignoring its context, until unstick, and
	// then carries it out: a slow drive whose call does finish.
	faultHeld
)

// errLate is what a faultLate call returns to its caller.
var errLate = errors.New("late (injected)")

// opStream names the reads of a stream ReadFileStream returned: hanging it
// hangs the reads, not the open.
const opStream = "stream"

// faultyDrive wraps a drive and injects faults by operation name (the
// Drive method's name, or opStream; "" matches every operation).
type faultyDrive struct {
	storage.Drive
	mu     sync.Mutex
	faults map[string]fault
	// stuck is closed by unstick; made when first needed.
	stuck   chan struct{}
	unstuck bool
	// readVersions and readMetas count the ReadVersion and ReadMetadata
	// calls that reached it.
	readVersions, readMetas atomic.Int64
	// blocked counts the calls held by a fault (hang, stall, late, stuck).
	blocked atomic.Int64
	// landed counts the faultLate commits carried out after their caller
	// gave up, landedOK those that succeeded.
	landed, landedOK atomic.Int64
}

// stuckUntil returns the channel faultStuck calls wait on.
func (f *faultyDrive) stuckUntil() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stuck == nil {
		f.stuck = make(chan struct{})
	}
	return f.stuck
}

// unstick lets every faultStuck call, past and future, return.
func (f *faultyDrive) unstick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stuck == nil {
		f.stuck = make(chan struct{})
	}
	if !f.unstuck {
		f.unstuck = true
		close(f.stuck)
	}
}

func (f *faultyDrive) set(fl fault, ops ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.faults == nil {
		f.faults = map[string]fault{}
	}
	if len(ops) == 0 {
		ops = []string{""}
	}
	for _, op := range ops {
		f.faults[op] = fl
	}
}

func (f *faultyDrive) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

func (f *faultyDrive) faultOf(op string) fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.faults[op]; ok {
		return fl
	}
	if op == opStream {
		return faultNone // "" faults the calls, a stream only by name
	}
	return f.faults[""]
}

// enter applies a call fault; corruption is the caller's to apply.
func (f *faultyDrive) enter(ctx context.Context, op string) error {
	fl := f.faultOf(op)
	switch fl {
	case faultHang, faultStallOnce, faultStuck, faultHeld, faultLate:
		f.blocked.Add(1)
		defer f.blocked.Add(-1)
	}
	switch fl {
	case faultOffline:
		return fmt.Errorf("%s: %w (injected)", op, storage.ErrDriveOffline)
	case faultError:
		return fmt.Errorf("%s: %w (injected)", op, storage.ErrFaultyDisk)
	case faultHang:
		<-ctx.Done()
		return fmt.Errorf("%s: hung (injected): %w", op, ctx.Err())
	case faultStallOnce:
		<-ctx.Done()
		f.set(faultNone, op)
		return fmt.Errorf("%s: stalled (injected): %w", op, ctx.Err())
	case faultStuck:
		<-f.stuckUntil()
		return fmt.Errorf("%s: stuck (injected)", op)
	case faultHeld:
		<-f.stuckUntil()
	case faultLate:
		<-ctx.Done()
		return fmt.Errorf("%s: %w: %w", op, errLate, ctx.Err())
	}
	return nil
}

func (f *faultyDrive) DiskInfo(ctx context.Context) (storage.DiskInfo, error) {
	if err := f.enter(ctx, "DiskInfo"); err != nil {
		return storage.DiskInfo{}, err
	}
	return f.Drive.DiskInfo(ctx)
}

func (f *faultyDrive) MakeVol(ctx context.Context, volume string) error {
	if err := f.enter(ctx, "MakeVol"); err != nil {
		return err
	}
	return f.Drive.MakeVol(ctx, volume)
}

func (f *faultyDrive) StatVol(ctx context.Context, volume string) (storage.VolInfo, error) {
	if err := f.enter(ctx, "StatVol"); err != nil {
		return storage.VolInfo{}, err
	}
	return f.Drive.StatVol(ctx, volume)
}

func (f *faultyDrive) ListVols(ctx context.Context) ([]storage.VolInfo, error) {
	if err := f.enter(ctx, "ListVols"); err != nil {
		return nil, err
	}
	return f.Drive.ListVols(ctx)
}

func (f *faultyDrive) DeleteVol(ctx context.Context, volume string) error {
	if err := f.enter(ctx, "DeleteVol"); err != nil {
		return err
	}
	return f.Drive.DeleteVol(ctx, volume)
}

func (f *faultyDrive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	if err := f.enter(ctx, "CreateFile"); err != nil {
		return err
	}
	return f.Drive.CreateFile(ctx, volume, path, size, r)
}

func (f *faultyDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	if err := f.enter(ctx, "ReadFileStream"); err != nil {
		return nil, err
	}
	rc, err := f.Drive.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	switch {
	case f.faultOf("ReadFileStream") == faultCorrupt || f.faultOf("") == faultCorrupt:
		return &corruptStream{ReadCloser: rc, at: 40}, nil
	}
	// Wrapped always, so that a fault set while the stream is open applies.
	return &faultyStream{ReadCloser: rc, ctx: ctx, f: f}, nil
}

func (f *faultyDrive) Delete(ctx context.Context, volume, path string, recursive bool) error {
	if err := f.enter(ctx, "Delete"); err != nil {
		return err
	}
	return f.Drive.Delete(ctx, volume, path, recursive)
}

func (f *faultyDrive) ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error) {
	if err := f.enter(ctx, "ListDir"); err != nil {
		return nil, err
	}
	return f.Drive.ListDir(ctx, volume, dirPath, count)
}

// land carries out a commit its caller gave up on, and counts it.
func (f *faultyDrive) land(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) {
	if _, err := f.Drive.RenameData(context.WithoutCancel(ctx), srcVolume, srcPath, fi, dstVolume, dstPath); err == nil {
		f.landedOK.Add(1)
	}
	f.landed.Add(1)
}

func (f *faultyDrive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	if f.faultOf("RenameData") == faultLater {
		f.blocked.Add(1)
		<-ctx.Done()
		go func() {
			defer f.blocked.Add(-1)
			<-f.stuckUntil()
			f.land(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
		}()
		return storage.RenameDataResult{}, fmt.Errorf("RenameData: %w: %w", errLate, ctx.Err())
	}
	if err := f.enter(ctx, "RenameData"); errors.Is(err, errLate) {
		f.land(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
		return storage.RenameDataResult{}, err
	} else if err != nil {
		return storage.RenameDataResult{}, err
	}
	return f.Drive.RenameData(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
}

func (f *faultyDrive) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	f.readVersions.Add(1)
	if err := f.enter(ctx, "ReadVersion"); err != nil {
		return storage.FileInfo{}, err
	}
	fi, err := f.Drive.ReadVersion(ctx, volume, path, versionID)
	if err == nil && len(fi.InlineData) > 0 && (f.faultOf("ReadVersion") == faultCorrupt || f.faultOf("") == faultCorrupt) {
		fi.InlineData = slices.Clone(fi.InlineData)
		fi.InlineData[len(fi.InlineData)-1] ^= 0xff
	}
	return fi, err
}

func (f *faultyDrive) ReadMetadata(ctx context.Context, volume, path string) ([]byte, error) {
	f.readMetas.Add(1)
	if err := f.enter(ctx, "ReadMetadata"); err != nil {
		return nil, err
	}
	return f.Drive.ReadMetadata(ctx, volume, path)
}

func (f *faultyDrive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := f.enter(ctx, "WriteMetadata"); err != nil {
		return err
	}
	return f.Drive.WriteMetadata(ctx, volume, path, fi)
}

func (f *faultyDrive) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	if err := f.enter(ctx, "DeleteVersion"); err != nil {
		return err
	}
	return f.Drive.DeleteVersion(ctx, volume, path, versionID)
}

func (f *faultyDrive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	if err := f.enter(ctx, "WalkDir"); err != nil {
		return err
	}
	return f.Drive.WalkDir(ctx, opts, fn)
}

func (f *faultyDrive) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := f.enter(ctx, "VerifyFile"); err != nil {
		return err
	}
	return f.Drive.VerifyFile(ctx, volume, path, fi)
}

// corruptStream flips the byte at offset at of the stream.
type corruptStream struct {
	io.ReadCloser
	at, pos int64
}

func (c *corruptStream) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if c.at >= c.pos && c.at < c.pos+int64(n) {
		p[c.at-c.pos] ^= 0xff
	}
	c.pos += int64(n)
	return n, err
}

// faultyStream applies the drive's opStream fault to every read.
type faultyStream struct {
	io.ReadCloser
	ctx context.Context
	f   *faultyDrive
}

func (s *faultyStream) Read(p []byte) (int, error) {
	if err := s.f.enter(s.ctx, opStream); err != nil {
		return 0, err
	}
	return s.ReadCloser.Read(p)
}

// Only what a sleep-free test can observe: a helper that waits for a
// condition with a generous bound, for goroutines that finish on their own.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
