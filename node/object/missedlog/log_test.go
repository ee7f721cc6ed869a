package missedlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/node/object"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openLog(t *testing.T, dirs ...string) *Log {
	t.Helper()
	l, err := Open(Config{Dirs: dirs})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func missed(obj string, drives ...int) object.MissedWrite {
	return object.MissedWrite{Bucket: "bucket", Object: obj, VersionID: "v-" + obj, Drives: drives}
}

func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Object)
	}
	return out
}

// TestSurvivesReopen: what was remembered and not done is there after a
// reopen (a restart of the writer), with its fields; done entries are not.
func TestSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	ctx := context.Background()
	for i := range 5 {
		if err := l.RememberMissed(ctx, missed(fmt.Sprint("obj/", i), 3, 1)); err != nil {
			t.Fatal(err)
		}
	}
	es := l.Entries()
	l.Done(es[1].ID, es[3].ID)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	defer l.Close()
	got := l.Entries()
	if want := []string{"obj/0", "obj/2", "obj/4"}; !slices.Equal(names(got), want) {
		t.Fatalf("after reopen: %v, want %v", names(got), want)
	}
	if e := got[0]; e.Bucket != "bucket" || e.VersionID != "v-obj/0" || !slices.Equal(e.Drives, []int{1, 3}) || e.Time.IsZero() {
		t.Fatalf("entry: %+v", e)
	}
	if l.Incomplete() {
		t.Fatal("a clean log reads as incomplete")
	}
	// New entries get IDs after the old ones.
	if err := l.RememberMissed(ctx, missed("new", 0)); err != nil {
		t.Fatal(err)
	}
	es = l.Entries()
	if last := es[len(es)-1]; last.Object != "new" || last.ID <= got[2].ID {
		t.Fatalf("new entry %+v after %+v", last, got[2])
	}
}

// TestTornTailIgnored: a record cut short at the end of the file (a crash
// during its append) is dropped; the others load and the log is complete.
func TestTornTailIgnored(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 3 {
		if err := l.RememberMissed(context.Background(), missed(fmt.Sprint(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	path := filepath.Join(dir, FileName)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut < 20; cut++ {
		if err := os.WriteFile(path, full[:len(full)-cut], 0o644); err != nil {
			t.Fatal(err)
		}
		l := openLog(t, dir)
		got := names(l.Entries())
		l.Close()
		if !slices.Equal(got, []string{"0", "1"}) || l.Incomplete() {
			t.Fatalf("cut %d bytes: %v, incomplete %v", cut, got, l.Incomplete())
		}
		// The reopen rewrote the file without the torn record.
		if err := os.WriteFile(path, full, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A torn record followed by zeros (the file grew before the bytes
	// landed) is a torn tail too.
	withZeros := append(append([]byte{}, full[:len(full)-5]...), make([]byte, 64)...)
	if err := os.WriteFile(path, withZeros, 0o644); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	defer l.Close()
	if got := names(l.Entries()); !slices.Equal(got, []string{"0", "1"}) || l.Incomplete() {
		t.Fatalf("torn with zeros: %v, incomplete %v", got, l.Incomplete())
	}
}

// TestDamageMarksIncomplete: damage before the end (records after it may
// be lost) loads what it can and marks the log incomplete, durably, until
// a walk says it has made up for it.
func TestDamageMarksIncomplete(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 3 {
		if err := l.RememberMissed(context.Background(), missed(fmt.Sprint(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	path := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(path)
	b[len(magic)+frameHeader+3] ^= 0xff // inside the first record's payload
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	if !l.Incomplete() {
		t.Fatal("damage not noticed")
	}
	l.Close()
	l = openLog(t, dir) // the mark survives the rewrite
	if !l.Incomplete() {
		t.Fatal("incomplete mark lost at reopen")
	}
	l.Walked(timeNowPlus())
	if l.Incomplete() {
		t.Fatal("still incomplete after a walk")
	}
	l.Close()
	l = openLog(t, dir)
	defer l.Close()
	if l.Incomplete() {
		t.Fatal("incomplete after a walk and a reopen")
	}
}

// TestUnionOfFiles: a record is in every file; entries are the union of
// the files, minus what any marks done, so losing one file loses nothing.
func TestUnionOfFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	l := openLog(t, a, b)
	for i := range 4 {
		if err := l.RememberMissed(context.Background(), missed(fmt.Sprint(i), 2)); err != nil {
			t.Fatal(err)
		}
	}
	l.Done(l.Entries()[0].ID)
	l.Close()
	if err := os.Remove(filepath.Join(a, FileName)); err != nil { // the drive was wiped
		t.Fatal(err)
	}
	l = openLog(t, a, b)
	defer l.Close()
	if got := names(l.Entries()); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("after losing one file: %v", got)
	}
}

// TestFailsWithoutFiles: a log whose every file failed says so to the
// writer and marks itself incomplete.
func TestFailsWithoutFiles(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	defer l.Close()
	l.files[0].fail(fmt.Errorf("disk gone"))
	if err := l.RememberMissed(context.Background(), missed("x", 1)); err == nil {
		t.Fatal("remembered with no file")
	}
	if !l.Incomplete() {
		t.Fatal("not incomplete")
	}
}

// TestConcurrentRemember: many writers at once all get their entries
// stored (sharing syncs), and all of them are there after a reopen.
func TestConcurrentRemember(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if err := l.RememberMissed(context.Background(), missed(fmt.Sprint(i), i%16)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	l.Close()
	l = openLog(t, dir)
	defer l.Close()
	if got := len(l.Entries()); got != 200 {
		t.Fatalf("%d entries after reopen, want 200", got)
	}
}

// TestCompaction: a file past CompactBytes is rewritten with only the
// waiting entries.
func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dirs: []string{dir}, CompactBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := l.RememberMissed(context.Background(), missed(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
		if i != 499 {
			l.Done(l.Entries()[0].ID)
		}
	}
	l.Close()
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 8192 {
		t.Fatalf("file of %d bytes: not compacted", st.Size())
	}
	l = openLog(t, dir)
	defer l.Close()
	if got := names(l.Entries()); !slices.Equal(got, []string{"499"}) {
		t.Fatalf("after compaction: %v", got)
	}
}

// TestBadEntryRefused: an entry no write produces is refused.
func TestBadEntryRefused(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	for _, w := range []object.MissedWrite{
		{Bucket: "bucket", Object: "", Drives: []int{1}},
		{Bucket: "", Object: "o", Drives: []int{1}},
		{Bucket: "bucket", Object: "o"},
		{Bucket: "bucket", Object: "o", Drives: []int{-1}},
		{Bucket: "bucket", Object: "o", Drives: []int{maxPositions}},
	} {
		if err := l.RememberMissed(context.Background(), w); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
}

// BenchmarkRememberParallel measures remembering missed writes from many
// writers at once: they share syncs (group commit).
func BenchmarkRememberParallel(b *testing.B) {
	l, err := Open(Config{Dirs: []string{b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.SetParallelism(16)
	b.ReportAllocs()
	i := 0
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i++
			name := fmt.Sprint("obj-", i)
			mu.Unlock()
			if err := l.RememberMissed(context.Background(), missed(name, 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRememberSerial is one writer at a time: every record pays its
// own sync (the baseline BenchmarkRememberParallel shares).
func BenchmarkRememberSerial(b *testing.B) {
	l, err := Open(Config{Dirs: []string{b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.RememberMissed(context.Background(), missed(fmt.Sprint("obj-", i), 1)); err != nil {
			b.Fatal(err)
		}
	}
}
