// Package s3 is gridstore's S3 HTTP API (DESIGN §1, node/s3): it turns S3
// requests into calls of the object layer and the layer's answers and errors
// into S3 responses.
//
//	srv, err := s3.New(s3.Config{Objects: layer, Credentials: creds, Logger: log})
//	http.ListenAndServe(addr, srv)
//
// # A request's way through the server
//
// ServeHTTP gives every request an ID (x-amz-request-id), refuses an
// oversized header section, finds the bucket and key (path style, or virtual
// host style under Config.Domains), picks the operation from the method, the
// query's subresources and a few headers (route.go), and authenticates the
// request with SigV4 (header or presigned form), or SigV2 when that is what
// it carries (package sigv2), before anything else happens: anonymous
// requests are refused, and so is every request whose signature, region,
// clock or payload hash does not check out. Only then does the
// operation's handler run. A handler returns an error rather than writing
// one; ServeHTTP maps it (errors.go) to S3's XML error with the code and
// status clients act on: the object layer's sentinels become NoSuchKey,
// NoSuchBucket, InvalidRange, ...; a lost quorum becomes ServiceUnavailable
// and a lock that could not be taken SlowDown, both of which SDKs retry.
//
// # Bodies
//
// A request body is read through sigv4.Auth.Body (SigV2 requests get a
// sigv4.Auth too), which verifies it as it streams (signed SHA-256,
// aws-chunked chunk signatures, trailing checksums), and through bodyReader (body.go), which holds the last bytes
// back until the verifier has seen the end: the object layer cannot commit
// data whose check has not passed, so a request that fails verification
// stores nothing.
//
// # What is not here
//
// Operations the package does not implement (versioning, ACLs, policies,
// tagging, lifecycle, ...) answer NotImplemented in S3 XML; docs/s3-api.md
// lists them. The object layer, not this package, enforces the limits that
// protect stored data; this package refuses what it can before reading a
// body (package limits).
package s3
