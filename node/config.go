package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/argon2"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/bootstrap"
	"github.com/gridstore/gridstore/node/cluster"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/nslock"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/health"
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
	// CertsDir, when set, is a directory holding CertFileName, KeyFileName
	// and optionally CAFileName. The node then serves everything on its
	// port over TLS (S3, admin, health, metrics, grid, shard reads), asks
	// clients for a certificate without requiring one (S3 clients need
	// none; the grid and the shard reads refuse peers without one the CAs
	// signed), and dials its peers over TLS with its own certificate,
	// whatever scheme the endpoint list writes. Listener, if set, must then
	// be a plain TCP listener: the node wraps it.
	CertsDir string
	// Self is the host:port under which the endpoint list names this node.
	// Empty means: find it among the endpoints whose port is Address's by
	// this machine's interface addresses (endpoint.FindSelf).
	Self string

	// RootUser and RootPassword are the S3 and admin credentials. The
	// password is never logged.
	RootUser, RootPassword string
	// ClusterSecret authenticates the grid connections between nodes
	// (16 bytes or more). Empty means one derived from the root credentials
	// with Argon2id (ClusterSecretFor), so nodes started with the same
	// credentials trust each other; an explicit random secret is
	// recommended for multi-node deployments.
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
	// StallTimeout is how long an S3 request may go without progress on
	// its connection: a body that sends nothing or a client that takes
	// nothing of the response for this long ends the request (node/stall.go).
	// 0 means DefaultStallTimeout; negative, never.
	StallTimeout time.Duration
	// SlowRequest is how long an S3 request may take before it is logged,
	// at warn, once it ends: with where its time went (the object layer's
	// slow steps, the time spent on the client) so that an operator sees
	// what it waited for. 0 means DefaultSlowRequest; negative, never.
	SlowRequest time.Duration
	// MaxRequests and RequestMemory bound the S3 requests in flight and
	// the buffer memory they may take (node/admission.go); beyond them a
	// request is refused at once with 503 SlowDown. 0 means
	// DefaultMaxRequests and DefaultRequestMemory() (96 MiB a CPU, 128 MiB at
	// least, a quarter of the machine's memory at most).
	MaxRequests int
	// GossipPort is the port of the node's gossip (memberlist, UDP and
	// TCP); 0 derives it from the node's port (cluster.GossipPort: +10000),
	// as every peer does for every other. Negative turns gossip off: dead
	// and paused nodes are then noticed only by the grid.
	GossipPort    int
	RequestMemory int64

	// AppVersion is the build's version: nodes of different builds refuse
	// to form a deployment together.
	AppVersion string
	// Logger receives the node's logs; nil logs nothing.
	Logger *zap.Logger

	// WrapLocalDrive, if set, wraps each local drive (by drive index)
	// beneath its hang guard, where a failing disk would be: tests inject
	// faults there (storage/faultdrive). nil in production.
	WrapLocalDrive func(index int, d storage.Drive) storage.Drive

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
	// DriveHealth bounds every call on a local drive (storage/health);
	// the zero value means the package's defaults (5 s a call, 10 s of a
	// stream without progress, out of service after 3 timeouts in a row).
	DriveHealth health.Config
	// Cluster holds the gossip timings (node/cluster); its Self, Peers,
	// Secret and addresses are the node's. The zero value means
	// cluster.DefaultConfig.
	Cluster cluster.Config
	// Heal paces the healing of missed writes (node/object/missedlog).
	Heal HealTiming
}

// HealTiming paces the healing of what drives missed while they were away.
type HealTiming struct {
	// Rate bounds the objects healed per second from the missed-write log
	// and by walks; 0 means missedlog.DefaultRate (50).
	Rate float64
	// Interval is how often the log's entries are tried without a return
	// to wake the healer; 0 means missedlog.DefaultInterval (30 s).
	Interval time.Duration
	// WalkAfter: a node or local drive away at least this long is followed,
	// on its return, by a walk of its sets (the missed-write logs may not
	// hold everything it missed: a log lost with its drives, or its writer
	// down too). 0 means DefaultHealWalkAfter; negative, never.
	WalkAfter time.Duration

	// ScanRate bounds the objects the scanner checks a second (on the
	// sets this node scans); 0 means scanner.DefaultRate (100).
	ScanRate float64
	// ScanBitrotRate bounds the object bytes a second whose shards a
	// bitrot pass verifies; 0 means scanner.DefaultBitrotRate (32 MiB/s),
	// negative never checks bitrot.
	ScanBitrotRate float64
	// ScanBitrotEvery: one scan pass in this many checks bitrot; 0 means
	// scanner.DefaultBitrotEvery (7).
	ScanBitrotEvery int
	// ScanInterval is the least time between the starts of two passes of
	// a set; 0 means scanner.DefaultInterval (24 h), negative turns the
	// scanner off.
	ScanInterval time.Duration
	// RebuildWorkers is how many objects of 1 MiB or more a drive rebuild
	// heals at once (eight times as many smaller ones); 0 means
	// scanner.DefaultRebuildWorkers (8).
	RebuildWorkers int
	// RebuildRetry bounds how soon a rebuild pass that left objects
	// unhealed runs again (2 s at first, doubling up to it); 0 means
	// scanner.DefaultRebuildRetry (1 min).
	RebuildRetry time.Duration
	// BusyRequests: the scanner and rebuilds pause while more S3 requests
	// than this are in flight on the node (or more than half the request
	// memory is reserved); 0 means MaxRequests/8, negative never pauses.
	BusyRequests int
}

