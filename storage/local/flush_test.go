package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// TestGroupSyncShares: callers that arrive while a flush runs are not
// covered by it (it may have begun before their writes), wait for the
// next one, all share that one, and none returns before it has ended; a
// failure of the flush is every sharer's.
func TestGroupSyncShares(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%t", fail), func(t *testing.T) {
			g := newGroupSync()
			dir := t.TempDir()
			var mu sync.Mutex
			var log []string
			record := func(s string) {
				mu.Lock()
				log = append(log, s)
				mu.Unlock()
			}
			release := make(chan struct{})
			errFlush := errors.New("injected flush failure")
			flushes := 0
			g.flush = func(string) error {
				flushes++ // one at a time: g.running
				n := flushes
				record(fmt.Sprintf("flush %d start", n))
				if n == 1 {
					<-release
				}
				record(fmt.Sprintf("flush %d end", n))
				if fail && n == 2 {
					return errFlush
				}
				return nil
			}
			first := make(chan error, 1)
			go func() { first <- g.sync(dir) }()
			waitFor(t, "the first flush to start", func() bool {
				g.mu.Lock()
				defer g.mu.Unlock()
				return g.running
			})
			const callers = 10
			errs := make(chan error, callers)
			for i := range callers {
				go func() {
					err := g.sync(dir)
					record(fmt.Sprintf("caller %d returned", i))
					errs <- err
				}()
			}
			waitFor(t, "the callers to wait", func() bool {
				g.mu.Lock()
				defer g.mu.Unlock()
				return g.waiting == callers
			})
			close(release)
			if err := <-first; err != nil {
				t.Fatalf("first caller: %v", err)
			}
			for range callers {
				if err := <-errs; fail != errors.Is(err, errFlush) {
					t.Fatalf("caller's error %v, want the second flush's failure: %t", err, fail)
				}
			}
			if flushes != 2 {
				t.Fatalf("%d flushes for 1 + %d callers, want 2: %q", flushes, callers, log)
			}
			end := slices.Index(log, "flush 2 end")
			for i, e := range log {
				if strings.HasPrefix(e, "caller") && i < end {
					t.Fatalf("%s before the flush that covers it ended: %q", e, log)
				}
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCommitFlushOrder runs concurrent commits of every kind on one drive
// with group commit and checks, from the trace of their steps and of the
// drive's flushes, that each commit rename came after a flush that began
// after everything it publishes was written, and that each call returned
// after a flush that began after its commit rename.
func TestCommitFlushOrder(t *testing.T) {
	if !haveSyncfs {
		t.Skip("no group commit here")
	}
	var mu sync.Mutex
	var events []traceEvent
	traceHook = func(event, key string) {
		mu.Lock()
		events = append(events, traceEvent{event, key})
		mu.Unlock()
	}
	defer func() { traceHook = nil }()

	d := newDrive(t, t.TempDir())
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	const writers = 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			errs <- commitEveryWay(ctx, d, key, i)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	commits, err := checkFlushOrder(events)
	if err != nil {
		t.Fatal(err)
	}
	flushes := 0
	for _, e := range events {
		if e.event == "flush-start" {
			flushes++
		}
	}
	// 4 commits per writer, 2 flushes each if nothing were shared.
	if commits != 4*writers {
		t.Fatalf("%d commits traced, want %d", commits, 4*writers)
	}
	t.Logf("%d commits, %d flushes (%d without sharing)", commits, flushes, 2*commits)
}

// commitEveryWay publishes a version with data, adds an inline one,
// rewrites it in place and deletes it: four commits of key.
func commitEveryWay(ctx context.Context, d *Drive, key string, i int) error {
	dataDir := fmt.Sprintf("%08d-1111-4111-8111-111111111111", i)
	data := bytes.Repeat([]byte{byte(i)}, 10000)
	tmp := "up-" + key + "/" + dataDir
	if err := d.CreateFile(ctx, storage.TmpVolume, tmp+"/part.1", int64(len(data)), bytes.NewReader(data)); err != nil {
		return err
	}
	fi := storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: "v1", DataDir: dataDir, ModTime: t0,
		Size: int64(len(data)), Parts: []storage.PartInfo{{Number: 1, Size: int64(len(data))}},
	}}
	if _, err := d.RenameData(ctx, storage.TmpVolume, tmp, fi, "bucket", key); err != nil {
		return err
	}
	if err := d.WriteMetadata(ctx, "bucket", key, inlineVersion("v2", t0.Add(time.Second), "two")); err != nil {
		return err
	}
	if err := d.WriteMetadata(ctx, "bucket", key, inlineVersion("v2", t0.Add(time.Second), "two again")); err != nil {
		return err
	}
	return d.DeleteVersion(ctx, "bucket", key, "v2")
}

