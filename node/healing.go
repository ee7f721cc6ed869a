package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/missedlog"
	"github.com/gridstore/gridstore/node/object/scanner"
)

// healing is what a node does about what its peers' and its own drives
// missed: the missed-write log its writes fill (object.Config.Missed) and
// the healer that empties it, woken when a node or drive comes back; see
// node/object/missedlog for the rules.
type healing struct {
	log *missedlog.Log
	// healer is set once the node is up, after the events that use it
	// may have begun to arrive.
	healer atomic.Pointer[missedlog.Healer]

	mu   sync.Mutex
	away map[string]time.Time // node or "drive:N" -> when it went away

	// scan is the background scanner, nil when turned off; set once the
	// node is up, while status requests may already read it. rebuilds
	// are the rebuilds of this node's drives marked healing.
	scan     atomic.Pointer[scanner.Scanner]
	rebuilds []*scanner.Rebuilder
}

// openMissedLog opens the missed-write log over this node's local drives.
func (n *Node) openMissedLog(r *running) error {
	var dirs []string
	for _, d := range slices.Sorted(maps.Keys(r.res.LocalDrives)) {
		dirs = append(dirs, missedlog.DirOf(n.topo.Endpoints[d].Path))
	}
	if len(dirs) == 0 {
		return nil
	}
	l, err := missedlog.Open(missedlog.Config{Dirs: dirs, Logger: n.log.Named("missed")})
	if err != nil {
		return fmt.Errorf("missed-write log: %w", err)
	}
	r.healing = &healing{log: l, away: map[string]time.Time{}}
	return nil
}

// startHealer starts healing the log's entries once the node is up: at
// once (a restart heals what the log holds), on every return, every
// Interval. Drives marked healing at start (fresh or wiped: whatever log
// they held is gone) make it walk every set first.
func (n *Node) startHealer(r *running, healingDrives []int) {
	h := r.healing
	if h == nil {
		return
	}
	layer := r.layer
	t := n.cfg.Timing.Heal
	healer, err := missedlog.StartHealer(missedlog.HealerConfig{
		Log:      h.log,
		Rate:     t.Rate,
		Interval: t.Interval,
		// A commit given up on lands within its drive timeout, short of
		// a disk stuck in a system call (which the scanner is left for).
		Settle: 2 * n.driveTimeout(),
		Logger: n.log.Named("missed"),
		Ready: func(e missedlog.Entry) bool {
			down := layer.SetFor(e.Bucket, e.Object).KnownDown()
			return slices.ContainsFunc(e.Drives, func(pos int) bool { return pos < len(down) && !down[pos] })
		},
		Heal: func(ctx context.Context, e missedlog.Entry) (bool, error) {
			return healEntry(ctx, layer, e, r)
		},
		Walk: func(ctx context.Context, sets []int, throttle func(context.Context) error) error {
			return layer.HealWalk(ctx, sets, func(ctx context.Context, req object.HealRequest) error {
				if err := throttle(ctx); err != nil {
					return err
				}
				res, err := layer.HealObject(ctx, req.Bucket, req.Object, object.HealOptions{Corrupt: req.Corrupt})
				r.healed(reasonMissed, req, res, err)
				return err
			})
		},
	})
	if err != nil {
		n.log.Warn("missed-write healer not started", zap.Error(err))
		return
	}
	h.healer.Store(healer)
	if len(healingDrives) > 0 {
		healer.WalkSets(nil)
	}
}

// healEntry heals a logged missed write; it is done when every drive the
// entry names was healed or found up to date.
func healEntry(ctx context.Context, layer *object.Layer, e missedlog.Entry, r *running) (bool, error) {
	// The drives the write went on without are verified even where they
	// hold its record: they may lack the shard of a part they missed.
	res, err := layer.HealObject(ctx, e.Bucket, e.Object, object.HealOptions{Verify: e.Drives})
	// The entry stays until a pass of the healer finds it done; the queue
	// may heal the object before that.
	r.healed(reasonMissed, object.HealRequest{Bucket: e.Bucket, Object: e.Object, Missing: e.Drives}, res, err)
	switch {
	case errors.Is(err, object.ErrBucketNotFound), errors.Is(err, object.ErrInvalidArgument):
		return true, nil // nothing left to heal
	case err != nil && !errors.Is(err, object.ErrHealIncomplete):
		return false, err
	}
	for _, pos := range e.Drives {
		if slices.Contains(res.Skipped, pos) {
			return false, fmt.Errorf("drive %d offline", pos)
		}
		if ferr := res.Failed[pos]; ferr != nil {
			return false, ferr
		}
	}
	return true, nil
}