// DefaultHealWalkAfter is HealTiming.WalkAfter's default.
const DefaultHealWalkAfter = 10 * time.Minute

// DefaultConfig returns production settings.
func DefaultConfig() Config {
	return Config{
		Address:         ":9000",
		MultipartExpiry: 24 * time.Hour,
		CleanupInterval: time.Hour,
		ShutdownTimeout: 30 * time.Second,
		StallTimeout:    DefaultStallTimeout,
		SlowRequest:     DefaultSlowRequest,
		Timing: Timing{
			Grid:      grid.DefaultConfig(),
			Bootstrap: bootstrap.DefaultConfig(),
			Lock:      nslock.DefaultConfig(),
			Cluster:   cluster.DefaultConfig(),
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
		Cluster:   cluster.TestConfig(),
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

// Parameters of the cluster secret's derivation from the root credentials
// (ClusterSecretFor). That secret keys the HMAC tokens of every grid
// handshake and shard read, and those cross the network (in clear unless the
// grid runs over TLS): whoever records one can test root password guesses
// against it offline, and the derivation is what each guess costs. Argon2id
// with RFC 9106's second recommended parameter set (3 passes over 64 MiB, 4
// lanes) makes a guess cost 64 MiB of memory and about a quarter of a second
// of a core, where the HMAC it replaces cost a microsecond. Changing any of
// these changes every derived secret: nodes of builds with different values
// do not trust each other (they refuse to form a deployment anyway).
const (
	kdfTime    = 3        // passes
	kdfMemory  = 64 << 10 // KiB: 64 MiB
	kdfThreads = 4        // lanes
	kdfKeyLen  = 32       // bytes of secret
	// kdfLabel starts the salt: it separates this derivation from any other
	// use of the same password (a salt of the user alone would not), and
	// names its version.
	kdfLabel = "gridstore cluster secret v2"
)

// derivation is one memoized ClusterSecretFor result; once makes concurrent
// callers for the same credentials wait for a single derivation.
type derivation struct {
	once   sync.Once
	secret []byte
}

// derivedSecrets memoizes ClusterSecretFor per credentials, keyed by
// memoKey: a process derives each secret once, however many nodes it starts
// (tests start dozens, and under the race detector one derivation takes a
// second). It holds one entry per distinct pair of root credentials the
// process has seen, which is a handful.
var derivedSecrets sync.Map // [sha256.Size]byte -> *derivation

// ClusterSecretFor derives the grid's cluster secret from the root
// credentials with Argon2id (see kdfTime and the others), salted with a fixed
// label and the user, so that nodes started with the same credentials trust
// each other and the tokens on the wire are expensive to search for the
// password. The result is memoized in the process; the caller gets its own
// copy.
func ClusterSecretFor(user, password string) []byte {
	e, _ := derivedSecrets.LoadOrStore(memoKey(user, password), &derivation{})
	d := e.(*derivation)
	d.once.Do(func() { d.secret = deriveClusterSecret(user, password) })
	return bytes.Clone(d.secret)
}

// deriveClusterSecret is ClusterSecretFor without the memo.
func deriveClusterSecret(user, password string) []byte {
	salt := make([]byte, 0, len(kdfLabel)+1+len(user))
	salt = append(append(append(salt, kdfLabel...), 0), user...)
	key := argon2.IDKey([]byte(password), salt, kdfTime, kdfMemory, kdfThreads, kdfKeyLen)
	// Argon2id's kdfMemory is garbage now, but a collection that ran while
	// it was live set the heap's next goal to twice that: a node would grow
	// to ~130 MiB of garbage before its next collection (the first rows of
	// docs/benchmarks.md's bench-cluster tables). Collecting now, and giving
	// the pages back, starts the goal from the node's real heap.
	debug.FreeOSMemory()
	return key
}

// memoKey names a pair of credentials in derivedSecrets without keeping the
// password itself in a map that outlives the node. Lengths prefix both parts
// so that no two pairs share a key ("ab","c" and "a","bc").
func memoKey(user, password string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte("gridstore cluster secret memo\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	h.Write(n[:])
	h.Write([]byte(user))
	binary.BigEndian.PutUint64(n[:], uint64(len(password)))
	h.Write(n[:])
	h.Write([]byte(password))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}
