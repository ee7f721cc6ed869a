package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// Cluster is this node's membership in the gossip pool and its view of
// every configured node's liveness. Its methods are safe for concurrent
// use; Alive, Dead and State take no lock.
type Cluster struct {
	cfg   Config
	log   *zap.Logger
	self  string
	peers map[string]string // name -> configured gossip address, Self included
	ml    *memberlist.Memberlist
	start time.Time

	view atomic.Pointer[view]

	// mu orders state changes and their events. It is taken inside
	// memberlist's own lock (the delegates run under it), so nothing may
	// call into memberlist while holding it.
	mu        sync.Mutex
	subs      map[*subscriber]struct{}
	closed    bool
	dropped   atomic.Uint64
	strangers sync.Map // names refused membership, logged once each

	closing   atomic.Bool // Close has begun: memberlist's errors are expected
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type subscriber struct {
	ch     chan Event
	warned bool // told the log this subscriber lost events
}

// New joins this node to the gossip pool: it listens on the gossip port
// (UDP and TCP), then keeps trying in the background to join the peers it
// does not count alive, so nodes may start in any order. It returns an
// error wrapping ErrConfig for a Config it cannot use, or one saying why it
// could not listen. log receives this package's lines and memberlist's
// (named "memberlist"); nil means no logging.
func New(cfg Config, log *zap.Logger) (*Cluster, error) {
	if log == nil {
		log = zap.NewNop()
	}
	peers, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	key, err := GossipKey(cfg.Secret)
	if err != nil {
		return nil, err
	}
	selfAddr := peers[cfg.Self]
	selfHost, port, err := splitName(selfAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}

	bind := cfg.BindAddr
	if bind == "" {
		bind = "0.0.0.0"
	}
	advertise := cfg.AdvertiseAddr
	if advertise == "" {
		// The others reach us at the host the endpoint list names. If it
		// does not resolve yet, memberlist falls back to the bound IP or,
		// bound to every interface, to a private one.
		if advertise, err = resolveIP(selfHost); err != nil {
			log.Warn("gossip: cannot resolve this node's host; memberlist picks the address to advertise itself",
				zap.String("host", selfHost), zap.Error(err))
		}
	}

	c := &Cluster{
		cfg:   cfg,
		log:   log,
		self:  cfg.Self,
		peers: peers,
		start: time.Now(),
		subs:  map[*subscriber]struct{}{},
	}
	mlLog := newStdLogger(log.Named("memberlist"), &c.closing)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{bind},
		BindPort:  port,
		Logger:    mlLog,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: listen on %s port %d (UDP and TCP): %w", bind, port, err)
	}
	var tr memberlist.NodeAwareTransport = nt
	if cfg.wrapTransport != nil {
		tr = cfg.wrapTransport(selfAddr, nt)
	}

	v := make(view, len(peers))
	for name, addr := range peers {
		v[name] = peer{state: Unknown, since: c.start, addr: addr}
	}
	v[c.self] = peer{state: Alive, since: c.start, addr: selfAddr, seen: true}
	c.view.Store(&v)

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Self
	mc.Transport = tr
	mc.BindAddr, mc.BindPort = bind, port
	mc.AdvertiseAddr, mc.AdvertisePort = advertise, port
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.IndirectChecks = cfg.IndirectChecks
	mc.SuspicionMult = cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = cfg.SuspicionMaxTimeoutMult
	mc.AwarenessMaxMultiplier = cfg.AwarenessMaxMultiplier
	mc.GossipInterval = cfg.GossipInterval
	mc.GossipNodes = cfg.GossipNodes
	mc.RetransmitMult = cfg.RetransmitMult
	mc.PushPullInterval = cfg.PushPullInterval
	mc.GossipToTheDeadTime = cfg.GossipToTheDeadTime
	mc.DeadNodeReclaimTime = cfg.DeadNodeReclaimTime
	mc.TCPTimeout = cfg.TCPTimeout
	mc.SecretKey = key
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.Events = delegate{c}
	mc.Alive = delegate{c}
	mc.Logger = mlLog

	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = tr.Shutdown()
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	c.ml = ml

	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Go(func() { c.run(ctx) })

	smin := suspicionMin(cfg, len(peers))
	log.Info("gossip: started",
		zap.String("self", c.self),
		zap.String("gossip_addr", ml.LocalNode().Address()),
		zap.Int("nodes", len(peers)),
		zap.Duration("probe_interval", cfg.ProbeInterval),
		zap.Duration("suspicion_min", smin),
		zap.Duration("suspicion_max", time.Duration(cfg.SuspicionMaxTimeoutMult)*smin))
	return c, nil
}

