package remote

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/drivetest"
	"github.com/gridstore/gridstore/storage/local"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(iobuf.CheckedExit))
}

var testSecret = []byte("remote-drive-tests-cluster-secret")

// testNode is one node: a grid Manager and an HTTP server on loopback that
// serves the grid at its path and, on the serving node, the read endpoint.
type testNode struct {
	m    *grid.Manager
	addr string
	srv  *http.Server
	once sync.Once
}

// Close stops the node: the grid, then the HTTP server and every connection.
func (n *testNode) Close() {
	n.once.Do(func() {
		_ = n.m.Close()
		_ = n.srv.Close()
	})
}

// testCluster is a node serving drives and a node using them.
type testCluster struct {
	t      testing.TB
	server *testNode
	client *testNode
	rs     *Server
	hc     *http.Client // the client node's range-read client
	opts   []Option     // of the cluster's Clients and Server
}

// newTestCluster starts the two nodes, the server one serving drives, and
// waits until they are connected.
func newTestCluster(t testing.TB, drives ...storage.Drive) *testCluster {
	t.Helper()
	return startTestCluster(t, nil, drives...)
}

// startTestCluster is newTestCluster, over TLS when pki is set: the grid
// dials wss, both HTTP servers ask for client certificates, and reads go
// over https with OverTLS.
func startTestCluster(t testing.TB, pki *testPKI, drives ...storage.Drive) *testCluster {
	t.Helper()
	return startTestClusterWith(t, pki, nil, drives...)
}

// startTestClusterWith is startTestCluster with adjust applied to both
// nodes' grid configuration.
func startTestClusterWith(t testing.TB, pki *testPKI, adjust func(*grid.Config), drives ...storage.Drive) *testCluster {
	t.Helper()
	var opts []Option
	if pki != nil {
		opts = append(opts, OverTLS())
	}
	var lns [2]net.Listener
	var addrs []string
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		addrs = append(addrs, ln.Addr().String())
	}
	c := &testCluster{t: t}
	start := func(i int, serve bool) *testNode {
		cfg := grid.LocalConfig()
		cfg.Self, cfg.Peers, cfg.Secret = addrs[i], addrs, testSecret
		if adjust != nil {
			adjust(&cfg)
		}
		ln := lns[i]
		if pki != nil {
			cfg.TLS = pki.client
			ln = tls.NewListener(ln, pki.server)
		}
		if tt, ok := t.(*testing.T); ok {
			cfg.Logger = zaptest.NewLogger(tt, zaptest.Level(zap.WarnLevel))
		}
		m, err := grid.NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(cfg.Path, m.Handler())
		if serve {
			rs, err := NewServer(m, drives, cfg.Logger, opts...)
			if err != nil {
				t.Fatal(err)
			}
			c.rs = rs
			mux.Handle(ReadPath, rs.HTTPHandler())
		}
		n := &testNode{m: m, addr: addrs[i], srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
		go func() { _ = n.srv.Serve(ln) }()
		t.Cleanup(n.Close)
		return n
	}
	c.server = start(0, true)
	c.client = start(1, false)
	c.server.m.Start()
	c.client.m.Start()
	c.opts = opts
	c.hc = DefaultHTTPClient
	if pki != nil {
		c.hc = NewHTTPClient(pki.client)
	}
	tr := c.hc.Transport.(*http.Transport).Clone()
	c.hc = &http.Client{Transport: tr, CheckRedirect: c.hc.CheckRedirect}
	t.Cleanup(tr.CloseIdleConnections) // after the nodes close: cleanups run last first
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.client.m.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.server.m.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// remote returns the client node's drive for endpoint.
func (c *testCluster) remote(endpoint string) *Client {
	c.t.Helper()
	rc, err := NewClient(c.client.m, c.server.addr, endpoint, c.hc, c.opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { rc.Close() })
	return rc
}

// newLocalDrive formats a drive in a temporary directory and opens it with
// the conformance suite's bitrot key; it is closed when t ends.
func newLocalDrive(t testing.TB) *local.Drive {
	t.Helper()
	dir := t.TempDir()
	id := uuid.NewString()
	spec := local.FormatSpec{DeploymentID: uuid.NewString(), DriveID: id, Sets: [][]string{{id}}, BitrotKey: drivetest.BitrotKey}
	if err := local.Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	d, err := local.Open(dir, local.ExpectedFor(spec, 0, 0), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// serve adds d to the serving node and returns its remote client; the drive
// stops being served when t ends.
func (c *testCluster) serve(t testing.TB, d storage.Drive) *Client {
	t.Helper()
	if err := c.rs.AddDrive(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.rs.RemoveDrive(d.Endpoint()) })
	rc, err := NewClient(c.client.m, c.server.addr, d.Endpoint(), c.hc, c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}

// TestConformance runs the drive conformance suite against remote drives:
// a real local drive on one node, used from another over the grid and the
// read endpoint.
func TestConformance(t *testing.T) {
	c := newTestCluster(t)
	drivetest.Run(t, func(t *testing.T) storage.Drive {
		return c.serve(t, newLocalDrive(t))
	})
}
