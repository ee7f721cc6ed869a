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
//	// and srv.PeerDown(peer) on every memberlist death (node/liveness.go)
//	locker, _ := nslock.NewLocker(m, srv, allNodes, cfg, // allNodes includes this node
//		nslock.WithLiveness(members.Dead))
//
//	lk, err := locker.Lock(ctx, "bucket/object") // ctx with a deadline
//	if err != nil { ... } // ErrLockTimeout (held elsewhere), ErrQuorumUnavailable (servers down)
//	defer lk.Unlock()
//	ctx, cancel := lk.WithContext(ctx) // cancelled if the lock is lost
//	defer cancel()
//	...
//	if err := lk.Confirm(ctx); err != nil { ... } // just before the commit
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
//     until ctx ends, then returns a *TimeoutError. Unless the servers are
//     not there to grant: servers the liveness view (WithLiveness:
//     memberlist) holds dead are not asked, and when fewer than the quorum
//     are left the locker returns an *UnavailableError
//     (ErrQuorumUnavailable) at once; when attempts keep failing because
//     servers are disconnected (no liveness view, or before it noticed) it
//     does so after UnreachableTimeout. Contention and slow answers are
//     retried; only unreachability gives up early.
//     A read lock is first asked of R servers only (this node's own, the
//     others in turn from one lock to the next, none held dead): R grants
//     are all it needs, and the others are spared a round trip to grant
//     and one to release. Any refusal or failure there releases what was
//     granted and goes on as above, with every server.
//  3. Refresh: while held, the locker re-confirms the lock on every server
//     it was asked of each RefreshInterval; a server drops grants not refreshed within
//     Validity. A round that finds the lock on fewer than a quorum declares
//     it lost (Lock.Lost, Lock.Err, Lock.WithContext).
//  4. Holder death: a server drops at once every grant of a node whose grid
//     connection goes down or that memberlist declares dead (Server.PeerDown,
//     fed by the grid's OnStateChange and by the node's liveness events), so
//     a dead node's locks are free within the first of the two detection
//     times: immediate for a crashed process (its sockets close), a second
//     or two for a paused or partitioned one (memberlist; the grid's
//     PeerTimeout, 10 s, is the fallback without gossip), never Validity.
//  5. Confirm: before a commit the holder calls Lock.Confirm, which runs a
//     refresh round unless one confirmed the lock within AttemptTimeout, so
//     a holder that was paused or declared dead finds the lock lost before
//     it acts instead of at its next refresh.
//  6. Release: Unlock sends the UID to every server; a server releases only
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
//     rest. A round waiting on a server that the liveness view declares
//     dead meanwhile (a paused node, a second or so into its silence)
//     stops counting on it at once: with one of four servers down a write
//     lock needs all three others, so a round in which one of them refused
//     would otherwise wait out AttemptTimeout for the paused one.
//   - A grant is taken back, too, when the holder's connection dies while the
//     request is being served: the grid cancels the handler's context before
//     it reports the disconnect, and the server checks the context under its
//     lock after granting, so PeerDown cannot miss such a grant.
//   - A paused holder (SIGSTOP, a VM stall) is declared dead by memberlist
//     within a second or two, and every server drops its grants then: its
//     in-flight requests no longer block other writers of their objects,
//     which the grid alone would allow only after PeerTimeout. When it
//     resumes, its requests' Confirm (the last confirmation is as old as
//     the pause) finds the grants gone and the commit is abandoned
//     (object.ErrLockLost); its lease and the disconnect it then sees make
//     the refresher report the lock lost too.
//   - A busy holder wrongly declared dead (memberlist could not reach it in
//     time) loses its grants the same way, while it still works under the
//     lock. It finds out at its next Confirm or refresh: its commits check
//     first, unless the lock was confirmed within AttemptTimeout. Its own
//     node is not told that others declared it dead, so a commit that
//     starts within that window, or a holder that stalls between Confirm
//     and its write, can overlap with the next holder; the object layer's
//     quorum writes (each version is committed on a write quorum of drives,
//     and reads pick the version a read quorum agrees on) remain the
//     backstop, as for any time-bounded lock.
//   - A release reaches every server that is up: it returns once a quorum
//     answered but lets the other calls finish in the background within
//     AttemptTimeout instead of cancelling them, since a cancelled release
//     still queued behind other traffic to a busy peer is never sent, and
//     its grant would block writers there until Validity. No release waits
//     for a server the liveness view holds dead (it is still sent one), so
//     a contended lock does not wait for a paused server before every
//     retry once the view knows.
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