// suspicionMin is memberlist's suspicion timeout with full confirmation for
// n nodes: SuspicionMult × max(1, log10 n) × ProbeInterval. For logs.
func suspicionMin(cfg Config, n int) time.Duration {
	scale := math.Max(1, math.Log10(float64(n)))
	return time.Duration(float64(cfg.SuspicionMult) * scale * float64(cfg.ProbeInterval))
}

// resolveIP returns host as an IP, looking it up if it is a name (IPv4
// preferred: a wildcard bind accepts both).
func resolveIP(host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("resolve %s: no address", host)
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP.String(), nil
		}
	}
	return addrs[0].IP.String(), nil
}

// Self is this node's name.
func (c *Cluster) Self() string { return c.self }

// Alive reports whether name is a live member of the pool. This node is
// always alive to itself. Lock-free.
func (c *Cluster) Alive(name string) bool { return c.State(name) == Alive }

// Dead reports whether name is known to be dead: declared dead or left
// after it was seen, or never heard of within the start-up grace. A peer
// that has not joined yet at start-up is not dead. A name that is not a
// configured node is not dead either: it is none of our business.
// Lock-free.
func (c *Cluster) Dead(name string) bool { return c.State(name) == Dead }

// State returns name's state; Unknown for a name that is not a configured
// node. Lock-free.
func (c *Cluster) State(name string) State {
	return (*c.view.Load())[name].state
}

// Members returns every configured node, this one included, sorted by
// name.
func (c *Cluster) Members() []Member {
	v := *c.view.Load()
	out := make([]Member, 0, len(v))
	for name, p := range v {
		out = append(out, Member{Name: name, Addr: p.addr, State: p.state, Since: p.since, Self: name == c.self})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Subscribe returns a channel of state changes and a function that ends
// the subscription and closes the channel. Events are never waited for: a
// subscriber whose buffer (Config.EventBuffer) is full loses the event
// (DroppedEvents counts them), so a subscriber that must not miss a change
// re-reads State or Members after a drop. Events from before Subscribe
// are not replayed: subscribe first, then read Members for the state so
// far. Close closes every channel.
func (c *Cluster) Subscribe() (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, c.cfg.EventBuffer)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	c.subs[s] = struct{}{}
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if _, ok := c.subs[s]; ok {
				delete(c.subs, s)
				close(s.ch)
			}
		})
	}
}

// DroppedEvents is how many events subscribers have lost to full buffers.
func (c *Cluster) DroppedEvents() uint64 { return c.dropped.Load() }

// Close leaves the pool gracefully (the others see this node leave at
// once instead of detecting a death), stops gossiping and closes every
// subscriber's channel. It may wait for a join attempt in flight (at most
// Config.TCPTimeout). The view is frozen afterwards. memberlist does not
// wait for a probe in flight when it shuts down: that goroutine ends on its
// own within ProbeInterval × AwarenessMaxMultiplier (1.6 s by default), so
// a goroutine-leak check right after Close should allow for it.
func (c *Cluster) Close() error { return c.stop(true) }

