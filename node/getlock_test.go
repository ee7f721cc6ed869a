package node

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/minio/minio-go/v7"
)

// A client that downloads a large object slowly but steadily (never long
// enough idle for the stall timeout) does not hold up a writer of the same
// key: the PUT succeeds while the download is still far from its end (more
// than socket buffers hold is left, so the server was still sending), and
// the slow client still gets every byte of the version it started reading.
// Default stall and lock timeouts. minio-go uploads 32 MiB in two parts of
// 16 MiB: the second part's shards are read from streams opened before the
// GET let go of its lock, since the PUT's cleanup removes their files.
func TestSlowDownloadDoesNotBlockWriters(t *testing.T) {
	n := startLocal(t, func(c *Config) { c.Timing.Set.LockTimeout = object.DefaultLockTimeout })
	reader, writer := plainMinio(t, n), plainMinio(t, n)
	ctx := testCtx(t)
	if err := writer.MakeBucket(ctx, "slow", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	old := payload(4, 32<<20)
	if _, err := writer.PutObject(ctx, "slow", "big", bytes.NewReader(old), int64(len(old)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := reader.GetObject(ctx, "slow", "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()

	// The slow client: 32 KiB every 10 ms until the PUT is done, then as
	// fast as it can.
	putDone := make(chan struct{})
	type result struct {
		got       []byte
		atPutDone int
		err       error
	}
	res := make(chan result, 1)
	go func() {
		var got bytes.Buffer
		atPutDone := -1
		buf := make([]byte, 32<<10)
		for {
			select {
			case <-putDone:
				if atPutDone < 0 {
					atPutDone = got.Len()
				}
			default:
				time.Sleep(10 * time.Millisecond)
			}
			k, err := obj.Read(buf)
			got.Write(buf[:k])
			if err == io.EOF {
				res <- result{got.Bytes(), atPutDone, nil}
				return
			}
			if err != nil {
				res <- result{got.Bytes(), atPutDone, err}
				return
			}
		}
	}()
	// Let the download get going before the writer comes.
	time.Sleep(300 * time.Millisecond)

	next := payload(5, 8<<20)
	start := time.Now()
	_, err = writer.PutObject(ctx, "slow", "big", bytes.NewReader(next), int64(len(next)), minio.PutObjectOptions{})
	took := time.Since(start)
	close(putDone)
	if err != nil {
		t.Fatalf("a PUT beside a slow download of the same key: %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("a PUT beside a slow download took %v", took.Round(time.Millisecond))
	}
	t.Logf("a PUT beside a slow download took %v", took.Round(time.Millisecond))

	var r result
	select {
	case r = <-res:
	case <-time.After(50 * time.Second):
		t.Fatal("the slow download never ended")
	}
	if r.err != nil || !bytes.Equal(r.got, old) {
		t.Fatalf("slow download: %d of %d bytes, %v; exact old bytes: %v", len(r.got), len(old), r.err, bytes.Equal(r.got, old))
	}
	if r.atPutDone < 0 || r.atPutDone > len(old)/2 {
		t.Fatalf("the PUT ended when the slow client had %d of %d bytes: it waited for the download", r.atPutDone, len(old))
	}
	got, err := reader.GetObject(ctx, "slow", "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if b, err := io.ReadAll(got); err != nil || !bytes.Equal(b, next) {
		t.Fatalf("GET after the PUT: %d bytes, %v; the new version: %v", len(b), err, bytes.Equal(b, next))
	}
}
