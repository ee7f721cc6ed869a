package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// testSizes cover the empty object, the inline limit, and block edges.
var testSizes = []int{0, 1, 4 << 10, InlineLimit - 1, InlineLimit, InlineLimit + 1,
	3*testBlockSize - 1, 3 * testBlockSize, 3*testBlockSize + 1, 5*testBlockSize + 12345}

var setSizes = []int{4, 6, 8, 16}

func TestPutGetRoundTrip(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			for i, size := range testSizes {
				data := randomBytes(uint64(i), size)
				key := fmt.Sprintf("dir/obj-%d", size)
				info := ts.put(t, key, data)
				sum := md5.Sum(data)
				if info.Size != int64(size) || info.ETag != hex.EncodeToString(sum[:]) {
					t.Fatalf("size %d: put returned size %d etag %s", size, info.Size, info.ETag)
				}
				if info.Inline != (size <= InlineLimit) {
					t.Fatalf("size %d: inline %v", size, info.Inline)
				}
				ts.mustGet(t, key, data)
				head, err := ts.GetObjectInfo(context.Background(), testBucket, key)
				if err != nil {
					t.Fatal(err)
				}
				if head.ETag != info.ETag || !head.ModTime.Equal(info.ModTime) || head.VersionID != info.VersionID {
					t.Fatalf("head %+v differs from put %+v", head, info)
				}
			}
			ts.noTmpLeftovers(t)
		})
	}
}

func TestPutUnknownSize(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	for i, size := range testSizes {
		data := randomBytes(uint64(i+100), size)
		key := fmt.Sprintf("unknown-%d", size)
		// A reader without Len, returning small pieces, like a chunked body.
		info, err := ts.PutObject(context.Background(), testBucket, key, io.LimitReader(bytes.NewReader(data), int64(size)), -1, PutOptions{})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if info.Size != int64(size) || info.Inline != (size <= InlineLimit) {
			t.Fatalf("size %d: got size %d inline %v", size, info.Size, info.Inline)
		}
		ts.mustGet(t, key, data)
	}
	ts.noTmpLeftovers(t)
}

func TestInlineBoundary(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	for _, size := range []int{InlineLimit - 1, InlineLimit, InlineLimit + 1} {
		key := fmt.Sprintf("edge-%d", size)
		ts.put(t, key, randomBytes(1, size))
		for i, d := range ts.local {
			fi, err := d.ReadVersion(context.Background(), testBucket, key, "")
			if err != nil {
				t.Fatal(err)
			}
			if inline := fi.DataDir == ""; inline != (size <= InlineLimit) {
				t.Errorf("size %d drive %d: data dir %q", size, i, fi.DataDir)
			}
			if size <= InlineLimit && len(fi.InlineData) == 0 {
				t.Errorf("size %d drive %d: no inline data", size, i)
			}
			if err := d.VerifyFile(context.Background(), testBucket, key, fi); err != nil {
				t.Errorf("size %d drive %d: the drive finds its own shard bad: %v", size, i, err)
			}
		}
	}
}

func TestPutShortBody(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	for _, size := range []int{10, InlineLimit + 10, 3 * testBlockSize} {
		_, err := ts.PutObject(context.Background(), testBucket, "short", bytes.NewReader(make([]byte, size-1)), int64(size), PutOptions{})
		if !errors.Is(err, ErrIncompleteBody) {
			t.Fatalf("size %d: %v, want ErrIncompleteBody", size, err)
		}
	}
	if _, _, err := ts.get("short", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("after failed puts: %v", err)
	}
	ts.noTmpLeftovers(t)
}

func TestPutContentMD5(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	for _, size := range []int{100, 3 * testBlockSize} {
		data := randomBytes(2, size)
		good := md5.Sum(data)
		if _, err := ts.PutObject(context.Background(), testBucket, "md5", bytes.NewReader(data), int64(size), PutOptions{ContentMD5: good[:]}); err != nil {
			t.Fatal(err)
		}
		bad := good
		bad[0]++
		_, err := ts.PutObject(context.Background(), testBucket, "md5-bad", bytes.NewReader(data), int64(size), PutOptions{ContentMD5: bad[:]})
		if !errors.Is(err, ErrBadDigest) {
			t.Fatalf("size %d: %v, want ErrBadDigest", size, err)
		}
	}
	if _, _, err := ts.get("md5-bad", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("object with a bad digest: %v", err)
	}
	ts.noTmpLeftovers(t)
}

func TestPutRejectsBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	ctx := context.Background()
	cases := []struct {
		bucket, key string
		size        int64
		opts        PutOptions
		want        error
	}{
		{testBucket, "", 0, PutOptions{}, ErrInvalidObjectName},
		{testBucket, "", 0, PutOptions{}, ErrInvalidObjectName},
		{testBucket, strings.Repeat("k", 1025), 0, PutOptions{}, ErrInvalidObjectName},
		{"Bad_Bucket", "x", 0, PutOptions{}, ErrInvalidBucketName},
		{testBucket, "x", -2, PutOptions{}, ErrInvalidArgument},
		{testBucket, "x", MaxObjectSize + 1, PutOptions{}, ErrEntityTooLarge},
		{testBucket, "x", 0, PutOptions{Parity: 3}, ErrInvalidArgument},
		{testBucket, "x", 0, PutOptions{Metadata: Metadata{User: map[string]string{"color": "red"}}}, ErrInvalidArgument},
		{testBucket, "x", 0, PutOptions{Metadata: Metadata{User: map[string]string{"x-amz-meta-a": string(make([]byte, 3000))}}}, ErrMetadataTooLarge},
		{testBucket, "x", 0, PutOptions{ContentMD5: []byte{1, 2}}, ErrInvalidArgument},
		{"nobucket", "x", 0, PutOptions{}, ErrBucketNotFound},
		{"nobucket", "x", 3 * testBlockSize, PutOptions{}, ErrBucketNotFound},
	}
	for _, c := range cases {
		body := io.LimitReader(zeros{}, min(max(c.size, 0), 4*testBlockSize))
		_, err := ts.PutObject(ctx, c.bucket, c.key, body, c.size, c.opts)
		if !errors.Is(err, c.want) {
			t.Errorf("put %q/%q size %d: %v, want %v", c.bucket, c.key, c.size, err, c.want)
		}
	}
	// A name under an existing object is an object of its own.
	ts.put(t, "a", []byte("x"))
	ts.put(t, "a/b", []byte("y"))
	for key, want := range map[string]string{"a": "x", "a/b": "y"} {
		if got, _, err := ts.get(key, GetOptions{}); err != nil || string(got) != want {
			t.Errorf("%s reads %q, %v; want %q", key, got, err, want)
		}
	}
	ts.noTmpLeftovers(t)
}

