// Package health wraps a storage.Drive so that a hung disk cannot hang its
// callers: every call returns within its deadline, a drive that keeps
// timing out is taken out of service, and a probe puts it back when it
// works again (MinIO's drive health tracking is the model).
//
// # Deadlines
//
// A disk stuck in a system call cannot be interrupted, and it does not
// look at contexts. So the wrapper runs each call of the wrapped drive on a
// goroutine of its own and waits for it on a channel, and when the deadline
// passes it returns storage.ErrDriveTimeout and walks away: the goroutine
// stays in the drive until the system call returns, then releases what it
// got (a stream it opened is closed, a pooled buffer goes back) and ends.
//
//   - Metadata calls (everything but the three below) have Config.CallTimeout,
//     or the caller's deadline if that is sooner. VerifyFile, which reads a
//     whole version, gets more time for more bytes.
//   - Streaming calls have an idle deadline, Config.StreamIdleTimeout: they
//     fail when the drive makes no progress for that long. Progress is the
//     drive asking CreateFile's reader for more bytes, a ReadFileStream
//     stream's Read returning, a WalkDir entry coming out. The time the
//     caller spends (its reader, its callback, between its Reads) never
//     counts against the drive: a slow client is not a hung disk, and a slow
//     disk that keeps moving is not either.
//
// When the caller's context is cancelled, the drive's call is cancelled too
// and the wrapper still waits for it, within the call's deadline, so that a
// drive that honours its context has cleaned up (CreateFile leaves nothing
// at the path) when the caller gets its error. A deadline of the caller's
// is a deadline: the call returns then.
//
// # Caller memory
//
// An abandoned goroutine must never touch the caller's memory again, or a
// disk that wakes up minutes later writes into a buffer the caller has long
// reused. So nothing the caller owns is handed to the wrapped drive:
//
//   - CreateFile's reader is read on the caller's own goroutine. The drive
//     gets a reader of the wrapper's whose Read hands its buffer to the
//     caller's goroutine to fill, and fails once the call is over.
//   - WalkDir's callback runs on the caller's goroutine the same way; after
//     the call is over the drive's callback fails instead.
//   - A ReadFileStream stream reads from the drive into a buffer of its own
//     and copies into the caller's. That copy is the price of being able to
//     walk away from a read stuck in the kernel.
//
// The one way around it is FileRange, which the stream offers when the
// wrapped drive's does (the local drive's): it hands the open file itself to
// a caller that copies it with sendfile (the remote drive's read endpoint),
// outside any deadline of this package. Zero-copy serving is worth that; a
// remote caller bounds such a read on its own side.
//
// # Health
//
// A call that times out counts against the drive; one that returns in time
// (with any answer) resets the count. A call abandoned because the
// caller's deadline came first counts only if it is still running a whole
// deadline later. After Config.FaultyAfter timeouts in a row, or once
// Config.MaxAbandoned goroutines are stuck in the drive at once, the drive
// is faulty: every call, and every call still waiting, fails at once with
// storage.ErrDriveFaulty without touching the disk, except DiskInfo, which
// answers from memory with Online false and the health status, so that
// admin info and metrics can show why the drive is out. The object layer
// counts both sentinels as an offline drive.
//
// While the drive is faulty, a probe runs every Config.ProbeInterval: a
// DiskInfo, then a small file written to storage.TmpVolume, read back,
// compared and deleted, all within Config.ProbeTimeout. One probe at a time:
// a probe that hangs is abandoned like any call, the drive stays faulty, and
// no other probe starts until it has returned. When a probe passes and
// fewer than MaxAbandoned goroutines are still stuck, the drive is back in
// service. Config.OnStateChange hears of both transitions (for healing).
//
// Health reports the state; DiskInfo carries it as storage.DiskInfo.Health.
package health
