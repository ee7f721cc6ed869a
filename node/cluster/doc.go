// Package cluster is a node's view of which other nodes are alive: every node
// joins a hashicorp/memberlist gossip pool (SWIM failure detection with the
// Lifeguard extensions) made of the nodes of the endpoint list, and this
// package turns memberlist's view into a lock-free liveness query for the
// object layer's hot path and a stream of events for healing.
//
// A Cluster knows each configured peer (by its host:port in the endpoint
// list, the same name the grid uses) in one of three states:
//
//   - Unknown: never heard of since this node started, and the start-up
//     grace (Config.StartupGrace) has not run out. Nodes start in any
//     order, so a peer that has not joined yet is not treated as dead:
//     Dead reports false and the object layer should try its drives (the
//     grid fails such calls fast anyway while it is not connected).
//   - Alive: memberlist counts it as a member (alive or suspected: a
//     suspected node still gets its chance to refute).
//   - Dead: memberlist declared it dead or it left, or it was never heard
//     of within the start-up grace. The object layer skips its drives at
//     once instead of waiting on them.
//
// Alive, Dead and State read an immutable snapshot through an atomic
// pointer: no lock, no allocation. Subscribe delivers the transitions as
// events: Joined (Unknown -> Alive), Died (-> Dead) and Returned (Dead ->
// Alive: writes may have skipped the node's drives meanwhile, so healing
// should look at it). Delivery never blocks memberlist: each subscriber has
// a bounded buffer, and an event that finds it full is dropped and counted
// (DroppedEvents); State and Members always tell the current truth.
//
// # Gossip
//
// Gossip runs on UDP and TCP on its own port, by default the node's port +
// 10000 (or − 10000 when that would pass 65535, GossipPort), so that several
// nodes can share a host as they do for the grid. It is encrypted and
// authenticated with AES-256-GCM under a key derived from the cluster secret
// (HKDF-SHA256), so a node started with another secret can neither join nor
// be joined; the key is never logged. A node keeps trying to join the peers
// it does not count alive (with backoff), which is how nodes started in any
// order find each other and how the two sides of a healed partition meet
// again: memberlist on its own stops talking to a node it declared dead.
//
// # Timing
//
// DefaultConfig declares a crashed, partitioned or SIGSTOPped peer dead in
// about 1–2 s on a LAN of 4–16 nodes, while a node whose answers are held up
// for less than about a second (GC, CPU throttling, a saturated host) is
// suspected at worst and refutes it; the reasoning is at DefaultConfig.
// Drives are not this package's business: a busy drive is a matter of
// per-drive deadlines, and memberlist's own goroutines answer probes however
// busy the node's drives are.
package cluster
