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
}

func (m *missedRecorder) RememberMissed(_ context.Context, w MissedWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
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
