package nslock

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"go.uber.org/zap"
)

// op is what a lock server is asked to do; each op has its own handler ID.
type op uint8

const (
	opLock op = iota
	opRLock
	opUnlock
	opRUnlock
	opRefresh
	opForceUnlock
	numOps
)

var opNames = [numOps]string{"lock", "rlock", "unlock", "runlock", "refresh", "force-unlock"}

func (o op) String() string { return opNames[o] }

// rpcs are the typed handlers, indexed by op. All share LockArgs and LockReply.
var rpcs = [numOps]*grid.SingleRPC[*LockArgs, *LockReply]{
	opLock:        newRPC(proto.HandlerLock),
	opRLock:       newRPC(proto.HandlerRLock),
	opUnlock:      newRPC(proto.HandlerUnlock),
	opRUnlock:     newRPC(proto.HandlerRUnlock),
	opRefresh:     newRPC(proto.HandlerRefreshLock),
	opForceUnlock: newRPC(proto.HandlerForceUnlock),
}

func newRPC(id proto.HandlerID) *grid.SingleRPC[*LockArgs, *LockReply] {
	return grid.NewSingleRPC(id, func() *LockArgs { return &LockArgs{} }, func() *LockReply { return &LockReply{} })
}

// The two possible answers, shared by every handler call: a reply is only
// read (encoded) after the handler returns, so one value each is enough and a
// call allocates no reply.
var (
	replyYes = &LockReply{OK: true}
	replyNo  = &LockReply{OK: false}
)

// holder is one grant: who holds it and when it was last refreshed.
type holder struct {
	owner     string // grid address of the holder's node
	uid       string
	refreshed time.Time
}

// entry is the state of one locked resource: one writer, or readers by UID.
type entry struct {
	writer    holder
	hasWriter bool
	readers   map[string]holder
	// peakReaders is the most readers the entry had at once.
	peakReaders int
}

func (e *entry) empty() bool { return !e.hasWriter && len(e.readers) == 0 }

// Server is one node's lock server: an in-memory table of which resources are
// locked, by whom. It is only one vote: a lock is held when a quorum of
// servers granted it (see Locker). Nothing is persisted: a server that
// restarts forgets its grants, which costs holders one vote each, no more.
type Server struct {
	validity time.Duration
	log      *zap.Logger
	now      func() time.Time // time.Now; tests substitute a fake clock

	mu        sync.Mutex
	table     map[string]*entry
	lastSweep time.Time
	// down is closed (and replaced) at every PeerDown: the node's own
	// lockers watch it to re-check their locks at once, since that peer's
	// server has just dropped every lock they held there (or, for a death
	// memberlist reported, is unreachable).
	down  chan struct{}
	stats ServerStats
	// free recycles entries (and their readers maps): most locks live for
	// one request, so without it every grant would allocate.
	free []*entry
}

// maxFree bounds the recycled entries kept.
const maxFree = 256

func (s *Server) newEntryLocked() *entry {
	if n := len(s.free); n > 0 {
		e := s.free[n-1]
		s.free = s.free[:n-1]
		return e
	}
	return &entry{}
}

// deleteLocked removes res's entry, which must be empty, and recycles it.
func (s *Server) deleteLocked(res string, e *entry) {
	delete(s.table, res)
	if len(s.free) < maxFree {
		if e.peakReaders > 64 {
			e.readers = nil // a cleared map keeps its size: do not hoard a big one
		}
		e.writer, e.peakReaders = holder{}, 0
		s.free = append(s.free, e)
	}
}

// ServerStats counts what a lock server did, for metrics. Held, Writers and
// Readers are current; the rest are totals since start.
type ServerStats struct {
	Held    int // resources currently locked
	Writers int // write grants currently held
	Readers int // read grants currently held

	Granted       uint64 // grants (a multi-resource request counts once)
	Refused       uint64 // requests refused because of a conflicting holder
	Released      uint64 // grants released by their holder
	Expired       uint64 // grants dropped because they were not refreshed within Validity
	DroppedByPeer uint64 // grants dropped because the holder's node disconnected or was declared dead
	Forced        uint64 // grants dropped by ForceUnlock
}

// NewServer returns an empty lock server. Only cfg.Validity and cfg.Logger
// matter to it, but the whole Config is validated so that a node's server
// and locker share one.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Server{
		validity: cfg.Validity,
		log:      cfg.logger(),
		now:      time.Now,
		table:    map[string]*entry{},
		down:     make(chan struct{}),
	}, nil
}

