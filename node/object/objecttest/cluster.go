// Package objecttest runs a gridstore cluster inside one test process, for
// tests of the object layer and of what is built on it: N nodes of M drives
// each, every node a real grid.Manager and HTTP server on loopback serving
// the grid, its drives to the others (storage/remote: grid handlers and the
// range-read endpoint at remote.ReadPath) and a namespace lock server
// (nslock), and holding an object.Layer over every drive of the deployment:
// its own through storage/local, the others' through remote clients.
//
//	c := objecttest.New(t, objecttest.Options{Nodes: 4, DrivesPerNode: 2})
//	l := c.Nodes[0].Layer()
//	_ = l.MakeBucket(ctx, "bucket")
//	c.Nodes[3].Stop()  // as a crash: sockets closed, drives released
//	c.Nodes[3].Start() // same address, same drives
//	c.WaitConnected()
//	c.Nodes[2].Pause() // bytes stop flowing on its connections; nothing is closed
//	c.Nodes[2].Resume()
//	c.Nodes[1].SetDriveOffline(0, true) // a failed disk
//
// The drives are formatted directly with storage/local, with one deployment
// ID, set layout and bitrot key, as start-up format agreement would leave
// them. Everything a cluster starts is stopped by t.Cleanup, so tests can
// check for leaked goroutines. Package ondisk (below this one) shows what
// the drives hold on disk, from Cluster.DriveDirs.
package objecttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/nslock"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
	"github.com/gridstore/gridstore/storage/remote"
)

// Options describe a test cluster. Zero fields get the defaults below.
type Options struct {
	// Nodes and DrivesPerNode: 4 and 2 when zero.
	Nodes, DrivesPerNode int
	// Layout chooses the erasure sets (layout.New): set size and parity.
	Layout layout.Config
	// Set is the configuration of every set; Drives, BitrotKey and Locker
	// are the cluster's. Zero timeouts get short test values
	// (DriveTimeout and ShardTimeout 3 s, ProbeTimeout 1 s, StragglerWait
	// 10 ms, LockTimeout 4 s) and a zero BlockSize 256 KiB, so that
	// multi-block objects are cheap.
	Set object.Config
	// ListStallTimeout is the layers' (3 s when zero).
	ListStallTimeout time.Duration
	// Lock is the nslock timing of every node; zero means nslock.LocalConfig().
	Lock nslock.Config
	// Grid adjusts a node's grid configuration (grid.LocalConfig() with the
	// cluster's addresses and secret) before its Manager is made.
	Grid func(node int, c *grid.Config)
	// Heal, if set, gives the heal queue of a node's layer.
	Heal func(node int) object.HealQueue
	// Liveness, if set, is node's view of which peers (grid addresses) are
	// alive, given to its remote drives (remote.WithLiveness) and its
	// namespace locker (nslock.WithLiveness) as
	// node/cluster's would be.
	Liveness func(node int, peer string) bool
}

// BitrotKey is the cluster's bitrot key.
var BitrotKey = []byte("gridstore objecttest bitrot key!")

var secret = []byte("gridstore objecttest cluster secret")

// Cluster is a running test cluster.
type Cluster struct {
	t            testing.TB
	opts         Options
	log          *zap.Logger
	Layout       *layout.Layout
	DeploymentID layout.DeploymentID
	// Nodes in endpoint order; node i holds drives i*DrivesPerNode and on.
	Nodes []*Node
	addrs []string
	dirs  []string           // per drive index
	specs []local.FormatSpec // per drive index
}

