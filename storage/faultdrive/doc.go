// Package faultdrive wraps a storage.Drive and injects faults into its
// calls, for tests of what sits above a drive: hangs, slow transfers,
// delays and errors, set and cleared at run time (in the manner of pebble's
// vfs/errorfs).
//
// The faults ignore the caller's context on purpose. A disk stuck in a
// system call does not look at contexts, so an injector whose hangs end
// when the context does would hide exactly the bugs it is for: a caller
// that only returns because the drive honoured its cancellation. A hung call
// here stays hung until its rule is cleared (Clear, Release, or Set of
// another rule on the same operation); then it goes on to the wrapped drive
// as if the system call had finally returned.
//
// Rules are per operation, named by the Drive method ("ReadVersion",
// "CreateFile", ...), or for all operations at once (Set with no names); an
// operation's own rule wins over the one for all. What each Fault does:
//
//	Fail(err)    the call fails with err, without reaching the drive
//	Delay(d)     the call sleeps d, then proceeds
//	Hang()       the call blocks until the rule is cleared, then proceeds;
//	             the reads of open ReadFileStream streams block too
//	HangAfter(n) CreateFile blocks after reading n bytes of its input,
//	             ReadFileStream's stream after yielding n bytes, WalkDir
//	             before its (n+1)th entry; any other call blocks at once
//	Slow(bps)    CreateFile reads its input, and ReadFileStream's stream
//	             yields its bytes, at bps bytes per second; no effect on
//	             other calls
//
// Rules are looked up as the call (or the stream's Read) happens, so a rule
// set while a stream is open applies to its next Read. Calls, Blocked and
// OpenStreams let tests wait for a fault to take effect and check that
// nothing was left behind.
package faultdrive
