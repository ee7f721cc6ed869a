package node

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/faultdrive"
	"github.com/gridstore/gridstore/storage/health"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// plainMinio is a minio-go client on its own transport: nothing records
// or buffers the bodies, so a stall reaches the server as it happens.
func plainMinio(t *testing.T, n *testNode) *minio.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c, err := minio.New(n.Addr(), &minio.Options{
		Creds: credentials.NewStaticV4(testUser, testPassword, ""), Region: clientRegion,
		Transport: tr, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stallingBody gives its first bytes, then nothing until the test ends.
type stallingBody struct {
	data []byte
	stop <-chan struct{}
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		<-s.stop
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// An upload that stops sending is cut after the stall timeout: the client
// gets an error, nothing is stored, and no shard file is left behind.
func TestStalledUploadIsDropped(t *testing.T) {
	var dir string
	n := startLocal(t, func(c *Config) {
		c.StallTimeout = 500 * time.Millisecond
		dir = filepath.Dir(c.Endpoints[0])
	})
	c := plainMinio(t, n)
	ctx := testCtx(t)
	if err := c.MakeBucket(ctx, "stall", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	_, err := c.PutObject(ctx, "stall", "upload", &stallingBody{data: payload(1, 3<<20), stop: stop}, 8<<20,
		minio.PutObjectOptions{DisableMultipart: true})
	if err == nil {
		t.Fatal("a stalled upload succeeded")
	}
	if code := minioCode(err); code != "RequestTimeout" && code != "" {
		// "" is a connection the server closed before the client read the
		// answer; an S3 code must say timeout, not InternalError.
		t.Errorf("a stalled upload answered %s, want RequestTimeout", code)
	}
	t.Logf("stalled upload ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if _, err := c.StatObject(ctx, "stall", "upload", minio.StatObjectOptions{}); minioCode(err) != "NoSuchKey" {
		t.Fatalf("stat after a stalled upload: %v", err)
	}
	// The PUT's shard files go once the request is dropped.
	deadline := time.Now().Add(10 * time.Second)
	for d := 1; d <= 4; d++ {
		tmp := filepath.Join(dir, "data"+string(rune('0'+d)), ".gridstore.sys", "tmp")
		for {
			entries, err := os.ReadDir(tmp)
			if (err == nil && len(entries) == 0) || os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %d entries after a dropped upload (%v)", tmp, len(entries), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// A GET whose client stops reading ends after the stall timeout, so a
// writer of the same key waits for it only that long. Once with a short
// timeout, once with the defaults (stall 5 s, lock wait 30 s).
func TestStalledDownloadReleasesTheKey(t *testing.T) {
	for _, timeout := range []time.Duration{500 * time.Millisecond, 0} {
		t.Run(timeout.String(), func(t *testing.T) {
			if timeout == 0 && testing.Short() {
				t.Skip("the default stall timeout takes 5 s")
			}
			stalledDownload(t, timeout)
		})
	}
}

func stalledDownload(t *testing.T, timeout time.Duration) {
	n := startLocal(t, func(c *Config) {
		c.StallTimeout = timeout
		if timeout == 0 {
			c.Timing.Set.LockTimeout = object.DefaultLockTimeout
		}
	})
	c := plainMinio(t, n)
	ctx := testCtx(t)
	if err := c.MakeBucket(ctx, "stall", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	big := payload(2, 48<<20) // far more than socket buffers hold
	if _, err := c.PutObject(ctx, "stall", "big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, "stall", "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := io.ReadFull(obj, make([]byte, 1)); err != nil { // starts the GET, then reads no more
		t.Fatal(err)
	}
	start := time.Now()
	small := payload(3, 1<<10)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.PutObject(wctx, "stall", "big", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("a PUT behind a stalled GET of the same key: %v", err)
	}
	t.Logf("a PUT behind a stalled GET took %v", time.Since(start).Round(time.Millisecond))
}

// A PUT whose body has arrived whole but whose commit takes longer than
// the stall timeout (slow drives, a loaded node) is served to the end: the
// stall deadline is for a client that stops sending, and must not fire in
// the server's background read of the connection once the body is done.
func TestSlowCommitIsNotAStall(t *testing.T) {
	for _, tc := range []struct {
		name         string
		stall, delay time.Duration
		health       health.Config
		defaults     bool // the object layer's default timings
	}{
		{name: "short", stall: 300 * time.Millisecond, delay: time.Second},
		// The default stall timeout; drive calls may take longer than it.
		{name: "default", delay: DefaultStallTimeout + time.Second, health: health.Config{CallTimeout: 3 * DefaultStallTimeout}, defaults: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var drives []*faultdrive.Drive
			var mu sync.Mutex
			n := startLocal(t, func(c *Config) {
				c.StallTimeout = tc.stall
				c.Timing.DriveHealth = tc.health
				if tc.defaults {
					c.Timing.Set = object.Config{}
				}
				c.WrapLocalDrive = func(_ int, d storage.Drive) storage.Drive {
					fd := faultdrive.New(d)
					mu.Lock()
					drives = append(drives, fd)
					mu.Unlock()
					return fd
				}
			})
			c := plainMinio(t, n)
			ctx := testCtx(t)
			if err := c.MakeBucket(ctx, "slow", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			for _, fd := range drives {
				fd.Set(faultdrive.Delay(tc.delay), faultdrive.OpRenameData)
			}
			mu.Unlock()
			body := payload(1, 2<<20)
			start := time.Now()
			if _, err := c.PutObject(ctx, "slow", "k", bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{DisableMultipart: true}); err != nil {
				t.Fatalf("a PUT whose commit took %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
			t.Logf("PUT with a %v commit took %v", tc.delay, time.Since(start).Round(time.Millisecond))
		})
	}
}
