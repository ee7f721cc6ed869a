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

// watchLiveness logs memberlist's events and, once each time it starts and
// once when it ends, every disagreement between memberlist's view of a peer
// and the grid's: a peer memberlist holds dead while its grid connection
// is up (a one-way partition, a gossip port blocked by a firewall), or one
// it holds alive while the grid cannot connect to it.
func (n *Node) watchLiveness() {
	events, cancel := n.members.Subscribe()
	defer cancel()
	t := time.NewTicker(livenessCheckInterval)
	defer t.Stop()
	disagree := map[string]string{} // peer -> what was logged
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev := <-events:
			n.log.Info("cluster: peer "+ev.Kind.String(), zap.String("peer", ev.Node))
		case <-t.C:
			for _, peer := range n.nodeHosts() {
				if peer == n.self { // gossip runs only beside a grid: n.grid is set
					continue
				}
				ml := n.members.State(peer)
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
