package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
)

// PathPrefix is the path every admin API request starts with. The version
// is in the path so that an incompatible change gets a new prefix and old
// clients a clear 404, not a misread answer.
const PathPrefix = "/gridstore/admin/v1/"

// DriveTimeout bounds each drive's DiskInfo (and the sets' probe) in
// Collect, so that a hung drive or a paused node cannot hold the answer:
// DESIGN §7, a slow node stalls nobody else.
const DriveTimeout = 2 * time.Second

// Node states in NodeInfo.State.
const (
	NodeUp   = "up"
	NodeDown = "down"
)

// Drive states in DriveInfo.State.
const (
	DriveOnline  = "online"
	DriveOffline = "offline"
	// DriveFaulty: the drive kept timing out and its node took it out of
	// service (storage/health) until a probe finds it working again.
	DriveFaulty = "faulty"
)

// Info is what a node knows about the deployment; GET PathPrefix+"info"
// answers it as JSON.
type Info struct {
	DeploymentID string
	// Node is the address of the node that answered.
	Node string
	// Nodes is every node of the topology, in topology order.
	Nodes []NodeInfo
	// Drives is every drive of the deployment, in Index order.
	Drives []DriveInfo
	// Sets is every erasure set, in layout order.
	Sets []SetInfo
	// Grid is the answering node's grid connections, by peer address;
	// empty for a single node.
	Grid []GridConnInfo
}

// NodeInfo is one node of the topology as the answering node sees it.
type NodeInfo struct {
	Address string
	// State is NodeUp (the answering node itself, or its grid connection
	// to the node is up) or NodeDown.
	State string
	// Self marks the answering node.
	Self bool
	// RTT is the last ping round trip over the grid; 0 for Self.
	RTT time.Duration
	// Gossip is memberlist's view of the node (node/cluster: alive, dead
	// or unknown), beside the grid's in State; empty without gossip.
	Gossip string `json:",omitempty"`
	// LastError says why the grid connection last ended or failed.
	LastError string `json:",omitempty"`
}

// DriveInfo is one drive of the deployment.
type DriveInfo struct {
	Index    int
	Endpoint string
	Node     string
	Set      int
	Position int
	// State is DriveOnline, DriveFaulty (out of service for hanging; Error
	// says why) or DriveOffline (no answer within DriveTimeout, an error,
	// or the drive reports itself unreachable).
	State   string
	Healing bool
	// Total, Free and Used are bytes; 0 for a drive not online.
	Total, Free, Used uint64
	// Timeouts counts the drive's calls that did not return within their
	// deadline since its node started watching it, Stuck those given up
	// on that are still inside the drive; both 0 when not known (an
	// offline drive, or one nobody watches).
	Timeouts uint64 `json:",omitempty"`
	Stuck    int    `json:",omitempty"`
	// Error says why a drive is offline or faulty.
	Error string `json:",omitempty"`
}

// SetInfo is one erasure set.
type SetInfo struct {
	Index int
	// Drives is the set's size, Online how many of them answered.
	Drives, Online int
	// Parity is the set's default parity; Drives-Parity is its data shard
	// count.
	Parity int
	// ReadQuorum and WriteQuorum are at the default parity, with every
	// drive online.
	ReadQuorum, WriteQuorum int
	// ReadQuorumAvailable: objects written at the default parity can be
	// read now.
	ReadQuorumAvailable bool
	// WriteQuorumAvailable: a PUT would be accepted now (at the parity it
	// is raised to with the offline drives left out).
	WriteQuorumAvailable bool
}

// GridConnInfo is one of the answering node's grid connections.
type GridConnInfo struct {
	Peer string
	// State is grid.State's name: connected, connecting, disconnected or
	// closed.
	State string
	RTT   time.Duration
	// Reconnects counts connections established after the first.
	Reconnects uint64
	// InFlight counts single requests and streams open.
	InFlight int
	// LastActive is the time since anything was received from the peer.
	LastActive time.Duration
	LastError  string `json:",omitempty"`
}

// Drive is one drive of the deployment as Collect sees it: where it sits and
// how to ask it for its DiskInfo (a local drive or a remote handle).
type Drive struct {
	Index, Set, Position int
	Node, Endpoint       string
	DiskInfo             func(ctx context.Context) (storage.DiskInfo, error)
}

