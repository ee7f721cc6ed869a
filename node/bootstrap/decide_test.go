package bootstrap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/object/layout"
)

// decideCase describes a View compactly. drives has one letter per drive
// (global index order):
//
//	E empty   A formatted for deployment A at its position
//	B formatted for deployment B   K deployment A's ID with another bitrot key
//	S deployment A, but the drive of the other position of its node (swapped)
//	N not empty   D damaged   O offline   ? unknown
//
// nodes has one letter per node: R reachable, U unreachable, M mismatch.
type decideCase struct {
	name      string
	nodes     int // drives per node is len(drives)/nodes
	drives    string
	status    string
	self      int
	generated string // "A" when this node generated deployment A
	setSize   int    // 0: chosen

	want      Action
	wantErr   error
	wantIn    []string  // substrings of Reason
	wantSteps []LocalOp // for Adopt: the step of each local drive
}

// testDeployment returns a deployment with deterministic IDs for layout l.
func testDeployment(t testing.TB, l *layout.Layout, name byte) Deployment {
	t.Helper()
	ids := make([]string, l.DriveCount())
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012d", name, i)
	}
	sets, err := l.FormatSets(ids)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	key[0] = name
	return Deployment{ID: fmt.Sprintf("%08x-1111-4000-8000-000000000000", name), Sets: sets, BitrotKey: key}
}

func driveIDAt(l *layout.Layout, dep Deployment, d int) string {
	s, p, _ := l.Position(d)
	return dep.Sets[s][p]
}

func (c decideCase) view(t testing.TB) View {
	t.Helper()
	perNode := len(c.drives) / c.nodes
	driveNodes := make([]string, len(c.drives))
	for d := range driveNodes {
		driveNodes[d] = fmt.Sprintf("n%d:9000", d/perNode)
	}
	if c.nodes == 1 {
		for d := range driveNodes {
			driveNodes[d] = ""
		}
	}
	l, err := layout.New(driveNodes, layout.Config{SetSize: c.setSize})
	if err != nil {
		t.Fatal(err)
	}
	a, b := testDeployment(t, l, 'A'), testDeployment(t, l, 'B')
	k := a
	k.BitrotKey = slices.Clone(a.BitrotKey)
	k.BitrotKey[1] = 0xff
	v := View{Layout: l, Self: c.self}
	if c.generated == "A" {
		v.Generated = &a
	}
	for n := range c.nodes {
		nv := NodeView{Addr: fmt.Sprintf("n%d:9000", n)}
		switch c.status[n] {
		case 'R':
			nv.Status = NodeReachable
		case 'U':
			nv.Status, nv.Detail = NodeUnreachable, "grid: disconnected"
		case 'M':
			nv.Status, nv.Detail = NodeMismatch, "parity 2, ours 4"
		}
		for d := n * perNode; d < (n+1)*perNode; d++ {
			nv.DriveIndexes = append(nv.DriveIndexes, d)
			info := DriveInfo{Index: d}
			switch c.drives[d] {
			case 'E':
				info.State = DriveEmpty
			case 'A':
				info.State, info.Format = DriveFormatted, a.spec(driveIDAt(l, a, d))
			case 'B':
				info.State, info.Format = DriveFormatted, b.spec(driveIDAt(l, b, d))
			case 'K':
				info.State, info.Format = DriveFormatted, k.spec(driveIDAt(l, k, d))
			case 'S':
				other := n*perNode + (d-n*perNode+1)%perNode
				info.State, info.Format = DriveFormatted, a.spec(driveIDAt(l, a, other))
			case 'N':
				info.State, info.Reason = DriveNotEmpty, "found \"photos\""
			case 'D':
				info.State, info.Reason = DriveDamaged, "format.json does not parse"
			case 'O':
				info.State, info.Reason = DriveOffline, "no such directory"
			case '?':
				continue
			}
			nv.Drives = append(nv.Drives, info)
		}
		v.Nodes = append(v.Nodes, nv)
	}
	return v
}

