package cluster

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrConfig is wrapped by every error New returns for a Config it cannot
// use, so callers can tell a misconfiguration from a failure to bind.
var ErrConfig = errors.New("invalid cluster configuration")

// Config configures a Cluster. Start from DefaultConfig (production) or
// TestConfig (tests on one machine) and set Self, Peers and Secret.
type Config struct {
	// Self is this node's name: its host:port exactly as the endpoint list
	// writes it, the same string the grid uses for it.
	Self string
	// Peers are the names (host:port) of every node of the deployment.
	// Self may be among them. A node whose name is not here is refused
	// membership even if it has the secret.
	Peers []string
	// Secret is the cluster secret every node shares (at least 16 bytes).
	// The gossip encryption key is derived from it (GossipKey); neither is
	// ever logged.
	Secret []byte

	// BindAddr is the IP gossip listens on; "" means every interface
	// (0.0.0.0). A node that listens on one address should pass that one.
	BindAddr string
	// Port is the gossip port (UDP and TCP). 0 derives it from each
	// node's own port with GossipPort, for this node and for its peers. A
	// non-zero Port is taken as the gossip port of every node, so it must
	// be set alike on all of them (and then only one node per host fits).
	Port int
	// AdvertiseAddr is the IP the other nodes reach this node's gossip at.
	// "" resolves the host of Self, since that is how the others name us.
	AdvertiseAddr string

	// ProbeInterval is how often this node probes one peer (round robin
	// over the peers in a shuffled order). ProbeTimeout is how long the
	// direct UDP ping may take before indirect pings (through
	// IndirectChecks other nodes) and a TCP ping are tried as well; all of
	// them must answer within ProbeInterval or the peer becomes suspect.
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// IndirectChecks is how many nodes are asked to ping a peer that did
	// not answer a direct ping.
	IndirectChecks int
	// SuspicionMult sets how long a suspect has to refute before it is
	// declared dead: SuspicionMult × max(1, log10 N) × ProbeInterval when
	// SuspicionMult−2 other nodes confirm the suspicion, up to
	// SuspicionMaxTimeoutMult times that when none does (Lifeguard).
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier bounds how far a node that sees its own
	// probes fail stretches its probe interval (Lifeguard's local health):
	// a node that is itself slow accuses its peers less.
	AwarenessMaxMultiplier int
	// GossipInterval and GossipNodes: every GossipInterval, pending
	// messages (alive, suspect, dead) go to GossipNodes random nodes. Each
	// message is sent RetransmitMult × ceil(log10(N+1)) times by every node
	// that learns it.
	GossipInterval time.Duration
	GossipNodes    int
	RetransmitMult int
	// PushPullInterval is how often a node exchanges its full state with
	// one random live node (anti-entropy over TCP).
	PushPullInterval time.Duration
	// GossipToTheDeadTime is how long a node keeps gossiping to a peer it
	// declared dead, so that the peer can refute.
	GossipToTheDeadTime time.Duration
	// DeadNodeReclaimTime is how long after a peer was declared dead a
	// node of the same name may come back from another address (a
	// container restarted with a new IP).
	DeadNodeReclaimTime time.Duration
	// TCPTimeout bounds one TCP exchange: a join, a push/pull. Close may
	// wait for one join in flight, so it is also Close's worst case.
	TCPTimeout time.Duration
	// LeaveTimeout bounds how long Close waits for the leave message to go
	// out, so that the others see a clean leave rather than a death.
	LeaveTimeout time.Duration

	// RejoinMin and RejoinMax bound the exponential backoff between two
	// attempts to join a peer that is not alive: at start until it
	// answers, and after it died, because memberlist alone does not
	// reconnect the two sides of a healed partition.
	RejoinMin, RejoinMax time.Duration
	// StartupGrace is how long a peer may go unheard of after New before
	// it counts as Dead. 0 keeps never-heard-of peers Unknown forever.
	StartupGrace time.Duration
	// EventBuffer is each subscriber's channel capacity; an event that
	// finds the buffer full is dropped and counted.
	EventBuffer int

	// wrapTransport, if set, wraps the UDP/TCP transport (tests: pause,
	// delay or cut a node's traffic). gossipAddr is this node's address.
	wrapTransport func(gossipAddr string, t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
}

// DefaultConfig returns production settings: a crashed, partitioned or
// SIGSTOPped peer is declared dead in about 1–2 s on a LAN of 4–16 nodes,
// while a node answering late because it is busy is not.
//
// Detection of a dead peer, N nodes, N−1 of them alive:
//
//  1. First probe: each live node probes one peer per ProbeInterval
//     (200 ms) in shuffled round robin, so together they probe the dead
//     one about once per interval: 0–200 ms, ~100 ms on average.
//  2. That probe fails: no ack to the direct ping within ProbeTimeout
//     (100 ms), then none to the indirect pings (3 nodes) or the TCP ping
//     before ProbeInterval runs out: suspect at +200 ms.
//  3. Suspicion: min = SuspicionMult × max(1, log10 N) × ProbeInterval =
//     4 × 1 × 200 ms = 800 ms for N ≤ 10 (960 ms at N = 16). The timer
//     starts at max = SuspicionMaxTimeoutMult × min = 2.4 s and falls to
//     min once k = SuspicionMult−2 = 2 other nodes have confirmed by
//     failing their own probes (1 confirmation: 1.39 s). Every node probes
//     it within N−1 intervals, so confirmations come within ~0.2–0.8 s at
//     N = 4 and faster at N = 16: the suspicion lasts ~0.8–1.4 s. With
//     N = 3 there is nobody to confirm (k = 0) and it lasts min, 800 ms.
//  4. The dead message spreads by gossip (every 100 ms to 3 nodes, each
//     message sent 4 × ceil(log10(N+1)) times by every node that has it)
//     and piggybacked on probes: 1–2 hops, ≤ 200 ms.
//
// Total ≈ (0…0.2) + 0.2 + (0.8…1.4) + (0…0.2) ≈ 1.0–1.8 s; measured
// 1.0–1.7 s with 4 nodes on loopback, in process and as real processes
// killed or SIGSTOPped (docs/benchmarks.md). The worst case, a peer only
// one node cannot reach so that nobody confirms, is ~2.9 s — and then the
// peer is likely alive and refutes.
//
// A busy node is not declared dead: a ping it answers within ProbeTimeout
// or, through the indirect and TCP pings, within ProbeInterval leaves it
// alive; one it answers later makes it suspect, but it refutes as soon as it
// runs again (the suspicion is piggybacked on the next ping and gossiped to
// it), and the refutation has the whole suspicion (≥ 0.8 s) to arrive. So a
// node whose memberlist goroutines are held up for less than about 1 s —
// GC, CPU throttling, steal, a saturated host — stays alive, which is what
// TestBusyNodeStaysAlive shows; only longer silences count as death. A busy
// node's own probes failing without the nacks Lifeguard expects raise its
// awareness score, which stretches its probe interval (up to 8×) so that it
// does not accuse healthy peers on the strength of its own slowness.
func DefaultConfig() Config {
	return Config{
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 3,
		AwarenessMaxMultiplier:  8,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             3,
		RetransmitMult:          4,
		PushPullInterval:        15 * time.Second,
		GossipToTheDeadTime:     30 * time.Second,
		DeadNodeReclaimTime:     time.Second,
		TCPTimeout:              2 * time.Second,
		LeaveTimeout:            time.Second,
		RejoinMin:               time.Second,
		RejoinMax:               10 * time.Second,
		StartupGrace:            10 * time.Second,
		EventBuffer:             256,
	}
}

// TestConfig returns settings for tests on one machine: detection about
// twice as fast as DefaultConfig (suspicion 0.4–1.2 s), quick rejoins and a
// short start-up grace.
func TestConfig() Config {
	c := DefaultConfig()
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.GossipInterval = 50 * time.Millisecond
	c.PushPullInterval = 5 * time.Second
	c.GossipToTheDeadTime = 5 * time.Second
	c.DeadNodeReclaimTime = 200 * time.Millisecond
	c.TCPTimeout = time.Second
	c.LeaveTimeout = 500 * time.Millisecond
	c.RejoinMin = 100 * time.Millisecond
	c.RejoinMax = time.Second
	c.StartupGrace = 3 * time.Second
	return c
}

// GossipPort is the gossip port of a node whose endpoint port is nodePort:
// nodePort + 10000 when that is at most 65535, else nodePort − 10000. Every
// node derives its peers' gossip ports the same way, so nothing more has to
// be configured, and several nodes on one host (different node ports) get
// different gossip ports.
func GossipPort(nodePort int) int {
	if nodePort+10000 <= 65535 {
		return nodePort + 10000
	}
	return nodePort - 10000
}

// gossipKeyInfo labels the HKDF derivation so that the gossip key can never
// equal another key derived from the same cluster secret.
const gossipKeyInfo = "gridstore memberlist gossip key v1"

// GossipKey derives the 32-byte AES-256 key memberlist encrypts gossip with
// from the cluster secret (HKDF-SHA256, no salt, a fixed label). It is
// exported for tests and tooling; never log its result.
func GossipKey(secret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, gossipKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive gossip key: %w", err)
	}
	return k, nil
}

