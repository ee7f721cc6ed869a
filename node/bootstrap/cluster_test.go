package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/endpoint"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

var testSecret = []byte("bootstrap-test-cluster-secret-0123456789")

// testCluster is n nodes of k drives each on loopback. Each node has a
// listener and an HTTP server for the whole test, so its address never
// changes; "starting" a node puts a new grid Manager and Service behind it,
// "stopping" it closes them and its drives (the server then answers 503, as
// a node that is down would not answer).
type testCluster struct {
	t     *testing.T
	addrs []string
	paths [][]string // paths[node][drive]
	urls  []string
	nodes []*testNode
}

type testNode struct {
	srv  *http.Server
	mu   sync.Mutex
	m    *grid.Manager
	svc  *Service
	res  *Result
	logs *observer.ObservedLogs
}

func (n *testNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	m := n.m
	n.mu.Unlock()
	if m == nil {
		http.Error(w, "node down", http.StatusServiceUnavailable)
		return
	}
	m.Handler().ServeHTTP(w, r)
}

func newTestCluster(t *testing.T, nodes, drives int) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	base := t.TempDir()
	for i := range nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &testNode{}
		n.srv = &http.Server{Handler: n, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = n.srv.Serve(ln) }()
		c.addrs = append(c.addrs, ln.Addr().String())
		c.nodes = append(c.nodes, n)
		var ps []string
		for j := range drives {
			p := filepath.Join(base, fmt.Sprintf("n%d", i), fmt.Sprintf("d%d", j))
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			c.urls = append(c.urls, "http://"+ln.Addr().String()+p)
		}
		c.paths = append(c.paths, ps)
	}
	t.Cleanup(func() {
		c.stopAll()
		for _, n := range c.nodes {
			_ = n.srv.Close()
		}
	})
	return c
}

// driveIndex is the global index of drive j of node i.
func (c *testCluster) driveIndex(i, j int) int { return i*len(c.paths[0]) + j }

// start starts node i (grid Manager and Service, not Run) with the
// cluster's endpoints and tweak applied to its configuration.
func (c *testCluster) start(i int, tweak func(*Config)) *Service {
	t := c.t
	t.Helper()
	c.stop(i) // a restart, if it runs
	core, logs := observer.New(zap.InfoLevel)
	cfg := LocalConfig()
	cfg.Logger = zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Core()))
	urls := c.urls
	if tweak != nil {
		// The tweak may replace the endpoints: parse them after it.
		cfg.Topology.Endpoints = nil
		tweak(&cfg)
		if cfg.Topology.Endpoints != nil {
			urls = nil
			for _, e := range cfg.Topology.Endpoints {
				urls = append(urls, e.URL)
			}
		}
	}
	topo, err := endpoint.Parse(urls)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Topology, err = topo.Resolve(c.addrs[i]); err != nil {
		t.Fatal(err)
	}
	gcfg := grid.LocalConfig()
	gcfg.Self, gcfg.Peers, gcfg.Secret = c.addrs[i], c.addrs, testSecret
	if cfg.Grid, err = grid.NewManager(gcfg); err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg)
	if err != nil {
		_ = cfg.Grid.Close()
		t.Fatal(err)
	}
	n := c.nodes[i]
	n.mu.Lock()
	n.m, n.svc, n.logs = cfg.Grid, svc, logs
	n.mu.Unlock()
	cfg.Grid.Start()
	return svc
}

// stop closes node i's drives and grid Manager.
func (c *testCluster) stop(i int) {
	n := c.nodes[i]
	n.mu.Lock()
	m, res := n.m, n.res
	n.m, n.svc, n.res = nil, nil, nil
	n.mu.Unlock()
	if res != nil {
		if err := res.Close(); err != nil {
			c.t.Error(err)
		}
	}
	if m != nil {
		_ = m.Close()
	}
}

func (c *testCluster) stopAll() {
	for i := range c.nodes {
		c.stop(i)
	}
}

type runResult struct {
	res *Result
	err error
}

// runNode runs node i's start-up, which must have been started, and keeps
// its result for stop.
func (c *testCluster) runNode(ctx context.Context, i int) runResult {
	n := c.nodes[i]
	n.mu.Lock()
	svc := n.svc
	n.mu.Unlock()
	res, err := svc.Run(ctx)
	n.mu.Lock()
	n.res = res
	n.mu.Unlock()
	return runResult{res, err}
}

