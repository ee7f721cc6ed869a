package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// TestReadWithFailedDrives: every object reads back byte-exact with up to
// parity drives failed in any way, data shard holders first.
func TestReadWithFailedDrives(t *testing.T) {
	faults := []struct {
		name  string
		fault fault
		ops   []string
	}{
		{"offline", faultOffline, nil},
		{"errors", faultError, nil},
		{"corrupt", faultCorrupt, nil},
		{"hung", faultHang, nil},
		{"hung-stream", faultHang, []string{opStream}},
		{"shard-missing", faultError, []string{"ReadFileStream"}},
	}
	sizes := []int{0, 1000, InlineLimit, 3*testBlockSize + 17}
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, shortTimeouts)
			datas := map[string][]byte{}
			for i, size := range sizes {
				key := fmt.Sprintf("obj-%d", size)
				datas[key] = randomBytes(uint64(i), size)
				ts.put(t, key, datas[key])
			}
			for _, f := range faults {
				for key, data := range datas {
					dataHolders, parityHolders := ts.shardHolders(t, key)
					// Data shard holders fail first, forcing parity reads.
					failed := append(slices.Clone(dataHolders), parityHolders...)[:ts.Parity()]
					for _, pos := range failed {
						ts.drives[pos].set(f.fault, f.ops...)
					}
					start := time.Now()
					got, _, err := ts.get(key, GetOptions{})
					for _, pos := range failed {
						ts.drives[pos].clear()
					}
					if err != nil {
						t.Fatalf("%s, %s on %v: %v", f.name, key, failed, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("%s, %s on %v: wrong bytes", f.name, key, failed)
					}
					if d := time.Since(start); d > 10*time.Second {
						t.Fatalf("%s, %s: read took %v", f.name, key, d)
					}
				}
			}
		})
	}
}

// TestReadQuorumLost: with more than parity shards gone a read fails with
// ErrReadQuorum and delivers no byte of a block it cannot decode; a failure
// after bytes went out is an error, never a short success.
func TestReadQuorumLost(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, shortTimeouts)
	data := randomBytes(1, 4*testBlockSize)
	ts.put(t, "k", data)
	small := randomBytes(2, 1000)
	ts.put(t, "small", small)
	for _, key := range []string{"k", "small"} {
		for _, f := range []fault{faultCorrupt, faultError} {
			for i := range ts.Parity() + 1 {
				ts.drives[i].set(f, "ReadFileStream", "ReadVersion")
			}
			if f == faultError && key == "k" {
				// Metadata answers, shards do not.
				for i := range ts.Parity() + 1 {
					ts.drives[i].set(faultNone, "ReadVersion")
				}
			}
			var buf bytes.Buffer
			r, err := ts.GetObject(context.Background(), testBucket, key, GetOptions{})
			if err == nil {
				var n int64
				n, err = r.WriteTo(&buf)
				r.Close()
				if n != 0 || buf.Len() != 0 {
					t.Fatalf("%s fault %d: %d bytes delivered", key, f, n)
				}
			}
			if !errors.Is(err, ErrReadQuorum) {
				t.Fatalf("%s fault %d: %v, want ErrReadQuorum", key, f, err)
			}
			for _, d := range ts.drives {
				d.clear()
			}
		}
	}

}

// TestReadFailsMidStream: bytes delivered, then the quorum goes: the read
// ends with an error and the bytes it delivered are right.
func TestReadFailsMidStream(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, func(c *Config) { shortTimeouts(c); c.PrefetchDepth = -1 })
	data := randomBytes(1, 6*testBlockSize)
	ts.put(t, "k", data)
	r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := &callbackWriter{after: 2 * testBlockSize, fn: func() {
		for i := range ts.Parity() + 1 {
			ts.drives[i].set(faultError, opStream, "ReadFileStream")
		}
	}}
	n, err := r.WriteTo(w)
	for _, d := range ts.drives {
		d.clear()
	}
	if !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("read %d bytes, err %v: want ErrReadQuorum", n, err)
	}
	if n < 2*testBlockSize || n == int64(len(data)) || !bytes.Equal(w.buf.Bytes(), data[:n]) {
		t.Fatalf("delivered %d bytes (correct: %v)", n, bytes.Equal(w.buf.Bytes(), data[:n]))
	}
}

