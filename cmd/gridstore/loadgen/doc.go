// Package loadgen is the engine of `gridstore bench`: a load generator for
// any S3 endpoint (gridstore or another store). It runs put, get, stat
// (HEAD), delete, list or a weighted mix of them from N concurrent clients
// for a duration or a count of operations, and reports per operation type
// the throughput, latency percentiles and errors by S3 code, with a
// per-second time series for plots.
//
// It lives in a package of its own, not in the command, so that tests and
// benchmark scripts can drive it directly (Run with a Config).
//
// How it keeps the client side cheap, so that on a small machine the store
// and not the generator is the bottleneck:
//   - Object data comes from one random buffer made once: an object is
//     the buffer's bytes from a random offset, wrapping around. Nothing
//     object-sized is allocated per operation, and the data does not
//     compress (it is random) or deduplicate within the buffer's size.
//   - The checksum recorded at PUT is xxh3 of exactly those bytes; GETs read
//     every byte into a pooled buffer, and a sample (Config.Verify) is
//     hashed and compared with it, so a corrupted read is detected.
//   - One HTTP transport per endpoint with an idle pool as large as the
//     client count: connections are reused, never re-dialled per request.
//   - minio-go retries are off: a SlowDown is counted, not hidden.
//
// Payload signing: over http minio-go signs the body (streaming SigV4,
// a SHA-256 of every 64 KiB chunk), which costs the client CPU; over https,
// and over http with Config.UnsignedPayload, the body is sent as
// UNSIGNED-PAYLOAD. The signed form is the default over http because it is
// what every S3 client does there and every store accepts it.
//
// Objects are named under a prefix of the run's id; the run deletes them,
// and the bucket when it created it, unless Config.Keep, also when its
// context is cancelled (Ctrl-C).
package loadgen
