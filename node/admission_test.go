package node

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Beyond its budget of request memory a node refuses at once, with
// SlowDown and Retry-After, instead of queueing: the requests in flight
// finish, and once they have, the next one is served.
func TestOverloadIsRefusedFast(t *testing.T) {
	var budget int64
	n := startLocal(t, func(c *Config) {
		// Room for two streamed PUTs of the 4-drive set: 4 × 2 MiB ring
		// buffers and two blocks with parity each, about 12 MiB.
		a := newAdmission(1, 1, 4, 2, 0)
		budget = 2*a.putCost + a.putCost/2
		c.RequestMemory = budget
	})
	c := plainMinio(t, n)
	ctx := testCtx(t)
	if err := c.MakeBucket(ctx, "load", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two uploads that hold their reservation until released.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.PutObject(ctx, "load", "held", &stallingBody{data: payload(uint64(i), 1<<20), stop: stop}, 4<<20,
				minio.PutObjectOptions{DisableMultipart: true})
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// Wait until both are admitted.
	rn := n.up.Load()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if reqs, _ := rn.admit.inFlight(); reqs == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the two held uploads were not admitted")
		}
	}
	// A third streamed PUT does not fit: refused at once.
	body := payload(9, 2<<20)
	req, err := http.NewRequest(http.MethodPut, n.URL+"/load/third", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req) // unsigned: admission comes before authentication
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a PUT beyond the budget: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the refusal took %v; it must not queue", took)
	}
	// Small requests still fit beside them.
	if _, err := c.PutObject(ctx, "load", "small", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("a small PUT beside the held uploads: %v", err)
	}
	if _, reserved := rn.admit.inFlight(); reserved > budget {
		t.Fatalf("%d bytes reserved, budget %d", reserved, budget)
	}
}

// A streamed PUT of known size reserves rings sized as storage/remote sizes
// them, never more than the worst case, and the worst case when the size is
// unknown or large.
func TestStreamedPutCost(t *testing.T) {
	a := newAdmission(1, 1, 8, 4, 0) // EC 4+4, 1 MiB blocks
	blocks := a.putCost - 8*2<<20
	for _, c := range []struct {
		size int64
		want int64
	}{
		{-1, a.putCost},
		{64 << 20, a.putCost},
		{200 << 10, 8*64<<10 + blocks}, // 50 KiB shards: the smallest rings
		{1 << 20, 8*512<<10 + blocks},  // 256 KiB and a hash: 512 KiB rings
		{8 << 20, 8*2<<20 + blocks},    // 2 MiB shards and their hashes: the largest
		{6 << 20, 8*2<<20 + blocks},    // 1.5 MiB: rounded up
		{2<<20 - 1, 8*1<<20 + blocks},  // just under 512 KiB shards and hashes
	} {
		if got := a.streamedPutCost(c.size); got != c.want {
			t.Errorf("streamed PUT of %d bytes reserves %d, want %d", c.size, got, c.want)
		}
	}
}

// A GET reserves its read buffers once it knows its object: a small
// object's GET fits beside an upload that fills the budget, a large
// object's is refused with SlowDown before anything is sent.
func TestGetReservesByObjectSize(t *testing.T) {
	var a *admission
	n := startLocal(t, func(c *Config) {
		a = newAdmission(1, 1, 4, 2, 0)
		c.RequestMemory = a.putCost + a.getCost/2 // one streamed PUT, then half a large GET
	})
	c := plainMinio(t, n)
	ctx := testCtx(t)
	if err := c.MakeBucket(ctx, "load", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	small, large := payload(1, 1<<10), payload(2, 2<<20)
	for key, body := range map[string][]byte{"small": small, "large": large} {
		if _, err := c.PutObject(ctx, "load", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = c.PutObject(ctx, "load", "held", &stallingBody{data: payload(3, 1<<20), stop: stop}, 4<<20,
			minio.PutObjectOptions{DisableMultipart: true})
	})
	defer func() { close(stop); wg.Wait() }()
	rn := n.up.Load()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if reqs, _ := rn.admit.inFlight(); reqs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held upload was not admitted")
		}
	}
	get := func(key string) ([]byte, error) {
		obj, err := c.GetObject(ctx, "load", key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		defer obj.Close()
		return io.ReadAll(obj)
	}
	if got, err := get("small"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("a small GET beside the held upload: %v", err)
	}
	_, err := get("large")
	if r := minio.ToErrorResponse(err); r.Code != "SlowDown" || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a large GET beyond the budget: %v; want 503 SlowDown", err)
	}
	if reqs, reserved := rn.admit.inFlight(); reqs != 1 || reserved != a.putCost {
		t.Fatalf("after the GETs: %d requests hold %d bytes; want the held upload alone, %d", reqs, reserved, a.putCost)
	}
}
