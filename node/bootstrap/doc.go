// Package bootstrap brings a node's drives up at start-up and agrees with
// the other nodes on the deployment they form (DESIGN §4, §6): its ID, set
// layout and bitrot key, the same on every node. It formats new drives once
// a quorum of nodes is reachable, waits (saying what for) otherwise, and
// refuses drives that belong to another deployment or position.
//
// # Use
//
//	cfg := bootstrap.DefaultConfig()
//	cfg.Topology, cfg.Grid, cfg.Logger = topo, gridManager, log // topo resolved for this node
//	b, err := bootstrap.New(cfg) // registers the handlers: before gridManager.Start
//	gridManager.Start()
//	res, err := b.Run(ctx)      // res.LocalDrives open, res.DeploymentID, res.Sets, ...
//
// # Protocol
//
// Two grid handlers, served for the Manager's lifetime so that a node that
// starts later is answered by nodes that are already up:
//
//   - Info (proto.HandlerBootstrapInfo) answers the node's topology
//     fingerprint, a SHA-256 of the canonical endpoint list, set size,
//     parity and the grid, bootstrap and build versions, plus the topology
//     itself when the caller's fingerprint differs (so the caller can say
//     what differs), and the format state of each of the node's drives:
//     empty, formatted (with the record), not empty (unformatted but holding
//     files), damaged (a record that cannot be trusted, with the reason) or
//     offline (the directory cannot be reached).
//   - Format (proto.HandlerBootstrapFormat) formats the node's empty drives
//     as drives of a new deployment, each with the drive ID the deployment's
//     sets hold at its position. It is accepted only from the first node and
//     with an equal fingerprint; it is idempotent for the same deployment,
//     and refused, formatting nothing, if a drive is formatted for another
//     deployment or position. A directory that is not empty is never
//     formatted.
//
// # Algorithm
//
// Run repeats, every Config.PollInterval or when a grid connection comes up,
// until it returns: collect the state of every node (its own directly, the
// others' through Info), then apply Decide, a pure function of those states
// (no I/O, clock or randomness: table-tested over many combinations), and
// carry out what it says:
//
//  1. A local drive that is not empty but unformatted, or has a damaged
//     record: refuse (ErrDriveNotEmpty, ErrDamagedDrive). No answer from
//     another node can make it usable.
//  2. Nodes that answer with another fingerprint are not counted
//     (logged once). Fewer than n/2+1 nodes counted (this one included):
//     wait, logging the nodes still missing; if the mismatched nodes make a
//     quorum impossible, refuse (ErrTopologyMismatch, naming each node and
//     what differs).
//  3. Drives are grouped by deployment (ID, sets and bitrot key). If one
//     deployment is on at least the read quorum of all drives (the sets'
//     read quorums summed), adopt it: local drives formatted for it at
//     their position are opened, empty ones are formatted at their position,
//     opened and marked healing, unreachable ones are skipped, and any other
//     local drive makes the node refuse: another deployment is
//     ErrForeignDrive, the deployment's drive at another position is
//     ErrDrivePosition (with where it belongs). Two deployments each with a
//     read quorum: refuse (ErrSplitDeployment).
//  4. No reachable drive has a format record, and every set has at least
//     its write quorum of drives reachable and empty: a new deployment. The
//     first node of the topology, and only it, generates it (UUIDs for the
//     deployment and every drive, a 32-byte bitrot key, all from
//     crypto/rand), formats its drives and sends Format to every other
//     node, then collects again; until the deployment holds a quorum it
//     re-sends the same one, never a second. The other nodes wait for it.
//  5. Otherwise wait, logging where every drive stands, or, when every node
//     and drive has answered so nothing can change, refuse (ErrNoQuorum).
//     One exception: a single deployment plus empty drives is also what
//     the other nodes see while the first node is formatting, so they wait.
//
// Run ends with ctx's error (wrapped with what it was waiting for) if ctx
// ends first.
//
// # Why nodes converge on one deployment
//
// Only the first node generates, and at most once per start-up. A drive's
// record is committed by a link that fails if one exists (local.Format), so
// of two formats of one drive the second fails and is checked rather than
// applied; Format requests are serialised with the node's own formatting.
// A node adopts only a deployment on a read quorum of drives, and two
// deployments cannot both have one unless data == parity, which is
// refused. Nodes started together may mark drives healing in a brand-new
// deployment (a node that sees the quorum before the first node's Format
// request reaches it formats its own drives); healing an empty deployment
// costs nothing.
//
// # Limits
//
// A new cluster needs its first node. If the first node dies after
// formatting some drives but before they make a quorum, those drives hold a
// deployment that no quorum confirms: on restart the first node refuses
// (ErrNoQuorum) and the others wait; empty the drives to start over.
// If the first node restarts among a quorum of nodes whose reachable drives
// are all empty (the deployment's drives wiped, or their mounts missing), it
// creates a new deployment; drives of the old one that come back are refused
// as foreign, never merged.
package bootstrap
