package metrics

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage"
)

// peerStates are the values of grid_peer_state's state label, exported
// for every peer so that a query need not know which ones exist.
var peerStates = []grid.State{grid.StateDisconnected, grid.StateConnecting, grid.StateConnected, grid.StateClosed}

// Drive states, the values of drive_state's state label, exported for
// every drive like peerStates.
const (
	driveOK      = "ok"
	driveOffline = "offline"
	driveFaulty  = "faulty" // out of service for hanging (storage/health)
)

var driveStates = []string{driveOK, driveOffline, driveFaulty}

// driveState is a drive's state as drive_state shows it.
func driveState(d storage.DiskInfo) string {
	switch {
	case d.Health.State == storage.HealthFaulty:
		return driveFaulty
	case !d.Online:
		return driveOffline
	}
	return driveOK
}

// pullCollector turns the Sources into metrics at scrape time.
type pullCollector struct {
	src     Sources
	timeout time.Duration

	// busy marks a source whose call has not returned yet, so that a
	// stuck source is not called again by every later scrape.
	gridBusy, drivesBusy, setsBusy atomic.Bool

	sourceOK *prometheus.Desc

	peerConnected, peerState, peerRTT, peerLastActive, peerReconnects, peerInFlight *prometheus.Desc

	driveOnline, driveHealing, driveTotal, driveFree, driveUsed, driveTotalInodes, driveFreeInodes *prometheus.Desc

	driveState, driveTimeouts, driveStuck *prometheus.Desc

	setDrives, setOnline, setReadQuorum, setWriteQuorum *prometheus.Desc

	healRequests, healResults, healWaiting *prometheus.Desc

	healObjects, healBytes, healFailures, healQueueLength                           *prometheus.Desc
	healMissedWaiting, healMissedRecorded, healMissedLost, healMissedIncomplete     *prometheus.Desc
	healRebuildProgress, healRebuildETA, healRebuildObjects, healRebuildTotal       *prometheus.Desc
	healScanObjects, healScanVerified, healScanPaused, healScanLastPass, healScanOn *prometheus.Desc
}

