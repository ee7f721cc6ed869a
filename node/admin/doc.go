// Package admin is gridstore's admin API (DESIGN §6: every node serves an
// authenticated admin API): what a node knows about the deployment, served
// as JSON to requests signed with SigV4 by the root credentials, the client
// `gridstore admin` calls it with, and the tables it prints.
//
// # API
//
// Every path is under PathPrefix. Every request must carry a header-form
// SigV4 signature by the root credentials (package node/s3/sigv4); refusals
// are S3 error documents (package node/s3/s3err), so that S3 tools and the
// Client understand them alike:
//
//	GET /gridstore/admin/v1/info → 200, Info as JSON
//	GET /gridstore/admin/v1/heal → 200, HealInfo as JSON: what the node
//	    heals and why (queue, missed-write log, drive rebuilds with
//	    progress and ETA, the scanner's sets), what it healed by reason
//
// Refusals:
//
//   - no signature: 403 AccessDenied; a presigned URL: 403 AccessDenied
//     (presigned URLs end up in logs and shell history and stay valid for up
//     to a week: admin requests must be signed when they are sent);
//   - a bad signature or unknown key: SignatureDoesNotMatch,
//     InvalidAccessKeyId, ... as the Verifier decides;
//   - another path: 404 NotFound; another method: 405 MethodNotAllowed.
//
// The signature is checked before the path and method, so an unsigned
// caller learns nothing about which paths exist.
//
// # Info
//
// Collect builds an Info from a node's Sources: every node of the topology
// (up if it is this node or its grid connection is up), every drive of the
// deployment with its capacity, each asked in parallel and each bounded by
// DriveTimeout (a drive that does not answer in time, or fails, is offline
// with the reason), every erasure set with its quorums, and this node's grid
// connections. Durations in the JSON are nanoseconds (time.Duration).
//
// # Use
//
//	mux.Handle(admin.PathPrefix, admin.NewHandler(src, rootCreds, region, log))
//
//	c := &admin.Client{Endpoint: "http://node1:9000", AccessKey: ak, SecretKey: sk}
//	info, err := c.Info(ctx)
//	if err != nil { ... } // *APIError for refusals: errors.Is(err, s3err.AccessDenied)
//	admin.WriteInfoTable(os.Stdout, info)
package admin
