// Package s3xml holds the XML documents of gridstore's S3 API (DESIGN §1,
// node/s3): the request bodies a handler decodes and the responses it
// encodes.
//
// # Requests
//
// DecodeCreateBucketConfiguration, DecodeDelete and
// DecodeCompleteMultipartUpload read a request body through a size limit,
// token by token, and refuse what S3 refuses, as *s3err.Error values:
// MalformedXML for anything that is not the expected document (garbage,
// another root element, a wrong type, trailing content, more than 1000
// objects or 10000 parts, none at all), MaxMessageLengthExceeded for a body
// over the limit, InvalidArgument for a part number outside 1..10000,
// InvalidPartOrder for parts not in ascending order. Memory is bounded by
// the limit, whatever the client sends: the decoder stops at the first
// object or part too many rather than collecting them. Elements are matched
// by local name, with or without S3's namespace; unknown elements are
// skipped, as S3 does for fields it added later.
//
// # Responses
//
// The response types carry S3's namespace
// (http://s3.amazonaws.com/doc/2006-03-01/) on their root element and are
// written by Marshal or Write with the XML declaration. Times are Time
// values, written as S3 does, in UTC with milliseconds
// (2006-01-02T15:04:05.000Z). ETags are written as given: S3 puts them in
// double quotes (QuoteETag).
//
// Listings asked for with encoding-type=url get their keys, prefixes,
// delimiters and markers encoded with EncodeKey, as S3 percent-encodes them
// (a space as %20, unreserved characters and '/' kept): call ApplyEncodingType on the
// result just before writing it. ParseEncodingType validates the request
// parameter.
package s3xml
