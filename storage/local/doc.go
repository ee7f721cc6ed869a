// Package local is the Drive of a directory on a local disk.
//
// A node formats each of its drives once (Format, with the deployment's
// IDs, set layout and bitrot key), and at every start opens them with the
// position it expects each to hold (Open; LoadFormat reads a record
// without opening, to agree on the deployment's format). A drive of another
// deployment or in another position is refused, and so is a directory that
// holds somebody else's files.
//
// # On-disk layout
//
//	<drive>/.gridstore.sys/format.json    format record (JSON, see formatRecord)
//	<drive>/.gridstore.sys/lock           flock'ed while the drive is open
//	<drive>/.gridstore.sys/healing        present while the drive is being healed
//	<drive>/.gridstore.sys/staging/       records and new objects assembled before
//	                                      their commit rename; trash on its way out
//	<drive>/.gridstore.sys/tmp/           storage.TmpVolume
//	<drive>/.gridstore.sys/multipart/     storage.MultipartVolume
//	<drive>/.gridstore.sys/missed/        the node's missed-write log (node/object/missedlog);
//	                                      not the drive's: it never touches it
//	<drive>/<volume>/<object>/meta        metadata record (storage.ObjectMeta)
//	<drive>/<volume>/<object>/<uuid>/part.N   shard files of one version
//
// # Durability
//
// Every change becomes visible through a single rename, after everything it
// makes visible has been flushed, and is flushed again after the rename
// before the call returns: two flushes per write at most (flush.go,
// durable.go). By default a flush is a syncfs(2) of the drive's file
// system, shared by every write that waits for one (group commit) on that
// drive and on every other drive of the process on the same file system:
// a write waits for the next flush that begins after it asks, so
// concurrent writes need fewer flushes than there are writes.
// With Options.SyncEachFile (and where syncfs does not exist) files are
// fdatasynced as they are written and each changed directory is fsynced
// once per flush instead.
//
//   - CreateFile streams through a double-buffered, O_DIRECT writer
//     (storage/doublebuf). In TmpVolume the file is left for the RenameData
//     that publishes it to flush (with SyncEachFile it is fdatasynced);
//     elsewhere it is written in the staging area, flushed, renamed into
//     place and flushed again.
//   - RenameData, WriteMetadata and DeleteVersion (commit in object.go)
//     write the new record in the staging area, make the object's
//     directory if it is new, move the data dir in beside the record
//     (where nothing refers to it yet), flush, rename the record over the
//     old one (the commit) and flush.
//   - DeleteVersion of the last version renames the record out into the
//     staging area (the commit) and flushes; the directory and the data
//     go after.
//
// A crash therefore leaves every object as it was before the operation or
// as it is after, never a mix; the crash tests kill a process at every step
// to prove it, with both ways of flushing, and TestCommitFlushOrder checks
// on a trace that no commit rename precedes the flush of what it publishes
// and no call returns before the flush of its rename. What a crash can
// leave is garbage: files in the tmp and staging areas, which Open wipes,
// and data dirs no record refers to.
//
// The record updates of one object are serialised by a striped mutex, so
// concurrent writers on one drive never lose each other's versions; the
// last RenameData of a version wins.
package local