// Sources is what a node gives Collect and NewHandler.
type Sources struct {
	DeploymentID string
	// Self is this node's address.
	Self string
	// Nodes is every node of the topology, in order.
	Nodes []string
	// Drives is every drive of the deployment (local and remote handles).
	Drives []Drive
	// Parity is the default parity of each set, by set index.
	Parity []int
	// Sets returns the sets' health (object.Layer.Health); nil derives it
	// from the drives' answers.
	Sets func(ctx context.Context) []object.SetHealth
	// Grid returns this node's grid connections; nil for a single node.
	Grid func() []grid.PeerStats
	// Gossip returns memberlist's view of a node (by address); nil
	// without gossip.
	Gossip func(addr string) string
	// DriveTimeout bounds each drive's DiskInfo and the Sets call; 0 means
	// DriveTimeout.
	DriveTimeout time.Duration
	// Heal returns what the node is healing (GET heal); nil answers an
	// empty HealInfo. It must not block.
	Heal func() HealInfo
}

// errNoHandle is the error of a Drive without a DiskInfo function.
var errNoHandle = errors.New("no handle for the drive")

// Collect gathers Info from src: the DiskInfo of every drive in parallel,
// each bounded by src.DriveTimeout, the sets' health alongside, and the
// grid's state. It always returns an Info; what could not be learnt shows
// as offline, down or with an error text. It returns as soon as everything
// answered, or at most about the bound later, even if a drive ignores its
// context (its call is then abandoned).
func Collect(ctx context.Context, src Sources) Info {
	bound := src.DriveTimeout
	if bound <= 0 {
		bound = DriveTimeout
	}
	info := Info{DeploymentID: src.DeploymentID, Node: src.Self}

	var setsHealth []object.SetHealth
	var wg sync.WaitGroup
	if src.Sets != nil {
		wg.Go(func() {
			setsHealth, _ = bounded(ctx, bound, src.Sets)
		})
	}

	info.Drives = make([]DriveInfo, len(src.Drives))
	for i, d := range src.Drives {
		wg.Go(func() { info.Drives[i] = collectDrive(ctx, bound, d) })
	}

	var peers []grid.PeerStats
	if src.Grid != nil {
		peers = src.Grid()
	}
	wg.Wait()

	sort.SliceStable(info.Drives, func(i, j int) bool { return info.Drives[i].Index < info.Drives[j].Index })
	info.Nodes = nodes(src, peers)
	info.Grid = gridConns(peers)
	if setsHealth != nil {
		info.Sets = setsFromHealth(src.Parity, setsHealth)
	} else {
		info.Sets = setsFromDrives(src.Parity, info.Drives)
	}
	return info
}

// bounded calls fn with a context bounded by d and waits for it at most
// that long, whether or not fn honours its context. The error is the
// context's if fn did not answer in time; fn's goroutine then ends when fn
// returns.
func bounded[T any](ctx context.Context, d time.Duration, fn func(context.Context) T) (v T, err error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan T, 1) // buffered: a late answer must not block
	go func() { done <- fn(ctx) }()
	select {
	case v = <-done:
		return v, nil
	case <-ctx.Done():
		return v, ctx.Err()
	}
}

type diskResult struct {
	di  storage.DiskInfo
	err error
}

func collectDrive(ctx context.Context, bound time.Duration, d Drive) DriveInfo {
	out := DriveInfo{
		Index: d.Index, Endpoint: d.Endpoint, Node: d.Node, Set: d.Set, Position: d.Position,
		State: DriveOffline,
	}
	if d.DiskInfo == nil {
		out.Error = errNoHandle.Error()
		return out
	}
	r, err := bounded(ctx, bound, func(ctx context.Context) diskResult {
		di, err := d.DiskInfo(ctx)
		return diskResult{di, err}
	})
	if err == nil {
		// A drive that timed out still tells its health with its error.
		out.Timeouts, out.Stuck = r.di.Health.Timeouts, r.di.Health.Abandoned
	}
	switch {
	case err != nil && ctx.Err() == nil:
		out.Error = fmt.Sprintf("no answer within %v", bound)
	case err != nil:
		out.Error = fmt.Sprintf("abandoned: %v", ctx.Err())
	case r.err != nil:
		out.Error = r.err.Error()
	case r.di.Health.State == storage.HealthFaulty:
		out.State = DriveFaulty
		out.Error = faultyReason(r.di.Health)
	case !r.di.Online:
		out.Error = "drive reports itself offline"
	default:
		out.State = DriveOnline
		out.Healing = r.di.Healing
		out.Total, out.Free, out.Used = r.di.Total, r.di.Free, r.di.Used
	}
	return out
}