// callbackWriter calls fn once after the given number of bytes.
type callbackWriter struct {
	buf   bytes.Buffer
	after int
	fn    func()
	done  bool
}

func (w *callbackWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.done && w.buf.Len() >= w.after {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

func TestRanges(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	const bs = testBlockSize
	for _, size := range []int{1, 1000, InlineLimit, 3*bs + 100} {
		data := randomBytes(uint64(size), size)
		key := fmt.Sprintf("r-%d", size)
		ts.put(t, key, data)
		edges := []int64{0, 1, bs - 1, bs, bs + 1, 2*bs - 1, 2 * bs, int64(size) - 1, int64(size)}
		for _, first := range edges {
			for _, last := range edges {
				rng := Range{First: first, Last: last}
				offset, length, rerr := rng.Resolve(int64(size))
				got, _, err := ts.get(key, GetOptions{Range: &rng})
				if rerr != nil {
					if !errors.Is(err, ErrInvalidRange) {
						t.Fatalf("size %d %v: %v, want ErrInvalidRange", size, rng, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("size %d %v: %v", size, rng, err)
				}
				if !bytes.Equal(got, data[offset:offset+length]) {
					t.Fatalf("size %d %v: wrong bytes", size, rng)
				}
			}
		}
		for _, suffix := range []int64{1, bs, int64(size), int64(size) + 5} {
			rng := Range{SuffixLength: suffix}
			got, _, err := ts.get(key, GetOptions{Range: &rng})
			if err != nil {
				t.Fatal(err)
			}
			want := data[max(0, int64(size)-suffix):]
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d %v: wrong bytes", size, rng)
			}
		}
	}
	// Any range of an empty object is unsatisfiable, and says the size.
	ts.put(t, "empty", nil)
	_, _, err := ts.get("empty", GetOptions{Range: &Range{First: 0, Last: -1}})
	var re *RangeError
	if !errors.As(err, &re) || re.Size != 0 {
		t.Fatalf("range of an empty object: %v", err)
	}
}

func TestRangeResolve(t *testing.T) {
	cases := []struct {
		r              Range
		size           int64
		offset, length int64
		ok             bool
	}{
		{Range{First: 0, Last: -1}, 10, 0, 10, true},
		{Range{First: 3, Last: 5}, 10, 3, 3, true},
		{Range{First: 3, Last: 100}, 10, 3, 7, true},
		{Range{First: 9, Last: 9}, 10, 9, 1, true},
		{Range{First: 10, Last: -1}, 10, 0, 0, false},
		{Range{First: 5, Last: 4}, 10, 0, 0, false},
		{Range{First: -1, Last: 4}, 10, 0, 0, false},
		{Range{SuffixLength: 3}, 10, 7, 3, true},
		{Range{SuffixLength: 30}, 10, 0, 10, true},
		{Range{SuffixLength: 1}, 0, 0, 0, false},
		{Range{SuffixLength: -1}, 10, 0, 0, false},
		{Range{First: 0, Last: 0}, 0, 0, 0, false},
	}
	for _, c := range cases {
		off, n, err := c.r.Resolve(c.size)
		if (err == nil) != c.ok || (c.ok && (off != c.offset || n != c.length)) {
			t.Errorf("%v of %d: %d,%d,%v; want %d,%d ok=%v", c.r, c.size, off, n, err, c.offset, c.length, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidRange) {
			t.Errorf("%v: %v does not wrap ErrInvalidRange", c.r, err)
		}
	}
}

// TestPrefetchDepths: every prefetch depth reads the same bytes, also
// switching to parity when a data shard fails mid-object.
func TestPrefetchDepths(t *testing.T) {
	for _, depth := range []int{-1, 1, 2, 8} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, 4, func(c *Config) { c.PrefetchDepth = depth })
			data := randomBytes(9, 7*testBlockSize+3)
			ts.put(t, "k", data)
			ts.mustGet(t, "k", data)
			dataHolders, _ := ts.shardHolders(t, "k")
			ts.drives[dataHolders[0]].set(faultCorrupt)
			ts.mustGet(t, "k", data)
			ts.drives[dataHolders[0]].clear()
			rng := Range{First: 3*testBlockSize - 1, Last: 5 * testBlockSize}
			got, _, err := ts.get("k", GetOptions{Range: &rng})
			if err != nil || !bytes.Equal(got, data[rng.First:rng.Last+1]) {
				t.Fatalf("range: %v", err)
			}
		})
	}
}

