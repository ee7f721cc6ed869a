package object

import (
	"context"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// MissedWrite names an object whose write or delete was acknowledged (or
// failed and was rolled back) without some drives of its set: their copy is
// out of date until it is healed.
type MissedWrite struct {
	Bucket, Object string
	// VersionID is the version the write committed ("" for a delete, or a
	// failed write whose leftovers must go).
	VersionID string
	// Drives are the set positions that missed it, ascending.
	Drives []int
}

// MissedWrites remembers missed writes durably, so that what a drive missed
// is healed once it is back even if nobody reads the object, across a
// restart of the node that wrote it (node/object/missedlog).
type MissedWrites interface {
	// RememberMissed returns once w is stored durably (or failed to be).
	// It is called after the write has its quorum and before it is
	// acknowledged, only for writes that missed a drive: healthy writes
	// never pay for it. Many calls at once share their syncs.
	RememberMissed(ctx context.Context, w MissedWrite) error
}

// missedWriteTimeout bounds how long a write waits to remember what it
// missed: a log drive that hangs must not hold an acknowledged write back
// for longer (the log then says it may be incomplete, and a walk of the set
// makes up for it; see missedlog).
const missedWriteTimeout = 5 * time.Second

// noteWrite is healNote.queue for the outcome of a write or delete: the
// drives it names are remembered durably (Config.Missed) before the caller
// acknowledges, then queued for healing at once. A failure to remember is
// not the write's failure: the data has its quorum; the missed-write log
// marks itself incomplete and a walk finds the object instead.
func (s *Set) noteWrite(ctx context.Context, h *healNote, bucket, object, versionID string) {
	var drives []int
	for i := range h.missing {
		if h.missing[i] || h.corrupt[i] {
			drives = append(drives, i)
		}
	}
	s.rememberMissed(ctx, bucket, object, versionID, drives)
	h.queue(s.heal, bucket, object, versionID)
}

// rememberMissed stores, durably, that drives missed a write (nothing for
// none), within missedWriteTimeout.
func (s *Set) rememberMissed(ctx context.Context, bucket, object, versionID string, drives []int) {
	if s.missed == nil || len(drives) == 0 {
		return
	}
	began := time.Now()
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), missedWriteTimeout)
	// The log reports its own failures, once.
	_ = s.missed.RememberMissed(mctx, MissedWrite{Bucket: bucket, Object: object, VersionID: versionID, Drives: drives})
	cancel()
	traceStepOf(ctx, "missed-write log", began)
}

// KnownDown reports which drives of the set say, without a call, that they
// are offline (a remote drive whose node liveness holds dead, a local drive
// out of service). A drive that cannot tell counts as up.
func (s *Set) KnownDown() []bool {
	down := make([]bool, len(s.drives))
	for pos, d := range s.drives {
		down[pos] = d == nil || storage.KnownDown(d)
	}
	return down
}
