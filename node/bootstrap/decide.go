package bootstrap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gridstore/gridstore/node/object/layout"
)

// View is what a node knows at one moment of its start-up: the layout the
// endpoints give and every node's answer. It is the whole input of Decide.
type View struct {
	// Layout is the erasure set layout the endpoints give.
	Layout *layout.Layout
	// Endpoints names the drives in messages, by global index; optional.
	Endpoints []string
	// Nodes lists every node in topology order. Nodes[0] is the first node,
	// the only one that creates a new deployment.
	Nodes []NodeView
	// Self is this node's index in Nodes; it is always reachable.
	Self int
	// Generated is the deployment this node created during this start-up,
	// if it did (the first node only). It lets that node finish formatting
	// its own deployment, and never create a second one.
	Generated *Deployment
}

// NodeStatus is whether a node answered, and whether it may be trusted.
type NodeStatus uint8

const (
	// NodeUnreachable: no answer (down, not yet up, partitioned).
	NodeUnreachable NodeStatus = iota
	// NodeReachable: answered with our topology.
	NodeReachable
	// NodeMismatch: answered with another topology. Its drives are not
	// counted: it is treated as absent, and named in errors.
	NodeMismatch
)

// NodeView is one node as this node sees it.
type NodeView struct {
	// Addr is the node's address, for messages.
	Addr string
	// DriveIndexes are the global indexes of its drives, from the topology.
	DriveIndexes []int
	Status       NodeStatus
	// Detail says why the node is unreachable or what differs.
	Detail string
	// Drives is what the node reported about its drives, when reachable.
	// Reports about drives that are not the node's are ignored.
	Drives []DriveInfo
}

// Action is what Decide tells the node to do.
type Action uint8

const (
	// Wait and collect again: Decision.Reason says for what.
	Wait Action = iota
	// Refuse to start: Decision.Err says why.
	Refuse
	// Generate a new deployment, format this node's drives and ask every
	// other node to format theirs. Only ever decided for the first node.
	Generate
	// FormatPeers formats the empty drives of this node and of the others
	// with Decision.Deployment, which this node generated (View.Generated)
	// but which does not hold a quorum yet.
	FormatPeers
	// Adopt Decision.Deployment: carry out Decision.Local and start.
	Adopt
)

var actionNames = [...]string{"wait", "refuse", "generate", "format peers", "adopt"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "invalid"
}

// Decision is Decide's answer.
type Decision struct {
	Action Action
	// Reason says, for people, what the node waits for or what it decided.
	Reason string
	// Err is why the node refuses to start (Refuse).
	Err error
	// Deployment is the deployment to adopt (Adopt) or to finish
	// formatting (FormatPeers).
	Deployment *Deployment
	// Local says what to do with each of this node's drives (Adopt).
	Local []LocalStep
}

// LocalOp is what to do with one local drive once the deployment is known.
type LocalOp uint8

const (
	// OpOpen: the drive is formatted at its position; open it.
	OpOpen LocalOp = iota
	// OpFormat: the drive is empty (new or wiped); format it at its
	// position, open it and mark it healing.
	OpFormat
	// OpSkip: the drive cannot be reached; start without it.
	OpSkip
)

// LocalStep is the plan for one local drive.
type LocalStep struct {
	Index    int    // global drive index
	Set, Pos int    // its position in the layout
	DriveID  string // the ID the drive has (OpOpen) or gets (OpFormat)
	Op       LocalOp
	Reason   string // why it is skipped (OpSkip)
}

// group is one deployment and the drives that carry it.
type group struct {
	dep    Deployment
	drives []int
}

// tally sorts every drive of the deployment by state.
type tally struct {
	groups                                     []*group
	empty, notEmpty, damaged, offline, unknown []int
	reachable, unreachable, mismatched         []int // node indexes
}

