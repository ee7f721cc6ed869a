// Package versions is the rule that says which version of an object is
// current among a set's drives: what makes two drives' records the same
// version, the order between versions, how many drives must agree, and
// which records may vote.
//
// The object layer's reads and writes (which version a GET or HEAD
// returns, which a PUT replaces) and the listings (which version a listing
// shows) both decide with it, so that a listing shows what a GET finds.
//
// Every drive of a set votes with the latest version of its record of the
// object. A record votes only if CheckErasure accepts it: its erasure
// layout must be one a set of that many drives can hold, so that a damaged
// or foreign record never steers a decode or counts towards a quorum. Two
// votes are for the same version when their Keys are equal: every field
// that says what the version is and how it was coded, nothing that differs
// per drive (the shard index, inline bytes, metadata only shown to
// clients). The current version is the newest (Compare) of the versions
// that at least Needed drives hold.
//
// Versions are ordered by (modification time, version ID), newest first,
// the drives' own order (storage.Newer); never by ETag, which is the same
// for every empty object: an acknowledged 0-byte overwrite must not lose
// to the object it replaced (DESIGN §7, "Failure cases we design against").
// The other fields of a Key only order records that should not exist (the
// same time and ID, different contents), so that the choice never depends
// on the order in which drives answered.
package versions
