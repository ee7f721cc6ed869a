package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/bootstrap"
	"github.com/gridstore/gridstore/node/cluster"
	"github.com/gridstore/gridstore/node/endpoint"
	"github.com/gridstore/gridstore/node/metrics"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/healqueue"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/nslock"
	"github.com/gridstore/gridstore/node/s3"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/sigv4"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/health"
	"github.com/gridstore/gridstore/storage/local"
	"github.com/gridstore/gridstore/storage/remote"
)

// Node is a running gridstore server.
type Node struct {
	cfg   Config
	log   *zap.Logger
	topo  endpoint.Topology
	self  string // host:port in the endpoint list; "" in the local form
	creds sigv4.StaticCredentials

	ln      net.Listener // over TLS when tls is set
	hs      *http.Server
	tls     *nodeTLS         // nil: plain http
	reads   *http.Client     // shard reads from peers (remote.NewHTTPClient)
	grid    *grid.Manager    // nil for a single node
	members *cluster.Cluster // gossiped liveness; nil for a single node or with gossip off
	lockSrv *nslock.Server
	boot    *bootstrap.Service
	metrics *metrics.Metrics

	// up is set once the deployment is agreed and the object layer built.
	up    atomic.Pointer[running]
	ready chan struct{}

	ctx    context.Context // background work; cancelled by Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup

	failOnce sync.Once
	failed   chan struct{}
	err      error

	shutdownOnce sync.Once
	shutdownErr  error
}

// running is what a node has once it is up.
type running struct {
	res     *bootstrap.Result
	layer   *object.Layer
	s3      *s3.Server
	admin   http.Handler
	drives  []admin.Drive   // every drive of the deployment, for admin info
	local   []storage.Drive // this node's open drives
	remote  *remote.Server  // nil for a single node
	clients []*remote.Client
	heal    *healqueue.Queue
	locker  *nslock.Locker // nil for a single node
	admit   *admission
	guards  []*health.Drive // the local drives' hang guards
	healing *healing        // missed-write log and healer; nil without local drives
	// healCount counts the heal queue's and the missed-write healer's
	// heals, by reason.
	healCount healCounters
}

// Start checks cfg, listens on cfg.Address and starts serving: liveness and
// metrics at once, S3 once the node is up. Bringing the node up (agreeing on
// the deployment with a quorum of nodes, opening the drives) goes on in the
// background: Ready is closed when it is done, Failed if it cannot be (Err
// says why). ctx bounds only Start itself.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	topo, err := endpoint.Parse(cfg.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var nt *nodeTLS
	switch {
	case cfg.CertsDir != "":
		if nt, err = loadTLS(cfg.CertsDir); err != nil {
			return nil, fmt.Errorf("%w: TLS: %w", ErrConfig, err)
		}
	case !topo.IsLocalForm() && topo.Endpoints[0].Scheme == "https":
		// The list promises TLS between nodes; serving plain http
		// instead would break that promise silently.
		return nil, fmt.Errorf("%w: the endpoints are https:// URLs but no certificates directory is set (CertsDir)", ErrConfig)
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Address); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Address, err)
		}
	}
	reads := remote.DefaultHTTPClient
	if nt != nil {
		ln = tls.NewListener(ln, nt.server)
		reads = remote.NewHTTPClient(nt.client)
	}
	n := &Node{
		cfg: cfg, log: log, ln: ln, tls: nt, reads: reads,
		creds:  sigv4.StaticCredentials{cfg.RootUser: cfg.RootPassword},
		ready:  make(chan struct{}),
		failed: make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.setup(ctx, topo); err != nil {
		n.cancel()
		_ = ln.Close()
		if n.members != nil {
			_ = n.members.Close()
		}
		if n.grid != nil {
			_ = n.grid.Close()
		}
		return nil, err
	}
	n.hs = &http.Server{
		Handler:           n,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    limits.MaxHTTPHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	n.wg.Go(func() {
		if err := n.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.fail(fmt.Errorf("serve HTTP: %w", err))
		}
	})
	if n.grid != nil {
		n.grid.Start()
	}
	n.wg.Go(n.bringUp)
	return n, nil
}

