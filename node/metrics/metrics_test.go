package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/healqueue"
	"github.com/gridstore/gridstore/node/object/missedlog"
	"github.com/gridstore/gridstore/node/object/scanner"
	"github.com/gridstore/gridstore/storage"
)

func fakeSources() Sources {
	return Sources{
		Grid: func() []grid.PeerStats {
			return []grid.PeerStats{
				{Addr: "node2:9000", State: grid.StateConnected, RTT: 1500 * time.Microsecond, Connects: 3, InFlight: 4, LastActive: 2 * time.Second},
				{Addr: "node3:9000", State: grid.StateConnecting, Connects: 0, LastError: "dial: refused"},
			}
		},
		LocalDrives: func(ctx context.Context) []storage.DiskInfo {
			return []storage.DiskInfo{
				{Endpoint: "/data1", Total: 1000, Free: 600, Used: 400, TotalInodes: 100, FreeInodes: 90, Online: true, Healing: true,
					Health: storage.DriveHealth{State: storage.HealthOK, Timeouts: 1}},
				{Endpoint: "/data2", Online: false},
				{Endpoint: "/data3", Total: 1000, Free: 500, Online: false,
					Health: storage.DriveHealth{State: storage.HealthFaulty, Timeouts: 5, Consecutive: 3, Abandoned: 2, LastErr: "3 calls in a row timed out"}},
			}
		},
		Sets: func(ctx context.Context) []object.SetHealth {
			return []object.SetHealth{
				{Set: 0, Drives: 4, Online: 4, ReadQuorum: 2, WriteQuorum: 3, ReadQuorumAvailable: true, WriteQuorumAvailable: true},
				{Set: 1, Drives: 4, Online: 1, Offline: []int{0, 1, 2}, ReadQuorum: 2, WriteQuorum: 3},
			}
		},
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}

// scrapeCompare scrapes m's handler over HTTP and compares the named
// families with want, in the text exposition format.
func scrapeCompare(t *testing.T, m *Metrics, want string, names ...string) {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

func TestPulledFamilies(t *testing.T) {
	m := New(fakeSources())
	scrapeCompare(t, m, `
# HELP gridstore_grid_peer_connected 1 if the grid connection to the peer is up.
# TYPE gridstore_grid_peer_connected gauge
gridstore_grid_peer_connected{peer="node2:9000"} 1
gridstore_grid_peer_connected{peer="node3:9000"} 0
# HELP gridstore_grid_peer_state 1 for the grid connection's current state, 0 for the others.
# TYPE gridstore_grid_peer_state gauge
gridstore_grid_peer_state{peer="node2:9000",state="closed"} 0
gridstore_grid_peer_state{peer="node2:9000",state="connected"} 1
gridstore_grid_peer_state{peer="node2:9000",state="connecting"} 0
gridstore_grid_peer_state{peer="node2:9000",state="disconnected"} 0
gridstore_grid_peer_state{peer="node3:9000",state="closed"} 0
gridstore_grid_peer_state{peer="node3:9000",state="connected"} 0
gridstore_grid_peer_state{peer="node3:9000",state="connecting"} 1
gridstore_grid_peer_state{peer="node3:9000",state="disconnected"} 0
# HELP gridstore_grid_peer_rtt_seconds Last measured ping round trip to the peer.
# TYPE gridstore_grid_peer_rtt_seconds gauge
gridstore_grid_peer_rtt_seconds{peer="node2:9000"} 0.0015
gridstore_grid_peer_rtt_seconds{peer="node3:9000"} 0
# HELP gridstore_grid_peer_last_active_seconds Time since anything was received from the peer.
# TYPE gridstore_grid_peer_last_active_seconds gauge
gridstore_grid_peer_last_active_seconds{peer="node2:9000"} 2
gridstore_grid_peer_last_active_seconds{peer="node3:9000"} 0
# HELP gridstore_grid_peer_reconnects_total Grid connections to the peer established after the first.
# TYPE gridstore_grid_peer_reconnects_total counter
gridstore_grid_peer_reconnects_total{peer="node2:9000"} 2
gridstore_grid_peer_reconnects_total{peer="node3:9000"} 0
# HELP gridstore_grid_peer_inflight Single requests and streams open on the grid connection to the peer.
# TYPE gridstore_grid_peer_inflight gauge
gridstore_grid_peer_inflight{peer="node2:9000"} 4
gridstore_grid_peer_inflight{peer="node3:9000"} 0
# HELP gridstore_drive_online 1 if the local drive answers.
# TYPE gridstore_drive_online gauge
gridstore_drive_online{drive="/data1"} 1
gridstore_drive_online{drive="/data2"} 0
gridstore_drive_online{drive="/data3"} 0
# HELP gridstore_drive_healing 1 while a replaced drive is being filled from its set.
# TYPE gridstore_drive_healing gauge
gridstore_drive_healing{drive="/data1"} 1
gridstore_drive_healing{drive="/data2"} 0
gridstore_drive_healing{drive="/data3"} 0
# HELP gridstore_drive_total_bytes Capacity of the drive's file system.
# TYPE gridstore_drive_total_bytes gauge
gridstore_drive_total_bytes{drive="/data1"} 1000
gridstore_drive_total_bytes{drive="/data2"} 0
gridstore_drive_total_bytes{drive="/data3"} 1000
# HELP gridstore_drive_free_bytes Bytes available to gridstore on the drive.
# TYPE gridstore_drive_free_bytes gauge
gridstore_drive_free_bytes{drive="/data1"} 600
gridstore_drive_free_bytes{drive="/data2"} 0
gridstore_drive_free_bytes{drive="/data3"} 500
# HELP gridstore_drive_used_bytes Bytes in use on the drive's file system, by anyone.
# TYPE gridstore_drive_used_bytes gauge
gridstore_drive_used_bytes{drive="/data1"} 400
gridstore_drive_used_bytes{drive="/data2"} 0
gridstore_drive_used_bytes{drive="/data3"} 0
# HELP gridstore_drive_total_inodes Inodes of the drive's file system.
# TYPE gridstore_drive_total_inodes gauge
gridstore_drive_total_inodes{drive="/data1"} 100
gridstore_drive_total_inodes{drive="/data2"} 0
gridstore_drive_total_inodes{drive="/data3"} 0
# HELP gridstore_drive_free_inodes Free inodes of the drive's file system.
# TYPE gridstore_drive_free_inodes gauge
gridstore_drive_free_inodes{drive="/data1"} 90
gridstore_drive_free_inodes{drive="/data2"} 0
gridstore_drive_free_inodes{drive="/data3"} 0
# HELP gridstore_drive_state 1 for the local drive's current state, 0 for the others: ok, offline, or faulty (out of service after its calls kept timing out, until a probe passes).
# TYPE gridstore_drive_state gauge
gridstore_drive_state{drive="/data1",state="faulty"} 0
gridstore_drive_state{drive="/data1",state="offline"} 0
gridstore_drive_state{drive="/data1",state="ok"} 1
gridstore_drive_state{drive="/data2",state="faulty"} 0
gridstore_drive_state{drive="/data2",state="offline"} 1
gridstore_drive_state{drive="/data2",state="ok"} 0
gridstore_drive_state{drive="/data3",state="faulty"} 1
gridstore_drive_state{drive="/data3",state="offline"} 0
gridstore_drive_state{drive="/data3",state="ok"} 0
# HELP gridstore_drive_timeouts_total Calls to the local drive that did not return within their deadline.
# TYPE gridstore_drive_timeouts_total counter
gridstore_drive_timeouts_total{drive="/data1"} 1
gridstore_drive_timeouts_total{drive="/data3"} 5
# HELP gridstore_drive_stuck_calls Calls to the local drive given up on for timing out that are still inside it (stuck in a system call).
# TYPE gridstore_drive_stuck_calls gauge
gridstore_drive_stuck_calls{drive="/data1"} 0
gridstore_drive_stuck_calls{drive="/data3"} 2
# HELP gridstore_set_drives Drives in the erasure set.
# TYPE gridstore_set_drives gauge
gridstore_set_drives{set="0"} 4
gridstore_set_drives{set="1"} 4
# HELP gridstore_set_drives_online Drives of the erasure set that answered the last probe online.
# TYPE gridstore_set_drives_online gauge
gridstore_set_drives_online{set="0"} 4
gridstore_set_drives_online{set="1"} 1
# HELP gridstore_set_read_quorum_available 1 if objects of the set written at the default parity can be read.
# TYPE gridstore_set_read_quorum_available gauge
gridstore_set_read_quorum_available{set="0"} 1
gridstore_set_read_quorum_available{set="1"} 0
# HELP gridstore_set_write_quorum_available 1 if the set would accept a PUT now.
# TYPE gridstore_set_write_quorum_available gauge
gridstore_set_write_quorum_available{set="0"} 1
gridstore_set_write_quorum_available{set="1"} 0
# HELP gridstore_scrape_source_success 1 if the source (grid, drives, sets) answered within the scrape's bound, else 0 and its metrics are missing from this scrape.
# TYPE gridstore_scrape_source_success gauge
gridstore_scrape_source_success{source="drives"} 1
gridstore_scrape_source_success{source="grid"} 1
gridstore_scrape_source_success{source="sets"} 1
`,
		"gridstore_grid_peer_connected", "gridstore_grid_peer_state", "gridstore_grid_peer_rtt_seconds",
		"gridstore_grid_peer_last_active_seconds", "gridstore_grid_peer_reconnects_total", "gridstore_grid_peer_inflight",
		"gridstore_drive_online", "gridstore_drive_healing", "gridstore_drive_total_bytes", "gridstore_drive_free_bytes",
		"gridstore_drive_used_bytes", "gridstore_drive_total_inodes", "gridstore_drive_free_inodes",
		"gridstore_drive_state", "gridstore_drive_timeouts_total", "gridstore_drive_stuck_calls",
		"gridstore_set_drives", "gridstore_set_drives_online", "gridstore_set_read_quorum_available",
		"gridstore_set_write_quorum_available", "gridstore_scrape_source_success")
}

func TestRequestFamilies(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("GetObject", 200, 3906250*time.Nanosecond, 0, 1024, false) // 1/256 s
	m.ObserveRequest("GetObject", 200, 31250*time.Microsecond, 0, 2048, false)  // 1/32 s: sums exactly
	m.ObserveRequest("PutObject", 503, 2*time.Second, 4096, 0, true)
	scrapeCompare(t, m, `
# HELP gridstore_s3_requests_total S3 requests served, by API and HTTP status.
# TYPE gridstore_s3_requests_total counter
gridstore_s3_requests_total{api="GetObject",status="200"} 2
gridstore_s3_requests_total{api="PutObject",status="503"} 1
# HELP gridstore_s3_received_bytes_total Bytes of S3 request bodies received.
# TYPE gridstore_s3_received_bytes_total counter
gridstore_s3_received_bytes_total{api="GetObject"} 0
gridstore_s3_received_bytes_total{api="PutObject"} 4096
# HELP gridstore_s3_sent_bytes_total Bytes of S3 response bodies sent.
# TYPE gridstore_s3_sent_bytes_total counter
gridstore_s3_sent_bytes_total{api="GetObject"} 3072
gridstore_s3_sent_bytes_total{api="PutObject"} 0
# HELP gridstore_quorum_errors_total S3 requests that failed because a set lacked read or write quorum.
# TYPE gridstore_quorum_errors_total counter
gridstore_quorum_errors_total{api="GetObject"} 0
gridstore_quorum_errors_total{api="PutObject"} 1
# HELP gridstore_s3_request_duration_seconds Time to serve an S3 request, from its headers to the last byte of the answer.
# TYPE gridstore_s3_request_duration_seconds histogram
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.001"} 0
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.0025"} 0
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.005"} 1
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.01"} 1
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.025"} 1
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.05"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.1"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.25"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="0.5"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="1"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="2.5"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="5"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="10"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="30"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="60"} 2
gridstore_s3_request_duration_seconds_bucket{api="GetObject",le="+Inf"} 2
gridstore_s3_request_duration_seconds_sum{api="GetObject"} 0.03515625
gridstore_s3_request_duration_seconds_count{api="GetObject"} 2
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.001"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.0025"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.005"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.01"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.025"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.05"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.1"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.25"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="0.5"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="1"} 0
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="2.5"} 1
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="5"} 1
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="10"} 1
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="30"} 1
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="60"} 1
gridstore_s3_request_duration_seconds_bucket{api="PutObject",le="+Inf"} 1
gridstore_s3_request_duration_seconds_sum{api="PutObject"} 2
gridstore_s3_request_duration_seconds_count{api="PutObject"} 1
`, "gridstore_s3_requests_total", "gridstore_s3_received_bytes_total", "gridstore_s3_sent_bytes_total",
		"gridstore_quorum_errors_total", "gridstore_s3_request_duration_seconds")
}

func TestRuntimeCollectors(t *testing.T) {
	body := scrape(t, New(Sources{}).Handler())
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("no %s in the exposition", name)
		}
	}
}

