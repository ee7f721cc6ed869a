package object_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

// stoppingWriter stops taking bytes once it holds `after` of them, until
// open is closed; held is closed when it first waits.
type stoppingWriter struct {
	buf        bytes.Buffer
	after      int
	held, open chan struct{}
	waiting    bool
}

func (w *stoppingWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.after {
		if !w.waiting {
			w.waiting = true
			close(w.held)
		}
		<-w.open
	}
	return w.buf.Write(p)
}

// TestClusterStalledGetDoesNotBlockWriters: on a cluster (remote drives,
// distributed locks) a GET whose client stops reading a large object lets
// a PUT over the key and a DELETE of it through promptly (the lock timeout
// is 4 s: they used to wait that long, then fail), their cleanups remove
// the version's files on every drive, and the GET then delivers the old
// version whole: the remote nodes serving its shard streams hold the files
// open.
func TestClusterStalledGetDoesNotBlockWriters(t *testing.T) {
	c := newCluster(t, objecttest.Options{})
	ctx := testCtx(t)
	l := c.Nodes[0].Layer()
	old := body(1, 16<<20+345)
	mustPut(t, l, "big", old)
	// The drives of the object's set.
	var holders []string
	for _, dir := range c.DriveDirs() {
		if _, err := os.Stat(objectDir(dir)); err == nil {
			holders = append(holders, dir)
		}
	}
	if len(holders) < 4 {
		t.Fatalf("the object is on %d drives", len(holders))
	}

	r, err := l.GetObject(ctx, bucket, "big", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := &stoppingWriter{after: 1 << 20, held: make(chan struct{}), open: make(chan struct{})}
	type result struct {
		n   int64
		err error
	}
	res := make(chan result, 1)
	go func() {
		defer r.Close()
		n, err := r.WriteTo(w)
		res <- result{n, err}
	}()
	select {
	case <-w.held:
	case <-time.After(20 * time.Second):
		t.Fatal("the GET never reached its client")
	}

	next := body(2, 3<<20)
	within(t, 5*time.Second, "PUT over a stalled GET", func() {
		if _, err := put(ctx, c.Nodes[1].Layer(), "big", next); err != nil {
			t.Fatalf("PUT over a stalled GET: %v", err)
		}
	})
	mustGet(t, 2, c.Nodes[2].Layer(), "big", next)
	within(t, 5*time.Second, "DELETE beside a stalled GET", func() {
		if err := c.Nodes[3].Layer().DeleteObject(ctx, bucket, "big"); err != nil {
			t.Fatalf("DELETE beside a stalled GET: %v", err)
		}
	})
	// Every drive's copy is gone (cleanups may end after the answer).
	deadline := time.Now().Add(10 * time.Second)
	for _, dir := range holders {
		for {
			_, err := os.Stat(objectDir(dir))
			if os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds the object: %v", dir, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	close(w.open)
	select {
	case got := <-res:
		if got.err != nil || got.n != int64(len(old)) || !bytes.Equal(w.buf.Bytes(), old) {
			t.Fatalf("stalled GET: %d of %d bytes, %v; exact: %v", got.n, len(old), got.err, bytes.Equal(w.buf.Bytes(), old))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the GET did not finish once its client read again")
	}
}

// objectDir is where a local drive in dir keeps the object "big"
// (storage/local: <volume>/<key>%o).
func objectDir(dir string) string { return filepath.Join(dir, bucket, "big%o") }