// settleMargin is how long after a young version has settled
// (object.HealResult.SettledAt) the object is healed again: clocks read
// on different goroutines and a timer that fires on time differ by less.
const settleMargin = 100 * time.Millisecond

// healed notes the outcome of the heal queue's or the missed-write
// healer's HealObject for req: it counts it, and queues req on the heal
// queue for when the versions res left as too young to judge have
// settled; without that the object would wait for its next read, the
// missed-write healer's next pass (30 s) or the scanner. (A heal reads
// every drive: the drives it left need not be named.)
func (r *running) healed(reason int, req object.HealRequest, res object.HealResult, err error) {
	r.healCount.count(reason, res, err)
	if r.heal == nil || res.SettledAt.IsZero() {
		return
	}
	r.heal.QueueHealAfter(req, time.Until(res.SettledAt)+settleMargin)
}

// healerOf returns the running node's healing, nil before it is up.
func (n *Node) healingOf() *healing {
	if r := n.up.Load(); r != nil {
		return r.healing
	}
	return nil
}

// wentAway notes that a node (or local drive) is away since now.
func (n *Node) wentAway(what string) {
	if h := n.healingOf(); h != nil {
		h.mu.Lock()
		if _, ok := h.away[what]; !ok {
			h.away[what] = time.Now()
		}
		h.mu.Unlock()
	}
}

// cameBack wakes the healer: what went away is back. If it was away for
// at least WalkAfter (or since before this node knew), the sets walk
// gives, if any, are walked too.
func (n *Node) cameBack(what string, walk func() []int) {
	h := n.healingOf()
	if h == nil {
		return
	}
	healer := h.healer.Load()
	if healer == nil {
		return
	}
	h.mu.Lock()
	since, known := h.away[what]
	delete(h.away, what)
	h.mu.Unlock()
	healer.Kick()
	after := n.cfg.Timing.Heal.WalkAfter
	if after == 0 {
		after = DefaultHealWalkAfter
	}
	if after < 0 || !known || time.Since(since) < after || walk == nil {
		return
	}
	if sets := walk(); len(sets) > 0 {
		n.log.Info("walking the sets of a returning node or drive: it was away long", zap.String("what", what),
			zap.Duration("away", time.Since(since)), zap.Ints("sets", sets))
		healer.WalkSets(sets)
	}
}

// setsOfNode returns the sets holding drives of node (host:port).
func (n *Node) setsOfNode(node string) []int {
	r := n.up.Load()
	if r == nil {
		return nil
	}
	var out []int
	for si, set := range r.res.Layout.Sets {
		for _, d := range set.Drives {
			if n.topo.Endpoints[d].Host == node {
				out = append(out, si)
				break
			}
		}
	}
	return out
}

// setsOfDrive returns the set holding drive index d.
func (n *Node) setsOfDrive(d int) []int {
	r := n.up.Load()
	if r == nil {
		return nil
	}
	for si, set := range r.res.Layout.Sets {
		if slices.Contains(set.Drives, d) {
			return []int{si}
		}
	}
	return nil
}

// walkerFor reports whether this node walks for peer's return: the first
// node in topology order, other than peer, that this node holds alive.
// Every node decides alike from its own view, so one walks (two, briefly,
// if their views differ: a walk is idempotent).
func (n *Node) walkerFor(peer string) bool {
	for _, host := range n.nodeHosts() {
		if host == peer {
			continue
		}
		if host == n.self || (n.members != nil && n.members.Alive(host)) {
			return host == n.self
		}
	}
	return false
}

// close stops the scanner, the rebuilds and the healer, then the log.
func (h *healing) close() {
	if scan := h.scan.Load(); scan != nil {
		scan.Close()
	}
	h.mu.Lock()
	rebuilds := h.rebuilds
	h.mu.Unlock()
	for _, rb := range rebuilds {
		rb.Close()
	}
	if healer := h.healer.Load(); healer != nil {
		healer.Close()
	}
	_ = h.log.Close()
}

// Why an object was healed, for the counters, admin heal and metrics.
const (
	reasonRead    = iota // a read or write found it stale (the heal queue)
	reasonMissed         // the missed-write log, or a walk after a return
	reasonScanner        // the background scanner
	reasonRebuild        // a drive rebuild
	numReasons
)

