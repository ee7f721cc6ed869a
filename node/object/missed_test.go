package object

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
)

type missedRecorder struct {
	mu     sync.Mutex
	writes []MissedWrite
	// onRemember, if set, runs on each entry before it is stored.
	onRemember func(MissedWrite)
}

func (m *missedRecorder) RememberMissed(_ context.Context, w MissedWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.onRemember != nil {
		m.onRemember(w)
	}
	m.writes = append(m.writes, w)
	return nil
}

func (m *missedRecorder) take() []MissedWrite {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.writes
	m.writes = nil
	return w
}

// TestMissedWritesRemembered: a PUT, a multipart Complete and a DELETE
// that succeed without a drive are remembered, naming it, before they
// return; healthy writes are not.
func TestMissedWritesRemembered(t *testing.T) {
	rec := &missedRecorder{}
	ts := newTestSet(t, 4, func(c *Config) { c.Missed = rec; c.MinPartSize = -1 })
	ctx := context.Background()
	ts.put(t, "healthy", randomBytes(1, 300<<10))
	if err := ts.DeleteObject(ctx, testBucket, "healthy"); err != nil {
		t.Fatal(err)
	}
	if w := rec.take(); len(w) != 0 {
		t.Fatalf("healthy writes remembered: %+v", w)
	}

	ts.drives[3].set(faultOffline)
	info := ts.put(t, "k", randomBytes(2, 300<<10))
	if w := rec.take(); len(w) != 1 || w[0].Object != "k" || w[0].VersionID != info.VersionID || !slices.Equal(w[0].Drives, []int{3}) {
		t.Fatalf("degraded PUT: %+v", w)
	}
	id, err := ts.NewMultipartUpload(ctx, testBucket, "mp", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part, err := ts.PutObjectPart(ctx, testBucket, "mp", id, 1, bytes.NewReader(randomBytes(3, 1000)), 1000, PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "mp", id, []CompletePart{{Number: 1, ETag: part.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := rec.take(); len(w) != 1 || w[0].Object != "mp" || !slices.Equal(w[0].Drives, []int{3}) {
		t.Fatalf("degraded Complete: %+v", w)
	}
	if err := ts.DeleteObject(ctx, testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	if w := rec.take(); len(w) != 1 || w[0].Object != "k" || w[0].VersionID != "" || !slices.Equal(w[0].Drives, []int{3}) {
		t.Fatalf("degraded DELETE: %+v", w)
	}
}

// TestPartialHolderRememberedBeforeCommit: a drive that commits a multipart
// version without the shard of one of its parts (it missed that part's
// upload) is remembered before any drive commits, not only after: a
// writer killed between the commit and its note would otherwise leave
// the drive's record naming a shard it lacks, which nothing looks for
// (seen in TestChaosKilledDuringMultipart).
func TestPartialHolderRememberedBeforeCommit(t *testing.T) {
	rec := &missedRecorder{}
	var ts *testSet
	committedAtRemember := -1 // drives holding the object when the entry naming drive 0 came
	rec.onRemember = func(w MissedWrite) {
		if w.Object == "mp" && w.VersionID != "" && slices.Contains(w.Drives, 0) && committedAtRemember < 0 {
			committedAtRemember = 0
			for _, v := range ts.versions(t, "mp") {
				if len(v) > 0 {
					committedAtRemember++
				}
			}
		}
	}
	ts = newMPSet(t, 4, 2, func(c *Config) { c.Missed = rec })
	id := ts.newUpload(t, "mp", PutOptions{})
	p1 := ts.putPart(t, "mp", id, 1, randomBytes(1, testMinPart))
	ts.drives[0].set(faultError, "CreateFile") // part 2 lands on drives 1..3 only
	p2 := ts.putPart(t, "mp", id, 2, randomBytes(2, 1000))
	ts.drives[0].clear()
	info := ts.complete(t, "mp", id, completeList(p1, p2))
	if committedAtRemember != 0 {
		t.Fatalf("drive 0, short of part 2, was first remembered with %d drives already holding the version (want 0: before the commit); entries: %+v",
			committedAtRemember, rec.take())
	}
	found := false
	for _, w := range rec.take() {
		found = found || (w.VersionID == info.VersionID && slices.Equal(w.Drives, []int{0}))
	}
	if !found {
		t.Fatal("no entry names drive 0 with the committed version")
	}
}