// stop shuts the node down, leaving gracefully or, for tests that simulate
// a crash, not.
func (c *Cluster) stop(leave bool) error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait() // no join in flight past this point
		c.closing.Store(true)
		var errs []error
		if leave {
			if err := c.ml.Leave(c.cfg.LeaveTimeout); err != nil {
				// The others will detect the death instead: slower, not wrong.
				errs = append(errs, fmt.Errorf("gossip: leave: %w", err))
			}
		}
		if err := c.ml.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("gossip: shut down: %w", err))
		}
		c.mu.Lock()
		c.closed = true
		for s := range c.subs {
			close(s.ch)
		}
		clear(c.subs)
		c.mu.Unlock()
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// setState moves name to state `to`, unless only is set and the peer is
// not in that state, and publishes the new view and the event it makes, if
// any. addr, if not empty, updates the peer's gossip address.
func (c *Cluster) setState(name string, to State, addr string, only *State) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	old := *c.view.Load()
	p, ok := old[name]
	if !ok || name == c.self || (only != nil && p.state != *only) {
		return
	}
	kind, changed := transition(p.state, to)
	if addr != "" && addr != p.addr {
		p.addr = addr
	} else if !changed {
		return
	}
	prev := p
	if changed {
		p.state, p.since = to, now
	}
	if to == Alive {
		p.seen = true
	}
	nv := make(view, len(old))
	for k, v := range old {
		nv[k] = v
	}
	nv[name] = p
	c.view.Store(&nv)
	if !changed {
		return
	}
	switch kind {
	case Joined:
		c.log.Info("gossip: peer joined", zap.String("peer", name), zap.String("gossip_addr", p.addr))
	case Returned:
		c.log.Info("gossip: peer is back", zap.String("peer", name), zap.String("gossip_addr", p.addr),
			zap.Duration("dead_for", now.Sub(prev.since)))
	case Died:
		if prev.seen {
			c.log.Warn("gossip: peer is dead", zap.String("peer", name), zap.String("gossip_addr", p.addr))
		} else {
			c.log.Warn("gossip: peer never answered since start-up; counted dead until it does",
				zap.String("peer", name), zap.String("gossip_addr", p.addr), zap.Duration("grace", c.cfg.StartupGrace))
		}
	}
	ev := Event{Node: name, Kind: kind, At: now}
	for s := range c.subs {
		select {
		case s.ch <- ev:
		default:
			c.dropped.Add(1)
			if !s.warned {
				s.warned = true
				c.log.Warn("gossip: a liveness event subscriber is not keeping up; events are dropped, not waited for",
					zap.String("peer", name), zap.Stringer("event", kind))
			}
		}
	}
}

// delegate receives memberlist's callbacks. They run under memberlist's
// node lock: keep them short and never call back into memberlist.
type delegate struct{ c *Cluster }

// NotifyJoin: memberlist counts node alive again (from dead or unheard).
func (d delegate) NotifyJoin(n *memberlist.Node) { d.c.setState(n.Name, Alive, n.Address(), nil) }

// NotifyLeave: memberlist declared node dead, or it left.
func (d delegate) NotifyLeave(n *memberlist.Node) { d.c.setState(n.Name, Dead, "", nil) }

// NotifyUpdate: the node's metadata changed; we use none, but its address
// may have.
func (d delegate) NotifyUpdate(n *memberlist.Node) {
	alive := Alive
	d.c.setState(n.Name, Alive, n.Address(), &alive)
}

// NotifyAlive refuses membership to nodes that are not in the endpoint
// list: with the secret they could join, but nothing here would know what
// to do with them, and a typo in one node's list should be loud.
func (d delegate) NotifyAlive(n *memberlist.Node) error {
	if _, ok := d.c.peers[n.Name]; ok {
		return nil
	}
	if _, seen := d.c.strangers.LoadOrStore(n.Name, struct{}{}); !seen {
		d.c.log.Warn("gossip: refusing a member that is not in the endpoint list (same cluster secret, different node list?)",
			zap.String("name", n.Name), zap.String("gossip_addr", n.Address()))
	}
	return fmt.Errorf("%s is not in the endpoint list", n.Name)
}

// joinResult is the outcome of one join attempt.
type joinResult struct {
	name string
	err  error
}

// retry is the loop's record of one peer it is trying to join.
type retry struct {
	next     time.Time
	backoff  time.Duration
	inflight bool
	failures int
	strange  int // joins that went through without making the peer alive
}

