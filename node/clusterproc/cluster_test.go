package clusterproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/gridstore/gridstore/storage/local"
)

// TestClusterLifecycle starts 4 processes of 2 drives (EC 4+4), writes and
// reads through one node, kills another and reads on, restarts it on its
// folders and reads through it, pauses and continues a node, and runs the
// workload briefly with a verification pass, which must then catch an
// object removed behind its back. It is the harness's own test and runs in
// `make test`.
func TestClusterLifecycle(t *testing.T) {
	start := time.Now()
	c := Start(t, Options{})
	t.Logf("4 nodes ready in %s (binary build took %s)", time.Since(start).Round(time.Millisecond), buildTook(raceEnabled).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c0 := c.Client(0)
	if err := c0.MakeBucket(ctx, "lifecycle", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	data := bytes.Repeat([]byte("clusterproc "), 100_000) // 1.2 MB, several blocks
	if _, err := c0.PutObject(ctx, "lifecycle", "a", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	mustRead(ctx, t, c.Client(1), "a", data)

	pid := c.PID(3)
	c.Kill(3)
	if c.Running(3) || c.PID(3) != 0 {
		t.Fatalf("node 3 still running after Kill")
	}
	// 6 of 8 drives: reads and writes still have their quorums.
	mustRead(ctx, t, c.Client(1), "a", data)
	if _, err := c0.PutObject(ctx, "lifecycle", "b", bytes.NewReader(data[:1000]), 1000, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put with node 3 down: %v", err)
	}

	c.Restart(3)
	if c.PID(3) == 0 || c.PID(3) == pid {
		t.Fatalf("node 3 pid after restart = %d (before: %d)", c.PID(3), pid)
	}
	mustRead(ctx, t, c.Client(3), "a", data)
	mustRead(ctx, t, c.Client(3), "b", data[:1000])

	c.Stop(2)
	c.Cont(2)
	st, err := c.Stats(2)
	if err != nil {
		t.Fatal(err)
	}
	if st.RSS <= 0 || st.FDs <= 0 || st.Threads <= 0 || st.Goroutines <= 0 || st.IOBufferInUse < 0 || st.IOBufferBadReturns != 0 {
		t.Errorf("stats of node 2: %+v", st)
	}

	w := NewWorkload(t, c, WorkloadConfig{Clients: 4, Keys: 16, MaxSize: 256 << 10})
	loadStart := time.Now()
	w.Start()
	time.Sleep(3 * time.Second)
	w.Stop()
	sum := w.Stats().Summarize(loadStart, time.Now())
	t.Logf("\n%s", sum.Table("workload, 4 clients, 3 s", Targets{}))
	if n := sum.Ops[OpPut].OK + sum.Ops[OpGet].OK; n == 0 {
		t.Errorf("no PUT or GET succeeded in 3 s")
	}
	for _, v := range w.Violations() {
		t.Error(v)
	}
	rep := w.Verify(ctx, 1)
	rep.Verified(t)

	// The verification can fail: an acknowledged object removed behind
	// the workload's back is reported lost, by the read and the listing.
	var victim string
	for _, key := range w.History().Keys() {
		if w.History().PresenceAt(key, time.Now()) == Present {
			victim = key
			break
		}
	}
	if victim == "" {
		t.Fatalf("no key holds an acknowledged PUT after the load")
	}
	if err := c0.RemoveObject(ctx, w.Config().Bucket, victim, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove %s behind the workload: %v", victim, err)
	}
	rep = w.Verify(ctx, 2)
	lost := 0
	all := append(rep.Violations, rep.Listing...)
	for _, v := range all {
		if errors.Is(v, ErrLost) && strings.Contains(v.Error(), victim) {
			lost++
		}
	}
	if lost != 2 || len(rep.Violations) != 1 || len(rep.Listing) != 1 {
		t.Errorf("after removing %s behind the workload's back, verify reported %d violations and %d listing mismatches (%d for it, want 1 and 1): %v",
			victim, len(rep.Violations), len(rep.Listing), lost, all)
	}
	// So can the redundancy check: a drive that lost its copy of an
	// object.
	if took, short := WaitRedundant(c.AllDriveDirs(), w.Config().Bucket, w.History().Keys(), 30*time.Second); len(short) > 0 {
		t.Errorf("%s after the load, objects not held in full: %v", took.Round(time.Millisecond), short)
	}
	var held string
	for _, key := range w.History().Keys() {
		if key != victim && w.History().PresenceAt(key, time.Now()) == Present {
			held = key
			break
		}
	}
	if err := os.RemoveAll(filepath.Dir(local.RecordFile(c.DriveDirs(1)[0], w.Config().Bucket, held))); err != nil {
		t.Fatal(err)
	}
	if short := Unredundant(c.AllDriveDirs(), w.Config().Bucket, w.History().Keys()); len(short) != 1 || short[held] == "" {
		t.Errorf("with %s removed from one drive, the redundancy check found %v", held, short)
	}
	// What a failure says of such a key: the drive without it, the
	// others' versions and files, and the writes the clients made.
	desc := DescribeCopies(c.AllDriveDirs(), w.Config().Bucket, held)
	if lines := strings.Split(strings.TrimSpace(desc), "\n"); len(lines) != len(c.AllDriveDirs()) ||
		!strings.Contains(lines[2], "no such file or directory") || !strings.Contains(lines[0], " data dir ") && !strings.Contains(lines[0], " inline ") {
		t.Errorf("copies of %s described as:\n%s", held, desc)
	}
	if h := w.History().Describe(held); !strings.Contains(h, " acked") {
		t.Errorf("writes of %s described as %q", held, h)
	}
	if cr := c.Crashes(); len(cr) > 0 {
		t.Errorf("crashes: %v", cr)
	}
	for i := range c.Nodes() {
		if !strings.Contains(tail(c.LogPath(i), 1000), "=== clusterproc: start 1 of node") {
			t.Errorf("log of node %d lacks the harness's start line", i)
		}
	}
}

func mustRead(ctx context.Context, t *testing.T, mc *minio.Client, key string, want []byte) {
	t.Helper()
	obj, err := mc.GetObject(ctx, "lifecycle", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s: %d bytes, not the %d written", key, len(got), len(want))
	}
}

// errorsTB records what a cluster reports with Errorf instead of failing
// the test, so that a test can check the harness reports a crash.
type errorsTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (e *errorsTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// TestCrashIsReported kills a node behind the harness's back: Crashes
// reports it with its log, and Close fails the test for it.
func TestCrashIsReported(t *testing.T) {
	rec := &errorsTB{TB: t}
	t.Cleanup(func() { // runs after the cluster's Close
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "crash: node 0 exited") || !strings.Contains(rec.errs[0], "signal: killed") {
			t.Errorf("Close reported %q, want one crash of node 0", rec.errs)
		}
	})
	c := Start(rec, Options{Nodes: 1, DrivesPerNode: 4})
	if err := syscall.Kill(c.PID(0), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(c.Crashes()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cr := c.Crashes()
	if len(cr) != 1 || cr[0].Node != 0 || !strings.Contains(cr[0].LogTail, "clusterproc: start 1 of node 0") {
		t.Fatalf("crashes = %v, want node 0 with its log", cr)
	}
	if c.Running(0) {
		t.Errorf("node 0 reported running after its crash")
	}
}