type traceEvent struct{ event, key string }

// checkFlushOrder checks a trace (see TestCommitFlushOrder) and returns
// the number of commits in it. A commit is traced as prepared (all it
// publishes written), renaming, renamed, done (returning); the flushes as
// flush-start and flush-end, one at a time.
func checkFlushOrder(events []traceEvent) (commits int, err error) {
	type flush struct{ start, end int }
	var flushes []flush
	since := map[string]int{} // key -> index of its last prepared or renamed
	for i, e := range events {
		switch e.event {
		case "flush-start":
			flushes = append(flushes, flush{i, -1})
		case "flush-end":
			if len(flushes) == 0 || flushes[len(flushes)-1].end >= 0 {
				return 0, fmt.Errorf("event %d: a flush ends that did not start", i)
			}
			flushes[len(flushes)-1].end = i
		case "prepared", "renamed":
			since[e.key] = i
		case "renaming", "done":
			from, ok := since[e.key]
			if !ok {
				return 0, fmt.Errorf("event %d: %s %s without its step before", i, e.event, e.key)
			}
			delete(since, e.key)
			covered := slices.ContainsFunc(flushes, func(f flush) bool { return f.start > from && f.end >= 0 && f.end < i })
			if !covered {
				return 0, fmt.Errorf("event %d: %s %s without a flush from event %d on", i, e.event, e.key, from)
			}
			if e.event == "done" {
				commits++
			}
		}
	}
	if len(since) != 0 {
		return 0, fmt.Errorf("unfinished commits: %v", since)
	}
	return commits, nil
}

// TestCheckFlushOrder: the checker refuses a commit renamed, or returned,
// without a flush that began after its step before.
func TestCheckFlushOrder(t *testing.T) {
	good := []traceEvent{
		{"prepared", "a"}, {"flush-start", ""}, {"prepared", "b"}, {"flush-end", ""},
		{"renaming", "a"}, {"renamed", "a"}, {"flush-start", ""}, {"flush-end", ""},
		{"renaming", "b"}, {"done", "a"}, {"renamed", "b"}, {"flush-start", ""}, {"flush-end", ""}, {"done", "b"},
	}
	if n, err := checkFlushOrder(good); err != nil || n != 2 {
		t.Fatalf("good trace: %d commits, %v", n, err)
	}
	bad := map[string][]traceEvent{
		"renamed in a flush begun before it was prepared": {
			{"flush-start", ""}, {"prepared", "a"}, {"flush-end", ""}, {"renaming", "a"},
		},
		"returned before the flush ended": {
			{"prepared", "a"}, {"flush-start", ""}, {"flush-end", ""}, {"renaming", "a"}, {"renamed", "a"},
			{"flush-start", ""}, {"done", "a"}, {"flush-end", ""},
		},
		"returned without a flush after the rename": {
			{"prepared", "a"}, {"flush-start", ""}, {"flush-end", ""}, {"renaming", "a"}, {"renamed", "a"}, {"done", "a"},
		},
	}
	for name, trace := range bad {
		if _, err := checkFlushOrder(trace); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDrivesShareFileSystemFlush: drives of one process on one file system
// share one group commit (a syncfs covers them all), and a drive that
// closes leaves it; drives opened afterwards start a fresh one.
func TestDrivesShareFileSystemFlush(t *testing.T) {
	if !haveSyncfs {
		t.Skip("no group commit here")
	}
	a, b := newDrive(t, t.TempDir()), newDrive(t, t.TempDir())
	if a.group == nil || a.group != b.group {
		t.Fatalf("two drives on one file system: groups %p and %p, want one shared", a.group, b.group)
	}
	dev, err := deviceOf(a.root)
	if err != nil {
		t.Fatal(err)
	}
	refs := func() int {
		fsGroups.Lock()
		defer fsGroups.Unlock()
		if sg := fsGroups.m[dev]; sg != nil && sg.g == a.group {
			return sg.refs
		}
		return 0
	}
	before := refs()
	a.Close()
	a.Close() // a second Close leaves nothing twice
	if got := refs(); got != before-1 {
		t.Fatalf("after one drive closed (twice) the group has %d users, want %d", got, before-1)
	}
	// The other drive still commits through it.
	ctx := t.Context()
	if err := b.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if err := commitEveryWay(ctx, b, "k", 1); err != nil {
		t.Fatal(err)
	}
}
