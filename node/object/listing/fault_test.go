package listing

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// driveErrors collects what OnDriveError reports.
type driveErrors struct {
	mu   sync.Mutex
	errs []reported
}

type reported struct {
	set, pos int
	err      error
}

func (d *driveErrors) add(set, pos int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, reported{set, pos, err})
}

func (d *driveErrors) all() []reported {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.errs)
}

func listNames(t *testing.T, l *Lister, opts ListOptions) []string {
	t.Helper()
	res, err := l.List(t.Context(), opts)
	if err != nil {
		t.Fatalf("List %+v: %v", opts, err)
	}
	var names []string
	for _, o := range res.Objects {
		names = append(names, o.Name)
	}
	return append(names, res.CommonPrefixes...)
}

func TestFailedDriveIsReportedAndDropped(t *testing.T) {
	c := newCluster(t, 2, 4)
	names := []string{"a", "b", "c/d", "e", "f"}
	for _, n := range names {
		c.put(t, n, ver{mod: t0})
	}
	var got driveErrors
	cfg := c.config(func(set, pos int, d storage.Drive) storage.Drive {
		if pos == 1 {
			return &faultDrive{Drive: d, failAfter: 1}
		}
		return d
	})
	cfg.OnDriveError = got.add
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, names) {
		t.Fatalf("listed %q, want %q", all, names)
	}
	reports := got.all()
	if len(reports) == 0 {
		t.Fatal("no drive error reported")
	}
	for _, r := range reports {
		if r.pos != 1 || !errors.Is(r.err, storage.ErrFaultyDisk) {
			t.Errorf("reported set %d drive %d: %v; want drive 1, ErrFaultyDisk", r.set, r.pos, r.err)
		}
	}
}

func TestStalledDriveIsDropped(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 1, 4)
	for _, n := range []string{"a", "b", "c"} {
		c.put(t, n, ver{mod: t0})
	}
	var got driveErrors
	cfg := c.config(func(_, pos int, d storage.Drive) storage.Drive {
		if pos == 2 {
			return &faultDrive{Drive: d, failAfter: 1, stall: true}
		}
		return d
	})
	cfg.OnDriveError = got.add
	cfg.StallTimeout = 50 * time.Millisecond
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a", "b", "c"}) {
		t.Fatalf("listed %q", all)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("listing took %v with a stalled drive", d)
	}
	reports := got.all()
	if len(reports) != 1 || reports[0].pos != 2 || !errors.Is(reports[0].err, errStalled) {
		t.Fatalf("reports %v, want drive 2 stalled", reports)
	}
}

// Two drives of an 8-drive set stall for good (a paused node that the
// cluster does not know is down yet), with the default stall timeout: once
// the rest of the set has answered, the listing gives them up after the
// late grace, lists everything, and reports them, instead of waiting the
// stall timeout for each in turn (a minute, issue 12's LISTs).
func TestLaggingDrivesAreGivenUp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 1, 8)
	names := []string{"a", "b/c", "d"}
	for _, n := range names {
		c.put(t, n, ver{mod: t0, parity: 4}) // EC 4+4, as in the issue
	}
	var got driveErrors
	cfg := c.config(func(_, pos int, d storage.Drive) storage.Drive {
		if pos == 3 || pos == 6 {
			return &faultDrive{Drive: d, failAfter: 0, stall: true}
		}
		return d
	})
	cfg.Sets[0].ReadQuorum = 4
	cfg.OnDriveError = got.add
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, names) {
		t.Fatalf("listed %q, want %q", all, names)
	}
	// Generous: the grace is DefaultLate; the stall timeout is 30 s.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("listing took %v with two stalled drives", d)
	}
	var late []int
	for _, r := range got.all() {
		if !errors.Is(r.err, errLate) {
			t.Errorf("drive %d reported %v, want it given up as late", r.pos, r.err)
		}
		late = append(late, r.pos)
	}
	if slices.Sort(late); !slices.Equal(late, []int{3, 6}) {
		t.Errorf("drives given up: %v, want [3 6]", late)
	}
}

