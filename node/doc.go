// Package node assembles one gridstore server (DESIGN §1, §6): it parses the
// endpoint list, finds itself in it, brings its drives up and agrees on the
// deployment with the other nodes (package bootstrap), connects to them over
// the grid, builds the object layer over its own drives and the others'
// (storage/local, storage/remote) with cluster-wide namespace locks
// (nslock), and serves on one listener:
//
//   - the S3 API (package node/s3), for every request carrying an S3
//     signature, and for any request no other route claims;
//   - the grid websocket and the bulk shard-read endpoint, for the other nodes;
//   - /health/live, /health/ready, /health/cluster and /metrics, unsigned;
//   - the signed admin API under /gridstore/admin/v1/ (package node/admin).
//
// With Config.CertsDir all of it is served over TLS, and the grid and the
// shard reads go to peers over TLS with the node's certificate (tls.go).
//
// Health and metrics paths are valid S3 paths too (a bucket may be called
// "metrics"): a request that carries an S3 signature always goes to the S3
// API, so only unsigned requests (probes, Prometheus scrapes) reach them.
//
//	n, err := node.Start(ctx, cfg) // returns once the node serves S3
//	...
//	err = n.Shutdown(ctx)         // drain in-flight requests, then close
//
// Start returns as soon as the listener is up; /health/ready answers 503 and
// S3 requests ServiceUnavailable until the deployment is agreed and the
// object layer is built, which may wait for a quorum of nodes (Ready tells
// when). Shutdown stops accepting, lets in-flight requests finish (up to its
// context), then closes the grid and releases the drives.
package node