// TestCallerStopsReading: a writer that fails, or a context cancelled
// mid-stream, ends the read at once with an error and leaves no goroutine
// behind (goleak in TestMain), no lock held and no heal request.
func TestCallerStopsReading(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, func(c *Config) { c.PrefetchDepth = 4 })
	data := randomBytes(3, 10*testBlockSize)
	ts.put(t, "k", data)
	ts.heals.take()

	r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errStop := errors.New("client went away")
	n, err := r.WriteTo(&failingWriter{after: testBlockSize + 10, err: errStop})
	r.Close()
	if !errors.Is(err, errStop) || n >= int64(len(data)) {
		t.Fatalf("wrote %d, err %v", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r, err = ts.GetObject(ctx, testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := &callbackWriter{after: 2 * testBlockSize, fn: cancel}
	n, err = r.WriteTo(w)
	r.Close()
	if !errors.Is(err, context.Canceled) || n >= int64(len(data)) {
		t.Fatalf("wrote %d, err %v", n, err)
	}

	// The Read path: stop after one Read, Close.
	r, err = ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if reqs := ts.heals.take(); len(reqs) != 0 {
		t.Fatalf("heal requests from stopped reads: %+v", reqs)
	}
	// Every read lock is gone: a write goes through.
	ts.put(t, "k", data[:10])
	if l := ts.locker.(*LocalLocker); l.size() != 0 {
		t.Fatalf("%d locks still held", l.size())
	}
}

type failingWriter struct {
	n, after int
	err      error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		return 0, w.err
	}
	w.n += len(p)
	return len(p), nil
}

func TestReadThroughReader(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	for _, size := range []int{0, 100, 3*testBlockSize + 1} {
		data := randomBytes(uint64(size), size)
		ts.put(t, "k", data)
		r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(struct{ io.Reader }{r}) // hide WriteTo
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: %v", size, err)
		}
		if _, err := r.WriteTo(io.Discard); !errors.Is(err, errReaderUsed) {
			t.Fatalf("second use: %v", err)
		}
	}
}

// TestHealRecords: reads that find missing or corrupt shards, or stale
// metadata, still serve the object and say which drives need healing.
func TestHealRecords(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	ctx := context.Background()
	big := randomBytes(1, 3*testBlockSize)
	ts.put(t, "big", big)
	small := randomBytes(2, 500)
	ts.put(t, "small", small)
	ts.heals.take()

	// A missing shard file.
	dataHolders, _ := ts.shardHolders(t, "big")
	fi, err := ts.local[dataHolders[0]].ReadVersion(ctx, testBucket, "big", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.local[dataHolders[0]].Delete(ctx, testBucket, "big/"+fi.DataDir, true); err != nil {
		t.Fatal(err)
	}
	// A corrupt one.
	ts.drives[dataHolders[1]].set(faultCorrupt, "ReadFileStream")
	ts.mustGet(t, "big", big)
	ts.drives[dataHolders[1]].clear()
	want := HealRequest{Bucket: testBucket, Object: "big", VersionID: fi.VersionID, Missing: []int{dataHolders[0]}, Corrupt: []int{dataHolders[1]}}
	checkHeal(t, ts.heals.take(), want)

	// Corrupt inline data.
	ts.drives[4].set(faultCorrupt, "ReadVersion")
	ts.mustGet(t, "small", small)
	ts.drives[4].clear()
	info, _ := ts.GetObjectInfo(ctx, testBucket, "small")
	reqs := ts.heals.take()
	checkHeal(t, reqs[:1], HealRequest{Bucket: testBucket, Object: "small", VersionID: info.VersionID, Corrupt: []int{4}})

	// A drive that missed an overwrite, seen by HEAD.
	ts.drives[5].set(faultOffline)
	newer := ts.put(t, "small", []byte("newer"))
	ts.drives[5].clear()
	checkHeal(t, ts.heals.take(), HealRequest{Bucket: testBucket, Object: "small", VersionID: newer.VersionID, Missing: []int{5}})
	if _, err := ts.GetObjectInfo(ctx, testBucket, "small"); err != nil {
		t.Fatal(err)
	}
	checkHeal(t, ts.heals.take(), HealRequest{Bucket: testBucket, Object: "small", VersionID: newer.VersionID, Missing: []int{5}})

	// A drive that is merely offline at read time is not reported.
	off := 0
	for off == dataHolders[0] {
		off++
	}
	ts.drives[off].set(faultOffline)
	ts.mustGet(t, "big", big)
	ts.drives[off].clear()
	checkHeal(t, ts.heals.take(), HealRequest{Bucket: testBucket, Object: "big", VersionID: fi.VersionID, Missing: []int{dataHolders[0]}})
}

func checkHeal(t *testing.T, got []HealRequest, want HealRequest) {
	t.Helper()
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("heal requests %+v, want [%+v]", got, want)
	}
}

