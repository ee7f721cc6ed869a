package cluster

import (
	"fmt"
	"time"
)

// State is what this node knows of a peer's liveness.
type State uint8

const (
	// Unknown: never heard of since this node started, within the start-up
	// grace. Not known to be dead: its drives are still tried.
	Unknown State = iota
	// Alive: a member of the gossip pool (possibly suspected, and then
	// refuting or about to be declared dead).
	Alive
	// Dead: declared dead or left, or never heard of within the start-up
	// grace. Its drives are skipped.
	Dead
)

func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Alive:
		return "alive"
	case Dead:
		return "dead"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText makes a State read as its name in JSON (admin info).
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// EventKind says which transition an Event reports.
type EventKind uint8

const (
	// Joined: a peer never heard of before (Unknown) is alive.
	Joined EventKind = iota + 1
	// Died: a peer is now Dead: declared dead, left, or never heard of
	// within the start-up grace.
	Died
	// Returned: a peer that was Dead is alive again. Writes may have
	// skipped its drives while it was dead: healing should look at it.
	Returned
)

func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Died:
		return "died"
	case Returned:
		return "returned"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// MarshalText makes an EventKind read as its name in JSON.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one change of a peer's State, as this node saw it.
type Event struct {
	Node string // the peer's name (host:port in the endpoint list)
	Kind EventKind
	At   time.Time // when this node saw the change
}

// Member is one node as this node sees it, for admin info.
type Member struct {
	Name  string    // host:port in the endpoint list
	Addr  string    // gossip address: as the node advertised it once heard of, else the configured one
	State State     // Alive, Dead or Unknown; this node itself is always Alive
	Since time.Time // when State began; for Unknown, when this node started
	Self  bool      // this node
}

// peer is one entry of a view. Views are never modified once published.
type peer struct {
	state State
	since time.Time
	addr  string
	seen  bool // memberlist reported it alive at least once
}

// view is an immutable snapshot of every configured node's liveness.
type view map[string]peer

// transition is the event, if any, that moving from one state to another
// produces.
func transition(from, to State) (EventKind, bool) {
	switch {
	case from == to:
		return 0, false
	case to == Alive && from == Unknown:
		return Joined, true
	case to == Alive && from == Dead:
		return Returned, true
	case to == Dead:
		return Died, true
	}
	return 0, false
}