// setup resolves this node in the topology and builds what must exist
// before the listener serves: the grid, the lock server, the bootstrap
// handlers and metrics.
func (n *Node) setup(ctx context.Context, topo endpoint.Topology) error {
	self := ""
	if !topo.IsLocalForm() {
		self = n.cfg.Self
		if self == "" {
			_, port, err := net.SplitHostPort(n.ln.Addr().String())
			if err != nil {
				return fmt.Errorf("listen address: %w", err)
			}
			if self, err = endpoint.FindSelf(ctx, topo.Endpoints, port); err != nil {
				return fmt.Errorf("%w: find this node among the endpoints: %w", ErrConfig, err)
			}
		}
	}
	resolved, err := topo.Resolve(self)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	n.topo, n.self = resolved, self
	n.log = n.log.With(zap.String("node_addr", n.nodeName()))
	if n.tls != nil {
		if len(resolved.Nodes) > 1 {
			if err := n.tls.checkPeers(hostOf(self)); err != nil {
				return fmt.Errorf("%w: TLS: %w", ErrConfig, err)
			}
		}
		n.log.Info("TLS on: S3, admin, grid and shard reads are served over https; peers are dialed over TLS", n.tls.logFields()...)
	}
	if err := n.makeDriveDirs(); err != nil {
		return err
	}

	if len(resolved.Nodes) > 1 {
		if err := n.setupGrid(); err != nil {
			return err
		}
	}
	bc := n.cfg.Timing.Bootstrap
	bc.Topology, bc.Grid, bc.Logger, bc.AppVersion = resolved, n.grid, n.log.Named("bootstrap"), n.cfg.AppVersion
	bc.Layout = layout.Config{SetSize: n.cfg.SetSize, Parity: n.cfg.Parity}
	if n.boot, err = bootstrap.New(bc); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	n.metrics = metrics.New(metrics.Sources{
		Grid:        n.gridStats,
		LocalDrives: n.localDiskInfo,
		Sets:        n.setHealth,
		Heal:        n.healStats,
		HealInfo:    n.healStatus,
	})
	return nil
}