// faultyReason says why a faulty drive is out of service, for an operator.
func faultyReason(h storage.DriveHealth) string {
	why := h.LastErr
	if why == "" {
		why = "out of service"
	}
	// The counts have their own fields (Timeouts, Stuck).
	return "faulty, probing: " + why
}

func nodes(src Sources, peers []grid.PeerStats) []NodeInfo {
	byAddr := make(map[string]grid.PeerStats, len(peers))
	for _, p := range peers {
		byAddr[p.Addr] = p
	}
	out := make([]NodeInfo, 0, len(src.Nodes))
	for _, addr := range src.Nodes {
		n := NodeInfo{Address: addr, State: NodeDown}
		switch p, ok := byAddr[addr]; {
		case addr == src.Self:
			n.State, n.Self = NodeUp, true
		case !ok:
			n.LastError = "no grid connection to it"
		default:
			if p.State == grid.StateConnected {
				n.State = NodeUp
				n.RTT = p.RTT
			} else {
				n.LastError = p.LastError
				if n.LastError == "" {
					n.LastError = "grid " + p.State.String()
				}
			}
		}
		if src.Gossip != nil {
			n.Gossip = src.Gossip(addr)
		}
		out = append(out, n)
	}
	return out
}

func gridConns(peers []grid.PeerStats) []GridConnInfo {
	out := make([]GridConnInfo, 0, len(peers))
	for _, p := range peers {
		var reconnects uint64
		if p.Connects > 1 {
			reconnects = p.Connects - 1
		}
		out = append(out, GridConnInfo{
			Peer: p.Addr, State: p.State.String(), RTT: p.RTT, Reconnects: reconnects,
			InFlight: p.InFlight, LastActive: p.LastActive, LastError: p.LastError,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out
}

func parityOf(parity []int, set, size int) int {
	if set >= 0 && set < len(parity) && parity[set] > 0 {
		return parity[set]
	}
	return layout.DefaultParity(size)
}

func setsFromHealth(parity []int, health []object.SetHealth) []SetInfo {
	out := make([]SetInfo, 0, len(health))
	for _, h := range health {
		out = append(out, SetInfo{
			Index: h.Set, Drives: h.Drives, Online: h.Online,
			Parity:     parityOf(parity, h.Set, h.Drives),
			ReadQuorum: h.ReadQuorum, WriteQuorum: h.WriteQuorum,
			ReadQuorumAvailable:  h.ReadQuorumAvailable,
			WriteQuorumAvailable: h.WriteQuorumAvailable,
		})
	}
	return out
}

// setsFromDrives works the sets' health out from the drives' answers, the
// way object.Layer.Health does, for a node without an object layer.
func setsFromDrives(parity []int, drives []DriveInfo) []SetInfo {
	bySet := map[int]*SetInfo{}
	for _, d := range drives {
		s := bySet[d.Set]
		if s == nil {
			s = &SetInfo{Index: d.Set}
			bySet[d.Set] = s
		}
		s.Drives++
		if d.State == DriveOnline {
			s.Online++
		}
	}
	out := make([]SetInfo, 0, len(bySet))
	for _, s := range bySet {
		s.Parity = parityOf(parity, s.Index, s.Drives)
		s.ReadQuorum = layout.ReadQuorum(s.Drives, s.Parity)
		s.WriteQuorum = layout.WriteQuorum(s.Drives, s.Parity)
		s.ReadQuorumAvailable = s.Online >= s.ReadQuorum
		_, s.WriteQuorumAvailable = layout.AdjustParity(s.Drives, s.Parity, s.Drives-s.Online)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}
