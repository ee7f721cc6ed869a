// Package clusterproc runs real gridstore clusters for tests: N server
// processes of the gridstore binary on loopback ports, each with its own drive
// folders, and an S3 workload that records what was acknowledged and how long
// every request took.
//
// It exists for what in-process clusters (node/object/objecttest, the node
// package's own tests) cannot show: a node that is SIGSTOPped (its kernel
// still accepts connections, nothing answers), SIGKILLed mid-write, or
// restarted on the same folders, with the default timeouts of the shipped
// binary. The chaos scenarios of issues 12 and 13 are built on it.
//
// # The binary
//
// Binary builds ./cmd/gridstore once per test binary (with -race when the
// test binary runs under the race detector, so that a data race in a server
// shows in its log), into a temporary folder that RemoveBuild deletes; call it
// from TestMain. GRIDSTORE_BIN names a prebuilt binary instead (for example
// bin/gridstore from `make build`).
//
// # A cluster
//
// Start picks free loopback ports p such that p+10000 (the gossip port every
// peer derives from p) is free as well, starts every process with the same
// explicit endpoint list (http://127.0.0.1:p/<folder>/d<j>), --address and
// --self, and waits until each answers /health/ready. Each process writes to
// its own log file; when a test fails the folder holding the logs is kept and
// its path printed, and a process that exits without being told to is a
// crash: reported with the tail of its log. Kill, Stop, Cont and Restart
// inject the faults; Close (registered with t.Cleanup) continues and kills
// every process, and fails the test on a crash or a data race report in any
// log.
//
// # The workload
//
// Workload runs K clients of PUT (0 B to a few MiB of incompressible data),
// GET, DELETE and LIST over a fixed set of keys, against the nodes it is told
// to target (a fault scenario takes a node out of the targets first, as a
// load balancer's health check would). Every write is recorded with its start
// and end time and its outcome; a GET is checked against that record as a
// linearizable register (see History), and Verify checks every key once the
// load has stopped. Stats holds each request's latency and S3 error code, for
// percentiles per operation and the longest window without a successful
// request.
//
// The scenarios (chaos_test.go) take minutes and run only with
// GRIDSTORE_CHAOS=1 (`make chaos`).
package clusterproc