// splitName parses a node name (host:port) into its host and port.
func splitName(name string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(name)
	if err != nil {
		return "", 0, fmt.Errorf("node name %q: %w", name, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("node name %q: port must be a number in 1..65535", name)
	}
	if host == "" {
		return "", 0, fmt.Errorf("node name %q: empty host", name)
	}
	return host, port, nil
}

// gossipAddr is where the node named name gossips.
func (c *Config) gossipAddr(name string) (string, error) {
	host, port, err := splitName(name)
	if err != nil {
		return "", err
	}
	if c.Port != 0 {
		port = c.Port
	} else {
		port = GossipPort(port)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// validate checks c and returns the sorted, deduplicated peer names
// (Self included) with their gossip addresses.
func (c *Config) validate() (map[string]string, error) {
	var errs []error
	if c.Self == "" {
		errs = append(errs, errors.New("the node name (Self) is empty"))
	}
	if len(c.Secret) < 16 {
		errs = append(errs, errors.New("the cluster secret (Secret) must be at least 16 bytes"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("gossip port (Port) %d outside 0..65535", c.Port))
	}
	if c.BindAddr != "" && net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("bind address (BindAddr) %q is not an IP address", c.BindAddr))
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		errs = append(errs, fmt.Errorf("advertise address (AdvertiseAddr) %q is not an IP address", c.AdvertiseAddr))
	}
	if c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 || c.ProbeTimeout >= c.ProbeInterval {
		errs = append(errs, fmt.Errorf("need 0 < ProbeTimeout (%v) < ProbeInterval (%v)", c.ProbeTimeout, c.ProbeInterval))
	}
	if c.IndirectChecks < 0 || c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1 ||
		c.AwarenessMaxMultiplier < 1 || c.GossipNodes < 1 || c.RetransmitMult < 1 {
		errs = append(errs, errors.New("need IndirectChecks ≥ 0 and SuspicionMult, SuspicionMaxTimeoutMult, AwarenessMaxMultiplier, GossipNodes, RetransmitMult ≥ 1"))
	}
	if c.GossipInterval <= 0 || c.PushPullInterval < 0 || c.GossipToTheDeadTime < 0 ||
		c.DeadNodeReclaimTime < 0 || c.TCPTimeout <= 0 || c.LeaveTimeout < 0 || c.StartupGrace < 0 {
		errs = append(errs, errors.New("need GossipInterval and TCPTimeout positive, the other durations not negative"))
	}
	if c.RejoinMin <= 0 || c.RejoinMax < c.RejoinMin {
		errs = append(errs, fmt.Errorf("need 0 < RejoinMin (%v) ≤ RejoinMax (%v)", c.RejoinMin, c.RejoinMax))
	}
	if c.EventBuffer < 1 {
		errs = append(errs, fmt.Errorf("event buffer (EventBuffer) %d must be at least 1", c.EventBuffer))
	}
	peers := map[string]string{}
	owner := map[string]string{} // gossip address -> name
	for _, name := range append(slices.Clone(c.Peers), c.Self) {
		if _, dup := peers[name]; dup || name == "" {
			continue
		}
		addr, err := c.gossipAddr(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, clash := owner[addr]; clash {
			// Two nodes on one host with the same explicit Port.
			errs = append(errs, fmt.Errorf("nodes %s and %s would both gossip on %s", other, name, addr))
			continue
		}
		peers[name], owner[addr] = addr, name
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return peers, nil
}