// The grace needs a majority of the set: with half of an EC 4+4 set
// silent (its read quorum answers, but no majority), the silent drives
// are waited for up to the stall timeout (here short), as before, not
// given up as merely late.
func TestLateGraceNeedsAMajority(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 1, 8)
	c.put(t, "a", ver{mod: t0, parity: 4})
	var got driveErrors
	cfg := c.config(func(_, pos int, d storage.Drive) storage.Drive {
		if pos < 4 {
			return &faultDrive{Drive: d, failAfter: 0, stall: true}
		}
		return d
	})
	cfg.Sets[0].ReadQuorum = 4
	cfg.OnDriveError = got.add
	cfg.StallTimeout = 300 * time.Millisecond
	cfg.Late = time.Millisecond
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a"}) {
		t.Fatalf("listed %q", all)
	}
	reports := got.all()
	if len(reports) != 4 {
		t.Errorf("%d drives reported, want the 4 stalled ones", len(reports))
	}
	for _, r := range reports {
		if !errors.Is(r.err, errStalled) || errors.Is(r.err, errLate) {
			t.Errorf("drive %d reported %v; with half the set silent only the stall timeout may drop it", r.pos, r.err)
		}
	}
}

// A drive that knows it cannot be reached (its node is known dead) is not
// walked at all.
func TestKnownDownDriveIsNotWalked(t *testing.T) {
	c := newCluster(t, 1, 4)
	c.put(t, "a", ver{mod: t0})
	down := &downDrive{faultDrive: faultDrive{failAfter: 0, stall: true}}
	cfg := c.config(func(_, pos int, d storage.Drive) storage.Drive {
		if pos == 1 {
			down.Drive = d
			return down
		}
		return d
	})
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a"}) {
		t.Fatalf("listed %q", all)
	}
	if n := down.walks.Load(); n != 0 {
		t.Fatalf("the known-down drive was walked %d times", n)
	}
}

// TestDriveDeclaredDownMidWalkIsDropped: half of an EC 4+4 set stalls in
// its walk (a node cut off: no answer, no error), so no majority answers
// and the late grace cannot end the wait. Once the liveness view declares
// those drives down, the walk drops them at once and lists from the
// others, rather than waiting for the stall timeout (30 s by default,
// which this test keeps: a cut-off node's LIST took 8-9 s in the chaos
// suite).
func TestDriveDeclaredDownMidWalkIsDropped(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 1, 8)
	c.put(t, "a", ver{mod: t0, parity: 4})
	downAt := time.Now().Add(300 * time.Millisecond)
	var got driveErrors
	cfg := c.config(func(_, pos int, d storage.Drive) storage.Drive {
		if pos < 4 {
			return &goingDownDrive{faultDrive: faultDrive{Drive: d, failAfter: 0, stall: true}, at: downAt}
		}
		return d
	})
	cfg.Sets[0].ReadQuorum = 4
	cfg.OnDriveError = got.add
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a"}) {
		t.Fatalf("listed %q", all)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("List took %v: it waited for drives known down", took)
	}
	reports := got.all()
	if len(reports) != 4 {
		t.Errorf("%d drives reported, want the 4 that went down", len(reports))
	}
	for _, r := range reports {
		if !errors.Is(r.err, errKnownDown) {
			t.Errorf("drive %d reported %v, want errKnownDown", r.pos, r.err)
		}
	}
}

// goingDownDrive stalls when walked and says it is unavailable from at on,
// as a remote drive does once its node is declared dead.
type goingDownDrive struct {
	faultDrive
	at time.Time
}

func (d *goingDownDrive) Available() (up, known bool) {
	if time.Now().Before(d.at) {
		return true, true
	}
	return false, true
}

// downDrive is a drive that says it is unavailable (remote.Client's
// Available with its node known dead), and would stall if walked.
type downDrive struct{ faultDrive }

func (*downDrive) Available() (up, known bool) { return false, true }

func TestCanceledListingReturnsAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 1, 4)
	c.put(t, "a", ver{mod: t0})
	// Every drive stalls forever (no stall timeout): only the context ends it.
	cfg := c.config(func(_, _ int, d storage.Drive) storage.Drive {
		return &faultDrive{Drive: d, failAfter: 0, stall: true}
	})
	cfg.StallTimeout = -1
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = l.List(ctx, ListOptions{Bucket: testBucket})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List with a deadline over stalled drives: %v", err)
	}
}

func TestEarlyStopLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := newCluster(t, 2, 4)
	var names []string
	for i := range 200 {
		names = append(names, string(rune('a'+i%26))+"/"+string(rune('a'+i/26)))
	}
	c.seed(t, names)
	l := c.lister(t, nil)
	n := 0
	for e, err := range l.Walk(t.Context(), WalkOptions{Bucket: testBucket, Recursive: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.IsPrefix() {
			t.Fatalf("recursive walk yields a prefix %q", e.Name)
		}
		if n++; n == 3 {
			break // every drive's walk is still reading ahead
		}
	}
	// A page that stops after a few entries of a big bucket.
	res, err := l.List(t.Context(), ListOptions{Bucket: testBucket, MaxKeys: 5})
	if err != nil || len(res.Objects) != 5 || !res.IsTruncated {
		t.Fatalf("List: %d objects, truncated %v, %v", len(res.Objects), res.IsTruncated, err)
	}
}

func TestCorruptRecordIsNoVote(t *testing.T) {
	c := newCluster(t, 1, 4)
	c.put(t, "a", ver{mod: t0})
	c.put(t, "b", ver{mod: t0}, 0, 1)
	// Rot drive 0's record of a, and drive 1's of b: a still has 3 votes,
	// b only 1.
	for _, rot := range []struct {
		pos  int
		name string
	}{{0, "a"}, {1, "b"}} {
		if err := os.WriteFile(local.RecordFile(c.dirs[0][rot.pos], testBucket, rot.name), []byte("GSMT\x00\x01garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got driveErrors
	var stale []StaleObject
	cfg := c.config(nil)
	cfg.OnDriveError = got.add
	cfg.OnStale = func(s StaleObject) { stale = append(stale, s) }
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a"}) {
		t.Fatalf("listed %q, want [a]", all)
	}
	reports := got.all()
	if len(reports) != 2 {
		t.Fatalf("reports %v, want the two corrupt records", reports)
	}
	for _, r := range reports {
		if !errors.Is(r.err, storage.ErrFileCorrupt) {
			t.Errorf("report %v does not wrap ErrFileCorrupt", r.err)
		}
	}
	want := []StaleObject{{Set: 0, Bucket: testBucket, Object: "a", VersionID: storage.NullVersionID, Corrupt: []int{0}}}
	if len(stale) != 1 || stale[0].Object != "a" || !slices.Equal(stale[0].Corrupt, want[0].Corrupt) || len(stale[0].Missing) != 0 || stale[0].VersionID != want[0].VersionID {
		t.Fatalf("stale %+v, want %+v", stale, want)
	}
}

func TestStaleObjectsAreReported(t *testing.T) {
	c := newCluster(t, 1, 4)
	c.put(t, "a", ver{mod: t0}, 0, 1, 2)               // missing on 3
	c.put(t, "b", ver{id: "v1", mod: t0})              // everywhere
	c.put(t, "b", ver{id: "v2", mod: t0.Add(1)}, 0, 1) // newer on 0, 1
	c.put(t, "c", ver{mod: t0})                        // fine
	c.put(t, "d", ver{id: "v1", mod: t0}, 2)           // below quorum: not listed, not reported
	var stale []StaleObject
	cfg := c.config(nil)
	cfg.OnStale = func(s StaleObject) { stale = append(stale, s) }
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if all := listNames(t, l, ListOptions{Bucket: testBucket}); !slices.Equal(all, []string{"a", "b", "c"}) {
		t.Fatalf("listed %q", all)
	}
	if len(stale) != 2 ||
		stale[0].Object != "a" || !slices.Equal(stale[0].Missing, []int{3}) ||
		stale[1].Object != "b" || stale[1].VersionID != "v2" || !slices.Equal(stale[1].Missing, []int{2, 3}) {
		t.Fatalf("stale %+v", stale)
	}
}

func TestObjectInfo(t *testing.T) {
	c := newCluster(t, 1, 4)
	mod := t0.Add(time.Hour)
	c.put(t, "x", ver{id: "v7", mod: mod, size: 42})
	l := c.lister(t, nil)
	res, err := l.List(t.Context(), ListOptions{Bucket: testBucket})
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("List: %+v, %v", res, err)
	}
	o := res.Objects[0]
	want := ObjectInfo{Bucket: testBucket, Name: "x", VersionID: "v7", Size: 42, ETag: "etag-42", ModTime: mod,
		ContentType: "application/octet-stream", DataShards: 2, ParityShards: 2, Inline: true}
	if !o.ModTime.Equal(want.ModTime) {
		t.Errorf("mod time %v, want %v", o.ModTime, want.ModTime)
	}
	o.ModTime = want.ModTime
	if o.Bucket != want.Bucket || o.Name != want.Name || o.VersionID != want.VersionID || o.Size != want.Size ||
		o.ETag != want.ETag || o.ContentType != want.ContentType || o.DataShards != 2 || o.ParityShards != 2 || !o.Inline {
		t.Errorf("object info %+v, want %+v", o, want)
	}
}

func TestWalk(t *testing.T) {
	c := newCluster(t, 3, 4)
	for _, n := range []string{"a", "b/1", "b/2", "c/d/e", "f"} {
		c.put(t, n, ver{mod: t0})
	}
	c.put(t, "g/1", ver{mod: t0}, 0) // a directory with nothing listable
	l := c.lister(t, nil)
	walk := func(opts WalkOptions) []string {
		opts.Bucket = testBucket
		var names []string
		for e, err := range l.Walk(t.Context(), opts) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, e.Name)
		}
		return names
	}
	for _, tc := range []struct {
		opts WalkOptions
		want []string
	}{
		{WalkOptions{Recursive: true}, []string{"a", "b/1", "b/2", "c/d/e", "f"}},
		{WalkOptions{}, []string{"a", "b/", "c/", "f"}},
		{WalkOptions{Prefix: "c/"}, []string{"c/d/"}},
		{WalkOptions{StartAfter: "b/1", Recursive: true}, []string{"b/2", "c/d/e", "f"}},
		{WalkOptions{StartAfter: "b/", Recursive: false}, []string{"c/", "f"}},
		{WalkOptions{Prefix: "a//"}, nil},
	} {
		if got := walk(tc.opts); !slices.Equal(got, tc.want) {
			t.Errorf("Walk %+v: %q, want %q", tc.opts, got, tc.want)
		}
	}
	for _, err := range l.Walk(t.Context(), WalkOptions{Bucket: "Bad_Bucket"}) {
		if !errors.Is(err, storage.ErrInvalidVolume) {
			t.Errorf("Walk of a bad bucket: %v", err)
		}
	}
}