// Register serves the lock handlers (proto.HandlerLock ... HandlerForceUnlock)
// on m. The owner of a grant made over the grid is the calling node's grid
// address, as the grid authenticated it, not anything the request says.
func (s *Server) Register(m *grid.Manager) error {
	for o, rpc := range rpcs {
		o := op(o)
		err := rpc.Register(m, func(ctx context.Context, a *LockArgs) (*LockReply, error) {
			ok, err := s.apply(ctx, o, grid.CallerFromContext(ctx), a)
			if err != nil {
				return nil, err
			}
			if ok {
				return replyYes, nil
			}
			return replyNo, nil
		})
		if err != nil {
			return fmt.Errorf("nslock: register %v handler: %w", rpc.ID(), err)
		}
	}
	return nil
}

// OnStateChange has the signature of grid.Config.OnStateChange: wire it there
// (directly or from the node's own callback). A peer whose connection goes
// down has its locks dropped at once; see PeerDown.
func (s *Server) OnStateChange(peer string, st grid.State) {
	if st == grid.StateDisconnected || st == grid.StateClosed {
		s.PeerDown(peer)
	}
}

// PeerDown drops every grant held by node addr and returns how many. Feed it
// both the grid's disconnects (OnStateChange) and the node's liveness view's
// deaths (memberlist): the grid reports a killed node at once (its TCP
// connection is reset) but a silent one only after its PeerTimeout, while
// memberlist declares a paused or partitioned node dead in a second or two.
// Either way a dead holder's locks are released within seconds instead of
// after Validity, and its in-flight requests' locks (a paused node's) do not
// block the others' writers.
//
// A live holder that only lost its connection briefly, or that memberlist
// suspected wrongly (a busy node), loses its grants here too. That is safe:
// its next refresh (which the node runs at once when it sees a disconnect
// itself, else within RefreshInterval), or a Confirm before it commits,
// counts the missing grants, and if a quorum is gone it reports the lock
// lost rather than carrying on without it.
//
// A grant whose request was still being served when the connection went
// cannot slip past this: the grid cancels a handler's context before it
// reports the disconnect, and apply re-checks the context under the same
// mutex after granting.
func (s *Server) PeerDown(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A scan rather than a per-owner index: the table holds only locks in
	// use right now, and peers go down rarely.
	n := 0
	for res, e := range s.table {
		if e.hasWriter && e.writer.owner == addr {
			e.hasWriter = false
			n++
		}
		for uid, h := range e.readers {
			if h.owner == addr {
				delete(e.readers, uid)
				n++
			}
		}
		if e.empty() {
			s.deleteLocked(res, e)
		}
	}
	s.stats.DroppedByPeer += uint64(n)
	close(s.down)
	s.down = make(chan struct{})
	if n > 0 {
		s.log.Info("nslock: dropped the locks of a node that went down", zap.String("peer", addr), zap.Int("grants", n))
	}
	return n
}

// downSignal returns a channel closed at the next PeerDown.
func (s *Server) downSignal() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// ForceUnlock drops every grant on the given resources, whoever holds them,
// and returns how many (admin, tests). The holders find out at their next
// refresh. Use Locker.ForceUnlock to do it on every server.
func (s *Server) ForceUnlock(resources ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forceLocked(resources)
}

// Stats returns the server's counters. Grants past their validity are
// dropped first, so Held counts only live locks.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now(), true)
	st := s.stats
	st.Held = len(s.table)
	for _, e := range s.table {
		if e.hasWriter {
			st.Writers++
		}
		st.Readers += len(e.readers)
	}
	return st
}

// holderOf reports who holds res on this server, for tests and debugging:
// the writer's UID, or the readers' UIDs.
func (s *Server) holderOf(res string) (writer string, readers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.table[res]
	if e == nil {
		return "", nil
	}
	s.expireLocked(res, e, s.now())
	if e.hasWriter {
		writer = e.writer.uid
	}
	for uid := range e.readers {
		readers = append(readers, uid)
	}
	return writer, readers
}

