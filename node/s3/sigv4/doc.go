// Package sigv4 authenticates S3 requests signed with AWS Signature Version
// 4 (DESIGN §1, node/s3), verifies their payloads as they stream, and signs
// requests the same way for clients (tests, `gridstore admin`).
//
// # Verifying
//
//	v := &sigv4.Verifier{Region: "us-east-1", Credentials: creds}
//	auth, err := v.Verify(r)          // request line and headers only
//	if err != nil { s3err.Write(w, r, err, id); return }
//	body := auth.Body(r.Body)         // the payload, decoded and checked
//
// Verify accepts the Authorization header form and the presigned query form
// and builds the canonical request exactly as AWS does for S3: the path is
// decoded and URI-encoded once, not normalised ("a/./b" and "//" are parts
// of keys) and not encoded twice; query parameters are decoded, encoded
// (RFC 3986, upper-case hex), sorted by name then value, with "name=" for a
// parameter without value and every repetition kept; signed header values
// are trimmed, runs of spaces collapsed, repeated headers joined with ','
// in the order received. Host, Content-Length, Transfer-Encoding and Expect,
// which net/http takes out of Request.Header, are restored from where it put
// them. Signatures are compared in constant time.
//
// What is refused, and how (every error is an *s3err.Error):
//
//   - no signature at all: AccessDenied (anonymous access is not offered);
//     SigV2 (AWS ..., AWSAccessKeyId=): InvalidRequest (node/s3 hands
//     those to package sigv2 before they get here); SigV4a:
//     NotImplemented; both a header and a query signature: InvalidArgument;
//   - a malformed Authorization header or credential, a credential scoped
//     to another region (Region, default us-east-1) or service than s3, or
//     dated another day than the request, host not signed:
//     AuthorizationHeaderMalformed (AuthorizationQueryParametersError for
//     presigned URLs, also for X-Amz-Expires outside 1..604800 seconds);
//   - an unknown access key: InvalidAccessKeyId;
//   - a request time (X-Amz-Date, else Date) more than 15 minutes (MaxSkew)
//     from the server's: RequestTimeTooSkewed; no valid time: AccessDenied;
//   - a presigned URL used after X-Amz-Date + X-Amz-Expires, or more than
//     MaxSkew before its X-Amz-Date: AccessDenied;
//   - an x-amz-* header that is not signed (other than x-amz-date and
//     x-amz-content-sha256, whose values the signature covers anyway):
//     AccessDenied, as AWS does for presigned URLs. gridstore applies it to
//     both forms: x-amz-* headers change what a request does
//     (x-amz-copy-source, x-amz-meta-*), so a captured request replayed
//     within the skew window must not be able to gain one;
//   - a missing x-amz-content-sha256 (header form): InvalidRequest; a value
//     that is no mode nor hex SHA-256: InvalidArgument;
//   - a signature that does not match: SignatureDoesNotMatch, with the
//     string to sign and canonical request in the XML as AWS gives them.
//
// # Payloads
//
// Auth.Body reads the body as x-amz-content-sha256 says:
//
//   - UNSIGNED-PAYLOAD: as is.
//   - a hex SHA-256: checked at EOF (XAmzContentSHA256Mismatch).
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, each chunk
//     "hex-size;chunk-signature=sig\r\n data \r\n", its signature chained
//     from the previous one (the first from the request's signature) and
//     checked before any byte of the chunk is returned, up to the final
//     0-size chunk, which is required; x-amz-decoded-content-length is
//     required (MissingContentLength) and must match (IncompleteBody,
//     InvalidRequest).
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, then trailing
//     headers: the checksum declared by x-amz-trailer and
//     x-amz-trailer-signature, chained from the final chunk's signature.
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked without signatures,
//     the declared trailing checksum checked at the end (BadDigest).
//
// Checksums are x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 and
// -sha256; NewChecksumReader and NewContentMD5Reader check the same as
// request headers (InvalidDigest for a malformed value, BadDigest at EOF).
// A body that ends early is IncompleteBody; other read errors pass through.
// Where a check can only happen at EOF, a handler must not commit what it
// read before it saw EOF.
//
// Memory is bounded whatever the client declares: a chunk is at most
// MaxChunkSize (16 MiB, refused before anything is allocated), and its
// buffer grows no faster than its data arrives; header and trailer lines
// are at most 4 KiB.
//
// # Signing
//
// Signer.Sign signs the header form, Signer.Presign makes presigned URLs,
// Signer.SignStreaming makes aws-chunked uploads (signed, with a signed
// trailer, or unsigned with a trailer). Tests verify them against the
// Verifier and against AWS's published examples.
//
// Not supported: SigV4a, session tokens (STS), browser POST uploads (POST
// policy). SigV2 is package sigv2's, which returns the same Auth.
package sigv4