func TestMetadataKeptExactly(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	meta := Metadata{
		ContentType:        "text/plain; charset=utf-8",
		ContentEncoding:    "gzip",
		ContentDisposition: `attachment; filename="a b.txt"`,
		ContentLanguage:    "de-CH",
		CacheControl:       "max-age=60, must-revalidate",
		Expires:            "Wed, 21 Oct 2015 07:28:00 GMT",
		User:               map[string]string{"x-amz-meta-Color": "  Red ", "x-amz-meta-empty": "", "x-amz-meta-ünïcode": "välue"},
	}
	for _, size := range []int{0, InlineLimit + 1} {
		key := fmt.Sprintf("meta-%d", size)
		_, err := ts.PutObject(context.Background(), testBucket, key, bytes.NewReader(make([]byte, size)), int64(size), PutOptions{Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		info, err := ts.GetObjectInfo(context.Background(), testBucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(info.Metadata) != fmt.Sprint(meta) {
			t.Fatalf("metadata\n got %#v\nwant %#v", info.Metadata, meta)
		}
	}
}

// TestParityRaisedForOfflineDrives: with drives offline at write time the
// object gets their parity on top, is readable right away, and stays
// readable with `parity` more drives lost once they are back.
func TestParityRaisedForOfflineDrives(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			p := ts.Parity()
			for offline := 1; offline <= n/2; offline++ {
				wantParity := min(p+offline, n/2)
				wq := n - wantParity
				if wq == wantParity {
					wq++
				}
				for i := range offline {
					ts.drives[i].set(faultOffline)
				}
				key := fmt.Sprintf("raised-%d", offline)
				data := randomBytes(uint64(offline), 2*testBlockSize+7)
				info, err := ts.PutObject(context.Background(), testBucket, key, bytes.NewReader(data), int64(len(data)), PutOptions{})
				if n-offline < wq {
					if !errors.Is(err, ErrWriteQuorum) {
						t.Fatalf("%d offline: %v, want ErrWriteQuorum", offline, err)
					}
					for i := range offline {
						ts.drives[i].clear()
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d offline: %v", offline, err)
				}
				if info.ParityShards != wantParity || info.DataShards != n-wantParity {
					t.Fatalf("%d offline: layout %d+%d, want parity %d", offline, info.DataShards, info.ParityShards, wantParity)
				}
				ts.mustGet(t, key, data)
				// Back online, the ones that missed it count as lost: the
				// object still survives wantParity-offline more failures,
				// which is at least what the set promises when possible.
				for i := range offline {
					ts.drives[i].clear()
				}
				extra := wantParity - offline
				if extra < min(p, n/2-offline) {
					t.Fatalf("durability dropped: %d extra failures tolerated", extra)
				}
				for i := offline; i < offline+extra; i++ {
					ts.drives[i].set(faultOffline)
				}
				ts.mustGet(t, key, data)
				for i := offline; i < offline+extra; i++ {
					ts.drives[i].clear()
				}
			}
		})
	}
}

// TestWriteQuorum: a PUT succeeds with a write quorum of drives and fails
// cleanly below it, leaving the previous version in place.
func TestWriteQuorum(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			for _, size := range []int{100, 3*testBlockSize + 1} {
				key := fmt.Sprintf("wq-%d", size)
				old := randomBytes(7, size)
				ts.put(t, key, old)
				// Drives that fail every write call (but answer probes):
				// the shard writes or commits fail, not the probe.
				maxFail := n - ts.writeQuorum
				for failing := 1; failing <= maxFail+1; failing++ {
					for i := range failing {
						ts.drives[i].set(faultError, "CreateFile", "RenameData")
					}
					data := randomBytes(uint64(failing), size)
					_, err := ts.PutObject(context.Background(), testBucket, key, bytes.NewReader(data), int64(size), PutOptions{})
					for i := range failing {
						ts.drives[i].clear()
					}
					if failing <= maxFail {
						if err != nil {
							t.Fatalf("%d failing drives: %v", failing, err)
						}
						ts.mustGet(t, key, data)
						old = data
						continue
					}
					if !errors.Is(err, ErrWriteQuorum) {
						t.Fatalf("%d failing drives: %v, want ErrWriteQuorum", failing, err)
					}
					ts.mustGet(t, key, old) // nothing of the failed write visible
				}
				// A failed write of a new object leaves nothing at all.
				for i := range maxFail + 1 {
					ts.drives[i].set(faultError, "CreateFile", "RenameData")
				}
				_, err := ts.PutObject(context.Background(), testBucket, key+"-new", bytes.NewReader(old), int64(size), PutOptions{})
				for i := range maxFail + 1 {
					ts.drives[i].clear()
				}
				if !errors.Is(err, ErrWriteQuorum) {
					t.Fatalf("new object: %v, want ErrWriteQuorum", err)
				}
				if _, _, err := ts.get(key+"-new", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
					t.Fatalf("failed new object: %v, want ErrObjectNotFound", err)
				}
				for i, v := range ts.versions(t, key+"-new") {
					if v != nil {
						t.Fatalf("drive %d holds %v of a failed write", i, v)
					}
				}
			}
			ts.noTmpLeftovers(t)
		})
	}
}

// TestCommitBelowQuorumRollsBack: shard files are complete everywhere but
// too few drives commit; those that did are rolled back to the old version.
func TestCommitBelowQuorumRollsBack(t *testing.T) {
	for _, size := range []int{0, 100, 3 * testBlockSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, 6, nil) // 3+3, write quorum 4
			old := randomBytes(1, size)
			oldInfo := ts.put(t, "k", old)
			for i := range 3 {
				ts.drives[i].set(faultError, "RenameData")
			}
			_, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(randomBytes(2, size)), int64(size), PutOptions{})
			if !errors.Is(err, ErrWriteQuorum) {
				t.Fatalf("%v, want ErrWriteQuorum", err)
			}
			for i := range 3 {
				ts.drives[i].clear()
			}
			ts.onlyVersion(t, "k", oldInfo.VersionID)
			ts.mustGet(t, "k", old)
			ts.noTmpLeftovers(t)
		})
	}
}