// New formats the drives, starts every node and waits until all are
// connected. Everything stops when t ends.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 4
	}
	if opts.DrivesPerNode == 0 {
		opts.DrivesPerNode = 2
	}
	if opts.Lock == (nslock.Config{}) {
		opts.Lock = nslock.LocalConfig()
	}
	if opts.ListStallTimeout == 0 {
		opts.ListStallTimeout = 3 * time.Second
	}
	s := &opts.Set
	setDefault(&s.DriveTimeout, 3*time.Second)
	setDefault(&s.ShardTimeout, 3*time.Second)
	setDefault(&s.ProbeTimeout, time.Second)
	setDefault(&s.StragglerWait, 10*time.Millisecond)
	setDefault(&s.LockTimeout, 4*time.Second)
	if s.BlockSize == 0 {
		s.BlockSize = 256 << 10
	}

	c := &Cluster{t: t, opts: opts, log: zap.NewNop()}
	if tt, ok := t.(*testing.T); ok {
		c.log = zaptest.NewLogger(tt, zaptest.Level(zap.ErrorLevel))
	}
	lns := make([]net.Listener, opts.Nodes)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		c.addrs = append(c.addrs, ln.Addr().String())
	}
	driveNodes := make([]string, 0, opts.Nodes*opts.DrivesPerNode)
	for i := range opts.Nodes {
		for range opts.DrivesPerNode {
			driveNodes = append(driveNodes, c.addrs[i])
		}
	}
	lo, err := layout.New(driveNodes, opts.Layout)
	if err != nil {
		t.Fatal(err)
	}
	c.Layout = lo
	depID := uuid.NewString()
	if c.DeploymentID, err = layout.ParseDeploymentID(depID); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(driveNodes))
	for d := range ids {
		ids[d] = uuid.NewString()
	}
	sets, err := lo.FormatSets(ids)
	if err != nil {
		t.Fatal(err)
	}
	for d := range driveNodes {
		dir := t.TempDir()
		spec := local.FormatSpec{DeploymentID: depID, DriveID: ids[d], Sets: sets, BitrotKey: BitrotKey}
		if err := local.Format(dir, spec); err != nil {
			t.Fatal(err)
		}
		c.dirs = append(c.dirs, dir)
		c.specs = append(c.specs, spec)
	}
	for i := range opts.Nodes {
		n := &Node{c: c, Index: i, Addr: c.addrs[i], offline: make([]atomic.Bool, opts.DrivesPerNode), gate: &gate{}}
		c.Nodes = append(c.Nodes, n)
		t.Cleanup(n.Stop)
	}
	for i, n := range c.Nodes {
		if err := n.start(lns[i]); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitConnected()
	return c
}

func setDefault(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

// endpoint is the name drive index d is served under.
func (c *Cluster) endpoint(d int) string {
	return fmt.Sprintf("http://%s/drive%d", c.addrs[d/c.opts.DrivesPerNode], d%c.opts.DrivesPerNode+1)
}

// DriveDir returns the directory of drive index d (node d/DrivesPerNode,
// its local drive d%DrivesPerNode; set and position by Layout.Position),
// for tests that damage what a drive holds on disk.
func (c *Cluster) DriveDir(d int) string { return c.dirs[d] }

// DriveDirs returns the directories of every drive, by drive index (for
// LeftoversUnder).
func (c *Cluster) DriveDirs() []string { return slices.Clone(c.dirs) }

// WaitConnected waits until every running node is connected to every other
// running node (at most 20 s, then the test fails).
func (c *Cluster) WaitConnected() {
	c.t.Helper()
	var running []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			running = append(running, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range running {
		var peers []string
		for _, p := range running {
			if p != n {
				peers = append(peers, p.Addr)
			}
		}
		if len(peers) == 0 {
			continue
		}
		if err := n.Manager().WaitConnected(ctx, peers...); err != nil {
			c.t.Fatalf("node %d: waiting for %v: %v", n.Index, peers, err)
		}
	}
}

// Node is one node of a Cluster.
type Node struct {
	c     *Cluster
	Index int
	Addr  string

	offline []atomic.Bool // per local drive, kept across restarts
	gate    *gate

	mu      sync.Mutex
	running bool
	dead    atomic.Bool // refuse dials and accepts: the node is going
	ln      net.Listener
	m       *grid.Manager
	hs      *http.Server
	tr      *http.Transport
	locker  *nslock.Locker
	layer   *object.Layer
	drives  []*local.Drive
	clients []*remote.Client
	conns   map[*freezeConn]struct{}
}

// Layer returns the node's object layer (a new one after every Start).
func (n *Node) Layer() *object.Layer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.layer
}

// Manager returns the node's grid Manager.
func (n *Node) Manager() *grid.Manager {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m
}

// Locker returns the node's namespace locker.
func (n *Node) Locker() *nslock.Locker {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.locker
}

// Running reports whether the node is started.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.running
}

