// Package listing lists the objects of a bucket over a deployment's erasure
// sets (DESIGN §5: merged, sorted, quorum-resolved walks over a set's
// drives) with S3's ListObjects and ListObjectsV2 semantics.
//
//	l, err := listing.New(listing.Config{Sets: []listing.Set{{Drives: drives, ReadQuorum: 2}}})
//	page, err := l.List(ctx, listing.ListOptions{Bucket: "photos", Delimiter: "/", MaxKeys: 100})
//	next, err := l.List(ctx, listing.ListOptions{Bucket: "photos", Delimiter: "/", ContinuationToken: page.NextContinuationToken})
//
// Lister.Walk gives the same resolved, merged stream without S3's grouping
// and paging, for callers inside the object layer.
//
// # Merge across the drives of a set
//
// Every drive of a set is walked at once (storage.Drive.WalkDir: sorted,
// one directory at a time). Each walk runs in its own goroutine and hands
// its entries, records already decoded, over a channel of Config.Buffer
// entries: a pull iterator that reads ahead a little and stalls its drive
// when the merge does not keep up. The merge takes the smallest name among
// the drives' next entries and gathers every drive that has it. Stopping a
// listing, early or at the end, cancels every walk and waits for its
// goroutine: nothing outlives a call.
//
// # Quorum rules
//
// An object's drives vote with the latest version of their record. Two
// drives agree when their versions are the same: same (mod time, version
// ID) and the same data dir, size, ETag and erasure layout (what makes a
// version, never what differs per drive). Versions are ordered by (mod
// time, version ID), newest first, then by the other fields so that the
// choice never depends on which drive answered first; never by ETag alone,
// which every empty object shares. The object's current version is the
// newest version that at least its quorum of drives hold: its data shard
// count for a version (what decoding it needs), the set's read quorum for a
// delete marker. These are the object layer's read rules, so a listing shows
// the version a GET would return. Then:
//
//   - drives that lack the name, hold another version, or a record that does
//     not decode or cannot be the set's (a corrupt record) do not count for
//     a version; corrupt records are reported (Config.OnDriveError);
//   - a name no version of which has its quorum (a half-written PUT, a
//     half-done DELETE, a PUT in progress on too few drives yet) is not
//     listed;
//   - when a quorum agrees on a version while another holds a newer one
//     below its quorum (an overwrite in progress or failed), the agreed one
//     is listed; when two versions both have their quorum, the newer;
//   - a current version that is a delete marker hides the object;
//   - listed objects that some available drives hold out of date are
//     reported to Config.OnStale, for healing.
//
// Common prefixes (with delimiter "/") come from the drives' directories. A
// drive has a directory only while it holds an object under it, so a
// directory that leads to a listable object is on at least as many drives as
// that object's quorum, never fewer than n - n/2 (parity is at most half a
// set). A directory on fewer drives is dropped without more I/O; it holds
// only leftovers. One on more drives is probed: a recursive walk of it, on
// the drives that have it, resolved by the same rules, that stops at the
// first listable object, usually the first entry of each drive. A directory
// holding only delete markers, or different stale objects on different
// drives, is therefore not listed, as in S3, where a prefix exists only
// through its keys. MinIO lists any directory a quorum of drives holds,
// which shows such empty prefixes (ListOptions.TrustDirectories asks for
// that rule); the probe costs, per listed prefix, a
// walk to its first listable object (on a local drive, one directory read
// per level) to avoid that.
//
// Drives that are nil in the configuration are offline, and so are drives
// that say they cannot be reached (an Available method reporting their node
// known dead, as remote drives do): they are not walked, and a drive that
// says so while the merge waits for it (its node declared dead meanwhile:
// paused, cut off) is dropped then, within 100 ms. A drive whose walk
// fails, or yields nothing for Config.StallTimeout while the merge waits for
// it, is dropped from the listing and reported (Config.OnDriveError); names
// after that point are resolved without it. The merge waits for all of a
// set's drives at once, and once a majority of them (and the read quorum)
// have their next entry, the others get a grace only: Config.Late (500 ms
// by default), or 4 times what the answered drives took if longer; those
// still silent are then dropped the same way, as late. A paused node's
// drives thus cost a listing that grace, once, like a GET's metadata read
// (which settles on the drives that answered), not a stall timeout per
// drive. When fewer than the set's read
// quorum of drives remain, the listing fails with ErrListQuorum, never with
// a short page. Drives that say the bucket does not exist hold nothing; a
// read quorum of them makes the listing fail with storage.ErrVolumeNotFound.
//
// # Merge across sets
//
// Each set resolves its own objects; the sets' sorted streams are merged in
// turn. An object lives in exactly one set, so only directories, which
// several sets hold, need deduplicating (each set decides from its own
// objects whether it has the directory). Should two sets ever hold the same
// object name, the newer version is listed once.
//
// # S3 semantics
//
// List returns the keys that start with Prefix (which need not end at a
// "/": "ph" matches "photo/a" and "phone") and sort after the marker
// (Marker: v1's marker or v2's start-after, or the key in a continuation
// token, which wins). With a Delimiter, a key whose rest after the prefix
// contains it is rolled up into a common prefix: the prefix plus the rest
// up to and including the first delimiter, listed once and counting as one
// entry towards MaxKeys (default and cap 1000). An entry is listed only if
// it, the key or its common prefix, sorts after the marker: a marker inside
// or equal to a common prefix skips all of it, which is what makes
// NextMarker (the page's last key or common prefix) continue a delimited
// listing. IsTruncated is exact (the listing looks one entry ahead). The
// continuation token is opaque: base64url of a format byte and the marker.
// An empty delimiter lists recursively. Keys are raw bytes; URL encoding
// them is the S3 layer's job.
//
// The walks are cut to what can match: WalkDir's Prefix restricts them to
// the prefix's directory and names, StartAfter starts them at the marker
// (past the whole common prefix when the marker is in one). With delimiter
// "/", the walk is not recursive: a page of common prefixes reads one
// directory, plus a probe per prefix, never what the prefixes hold. Other
// delimiters can split names anywhere, so the walk is recursive and the
// grouping done here: correct but slower, since a common prefix's keys are
// walked to be skipped; after reseekAfter consecutive skips the walks are
// restarted past the prefix instead.
//
// # Memory
//
// A call holds one page (at most 1000 entries), Config.Buffer decoded
// entries per drive (inline data, parts and system metadata are dropped
// when a record is decoded), and per set the current name's votes. Nothing
// grows with the bucket: a page's cost is the same in a bucket of 10,000 or
// 100,000 objects (TestMemoryPerPageIsBounded, BENCHMARKS.txt). What the
// drives spend is theirs: a local drive reads a whole directory, and stats
// its entries past the marker, before it yields the directory's first entry,
// so a flat directory of N objects costs O(N) per page on every drive.
package listing