// Decide is the start-up decision, a pure function of what the node knows:
// no I/O, no clock, no randomness, so every combination of states can be
// tested as a table. Run calls it after every round of collecting the
// nodes' answers and carries out what it says. The rules are described in
// the package documentation.
func Decide(v View) Decision {
	if err := v.check(); err != nil {
		return refuse(err)
	}
	states := v.driveStates()

	// Problems of this node's own drives that no answer from another node
	// can resolve: say so at once instead of waiting for peers.
	var errs []error
	for _, d := range v.Nodes[v.Self].DriveIndexes {
		switch st := states[d]; st.State {
		case DriveNotEmpty:
			errs = append(errs, v.driveErr(d, ErrDriveNotEmpty, "no format record but files that are not ours, which are never formatted over; move them away or point the endpoint at an empty directory ("+st.Reason+")"))
		case DriveDamaged:
			errs = append(errs, v.driveErr(d, ErrDamagedDrive, "the format record cannot be trusted; if the drive is to be reused, empty it and it is formatted and healed ("+st.Reason+")"))
		}
	}
	if len(errs) > 0 {
		return refuse(errors.Join(errs...))
	}

	t := v.tally(states)
	nodes := len(v.Nodes)
	quorum := nodes/2 + 1
	if len(t.reachable) < quorum {
		if len(t.mismatched) > 0 && len(t.reachable)+len(t.unreachable) < quorum {
			return refuse(fmt.Errorf("%w: %s; without them no quorum of %d of %d nodes is possible", ErrTopologyMismatch, v.nodeList(t.mismatched, true), quorum, nodes))
		}
		msg := fmt.Sprintf("waiting for nodes %s (%d of %d reachable, %d needed)", v.nodeList(t.unreachable, false), len(t.reachable), nodes, quorum)
		if len(t.mismatched) > 0 {
			msg += "; ignoring nodes with another topology: " + v.nodeList(t.mismatched, true)
		}
		return Decision{Action: Wait, Reason: msg}
	}

	l := v.Layout
	readQuorum := len(l.Sets) * l.ReadQuorum()
	var quorate []*group
	for _, g := range t.groups {
		if len(g.drives) >= readQuorum {
			quorate = append(quorate, g)
		}
	}
	switch len(quorate) {
	case 1:
		return v.adopt(states, quorate[0], readQuorum)
	case 0:
	default:
		// Possible only when data == parity (read quorum = half the drives):
		// someone put half a deployment's worth of foreign drives in.
		var parts []string
		for _, g := range quorate {
			parts = append(parts, fmt.Sprintf("deployment %s on drives %v", g.dep.ID, g.drives))
		}
		return refuse(fmt.Errorf("%w: %s (read quorum %d of %d drives)", ErrSplitDeployment, strings.Join(parts, " and "), readQuorum, l.DriveCount()))
	}

	allKnown := len(t.unreachable) == 0 && len(t.mismatched) == 0 && len(t.offline) == 0 && len(t.unknown) == 0
	if len(t.groups) == 0 && len(t.damaged) == 0 {
		return v.fresh(states, t, allKnown)
	}
	if g := v.Generated; g != nil && len(t.damaged) == 0 && len(t.groups) == 1 && t.groups[0].dep.Equal(*g) {
		return Decision{Action: FormatPeers, Deployment: g,
			Reason: fmt.Sprintf("new deployment %s is on %d of %d drives (%d needed): formatting the empty drives", g.ID, len(t.groups[0].drives), l.DriveCount(), readQuorum)}
	}
	msg := fmt.Sprintf("no deployment is on the read quorum of %d of %d drives: %s", readQuorum, l.DriveCount(), v.describe(t))
	// One deployment and empty drives is also what the other nodes see while
	// the first node is formatting a new deployment, so they wait. The first
	// node knows it is not formatting (else Generated would be set).
	inProgress := v.Self != 0 && len(t.groups) == 1 && len(t.damaged) == 0 && len(t.empty) > 0
	switch {
	case inProgress:
		msg += "; waiting in case the first node is formatting a new deployment"
	case allKnown:
		// Every node and drive answered: nothing can change by waiting.
		return refuse(fmt.Errorf("%w: %s", ErrNoQuorum, msg))
	}
	return Decision{Action: Wait, Reason: msg}
}