// TestNotFoundNeedsQuorum: "not found" needs a read quorum agreeing the
// object is absent; fewer answers are ErrReadQuorum, never a false 404.
func TestNotFoundNeedsQuorum(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, shortTimeouts) // 3+3: read quorum 3, write quorum 4
	ctx := context.Background()
	data := randomBytes(1, 100)
	// Written while drives 0 and 1 were offline: they lack it.
	ts.drives[0].set(faultOffline)
	ts.drives[1].set(faultOffline)
	ts.put(t, "k", data)
	ts.drives[0].clear()
	ts.drives[1].clear()
	ts.mustGet(t, "k", data)
	// A "restarted node" that only reaches the stale drives and one more
	// must not say 404.
	for i := 3; i < 6; i++ {
		ts.drives[i].set(faultOffline)
	}
	if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("with the stale drives only: %v, want ErrReadQuorum", err)
	}
	for i := 3; i < 6; i++ {
		ts.drives[i].set(faultHang)
	}
	if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("with hung drives: %v, want ErrReadQuorum", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	// A real absence with parity drives down is a 404.
	ts.drives[0].set(faultOffline)
	ts.drives[5].set(faultOffline)
	if _, err := ts.GetObjectInfo(ctx, testBucket, "nothing"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("absent object: %v, want ErrObjectNotFound", err)
	}
	if _, err := ts.GetObjectInfo(ctx, "nobucket", "x"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("absent bucket: %v, want ErrBucketNotFound", err)
	}
	ts.drives[1].set(faultOffline)
	ts.drives[2].set(faultOffline)
	if _, err := ts.GetObjectInfo(ctx, testBucket, "nothing"); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("absent object, 4 of 6 drives down: %v, want ErrReadQuorum", err)
	}
}

// TestHungDriveRead: a hung drive costs a read no more than its timeouts,
// whatever the drive hangs in.
func TestHungDriveRead(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, shortTimeouts)
	data := randomBytes(4, 5*testBlockSize)
	ts.put(t, "k", data)
	dataHolders, _ := ts.shardHolders(t, "k")
	for _, ops := range [][]string{nil, {"ReadVersion"}, {"ReadFileStream"}, {opStream}} {
		ts.drives[dataHolders[0]].set(faultHang, ops...)
		start := time.Now()
		ts.mustGet(t, "k", data)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("hang %v: read took %v", ops, d)
		}
		ts.drives[dataHolders[0]].clear()
	}
}

// TestStaleDrivesDoNotWin: drives that missed writes and come back never
// make reads return an older version.
func TestStaleDrivesDoNotWin(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil) // 2+2: write quorum 3, read quorum 2
	v1 := randomBytes(1, 3*testBlockSize)
	ts.put(t, "k", v1)
	ts.drives[0].set(faultOffline)
	v2 := randomBytes(2, 3*testBlockSize)
	ts.put(t, "k", v2)
	ts.drives[0].clear()
	ts.drives[1].set(faultOffline) // one of the up-to-date ones
	ts.mustGet(t, "k", v2)
	ts.drives[1].clear()
	ts.drives[2].set(faultOffline)
	ts.mustGet(t, "k", v2)
}

// TestSlowShardAtQuorumEdge: a shard that stalls past the shard timeout
// while no other shard can replace it is asked for again, so a slow (not
// dead) drive does not fail the read.
func TestSlowShardAtQuorumEdge(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, shortTimeouts)
	data := randomBytes(7, 3*testBlockSize+5)
	ts.put(t, "k", data)
	dataHolders, parityHolders := ts.shardHolders(t, "k")
	// Parity-many shards are corrupt, so every other shard is needed; one
	// of those stalls once.
	holders := append(slices.Clone(dataHolders), parityHolders...)
	for _, pos := range holders[:ts.Parity()] {
		ts.drives[pos].set(faultCorrupt)
	}
	ts.drives[holders[ts.Parity()]].set(faultStallOnce, opStream)
	got, _, err := ts.get("k", GetOptions{})
	for _, d := range ts.drives {
		d.clear()
	}
	if err != nil {
		t.Fatalf("read with a slow shard at the quorum edge: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("wrong bytes")
	}
}