// apply performs one request from owner. The local Locker calls it directly,
// remote ones through the grid handlers.
func (s *Server) apply(ctx context.Context, o op, owner string, a *LockArgs) (bool, error) {
	if len(a.Resources) == 0 || (a.UID == "" && o != opForceUnlock) || owner == "" {
		return false, fmt.Errorf("%w: nslock %v: missing UID, owner or resources", grid.ErrBadRequest, o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now, false)
	switch o {
	case opLock, opRLock:
		if !s.lockLocked(owner, a.UID, a.Resources, o == opLock, now) {
			s.stats.Refused++
			return false, nil
		}
		// The caller may have given up (its attempt timed out, or it reached
		// quorum without us) or its connection may be gone; either way nobody
		// will learn of this grant, so take it back rather than leave a lock
		// that blocks others until it expires.
		if ctx.Err() != nil {
			s.unlockLocked(a.UID, a.Resources, o == opLock)
			return false, nil
		}
		s.stats.Granted++
		return true, nil
	case opUnlock, opRUnlock:
		ok := s.unlockLocked(a.UID, a.Resources, o == opUnlock)
		if ok {
			s.stats.Released++
		}
		return ok, nil
	case opRefresh:
		return s.refreshLocked(a.UID, a.Resources, now), nil
	case opForceUnlock:
		return s.forceLocked(a.Resources) > 0, nil
	}
	return false, fmt.Errorf("%w: nslock: unknown op %d", grid.ErrBadRequest, o)
}

// lockLocked grants uid all of resources or none. A request for a grant uid
// already holds renews it, so a retried request is harmless.
func (s *Server) lockLocked(owner, uid string, resources []string, write bool, now time.Time) bool {
	for _, res := range resources {
		e := s.table[res]
		if e == nil {
			continue
		}
		s.expireLocked(res, e, now)
		if write {
			if len(e.readers) > 0 || (e.hasWriter && e.writer.uid != uid) {
				return false
			}
		} else if e.hasWriter {
			return false
		}
	}
	h := holder{owner: owner, uid: uid, refreshed: now}
	for _, res := range resources {
		e := s.table[res]
		if e == nil {
			e = s.newEntryLocked()
			s.table[res] = e
		}
		if write {
			e.writer, e.hasWriter = h, true
			continue
		}
		if e.readers == nil {
			e.readers = make(map[string]holder, 1)
		}
		e.readers[uid] = h
		e.peakReaders = max(e.peakReaders, len(e.readers))
	}
	return true
}

// unlockLocked releases uid's grants on resources. A grant is only ever
// released by its own UID: a holder whose lock expired and went to someone
// else cannot release the new holder's grant with a late Unlock.
func (s *Server) unlockLocked(uid string, resources []string, write bool) bool {
	released := false
	for _, res := range resources {
		e := s.table[res]
		if e == nil {
			continue
		}
		if write {
			if e.hasWriter && e.writer.uid == uid {
				e.hasWriter = false
				released = true
			}
		} else if _, ok := e.readers[uid]; ok {
			delete(e.readers, uid)
			released = true
		}
		if e.empty() {
			s.deleteLocked(res, e)
		}
	}
	return released
}

// refreshLocked renews uid's grants and reports whether it still holds every
// one of resources here. A grant past its validity is not renewed, even if
// not swept yet: the holder must learn it lost it, because someone else may
// already have been granted the resource.
func (s *Server) refreshLocked(uid string, resources []string, now time.Time) bool {
	all := true
	for _, res := range resources {
		e := s.table[res]
		if e != nil {
			s.expireLocked(res, e, now)
		}
		switch {
		case e == nil:
			all = false
		case e.hasWriter && e.writer.uid == uid:
			e.writer.refreshed = now
		default:
			if h, ok := e.readers[uid]; ok {
				h.refreshed = now
				e.readers[uid] = h
			} else {
				all = false
			}
		}
	}
	return all
}

func (s *Server) forceLocked(resources []string) int {
	n := 0
	for _, res := range resources {
		if e := s.table[res]; e != nil {
			if e.hasWriter {
				n++
			}
			n += len(e.readers)
			e.hasWriter = false
			clear(e.readers)
			s.deleteLocked(res, e)
		}
	}
	s.stats.Forced += uint64(n)
	return n
}

// expireLocked drops res's grants that were not refreshed within validity.
func (s *Server) expireLocked(res string, e *entry, now time.Time) {
	if e.hasWriter && now.Sub(e.writer.refreshed) > s.validity {
		e.hasWriter = false
		s.stats.Expired++
	}
	for uid, h := range e.readers {
		if now.Sub(h.refreshed) > s.validity {
			delete(e.readers, uid)
			s.stats.Expired++
		}
	}
	if e.empty() {
		s.deleteLocked(res, e)
	}
}

// sweepLocked expires the whole table, at most once per validity unless
// forced. Expiry is otherwise lazy (checked when a resource is touched), so
// the sweep only bounds the memory held by locks of holders that vanished
// without anyone asking for their resources again; it needs no goroutine.
func (s *Server) sweepLocked(now time.Time, force bool) {
	if !force && now.Sub(s.lastSweep) < s.validity {
		return
	}
	s.lastSweep = now
	for res, e := range s.table {
		s.expireLocked(res, e, now)
	}
}