func TestInvalidRequests(t *testing.T) {
	c := newCluster(t, 1, 4)
	l := c.lister(t, nil)
	for _, tc := range []struct {
		opts ListOptions
		want error
	}{
		{ListOptions{Bucket: testBucket, MaxKeys: -1}, ErrInvalidArgument},
		{ListOptions{Bucket: "no"}, storage.ErrInvalidVolume},
		{ListOptions{Bucket: testBucket, ContinuationToken: "!!"}, ErrInvalidContinuationToken},
		{ListOptions{Bucket: testBucket, ContinuationToken: encodeToken("x")[:1]}, ErrInvalidContinuationToken},
		{ListOptions{Bucket: "missing"}, storage.ErrVolumeNotFound},
	} {
		if _, err := l.List(t.Context(), tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("List %+v: %v, want %v", tc.opts, err, tc.want)
		}
	}
}

func TestNewRefusesBadConfigs(t *testing.T) {
	c := newCluster(t, 1, 4)
	good := c.config(nil)
	for name, mutate := range map[string]func(*Config){
		"no sets":       func(cfg *Config) { cfg.Sets = nil },
		"small set":     func(cfg *Config) { cfg.Sets[0].Drives = cfg.Sets[0].Drives[:3] },
		"low quorum":    func(cfg *Config) { cfg.Sets[0].ReadQuorum = 1 },
		"high quorum":   func(cfg *Config) { cfg.Sets[0].ReadQuorum = 5 },
		"negative buff": func(cfg *Config) { cfg.Buffer = -1 },
	} {
		cfg := good
		cfg.Sets = []Set{{Drives: slices.Clone(good.Sets[0].Drives), ReadQuorum: good.Sets[0].ReadQuorum}}
		mutate(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, m := range []string{"a", "photos/", "x\xff", string(make([]byte, storage.MaxPathLength))} {
		got, err := decodeToken(encodeToken(m))
		if err != nil || got != m {
			t.Errorf("token of %q: %q, %v", m, got, err)
		}
	}
	if _, err := decodeToken(encodeToken(string(make([]byte, storage.MaxPathLength+10)))); !errors.Is(err, ErrInvalidContinuationToken) {
		t.Errorf("oversized token: %v", err)
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken("photos/2024/"))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, token string) {
		m, err := decodeToken(token)
		if err == nil && encodeToken(m) != token {
			t.Fatalf("token %q decodes to %q, which encodes to %q", token, m, encodeToken(m))
		}
	})
}