// TestInlineReadAsksALateDriveAgain: the metadata read of an inline object
// stops waiting for a drive that is late (a disk slow for one call) once
// the others have settled the version; when parity-many of those others
// then serve corrupt shards, the late drive's record is the one the decode
// lacks, and it is read again rather than the GET failing with
// ErrReadQuorum (seen as TestReadWithFailedDrives/drives=4 flaking under
// load). With the tests' short timeouts and with the defaults.
func TestInlineReadAsksALateDriveAgain(t *testing.T) {
	for _, n := range setSizes {
		for _, tc := range []struct {
			name  string
			tweak func(*Config)
		}{{"tests-timeouts", shortTimeouts}, {"defaults", defaultReadTimeouts}} {
			t.Run(fmt.Sprintf("drives=%d/%s", n, tc.name), func(t *testing.T) {
				t.Parallel()
				var late []*lateOnceDrive
				stop := make(chan struct{})
				ts := newTestSet(t, n, func(c *Config) {
					tc.tweak(c)
					for i, d := range c.Drives {
						// Late by most of the drive timeout: long past the
						// others' answers and StragglerWait, however loaded
						// the machine, yet within what the read allows.
						ld := &lateOnceDrive{Drive: d, delay: c.DriveTimeout * 3 / 4, stop: stop}
						late = append(late, ld)
						c.Drives[i] = ld
					}
				})
				t.Cleanup(func() { close(stop) }) // before the drives close
				data := randomBytes(uint64(n), 1000)
				ts.put(t, "k", data)
				ts.settled(t, "k")
				if fi, err := ts.local[0].ReadVersion(context.Background(), testBucket, "k", ""); err != nil || fi.DataDir != "" {
					t.Fatalf("want an inline object: data dir %q, %v", fi.DataDir, err)
				}
				reasked := 0
				for range n { // the late drive in every position
					// The drive the metadata read asks first (askLater):
					// one it asks later is not late for it, but not asked.
					slow := int((ts.readTurn.Load() + 1) % uint32(n))
					corrupt := make([]int, 0, ts.Parity())
					for i := 1; i <= ts.Parity(); i++ {
						corrupt = append(corrupt, (slow+i)%n)
					}
					for _, pos := range corrupt {
						ts.drives[pos].set(faultCorrupt, "ReadVersion")
					}
					late[slow].armed.Store(true)
					calls := late[slow].calls.Load()
					got, _, err := ts.get("k", GetOptions{})
					for _, pos := range corrupt {
						ts.drives[pos].clear()
					}
					late[slow].armed.Store(false)
					if err != nil {
						t.Fatalf("drive %d late, %v corrupt: %v", slow, corrupt, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("drive %d late, %v corrupt: wrong bytes", slow, corrupt)
					}
					if late[slow].calls.Load()-calls >= 2 {
						reasked++
					}
				}
				t.Logf("the late drive was read again in %d of %d GETs", reasked, n)
				// The point of the test: a late drive was read again. Not
				// required of every round, as a machine slower than the
				// delay would have the metadata read wait for it.
				if reasked == 0 {
					t.Fatal("the late drive was never read again: the test did not exercise it")
				}
			})
		}
	}
}

// lateOnceDrive delays its next ReadVersion once armed, by delay, whatever
// the call's context says: a disk slow for one call, whose caller may well
// have given up on it by then.
type lateOnceDrive struct {
	storage.Drive
	armed atomic.Bool
	calls atomic.Int64 // ReadVersion calls, counted as they come in
	delay time.Duration
	stop  <-chan struct{} // closed at the test's end: no call outlives it
}

func (d *lateOnceDrive) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	d.calls.Add(1)
	if d.armed.CompareAndSwap(true, false) {
		t := time.NewTimer(d.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-d.stop:
			return storage.FileInfo{}, fmt.Errorf("ReadVersion: %w (test over)", storage.ErrDriveOffline)
		}
	}
	return d.Drive.ReadVersion(ctx, volume, path, versionID)
}
