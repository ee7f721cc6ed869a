package bootstrap

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// TestFormatHandler checks the Format handler's guards: only the first
// node, only with our fingerprint, idempotent for one deployment, refused
// for another, never over a non-empty directory.
func TestFormatHandler(t *testing.T) {
	c := newTestCluster(t, 4, 2)
	ctx := testContext(t)
	var svcs []*Service
	for i := range c.nodes {
		svcs = append(svcs, c.start(i, nil))
	}
	for _, n := range c.nodes {
		if err := n.m.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dep, err := svcs[0].generate()
	if err != nil {
		t.Fatal(err)
	}
	req := func(d Deployment, fp string) *formatReq {
		return &formatReq{Fingerprint: fp, DeploymentID: d.ID, Sets: d.Sets, BitrotKey: d.BitrotKey}
	}
	call := func(from, to int, r *formatReq) (*formatResp, error) {
		return formatRPC.Call(ctx, c.nodes[from].m.Connection(c.addrs[to]), r)
	}
	junk := filepath.Join(c.paths[2][1], "x", "y")
	writeJunk(t, junk)

	if _, err := call(1, 2, req(dep, svcs[1].fp)); !errors.Is(err, ErrNotFirstNode) {
		t.Fatalf("format from node 1: %v, want ErrNotFirstNode", err)
	}
	if _, err := call(0, 2, req(dep, "0000")); !errors.Is(err, ErrTopologyMismatch) {
		t.Fatalf("format with another fingerprint: %v, want ErrTopologyMismatch", err)
	}
	for _, p := range c.paths[2] {
		if _, err := local.LoadFormat(p); !errors.Is(err, storage.ErrUnformatted) {
			t.Fatalf("a refused request formatted %s: %v", p, err)
		}
	}

	resp, err := call(0, 2, req(dep, svcs[0].fp))
	if err != nil || !slices.Equal(resp.Formatted, []int{c.driveIndex(2, 0)}) {
		t.Fatalf("format: %+v, %v: want the empty drive formatted, the other left", resp, err)
	}
	checkJunk(t, c.paths[2][1], junk)
	// Again: nothing to do, no error.
	if resp, err := call(0, 2, req(dep, svcs[0].fp)); err != nil || len(resp.Formatted) != 0 {
		t.Fatalf("format again: %+v, %v", resp, err)
	}
	// Another deployment: refused, the drive keeps its record.
	other, _ := svcs[0].generate()
	if _, err := call(0, 2, req(other, svcs[0].fp)); !errors.Is(err, ErrForeignDrive) || !strings.Contains(err.Error(), dep.ID) {
		t.Fatalf("format for another deployment: %v, want ErrForeignDrive naming %s", err, dep.ID)
	}
	if f, err := local.LoadFormat(c.paths[2][0]); err != nil || f.DeploymentID != dep.ID {
		t.Fatalf("record after the refused request: %+v, %v", f, err)
	}
	// A malformed deployment is refused before anything is touched.
	bad := dep
	bad.Sets = bad.Sets[:0]
	_, err = call(0, 3, req(bad, svcs[0].fp))
	var re *grid.RemoteErr
	if !errors.Is(err, storage.ErrInvalidArgument) || !errors.As(err, &re) {
		t.Fatalf("format with no sets: %v, want a remote ErrInvalidArgument", err)
	}
}

func TestDrivesWire(t *testing.T) {
	v := decideCase{nodes: 1, drives: "ABAE", status: "R"}.view(t)
	in := append(v.Nodes[0].Drives,
		DriveInfo{Index: 4, State: DriveNotEmpty, Reason: "found x"},
		DriveInfo{Index: 5, State: DriveOffline, Reason: "gone"})
	deps, msgs := drivesToWire(in)
	if len(deps) != 2 {
		t.Fatalf("%d deployments on the wire, want each once: 2", len(deps))
	}
	resp := infoResp{Deployments: deps, Drives: msgs}
	b, err := resp.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got infoResp
	if _, err := got.UnmarshalMsg(b); err != nil {
		t.Fatal(err)
	}
	out := drivesFromWire(got.Deployments, got.Drives)
	if len(out) != len(in) {
		t.Fatalf("%d drives back, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Index != b.Index || a.State != b.State || a.Reason != b.Reason || a.Format.DriveID != b.Format.DriveID ||
			(a.State == DriveFormatted && !deploymentOf(a.Format).Equal(deploymentOf(b.Format))) {
			t.Fatalf("drive %d: sent %+v, got %+v", i, a, b)
		}
	}
	// What this build cannot interpret is unknown, never guessed.
	odd := drivesFromWire(deps, []driveMsg{{Index: 0, State: 99}, {Index: 1, State: uint8(DriveFormatted), Deployment: 7}})
	for _, d := range odd {
		if d.State != DriveUnknown {
			t.Fatalf("odd report decoded as %v", d.State)
		}
	}
}

func TestTopologyDiff(t *testing.T) {
	base := topology{Endpoints: []string{"http://a:1/d", "http://b:1/d", "http://c:1/d", "http://d:1/d"}, SetSize: 4, Parity: 2, GridVersion: 1, BootstrapVersion: 1}
	same := base
	same.Endpoints = slices.Clone(base.Endpoints)
	if same.fingerprint() != base.fingerprint() || base.diff(same) != "a different topology fingerprint" {
		t.Fatal("equal topologies differ")
	}
	for _, tc := range []struct {
		change func(*topology)
		want   string
	}{
		{func(t *topology) { t.Parity = 1 }, "parity 1, ours 2"},
		{func(t *topology) { t.SetSize = 8 }, "set size 8, ours 4"},
		{func(t *topology) { t.Endpoints = slices.Clone(t.Endpoints); t.Endpoints[2] = "http://x:1/d" }, "endpoint 2 is http://x:1/d, ours http://c:1/d"},
		{func(t *topology) { t.Endpoints = t.Endpoints[:3] }, "3 endpoints, ours 4"},
		{func(t *topology) { t.GridVersion = 2 }, "grid protocol 2, ours 1"},
		{func(t *topology) { t.BootstrapVersion = 2 }, "bootstrap protocol 2, ours 1"},
		{func(t *topology) { t.AppVersion = "v9" }, `version "v9", ours ""`},
		// Moving a string between fields must change the hash too.
		{func(t *topology) {
			t.Endpoints = []string{"http://a:1/dhttp://b:1/d", "", "http://c:1/d", "http://d:1/d"}
		}, "endpoint 0"},
	} {
		their := base
		tc.change(&their)
		if their.fingerprint() == base.fingerprint() {
			t.Errorf("%q: same fingerprint", tc.want)
		}
		if got := base.diff(their); !strings.Contains(got, tc.want) {
			t.Errorf("diff %q, want %q", got, tc.want)
		}
	}
}
