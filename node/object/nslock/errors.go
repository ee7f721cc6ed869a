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