var reasonNames = [numReasons]string{"read", "missed-write", "scanner", "rebuild"}

// healCounters count the heals of the heal queue and the missed-write
// healer by reason (the scanner and the rebuilds count their own).
type healCounters struct {
	objects, bytes, failed [numReasons]atomic.Uint64
}

// count notes one HealObject's outcome: an object healed when some drive
// got it (or lost a leftover), the shard bytes written, or a failure. A
// heal that only left drives holding a version too young to judge did not
// fail: a write of the object was under way, and the heal runs again.
func (c *healCounters) count(reason int, res object.HealResult, err error) {
	if len(res.Healed)+len(res.Removed)+len(res.Dropped)+len(res.Pruned) > 0 {
		c.objects[reason].Add(1)
		c.bytes[reason].Add(uint64(scanner.HealedBytes(res)))
	}
	if err != nil && !errors.Is(err, context.Canceled) && !onlyUnsettled(res) {
		c.failed[reason].Add(1)
	}
}

// onlyUnsettled reports whether every drive a heal failed was left for a
// version too young to judge (object.ErrUnsettled).
func onlyUnsettled(res object.HealResult) bool {
	for _, err := range res.Failed {
		if !errors.Is(err, object.ErrUnsettled) {
			return false
		}
	}
	return len(res.Failed) > 0
}

// busy reports whether the node is under enough client load that the
// scanner and rebuilds should wait: more than BusyRequests S3 requests in
// flight (MaxRequests/8 by default), or more than half the request memory
// reserved.
func (n *Node) busy(r *running) func() bool {
	limit := n.cfg.Timing.Heal.BusyRequests
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = max(r.admit.maxReqs/8, 1)
	}
	return func() bool {
		reqs, mem := r.admit.inFlight()
		return reqs > limit || mem > r.admit.maxMemory/2
	}
}

// ownsSet reports whether this node scans set si: the first node in
// topology order holding a drive of the set that this node holds alive
// (gossip; the grid's connection without it). Every node decides alike
// from its own view, so one scans (two, briefly, if views differ: a scan
// is idempotent).
func (n *Node) ownsSet(r *running, si int) bool {
	if n.self == "" {
		return true // the local form: one node
	}
	holders := map[string]bool{}
	for _, d := range r.res.Layout.Sets[si].Drives {
		holders[n.topo.Endpoints[d].Host] = true
	}
	var connected map[string]bool
	for _, host := range n.nodeHosts() {
		if !holders[host] {
			continue
		}
		if host == n.self {
			return true
		}
		if n.members != nil {
			if n.members.Alive(host) {
				return false
			}
			continue
		}
		if connected == nil {
			connected = map[string]bool{}
			for _, p := range n.gridStats() {
				connected[p.Addr] = p.State == grid.StateConnected
			}
		}
		if connected[host] {
			return false
		}
	}
	return false
}

// localSysDirs are the heal directories of this node's local drives.
func (n *Node) localSysDirs(r *running) []string {
	var dirs []string
	for _, d := range slices.Sorted(maps.Keys(r.res.LocalDrives)) {
		dirs = append(dirs, scanner.DirOf(n.topo.Endpoints[d].Path))
	}
	return dirs
}

// startScanner starts the background scanner (unless ScanInterval is
// negative) over the sets this node owns.
func (n *Node) startScanner(r *running) {
	h := r.healing
	t := n.cfg.Timing.Heal
	if h == nil || t.ScanInterval < 0 {
		return
	}
	s, err := scanner.Start(scanner.Config{
		Layer:       r.layer,
		Owns:        func(si int) bool { return n.ownsSet(r, si) },
		Rate:        t.ScanRate,
		BitrotRate:  t.ScanBitrotRate,
		BitrotEvery: t.ScanBitrotEvery,
		Interval:    t.ScanInterval,
		Busy:        n.busy(r),
		Store:       scanner.Store{Dirs: n.localSysDirs(r), Name: "scan.json"},
		Logger:      n.log.Named("scanner"),
	})
	if err != nil {
		n.log.Warn("scanner not started", zap.Error(err))
		return
	}
	h.scan.Store(s)
}