// Start restarts a stopped node on its address and drives. It does not
// wait for the peers; see Cluster.WaitConnected.
func (n *Node) Start() {
	n.c.t.Helper()
	var ln net.Listener
	var err error
	for range 100 { // the port was just released; it may take a moment
		if ln, err = net.Listen("tcp", n.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		n.c.t.Fatalf("node %d: listen again on %s: %v", n.Index, n.Addr, err)
	}
	if err := n.start(ln); err != nil {
		n.c.t.Fatalf("node %d: %v", n.Index, err)
	}
}

func (n *Node) start(ln net.Listener) (err error) {
	c := n.c
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		_ = ln.Close()
		return errors.New("already running")
	}
	n.dead.Store(false)
	n.gate.mu.Lock()
	n.conns = map[*freezeConn]struct{}{}
	n.gate.mu.Unlock()
	n.ln = &listener{Listener: ln, n: n}
	defer func() {
		if err != nil {
			n.stopLocked()
		}
	}()
	n.running = true // so that a failure half way is undone by stopLocked

	// The node's own drives.
	var served []storage.Drive
	n.drives = nil
	for j := range c.opts.DrivesPerNode {
		d := n.Index*c.opts.DrivesPerNode + j
		set, pos, _ := c.Layout.Position(d)
		ld, err := local.Open(c.dirs[d], local.ExpectedFor(c.specs[d], set, pos), local.Options{Endpoint: c.endpoint(d), BufferedIO: true})
		if err != nil {
			return fmt.Errorf("open drive %d: %w", d, err)
		}
		n.drives = append(n.drives, ld)
		served = append(served, &switchDrive{Drive: ld, off: &n.offline[j]})
	}

	lockSrv, err := nslock.NewServer(c.opts.Lock)
	if err != nil {
		return err
	}
	gc := grid.LocalConfig()
	gc.Self, gc.Peers, gc.Secret, gc.Logger = n.Addr, c.addrs, secret, c.log
	gc.OnStateChange = lockSrv.OnStateChange
	gc.NetDial = n.dial
	if c.opts.Grid != nil {
		c.opts.Grid(n.Index, &gc)
	}
	m, err := grid.NewManager(gc)
	if err != nil {
		return err
	}
	n.m = m
	if err := lockSrv.Register(m); err != nil {
		return err
	}
	rs, err := remote.NewServer(m, served, c.log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(gc.Path, m.Handler())
	mux.Handle(remote.ReadPath, rs.HTTPHandler())
	n.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = n.hs.Serve(n.ln) }()
	m.Start()
	var lopts []nslock.LockerOption
	if c.opts.Liveness != nil {
		// As a node gives its memberlist view to both (node/liveness.go).
		lopts = append(lopts, nslock.WithLiveness(func(peer string) bool { return !c.opts.Liveness(n.Index, peer) }))
	}
	locker, err := nslock.NewLocker(m, lockSrv, c.addrs, c.opts.Lock, lopts...)
	if err != nil {
		return err
	}
	n.locker = locker

	n.tr = remote.DefaultHTTPClient.Transport.(*http.Transport).Clone()
	n.tr.DialContext = n.dial
	hc := &http.Client{Transport: n.tr, CheckRedirect: remote.DefaultHTTPClient.CheckRedirect}
	n.clients = nil
	sets := make([][]storage.Drive, len(c.Layout.Sets))
	for si, s := range c.Layout.Sets {
		sets[si] = make([]storage.Drive, len(s.Drives))
		for pos, d := range s.Drives {
			owner := d / c.opts.DrivesPerNode
			if owner == n.Index {
				sets[si][pos] = served[d%c.opts.DrivesPerNode]
				continue
			}
			var ropts []remote.Option
			if c.opts.Liveness != nil {
				ropts = append(ropts, remote.WithLiveness(func(peer string) bool { return c.opts.Liveness(n.Index, peer) }))
			}
			rc, err := remote.NewClient(m, c.addrs[owner], c.endpoint(d), hc, ropts...)
			if err != nil {
				return err
			}
			n.clients = append(n.clients, rc)
			sets[si][pos] = rc
		}
	}
	cfg := c.opts.Set
	cfg.BitrotKey = BitrotKey
	cfg.Locker = object.AdaptLocker(locker.Lock, locker.RLock)
	if c.opts.Heal != nil {
		cfg.Heal = c.opts.Heal(n.Index)
	}
	layer, err := object.NewLayer(object.LayerConfig{
		Layout: c.Layout, DeploymentID: c.DeploymentID, Sets: sets, Set: cfg,
		ListStallTimeout: c.opts.ListStallTimeout,
	})
	if err != nil {
		return err
	}
	n.layer = layer
	return nil
}