// run joins the peers that are not alive, with a per-peer backoff, and ends
// the start-up grace. It owns its state; join attempts run in their own
// goroutines so one paused peer (whose TCP connect hangs) holds up nobody.
func (c *Cluster) run(ctx context.Context) {
	results := make(chan joinResult, len(c.peers))
	retries := map[string]*retry{}
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-results
		}
	}()

	var grace <-chan time.Time
	if c.cfg.StartupGrace > 0 {
		t := time.NewTimer(c.cfg.StartupGrace)
		defer t.Stop()
		grace = t.C
	}
	tick := time.NewTicker(max(c.cfg.RejoinMin/4, 10*time.Millisecond))
	defer tick.Stop()

	for {
		now := time.Now()
		v := *c.view.Load()
		for name, addr := range c.peers {
			if name == c.self {
				continue
			}
			r := retries[name]
			if v[name].state == Alive {
				if r != nil && !r.inflight {
					delete(retries, name) // start afresh if it dies
				}
				continue
			}
			if r == nil {
				// Not immediately after a death: the peer was just found
				// unreachable.
				next := now
				if v[name].state == Dead {
					next = v[name].since.Add(c.cfg.RejoinMin)
				}
				r = &retry{next: next, backoff: c.cfg.RejoinMin}
				retries[name] = r
			}
			if r.inflight || now.Before(r.next) {
				continue
			}
			r.inflight = true
			inflight++
			c.wg.Go(func() {
				_, err := c.ml.Join([]string{addr})
				results <- joinResult{name, err}
			})
		}

		select {
		case <-ctx.Done():
			return
		case res := <-results:
			inflight--
			r := retries[res.name]
			r.inflight = false
			c.joined(res, r)
		case <-grace:
			grace = nil
			c.endGrace()
		case <-tick.C:
		}
	}
}

// joined records one join attempt's outcome and schedules the next.
func (c *Cluster) joined(res joinResult, r *retry) {
	switch {
	case res.err == nil && c.Alive(res.name):
		r.failures, r.strange, r.backoff = 0, 0, c.cfg.RejoinMin
	case res.err == nil:
		// The exchange went through but did not bring the peer in. Once
		// is normal: a node that is starting (its list still empty) or
		// leaving. Again and again, something else answers there: a
		// node of another name (ports swapped between nodes?).
		r.failures++
		if r.strange++; r.strange == 3 {
			c.log.Warn("gossip: an exchange with this peer's address goes through but does not make it a member: "+
				"is another node listening there?",
				zap.String("peer", res.name), zap.String("gossip_addr", c.peers[res.name]))
		}
	default:
		r.failures++
		if r.failures == 1 {
			c.log.Debug("gossip: cannot join peer yet; retrying with backoff",
				zap.String("peer", res.name), zap.String("gossip_addr", c.peers[res.name]), zap.Error(res.err))
		}
	}
	// ±20 % jitter so that nodes started together do not retry together.
	d := time.Duration(float64(r.backoff) * (0.8 + 0.4*rand.Float64()))
	r.next = time.Now().Add(d)
	if r.failures > 0 {
		r.backoff = min(2*r.backoff, c.cfg.RejoinMax)
	}
}

// endGrace declares dead the peers never heard of since start-up, and says
// so once, loudly, if that is all of them.
func (c *Cluster) endGrace() {
	v := *c.view.Load()
	var never []string
	for name, p := range v {
		if !p.seen && p.state == Unknown {
			never = append(never, name)
		}
	}
	if len(never) == 0 {
		return
	}
	slices.Sort(never)
	if len(never) == len(v)-1 {
		c.log.Warn("gossip: no peer has answered since start-up; check that every node has the same cluster secret "+
			"and that the gossip port is open (UDP and TCP) between nodes",
			zap.Duration("grace", c.cfg.StartupGrace), zap.String("gossip_addr", c.peers[c.self]))
	}
	unknown := Unknown
	for _, name := range never {
		// A join may land meanwhile: only a peer still Unknown moves.
		c.setState(name, Dead, "", &unknown)
	}
}
