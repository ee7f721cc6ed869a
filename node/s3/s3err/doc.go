// Package s3err is the S3 error vocabulary of gridstore's S3 API (DESIGN
// §1, node/s3): the error codes S3 clients act on, the HTTP status and
// default message of each, an error type that carries a code through the
// layers, and Write, which turns any error into S3's XML error response.
//
// # Codes and errors
//
// A Code is an S3 error code ("NoSuchKey"). It is itself an error, so a
// caller can return s3err.NoSuchKey as is and test for it with
// errors.Is(err, s3err.NoSuchKey). An *Error adds a message for the client,
// the bucket or key concerned, extra elements for the XML body (AWS adds a
// few, e.g. RequestTime and ServerTime to RequestTimeTooSkewed) and a
// cause, which is never sent to the client (it may name drives, paths,
// peers) but is kept for logs and errors.Is/As.
//
//	return s3err.Newf(s3err.InvalidArgument, "max-keys %q is not a number", v)
//	return s3err.Wrap(s3err.InternalError, err)
//
// # Writing
//
// Write(w, r, err, requestID) sends the status of err's code and, unless the
// request is a HEAD or the status is 304, the body
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<Error><Code>NoSuchKey</Code><Message>...</Message><Key>...</Key>
//	<BucketName>...</BucketName><Resource>/bucket/key</Resource>
//	<RequestId>...</RequestId></Error>
//
// An error that carries no code (a plain Go error that escaped the
// handler's mapping) is written as InternalError with the default message:
// what went wrong inside the node is for the log, not for the client (DESIGN
// §7: bad input gets a clear error; internal failures get no detail that
// could leak internals).
package s3err
