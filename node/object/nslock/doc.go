// Package nslock provides namespace locks: read/write locks on resource
// names ("bucket/object"), held on a quorum of nodes over the grid, that the
// object layer takes so that PUT, DELETE and multipart completion of the same
// name are serialised while reads proceed side by side.
//
// # Pieces
//
// Every node runs a Server: an in-memory table of resource -> one writer or
// a set of readers, each grant recording the holder's node (its grid
// address, as the grid authenticated the caller), the lock's UID and when it
// was last refreshed. A Server is one vote; it knows nothing of quorums.
//
// Every node has a Locker, which takes locks on all the nodes' servers: its
// own directly (a method call), the others with single grid requests
// (proto.HandlerLock ... HandlerForceUnlock, LockArgs in, LockReply out).
// Locker.Lock and RLock return a *Lock; Unlock releases it.
//
// Wiring on a node:
//
//	srv, _ := nslock.NewServer(cfg)
//	gridCfg.OnStateChange = srv.OnStateChange // or call srv.PeerDown from the node's own callback
//	m, _ := grid.NewManager(gridCfg)
//	_ = srv.Register(m)
//	locker, _ := nslock.NewLocker(m, srv, allNodes, cfg) // allNodes includes this node
//
//	lk, err := locker.Lock(ctx, "bucket/object") // ctx with a deadline
//	if err != nil { ... } // errors.Is(err, nslock.ErrLockTimeout)
//	defer lk.Unlock()
//	ctx, cancel := lk.WithContext(ctx) // cancelled if the lock is lost
//	defer cancel()
//
// # Protocol
//
//  1. Acquire: a Lock call picks a random UID and sends (UID, sorted
//     resources) to every server at once, with a per-attempt timeout. A
//     server grants all the resources or none: a write grant when nobody
//     holds any of them, a read grant when no writer does.
//  2. Quorum: with n servers a write lock needs W = n/2+1 grants, a read lock
//     R = n-W+1. If fewer grant, the locker releases what it got (and what
//     it cannot be sure of) and retries with jittered exponential backoff
//     until ctx ends, then returns a *TimeoutError.
//  3. Refresh: while held, the locker re-confirms the lock on every server
//     each RefreshInterval; a server drops grants not refreshed within
//     Validity. A round that finds the lock on fewer than a quorum declares
//     it lost (Lock.Lost, Lock.Err, Lock.WithContext).
//  4. Holder death: a server drops at once every grant of a node whose grid
//     connection goes down (Server.PeerDown, fed by the grid's
//     OnStateChange), so a killed node's locks are free within the grid's
//     detection time: immediate for a crashed process (its sockets close),
//     PeerTimeout for a silent one, never Validity.
//  5. Release: Unlock sends the UID to every server; a server releases only
//     grants with that UID, so a holder that lost its lock cannot release
//     the next holder's.
//
// # Quorum math
//
// Two write quorums overlap because 2W = 2(n/2+1) > n: some server is in
// both and grants only one. A read quorum and a write quorum overlap because
// R+W = n+1 > n. R is the smallest size with that property; read quorums need
// not overlap each other, since readers do not exclude readers. So write
// locks survive n-W servers down and read locks W-1:
//
//	n   1 2 3 4 5 6 7 8 ... 16
//	W   1 2 2 3 3 4 4 5 ...  9
//	R   1 1 2 2 3 3 4 4 ...  8
//
// With 4 nodes: one down, both kinds work; two down, read locks still work
// and write locks cannot be had. TestQuorumMath checks n = 1..16.
//
// # Failures
//
//   - A slow or paused server does not slow every lock: a round stops
//     waiting once a quorum answered and the others had a short grace
//     (AttemptTimeout/20), or as soon as quorum is out of reach. Requests
//     still in flight then are cancelled; the grid propagates the
//     cancellation and a server takes back a grant whose request was
//     cancelled, so it does not linger until Validity. A grant whose answer
//     still arrives is known to the locker, refreshed and released with the
//     rest.
//   - A grant is taken back, too, when the holder's connection dies while the
//     request is being served: the grid cancels the handler's context before
//     it reports the disconnect, and the server checks the context under its
//     lock after granting, so PeerDown cannot miss such a grant.
//   - A live holder that is only briefly disconnected from a server loses its
//     grant there. The node's own server sees the same disconnect and wakes
//     the node's lockers, which refresh at once: with a quorum left the lock
//     stays held, without one it is reported lost. (If that refresh reaches
//     the server before it processed the disconnect, the loss is noticed at
//     the next periodic refresh, within RefreshInterval.)
//   - A holder that cannot refresh (partitioned, stuck) keeps its own lease:
//     Validity after the start of the last round a quorum confirmed, it
//     reports the lock lost. The servers' clock for that grant started no
//     earlier, so the holder knows before any server expires it (up to
//     scheduling delays and clock-rate differences).
//   - A server that restarts forgets its grants: each held lock loses one
//     vote there, and is lost only if that leaves it short of quorum.
//   - A node that restarts and reconnects before its peers noticed the old
//     connection die (the grid replaces it without a disconnect event)
//     leaves its old grants to expire after Validity.
//   - Locks are advisory and time-bounded: a holder that ignores Lost, or a
//     network partition in which the servers drop a holder's grants before
//     it notices, can overlap with the next holder for up to a refresh round.
//     Writers must also rely on the object layer's quorum writes.
//
// Writers are not given priority: a steady stream of overlapping readers can
// keep a writer waiting until its context ends.
package nslock
