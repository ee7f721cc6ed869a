package object

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestTraceKeepsSlowSteps: a step under TraceMinStep is not kept, a slow
// one is, with when it began and what it says; past maxTraceSteps only a
// count is.
func TestTraceKeepsSlowSteps(t *testing.T) {
	start := time.Now().Add(-10 * time.Second)
	tr := NewTrace(start)
	tr.step("quick", time.Now(), "")
	if got := tr.String(); got != "" {
		t.Fatalf("a quick step was kept: %q", got)
	}
	tr.step("write lock", start.Add(2*time.Second), "")
	tr.step("fan-out to 4 drives", start.Add(7*time.Second), "not waited for: d3: timed out")
	got := tr.String()
	for _, want := range []string{"write lock at 2s took 8", "fan-out to 4 drives at 7s took 3", "(not waited for: d3: timed out)"} {
		if !strings.Contains(got, want) {
			t.Fatalf("trace %q lacks %q", got, want)
		}
	}
	for range maxTraceSteps {
		tr.step("block", start, "")
	}
	if got := tr.String(); !strings.HasSuffix(got, "; 2 more") {
		t.Fatalf("trace past its bound: %q", got)
	}
	var none *Trace
	none.step("x", start, "") // a request without a trace
	if none.String() != "" {
		t.Fatal("a nil trace says something")
	}
}

// TestTraceSaysWhatAPutWaitedFor: a PUT that waits for the object's lock
// and then for a drive stuck in its commit says both in its trace,
// naming the drive.
func TestTraceSaysWhatAPutWaitedFor(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, func(c *Config) {
		c.DriveTimeout = time.Second
		c.StragglerWait = 50 * time.Millisecond // a commit's grace of 500 ms: a step the trace keeps
	})
	ts.put(t, "k", randomBytes(1, 1000))
	lk, err := ts.lock(context.Background(), true, testBucket, "k")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, lk.Unlock)
	ts.drives[4].set(faultStuck, "RenameData")
	t.Cleanup(ts.drives[4].unstick)
	tr := NewTrace(time.Now())
	ctx := WithTrace(context.Background(), tr)
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader(randomBytes(2, 1000)), 1000, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	got := tr.String()
	for _, want := range []string{"write lock at ", "fan-out to 6 drives", ts.drives[4].String() + ": "} {
		if !strings.Contains(got, want) {
			t.Errorf("trace %q lacks %q", got, want)
		}
	}
}
