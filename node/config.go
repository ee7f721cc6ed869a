package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/bootstrap"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/nslock"
)

// Config configures a node. Start from DefaultConfig (production) or
// LocalConfig (tests: fast timeouts) and set Endpoints and the root
// credentials.
type Config struct {
	// Endpoints are the endpoint arguments of `gridstore server`, the same
	// on every node: URLs with ellipses (http://node{1...4}:9000/data{1...2})
	// or local paths (./data{1...4}) for a single node.
	Endpoints []string
	// Address is the listen address (host:port; ":9000" listens on every
	// interface). Its port also tells which endpoints are this node's when
	// Self is empty.
	Address string
	// Listener, if set, is used instead of listening on Address (tests
	// hand a node a listener whose port they already know); Address still
	// names the port for finding Self.
	Listener net.Listener
	// Self is the host:port under which the endpoint list names this node.
	// Empty means: find it among the endpoints whose port is Address's by
	// this machine's interface addresses (endpoint.FindSelf).
	Self string

	// RootUser and RootPassword are the S3 and admin credentials. The
	// password is never logged.
	RootUser, RootPassword string
	// ClusterSecret authenticates the grid connections between nodes.
	// Empty means one derived from the root credentials (ClusterSecretFor),
	// so nodes started with the same credentials trust each other.
	ClusterSecret string

	// Region is the S3 region signatures are scoped to; "" is us-east-1.
	Region string
	// Domains enable virtual-host-style S3 addressing under these domains.
	Domains []string
	// SetSize and Parity choose the erasure sets (0: chosen from the
	// drive count); ReducedParity is the parity of REDUCED_REDUNDANCY
	// objects (0: min(2, Parity)).
	SetSize, Parity, ReducedParity int

	// MultipartExpiry is the age after which an unfinished multipart
	// upload is removed, and the tombstone of a completed one (which
	// answers a Complete sent again); CleanupInterval how often the node
	// looks for them.
	MultipartExpiry, CleanupInterval time.Duration
	// ShutdownTimeout bounds how long Shutdown waits for in-flight requests
	// when its context has no deadline.
	ShutdownTimeout time.Duration

	// AppVersion is the build's version: nodes of different builds refuse
	// to form a deployment together.
	AppVersion string
	// Logger receives the node's logs; nil logs nothing.
	Logger *zap.Logger

	// Timing holds the timeouts of the layers below.
	Timing Timing
}

// Timing are the timeouts and intervals of the layers a node assembles.
// Only timing fields are taken from these templates; addresses, secrets and
// callbacks are the node's.
type Timing struct {
	Grid      grid.Config
	Bootstrap bootstrap.Config
	Lock      nslock.Config
	// Set holds the object layer's timeouts (DriveTimeout, ShardTimeout,
	// ProbeTimeout, StragglerWait, LockTimeout) and BlockSize.
	Set object.Config
	// ListStallTimeout bounds a listing's wait for one drive.
	ListStallTimeout time.Duration
}

// DefaultConfig returns production settings.
func DefaultConfig() Config {
	return Config{
		Address:         ":9000",
		MultipartExpiry: 24 * time.Hour,
		CleanupInterval: time.Hour,
		ShutdownTimeout: 30 * time.Second,
		Timing: Timing{
			Grid:      grid.DefaultConfig(),
			Bootstrap: bootstrap.DefaultConfig(),
			Lock:      nslock.DefaultConfig(),
		},
	}
}

// LocalConfig returns settings for tests of several nodes on one machine:
// fast dead-peer detection, polling and lock expiry, short drive timeouts
// (long enough for a loaded 2-core machine under the race detector).
func LocalConfig() Config {
	c := DefaultConfig()
	c.Address = "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	c.Timing = Timing{
		Grid:      grid.LocalConfig(),
		Bootstrap: bootstrap.LocalConfig(),
		Lock:      nslock.LocalConfig(),
		Set: object.Config{
			DriveTimeout:  3 * time.Second,
			ShardTimeout:  3 * time.Second,
			ProbeTimeout:  time.Second,
			StragglerWait: 10 * time.Millisecond,
			LockTimeout:   5 * time.Second,
		},
		ListStallTimeout: 3 * time.Second,
	}
	return c
}

// Credential rules, as S3-compatible servers commonly enforce them: an
// access key of 3+ characters, a secret of 8+.
const (
	MinRootUserLength     = 3
	MinRootPasswordLength = 8
)

// ErrConfig marks a configuration that cannot start a node.
var ErrConfig = errors.New("node: invalid configuration")

func (c *Config) validate() error {
	switch {
	case len(c.Endpoints) == 0:
		return fmt.Errorf("%w: no endpoints", ErrConfig)
	case len(c.RootUser) < MinRootUserLength:
		return fmt.Errorf("%w: the root user must have at least %d characters", ErrConfig, MinRootUserLength)
	case len(c.RootPassword) < MinRootPasswordLength:
		return fmt.Errorf("%w: the root password must have at least %d characters", ErrConfig, MinRootPasswordLength)
	case c.Address == "" && c.Listener == nil:
		return fmt.Errorf("%w: no listen address", ErrConfig)
	case !strings.HasPrefix(c.Timing.Grid.Path, "/"+reservedBucket+"/"):
		// The node routes only paths under the reserved bucket to its
		// internal endpoints; anything else would be taken for S3.
		return fmt.Errorf("%w: the grid path %q must start with /%s/", ErrConfig, c.Timing.Grid.Path, reservedBucket)
	case c.MultipartExpiry <= 0 || c.CleanupInterval <= 0:
		return fmt.Errorf("%w: multipart expiry and cleanup interval must be positive", ErrConfig)
	}
	return nil
}

// ClusterSecretFor derives the grid's cluster secret from the root
// credentials: an HMAC-SHA256 under a fixed label, so that the secret on the
// wire's HMAC tokens is not the password itself and changes with either.
func ClusterSecretFor(user, password string) []byte {
	mac := hmac.New(sha256.New, []byte("gridstore cluster secret v1"))
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	return mac.Sum(nil)
}