// TestFailedRollbackStaysInvisible: when the rollback cannot reach a drive
// that committed, the version it keeps there is still not what reads see.
func TestFailedRollbackStaysInvisible(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	old := randomBytes(1, 1000)
	ts.put(t, "k", old)
	for i := range 3 {
		ts.drives[i].set(faultError, "RenameData")
	}
	ts.drives[5].set(faultError, "DeleteVersion") // committed, cannot undo
	_, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(randomBytes(2, 1000)), 1000, PutOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("%v, want ErrWriteQuorum", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	if v := ts.versions(t, "k")[5]; len(v) != 2 {
		t.Fatalf("drive 5 holds %v, want the old version and the stuck new one", v)
	}
	ts.mustGet(t, "k", old)
	reqs := ts.heals.take()
	if len(reqs) == 0 {
		t.Fatal("no heal request for the drive that kept the failed version")
	}
}

// TestLateCommitIsNoted: too few drives commit in time, and the drives
// whose commit timed out carry it out after the rollback (an inline
// version, which has no staging directory to fence a late commit with:
// TestLateCommitOfAFailedPutIsFenced): the write fails,
// and those drives are named for healing (a heal then removes the version
// they hold, which never had a quorum).
func TestLateCommitIsNoted(t *testing.T) {
	t.Parallel()
	const driveTimeout = 200 * time.Millisecond
	ts := newTestSet(t, 6, func(c *Config) { c.DriveTimeout = driveTimeout }) // 3+3, write quorum 4
	old := randomBytes(1, 1000)
	oldInfo := ts.put(t, "k", old)
	ts.heals.take()
	// Two late, one failing: three commit in time, one short of the
	// quorum, and the late version ends up on fewer drives than a read
	// needs (with as many as a read quorum, it would be the object's
	// version as far as anyone can tell).
	late := []int{0, 1}
	for _, i := range late {
		ts.drives[i].set(faultLater, "RenameData")
	}
	ts.drives[2].set(faultError, "RenameData")
	_, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(randomBytes(2, 1000)), 1000, PutOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("%v, want ErrWriteQuorum", err)
	}
	failed := time.Now()
	ts.waitFaultsOver(t) // the late commits run
	for _, d := range ts.drives {
		d.clear()
	}
	for _, i := range late {
		if v := ts.versions(t, "k")[i]; len(v) != 2 {
			t.Fatalf("drive %d holds %v, want the old version and the late new one", i, v)
		}
	}
	named := map[int]bool{}
	for _, r := range ts.heals.take() {
		for _, pos := range r.Missing {
			named[pos] = true
		}
	}
	for _, i := range late {
		if !named[i] {
			t.Errorf("drive %d, whose commit landed late, is not named for healing (named: %v)", i, named)
		}
	}
	// A heal judges the version once it is older than CommitSettle
	// (twice DriveTimeout), since its ModTime, taken before the PUT failed.
	time.Sleep(time.Until(failed.Add(2 * driveTimeout)))
	if _, err := ts.HealObject(context.Background(), testBucket, "k", HealOptions{}); err != nil {
		t.Fatal(err)
	}
	ts.onlyVersion(t, "k", oldInfo.VersionID)
	ts.mustGet(t, "k", old)
}

// TestOldVersionsCleanedUp: after overwrites every drive holds exactly the
// current version, inline or not, whatever the previous one was.
func TestOldVersionsCleanedUp(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	var last ObjectInfo
	for i, size := range []int{10, 3 * testBlockSize, 0, InlineLimit + 1, 5} {
		last = ts.put(t, "over", randomBytes(uint64(i), size))
	}
	for i, v := range ts.versions(t, "over") {
		if len(v) != 1 || v[0] != last.VersionID {
			t.Fatalf("drive %d holds %v, want [%s]", i, v, last.VersionID)
		}
	}
	// No data dir of an older version survives.
	for i, d := range ts.local {
		entries, err := os.ReadDir(local.ObjectDir(d.Endpoint(), testBucket, "over"))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != filepath.Base(local.RecordFile(d.Endpoint(), testBucket, "over")) {
			t.Fatalf("drive %d: object directory holds %v", i, entries)
		}
	}
	ts.noTmpLeftovers(t)
}