// run starts the given nodes (all when nil) at the same time and runs
// their start-ups concurrently. tweak, if set, configures each node.
func (c *testCluster) run(ctx context.Context, nodes []int, tweak func(i int, cfg *Config)) map[int]runResult {
	c.t.Helper()
	if nodes == nil {
		nodes = c.allNodes()
	}
	for _, i := range nodes {
		var tw func(*Config)
		if tweak != nil {
			tw = func(cfg *Config) { tweak(i, cfg) }
		}
		c.start(i, tw)
	}
	var mu sync.Mutex
	out := map[int]runResult{}
	var wg sync.WaitGroup
	for _, i := range nodes {
		wg.Go(func() {
			r := c.runNode(ctx, i)
			mu.Lock()
			out[i] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func (c *testCluster) allNodes() []int {
	var all []int
	for i := range c.nodes {
		all = append(all, i)
	}
	return all
}

func testContext(t *testing.T) context.Context {
	// Bounds a broken test only; nothing asserts on durations.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkAgreed checks that the nodes started on one deployment, each with its
// drives open and formatted at their positions, and returns the ID.
func (c *testCluster) checkAgreed(out map[int]runResult, nodes ...int) string {
	t := c.t
	t.Helper()
	if nodes == nil {
		nodes = c.allNodes()
	}
	var ref *Result
	for _, i := range nodes {
		r := out[i]
		if r.err != nil {
			t.Fatalf("node %d: %v", i, r.err)
		}
		if ref == nil {
			ref = r.res
		}
		if r.res.DeploymentID != ref.DeploymentID || r.res.BitrotKey != ref.BitrotKey ||
			!slices.EqualFunc(r.res.Sets, ref.Sets, slices.Equal[[]string]) {
			t.Fatalf("node %d started on deployment %s, node %d on %s", i, r.res.DeploymentID, nodes[0], ref.DeploymentID)
		}
		if len(r.res.LocalDrives) != len(c.paths[i]) {
			t.Fatalf("node %d opened %d drives, has %d", i, len(r.res.LocalDrives), len(c.paths[i]))
		}
		for j, p := range c.paths[i] {
			d := c.driveIndex(i, j)
			drv := r.res.LocalDrives[d]
			if drv == nil {
				t.Fatalf("node %d: drive %d not open", i, d)
			}
			set, pos, _ := r.res.Layout.Position(d)
			f, err := local.LoadFormat(p)
			if err != nil {
				t.Fatal(err)
			}
			if f.DeploymentID != ref.DeploymentID || f.DriveID != ref.Sets[set][pos] || drv.Format().DriveID != f.DriveID {
				t.Fatalf("drive %d: record %+v, want deployment %s drive %s", d, f, ref.DeploymentID, ref.Sets[set][pos])
			}
		}
	}
	return ref.DeploymentID
}

// wipe empties a drive's directory, as a replaced disk would be.
func wipe(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(path, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// waitLog waits until node i logged a message whose fields mention every
// string of want.
func (c *testCluster) waitLog(ctx context.Context, i int, msg string, want ...string) {
	c.t.Helper()
	for !c.logged(i, msg, want...) {
		select {
		case <-ctx.Done():
			c.t.Fatalf("node %d never logged %q with %q", i, msg, want)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// logged reports whether node i logged msg with fields holding every
// string of want.
func (c *testCluster) logged(i int, msg string, want ...string) bool {
	c.nodes[i].mu.Lock()
	logs := c.nodes[i].logs
	c.nodes[i].mu.Unlock()
	for _, e := range logs.FilterMessage(msg).All() {
		text := fmt.Sprint(e.ContextMap())
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(text, w) }) {
			return true
		}
	}
	return false
}

func TestFreshClusterConcurrent(t *testing.T) {
	for iter := range 10 {
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			c := newTestCluster(t, 4, 2)
			c.checkAgreed(c.run(testContext(t), nil, nil))
		})
	}
}

// TestRestartReusesFormat: a restart adopts the deployment it finds and
// marks no drive healing that was not already. (A fresh start may mark
// some: the first node creates the deployment once a write quorum of empty
// drives answers, and a node that was not reachable then formats its own
// drives into it, healing, when it comes; the marks stay until a rebuild,
// which this test never runs.)
func TestRestartReusesFormat(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	first := c.run(ctx, nil, nil)
	id := c.checkAgreed(first)
	for range 2 {
		c.stopAll()
		out := c.run(ctx, nil, nil)
		if got := c.checkAgreed(out); got != id {
			t.Fatalf("restart found deployment %s, want %s", got, id)
		}
		for i, r := range out {
			for _, d := range r.res.Healing {
				if !slices.Contains(first[i].res.Healing, d) {
					t.Fatalf("node %d: drives %v healing after a plain restart (%v at the first start)", i, r.res.Healing, first[i].res.Healing)
				}
			}
		}
	}
}

func TestWipedDriveIsHealed(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	first := c.run(ctx, nil, nil)
	id := c.checkAgreed(first)
	// A node that finds the new deployment on a read quorum before the
	// first node formatted its drives takes them for replaced and marks
	// them healing; a node clears such marks while the deployment holds no
	// bucket (node.clearNeedlessHealing). Do the same, so that only the
	// wipe below can make a drive heal.
	for _, r := range first {
		for _, d := range r.res.Healing {
			if err := r.res.LocalDrives[d].SetHealing(false); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.stopAll()
	wipe(t, c.paths[2][1])
	out := c.run(ctx, nil, nil)
	if got := c.checkAgreed(out); got != id {
		t.Fatalf("deployment %s after the wipe, want %s", got, id)
	}
	d := c.driveIndex(2, 1)
	if !slices.Equal(out[2].res.Healing, []int{d}) {
		t.Fatalf("node 2 heals %v, want [%d]", out[2].res.Healing, d)
	}
	info, err := out[2].res.LocalDrives[d].DiskInfo(ctx)
	if err != nil || !info.Healing {
		t.Fatalf("drive %d: DiskInfo %+v, %v: want healing", d, info, err)
	}
	for _, i := range []int{0, 1, 3} {
		if len(out[i].res.Healing) != 0 {
			t.Fatalf("node %d heals %v", i, out[i].res.Healing)
		}
	}
}

func TestForeignDriveRefused(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	c.checkAgreed(c.run(ctx, nil, nil))
	c.stopAll()

	// Node 1's second drive is replaced by a drive of another deployment.
	path := c.paths[1][1]
	wipe(t, path)
	ids := []string{"11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002",
		"11111111-0000-4000-8000-000000000003", "11111111-0000-4000-8000-000000000004"}
	foreign := local.FormatSpec{DeploymentID: "22222222-0000-4000-8000-000000000000", DriveID: ids[0],
		Sets: [][]string{ids}, BitrotKey: make([]byte, 32)}
	if err := local.Format(path, foreign); err != nil {
		t.Fatal(err)
	}

	out := c.run(ctx, nil, nil)
	c.checkAgreed(out, 0, 2, 3)
	err := out[1].err
	if !errors.Is(err, ErrForeignDrive) {
		t.Fatalf("node 1: %v, want ErrForeignDrive", err)
	}
	var de *DriveError
	if !errors.As(err, &de) || de.Index != c.driveIndex(1, 1) || !strings.Contains(err.Error(), foreign.DeploymentID) {
		t.Fatalf("node 1: %v: want a DriveError for drive %d naming the foreign deployment", err, c.driveIndex(1, 1))
	}
	if f, err := local.LoadFormat(path); err != nil || f.DeploymentID != foreign.DeploymentID {
		t.Fatalf("the foreign drive was changed: %+v, %v", f, err)
	}
}

func TestSwappedDrivesRefused(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	c.checkAgreed(c.run(ctx, nil, nil))
	c.stopAll()

	// Swap node 3's mounts.
	a, b := c.paths[3][0], c.paths[3][1]
	tmp := a + ".swap"
	for _, mv := range [][2]string{{a, tmp}, {b, a}, {tmp, b}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
	out := c.run(ctx, nil, nil)
	c.checkAgreed(out, 0, 1, 2)
	err := out[3].err
	if !errors.Is(err, ErrDrivePosition) {
		t.Fatalf("node 3: %v, want ErrDrivePosition", err)
	}
	for _, d := range []int{c.driveIndex(3, 0), c.driveIndex(3, 1)} {
		if !strings.Contains(err.Error(), fmt.Sprintf("drive %d ", d)) {
			t.Errorf("error does not name drive %d: %v", d, err)
		}
	}
}

func TestTopologyMismatchRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(c *testCluster, cfg *Config)
		want  string
	}{
		{"parity", func(_ *testCluster, cfg *Config) { cfg.Layout.Parity = 2 }, "parity 4, ours 2"},
		{"endpoints", func(c *testCluster, cfg *Config) {
			urls := slices.Clone(c.urls)
			urls[2] = strings.Replace(urls[2], "/d0", "/dX", 1)
			for _, u := range urls {
				cfg.Topology.Endpoints = append(cfg.Topology.Endpoints, endpoint.Endpoint{URL: u})
			}
		}, "endpoint 2 is " + "http://"},
		{"version", func(_ *testCluster, cfg *Config) { cfg.AppVersion = "v2" }, `version "", ours "v2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, 4, 2)
			out := c.run(testContext(t), nil, func(i int, cfg *Config) {
				if i == 3 {
					tc.tweak(c, cfg)
				}
			})
			// The three that agree start; the odd one refuses, saying why.
			c.checkAgreed(out, 0, 1, 2)
			err := out[3].err
			if !errors.Is(err, ErrTopologyMismatch) {
				t.Fatalf("node 3: %v, want ErrTopologyMismatch", err)
			}
			// It refuses as soon as the mismatched nodes make a quorum
			// impossible: two of the three may be enough.
			named := slices.ContainsFunc(c.addrs[:3], func(a string) bool { return strings.Contains(err.Error(), a+" (") })
			if !strings.Contains(err.Error(), tc.want) || !named {
				t.Fatalf("node 3: %v: want it to name the other nodes and say %q", err, tc.want)
			}
			// The majority logged the odd node: the nodes it asked, or
			// those that asked it before they had their quorum (which
			// may have come first: node 0 alone need not have met it).
			ctx := testContext(t)
			for !slices.ContainsFunc([]int{0, 1, 2}, func(i int) bool {
				return c.logged(i, "bootstrap: a node runs with another topology; it is not counted", c.addrs[3]) ||
					c.logged(i, "bootstrap: a node with another topology asked for our drives' state; it refuses to count us, and says what differs", c.addrs[3])
			}) {
				select {
				case <-ctx.Done():
					t.Fatalf("none of nodes 0-2 logged node 3 (%s) as a node with another topology", c.addrs[3])
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
	}
}

func TestWaitsForQuorum(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	svc := c.start(0, nil)

	// Alone: it waits, says for whom, and gives up with ctx.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := svc.Run(wctx)
		done <- err
	}()
	c.waitLog(ctx, 0, "bootstrap: waiting", c.addrs[1], c.addrs[2], c.addrs[3], "1 of 4 reachable, 3 needed")
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), c.addrs[3]) {
		t.Fatalf("Run alone: %v, want context.Canceled and what it waited for", err)
	}
	for _, p := range c.paths[0] {
		if _, err := local.LoadFormat(p); !errors.Is(err, storage.ErrUnformatted) {
			t.Fatalf("%s formatted without a quorum: %v", p, err)
		}
	}

	// Run again, and bring the others up one at a time: it proceeds once
	// they are there.
	logs := c.nodes[0].logs
	before := logs.Len()
	first := make(chan runResult, 1)
	go func() { first <- c.runNode(ctx, 0) }()
	c.start(1, nil)
	c.waitLog(ctx, 0, "bootstrap: waiting", "2 of 4 reachable")
	out := c.run(ctx, []int{1, 2, 3}, nil) // node 1 restarts: nothing of it is open yet
	out[0] = <-first
	c.checkAgreed(out)

	// What the second Run waited for is logged once per change, not once
	// per poll.
	var last string
	for _, e := range logs.All()[before:] {
		if e.Message != "bootstrap: waiting" {
			continue
		}
		why := e.ContextMap()["for"].(string)
		if why == last {
			t.Fatalf("logged twice in a row: %s", why)
		}
		last = why
	}
}

func TestNonEmptyDriveRefused(t *testing.T) {
	t.Run("cluster", func(t *testing.T) {
		c := newTestCluster(t, 4, 2)
		junk := filepath.Join(c.paths[1][0], "photos", "cat.jpg")
		writeJunk(t, junk)
		out := c.run(testContext(t), nil, nil)
		if err := out[1].err; !errors.Is(err, ErrDriveNotEmpty) || !strings.Contains(err.Error(), "photos") {
			t.Fatalf("node 1: %v, want ErrDriveNotEmpty naming what it found", err)
		}
		checkJunk(t, c.paths[1][0], junk)
		// The others start: the non-empty drive is not counted as empty,
		// and seven empty drives make the write quorum of a new deployment.
		c.checkAgreed(out, 0, 2, 3)
	})
	t.Run("local", func(t *testing.T) {
		base := t.TempDir()
		mkdirs(t, base, 4)
		junk := filepath.Join(base, "d3", "notes", "todo.txt")
		writeJunk(t, junk)
		_, err := runLocal(t, base, 4)
		if !errors.Is(err, ErrDriveNotEmpty) {
			t.Fatalf("%v, want ErrDriveNotEmpty", err)
		}
		checkJunk(t, filepath.Join(base, "d3"), junk)
		// It refused before formatting anything.
		for _, d := range []string{"d1", "d2", "d4"} {
			if _, err := local.LoadFormat(filepath.Join(base, d)); !errors.Is(err, storage.ErrUnformatted) {
				t.Fatalf("%s: %v, want it left unformatted", d, err)
			}
		}
	})
}

func writeJunk(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("somebody's data"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkJunk checks that a drive still holds exactly the junk file.
func checkJunk(t *testing.T, drive, junk string) {
	t.Helper()
	if b, err := os.ReadFile(junk); err != nil || string(b) != "somebody's data" {
		t.Fatalf("junk changed: %q, %v", b, err)
	}
	var files []string
	_ = filepath.Walk(drive, func(p string, _ os.FileInfo, _ error) error {
		files = append(files, p)
		return nil
	})
	if len(files) != 3 { // drive, its directory, the file
		t.Fatalf("the non-empty drive changed: %v", files)
	}
}

// runLocal runs the start-up of a single node in the local form on
// base/d1..base/dn.
func runLocal(t *testing.T, base string, n int) (*Result, error) {
	t.Helper()
	topo, err := endpoint.Parse([]string{filepath.Join(base, fmt.Sprintf("d{1...%d}", n))})
	if err != nil {
		t.Fatal(err)
	}
	cfg := LocalConfig()
	cfg.Topology = topo
	cfg.Logger = zaptest.NewLogger(t)
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Run(testContext(t))
	if res != nil {
		t.Cleanup(func() { _ = res.Close() })
	}
	return res, err
}

func mkdirs(t *testing.T, base string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := os.MkdirAll(filepath.Join(base, fmt.Sprintf("d%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalForm(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, 4)
	res, err := runLocal(t, base, 4)
	if err != nil {
		t.Fatal(err)
	}
	id := res.DeploymentID
	if len(res.LocalDrives) != 4 || len(res.Healing) != 0 || len(res.Sets) != 1 || len(res.Sets[0]) != 4 {
		t.Fatalf("fresh local node: %+v", res)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: same deployment.
	if res, err = runLocal(t, base, 4); err != nil || res.DeploymentID != id || len(res.Healing) != 0 {
		t.Fatalf("restart: %+v, %v", res, err)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}

	// A wiped drive and a missing one: the first is formatted and healed,
	// the node starts without the second.
	wipe(t, filepath.Join(base, "d2"))
	if err := os.Rename(filepath.Join(base, "d4"), filepath.Join(base, "d4.away")); err != nil {
		t.Fatal(err)
	}
	res, err = runLocal(t, base, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeploymentID != id || !slices.Equal(res.Healing, []int{1}) || !slices.Equal(res.Offline, []int{3}) || len(res.LocalDrives) != 3 {
		t.Fatalf("after a wipe: deployment %s healing %v offline %v, %d drives open", res.DeploymentID, res.Healing, res.Offline, len(res.LocalDrives))
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}

	// The missing drive is back; the healing mark survives the restart.
	if err := os.Rename(filepath.Join(base, "d4.away"), filepath.Join(base, "d4")); err != nil {
		t.Fatal(err)
	}
	res, err = runLocal(t, base, 4)
	if err != nil || res.DeploymentID != id || len(res.LocalDrives) != 4 || !slices.Equal(res.Healing, []int{1}) {
		t.Fatalf("all back: %+v, %v", res, err)
	}
}
