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
//	<drive>/<volume>/<object>/meta        metadata record (storage.ObjectMeta)
//	<drive>/<volume>/<object>/<uuid>/part.N   shard files of one version
//
// # Durability
//
// Every change becomes visible through a single rename, after everything it
// makes visible has been synced, and the directory of the rename is synced
// before the call returns (durable.go):
//
//   - CreateFile streams through a double-buffered, O_DIRECT writer
//     (storage/doublebuf) and fdatasyncs the file.
//   - RenameData of an existing object syncs the data dir, moves it in
//     beside the record (where nothing refers to it yet), syncs the object
//     directory, then writes the new record in the staging area, syncs it
//     and renames it over the old one: the commit.
//   - RenameData and WriteMetadata of a new object assemble the whole object
//     directory (record and data dir) in the staging area and rename it into
//     place: the commit, which creates the object complete.
//   - DeleteVersion rewrites the record, or for the last version renames
//     the object directory out into the staging area; data goes after.
//
// A crash therefore leaves every object as it was before the operation or
// as it is after, never a mix; the crash tests kill a process at every step
// to prove it. What a crash can leave is garbage: files in the tmp and
// staging areas, which Open wipes, and data dirs no record refers to.
//
// The record updates of one object are serialised by a striped mutex, so
// concurrent writers on one drive never lose each other's versions; the
// last RenameData of a version wins.
package local