// makeDriveDirs creates this node's drive directories that do not exist
// yet, so that a first start on fresh folders (./data{1...4}) just works.
// An existing directory is left as it is: bootstrap decides whether it is
// empty, ours, or someone else's.
func (n *Node) makeDriveDirs() error {
	for _, ep := range n.topo.Endpoints {
		if !ep.IsLocal {
			continue
		}
		if _, err := os.Stat(ep.Path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(ep.Path, 0o750); err != nil {
			return fmt.Errorf("create drive directory %s: %w", ep.Path, err)
		}
		n.log.Info("created drive directory", zap.String("path", ep.Path))
	}
	return nil
}

// setupGrid makes the grid Manager and the lock server it carries.
func (n *Node) setupGrid() error {
	lc := n.cfg.Timing.Lock
	lc.Logger = n.log.Named("nslock")
	lockSrv, err := nslock.NewServer(lc)
	if err != nil {
		return fmt.Errorf("%w: locks: %w", ErrConfig, err)
	}
	gc := n.cfg.Timing.Grid
	gc.Self, gc.Peers = n.self, n.nodeHosts()
	gc.Secret = []byte(n.cfg.ClusterSecret)
	if n.cfg.ClusterSecret == "" {
		start := time.Now()
		gc.Secret = ClusterSecretFor(n.cfg.RootUser, n.cfg.RootPassword)
		// The derived secret is only as strong as the root password, and
		// it changes with it: an explicit random one is better on both
		// counts. Said once, at start; the secret itself is never logged.
		n.log.Info("the cluster secret is derived from the root credentials (Argon2id); "+
			"set GRIDSTORE_CLUSTER_SECRET (--cluster-secret) on every node to a long random value "+
			"so that grid authentication does not rest on the root password",
			zap.Duration("derivation", time.Since(start)))
	}
	if n.tls != nil {
		gc.TLS = n.tls.client
	}
	gc.OnStateChange = func(peer string, s grid.State) {
		lockSrv.OnStateChange(peer, s)
		n.gridStateChanged(peer, s)
	}
	gc.Logger = n.log.Named("grid")
	m, err := grid.NewManager(gc)
	if err != nil {
		return fmt.Errorf("%w: grid: %w", ErrConfig, err)
	}
	if err := lockSrv.Register(m); err != nil {
		_ = m.Close()
		return fmt.Errorf("register lock handlers: %w", err)
	}
	n.grid, n.lockSrv = m, lockSrv
	return n.setupCluster(gc.Secret)
}

// bringUp agrees on the deployment and builds the object layer.
func (n *Node) bringUp() {
	res, err := n.boot.Run(n.ctx)
	if err != nil {
		if n.ctx.Err() == nil {
			n.fail(fmt.Errorf("start-up: %w", err))
		}
		return
	}
	r, err := n.assemble(res)
	if err != nil {
		_ = res.Close()
		n.fail(fmt.Errorf("assemble the object layer: %w", err))
		return
	}
	if n.ctx.Err() != nil { // Shutdown came first
		r.close()
		return
	}
	healing := n.clearNeedlessHealing(r)
	n.prepareHealingDrives(r, healing)
	n.up.Store(r)
	close(n.ready)
	lo := res.Layout
	n.log.Info("node is up",
		zap.String("deployment", res.DeploymentID),
		zap.Int("sets", len(lo.Sets)), zap.Int("set_size", lo.SetSize), zap.Int("parity", lo.Parity),
		zap.Int("local_drives", len(res.LocalDrives)), zap.Ints("offline_drives", res.Offline))
	if len(healing) > 0 {
		// Such a drive takes new writes at once (its buckets were just
		// created); its rebuild puts every older object on it.
		n.log.Warn("drives are marked healing: they are being rebuilt from their sets (gridstore admin heal shows the progress)",
			zap.Ints("drives", healing))
	}
	n.startHealer(r, healing)
	n.startRebuilds(r, healing)
	n.startScanner(r)
	n.wg.Go(n.cleanupLoop)
	n.wg.Go(func() { n.sweepDrives(res.LocalDrives) })
}

// sweepDrives removes from this node's drives, once at start, what a crash
// left that no object refers to (local.Drive.Sweep): it runs beside the
// traffic, one drive after the other.
func (n *Node) sweepDrives(drives map[int]*local.Drive) {
	for _, i := range slices.Sorted(maps.Keys(drives)) {
		start := time.Now()
		stats, err := drives[i].Sweep(n.ctx)
		switch {
		case err != nil && n.ctx.Err() == nil:
			n.log.Warn("drive sweep", zap.Int("drive", i), zap.Error(err))
		case stats.DataDirs+stats.Other > 0:
			n.log.Info("drive sweep removed leftovers", zap.Int("drive", i), zap.Int("objects", stats.Objects),
				zap.Int("data_dirs", stats.DataDirs), zap.Int("other", stats.Other), zap.Int("empty_dirs", stats.Dirs),
				zap.Duration("took", time.Since(start)))
		}
	}
}

// clearNeedlessHealing takes the healing mark off this node's drives when
// the deployment holds no bucket, hence no object that could be missing
// from them: nodes started together may format their own drives into a
// brand-new deployment before the first node's format request reaches them,
// and bootstrap marks such drives healing. It returns the drives still
// marked.
func (n *Node) clearNeedlessHealing(r *running) []int {
	res := r.res
	if len(res.Healing) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	buckets, err := r.layer.ListBuckets(ctx)
	if err != nil || len(buckets) > 0 {
		return res.Healing
	}
	var still []int
	for _, d := range res.Healing {
		if err := res.LocalDrives[d].SetHealing(false); err != nil {
			n.log.Warn("clear the healing mark", zap.Int("drive", d), zap.Error(err))
			still = append(still, d)
		}
	}
	if cleared := len(res.Healing) - len(still); cleared > 0 {
		n.log.Info("healing marks cleared: the deployment holds no bucket, so nothing is missing from these drives",
			zap.Int("drives", cleared))
	}
	return still
}

// assemble builds the object layer over this node's drives and remote
// clients of the others', and the servers in front of it.
func (n *Node) assemble(res *bootstrap.Result) (_ *running, err error) {
	r := &running{res: res}
	maxReqs, maxMem := n.cfg.MaxRequests, n.cfg.RequestMemory
	if maxReqs <= 0 {
		maxReqs = DefaultMaxRequests
	}
	if maxMem <= 0 {
		maxMem = DefaultRequestMemory()
	}
	r.admit = newAdmission(maxReqs, maxMem, res.Layout.SetSize, res.Layout.Parity, n.cfg.Timing.Set.BlockSize)
	defer func() {
		if err != nil {
			r.closeClients()
		}
	}()
	lo := res.Layout
	// Every local drive is served through its hang guard (storage/health):
	// a call that does not return in time fails on time, and a drive that
	// keeps timing out is out of service until a probe passes. Local
	// requests and the grid's remote ones share the guard.
	guarded := make(map[int]storage.Drive, len(res.LocalDrives))
	for d := range lo.DriveCount() {
		if ld, ok := res.LocalDrives[d]; ok {
			var inner storage.Drive = ld
			if n.cfg.WrapLocalDrive != nil {
				inner = n.cfg.WrapLocalDrive(d, ld)
			}
			hc := n.cfg.Timing.DriveHealth
			hc.OnStateChange = func(healthy bool) { n.localDriveStateChanged(d, healthy) }
			hd := health.Wrap(inner, hc, n.log.Named("health"))
			guarded[d] = hd
			r.guards = append(r.guards, hd)
			r.local = append(r.local, hd)
		}
	}
	var ropts []remote.Option
	if n.tls != nil {
		ropts = append(ropts, remote.OverTLS())
	}
	if n.members != nil {
		ropts = append(ropts, remote.WithLiveness(n.alive))
	}
	if n.grid != nil {
		if r.remote, err = remote.NewServer(n.grid, r.local, n.log.Named("drives"), ropts...); err != nil {
			return nil, err
		}
	}
	sets := make([][]storage.Drive, len(lo.Sets))
	for si, set := range lo.Sets {
		sets[si] = make([]storage.Drive, len(set.Drives))
		for pos, d := range set.Drives {
			ep := n.topo.Endpoints[d]
			var drive storage.Drive
			switch {
			case ep.IsLocal:
				if gd, ok := guarded[d]; ok {
					drive = gd
				}
			default:
				rc, err := remote.NewClient(n.grid, ep.Host, ep.URL, n.reads, ropts...)
				if err != nil {
					return nil, fmt.Errorf("drive %s: %w", ep.URL, err)
				}
				r.clients = append(r.clients, rc)
				drive = rc
			}
			sets[si][pos] = drive
			ad := admin.Drive{Index: d, Set: si, Position: pos, Node: ep.Host, Endpoint: ep.URL}
			if ad.Node == "" {
				ad.Node = n.nodeName()
			}
			if drive != nil {
				ad.DiskInfo = drive.DiskInfo
			}
			r.drives = append(r.drives, ad)
		}
	}

	sc := n.cfg.Timing.Set
	sc.BitrotKey = res.BitrotKey[:]
	// What reads and writes find stale is healed in the background, by
	// the layer being built here (the queue only calls it once requests
	// flow, after NewLayer).
	var layer *object.Layer
	if r.heal, err = healqueue.New(healqueue.Config{
		Logger: n.log.Named("heal"),
		Heal: func(ctx context.Context, req object.HealRequest) error {
			res, err := layer.HealObject(ctx, req.Bucket, req.Object, object.HealOptions{Corrupt: req.Corrupt, Verify: req.Missing})
			r.healed(reasonRead, req, res, err)
			return err
		},
	}); err != nil {
		return nil, err
	}
	sc.Heal = r.heal
	if err := n.openMissedLog(r); err != nil {
		return nil, err
	}
	if r.healing != nil {
		sc.Missed = r.healing.log
	}
	if n.grid != nil {
		// The lock servers of nodes memberlist holds dead are not asked,
		// and a lock that too few live ones can grant fails at once.
		locker, err := nslock.NewLocker(n.grid, n.lockSrv, n.nodeHosts(), n.cfg.Timing.Lock,
			nslock.WithLiveness(func(peer string) bool { return !n.alive(peer) }))
		if err != nil {
			return nil, fmt.Errorf("locks: %w", err)
		}
		sc.Locker = object.AdaptLocker(locker.Lock, locker.RLock)
		r.locker = locker
	}
	if layer, err = object.NewLayer(object.LayerConfig{
		Layout: lo, DeploymentID: res.ID, Sets: sets, Set: sc,
		ListStallTimeout: n.cfg.Timing.ListStallTimeout,
	}); err != nil {
		return nil, err
	}
	r.layer = layer

	classes, err := layout.NewStorageClasses(lo.SetSize, lo.Parity, n.cfg.ReducedParity)
	if err != nil {
		return nil, fmt.Errorf("%w: storage classes: %w", ErrConfig, err)
	}
	slow := n.slowRequestLogger()
	if r.s3, err = s3.New(s3.Config{
		Objects:      r.layer,
		Credentials:  n.creds,
		Region:       n.cfg.Region,
		Domains:      n.cfg.Domains,
		StorageClass: classes.Parity,
		Owner:        n.cfg.RootUser,
		Logger:       n.log.Named("s3"),
		Observe: func(ri s3.RequestInfo) {
			n.metrics.ObserveRequest(ri.API, ri.Status, ri.Duration, ri.BytesIn, ri.BytesOut, ri.QuorumLost)
			if slow != nil {
				slow(ri)
			}
		},
		ReservedBuckets: []string{reservedBucket},
		Reserve:         reserveForObject,
	}); err != nil {
		return nil, err
	}
	parity := make([]int, len(r.layer.Sets()))
	for i, s := range r.layer.Sets() {
		parity[i] = s.Parity()
	}
	r.admin = admin.NewHandler(admin.Sources{
		DeploymentID: res.DeploymentID,
		Self:         n.nodeName(),
		Nodes:        n.nodeNames(),
		Drives:       r.drives,
		Parity:       parity,
		Sets:         r.layer.Health,
		Grid:         n.gridStats,
		Gossip:       n.gossipState,
		Heal:         n.healStatus,
	}, n.creds, n.cfg.Region, n.log.Named("admin"))
	return r, nil
}

// cleanupLoop removes stale multipart uploads every CleanupInterval
// (jittered, so that nodes started together do not all sweep at once).
func (n *Node) cleanupLoop() {
	for {
		wait := n.cfg.CleanupInterval/2 + rand.N(n.cfg.CleanupInterval)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(wait):
		}
		r := n.up.Load()
		removed, err := r.layer.CleanupStaleUploads(n.ctx, n.cfg.MultipartExpiry)
		switch {
		case err != nil && n.ctx.Err() == nil:
			n.log.Warn("stale multipart cleanup", zap.Int("removed", removed), zap.Error(err))
		case removed > 0:
			n.log.Info("stale multipart uploads removed", zap.Int("removed", removed),
				zap.Duration("older_than", n.cfg.MultipartExpiry))
		}
	}
}

