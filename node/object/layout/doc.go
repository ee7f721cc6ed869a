// Package layout decides where objects live: which drives form which
// erasure set, how much parity a set carries, which set an object belongs to
// and in which order its shards lie on the set's drives (DESIGN §5).
//
// It is pure arithmetic on the drive list (no I/O, no clock, no randomness):
// every node, given the same endpoint list, computes the same layout.
//
// # Erasure sets
//
// The drives, in endpoint order (package node/endpoint), are split into sets
// of SetSize drives, 4 to 16, all the same size. The size must divide the
// drive count; among the sizes that do (CandidateSetSizes), ChooseSetSize
// prefers, in order:
//
//  1. node-fault tolerant: no node holds more of a set's drives than its
//     parity, so losing a node costs a set at most parity shards;
//  2. even: every node of a set holds as many of its drives as the others
//     (the size is at most the node count, or a multiple of it);
//  3. the largest, which spends the smallest share of the drives on parity.
//
// This is MinIO's rule (the largest size that divides the drive count and is
// symmetric with the node count) with tolerance put first: for 2 nodes × 8
// drives MinIO takes one set of 16 with parity 4, which loses 8 drives with a
// node; we take two sets of 8 (parity 4) that keep serving reads. A forced
// Config.SetSize skips the choice.
//
// The drives are dealt round-robin across nodes: the first drive of every
// node, then the second of every node, and so on, cut into consecutive runs
// of SetSize. A run of k drives of that order holds at most ceil(k/nodes) of
// any node, the fewest possible. With nodes n1..n4 of 2 drives each
// (http://n{1...4}:9000/d{1...2}, drives 0..7 = n1/d1, n1/d2, n2/d1, ...):
//
//	order: n1/d1 n2/d1 n3/d1 n4/d1 n1/d2 n2/d2 n3/d2 n4/d2  → one set of 8,
//	2 drives per node, parity 4: node-fault tolerant.
//
// Some layouts (nodes × drives per node, default parity):
//
//	1×4  → 1 set of 4,   parity 2, not node-fault tolerant (one node)
//	2×2  → 1 set of 4,   parity 2, tolerant for reads; writes need 3 of 4
//	2×8  → 2 sets of 8,  parity 4, tolerant for reads; writes need 5 of 8
//	4×4  → 1 set of 16,  parity 4, tolerant for reads and writes
//	5×4  → 2 sets of 10, parity 4, tolerant for reads and writes
//	32×1 → 2 sets of 16, parity 4, tolerant for reads and writes
//
// "Tolerant" (NodeFaultTolerant) means reads survive any one node; writes
// survive it too when the drives left still make a write quorum at the
// raised parity (NodeFaultTolerantWrites).
//
// TestLayouts and testdata/layouts.golden pin many more, drive by drive.
// The assignment is recorded in every drive's format record (FormatSets) and
// checked at start-up against the endpoints (CheckFormat): changing the
// dealing rule would strand existing deployments, so the golden file must
// not change.
//
// # Parity and quorum
//
// Default parity by set size: 4–5 drives → 2, 6–7 → 3, 8–16 → 4
// (DefaultParity); a deployment may choose 1 ≤ parity ≤ size/2 ("EC:N",
// ParseParity). Objects pick it through their storage class
// (StorageClasses): STANDARD is the deployment parity, REDUCED_REDUNDANCY 2
// by default and never more than STANDARD. Read quorum = data shards; write
// quorum = data shards, plus one when data == parity so that two disjoint
// halves of a set can never both acknowledge (ReadQuorum, WriteQuorum).
//
// When drives of a set are known to be offline at write time, the object is
// written with more parity, min(parity+offline, size/2), so it is as durable
// as the others once the drives come back (AdjustParity).
//
// # Placement
//
// An object belongs to set
//
//	SipHash-2-4(deployment ID, "bucket/object") mod number of sets
//
// (SetIndex, Layout.ObjectSet). That mapping is frozen: changing it loses
// every object of every deployment, and TestPlacementPinned holds it to
// known outputs.
//
// Inside its set, an object's shards lie in a per-object rotation, its
// distribution (Distribution): distribution[p] is the 1-based number of the
// shard on the set's drive at position p, starting at crc32("bucket/object")
// mod size. It is stored in the object's metadata, so only new writes would
// see a change. ShuffleDrives turns the set's drives (position order) into
// shard order; UnshuffleShards turns per-shard values back into drive order:
//
//	dist, _ := layout.Distribution("photos", "cat.jpg", 4)  // e.g. [3 4 1 2]
//	byShard, _ := layout.ShuffleDrives(drives, dist)       // byShard[0] holds shard 1 = drives[2]
//	byDrive, _ := layout.UnshuffleShards(byShard, dist)    // == drives
package layout