func newPullCollector(src Sources) *pullCollector {
	timeout := src.Timeout
	if timeout <= 0 {
		timeout = SourceTimeout
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	return &pullCollector{
		src:      src,
		timeout:  timeout,
		sourceOK: d("scrape_source_success", "1 if the source (grid, drives, sets) answered within the scrape's bound, else 0 and its metrics are missing from this scrape.", "source"),

		peerConnected:  d("grid_peer_connected", "1 if the grid connection to the peer is up.", "peer"),
		peerState:      d("grid_peer_state", "1 for the grid connection's current state, 0 for the others.", "peer", "state"),
		peerRTT:        d("grid_peer_rtt_seconds", "Last measured ping round trip to the peer.", "peer"),
		peerLastActive: d("grid_peer_last_active_seconds", "Time since anything was received from the peer.", "peer"),
		peerReconnects: d("grid_peer_reconnects_total", "Grid connections to the peer established after the first.", "peer"),
		peerInFlight:   d("grid_peer_inflight", "Single requests and streams open on the grid connection to the peer.", "peer"),

		driveOnline:      d("drive_online", "1 if the local drive answers.", "drive"),
		driveHealing:     d("drive_healing", "1 while a replaced drive is being filled from its set.", "drive"),
		driveTotal:       d("drive_total_bytes", "Capacity of the drive's file system.", "drive"),
		driveFree:        d("drive_free_bytes", "Bytes available to gridstore on the drive.", "drive"),
		driveUsed:        d("drive_used_bytes", "Bytes in use on the drive's file system, by anyone.", "drive"),
		driveTotalInodes: d("drive_total_inodes", "Inodes of the drive's file system.", "drive"),
		driveFreeInodes:  d("drive_free_inodes", "Free inodes of the drive's file system.", "drive"),
		driveState:       d("drive_state", "1 for the local drive's current state, 0 for the others: ok, offline, or faulty (out of service after its calls kept timing out, until a probe passes).", "drive", "state"),
		driveTimeouts:    d("drive_timeouts_total", "Calls to the local drive that did not return within their deadline.", "drive"),
		driveStuck:       d("drive_stuck_calls", "Calls to the local drive given up on for timing out that are still inside it (stuck in a system call).", "drive"),

		setDrives:      d("set_drives", "Drives in the erasure set.", "set"),
		setOnline:      d("set_drives_online", "Drives of the erasure set that answered the last probe online.", "set"),
		setReadQuorum:  d("set_read_quorum_available", "1 if objects of the set written at the default parity can be read.", "set"),
		setWriteQuorum: d("set_write_quorum_available", "1 if the set would accept a PUT now.", "set"),

		healRequests: d("heal_requests_total", "Heal requests from reads and writes: queued, merged into one already waiting, or dropped because the queue was full.", "result"),
		healResults:  d("heals_total", "Objects the heal workers finished, by result (healed, failed).", "result"),
		healWaiting:  d("heal_waiting", "Objects waiting in the heal queue."),

		healObjects:          d("heal_objects_total", "Objects healed (some drive got its copy back, or lost a leftover), by reason: read (found stale by a read or write), missed-write (the missed-write log, walks after a return), scanner, rebuild (a replaced drive).", "reason"),
		healBytes:            d("heal_bytes_total", "Shard bytes written by heals, by reason.", "reason"),
		healFailures:         d("heal_failures_total", "Heals that failed, by reason (rebuild: objects of the current pass not rebuilt).", "reason"),
		healQueueLength:      d("heal_queue_length", "Objects waiting to be healed, by source: queue (found stale by reads and writes), later (left by a heal while a write of them may still be landing, healed again once it has settled), missed-write (entries of the missed-write log).", "source"),
		healMissedWaiting:    d("heal_missed_waiting", "Entries of the missed-write log waiting for their drives."),
		healMissedRecorded:   d("heal_missed_recorded_total", "Writes and deletes acknowledged without some drives, recorded in the missed-write log."),
		healMissedLost:       d("heal_missed_lost_total", "Missed writes that no log file could store (the sets are walked instead)."),
		healMissedIncomplete: d("heal_missed_incomplete", "1 while the missed-write log may be incomplete (a walk of the sets is due)."),
		healRebuildProgress:  d("heal_rebuild_progress_ratio", "Progress of a local drive's rebuild, 0 to 1: bytes checked of the set's total when the pass began.", "drive"),
		healRebuildETA:       d("heal_rebuild_eta_seconds", "Estimated time left of a local drive's rebuild at its current rate (0 when unknown or done).", "drive"),
		healRebuildObjects:   d("heal_rebuild_objects_done", "Objects of the set checked (and rebuilt where missing) by the drive's current rebuild pass.", "drive"),
		healRebuildTotal:     d("heal_rebuild_objects_total", "Objects the drive's set held when the current rebuild pass began.", "drive"),
		healScanObjects:      d("heal_scanner_objects_scanned_total", "Objects the scanner checked."),
		healScanVerified:     d("heal_scanner_bytes_verified_total", "Object bytes whose shards the scanner verified for bitrot."),
		healScanPaused:       d("heal_scanner_paused_seconds_total", "Time the scanner waited for client load to fall."),
		healScanLastPass:     d("heal_scanner_last_pass_timestamp_seconds", "When this node's last full scan pass of the set ended (Unix time; absent before the first).", "set"),
		healScanOn:           d("heal_scanner_owned", "1 if this node scans the set.", "set"),
	}
}

// Describe implements prometheus.Collector.
func (c *pullCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.sourceOK,
		c.peerConnected, c.peerState, c.peerRTT, c.peerLastActive, c.peerReconnects, c.peerInFlight,
		c.driveOnline, c.driveHealing, c.driveTotal, c.driveFree, c.driveUsed, c.driveTotalInodes, c.driveFreeInodes,
		c.driveState, c.driveTimeouts, c.driveStuck,
		c.setDrives, c.setOnline, c.setReadQuorum, c.setWriteQuorum,
		c.healRequests, c.healResults, c.healWaiting,
		c.healObjects, c.healBytes, c.healFailures, c.healQueueLength,
		c.healMissedWaiting, c.healMissedRecorded, c.healMissedLost, c.healMissedIncomplete,
		c.healRebuildProgress, c.healRebuildETA, c.healRebuildObjects, c.healRebuildTotal,
		c.healScanObjects, c.healScanVerified, c.healScanPaused, c.healScanLastPass, c.healScanOn,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it calls the sources side by
// side, waits for each at most c.timeout, and sends what they returned.
func (c *pullCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()

	var waitGrid func() ([]grid.PeerStats, bool)
	var waitDrives func() ([]storage.DiskInfo, bool)
	var waitSets func() ([]object.SetHealth, bool)
	if fn := c.src.Grid; fn != nil {
		waitGrid = start(ctx, &c.gridBusy, func(context.Context) []grid.PeerStats { return fn() })
	}
	if fn := c.src.LocalDrives; fn != nil {
		waitDrives = start(ctx, &c.drivesBusy, fn)
	}
	if fn := c.src.Sets; fn != nil {
		waitSets = start(ctx, &c.setsBusy, fn)
	}

	e := emitter{ch: ch}
	if waitGrid != nil {
		peers, ok := waitGrid()
		e.gauge(c.sourceOK, bool01(ok), "grid")
		c.collectPeers(&e, peers)
	}
	if waitDrives != nil {
		drives, ok := waitDrives()
		e.gauge(c.sourceOK, bool01(ok), "drives")
		c.collectDrives(&e, drives)
	}
	if waitSets != nil {
		sets, ok := waitSets()
		e.gauge(c.sourceOK, bool01(ok), "sets")
		c.collectSets(&e, sets)
	}
	if fn := c.src.Heal; fn != nil {
		h := fn()
		e.counter(c.healRequests, float64(h.Queued-h.Merged), "queued")
		e.counter(c.healRequests, float64(h.Merged), "merged")
		e.counter(c.healRequests, float64(h.Dropped), "dropped")
		e.counter(c.healResults, float64(h.Healed), "healed")
		e.counter(c.healResults, float64(h.Failed), "failed")
		e.gauge(c.healWaiting, float64(h.Waiting))
	}
	if fn := c.src.HealInfo; fn != nil {
		c.collectHeal(&e, fn())
	}
}

func (c *pullCollector) collectHeal(e *emitter, h admin.HealInfo) {
	for _, hc := range h.Healed {
		e.counter(c.healObjects, float64(hc.Objects), hc.Reason)
		e.counter(c.healBytes, float64(hc.Bytes), hc.Reason)
		e.counter(c.healFailures, float64(hc.Failed), hc.Reason)
	}
	e.gauge(c.healQueueLength, float64(h.Queue.Waiting), "queue")
	e.gauge(c.healQueueLength, float64(h.Queue.Later), "later")
	e.gauge(c.healQueueLength, float64(h.MissedLog.Waiting), "missed-write")
	e.gauge(c.healMissedWaiting, float64(h.MissedLog.Waiting))
	e.counter(c.healMissedRecorded, float64(h.MissedLog.Recorded))
	e.counter(c.healMissedLost, float64(h.MissedLog.Failed))
	e.gauge(c.healMissedIncomplete, bool01(h.MissedLog.Incomplete))
	seen := map[string]bool{}
	for _, r := range h.Rebuilds {
		if seen[r.Endpoint] {
			continue // a duplicate series would fail the whole scrape
		}
		seen[r.Endpoint] = true
		e.gauge(c.healRebuildProgress, r.Progress, r.Endpoint)
		e.gauge(c.healRebuildETA, r.ETA.Seconds(), r.Endpoint)
		e.gauge(c.healRebuildObjects, float64(r.ObjectsDone), r.Endpoint)
		e.gauge(c.healRebuildTotal, float64(r.TotalObjects), r.Endpoint)
	}
	if h.ScanOff {
		return
	}
	e.counter(c.healScanObjects, float64(h.ScanStats.Scanned))
	e.counter(c.healScanVerified, float64(h.ScanStats.Verified))
	e.counter(c.healScanPaused, h.ScanStats.Paused.Seconds())
	for _, s := range h.Scan {
		set := strconv.Itoa(s.Set)
		e.gauge(c.healScanOn, bool01(s.Owned), set)
		if !s.LastPassEnd.IsZero() {
			e.gauge(c.healScanLastPass, float64(s.LastPassEnd.UnixNano())/1e9, set)
		}
	}
}

func (c *pullCollector) collectPeers(e *emitter, peers []grid.PeerStats) {
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		if seen[p.Addr] {
			continue // a duplicate series would fail the whole scrape
		}
		seen[p.Addr] = true
		e.gauge(c.peerConnected, bool01(p.State == grid.StateConnected), p.Addr)
		for _, s := range peerStates {
			e.gauge(c.peerState, bool01(p.State == s), p.Addr, s.String())
		}
		e.gauge(c.peerRTT, p.RTT.Seconds(), p.Addr)
		e.gauge(c.peerLastActive, p.LastActive.Seconds(), p.Addr)
		var reconnects uint64
		if p.Connects > 1 {
			reconnects = p.Connects - 1
		}
		e.counter(c.peerReconnects, float64(reconnects), p.Addr)
		e.gauge(c.peerInFlight, float64(p.InFlight), p.Addr)
	}
}

func (c *pullCollector) collectDrives(e *emitter, drives []storage.DiskInfo) {
	seen := make(map[string]bool, len(drives))
	for _, d := range drives {
		name := d.Endpoint
		if name == "" {
			name = d.DriveID
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		e.gauge(c.driveOnline, bool01(d.Online), name)
		e.gauge(c.driveHealing, bool01(d.Healing), name)
		// An unreachable drive reports the last figures known for it (or
		// none): still exported, drive_online says how much to trust them.
		e.gauge(c.driveTotal, float64(d.Total), name)
		e.gauge(c.driveFree, float64(d.Free), name)
		e.gauge(c.driveUsed, float64(d.Used), name)
		e.gauge(c.driveTotalInodes, float64(d.TotalInodes), name)
		e.gauge(c.driveFreeInodes, float64(d.FreeInodes), name)
		state := driveState(d)
		for _, st := range driveStates {
			e.gauge(c.driveState, bool01(state == st), name, st)
		}
		if d.Health.State != "" {
			// Only a watched drive counts its timeouts.
			e.counter(c.driveTimeouts, float64(d.Health.Timeouts), name)
			e.gauge(c.driveStuck, float64(d.Health.Abandoned), name)
		}
	}
}

func (c *pullCollector) collectSets(e *emitter, sets []object.SetHealth) {
	seen := make(map[int]bool, len(sets))
	for _, s := range sets {
		if seen[s.Set] {
			continue
		}
		seen[s.Set] = true
		idx := strconv.Itoa(s.Set)
		e.gauge(c.setDrives, float64(s.Drives), idx)
		e.gauge(c.setOnline, float64(s.Online), idx)
		e.gauge(c.setReadQuorum, bool01(s.ReadQuorumAvailable), idx)
		e.gauge(c.setWriteQuorum, bool01(s.WriteQuorumAvailable), idx)
	}
}

// start calls fn in a goroutine and returns a function that waits for its
// result until ctx is done. ok is false if fn did not answer in time, or if
// its previous call (from an earlier scrape) is still running, in which case
// fn is not called again.
func start[T any](ctx context.Context, busy *atomic.Bool, fn func(context.Context) []T) (wait func() (v []T, ok bool)) {
	if !busy.CompareAndSwap(false, true) {
		return func() ([]T, bool) { return nil, false }
	}
	done := make(chan []T, 1) // buffered: a late answer must not block the goroutine
	go func() {
		v := fn(ctx)
		busy.Store(false)
		done <- v
	}()
	return func() ([]T, bool) {
		select {
		case v := <-done:
			return v, true
		case <-ctx.Done():
			return nil, false
		}
	}
}

// emitter sends const metrics, turning a bad label value (not UTF-8) into
// an invalid metric, which costs that series, not a panic.
type emitter struct{ ch chan<- prometheus.Metric }

func (e *emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

func (e *emitter) counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels)
}

func (e *emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
