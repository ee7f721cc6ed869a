package node

import (
	"bytes"
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