// Addr returns the address the node listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Scheme is "https" when the node serves over TLS (Config.CertsDir), else
// "http".
func (n *Node) Scheme() string {
	if n.tls != nil {
		return "https"
	}
	return "http"
}

// Ready is closed once the node serves S3.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Failed is closed when the node cannot go on (Err says why): start-up
// refused (foreign drives, mismatched topology) or the listener failed.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Err returns why the node failed, once Failed is closed.
func (n *Node) Err() error {
	select {
	case <-n.failed:
		return n.err
	default:
		return nil
	}
}

// Layer returns the object layer once the node is up, else nil.
func (n *Node) Layer() *object.Layer {
	if r := n.up.Load(); r != nil {
		return r.layer
	}
	return nil
}

func (n *Node) fail(err error) {
	n.failOnce.Do(func() {
		n.err = err
		n.log.Error("node failed", zap.Error(err))
		close(n.failed)
	})
}

// Shutdown stops the node: it stops accepting connections and waits for
// in-flight requests to finish (until ctx ends, or ShutdownTimeout if ctx has
// no deadline; then they are cut), stops background work, closes the grid
// and releases the drives. It is safe to call more than once.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdownOnce.Do(func() {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, n.cfg.ShutdownTimeout)
			defer cancel()
		}
		n.log.Info("shutting down: draining in-flight requests")
		err := n.hs.Shutdown(ctx)
		if err != nil {
			n.log.Warn("requests still in flight at the drain deadline were cut", zap.Error(err))
			_ = n.hs.Close()
		}
		n.cancel()
		n.wg.Wait()
		if r := n.up.Load(); r != nil {
			r.close()
		}
		if n.members != nil {
			_ = n.members.Close() // leaves the pool: the others know at once
		}
		if n.grid != nil {
			_ = n.grid.Close()
		}
		if n.reads != remote.DefaultHTTPClient {
			// The node's own pool of connections to its peers; the
			// shared default's belong to the process.
			n.reads.CloseIdleConnections()
		}
		n.shutdownErr = err
		n.log.Info("node stopped")
	})
	return n.shutdownErr
}

