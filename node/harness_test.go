package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/internal/testports"
	"github.com/gridstore/gridstore/node/cluster"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

// Root credentials of the test nodes.
const (
	testUser     = "gridstore-test"
	testPassword = "gridstore-test-password"
)

// testNode is a node started by a test, stopped by its cleanup.
type testNode struct {
	*Node
	URL string // http://127.0.0.1:port, https with Config.CertsDir
}

// testLogger logs errors of the nodes into the test's output.
func testLogger(t testing.TB) *zap.Logger {
	if tt, ok := t.(*testing.T); ok {
		return zaptest.NewLogger(tt, zaptest.Level(zap.ErrorLevel))
	}
	return zap.NewNop()
}

// startLocal starts a single node on four folders of a temporary
// directory, in the local form (EC 2+2), and waits until it is up.
func startLocal(t testing.TB, tweak func(*Config)) *testNode {
	t.Helper()
	dir := t.TempDir()
	cfg := LocalConfig()
	cfg.Endpoints = []string{filepath.Join(dir, "data{1...4}")}
	cfg.RootUser, cfg.RootPassword = testUser, testPassword
	cfg.Logger = testLogger(t)
	if tweak != nil {
		tweak(&cfg)
	}
	n := startNode(t, cfg)
	waitReady(t, n)
	return n
}

// startNode starts a node and registers its shutdown.
func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	n, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return &testNode{Node: n, URL: n.Scheme() + "://" + n.Addr()}
}

// waitReady waits until n is up, failing the test if it fails first.
func waitReady(t testing.TB, n *testNode) {
	t.Helper()
	select {
	case <-n.Ready():
	case <-n.Failed():
		t.Fatalf("node %s failed: %v", n.Addr(), n.Err())
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s not up after 60 s", n.Addr())
	}
}

// clusterConfigs prepares the configurations of a cluster of nodes nodes
// with drives drives each on loopback, every node with the same explicit
// endpoint list and its listener already open, on a port whose gossip port
// was free too (internal/testports: a port the kernel picks would put the
// gossip port in the ephemeral range, where any connection may take it).
func clusterConfigs(t testing.TB, nodes, drives int) []Config {
	t.Helper()
	var endpoints []string
	base := t.TempDir()
	lns := listenWithGossipPorts(t, nodes)
	for i, ln := range lns {
		t.Cleanup(func() { _ = ln.Close() }) // for nodes a test never starts
		for j := range drives {
			endpoints = append(endpoints, fmt.Sprintf("http://%s%s", ln.Addr(), filepath.Join(base, fmt.Sprintf("n%d", i), fmt.Sprintf("d%d", j))))
		}
	}
	cfgs := make([]Config, nodes)
	for i := range nodes {
		cfg := LocalConfig()
		cfg.Endpoints = endpoints
		cfg.Listener, cfg.Address, cfg.Self = lns[i], lns[i].Addr().String(), lns[i].Addr().String()
		cfg.RootUser, cfg.RootPassword = testUser, testPassword
		cfg.Logger = testLogger(t).With(zap.Int("test_node", i))
		cfgs[i] = cfg
	}
	return cfgs
}

// listenWithGossipPorts listens on n loopback ports whose gossip ports
// (cluster.GossipPort) are free at that moment, none the other's.
func listenWithGossipPorts(t testing.TB, n int) []net.Listener {
	t.Helper()
	for tries := 0; ; tries++ {
		ports, err := testports.Pairs(n, cluster.GossipPort(testports.Low)-testports.Low)
		if err != nil {
			t.Fatal(err)
		}
		var lns []net.Listener
		for _, p := range ports {
			ln, lerr := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if lerr != nil {
				err = lerr
				break
			}
			lns = append(lns, ln)
		}
		if err == nil {
			return lns
		}
		for _, ln := range lns {
			_ = ln.Close()
		}
		if tries == 10 {
			t.Fatalf("listen on ports with free gossip ports: %v", err)
		}
	}
}

// startCluster starts a cluster (see clusterConfigs) and waits until every
// node is up.
func startCluster(t testing.TB, nodes, drives int, tweak func(i int, c *Config)) []*testNode {
	t.Helper()
	cfgs := clusterConfigs(t, nodes, drives)
	if tweak != nil {
		for i := range cfgs {
			tweak(i, &cfgs[i])
		}
	}
	return startConfigs(t, cfgs)
}

// startConfigs starts a node of each configuration, all before waiting
// for any (they find each other as they come up), and waits until every
// one is up.
func startConfigs(t testing.TB, cfgs []Config) []*testNode {
	t.Helper()
	out := make([]*testNode, len(cfgs))
	for i := range cfgs {
		out[i] = startNode(t, cfgs[i])
	}
	for _, n := range out {
		waitReady(t, n)
	}
	return out
}

// get fetches url without credentials and returns the status and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
