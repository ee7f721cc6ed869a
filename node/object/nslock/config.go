package nslock

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Config holds the timing of the lock protocol. Servers use Validity; lockers
// use all of it. Every node of a cluster must run with the same values: a
// server with a shorter Validity than its lockers' would expire locks that
// are being refreshed on time.
type Config struct {
	// RefreshInterval is how often a holder tells the servers it is alive.
	RefreshInterval time.Duration
	// Validity is how long a server keeps a lock that is not refreshed. It is
	// also the holder's own lease: a holder that could not refresh on a
	// quorum for Validity reports the lock lost, at the latest when the
	// servers drop it. At least twice RefreshInterval, so one missed refresh
	// is survived.
	Validity time.Duration
	// AttemptTimeout bounds one round of calls to the servers (acquire,
	// refresh, release). Shorter than RefreshInterval.
	AttemptTimeout time.Duration
	// RetryMin and RetryMax bound the jittered exponential backoff between
	// acquisition attempts of a contended lock.
	RetryMin, RetryMax time.Duration
	// UnreachableTimeout is how long Lock and RLock keep retrying while too
	// few servers are reachable for a quorum (known dead, disconnected:
	// not merely holding the lock, nor slow to answer) before they return
	// an *UnavailableError. Servers that a Locker's liveness view holds
	// dead fail it at once. Zero means AttemptTimeout.
	UnreachableTimeout time.Duration
	// Logger receives lost locks and peer-loss drops (never per lock). Nil
	// means no logging.
	Logger *zap.Logger
}

// DefaultConfig returns production settings: refresh every 10 s, expire after
// 30 s without refresh. A dead holder is normally released much sooner, as
// soon as the grid sees its connection go (see Server.PeerDown).
func DefaultConfig() Config {
	return Config{
		RefreshInterval: 10 * time.Second,
		Validity:        30 * time.Second,
		AttemptTimeout:  time.Second,
		RetryMin:        10 * time.Millisecond,
		RetryMax:        time.Second,
		// Long enough for a restarted peer to reconnect (the grid redials
		// within milliseconds), short against a client's patience.
		UnreachableTimeout: time.Second,
	}
}

// LocalConfig returns settings for tests on one machine: refresh every
// 300 ms, expire after 2 s, fast retries. The validity leaves a holder
// whose refreshes stall (a loaded 2-core machine under the race detector
// stalls for hundreds of milliseconds) six tries before it loses its lock.
func LocalConfig() Config {
	return Config{
		RefreshInterval: 300 * time.Millisecond,
		Validity:        2 * time.Second,
		AttemptTimeout:  150 * time.Millisecond,
		RetryMin:        time.Millisecond,
		RetryMax:        50 * time.Millisecond,

		UnreachableTimeout: 300 * time.Millisecond,
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.RefreshInterval <= 0 || c.AttemptTimeout <= 0 || c.RetryMin <= 0 {
		errs = append(errs, errors.New("refresh interval, attempt timeout and minimum retry wait must be positive"))
	}
	if c.Validity < 2*c.RefreshInterval {
		errs = append(errs, fmt.Errorf("validity %v must be at least twice the refresh interval %v", c.Validity, c.RefreshInterval))
	}
	if c.AttemptTimeout >= c.RefreshInterval {
		errs = append(errs, fmt.Errorf("attempt timeout %v must be shorter than the refresh interval %v", c.AttemptTimeout, c.RefreshInterval))
	}
	if c.UnreachableTimeout < 0 {
		errs = append(errs, fmt.Errorf("unreachable timeout %v is negative", c.UnreachableTimeout))
	}
	if c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("maximum retry wait %v below the minimum %v", c.RetryMax, c.RetryMin))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nslock config: %w", err)
	}
	return nil
}

func (c *Config) unreachableTimeout() time.Duration {
	if c.UnreachableTimeout == 0 {
		return c.AttemptTimeout
	}
	return c.UnreachableTimeout
}

func (c *Config) logger() *zap.Logger {
	if c.Logger == nil {
		return zap.NewNop()
	}
	return c.Logger
}

// WriteQuorum is how many of n lock servers must grant a write lock: a strict
// majority, n/2+1. Two write quorums always share a server (2W > n), and that
// server grants only one of them.
func WriteQuorum(n int) int { return n/2 + 1 }

// ReadQuorum is how many of n lock servers must grant a read lock: n-W+1, the
// smallest number that still shares a server with every write quorum
// (R+W = n+1 > n). Read quorums need not intersect each other: readers do not
// exclude readers. A read lock therefore survives W-1 servers down, a write
// lock n-W.
func ReadQuorum(n int) int { return n - WriteQuorum(n) + 1 }