// fresh decides for a deployment whose reachable drives hold no format
// record at all.
func (v View) fresh(states []DriveInfo, t tally, allKnown bool) Decision {
	l := v.Layout
	wq := l.WriteQuorum()
	var short []string
	for s, set := range l.Sets {
		n := 0
		for _, d := range set.Drives {
			if states[d].State == DriveEmpty {
				n++
			}
		}
		if n < wq {
			short = append(short, fmt.Sprintf("set %d has %d", s, n))
		}
	}
	if len(short) > 0 {
		msg := fmt.Sprintf("new deployment: every set needs %d empty drives reachable, %s: %s", wq, strings.Join(short, ", "), v.describe(t))
		if allKnown {
			return refuse(fmt.Errorf("%w: %s", ErrNoQuorum, msg))
		}
		return Decision{Action: Wait, Reason: msg}
	}
	if g := v.Generated; g != nil {
		// Ours, and none of its records is visible: format again rather
		// than generate a second deployment, whose records might meet the
		// first's on a node that is slow to answer.
		return Decision{Action: FormatPeers, Deployment: g, Reason: fmt.Sprintf("new deployment %s: formatting the empty drives", g.ID)}
	}
	if v.Self == 0 {
		return Decision{Action: Generate, Reason: fmt.Sprintf("new deployment: %d of %d drives empty and reachable, none formatted", len(t.empty), l.DriveCount())}
	}
	first := v.Nodes[0]
	if first.Status != NodeReachable {
		// Not the node's error text: it changes between polls, and the reason
		// is logged each time it changes.
		return Decision{Action: Wait, Reason: fmt.Sprintf("new deployment: waiting for %s, the first node, which creates it, to be reachable", first.Addr)}
	}
	return Decision{Action: Wait, Reason: fmt.Sprintf("new deployment: waiting for the first node %s to create it and format the drives", first.Addr)}
}

// adopt plans this node's drives for deployment g.
func (v View) adopt(states []DriveInfo, g *group, readQuorum int) Decision {
	l := v.Layout
	ref := g.dep
	if err := l.CheckFormat(ref.Sets, nil); err != nil {
		return refuse(fmt.Errorf("deployment %s (on %d drives) does not fit the endpoints, which changed since it was formatted: %w", ref.ID, len(g.drives), err))
	}
	// Where the deployment puts each drive ID, by global index.
	where := make(map[string]int, l.DriveCount())
	for s, set := range l.Sets {
		for p, d := range set.Drives {
			where[ref.Sets[s][p]] = d
		}
	}
	var steps []LocalStep
	var errs []error
	for _, d := range v.Nodes[v.Self].DriveIndexes {
		set, pos, _ := l.Position(d)
		want := ref.Sets[set][pos]
		step := LocalStep{Index: d, Set: set, Pos: pos, DriveID: want}
		switch st := states[d]; st.State {
		case DriveFormatted:
			got := deploymentOf(st.Format)
			switch {
			case got.ID != ref.ID:
				errs = append(errs, v.driveErr(d, ErrForeignDrive, fmt.Sprintf("it belongs to deployment %s, this cluster is deployment %s (on %d of %d drives)", got.ID, ref.ID, len(g.drives), l.DriveCount())))
			case !got.Equal(ref):
				errs = append(errs, v.driveErr(d, ErrForeignDrive, fmt.Sprintf("it has deployment %s's ID but another set layout or bitrot key (on %d of %d drives the record agrees)", ref.ID, len(g.drives), l.DriveCount())))
			case st.Format.DriveID != want:
				other := where[st.Format.DriveID]
				oset, opos, _ := l.Position(other)
				errs = append(errs, v.driveErr(d, ErrDrivePosition, fmt.Sprintf("it is drive %s of set %d position %d, where the endpoints put drive %d (%s); set %d position %d is drive %s: drives swapped or endpoints reordered",
					st.Format.DriveID, oset, opos, other, v.endpoint(other), set, pos, want)))
			default:
				step.Op = OpOpen
			}
		case DriveEmpty:
			step.Op = OpFormat
		default:
			step.Op, step.Reason = OpSkip, st.State.String()
			if st.Reason != "" {
				step.Reason += ": " + st.Reason
			}
		}
		steps = append(steps, step)
	}
	if len(errs) > 0 {
		return refuse(errors.Join(errs...))
	}
	return Decision{Action: Adopt, Deployment: &ref, Local: steps,
		Reason: fmt.Sprintf("deployment %s is on %d of %d drives (read quorum %d)", ref.ID, len(g.drives), l.DriveCount(), readQuorum)}
}