// prepareHealingDrives creates every bucket of the deployment on this
// node's drives marked healing, before the node serves: a bucket is a
// volume on every drive, and a drive without it takes no write of it and
// no heal. The rebuild does it again (a bucket created meanwhile).
func (n *Node) prepareHealingDrives(r *running, healing []int) {
	if len(healing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	buckets, err := r.layer.ListBuckets(ctx)
	if err != nil {
		n.log.Warn("buckets not listed for the drives marked healing: their rebuild creates them", zap.Error(err))
		return
	}
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = b.Name
	}
	for _, d := range healing {
		si, pos, ok := n.placeOf(r, d)
		if !ok {
			continue
		}
		created, err := r.layer.Set(si).EnsureBuckets(ctx, pos, names)
		if err != nil {
			n.log.Warn("buckets not created on a drive marked healing", zap.Int("drive", d), zap.Error(err))
			continue
		}
		if created > 0 {
			n.log.Info("buckets created on a drive marked healing", zap.Int("drive", d), zap.Int("buckets", created))
		}
	}
}

// placeOf returns drive index d's set and position.
func (n *Node) placeOf(r *running, d int) (si, pos int, ok bool) {
	for si, set := range r.res.Layout.Sets {
		if pos := slices.Index(set.Drives, d); pos >= 0 {
			return si, pos, true
		}
	}
	return 0, 0, false
}

// startRebuilds starts refilling this node's drives marked healing; each
// clears its drive's mark when done.
func (n *Node) startRebuilds(r *running, healing []int) {
	h := r.healing
	if h == nil {
		return
	}
	t := n.cfg.Timing.Heal
	for _, d := range healing {
		si, pos, ok := n.placeOf(r, d)
		ld := r.res.LocalDrives[d]
		if !ok || ld == nil {
			continue
		}
		ep := n.topo.Endpoints[d]
		rb, err := scanner.StartRebuild(scanner.RebuildConfig{
			// The path names the drive as the drive metrics do.
			Layer: r.layer, Set: si, Pos: pos, Drive: d, Endpoint: ep.Path,
			Store:   scanner.Store{Dirs: []string{scanner.DirOf(ep.Path)}, Name: "rebuild.json"},
			Workers: t.RebuildWorkers, Retry: t.RebuildRetry,
			Busy:   n.busy(r),
			Done:   func() error { return ld.SetHealing(false) },
			Logger: n.log.Named("rebuild"),
		})
		if err != nil {
			n.log.Warn("drive rebuild not started", zap.Int("drive", d), zap.Error(err))
			continue
		}
		n.log.Info("drive rebuild started: every object of its set is healed onto it", zap.Int("drive", d),
			zap.Int("set", si), zap.Int("position", pos))
		h.mu.Lock()
		h.rebuilds = append(h.rebuilds, rb)
		h.mu.Unlock()
	}
}

// healStatus is what this node is healing, for admin heal and metrics.
func (n *Node) healStatus() admin.HealInfo {
	info := admin.HealInfo{Node: n.nodeName(), ScanOff: true}
	r := n.up.Load()
	if r == nil {
		return info
	}
	if r.heal != nil {
		info.Queue = r.heal.Stats()
	}
	counts := make([]admin.HealCount, numReasons)
	for i := range numReasons {
		counts[i] = admin.HealCount{Reason: reasonNames[i], Objects: r.healCount.objects[i].Load(),
			Bytes: r.healCount.bytes[i].Load(), Failed: r.healCount.failed[i].Load()}
	}
	if h := r.healing; h != nil {
		info.MissedLog = h.log.Stats()
		if healer := h.healer.Load(); healer != nil {
			info.MissedHealer = healer.Stats()
		}
		h.mu.Lock()
		rebuilds := slices.Clone(h.rebuilds)
		h.mu.Unlock()
		for _, rb := range rebuilds {
			st := rb.Status()
			info.Rebuilds = append(info.Rebuilds, st)
			c := &counts[reasonRebuild]
			c.Objects += st.ObjectsHealed
			c.Bytes += st.BytesHealed
			c.Failed += st.Failed
		}
		if scan := h.scan.Load(); scan != nil {
			info.ScanOff = false
			info.Scan = scan.Status()
			info.ScanStats = scan.Stats()
			c := &counts[reasonScanner]
			c.Objects, c.Bytes, c.Failed = info.ScanStats.Healed, info.ScanStats.HealedBytes, info.ScanStats.Failed
		}
	}
	info.Healed = counts
	return info
}

// driveTimeout is the object layer's drive timeout as configured.
func (n *Node) driveTimeout() time.Duration {
	if d := n.cfg.Timing.Set.DriveTimeout; d > 0 {
		return d
	}
	return object.DefaultDriveTimeout
}
