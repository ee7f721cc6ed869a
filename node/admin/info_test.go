package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage"
)

const testBound = 100 * time.Millisecond

// testSources is a 4-node deployment of 2 drives per node, 2 sets of 4
// (parity 2), seen from node1: node4 is down (its drives fail), node3's
// second drive hangs beyond the bound ignoring its context, node2's second
// drive is healing. Set 0 has 3 of 4 drives and takes writes; set 1 has 2
// of 4: readable, not writable.
func testSources(t *testing.T) Sources {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	nodes := []string{"node1:9000", "node2:9000", "node3:9000", "node4:9000"}
	src := Sources{
		DeploymentID: "8f3c2a9e-1b7d-4c6e-9a0f-2d5b8e7c1a34",
		Self:         nodes[0],
		Nodes:        nodes,
		Parity:       []int{2, 2},
		DriveTimeout: testBound,
		Grid: func() []grid.PeerStats {
			return []grid.PeerStats{
				{Addr: "node4:9000", State: grid.StateDisconnected, Connects: 1, LastError: "dial tcp 10.0.0.4:9000: connect: connection refused"},
				{Addr: "node2:9000", State: grid.StateConnected, RTT: 1234 * time.Microsecond, Connects: 1, LastActive: 300 * time.Millisecond},
				{Addr: "node3:9000", State: grid.StateConnected, RTT: 850 * time.Microsecond, Connects: 3, InFlight: 2, LastActive: 1200 * time.Millisecond, LastError: "ping timeout"},
			}
		},
		Gossip: func(addr string) string {
			if addr == "node4:9000" {
				return "dead"
			}
			return "alive"
		},
	}
	for i := range 8 {
		node, disk := nodes[i%4], i/4+1
		d := Drive{Index: i, Set: i / 4, Position: i % 4, Node: node, Endpoint: fmt.Sprintf("http://%s/data%d", node, disk)}
		gib := uint64(1) << 30
		di := storage.DiskInfo{Endpoint: d.Endpoint, Total: 100 * gib, Free: uint64(60-i) * gib, Used: uint64(40+i) * gib, Online: true}
		switch {
		case node == "node4:9000":
			d.DiskInfo = func(ctx context.Context) (storage.DiskInfo, error) {
				return storage.DiskInfo{}, errors.New("grid: peer disconnected")
			}
		case node == "node3:9000" && disk == 1:
			// Out of service for hanging: its node answers from memory.
			faulty := di
			faulty.Online = false
			faulty.Health = storage.DriveHealth{State: storage.HealthFaulty, Timeouts: 4, Consecutive: 3, Abandoned: 2,
				LastErr: "3 calls in a row timed out, the last ReadVersion after 5s"}
			d.DiskInfo = func(ctx context.Context) (storage.DiskInfo, error) { return faulty, nil }
		case node == "node3:9000" && disk == 2:
			d.DiskInfo = func(ctx context.Context) (storage.DiskInfo, error) {
				<-release // hangs, whatever ctx says
				return di, nil
			}
		default:
			if node == "node2:9000" && disk == 2 {
				di.Healing = true
			}
			di.Health = storage.DriveHealth{State: storage.HealthOK}
			if node == "node2:9000" && disk == 1 {
				// Timed out once, then answered again: in service.
				di.Health.Timeouts = 1
			}
			d.DiskInfo = func(ctx context.Context) (storage.DiskInfo, error) { return di, nil }
		}
		src.Drives = append(src.Drives, d)
	}
	return src
}

