// Package scanner finds and heals, in the background, what nothing else
// would (DESIGN §7; issue 13, "the scanner" and "replace a drive"): the
// Scanner walks every set slowly, for ever; a Rebuilder refills one
// replaced drive, once, as fast as the node's load allows.
//
// # The scanner
//
// One node scans each set (Config.Owns: node/healing.go picks the first
// node in topology order holding a drive of the set that it holds alive).
// A pass of a set walks its buckets in name order by the read rules
// (object.Layer.WalkSet: what a read quorum lists) and checks each object
// with object.Set.ScanObject: every online drive must hold the version a
// read quorum agrees on, in its own shard position; one pass in
// BitrotEvery also has every drive verify its shard files against their
// HighwayHash checksums where they are (storage.Drive.VerifyFile: only the
// verdict crosses the network). What disagrees is healed at once with
// object.Set.HealObject, its rotten drives named Corrupt.
//
// The pace: at most Rate objects a second and, on a bitrot pass,
// BitrotRate object bytes a second; both wait while Busy says the node is
// under client load. So a pass of a set holding N objects of B bytes takes
// at least N/Rate seconds (N/Rate + B/BitrotRate on a bitrot pass) plus
// the time paused under load, and, at the defaults (100 objects/s, 32
// MiB/s), at most that plus what the checks themselves take when they are
// slower than the pace. A set's next pass starts Interval after its last
// one started (or at once, when the last one took longer).
//
// The cursor (per set: the pass in progress, its position, the last pass's
// end) is saved every SaveEvery and when the scanner stops, as a small
// JSON file on every local drive of the node (Store, DirOf); a restarted
// node resumes each pass where it stopped and knows when the next is due.
// A set whose owner changes is scanned by the new owner from its own
// cursor.
//
// What a scan does not find: an object that no read quorum lists (a
// version on too few drives is a failed write's leftover, removed when a
// read or heal meets it).
//
// # The rebuild
//
// A drive that came back empty (replaced, wiped) is formatted into the
// deployment by its node and marked healing. Its node then runs a
// Rebuilder for it: it creates every bucket of the deployment on the drive
// (object.Set.EnsureBuckets; new writes reach it from then on), counts the
// set's objects and bytes (one listing: the total of the progress, an
// estimate since writes go on), and walks the set healing every object
// onto the drive (object.Set.HealObject, with no scan first: nearly every
// object needs it), pausing while Busy: Workers objects of 1 MiB or more at
// once, or eight times as many smaller ones (their heals are a few small
// synced writes each, which share the drive's flushes when many are in
// flight). Progress (objects and bytes checked of the total, objects healed
// and the shard bytes written, failures, an ETA at this run's rate) is in
// Status. The cursor moves past an object once it and every object before
// it are done (heals end in any order) and is saved, with the counts,
// on the drive itself every SaveEvery: a restart resumes; a drive wiped
// again starts over. A pass that left objects unhealed (a source down, no
// quorum) is followed by another from the start, 2 s later at first, the
// delay doubling up to Retry; once a pass
// has put every object on the drive, Done clears the healing mark.
package scanner
