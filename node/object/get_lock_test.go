package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// gateWriter is a client that stops reading: from the write that would
// take it past `after` bytes on, every Write waits until open is closed.
// held is closed when the first one starts waiting.
type gateWriter struct {
	buf   bytes.Buffer
	after int
	held  chan struct{}
	open  chan struct{}
	waits bool
}

func newGateWriter(after int) *gateWriter {
	return &gateWriter{after: after, held: make(chan struct{}), open: make(chan struct{})}
}

func (w *gateWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.after {
		if !w.waits {
			w.waits = true
			close(w.held)
		}
		<-w.open
	}
	return w.buf.Write(p)
}

// onlyReader hides WriteTo, so that io.Copy takes the Read path.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type getResult struct {
	n   int64
	err error
}

// stalledGet starts reading key into a gateWriter that stops after `after`
// bytes (through WriteTo, or through Read when viaRead) and returns once
// the reader waits on it.
func (ts *testSet) stalledGet(t *testing.T, key string, after int, viaRead bool) (*gateWriter, <-chan getResult) {
	t.Helper()
	r, err := ts.GetObject(context.Background(), testBucket, key, GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := newGateWriter(after)
	res := make(chan getResult, 1)
	go func() {
		defer r.Close()
		var n int64
		var err error
		if viaRead {
			n, err = io.Copy(w, onlyReader{r})
		} else {
			n, err = r.WriteTo(w)
		}
		res <- getResult{n, err}
	}()
	select {
	case <-w.held:
	case r := <-res:
		t.Fatalf("the GET ended before its client stopped reading: %d bytes, %v", r.n, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the GET never wrote to its client")
	}
	return w, res
}

// waitResult waits for a stalled GET released by its client.
func waitResult(t *testing.T, w *gateWriter, res <-chan getResult) getResult {
	t.Helper()
	close(w.open)
	select {
	case r := <-res:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the GET did not finish once its client read again")
		return getResult{}
	}
}

// shardGone waits until no drive has the file of part `part` of key's
// version in dataDir any more: the writer's cleanup can end after its
// answer.
func (ts *testSet) shardGone(t *testing.T, key, dataDir string, part int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i, d := range ts.local {
		for {
			rc, err := d.ReadFileStream(context.Background(), testBucket, storage.PartPath(key, dataDir, part), 0, -1)
			if err == nil {
				rc.Close()
			}
			if errors.Is(err, storage.ErrFileNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("drive %d still has part %d of data dir %s: %v", i, part, dataDir, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestGetDoesNotBlockWriters: a GET whose client stops reading holds no
// lock: a PUT over its key and then a DELETE of it finish promptly (they
// used to wait for the reader, then fail at LockTimeout), their cleanup
// removes the data the GET is reading, and the GET still delivers the old
// version byte for byte once its client reads again, from the shard files
// it opened before they were unlinked. Default timeouts; through WriteTo
// and through Read; client stopping before its first byte and after some.
func TestGetDoesNotBlockWriters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		after   int
		viaRead bool
	}{
		{"first-byte", 0, false},
		{"mid-object", 3*testBlockSize + 5, false},
		{"read-path", testBlockSize, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, 6, nil)
			old := randomBytes(1, 12*testBlockSize+123)
			ts.put(t, "k", old)
			fi, err := ts.local[0].ReadVersion(context.Background(), testBucket, "k", "")
			if err != nil {
				t.Fatal(err)
			}
			w, res := ts.stalledGet(t, "k", tc.after, tc.viaRead)

			next := randomBytes(2, 5*testBlockSize)
			start := time.Now()
			ts.put(t, "k", next)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("PUT over a stalled GET took %v", d)
			}
			ts.shardGone(t, "k", fi.DataDir, 1)
			ts.mustGet(t, "k", next)
			start = time.Now()
			if err := ts.DeleteObject(context.Background(), testBucket, "k"); err != nil {
				t.Fatalf("DELETE beside a stalled GET: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("DELETE beside a stalled GET took %v", d)
			}
			if _, _, err := ts.get("k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("GET after DELETE: %v", err)
			}

			r := waitResult(t, w, res)
			if r.err != nil || r.n != int64(len(old)) || !bytes.Equal(w.buf.Bytes(), old) {
				t.Fatalf("stalled GET: %d bytes, %v; exact old bytes: %v", r.n, r.err, bytes.Equal(w.buf.Bytes(), old))
			}
		})
	}
}

// TestGetInlineReleasesAtOnce: an inline object's GET holds no lock once
// GetObject returns, even before its reader is used.
func TestGetInlineReleasesAtOnce(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	old := randomBytes(1, 1000)
	ts.put(t, "k", old)
	r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ts.PutObject(ctx, testBucket, "k", bytes.NewReader([]byte("new")), 3, PutOptions{}); err != nil {
		t.Fatalf("PUT beside an unread GET of an inline object: %v", err)
	}
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), old) {
		t.Fatalf("GET: %v; old bytes: %v", err, bytes.Equal(buf.Bytes(), old))
	}
}

// TestGetParityAfterVersionGone: a data shard that fails after the GET's
// version was deleted sends the GET to parity shards it never opened, whose
// files are gone: they count as missing, never as other bytes, and the GET
// fails with ErrReadQuorum after delivering a prefix of the old version.
// (Hedging is off, so that no parity shard is opened early by chance.)
func TestGetParityAfterVersionGone(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, func(c *Config) { c.LateShard = -1 })
	old := randomBytes(1, 12*testBlockSize)
	ts.put(t, "k", old)
	fi, err := ts.local[0].ReadVersion(context.Background(), testBucket, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := ts.shardHolders(t, "k")
	w, res := ts.stalledGet(t, "k", 2*testBlockSize, false)
	if err := ts.DeleteObject(context.Background(), testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	ts.shardGone(t, "k", fi.DataDir, 1)
	ts.drives[data[0]].set(faultError, opStream)
	r := waitResult(t, w, res)
	ts.drives[data[0]].clear()
	if !errors.Is(r.err, ErrReadQuorum) {
		t.Fatalf("GET: %d bytes, %v; want ErrReadQuorum", r.n, r.err)
	}
	if r.n >= int64(len(old)) || !bytes.Equal(w.buf.Bytes(), old[:r.n]) {
		t.Fatalf("GET delivered %d of %d bytes, a prefix of the old version: %v", r.n, len(old), bytes.Equal(w.buf.Bytes(), old[:r.n]))
	}
}

// TestGetMultipartPartGone: the data shards of a multipart object's parts
// are opened ahead, up to maxPreopenStreams, before the GET lets go of its
// lock: a DELETE while the client has stopped reading leaves the GET
// reading those parts from the open (and since unlinked) files. A part
// beyond the budget is opened when reached and finds the version gone: the
// GET delivers the parts before it exactly, then fails with ErrReadQuorum,
// never wrong or short-but-successful bytes.
func TestGetMultipartPartGone(t *testing.T) {
	t.Parallel()
	// The lock waits for the streams opened ahead as long as for a late
	// shard: long here, so that a loaded machine cannot make them late.
	ts := newMPSet(t, 6, 2, func(c *Config) { c.MinPartSize = 1; c.LateShard = 5 * time.Second })
	covered := 1 + maxPreopenStreams/(6-2) // the first part and those opened ahead
	id := ts.newUpload(t, "k", PutOptions{})
	var parts [][]byte
	var infos []PartInfo
	for i := range covered + 2 {
		parts = append(parts, randomBytes(uint64(i), testBlockSize+1000*(i+1)))
		infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
	}
	ts.complete(t, "k", id, completeList(infos...))
	whole := bytes.Join(parts, nil)
	inBudget := len(bytes.Join(parts[:covered], nil))
	fi, err := ts.local[0].ReadVersion(context.Background(), testBucket, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	w, res := ts.stalledGet(t, "k", 0, false)
	start := time.Now()
	if err := ts.DeleteObject(context.Background(), testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("DELETE beside a stalled GET took %v", d)
	}
	for part := range parts {
		ts.shardGone(t, "k", fi.DataDir, part+1)
	}
	r := waitResult(t, w, res)
	if !errors.Is(r.err, ErrReadQuorum) {
		t.Fatalf("GET: %d bytes, %v; want ErrReadQuorum", r.n, r.err)
	}
	if r.n != int64(inBudget) || !bytes.Equal(w.buf.Bytes(), whole[:r.n]) {
		t.Fatalf("GET delivered %d bytes (the %d parts opened ahead have %d), a prefix of the object: %v",
			r.n, covered, inBudget, bytes.Equal(w.buf.Bytes(), whole[:r.n]))
	}
}

// TestGetMultipartRangePreopen: range reads of a multipart object, across
// parts and within them, return the right bytes with the parts opened
// ahead (a range ending inside a part opens only that much of it), with a
// data shard failing (its pre-opened streams fail in turn: parity takes
// over) and with one hung.
func TestGetMultipartRangePreopen(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, func(c *Config) { shortTimeouts(c); c.MinPartSize = 1 })
	id := ts.newUpload(t, "k", PutOptions{})
	var parts [][]byte
	var infos []PartInfo
	for i := range 5 {
		parts = append(parts, randomBytes(uint64(i), 2*testBlockSize+777*(i+1)))
		infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
	}
	ts.complete(t, "k", id, completeList(infos...))
	whole := bytes.Join(parts, nil)
	data, _ := ts.shardHolders(t, "k")
	size := int64(len(whole))
	ranges := [][2]int64{{0, size - 1}, {1, size - 2}, {testBlockSize + 5, 3*testBlockSize + 9}, {size - 3*testBlockSize, size - 1}}
	for _, f := range []fault{faultNone, faultError, faultHang} {
		ts.drives[data[1]].set(f, opStream)
		for _, rg := range ranges {
			ts.mustGetRange(t, "k", whole, rg[0], rg[1])
		}
		ts.drives[data[1]].clear()
	}
}