func TestNilSources(t *testing.T) {
	m := New(Sources{})
	body := scrape(t, m.Handler())
	for _, prefix := range []string{"gridstore_grid_", "gridstore_drive_", "gridstore_set_", "gridstore_scrape_source_success"} {
		if strings.Contains(body, prefix) {
			t.Errorf("nil sources exported %s metrics:\n%s", prefix, body)
		}
	}
	// Only some sources set: the others are simply missing.
	src := fakeSources()
	src.Grid, src.Sets = nil, nil
	body = scrape(t, New(src).Handler())
	if strings.Contains(body, "gridstore_grid_") || strings.Contains(body, "gridstore_set_") {
		t.Errorf("nil sources exported metrics:\n%s", body)
	}
	if !strings.Contains(body, `gridstore_drive_online{drive="/data1"} 1`) {
		t.Errorf("drive metrics missing:\n%s", body)
	}
}

// TestSlowSource: a source that ignores its context is waited for only up to
// the bound; the scrape goes on without it, and it is not called again
// while it is still running.
func TestSlowSource(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	src := fakeSources()
	src.Timeout = 100 * time.Millisecond
	fast := src.Sets
	src.Sets = func(ctx context.Context) []object.SetHealth {
		if calls.Add(1) == 1 {
			<-release // stuck, whatever ctx says
		}
		return fast(ctx)
	}
	m := New(src)
	h := m.Handler()

	for i := range 2 {
		begin := time.Now()
		body := scrape(t, h)
		if d := time.Since(begin); d > 2*time.Second {
			t.Fatalf("scrape %d took %v with a 100ms source bound", i, d)
		}
		for _, want := range []string{
			`gridstore_scrape_source_success{source="sets"} 0`,
			`gridstore_scrape_source_success{source="grid"} 1`,
			`gridstore_grid_peer_connected{peer="node2:9000"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("scrape %d: no %s in\n%s", i, want, body)
			}
		}
		if strings.Contains(body, "gridstore_set_drives") {
			t.Errorf("scrape %d: set metrics from a source that timed out", i)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("stuck source called %d times, want 1", n)
	}

	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body := scrape(t, h)
		if strings.Contains(body, `gridstore_scrape_source_success{source="sets"} 1`) {
			if !strings.Contains(body, `gridstore_set_drives_online{set="1"} 1`) {
				t.Fatalf("sets answered but no set metrics:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("released source never answered again")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSourceContext: sources get a context bounded by SourceTimeout by
// default, so one that honours it cannot hold a scrape longer.
func TestSourceContext(t *testing.T) {
	var got time.Duration
	m := New(Sources{LocalDrives: func(ctx context.Context) []storage.DiskInfo {
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("source context has no deadline")
		}
		got = time.Until(dl)
		return nil
	}})
	scrape(t, m.Handler())
	if got <= 0 || got > SourceTimeout {
		t.Fatalf("source deadline in %v, want within %v", got, SourceTimeout)
	}
}

func TestObserveRequestConcurrent(t *testing.T) {
	m := New(Sources{})
	apis := []string{"GetObject", "PutObject", "ListObjectsV2", "DeleteObject"}
	statuses := []int{200, 404, 503}
	const goroutines, per = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				api := apis[(g+i)%len(apis)]
				st := statuses[i%len(statuses)]
				m.ObserveRequest(api, st, time.Millisecond, 10, 20, st == 503)
			}
		})
	}
	// Scrapes race with the observations.
	for range 3 {
		scrape(t, m.Handler())
	}
	wg.Wait()

	if n := testutil.CollectAndCount(m.requests); n != len(apis)*len(statuses) {
		t.Errorf("%d request series, want %d", n, len(apis)*len(statuses))
	}
	var total, in, out, quorum float64
	for _, api := range apis {
		for _, st := range statuses {
			total += testutil.ToFloat64(m.requests.WithLabelValues(api, itoa(st)))
		}
		in += testutil.ToFloat64(m.received.WithLabelValues(api))
		out += testutil.ToFloat64(m.sent.WithLabelValues(api))
		quorum += testutil.ToFloat64(m.quorumErrs.WithLabelValues(api))
	}
	const n = goroutines * per
	if total != n || in != 10*n || out != 20*n {
		t.Errorf("requests %v, in %v, out %v; want %d, %d, %d", total, in, out, n, 10*n, 20*n)
	}
	var want503 float64 // every third observation of each goroutine
	for i := range per {
		if statuses[i%len(statuses)] == 503 {
			want503 += goroutines
		}
	}
	if quorum != want503 {
		t.Errorf("quorum errors %v, want %v", quorum, want503)
	}
}

func itoa(i int) string {
	switch i {
	case 200:
		return "200"
	case 404:
		return "404"
	case 503:
		return "503"
	}
	panic("itoa")
}

func TestObserveRequestNoAllocs(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("GetObject", 200, time.Millisecond, 1, 2, false)
	allocs := testing.AllocsPerRun(1000, func() {
		m.ObserveRequest("GetObject", 200, time.Millisecond, 1, 2, true)
	})
	if allocs != 0 {
		t.Fatalf("ObserveRequest allocates %v times per call after warm-up", allocs)
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	m := New(Sources{})
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.ObserveRequest("GetObject", 200, 3*time.Millisecond, 0, 4096, false)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.ObserveRequest("PutObject", 200, 30*time.Millisecond, 1<<20, 0, false)
			}
		})
	})
}

// TestHealFamilies: the heal queue's counters, queued not counting the
// merged ones twice.
func TestHealFamilies(t *testing.T) {
	m := New(Sources{Heal: func() healqueue.Stats {
		return healqueue.Stats{Queued: 10, Merged: 3, Dropped: 2, Healed: 6, Failed: 1, Waiting: 1}
	}})
	scrapeCompare(t, m, `
# HELP gridstore_heal_requests_total Heal requests from reads and writes: queued, merged into one already waiting, or dropped because the queue was full.
# TYPE gridstore_heal_requests_total counter
gridstore_heal_requests_total{result="dropped"} 2
gridstore_heal_requests_total{result="merged"} 3
gridstore_heal_requests_total{result="queued"} 7
# HELP gridstore_heals_total Objects the heal workers finished, by result (healed, failed).
# TYPE gridstore_heals_total counter
gridstore_heals_total{result="failed"} 1
gridstore_heals_total{result="healed"} 6
# HELP gridstore_heal_waiting Objects waiting in the heal queue.
# TYPE gridstore_heal_waiting gauge
gridstore_heal_waiting 1
`, "gridstore_heal_requests_total", "gridstore_heals_total", "gridstore_heal_waiting")
}

// TestHealInfoFamilies: the heal_* families from admin heal's answer:
// heals by reason, the queue and log lengths, a rebuild's progress per
// drive and the scanner's counters and last pass per set.
func TestHealInfoFamilies(t *testing.T) {
	end := time.Unix(1767225600, 0)
	m := New(Sources{HealInfo: func() admin.HealInfo {
		return admin.HealInfo{
			Queue:     healqueue.Stats{Waiting: 3, Later: 4},
			MissedLog: missedlog.Stats{Waiting: 12, Recorded: 50, Failed: 1, Incomplete: true},
			Healed: []admin.HealCount{
				{Reason: "read", Objects: 35, Bytes: 1200, Failed: 2},
				{Reason: "rebuild", Objects: 1500, Bytes: 6000},
			},
			Rebuilds: []scanner.RebuildStatus{{Endpoint: "/data2", Progress: 0.25, ETA: 90 * time.Second, ObjectsDone: 1500, TotalObjects: 6000}},
			Scan: []scanner.SetStatus{
				{Set: 0, Owned: true, LastPassEnd: end},
				{Set: 1},
			},
			ScanStats: scanner.Stats{Scanned: 52000, Verified: 4096, Paused: 1500 * time.Millisecond},
		}
	}})
	body := scrape(t, m.Handler())
	for _, line := range []string{
		`gridstore_heal_objects_total{reason="read"} 35`,
		`gridstore_heal_objects_total{reason="rebuild"} 1500`,
		`gridstore_heal_bytes_total{reason="read"} 1200`,
		`gridstore_heal_failures_total{reason="read"} 2`,
		`gridstore_heal_queue_length{source="queue"} 3`,
		`gridstore_heal_queue_length{source="later"} 4`,
		`gridstore_heal_queue_length{source="missed-write"} 12`,
		`gridstore_heal_missed_recorded_total 50`,
		`gridstore_heal_missed_lost_total 1`,
		`gridstore_heal_missed_incomplete 1`,
		`gridstore_heal_rebuild_progress_ratio{drive="/data2"} 0.25`,
		`gridstore_heal_rebuild_eta_seconds{drive="/data2"} 90`,
		`gridstore_heal_rebuild_objects_total{drive="/data2"} 6000`,
		`gridstore_heal_scanner_objects_scanned_total 52000`,
		`gridstore_heal_scanner_bytes_verified_total 4096`,
		`gridstore_heal_scanner_paused_seconds_total 1.5`,
		`gridstore_heal_scanner_last_pass_timestamp_seconds{set="0"} 1.7672256e+09`,
		`gridstore_heal_scanner_owned{set="1"} 0`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("missing %s", line)
		}
	}
	if strings.Contains(body, `last_pass_timestamp_seconds{set="1"}`) {
		t.Error("a set never scanned has a last pass time")
	}
}
