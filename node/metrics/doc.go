// Package metrics exposes a node's Prometheus metrics (DESIGN §6: every node
// serves /metrics): S3 request counts, latencies, bytes and quorum errors,
// observed on each request's path, and the state of the node's grid
// connections, local drives and erasure sets, pulled at scrape time.
//
// # Use
//
//	m := metrics.New(metrics.Sources{
//		Grid:        gridManager.Stats,
//		LocalDrives: localDriveInfos,
//		Sets:        layer.Health,
//	})
//	mux.Handle("/metrics", m.Handler())
//	...
//	m.ObserveRequest("PutObject", 200, elapsed, n, 0, false)
//
// Metrics live in the Metrics' own registry, not Prometheus' global one, so
// that tests and several nodes in one process do not collide.
//
// # Families (all prefixed gridstore_)
//
// Observed per request, labelled by api (the S3 operation name: a small,
// fixed set chosen by the caller; never object names or other user input,
// which would make series unbounded) and status (the HTTP status):
//
//	s3_requests_total{api,status}          counter
//	s3_request_duration_seconds{api}       histogram, 1 ms .. 60 s
//	s3_received_bytes_total{api}           counter
//	s3_sent_bytes_total{api}               counter
//	quorum_errors_total{api}               counter: requests that failed for lack of quorum
//
// Pulled at scrape time from Sources, each source bounded by Sources.Timeout
// (SourceTimeout, 2 s, by default):
//
//	grid_peer_connected{peer}              1 when the connection is up
//	grid_peer_state{peer,state}            1 for the current state, 0 for the others
//	grid_peer_rtt_seconds{peer}            last ping round trip
//	grid_peer_last_active_seconds{peer}    time since anything was received
//	grid_peer_reconnects_total{peer}       connections established after the first
//	grid_peer_inflight{peer}               single requests and streams open
//	drive_online{drive}                    1 when the drive answers
//	drive_healing{drive}                   1 while a replaced drive is refilled
//	drive_total_bytes{drive}, drive_free_bytes{drive}, drive_used_bytes{drive}
//	drive_total_inodes{drive}, drive_free_inodes{drive}
//	set_drives{set}, set_drives_online{set}
//	set_read_quorum_available{set}, set_write_quorum_available{set}
//	scrape_source_success{source}          0 when a source timed out
//	heal_requests_total{result}, heals_total{result}, heal_waiting   the heal queue
//
// From Sources.HealInfo (admin heal's answer), reason being read,
// missed-write, scanner or rebuild:
//
//	heal_objects_total{reason}             objects healed
//	heal_bytes_total{reason}               shard bytes written by heals
//	heal_failures_total{reason}            heals that failed
//	heal_queue_length{source}              waiting: queue, missed-write (log entries)
//	heal_missed_waiting, heal_missed_recorded_total, heal_missed_lost_total,
//	heal_missed_incomplete                 the missed-write log
//	heal_rebuild_progress_ratio{drive}     a local drive's rebuild, 0 to 1
//	heal_rebuild_eta_seconds{drive}        its time left at its current rate
//	heal_rebuild_objects_done{drive}, heal_rebuild_objects_total{drive}
//	heal_scanner_objects_scanned_total, heal_scanner_bytes_verified_total,
//	heal_scanner_paused_seconds_total      the scanner's work
//	heal_scanner_owned{set}                1 if this node scans the set
//	heal_scanner_last_pass_timestamp_seconds{set}   end of the last full pass
//
// The process's I/O buffers outside the Go heap (internal/iobuf):
//
//	io_buffer_bytes{state}                 in_use by requests, idle kept for reuse
//	io_buffer_maps_total                   buffers mapped because none was idle
//	io_buffer_bad_returns_total            a buffer returned twice: a bug if not 0
//
// The Go runtime and process collectors are registered too (go_*, process_*).
//
// # Cost
//
// ObserveRequest is on every request's path. It keeps the child metrics of
// every (api, status) pair it has seen, so that after the first request of a
// pair it neither formats the status nor allocates
// (BenchmarkObserveRequest).
//
// A source that does not return within SourceTimeout is left out of that
// scrape (scrape_source_success 0) rather than stalling Prometheus; while it
// is still running, later scrapes do not call it again, so a stuck source
// costs one goroutine, not one per scrape.
package metrics
