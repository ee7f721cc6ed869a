package bootstrap

import (
	"errors"
	"fmt"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
)

// Sentinel errors. Run's errors wrap one of them (test with errors.Is), or
// the context's error when it gave up waiting; the message says which node
// or drive, and what was found.
var (
	// ErrForeignDrive: a drive of this node belongs to another deployment
	// (another deployment ID, or the same ID with another set layout or
	// bitrot key). It is storage's sentinel, so errors from Open and from
	// the decision match alike.
	ErrForeignDrive = storage.ErrDeploymentMismatch
	// ErrDrivePosition: a drive of this node belongs to the deployment but
	// to another position (drives swapped between mount points, endpoints
	// reordered).
	ErrDrivePosition = storage.ErrDrivePosition
	// ErrDriveNotEmpty: an unformatted drive of this node holds files that
	// are not ours; it is never formatted over.
	ErrDriveNotEmpty = storage.ErrDriveNotEmpty
	// ErrDamagedDrive: a drive of this node has a format record that does not
	// parse, does not hold together, or was written by a newer version.
	// Formatting over it could destroy a deployment's drive, so the node
	// stops and the operator decides.
	ErrDamagedDrive = errors.New("bootstrap: drive has a damaged format record")
	// ErrTopologyMismatch: nodes were started with different endpoint
	// lists, set size, parity or versions.
	ErrTopologyMismatch = errors.New("bootstrap: nodes disagree on the topology")
	// ErrNoQuorum: no deployment has a read quorum of drives, a new one
	// cannot be created, and every node and drive has answered, so waiting
	// cannot change the outcome.
	ErrNoQuorum = errors.New("bootstrap: no deployment has a quorum of drives")
	// ErrSplitDeployment: two deployments each hold a read quorum of
	// drives; the node cannot tell which one it belongs to.
	ErrSplitDeployment = errors.New("bootstrap: drives of two deployments each hold a quorum")
	// ErrNotFirstNode: a Format request came from a node other than the
	// first of the topology, the only one that creates deployments.
	ErrNotFirstNode = errors.New("bootstrap: only the first node creates a deployment")
)

func init() {
	// Stable wire codes, so errors.Is holds on the caller of a Format
	// request. The storage sentinels are registered by storage/remote too;
	// the grid accepts the same pair twice.
	grid.RegisterError("bootstrap.DamagedDrive", ErrDamagedDrive)
	grid.RegisterError("bootstrap.TopologyMismatch", ErrTopologyMismatch)
	grid.RegisterError("bootstrap.NoQuorum", ErrNoQuorum)
	grid.RegisterError("bootstrap.SplitDeployment", ErrSplitDeployment)
	grid.RegisterError("bootstrap.NotFirstNode", ErrNotFirstNode)
	for _, e := range storage.Sentinels() {
		grid.RegisterError(e.Code(), e)
	}
}

// DriveError says which drive of this node stopped the start and why. It
// unwraps to the sentinel (ErrForeignDrive, ErrDrivePosition, ...).
type DriveError struct {
	Index    int    // global drive index (position in the endpoint list)
	Endpoint string // the drive's endpoint, for people
	Err      error  // what went wrong; wraps the sentinel
	Detail   string // what was found
}

func (e *DriveError) Error() string {
	return fmt.Sprintf("drive %d (%s): %v: %s", e.Index, e.Endpoint, e.Err, e.Detail)
}

func (e *DriveError) Unwrap() error { return e.Err }
