package bootstrap

import (
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/endpoint"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage/local"
)

// Config configures a node's start-up. Start from DefaultConfig (production)
// or LocalConfig (tests: fast polling) and set Topology and, for more than
// one node, Grid.
type Config struct {
	// Topology is the parsed endpoint list, resolved so that this node's
	// drives are local (endpoint.Topology.Resolve). Every node must be
	// started with the same list.
	Topology endpoint.Topology
	// Layout chooses the set size and parity; the zero value chooses both.
	// Every node must be started with the same choice.
	Layout layout.Config
	// Grid is this node's grid Manager, required when the topology has more
	// than one node. New registers the bootstrap handlers on it, so New must
	// come before Grid.Start. Its Self must be this node's host:port as the
	// endpoints write it.
	Grid *grid.Manager
	// AppVersion is the build's version. It is part of the topology
	// fingerprint, so nodes of different builds refuse to bootstrap
	// together; "" compares only the protocol versions.
	AppVersion string
	// DriveOptions are the options local drives are opened with. Endpoint
	// is set per drive to the drive's endpoint URL (left to the default,
	// the absolute path, in the local form).
	DriveOptions local.Options
	// Logger receives what the node waits for, what it decided and why it
	// refuses. Nil logs nothing.
	Logger *zap.Logger
	// PollInterval is how often the node asks the others again while it
	// waits. A grid connection coming up wakes it at once as well.
	PollInterval time.Duration
	// CallTimeout bounds each Info and Format request to another node.
	CallTimeout time.Duration
}

// DefaultConfig returns production settings.
func DefaultConfig() Config {
	return Config{PollInterval: time.Second, CallTimeout: 10 * time.Second}
}

// LocalConfig returns settings for tests on one machine: fast polling.
func LocalConfig() Config {
	return Config{PollInterval: 20 * time.Millisecond, CallTimeout: 5 * time.Second}
}