// TestZeroByteOverwrite is DESIGN §7's lost 0-byte overwrite: two empty
// objects have the same ETag; the newer must win on every read, also when
// drives that missed it come back with the older one.
func TestZeroByteOverwrite(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			ctx := context.Background()
			first, err := ts.PutObject(ctx, testBucket, "empty", bytes.NewReader(nil), 0, PutOptions{Metadata: Metadata{ContentType: "first"}})
			if err != nil {
				t.Fatal(err)
			}
			// The overwrite reaches only a write quorum.
			missed := n - ts.writeQuorum
			for i := range missed {
				ts.drives[i].set(faultOffline)
			}
			second, err := ts.PutObject(ctx, testBucket, "empty", bytes.NewReader(nil), 0, PutOptions{Metadata: Metadata{ContentType: "second"}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range missed {
				ts.drives[i].clear()
			}
			if first.ETag != second.ETag {
				t.Fatalf("empty objects with different ETags %s %s: the test needs them equal", first.ETag, second.ETag)
			}
			for range 3 {
				info, err := ts.GetObjectInfo(ctx, testBucket, "empty")
				if err != nil {
					t.Fatal(err)
				}
				if info.ContentType != "second" || info.VersionID != second.VersionID {
					t.Fatalf("read %q (version %s), want the acknowledged overwrite %s", info.ContentType, info.VersionID, second.VersionID)
				}
			}
		})
	}
}