func TestCollect(t *testing.T) {
	src := testSources(t)
	begin := time.Now()
	info := Collect(context.Background(), src)
	if d := time.Since(begin); d > testBound+time.Second {
		t.Fatalf("Collect took %v with a %v bound", d, testBound)
	}

	if info.DeploymentID != src.DeploymentID || info.Node != "node1:9000" {
		t.Errorf("deployment %q node %q", info.DeploymentID, info.Node)
	}
	wantNodes := []NodeInfo{
		{Address: "node1:9000", State: NodeUp, Self: true, Gossip: "alive"},
		{Address: "node2:9000", State: NodeUp, RTT: 1234 * time.Microsecond, Gossip: "alive"},
		{Address: "node3:9000", State: NodeUp, RTT: 850 * time.Microsecond, Gossip: "alive"},
		{Address: "node4:9000", State: NodeDown, LastError: "dial tcp 10.0.0.4:9000: connect: connection refused", Gossip: "dead"},
	}
	if fmt.Sprint(info.Nodes) != fmt.Sprint(wantNodes) {
		t.Errorf("nodes\n got %+v\nwant %+v", info.Nodes, wantNodes)
	}

	if len(info.Drives) != 8 {
		t.Fatalf("%d drives, want 8", len(info.Drives))
	}
	for i, d := range info.Drives {
		if d.Index != i || d.Set != i/4 || d.Position != i%4 {
			t.Errorf("drive %d: %+v", i, d)
		}
		var wantState, wantErr string
		switch {
		case strings.HasPrefix(d.Node, "node4"):
			wantState, wantErr = DriveOffline, "grid: peer disconnected"
		case i == 6:
			wantState, wantErr = DriveOffline, "no answer within 100ms"
		case i == 2:
			wantState, wantErr = DriveFaulty, "faulty, probing: 3 calls in a row timed out, the last ReadVersion after 5s"
		default:
			wantState = DriveOnline
		}
		if d.State != wantState || d.Error != wantErr {
			t.Errorf("drive %d: state %q error %q, want %q %q", i, d.State, d.Error, wantState, wantErr)
		}
		if d.State == DriveOnline && (d.Total != 100<<30 || d.Free != uint64(60-i)<<30) {
			t.Errorf("drive %d: total %d free %d", i, d.Total, d.Free)
		}
		if d.State != DriveOnline && d.Total != 0 {
			t.Errorf("%s drive %d reports figures: %+v", d.State, i, d)
		}
		var wantTimeouts uint64
		var wantStuck int
		switch i {
		case 1:
			wantTimeouts = 1
		case 2:
			wantTimeouts, wantStuck = 4, 2
		}
		if d.Timeouts != wantTimeouts || d.Stuck != wantStuck {
			t.Errorf("drive %d: %d timeouts, %d stuck; want %d, %d", i, d.Timeouts, d.Stuck, wantTimeouts, wantStuck)
		}
		if d.Healing != (i == 5) {
			t.Errorf("drive %d healing %v", i, d.Healing)
		}
	}

	wantSets := []SetInfo{
		{Index: 0, Drives: 4, Online: 2, Parity: 2, ReadQuorum: 2, WriteQuorum: 3, ReadQuorumAvailable: true, WriteQuorumAvailable: false},
		{Index: 1, Drives: 4, Online: 2, Parity: 2, ReadQuorum: 2, WriteQuorum: 3, ReadQuorumAvailable: true, WriteQuorumAvailable: false},
	}
	if fmt.Sprint(info.Sets) != fmt.Sprint(wantSets) {
		t.Errorf("sets\n got %+v\nwant %+v", info.Sets, wantSets)
	}

	if len(info.Grid) != 3 || info.Grid[0].Peer != "node2:9000" || info.Grid[1].Reconnects != 2 ||
		info.Grid[1].InFlight != 2 || info.Grid[2].State != "disconnected" {
		t.Errorf("grid %+v", info.Grid)
	}
}

// TestCollectSets: the sets come from Sets (the object layer) when given,
// with the parity from Parity.
func TestCollectSets(t *testing.T) {
	src := testSources(t)
	src.Sets = func(ctx context.Context) []object.SetHealth {
		return []object.SetHealth{
			{Set: 0, Drives: 4, Online: 4, ReadQuorum: 2, WriteQuorum: 3, ReadQuorumAvailable: true, WriteQuorumAvailable: true},
			{Set: 1, Drives: 4, Online: 1, ReadQuorum: 2, WriteQuorum: 3},
		}
	}
	info := Collect(context.Background(), src)
	want := []SetInfo{
		{Index: 0, Drives: 4, Online: 4, Parity: 2, ReadQuorum: 2, WriteQuorum: 3, ReadQuorumAvailable: true, WriteQuorumAvailable: true},
		{Index: 1, Drives: 4, Online: 1, Parity: 2, ReadQuorum: 2, WriteQuorum: 3},
	}
	if fmt.Sprint(info.Sets) != fmt.Sprint(want) {
		t.Errorf("sets\n got %+v\nwant %+v", info.Sets, want)
	}

	// A Sets call that hangs is abandoned after the bound; the sets are
	// then worked out from the drives.
	release := make(chan struct{})
	defer close(release)
	src.Sets = func(ctx context.Context) []object.SetHealth { <-release; return nil }
	info = Collect(context.Background(), src)
	if len(info.Sets) != 2 || info.Sets[1].Online != 2 {
		t.Errorf("sets from drives: %+v", info.Sets)
	}
}

// TestCollectDefaultBound: without DriveTimeout, each drive is asked with
// a context ending within DriveTimeout.
func TestCollectDefaultBound(t *testing.T) {
	var left time.Duration
	src := Sources{Self: "n1", Nodes: []string{"n1"}, Drives: []Drive{{Node: "n1", DiskInfo: func(ctx context.Context) (storage.DiskInfo, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return storage.DiskInfo{}, errors.New("no deadline")
		}
		left = time.Until(dl)
		return storage.DiskInfo{Online: true}, nil
	}}, {Node: "n1", Index: 1, Position: 1}}}
	info := Collect(context.Background(), src)
	if left <= 0 || left > DriveTimeout {
		t.Errorf("drive asked with %v left, want within %v", left, DriveTimeout)
	}
	if info.Drives[0].State != DriveOnline {
		t.Errorf("drive 0: %+v", info.Drives[0])
	}
	if d := info.Drives[1]; d.State != DriveOffline || d.Error != errNoHandle.Error() {
		t.Errorf("drive without a handle: %+v", d)
	}
	if len(info.Grid) != 0 || len(info.Nodes) != 1 || info.Nodes[0].State != NodeUp {
		t.Errorf("single node: nodes %+v grid %+v", info.Nodes, info.Grid)
	}
}

func TestCollectCancelled(t *testing.T) {
	src := testSources(t)
	src.DriveTimeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	info := Collect(ctx, src)
	if d := info.Drives[6]; d.State != DriveOffline || !strings.HasPrefix(d.Error, "abandoned: ") {
		t.Errorf("hung drive after the caller gave up: %+v", d)
	}
}