// close releases what a running node holds: heals first (they use the
// drives), clients before drives.
func (r *running) close() {
	r.closeClients()
	for _, g := range r.guards {
		_ = g.Close() // stops its probes; closes the drive, as res.Close does again
	}
	_ = r.res.Close()
}

func (r *running) closeClients() {
	if r.healing != nil {
		r.healing.close() // idempotent
	}
	if r.heal != nil {
		r.heal.Close() // idempotent; the field stays set for healStats' readers
	}
	for _, c := range r.clients {
		_ = c.Close()
	}
	r.clients = nil
}

// nodeHosts lists every node's grid address, in topology order.
func (n *Node) nodeHosts() []string {
	hosts := make([]string, 0, len(n.topo.Nodes))
	for _, nd := range n.topo.Nodes {
		hosts = append(hosts, nd.Host)
	}
	return hosts
}

// nodeName names this node for people: its address in the endpoint list,
// or the listen address in the local form.
func (n *Node) nodeName() string {
	if n.self != "" {
		return n.self
	}
	return n.ln.Addr().String()
}

// nodeNames lists the nodes for people (the local form has one: this).
func (n *Node) nodeNames() []string {
	if n.self == "" {
		return []string{n.nodeName()}
	}
	return n.nodeHosts()
}

// gridStats is the grid's peer snapshot, nil for a single node.
func (n *Node) gridStats() []grid.PeerStats {
	if n.grid == nil {
		return nil
	}
	return n.grid.Stats()
}

// localDiskInfo describes this node's drives, for metrics.
func (n *Node) localDiskInfo(ctx context.Context) []storage.DiskInfo {
	r := n.up.Load()
	if r == nil {
		return nil
	}
	out := make([]storage.DiskInfo, len(r.local))
	var wg sync.WaitGroup
	for i, d := range r.local {
		wg.Go(func() {
			info, err := d.DiskInfo(ctx)
			if err != nil {
				// A call that timed out still tells the drive's health.
				info = storage.DiskInfo{Endpoint: d.Endpoint(), Health: info.Health}
			}
			out[i] = info
		})
	}
	wg.Wait()
	return out
}

// healStats is the heal queue's counters, zero before the node is up.
func (n *Node) healStats() healqueue.Stats {
	r := n.up.Load()
	if r == nil || r.heal == nil {
		return healqueue.Stats{}
	}
	return r.heal.Stats()
}

// setHealth is the layer's set health, nil before the node is up.
func (n *Node) setHealth(ctx context.Context) []object.SetHealth {
	r := n.up.Load()
	if r == nil {
		return nil
	}
	return r.layer.Health(ctx)
}