func refuse(err error) Decision { return Decision{Action: Refuse, Err: err, Reason: err.Error()} }

func (v View) check() error {
	if v.Layout == nil || len(v.Nodes) == 0 || v.Self < 0 || v.Self >= len(v.Nodes) {
		return errors.New("bootstrap: invalid view: no layout, no nodes or self out of range")
	}
	return nil
}

// driveStates returns the state of every drive by global index: what its
// node reported, DriveUnknown for the drives of nodes that did not answer.
func (v View) driveStates() []DriveInfo {
	n := v.Layout.DriveCount()
	states := make([]DriveInfo, n)
	owner := make([]int, n)
	for i := range states {
		states[i].Index, owner[i] = i, -1
	}
	for ni, node := range v.Nodes {
		for _, d := range node.DriveIndexes {
			if d >= 0 && d < n {
				owner[d] = ni
			}
		}
	}
	for ni, node := range v.Nodes {
		if node.Status != NodeReachable && ni != v.Self {
			continue
		}
		for _, d := range node.Drives {
			if d.Index >= 0 && d.Index < n && owner[d.Index] == ni {
				states[d.Index] = d
			}
		}
	}
	return states
}

func (v View) tally(states []DriveInfo) tally {
	var t tally
	for ni, node := range v.Nodes {
		switch {
		case ni == v.Self || node.Status == NodeReachable:
			t.reachable = append(t.reachable, ni)
		case node.Status == NodeMismatch:
			t.mismatched = append(t.mismatched, ni)
		default:
			t.unreachable = append(t.unreachable, ni)
		}
	}
	for i, st := range states {
		switch st.State {
		case DriveFormatted:
			dep := deploymentOf(st.Format)
			found := false
			for _, g := range t.groups {
				if g.dep.Equal(dep) {
					g.drives, found = append(g.drives, i), true
					break
				}
			}
			if !found {
				t.groups = append(t.groups, &group{dep: dep, drives: []int{i}})
			}
		case DriveEmpty:
			t.empty = append(t.empty, i)
		case DriveNotEmpty:
			t.notEmpty = append(t.notEmpty, i)
		case DriveDamaged:
			t.damaged = append(t.damaged, i)
		case DriveOffline:
			t.offline = append(t.offline, i)
		default:
			t.unknown = append(t.unknown, i)
		}
	}
	return t
}

// describe summarises a tally for people: where every drive stands.
func (v View) describe(t tally) string {
	var parts []string
	for _, g := range t.groups {
		parts = append(parts, fmt.Sprintf("deployment %s on drives %v", g.dep.ID, g.drives))
	}
	for _, c := range []struct {
		what   string
		drives []int
	}{{"empty", t.empty}, {"not empty", t.notEmpty}, {"damaged", t.damaged}, {"offline", t.offline}, {"unknown", t.unknown}} {
		if len(c.drives) > 0 {
			parts = append(parts, fmt.Sprintf("%s: drives %v", c.what, c.drives))
		}
	}
	if len(t.unreachable) > 0 {
		parts = append(parts, "unreachable nodes: "+v.nodeList(t.unreachable, false))
	}
	if len(t.mismatched) > 0 {
		parts = append(parts, "nodes with another topology: "+v.nodeList(t.mismatched, true))
	}
	return strings.Join(parts, "; ")
}

func (v View) nodeList(idx []int, detail bool) string {
	s := make([]string, len(idx))
	for i, ni := range idx {
		s[i] = v.Nodes[ni].Addr
		if detail && v.Nodes[ni].Detail != "" {
			s[i] += " (" + v.Nodes[ni].Detail + ")"
		}
	}
	return strings.Join(s, ", ")
}

func (v View) endpoint(d int) string {
	if d >= 0 && d < len(v.Endpoints) {
		return v.Endpoints[d]
	}
	return fmt.Sprintf("drive %d", d)
}

func (v View) driveErr(d int, sentinel error, detail string) error {
	return &DriveError{Index: d, Endpoint: v.endpoint(d), Err: sentinel, Detail: detail}
}
