package node

import (
	"fmt"
	"net"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/cluster"
	"go.uber.org/zap"
)

// setupCluster joins the node to the memberlist pool of the deployment's
// nodes (node/cluster), with the grid's secret, unless Config.GossipPort
// turns it off. Its view makes remote drives of a dead or paused node
// unavailable at once (remote.WithLiveness), long before the grid's own
// PeerTimeout would notice.
func (n *Node) setupCluster(secret []byte) error {
	if n.cfg.GossipPort < 0 {
		n.log.Warn("gossip is off (GossipPort < 0): dead and paused nodes are only noticed by the grid's PeerTimeout")
		return nil
	}
	cc := n.cfg.Timing.Cluster
	if cc.ProbeInterval == 0 {
		cc = cluster.DefaultConfig()
	}
	cc.Self, cc.Peers, cc.Secret = n.self, n.nodeHosts(), secret
	if n.cfg.GossipPort > 0 {
		cc.Port = n.cfg.GossipPort
	}
	if host, _, err := net.SplitHostPort(n.ln.Addr().String()); err == nil {
		cc.BindAddr = host
	}
	c, err := cluster.New(cc, n.log.Named("cluster"))
	if err != nil {
		return fmt.Errorf("%w: gossip: %w", ErrConfig, err)
	}
	n.members = c
	n.wg.Go(n.watchLiveness)
	return nil
}

// alive is the liveness view remote drives are given: a node counts as
// reachable unless memberlist holds it dead (never seen at start-up counts
// as alive until the start-up grace runs out: nodes start in any order).
func (n *Node) alive(peer string) bool {
	return n.members == nil || !n.members.Dead(peer)
}

// gossipState is memberlist's view of a node for admin info; nil (no
// column) without gossip.
func (n *Node) gossipState(addr string) string {
	if n.members == nil {
		return ""
	}
	if addr == n.self {
		return "alive"
	}
	return n.members.State(addr).String()
}

// livenessCheckInterval is how often watchLiveness compares the two views.
const livenessCheckInterval = 2 * time.Second

// watchLiveness logs memberlist's events, makes the node's lock server drop
// the locks of every peer memberlist declares dead (see dropLocks), and,
// once each time it starts and once when it ends, logs every disagreement
// between memberlist's view of a peer and the grid's: a peer memberlist
// holds dead while its grid connection is up (a one-way partition, a
// gossip port blocked by a firewall), or one it holds alive while the grid
// cannot connect to it.
func (n *Node) watchLiveness() {
	events, cancel := n.members.Subscribe()
	defer cancel()
	t := time.NewTicker(livenessCheckInterval)
	defer t.Stop()
	disagree := map[string]string{} // peer -> what was logged
	dropped := map[string]bool{}    // dead peers whose locks were dropped since they died
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok { // the pool was closed: the ticker still reads its last view
				events = nil
				continue
			}
			n.log.Info("cluster: peer "+ev.Kind.String(), zap.String("peer", ev.Node))
			switch ev.Kind {
			case cluster.Died:
				n.wentAway(ev.Node)
				n.dropLocks(ev.Node)
				dropped[ev.Node] = true
			case cluster.Joined, cluster.Returned:
				delete(dropped, ev.Node)
				// What it missed is healed now, from the logs; after a
				// long absence its sets are walked too (by one node).
				n.cameBack(ev.Node, func() []int {
					if n.walkerFor(ev.Node) {
						return n.setsOfNode(ev.Node)
					}
					return nil
				})
			}
		case <-t.C:
			for _, peer := range n.nodeHosts() {
				if peer == n.self { // gossip runs only beside a grid: n.grid is set
					continue
				}
				ml := n.members.State(peer)
				// Events are dropped, not waited for, when this loop lags:
				// the view is the truth.
				switch {
				case ml == cluster.Dead && !dropped[peer]:
					n.dropLocks(peer)
					dropped[peer] = true
				case ml != cluster.Dead:
					delete(dropped, peer)
				}
				gs := n.grid.Connection(peer).State()
				what := ""
				switch {
				case ml == cluster.Dead && gs == grid.StateConnected:
					what = "gossip holds the node dead, its grid connection is up"
				case ml == cluster.Alive && gs != grid.StateConnected:
					what = "gossip holds the node alive, its grid connection is " + gs.String()
				}
				switch prev := disagree[peer]; {
				case what != "" && prev != what:
					n.log.Warn("cluster: liveness views disagree", zap.String("peer", peer), zap.String("views", what))
					disagree[peer] = what
				case what == "" && prev != "":
					n.log.Info("cluster: liveness views agree again", zap.String("peer", peer))
					delete(disagree, peer)
				}
			}
		}
	}
}

// gridStateChanged wakes the healer when a peer's grid connection comes
// back. With gossip on, memberlist's events decide about walks; without it,
// the grid's connection is the only view of a peer's absence.
func (n *Node) gridStateChanged(peer string, s grid.State) {
	what := "grid:" + peer
	switch s {
	case grid.StateConnected:
		var walk func() []int
		if n.members == nil {
			walk = func() []int {
				if n.walkerFor(peer) {
					return n.setsOfNode(peer)
				}
				return nil
			}
		}
		n.cameBack(what, walk)
	case grid.StateDisconnected:
		n.wentAway(what)
	}
}

// localDriveStateChanged heals what a local drive missed while it was out
// of service (storage/health), and walks its set after a long absence.
func (n *Node) localDriveStateChanged(d int, healthy bool) {
	what := fmt.Sprintf("drive:%d", d)
	if !healthy {
		n.wentAway(what)
		return
	}
	n.cameBack(what, func() []int { return n.setsOfDrive(d) })
}

// dropLocks makes this node's lock server drop every namespace lock grant
// of a peer memberlist declared dead. A paused node's grid connection stays
// up for the grid's PeerTimeout (10 s) and its grants for the locks'
// Validity (30 s) otherwise, and the locks of its in-flight requests would
// keep other nodes' writers of those objects waiting (with one node of
// four down, a write lock needs every other server). A peer declared dead
// wrongly (busy, not dead) loses its grants too: its lockers find out at
// their next refresh or before their next commit (nslock.Lock.Confirm),
// and report the lock lost rather than write without it.
func (n *Node) dropLocks(peer string) {
	if n.lockSrv != nil {
		n.lockSrv.PeerDown(peer)
	}
}