func TestDecide(t *testing.T) {
	open, format, skip := OpOpen, OpFormat, OpSkip
	cases := []decideCase{
		// A new cluster.
		{name: "fresh first node generates", nodes: 4, drives: "EEEEEEEE", status: "RRRR", self: 0, want: Generate},
		{name: "fresh other node waits for the first", nodes: 4, drives: "EEEEEEEE", status: "RRRR", self: 2, want: Wait, wantIn: []string{"waiting for the first node n0:9000"}},
		{name: "fresh first node unreachable", nodes: 4, drives: "EEEEEEEE", status: "URRR", self: 1, want: Wait, wantIn: []string{"waiting for n0:9000, the first node"}},
		{name: "fresh with one node down, write quorum reachable", nodes: 4, drives: "EEEEEEEE", status: "RRRU", self: 0, want: Generate},
		{name: "fresh with a remote offline drive, still write quorum", nodes: 4, drives: "EEEEEOEE", status: "RRRU", self: 0, want: Generate},
		{name: "fresh below write quorum waits", nodes: 4, drives: "EEEEOOEE", status: "RRRU", self: 0, want: Wait, wantIn: []string{"every set needs 5 empty drives", "set 0 has 4", "unreachable nodes: n3:9000"}},
		{name: "fresh below write quorum, all known, refuses", nodes: 4, drives: "EEENNNNE", status: "RRRR", self: 0, want: Refuse, wantErr: ErrNoQuorum},
		{name: "fresh with a remote non-empty drive generates", nodes: 4, drives: "EEENEEEE", status: "RRRR", self: 0, want: Generate},
		{name: "fresh with a remote damaged drive refuses", nodes: 4, drives: "EEEDEEEE", status: "RRRR", self: 0, want: Refuse, wantErr: ErrNoQuorum, wantIn: []string{"damaged: drives [3]"}},
		{name: "fresh with a remote damaged drive, node down, waits", nodes: 4, drives: "EEEDEEEE", status: "RRRU", self: 0, want: Wait},
		{name: "generated, nothing visible yet: format again, never generate", nodes: 4, drives: "EEEEEEEE", status: "RRRR", self: 0, generated: "A", want: FormatPeers},
		{name: "generated, below quorum: format peers", nodes: 4, drives: "AAEEEEEE", status: "RRRR", self: 0, generated: "A", want: FormatPeers},
		{name: "generated and quorate: adopt", nodes: 4, drives: "AAAAEEEE", status: "RRRR", self: 0, generated: "A", want: Adopt, wantSteps: []LocalOp{open, open}},

		// Node quorum.
		{name: "alone waits naming the missing nodes", nodes: 4, drives: "EEEEEEEE", status: "RUUU", self: 0, want: Wait, wantIn: []string{"n1:9000, n2:9000, n3:9000", "1 of 4 reachable, 3 needed"}},
		{name: "two of four wait", nodes: 4, drives: "AAAAAAAA", status: "RRUU", self: 1, want: Wait, wantIn: []string{"n2:9000, n3:9000"}},
		{name: "alone with formatted drives still waits", nodes: 4, drives: "AAAAAAAA", status: "RUUU", self: 0, want: Wait},
		{name: "minority topology refuses", nodes: 4, drives: "EEEEEEEE", status: "MMMR", self: 3, want: Refuse, wantErr: ErrTopologyMismatch, wantIn: []string{"n0:9000 (parity 2, ours 4)"}},
		{name: "majority ignores a mismatched node", nodes: 4, drives: "EEEEEEEE", status: "RRRM", self: 0, want: Generate},
		{name: "mismatch plus unreachable: quorum still possible", nodes: 4, drives: "EEEEEEEE", status: "RMUU", self: 0, want: Wait, wantIn: []string{"ignoring nodes with another topology: n1:9000"}},
		{name: "two mismatches: quorum impossible", nodes: 4, drives: "EEEEEEEE", status: "RMMU", self: 0, want: Refuse, wantErr: ErrTopologyMismatch},

		// An existing deployment.
		{name: "restart adopts", nodes: 4, drives: "AAAAAAAA", status: "RRRR", self: 2, want: Adopt, wantSteps: []LocalOp{open, open}},
		{name: "restart with a node down adopts", nodes: 4, drives: "AAAAAAAA", status: "RRUR", self: 3, want: Adopt, wantSteps: []LocalOp{open, open}},
		{name: "wiped local drive is formatted", nodes: 4, drives: "AAAEAAAA", status: "RRRR", self: 1, want: Adopt, wantSteps: []LocalOp{open, format}},
		{name: "new node joins a quorate deployment", nodes: 4, drives: "AAAAEEEE", status: "RRRR", self: 3, want: Adopt, wantSteps: []LocalOp{format, format}},
		{name: "read quorum exactly", nodes: 4, drives: "AAAAEEEE", status: "RRRU", self: 2, want: Adopt, wantSteps: []LocalOp{format, format}},
		{name: "offline local drive is skipped", nodes: 4, drives: "AAAAAOAA", status: "RRRR", self: 2, want: Adopt, wantSteps: []LocalOp{open, skip}},
		{name: "foreign local drive refused", nodes: 4, drives: "AAABAAAA", status: "RRRR", self: 1, want: Refuse, wantErr: ErrForeignDrive, wantIn: []string{"drive 3", "deployment 00000042"}},
		{name: "same ID other bitrot key refused", nodes: 4, drives: "AAAKAAAA", status: "RRRR", self: 1, want: Refuse, wantErr: ErrForeignDrive},
		{name: "foreign remote drive is the other node's problem", nodes: 4, drives: "AAABAAAA", status: "RRRR", self: 0, want: Adopt},
		{name: "swapped local drives refused", nodes: 4, drives: "AASSAAAA", status: "RRRR", self: 1, want: Refuse, wantErr: ErrDrivePosition, wantIn: []string{"drive 2", "drive 3", "swapped"}},
		{name: "local non-empty refused at once", nodes: 4, drives: "NEEEEEEE", status: "RUUU", self: 0, want: Refuse, wantErr: ErrDriveNotEmpty},
		{name: "local non-empty refused with a quorum", nodes: 4, drives: "AANAAAAA", status: "RRRR", self: 1, want: Refuse, wantErr: ErrDriveNotEmpty},
		{name: "local damaged refused", nodes: 4, drives: "AAADAAAA", status: "RRRR", self: 1, want: Refuse, wantErr: ErrDamagedDrive},
		{name: "two quorate deployments", nodes: 4, drives: "AAAABBBB", status: "RRRR", self: 0, want: Refuse, wantErr: ErrSplitDeployment},
		{name: "below read quorum, other node waits (format in progress?)", nodes: 4, drives: "AAAEEEEE", status: "RRRR", self: 1, want: Wait, wantIn: []string{"in case the first node is formatting"}},
		{name: "below read quorum, first node refuses", nodes: 4, drives: "AAAEEEEE", status: "RRRR", self: 0, want: Refuse, wantErr: ErrNoQuorum},
		{name: "below read quorum, node down: wait", nodes: 4, drives: "AAAEEEEE", status: "RRRU", self: 0, want: Wait},
		{name: "two deployments below quorum refuse", nodes: 4, drives: "AAABBBEE", status: "RRRR", self: 1, want: Refuse, wantErr: ErrNoQuorum},
		{name: "unknown drives of a reachable node wait", nodes: 4, drives: "AAA?EEEE", status: "RRRR", self: 0, want: Wait},

		// Local form: one node, 4 drives, parity 2 (read 2, write 3).
		{name: "local fresh", nodes: 1, drives: "EEEE", status: "R", want: Generate},
		{name: "local fresh with an offline drive", nodes: 1, drives: "EEOE", status: "R", want: Generate},
		{name: "local fresh with two offline drives waits", nodes: 1, drives: "EOOE", status: "R", want: Wait},
		{name: "local restart", nodes: 1, drives: "AAAA", status: "R", want: Adopt, wantSteps: []LocalOp{open, open, open, open}},
		{name: "local two wiped", nodes: 1, drives: "AEEA", status: "R", want: Adopt, wantSteps: []LocalOp{open, format, format, open}},
		{name: "local three wiped refuses", nodes: 1, drives: "AEEE", status: "R", want: Refuse, wantErr: ErrNoQuorum},
		{name: "local not empty", nodes: 1, drives: "EENE", status: "R", want: Refuse, wantErr: ErrDriveNotEmpty},

		// 2 nodes × 8 drives: two sets of 8; the write quorum is per set.
		{name: "two sets: one set short of write quorum", nodes: 2, drives: "EEEEEEEE" + "EEEEOOOO", status: "RR", self: 0, want: Wait, wantIn: []string{"set 1 has 4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.view(t)
			d := Decide(v)
			if d.Action != c.want {
				t.Fatalf("action %v, want %v; reason: %s", d.Action, c.want, d.Reason)
			}
			if (d.Err != nil) != (d.Action == Refuse) {
				t.Fatalf("err %v with action %v", d.Err, d.Action)
			}
			if c.wantErr != nil && !errors.Is(d.Err, c.wantErr) {
				t.Fatalf("err %v, want %v", d.Err, c.wantErr)
			}
			for _, s := range c.wantIn {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q lacks %q", d.Reason, s)
				}
			}
			if c.wantSteps != nil {
				var got []LocalOp
				for _, st := range d.Local {
					got = append(got, st.Op)
				}
				if !slices.Equal(got, c.wantSteps) {
					t.Fatalf("steps %v, want %v", got, c.wantSteps)
				}
			}
			if d.Action == Adopt {
				checkAdopt(t, v, d)
			}
		})
	}
}