// Stop stops the node as a crash would: every connection it has is closed
// under it (peers see them reset, not an orderly close), then its grid
// Manager and HTTP server are shut down and its drives released. A paused
// node is resumed first. Stopping a stopped node does nothing.
func (n *Node) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopLocked()
}

func (n *Node) stopLocked() {
	if !n.running {
		return
	}
	n.running = false
	n.dead.Store(true)
	_ = n.ln.Close()
	n.closeConns()
	n.gate.resume()
	if n.m != nil {
		_ = n.m.Close()
	}
	if n.hs != nil {
		_ = n.hs.Close()
	}
	n.closeConns() // any made while closing
	if n.tr != nil {
		n.tr.CloseIdleConnections()
	}
	for _, rc := range n.clients {
		_ = rc.Close()
	}
	for _, d := range n.drives {
		_ = d.Close()
	}
	n.m, n.hs, n.tr, n.locker, n.layer, n.clients, n.drives = nil, nil, nil, nil, nil, nil, nil
}

func (n *Node) closeConns() {
	for {
		n.gate.mu.Lock() // conns is guarded by the gate's mutex
		var c *freezeConn
		for fc := range n.conns {
			c = fc
			break
		}
		n.gate.mu.Unlock()
		if c == nil {
			return
		}
		_ = c.Close()
	}
}

// Pause freezes the node as SIGSTOP would, seen from the network: no byte
// goes out or is taken in on any of its connections (grid and range reads,
// accepted or dialed) until Resume. Nothing is closed, so its peers find out
// only through their own timeouts.
func (n *Node) Pause() { n.gate.pause() }

// Resume lets a paused node's connections flow again.
func (n *Node) Resume() { n.gate.resume() }

// SetDriveOffline makes local drive j of the node (0-based) fail every call
// with storage.ErrDriveOffline, for the node itself and its peers alike, or
// work again. The setting survives restarts.
func (n *Node) SetDriveOffline(j int, off bool) { n.offline[j].Store(off) }

// dial opens the node's outgoing connections (grid and range reads).
func (n *Node) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if n.dead.Load() {
		return nil, errors.New("objecttest: node is stopped")
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return n.track(conn)
}

func (n *Node) track(conn net.Conn) (net.Conn, error) {
	fc := &freezeConn{Conn: conn, n: n, closed: make(chan struct{})}
	n.gate.mu.Lock()
	defer n.gate.mu.Unlock()
	if n.dead.Load() {
		_ = conn.Close()
		return nil, errors.New("objecttest: node is stopped")
	}
	n.conns[fc] = struct{}{}
	return fc, nil
}

// listener tracks the connections a node accepts.
type listener struct {
	net.Listener
	n *Node
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		fc, err := l.n.track(conn)
		if err != nil {
			continue
		}
		return fc, nil
	}
}

// gate holds a paused node's connections.
type gate struct {
	mu     sync.Mutex
	paused chan struct{} // non-nil while paused; closed by resume
}

func (g *gate) pause() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused == nil {
		g.paused = make(chan struct{})
	}
}

func (g *gate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused != nil {
		close(g.paused)
		g.paused = nil
	}
}

// wait blocks while the gate is paused; false if closed ends it first.
func (g *gate) wait(closed <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.paused
	g.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-closed:
		return false
	}
}

// freezeConn is a connection of a node that stops moving bytes while the
// node is paused: what arrives is held back, what the node sends waits.
type freezeConn struct {
	net.Conn
	n      *Node
	closed chan struct{}
	once   sync.Once
}

func (c *freezeConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	if !c.n.gate.wait(c.closed) {
		return 0, net.ErrClosed
	}
	return k, err
}

func (c *freezeConn) Write(p []byte) (int, error) {
	if !c.n.gate.wait(c.closed) {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func (c *freezeConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.n.gate.mu.Lock()
		delete(c.n.conns, c)
		c.n.gate.mu.Unlock()
	})
	return c.Conn.Close()
}