// TestConcurrentPutsSameKey: concurrent writers of one key are serialised;
// the object ends as exactly one of them, the same on every drive.
func TestConcurrentPutsSameKey(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	const writers = 8
	datas := make([][]byte, writers)
	var wg sync.WaitGroup
	for w := range writers {
		size := 100 + w
		if w%2 == 1 {
			size = 2*testBlockSize + w
		}
		datas[w] = randomBytes(uint64(w), size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.PutObject(context.Background(), testBucket, "race", bytes.NewReader(datas[w]), int64(size), PutOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _, err := ts.get("race", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	match := -1
	for w, d := range datas {
		if bytes.Equal(got, d) {
			match = w
		}
	}
	if match < 0 {
		t.Fatal("the object is none of the writes")
	}
	// The replaced versions' cleanup finishes after the answers on a
	// drive slow to take it (fanOutWrite).
	ts.settled(t, "race")
	ts.noTmpLeftovers(t)
}

// TestGetDuringPut: a GET racing overwrites returns one version whole,
// never a mix of two and never an error.
func TestGetDuringPut(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	a := bytes.Repeat([]byte{'a'}, 3*testBlockSize+5)
	b := bytes.Repeat([]byte{'b'}, 2*testBlockSize+9)
	small := bytes.Repeat([]byte{'c'}, 1000)
	ts.put(t, "flip", a)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			data := [][]byte{a, b, small}[i%3]
			if _, err := ts.PutObject(ctx, testBucket, "flip", bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
	}()
	for range 60 {
		got, _, err := ts.get("flip", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) && !bytes.Equal(got, small) {
			t.Fatalf("read %d bytes that are no version", len(got))
		}
	}
	cancel()
	wg.Wait()
}

// TestHungDriveWrite: a drive that hangs every call costs a PUT at most
// its timeouts; the write succeeds with the others.
func TestHungDriveWrite(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, shortTimeouts)
	for _, ops := range [][]string{{""}, {"CreateFile"}, {"RenameData"}} {
		ts.drives[2].set(faultHang, ops...)
		data := randomBytes(3, 3*testBlockSize)
		start := time.Now()
		if _, err := ts.PutObject(context.Background(), testBucket, "hung", bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil {
			t.Fatalf("hang %v: %v", ops, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("hang %v: put took %v", ops, d)
		}
		ts.mustGet(t, "hung", data)
		ts.drives[2].clear()
	}
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestPutCancelled: a client that goes away mid-upload leaves nothing: no
// version, no shard files, no goroutine (goleak).
func TestPutCancelled(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	old := randomBytes(1, 100)
	ts.put(t, "k", old)
	ctx, cancel := context.WithCancel(context.Background())
	body := io.MultiReader(bytes.NewReader(randomBytes(2, 3*testBlockSize)), &cancelReader{cancel: cancel})
	_, err := ts.PutObject(ctx, testBucket, "k", body, -1, PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	ts.mustGet(t, "k", old)
	ts.noTmpLeftovers(t)
}

// cancelReader cancels the request and fails, like the body of a client
// that hung up.
type cancelReader struct{ cancel context.CancelFunc }

func (c *cancelReader) Read(p []byte) (int, error) {
	c.cancel()
	return 0, context.Canceled
}

// TestOverwriteCleansADriveTheVersionReadMissed: a drive that does not
// answer an overwrite's version read in time (stuck in a system call,
// ignoring its context) still commits the new version, and the version it
// replaced goes from that drive too: its RenameData reports what it held
// (storage.RenameDataResult.Older). Without that the old version stayed
// there for good, since the commit's cleanup knew only what it had read
// (seen as TestMultipartCompleteRacesPut failing under CI's load).
// It runs with the tests' short timeouts and with the defaults.
func TestOverwriteCleansADriveTheVersionReadMissed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
	}{{"tests-timeouts", nil}, {"defaults", defaultReadTimeouts}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, 6, tc.tweak)
			first := ts.put(t, "k", randomBytes(1, 1000))
			ts.onlyVersion(t, "k", first.VersionID)
			ts.drives[5].set(faultStuck, "ReadMetadata")
			t.Cleanup(ts.drives[5].unstick)
			second := ts.put(t, "k", randomBytes(2, 300<<10))
			ts.onlyVersion(t, "k", second.VersionID)
			ts.drives[5].unstick()
			got, _, err := ts.get("k", GetOptions{})
			if err != nil || !bytes.Equal(got, randomBytes(2, 300<<10)) {
				t.Fatalf("get after the overwrite: %v, %d bytes", err, len(got))
			}
		})
	}
}

// TestLateCommitOfAFailedPutIsFenced: a PUT of shard files fails below its
// quorum while two drives' commits, given up on, are still running; once
// they run, they find their staging directory gone and publish nothing, so
// the object is as before on every drive without a heal (an inline
// version, published from its record alone, cannot be fenced so:
// TestLateCommitIsNoted).
func TestLateCommitOfAFailedPutIsFenced(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, func(c *Config) { c.DriveTimeout = 200 * time.Millisecond }) // 3+3, write quorum 4
	old := randomBytes(1, InlineLimit+1)
	oldInfo := ts.put(t, "k", old)
	late := []int{0, 1}
	for _, i := range late {
		ts.drives[i].set(faultLater, "RenameData")
	}
	ts.drives[2].set(faultError, "RenameData")
	_, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(randomBytes(2, InlineLimit+1)), InlineLimit+1, PutOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("%v, want ErrWriteQuorum", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, i := range late {
		ts.drives[i].unstick()
		for ts.drives[i].landed.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("drive %d's late commit did not run within 10 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if ts.drives[i].landedOK.Load() != 0 {
			t.Errorf("drive %d's late commit published the failed version: %v", i, ts.versions(t, "k")[i])
		}
	}
	for _, d := range ts.drives {
		d.clear()
	}
	ts.onlyVersion(t, "k", oldInfo.VersionID)
	ts.mustGet(t, "k", old)
}

// TestMayLand: which failed commits a rollback fences as possibly still
// running (see Set.withdraw), and which it takes at their word.
func TestMayLand(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	d := ts.Set.drives[0]
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w (d0)", errStraggler), true},
		{fmt.Errorf("%w (d0)", errDriveTimeout), true},
		{fmt.Errorf("rename data: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("rename data: %w", storage.ErrDriveOffline), true}, // its node gone mid-call
		{fmt.Errorf("rename data: %w", storage.ErrDriveTimeout), true},
		{fmt.Errorf("rename data: %w", storage.ErrDriveFaulty), true},
		{fmt.Errorf("rename data: %w", storage.ErrFaultyDisk), false},
		{fmt.Errorf("rename data: %w", storage.ErrDiskFull), false},
		{fmt.Errorf("rename data: %w", storage.ErrFileNotFound), false},
	} {
		if got := mayLand(d, tc.err); got != tc.want {
			t.Errorf("mayLand(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
