package node

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterOfFourNodes: four processes' worth of nodes on loopback agree on
// one deployment, serve read-after-write from any node, report their state
// through the admin API, and /health/cluster follows the write quorum as
// nodes stop.
func TestClusterOfFourNodes(t *testing.T) {
	nodes := startCluster(t, 4, 2, nil)

	if code, body := s3Do(t, nodes[0], "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 300_000) // 2.1 MB: several blocks, shards on every node
	if code, body := s3Do(t, nodes[1], "PUT", "/bucket/obj", data); code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	for i, n := range nodes {
		code, got := s3Do(t, n, "GET", "/bucket/obj", nil)
		if code != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("GET from node %d: %d, %d bytes", i, code, len(got))
		}
	}

	c := admin.Client{Endpoint: nodes[0].URL, AccessKey: testUser, SecretKey: testPassword}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Nodes) != 4 || len(info.Drives) != 8 || len(info.Grid) != 3 {
		t.Fatalf("info: %d nodes, %d drives, %d grid connections; want 4, 8, 3", len(info.Nodes), len(info.Drives), len(info.Grid))
	}
	for _, d := range info.Drives {
		if d.State != "online" {
			t.Fatalf("drive %+v not online", d)
		}
	}
	eventually(t, 15*time.Second, "gossip does not see every node alive", func() bool {
		info, err := c.Info(t.Context())
		if err != nil {
			return false
		}
		for _, nd := range info.Nodes {
			if nd.Gossip != "alive" {
				return false
			}
		}
		return true
	})

	// 8 drives in one set of parity 4: writes need 5 drives. One node
	// down leaves 6, two leave 4.
	clusterOK := func() bool { code, _ := get(t, nodes[0].URL+PathCluster); return code == http.StatusOK }
	if !clusterOK() {
		t.Fatal("cluster not healthy with every node up")
	}
	_ = nodes[3].Shutdown(context.Background())
	time.Sleep(1500 * time.Millisecond) // past the health probe's reuse window
	if !clusterOK() {
		t.Fatal("cluster unhealthy with one node of four down (6 of 8 drives, write quorum 5)")
	}
	if code, got := s3Do(t, nodes[2], "GET", "/bucket/obj", nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET with a node down: %d", code)
	}
	_ = nodes[2].Shutdown(context.Background())
	eventually(t, 15*time.Second, "/health/cluster still 200 with two nodes of four down", func() bool { return !clusterOK() })
	code, body := s3Do(t, nodes[0], "PUT", "/bucket/other", []byte("x"))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("PUT without write quorum: %d %s, want 503", code, body)
	}
	info, err = c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	down := 0
	for _, nd := range info.Nodes {
		if nd.State == "down" {
			down++
		}
	}
	if down != 2 {
		t.Fatalf("admin info shows %d nodes down, want 2: %+v", down, info.Nodes)
	}
	// Gossip knew it too: the two nodes left the pool on shutdown.
	for _, nd := range info.Nodes[2:] {
		if nd.Gossip != "dead" {
			t.Errorf("gossip view of stopped node %s: %q, want dead", nd.Address, nd.Gossip)
		}
	}
}

// TestShutdownDrainsInFlight: SIGTERM's Shutdown stops taking connections
// but lets a PUT in progress finish and be acknowledged; the object is there
// when the node comes back on the same drives.
func TestShutdownDrainsInFlight(t *testing.T) {
	dir := t.TempDir()
	endpoints := []string{filepath.Join(dir, "data{1...4}")}
	n := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	if code, body := s3Do(t, n, "PUT", "/bucket", nil); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}

	// 40 MiB, of which 30 are sent before Shutdown: more than loopback's
	// socket buffers hold, so the server is surely reading the request
	// (not holding it unaccepted in the listen backlog, where closing the
	// listener would reset it) when Shutdown begins.
	data := bytes.Repeat([]byte("drain..."), 5<<20)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PUT", n.URL+"/bucket/slow", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	if err := signer.Sign(req, sigv4.UnsignedPayload, time.Now()); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	// A fresh connection: one taken from the keep-alive pool is idle on
	// the server until it has read the new request's headers, and
	// Shutdown closes idle connections at once (net/http's rule: clients
	// retry what they can). A new one is left to finish its request.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := fresh.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	half := len(data) * 3 / 4
	if _, err := pw.Write(data[:half]); err != nil {
		t.Fatal(err)
	}

	shut := make(chan error, 1)
	go func() { shut <- n.Shutdown(context.Background()) }()
	eventually(t, 10*time.Second, "the listener still accepts after Shutdown began", func() bool {
		c, err := net.DialTimeout("tcp", n.Addr(), 200*time.Millisecond)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	if _, err := pw.Write(data[half:]); err != nil {
		r := <-done
		t.Fatalf("the PUT stopped taking its body during shutdown (%v): answered %d %v", err, r.code, r.err)
	}
	_ = pw.Close()
	if r := <-done; r.err != nil || r.code != http.StatusOK {
		t.Fatalf("PUT in flight during shutdown: %d %v", r.code, r.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	again := startLocal(t, func(c *Config) { c.Endpoints = endpoints })
	code, got := s3Do(t, again, "GET", "/bucket/slow", nil)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("after restart: %d, %d bytes", code, len(got))
	}
}

// TestStartWaitsForQuorum: nodes started before a quorum of their peers
// wait, serving liveness but not S3, and come up once enough peers do.
func TestStartWaitsForQuorum(t *testing.T) {
	cfgs := clusterConfigs(t, 4, 1)
	first := []*testNode{startNode(t, cfgs[0]), startNode(t, cfgs[1])}
	time.Sleep(time.Second) // many polling rounds of LocalConfig's bootstrap
	for i, n := range first {
		select {
		case <-n.Ready():
			t.Fatalf("node %d came up with 2 of 4 nodes", i)
		case <-n.Failed():
			t.Fatalf("node %d gave up waiting: %v", i, n.Err())
		default:
		}
		if code, _ := get(t, n.URL+PathLive); code != http.StatusOK {
			t.Fatalf("node %d not live while waiting: %d", i, code)
		}
		if code, _ := get(t, n.URL+PathReady); code != http.StatusServiceUnavailable {
			t.Fatalf("node %d ready while waiting: %d", i, code)
		}
		if code, body := s3Do(t, n, "GET", "/", nil); code != http.StatusServiceUnavailable {
			t.Fatalf("node %d serves S3 while waiting: %d %s", i, code, body)
		}
	}
	rest := []*testNode{startNode(t, cfgs[2]), startNode(t, cfgs[3])}
	for _, n := range append(first, rest...) {
		waitReady(t, n)
	}
	if code, body := s3Do(t, first[0], "GET", "/", nil); code != http.StatusOK {
		t.Fatalf("ListBuckets once up: %d %s", code, body)
	}
}