// checkAdopt checks an Adopt decision's plan against the layout.
func checkAdopt(t *testing.T, v View, d Decision) {
	t.Helper()
	if d.Deployment == nil {
		t.Fatal("adopt without a deployment")
	}
	self := v.Nodes[v.Self]
	if len(d.Local) != len(self.DriveIndexes) {
		t.Fatalf("%d steps for %d local drives", len(d.Local), len(self.DriveIndexes))
	}
	for i, st := range d.Local {
		if st.Index != self.DriveIndexes[i] {
			t.Fatalf("step %d is for drive %d, want %d", i, st.Index, self.DriveIndexes[i])
		}
		set, pos, _ := v.Layout.Position(st.Index)
		if st.Set != set || st.Pos != pos || st.DriveID != d.Deployment.Sets[set][pos] {
			t.Fatalf("step %+v: want set %d pos %d ID %s", st, set, pos, d.Deployment.Sets[set][pos])
		}
	}
}

// TestDecideLayoutChanged: a deployment formatted for another layout shape
// (the endpoints changed since) is refused, not adopted.
func TestDecideLayoutChanged(t *testing.T) {
	v := decideCase{nodes: 4, drives: "AAAAAAAA", status: "RRRR"}.view(t)
	// Re-format every drive with a layout of 2 sets of 4 drives.
	other, err := layout.New(make([]string, 8), layout.Config{SetSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	dep := testDeployment(t, other, 'C')
	for n := range v.Nodes {
		for i := range v.Nodes[n].Drives {
			d := &v.Nodes[n].Drives[i]
			d.Format = dep.spec(driveIDAt(other, dep, d.Index))
		}
	}
	d := Decide(v)
	if d.Action != Refuse || !errors.Is(d.Err, layout.ErrLayoutMismatch) {
		t.Fatalf("got %v %v, want a refusal with layout.ErrLayoutMismatch", d.Action, d.Err)
	}
}

// TestDecideProperties runs Decide over random views and checks the rules
// that must hold whatever the states: only the first node generates, a
// non-empty or foreign drive is never planned for formatting, a refusal has
// an error, and the same view always gives the same decision.
func TestDecideProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	letters := "EEEEAAAABNDO?KS"
	stats := map[Action]int{}
	for range 5000 {
		nodes := []int{1, 2, 4}[rng.IntN(3)]
		perNode := 8 / nodes
		if nodes == 1 {
			perNode = 4
		}
		var drives, status strings.Builder
		for range nodes * perNode {
			drives.WriteByte(letters[rng.IntN(len(letters))])
		}
		for range nodes {
			status.WriteByte("RRRUM"[rng.IntN(5)])
		}
		c := decideCase{nodes: nodes, drives: drives.String(), status: status.String(), self: rng.IntN(nodes)}
		if rng.IntN(4) == 0 {
			c.generated = "A"
			c.self = 0
		}
		v := c.view(t)
		d := Decide(v)
		stats[d.Action]++
		desc := fmt.Sprintf("drives %s nodes %s self %d generated %q: %v (%s)", c.drives, c.status, c.self, c.generated, d.Action, d.Reason)
		if d2 := Decide(v); d2.Action != d.Action || d2.Reason != d.Reason {
			t.Fatalf("not deterministic: %s", desc)
		}
		if (d.Action == Refuse) != (d.Err != nil) {
			t.Fatalf("refusal without error or error without refusal: %s", desc)
		}
		if (d.Action == Generate || d.Action == FormatPeers) && c.self != 0 {
			t.Fatalf("a node other than the first creates a deployment: %s", desc)
		}
		if d.Action == Generate && c.generated != "" {
			t.Fatalf("generated twice: %s", desc)
		}
		if d.Action == Generate {
			for i, st := range v.driveStates() {
				if st.State == DriveFormatted || st.State == DriveDamaged {
					t.Fatalf("generated while drive %d has a record: %s", i, desc)
				}
			}
		}
		if d.Action == Adopt {
			checkAdopt(t, v, d)
			for _, st := range d.Local {
				if st.Op == OpFormat && c.drives[st.Index] != 'E' {
					t.Fatalf("plans to format drive %d (%c): %s", st.Index, c.drives[st.Index], desc)
				}
				if st.Op == OpOpen {
					f := v.driveStates()[st.Index].Format
					if !deploymentOf(f).Equal(*d.Deployment) || f.DriveID != st.DriveID {
						t.Fatalf("plans to open drive %d (%c), not the deployment's drive at its position: %s", st.Index, c.drives[st.Index], desc)
					}
				}
			}
		}
		if d.Action != Refuse && d.Action != Wait {
			for _, i := range v.Nodes[c.self].DriveIndexes {
				if b := c.drives[i]; b == 'N' || b == 'D' {
					t.Fatalf("goes on with a local %c drive: %s", b, desc)
				}
			}
		}
	}
	for _, a := range []Action{Wait, Refuse, Generate, FormatPeers, Adopt} {
		if stats[a] == 0 {
			t.Errorf("no random view led to %v: the generator misses cases", a)
		}
	}
}
