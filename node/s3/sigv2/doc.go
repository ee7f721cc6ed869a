// Package sigv2 authenticates S3 requests signed with AWS Signature Version
// 2 (the "REST authentication" of the S3 developer guide): the form aws
// CLI v1 presigns URLs with by default, and that older SDKs and tools still
// send. SigV4 stays the main path (package sigv4); node/s3 hands a request
// to this package only when it carries a SigV2 signature and no SigV4 one
// (Signed).
//
//	if sigv2.Signed(r) {
//		auth, err = v2.Verify(r)
//	}
//
// # Why a package of its own, and what it shares with sigv4
//
// The two protocols have nothing in common on the wire (HMAC-SHA1 over a
// string of headers and a resource, against HMAC-SHA256 over a canonical
// request with a derived key), so their parsers and canonical forms stay
// apart and neither can loosen the other. What they do share is what the
// server does after authentication: the credentials (sigv4.Credentials)
// and the verified request, a *sigv4.Auth, whose Body the handlers read. A
// SigV2 request's Auth has the payload mode UNSIGNED-PAYLOAD (SigV2 does not
// sign the body), so its body goes through the same checks as any other:
// Content-MD5 and x-amz-checksum-* headers, declared length. If the client
// also sent x-amz-content-sha256 with a hex SHA-256 (it is then signed,
// as every x-amz-* header is), the body is checked against it as for SigV4.
//
// # The string to sign
//
//	HTTP-Verb \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource
//
// where:
//
//   - Date is the Date header; empty when x-amz-date is sent (which is then
//     the request time, and in CanonicalizedAmzHeaders like every x-amz-*
//     header); for a presigned URL, the Expires parameter as sent.
//   - CanonicalizedAmzHeaders: each x-amz-* header, lower-cased name,
//     values trimmed and joined with ',', sorted by name, one per line.
//   - CanonicalizedResource: "/" + the bucket when it comes from the host
//     (virtual-host style, Verifier.HostBucket), then the path exactly as
//     sent on the request line (not decoded: clients sign what they send),
//     then the sub-resources present, sorted, as "?name[=value]&...", the
//     values decoded: acl, delete, lifecycle, location, logging,
//     notification, partNumber, policy, requestPayment, torrent, uploadId,
//     uploads, versionId, versioning, versions, website, and the
//     response-* overrides of GetObject, which is the list of S3's
//     documentation; and cors, replication, select, select-type and
//     tagging, which botocore and minio-go both sign as well (leaving them
//     out would answer their requests for these operations
//     SignatureDoesNotMatch instead of NotImplemented). A sub-resource
//     given twice is refused.
//
// The signature is base64(HMAC-SHA1(secret, string to sign)), compared in
// constant time.
//
// # What is refused, and how (every error is an *s3err.Error)
//
//   - a malformed Authorization header ("AWS AccessKeyId:Signature"):
//     InvalidArgument; a header and query authentication at once:
//     InvalidArgument;
//   - a presigned URL without AWSAccessKeyId, Signature or Expires, with
//     one of them twice, or with an Expires that is not epoch seconds:
//     AccessDenied;
//   - an unknown access key: InvalidAccessKeyId;
//   - header form: no valid Date or x-amz-date: AccessDenied; one more than
//     MaxSkew (15 minutes) from the server's clock: RequestTimeTooSkewed;
//   - presigned: Expires in the past: AccessDenied "Request has expired";
//     more than sigv4.MaxPresignExpiry (7 days, SigV4's bound) plus MaxSkew
//     ahead: AuthorizationQueryParametersError;
//   - an aws-chunked body (x-amz-content-sha256 STREAMING-*, or
//     Content-Encoding aws-chunked): InvalidRequest, since its framing is
//     defined by SigV4 only;
//   - a signature that does not match: SignatureDoesNotMatch, with the
//     string to sign in the XML as AWS gives it.
//
// # Known limits of the protocol
//
// SigV2 signs less than SigV4, and nothing here can change that: the host,
// query parameters other than the sub-resources above (a listing's prefix
// or max-keys, list-type) and headers other than Content-MD5, Content-Type,
// Date and x-amz-* are not covered, and neither is the body (unless
// Content-MD5 or an x-amz-checksum-* / x-amz-content-sha256 header is
// sent, which is). A captured request can be replayed with those changed
// within the clock skew window, or until a presigned URL expires. Clients
// that can sign SigV4 should.
//
// Not supported: x-amz-* or Content-Type given as query parameters of a
// presigned URL (botocore puts headers there when presigning a request that
// has some; such a URL fails with SignatureDoesNotMatch, since the server
// reads them from headers only), session tokens, browser POST uploads.
package sigv2
