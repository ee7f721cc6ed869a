package nslock

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrLockTimeout is matched by the error of a Lock or RLock whose context
	// ended before a quorum granted the lock; see TimeoutError.
	ErrLockTimeout = errors.New("nslock: lock not acquired")
	// ErrQuorumUnavailable is matched by the error of a Lock or RLock that
	// gave up because too few lock servers are reachable to grant a
	// quorum: known dead to the Locker's liveness view, or disconnected for
	// UnreachableTimeout. Unlike ErrLockTimeout it says nothing about other
	// holders: the cluster cannot take the lock now, and waiting longer
	// would only hold the request. See UnavailableError.
	ErrQuorumUnavailable = errors.New("nslock: too few lock servers reachable for a quorum")
	// ErrLockLost is matched by Lock.Err and the cause of Lock.WithContext
	// once a held lock is lost: a refresh found it on fewer than a quorum of
	// servers, or no refresh succeeded for Validity. The holder must stop
	// acting under the lock: another holder may have it.
	ErrLockLost = errors.New("nslock: lock lost")
	// ErrLockReleased is the cause of Lock.WithContext's context once the lock
	// was released by Unlock.
	ErrLockReleased = errors.New("nslock: lock released")
	// ErrNoResources is returned for a Lock call without resources or with an
	// empty resource name.
	ErrNoResources = errors.New("nslock: no resource to lock")
)

// TimeoutError is returned when a lock could not be acquired before the
// caller's context ended. It matches both ErrLockTimeout and the context's
// error (context.DeadlineExceeded or context.Canceled) with errors.Is.
type TimeoutError struct {
	Resources []string
	Write     bool
	// Granted, Quorum and Nodes describe the last attempt: how many servers
	// granted, how many were needed, out of how many.
	Granted, Quorum, Nodes int
	// Last holds what went wrong with the servers that did not grant in the
	// last attempt (refusals are not errors and are not listed); nil if all
	// of them simply refused.
	Last error
	// Err is the context's error.
	Err error
}

func (e *TimeoutError) Error() string {
	kind := "read"
	if e.Write {
		kind = "write"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "nslock: %s lock on %s not acquired: last attempt granted by %d of %d servers, %d needed: %v",
		kind, strings.Join(e.Resources, ","), e.Granted, e.Nodes, e.Quorum, e.Err)
	if e.Last != nil {
		fmt.Fprintf(&b, " (server errors: %v)", e.Last)
	}
	return b.String()
}

// Unwrap makes errors.Is match ErrLockTimeout and the context's error.
func (e *TimeoutError) Unwrap() []error { return []error{ErrLockTimeout, e.Err} }

// UnavailableError is returned when a lock cannot be had because too few
// lock servers are reachable: it matches ErrQuorumUnavailable, and never
// ErrLockTimeout.
type UnavailableError struct {
	Resources []string
	Write     bool
	// Reachable servers (not known dead, not failing with a connection
	// error in the last attempt), how many a quorum needs, out of how many.
	Reachable, Quorum, Nodes int
	// Dead lists the servers the liveness view holds dead.
	Dead []string
	// Last holds the errors of the last attempt's calls, if one was made.
	Last error
}

func (e *UnavailableError) Error() string {
	kind := "read"
	if e.Write {
		kind = "write"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "nslock: %s lock on %s: %d of %d lock servers reachable, %d needed",
		kind, strings.Join(e.Resources, ","), e.Reachable, e.Nodes, e.Quorum)
	if len(e.Dead) > 0 {
		fmt.Fprintf(&b, " (known dead: %s)", strings.Join(e.Dead, ", "))
	}
	if e.Last != nil {
		fmt.Fprintf(&b, " (server errors: %v)", e.Last)
	}
	return b.String()
}

// Unwrap makes errors.Is match ErrQuorumUnavailable.
func (e *UnavailableError) Unwrap() error { return ErrQuorumUnavailable }
