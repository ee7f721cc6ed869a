// Package object is the object layer: a Set turns one erasure set's drives
// (storage.Drive, local or remote, in set position order) into buckets and
// objects with S3 semantics (DESIGN §5), and a Layer spans every set of a
// deployment: it routes each object to its set by the layout's keyed hash,
// keeps buckets consistent across sets, lists through node/object/listing
// and reports per-set health. It knows nothing about HTTP; the S3 layer
// above maps its sentinel errors to S3 error codes. Package objecttest runs
// whole in-process clusters (real grid, remote drives, namespace locks) for
// tests.
//
// A Set is built from its drives, its default parity, the deployment's
// bitrot key and block size, a Locker (namespace locks) and a HealQueue.
// Placement of objects on sets and the per-object shard order come from
// package node/object/layout.
//
// # Quorums
//
// With n drives and parity p, d = n-p data shards: read quorum d, write
// quorum d (d+1 when d == p, so that two halves of the set can never both
// acknowledge). A write (PUT, DELETE, bucket change) is acknowledged only
// once a write quorum of drives committed it; a read needs a read quorum of
// drives agreeing on what the object is. Every drive call has its own
// deadline (Config.DriveTimeout, Config.ShardTimeout), so a slow or paused
// drive costs a request at most that, and usually nothing (see GET).
//
// # Version selection
//
// Every drive reports its latest version of the object. The current
// version is the newest, by (ModTime, VersionID), of the versions that at
// least their own data shard count of drives report; never chosen by ETag,
// which is the same for every empty object (DESIGN §7). Two drives agree
// only if their records are the same version in every field that defines
// it (package versions). "Not found" needs a read quorum of drives saying the
// object is absent; anything between is ErrReadQuorum, never a false 404.
// The answers of drives still pending are not waited for once they could no
// longer change the outcome (beyond Config.StragglerWait): a version agreed
// by its quorum cannot hide a newer acknowledged one, since any two such
// quorums share a drive. By the same rule a GET or HEAD asks only the read
// quorum, and at least n/2+1, of the drives first, in turn from one read to
// the next: when they agree that settles it, and the others are asked only
// when they do not (or have not answered within StragglerWait). The drives
// not asked are neither healed nor counted against the read; a GET may
// still read their shard files, and reads their records when the inline
// shards of the others fall short.
//
// # PUT
//
//  1. Find the drives that are offline: those that know it say so without
//     a call (a remote drive whose node the liveness view holds dead, a
//     drive out of service), the others are probed (DiskInfo). With k
//     offline, the object gets parity min(p+k, n/2), recorded in its
//     ErasureInfo, so that it is as durable as the others once they are
//     back; too few online is ErrWriteQuorum.
//  2. Objects up to InlineLimit (128 KiB; with an unknown size, read up to
//     one byte more to find out) are coded in memory and every drive gets
//     its own bitrot-framed shard inline in its metadata record. Larger
//     objects are coded block by block (erasure.EncodeWith) while the MD5
//     ETag is computed on the fly, each shard through a bitrot writer and a
//     ring buffer (the shard file's size, 64 KiB to 2 MiB) into the drive's
//     CreateFile at TmpVolume/<uuid>/<data-dir>/part.1, all drives in
//     parallel; a shard that fails, stalls, or holds the others back past
//     their write quorum by the write grace in all is dropped (its drive
//     healed later), and the write goes on while a write quorum of shards
//     is healthy. Once a write quorum of shard files is
//     complete, the others get a write grace (10 × StragglerWait) to finish
//     syncing; a file still unfinished then (a paused drive) is given up,
//     and the drive healed later.
//  3. Under the object's write lock (writers of a name are ordered there;
//     the data was written without it), read the drives' versions (as a
//     GET's metadata read asks: max(read quorum, n/2+1) drives first, the
//     others only if those do not settle the current version), give
//     the new version a ModTime after all of them (node clocks drift) and
//     commit it with RenameData on every drive that has its shard. A
//     PutOptions.Precondition (S3's If-None-Match: * and If-Match) is
//     decided here, on the current version those same reads give by the
//     rule of reads, so that it and the commit are one step for every
//     other writer; failing, it removes the shard files and commits
//     nothing (ErrPreconditionFailed). It is also looked at before the
//     body is read, so that a PUT bound to fail stores nothing first, but
//     only the decision under the lock counts. A multipart Complete
//     commits the same way (commit.go). Just before the commit the lock
//     is confirmed (stillHeld: a lock not confirmed by a quorum within the
//     last second is asked about), so a writer that was paused, or whose
//     node the others declared dead and took the lock from, gives up
//     (ErrLockLost) instead of committing. A lock that too few lock
//     servers are up to grant fails at once as ErrWriteQuorum.
//  4. Fewer than a write quorum committed: delete the new version again
//     from the drives that did, remove the shard files, ErrWriteQuorum
//     (Set.withdraw). A drive whose commit did not answer in time, or
//     could not answer, may still carry it out: it first loses the staging
//     directory the commit publishes from, then the version, so a commit
//     landing late finds nothing to publish, or has published under the
//     drive's object lock, which the deletion waits for. (An inline
//     version has no such directory: a late commit of one can land after
//     the heal its failure queued. The drive is in the missed-write log
//     too, whose entries are healed only once a late commit has had its
//     time, missedlog.HealerConfig.Settle.) The
//     new version has a version ID of its own and was added beside the old
//     one, never over it, so this restores the object exactly (overwriting
//     the old version in place would have needed its data back, which the
//     drive contract cannot give). Readers hold the read lock, so none saw
//     the version in between.
//  5. A write quorum committed: delete the versions the drives held before
//     (those step 3 read, and those each drive's RenameData reported older
//     than the new one), with their data dirs, and the tmp directories
//     (only drives with something to remove are called); a drive whose
//     removal fails is queued for healing, which prunes the old versions
//     it finds beside the current one (HealResult.Pruned; the scanner
//     finds such drives too). Remember the drives
//     that missed the write durably (Config.Missed: the node's missed-write
//     log, node/object/missedlog, so that they are healed when they are
//     back even if nobody reads the object) and queue them for healing;
//     acknowledge. A DELETE and a failed write's rollback that miss drives
//     are remembered the same way.
//
// Every fan-out of a write (the commit, the cleanups of step 5, DELETE)
// returns once its quorum has answered and the write grace has passed
// (fanOutWrite), not when the slowest drive has: the calls it stops
// waiting for are not cancelled but finish on their own, and the object is
// queued for healing on those drives. The version read of step 3 settles
// like a GET's. Drives known offline are asked nothing at all.
//
// S3 shows these per-write versions as the "null" version of an
// unversioned bucket; ObjectInfo.VersionID is internal.
//
// # GET
//
// The object's read lock covers choosing the version and reading the range's
// first block, which opens the data shard streams; it is released before
// the first byte goes to the caller (at once for an inline object or an
// empty range), so a writer of the key never waits for a slow client. The
// streams go on reading the chosen version after a PUT or DELETE removed
// its data dir (a data dir is unique to its version and never rewritten;
// an open file outlives its unlinking). A stream opened later (a parity
// shard standing in for a late or failed data shard, a multipart object's
// next part) may find the version gone: a missing shard, and if the block
// cannot make its quorum without it the GET fails part way. A GET returns
// the old version or the new one, whole, or an error; never a mix. After
// version selection, erasure.Decode reads the blocks of the range from the
// data shards, and from parity only when a data shard is missing, late
// (its block not there within Config.LateShard, learned from recent reads
// within 50–500 ms: then parity is read too and the first shards to arrive
// win, and the late drive is read last for the rest of the GET), slow (no
// block within ShardTimeout) or corrupt (bitrot). Lateness is remembered
// across GETs: each drive of the set has a score (driveLateness) that a
// late, stalled or failed read raises and an on-time read and time
// (Config.LateDriveHalfLife) lower; a drive late twice in close succession
// has its data shard read only as a last resort (erasure.DecodeOptions.
// Avoid), so later GETs read parity in its place from the first block,
// without asking it or waiting out the late threshold, until its score
// has decayed (about 8 s at most by default) and a GET tries it again.
// Parity shards are lazy
// bitrot readers over ReadFileStream, never opened unless needed. Each shard
// in use is prefetched PrefetchDepth blocks ahead of the block being
// written to the caller, with bounded memory; a caller that stops reading
// (its writer fails, its context ends, it closes the reader) cancels every
// read in flight, and no goroutine outlives the request. Fewer than d
// healthy shards for a block is ErrReadQuorum, and no byte of that block is
// delivered; a failure after bytes went out is still an error, never a
// short success. Drives found missing or corrupt (stale metadata, missing
// or rotten shards) are queued for healing; offline or slow ones are not.
//
// # DELETE
//
// With fewer drives known up than the write quorum it fails at once
// (ErrWriteQuorum), before asking for the lock, as a PUT does at its probe.
// Under the write lock, confirmed as a commit's is, every drive removes every version of the object
// (older ones first, so a drive failing halfway still shows its latest
// version, never an older one). Acknowledged only when a write quorum of
// drives no longer has the object, so that the drives that missed it can
// never outvote the delete. Deleting an absent object succeeds.
// DeleteObjects runs a bounded number of these in parallel, one result per
// key. CopyObject is a GET streamed into a PUT, with the source's or new
// metadata. Delete markers and versioned buckets come later.
//
// # Buckets
//
// A bucket is a volume on every drive. MakeBucket and DeleteBucket need a
// write quorum and are undone below it; DeleteBucket refuses (and undoes)
// if any drive still holds anything in the bucket. HeadBucket and
// ListBuckets need a read quorum either way.
//
// # Guarantees
//
// No acknowledged write is lost or hidden by an older version while no more
// than its parity drives fail; a failed write leaves nothing visible;
// reads return a whole version, exactly as written, or an error; bad input
// is an error, never a panic. Content headers and x-amz-meta-* metadata are
// kept exactly as given.
package object
